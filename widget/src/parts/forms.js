// Part "forms" (data-widget mode): the contact form and the away form,
// shown one at a time above the composer through ctx.form(). Returns
// show(kind, ask): 'contact' (only the fields the widget collects; checked
// here, the server checks again) or 'away' (the away message and an email,
// required, saved as the contact; the core then asks for a person). ask:
// the assistant's own call for the contact form (a `tool` frame with
// status contact: {id, summary}): the form says why, may be skipped, and a
// skip (or saving it empty) answers the call {type:'confirm', id, ok:false}.
// The core reads form.save, form.err, form.busy and form.away.
import CSS from './forms.css';

const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE_RE = /^\+?[\d\s().-]{6,24}$/;

// This part's texts (English; every src/lang/<code>.js has them too),
// in ctx.T once given to ctx.text.
const TEXT = {
  contactText: 'Before we start, how can we reach you?',
  labelName: 'Name',
  labelEmail: 'Email',
  labelPhone: 'Phone',
  labelSave: 'Start chat',
  labelSkip: 'Skip',
  invalidText: 'Please check this field: {field}.',
};

export default function (ctx) {
  const { h, cfg, on } = ctx;
  const T = ctx.text(TEXT);
  ctx.css(CSS);

  // A form (ids pc-<id>text, pc-<id>err): its text, its fields
  // (labelled), the error line, its buttons.
  function make(part, id, text, inputs, label, buttons) {
    const err = h('p', { id: 'pc-' + id + 'err', 'data-part': 'contact-error', role: 'alert' });
    for (const i of inputs) i.setAttribute('aria-describedby', err.id);
    const f = h('form', { 'data-part': part, 'aria-labelledby': 'pc-' + id + 'text', novalidate: true }, [
      h('p', { id: 'pc-' + id + 'text' }, text),
      ...inputs.map((i) => h('label', 0, [h('span', 0, label(i.name)), i])),
      err,
      h('div', 0, buttons),
    ]);
    f.save = buttons[0];
    f.err = err;
    return f;
  }

  // A phone's digits: 7 to 15, as the server takes (E.164's at most).
  const digits = (v) => v.replace(/\D/g, '').length;

  // The field's error, or '' (v trimmed; empty is an error when required).
  function bad(i, v, required) {
    const no = v ? (i.name === 'email' && !EMAIL_RE.test(v)) || (i.name === 'phone' && !(PHONE_RE.test(v) && digits(v) >= 7 && digits(v) <= 15)) : required;
    i.setAttribute('aria-invalid', String(no));
    return no;
  }

  function contact(ask) {
    const fields = ['name', 'email', 'phone'].filter((k) => cfg['collect_' + k]);
    // the assistant's call: the optional form (if it shows) gives way, and
    // a form that cannot show is a skip
    const skipped = () => {
      if (ask) ctx.wsSend({ type: 'confirm', id: ask.id, ok: false });
      ctx.doneForm();
    };
    if (ask) ctx.hideForm(false);
    if (ctx.form() || !fields.length || cfg.contact_info_mode === 'none') return ask && ctx.wsSend({ type: 'confirm', id: ask.id, ok: false });
    const required = !ask && cfg.contact_info_mode === 'required';
    const label = (k) => T['label' + k[0].toUpperCase() + k.slice(1)];
    const inputs = fields.map((k) =>
      h('input', {
        name: k,
        type: k === 'phone' ? 'tel' : k === 'email' ? 'email' : 'text',
        autocomplete: k === 'phone' ? 'tel' : k,
        required,
        maxlength: 200,
      })
    );
    const save = h('button', { type: 'submit', 'data-part': 'save' }, ask ? T.labelSend : T.labelSave);
    const skip = !required && h('button', { type: 'button', 'data-part': 'skip' }, T.labelSkip);
    const form = make('contact', 'c', (ask && ask.summary) || T.contactText, inputs, label, [save, skip || null]);
    form.ask = ask && ask.id;
    on(form, 'submit', (e) => {
      e.preventDefault();
      if (form.busy) return;
      const msg = { type: 'contact_info' };
      for (const i of inputs) {
        const v = i.value.trim();
        if (bad(i, v, required)) {
          form.err.textContent = T.invalidText.replace('{field}', label(i.name));
          return i.focus();
        }
        if (v) msg[i.name] = v;
      }
      form.err.textContent = '';
      if (!msg.name && !msg.email && !msg.phone) return skipped(); // optional, left empty: a skip
      form.busy = ctx.wsSend(msg);
      ctx.sync();
    });
    if (skip) on(skip, 'click', skipped);
    const focused = ctx.root.getRootNode().activeElement === ctx.input;
    ctx.form(form);
    if (focused) inputs[0].focus();
  }

  function away() {
    if (ctx.form()) return;
    const email = h('input', { name: 'email', type: 'email', autocomplete: 'email', required: true, maxlength: 254 });
    const form = make('away', 'a', String((ctx.away() || {}).message || ''), [email], () => T.labelEmail, [h('button', { type: 'submit', 'data-part': 'save' }, T.labelSend)]);
    form.away = true;
    on(form, 'submit', (e) => {
      e.preventDefault();
      const v = email.value.trim();
      if (bad(email, v, true)) {
        form.err.textContent = T.invalidText.replace('{field}', T.labelEmail);
        return email.focus();
      }
      if (form.busy) return;
      form.err.textContent = '';
      form.busy = ctx.wsSend({ type: 'contact_info', email: v });
      ctx.sync();
    });
    ctx.form(form);
    email.focus();
  }

  return (kind, ask) => (kind === 'away' ? away() : contact(ask));
}
