// Widgets: the list (#/widgets), a new one (#/widgets/new) and one widget
// (#/widgets/<widget_id>): every field, enable/disable, reset the public id,
// delete, the embed snippet and its CSP line, the Setup panel (setup.js),
// a live preview of the widget as the form is edited (preview.js),
// and how long its conversations are kept. Away
// mode (issue 23): business hours as a time zone and one line a day
// ("09:00-12:00, 13:00-17:30"), and the away message. Issue 26: starter
// questions, the proactive message, the widget's language, unread alerts,
// feedback and rating, and the verified identity: identity_required and the
// identity secret, made, rotated and removed from its panel and shown once.

import { api, endpoints, isAbort, widgetLabel } from './api.js';
import { loadAgents, agentLabel } from './agents.js';
import {
  h, clear, timeEl, confirmDialog, pageTitle, backLink, showLoadError, cardTable, copyButton, onceBox,
} from './dom.js';
import { formErrors, submitForm } from './form.js';
import { cspLine, setupPanel } from './setup.js';
import { livePreview } from './preview.js';
import { feedbackPanel } from './feedback.js';

const COLOR_RE = /^#[0-9a-fA-F]{6}$/;
const ORIGIN_RE = /^https?:\/\/(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/i;
const MODEL_RE = /^[A-Za-z0-9._:/-]*$/;
const CAP_MAX = 4294967295;
const RETENTION_MAX = 3650;
const DAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'], ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];
const TZ_RE = /^[A-Za-z0-9_+-]+(\/[A-Za-z0-9_+-]+)*$/;
const SPAN_RE = /^(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})$/;
const LANGUAGES = [['', 'The visitor\'s (browser or page)'], ['en', 'English'], ['es', 'Spanish'], ['pt', 'Portuguese'],
  ['fr', 'French'], ['de', 'German'], ['it', 'Italian'], ['nl', 'Dutch'], ['pl', 'Polish'], ['tr', 'Turkish'],
  ['ar', 'Arabic'], ['ja', 'Japanese'], ['zh', 'Chinese']];
const STARTERS_MAX = 4;
const DELAY_MAX = 600;
// What visitors may attach (docs/attachments.md): [value, label, what it is].
const ATTACH_TYPES = [['image', 'Images', 'PNG, JPEG, GIF, WebP'], ['pdf', 'PDF', ''], ['text', 'Text', 'plain UTF-8, up to 256 KB']];
const ATTACH_MB_MAX = 25;

/* The widget fields, as the admin API names them (widgets.c). */
const DEFAULTS = {
  name: '',
  greeting: '',
  primary_color: '#4f46e5',
  text_color: '#ffffff',
  position: 'bottom_right',
  contact_info_mode: 'none',
  collect_name: false,
  collect_email: false,
  collect_phone: false,
  allowed_origins: [],
  daily_message_cap: null,
  retention_days: null,
  system_prompt: '',
  model: '',
  agent_id: 'default',
  handoff_enabled: false,
  handoff_label: '',
  reply_time: '',
  business_hours: null,
  away_message: '',
  enabled: true,
  // issue 26
  starter_questions: [],
  proactive_message: '',
  proactive_delay_s: 10,
  proactive_path: '',
  language: '',
  unread_sound: false,
  unread_title: false,
  feedback_enabled: true,
  rating_enabled: false,
  identity_required: false,
  // attachments: the API's default is none
  attachment_types: [],
  attachment_max_mb: 10,
};
const FIELD_NAMES = Object.keys(DEFAULTS);
/* A widget made here starts as the API's does: no attachments until the owner ticks some. */
const NEW_WIDGET = DEFAULTS;
/* Names a server error may use for a field, and the field they mean. */
const ALIASES = { contact_mode: 'contact_info_mode', daily_cap: 'daily_message_cap', origins: 'allowed_origins' };

/* A day's intervals as a line: [["09:00","12:00"]] -> "09:00-12:00". */
function dayLine(spans) {
  return (spans || []).map(([a, b]) => `${a}-${b}`).join(', ');
}

/* A day's line back: its intervals, or an error message. */
function parseDay(line) {
  const spans = [];
  for (const part of line.split(',').map((x) => x.trim()).filter(Boolean)) {
    const m = SPAN_RE.exec(part);
    if (!m) return { error: `"${part}" is not like 09:00-17:30` };
    const t = (hh, mm) => `${hh.padStart(2, '0')}:${mm}`;
    spans.push([t(m[1], m[2]), t(m[3], m[4])]);
  }
  return { spans };
}

function chars(s) {
  return Array.from(s || '').length;
}

/* Issue 26's fields of the form (v: its raw values) as the API's JSON, their errors into errors. */
function engageValues(v, errors) {
  v.starter_questions = v.starter_questions.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
  if (v.starter_questions.length > STARTERS_MAX) errors.starter_questions = `at most ${STARTERS_MAX}, one per line`;
  else if (v.starter_questions.some((q) => chars(q) > 120)) errors.starter_questions = 'each must be at most 120 characters';
  v.proactive_message = v.proactive_message.trim();
  if (chars(v.proactive_message) > 500) errors.proactive_message = 'must be at most 500 characters';
  const delay = v.proactive_delay_s.trim();
  v.proactive_delay_s = Number(delay);
  if (!/^\d+$/.test(delay) || v.proactive_delay_s > DELAY_MAX) errors.proactive_delay_s = `must be a whole number from 0 to ${DELAY_MAX}`;
  v.proactive_path = v.proactive_path.trim();
  if (chars(v.proactive_path) > 200) errors.proactive_path = 'must be at most 200 characters';
}

export function embedSnippet(widgetId) {
  return `<script src="${location.origin}/api/widget/embed.js" data-widget="${widgetId}"></script>`;
}

function enabledBadge(on) {
  return h('span', { class: ['badge', on ? 'badge-ok' : 'badge-neutral'], 'data-testid': 'widget-status' },
    on ? 'Enabled' : 'Disabled');
}

/* ------------------------------------------------------------------ list */

export async function renderList(main, ctx) {
  ctx.setTitle('Widgets');
  main.append(h('div', { class: 'page-head' },
    pageTitle('Widgets'),
    h('a', { href: '#/widgets/new', class: 'btn btn-primary', 'data-testid': 'new-widget' }, 'New widget')));
  const data = await api(endpoints.widgets, { signal: ctx.signal });
  const widgets = Array.isArray(data && data.widgets) ? data.widgets : [];
  main.append(h('p', { class: 'count', 'data-testid': 'widget-count' },
    `${widgets.length.toLocaleString()} ${widgets.length === 1 ? 'widget' : 'widgets'}`));
  if (widgets.length === 0) {
    main.append(h('p', { class: 'empty', 'data-testid': 'widget-empty' }, 'No widgets yet.'));
    return;
  }
  const tbody = h('tbody', { 'data-testid': 'widget-list' });
  for (const w of widgets) {
    tbody.append(h('tr', { 'data-testid': 'widget-row', 'data-id': w.widget_id, 'data-internal-id': w.id },
      h('td', { 'data-label': 'Name' }, h('span', null,
        h('a', { href: `#/widgets/${encodeURIComponent(w.widget_id)}`, 'data-testid': 'widget-link' }, widgetLabel(w)),
        w.id === 'default' ? h('span', { class: 'badge badge-info tag' }, 'Default') : null)),
      h('td', { 'data-label': 'Public id', class: 'cell-id' }, h('code', { 'data-testid': 'widget-public-id' }, w.widget_id)),
      h('td', { 'data-label': 'Status' }, enabledBadge(!!w.enabled)),
      h('td', { 'data-label': 'Conversations' },
        h('a', {
          href: `#/conversations?widget=${encodeURIComponent(w.id)}`,
          'data-testid': 'widget-conversations',
          'aria-label': `Conversations of ${widgetLabel(w)}`,
        }, 'Conversations')),
      h('td', { 'data-label': 'Updated' }, timeEl(w.updated_at))));
  }
  main.append(h('div', { class: 'table-wrap' },
    cardTable('Widgets, oldest first', ['Name', 'Public id', 'Status', 'Conversations', 'Updated'], tbody,
      { 'data-testid': 'widget-table' })));
  const names = new Map(widgets.map((w) => [w.id, widgetLabel(w)]));
  main.append(feedbackPanel(ctx, (id) => names.get(id)));
}

/* ------------------------------------------------------------------ form */

/** Builds the form; returns {form, controls, setValues, getValues, showErrors, clearErrors}. */
function widgetForm() {
  const controls = {};
  const { formError, errEl, field, clearErrors, showErrors } = formErrors(controls);

  function describe(el, name, hint) {
    el.setAttribute('aria-describedby', [hint ? `hint-${name}` : null, `err-${name}`].filter(Boolean).join(' '));
  }
  function hintEl(name, text) {
    return text ? h('p', { id: `hint-${name}`, class: 'hint' }, text) : null;
  }
  function textField(name, label, { hint, max, textarea, rows, attrs } = {}) {
    const el = textarea
      ? h('textarea', { rows: String(rows || 3), maxlength: max ? String(max) : null, ...attrs })
      : h('input', { type: 'text', maxlength: max ? String(max) : null, ...attrs });
    return field(name, label, el, hint);
  }
  function colorField(name, label) {
    const text = h('input', {
      id: `f-${name}`, name, type: 'text', maxlength: '7', pattern: '#[0-9a-fA-F]{6}',
      autocomplete: 'off', spellcheck: 'false', class: 'input-color-text',
    });
    const picker = h('input', { id: `f-${name}-picker`, type: 'color', class: 'input-color', 'data-testid': `color-${name}` });
    describe(text, name, 'x');
    text.addEventListener('input', () => { if (COLOR_RE.test(text.value)) picker.value = text.value.toLowerCase(); });
    picker.addEventListener('input', () => { text.value = picker.value; });
    controls[name] = text;
    controls[`${name}__picker`] = picker;
    return h('div', { class: 'field', 'data-field': name },
      h('label', { for: `f-${name}` }, label),
      h('div', { class: 'color-row' }, text,
        h('label', { for: `f-${name}-picker`, class: 'visually-hidden' }, `${label}: colour picker`), picker),
      hintEl(name, 'A hex colour, #rrggbb.'), errEl(name));
  }
  function selectField(name, label, options, hint) {
    return field(name, label, h('select', null, options.map(([v, t]) => h('option', { value: v }, t))), hint);
  }
  function checkField(name, label, hint) {
    const el = h('input', { id: `f-${name}`, name, type: 'checkbox' });
    describe(el, name, hint);
    controls[name] = el;
    return h('div', { class: 'field field-check', 'data-field': name },
      el, h('label', { for: `f-${name}` }, label), hintEl(name, hint), errEl(name));
  }

  const capHint = 'Visitor messages per day (UTC) across all visitors. Leave empty for no cap.';
  const cap = h('input', {
    id: 'f-daily_message_cap', name: 'daily_message_cap', type: 'number', min: '1', max: String(CAP_MAX),
    step: '1', inputmode: 'numeric',
  });
  describe(cap, 'daily_message_cap', capHint);
  controls.daily_message_cap = cap;
  const retention = field('retention_days', 'Keep conversations for (days)', h('input', {
    type: 'number', min: '1', max: String(RETENTION_MAX), step: '1', inputmode: 'numeric', 'data-testid': 'retention-input',
  }), `Conversations idle this long are deleted with their messages (contacts stay). 1 to ${RETENTION_MAX}; empty keeps them forever.`);

  const hoursHint = 'A time zone such as Europe/Paris; empty: always open. Each day: intervals such as 09:00-12:00, 13:00-17:30 ' +
    '(24:00 ends a day); an empty day is closed. Outside them, or when no one has had the dashboard open for 2 minutes, ' +
    'the chat\'s button says "Leave a message" and asks for an email.';
  const tz = h('input', { id: 'f-business_hours', name: 'business_hours', type: 'text', maxlength: '64', spellcheck: 'false', autocomplete: 'off', 'data-testid': 'hours-timezone' });
  describe(tz, 'business_hours', hoursHint);
  controls.business_hours = tz;
  const dayFields = DAYS.map(([d, label]) => {
    const el = h('input', { id: `f-hours-${d}`, type: 'text', spellcheck: 'false', autocomplete: 'off', 'data-testid': `hours-${d}`, 'aria-describedby': 'err-business_hours' });
    controls[`hours__${d}`] = el;
    return h('div', { class: 'field' }, h('label', { for: `f-hours-${d}` }, label), el);
  });
  const hours = h('fieldset', { class: 'subfields', 'data-field': 'business_hours' }, h('legend', null, 'Business hours'),
    h('div', { class: 'field' }, h('label', { for: 'f-business_hours' }, 'Time zone'), tz, hintEl('business_hours', hoursHint)),
    ...dayFields, errEl('business_hours'));

  const attachHint = 'None ticked: visitors cannot attach files. A file is taken by what its bytes are, never by its name.';
  const attachBoxes = ATTACH_TYPES.map(([t, label, what]) => {
    const el = h('input', {
      id: `f-attachment_types-${t}`, name: 'attachment_types', type: 'checkbox', value: t, 'data-testid': `attach-type-${t}`,
      'aria-describedby': 'hint-attachment_types err-attachment_types',
    });
    controls[`attachment_types__${t}`] = el;
    return h('div', { class: 'field field-check' }, el,
      h('label', { for: el.id }, label, what ? h('span', { class: 'label-note' }, ` (${what})`) : null));
  });
  // its errors are said at the first box
  controls.attachment_types = controls.attachment_types__image;
  const attachments = h('fieldset', null, h('legend', null, 'Attachments'),
    h('fieldset', { class: 'subfields', 'data-field': 'attachment_types' }, h('legend', null, 'Visitors may attach'),
      ...attachBoxes, hintEl('attachment_types', attachHint), errEl('attachment_types')),
    field('attachment_max_mb', 'Largest file (MB)', h('input', {
      type: 'number', min: '1', max: String(ATTACH_MB_MAX), step: '1', inputmode: 'numeric',
    }), `1 to ${ATTACH_MB_MAX} (MiB). A larger file is refused before it is sent. Your team's replies may carry up to 25 MB.`));

  const saveStatus = h('p', { class: 'save-status', role: 'status', 'data-testid': 'save-status' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'save-widget' }, 'Save');

  const form = h('form', { class: 'widget-form', 'data-testid': 'widget-form', 'data-guard': true, novalidate: true, 'aria-labelledby': 'widget-form-title' },
    h('h2', { id: 'widget-form-title' }, 'Settings'),
    formError,
    h('fieldset', null, h('legend', null, 'Appearance'),
      textField('name', 'Name', { hint: 'Shown in the chat header. Up to 100 characters; may be empty.', max: 100 }),
      textField('greeting', 'Greeting', { hint: 'The first message visitors see. Up to 500 characters.', max: 500, textarea: true, rows: 3 }),
      h('div', { class: 'field-pair' },
        colorField('primary_color', 'Primary colour'),
        colorField('text_color', 'Text colour')),
      selectField('position', 'Position', [['bottom_right', 'Bottom right'], ['bottom_left', 'Bottom left']],
        'Where the chat bubble sits on the page.')),
    h('fieldset', null, h('legend', null, 'Contact details'),
      selectField('contact_info_mode', 'Ask visitors for contact details', [
        ['none', 'No'], ['optional', 'Optional'], ['required', 'Required before chatting'],
      ], 'Required needs at least one field below.'),
      h('fieldset', { class: 'subfields' }, h('legend', null, 'Fields to collect'),
        checkField('collect_name', 'Name'),
        checkField('collect_email', 'Email'),
        checkField('collect_phone', 'Phone'))),
    h('fieldset', null, h('legend', null, 'Access and limits'),
      textField('allowed_origins', 'Allowed origins', {
        hint: 'One per line, as scheme://host[:port] (e.g. https://www.example.com). Empty: any site may embed it. At most 32.',
        textarea: true, rows: 4, attrs: { spellcheck: 'false', autocomplete: 'off' },
      }),
      h('div', { class: 'field', 'data-field': 'daily_message_cap' },
        h('label', { for: 'f-daily_message_cap' }, 'Daily message cap'), cap,
        hintEl('daily_message_cap', capHint), errEl('daily_message_cap')),
      retention,
      checkField('enabled', 'Enabled', 'A disabled widget does not load on any site.')),
    attachments,
    h('fieldset', null, h('legend', null, 'Assistant'),
      selectField('agent_id', 'Agent', [['default', 'Default agent']],
        'Which assistant answers on this widget: its instructions and model (see Agents).'),
      checkField('handoff_enabled', 'Visitors can ask for a person',
        'Shows a button in the chat after the first message; you answer from the conversation page.'),
      textField('handoff_label', 'Button label', {
        hint: 'Empty: "Talk to a person". Up to 100 characters.', max: 100,
      }),
      textField('reply_time', 'Reply time', {
        hint: 'Shown under the chat\'s header while a person may answer, e.g. "We usually reply in a few minutes". Empty: none. Up to 80 characters.',
        max: 80,
      }),
      hours,
      textField('away_message', 'Away message', {
        hint: 'Shown with the email field when away. Empty: "We\'re away right now. Leave your email and we\'ll get back to you." Up to 500 characters.',
        max: 500, textarea: true, rows: 2,
      })),
    h('fieldset', null, h('legend', null, 'Conversation starters'),
      textField('starter_questions', 'Starter questions', {
        hint: `One per line, at most ${STARTERS_MAX}, each up to 120 characters: shown as buttons before the first message.`,
        textarea: true, rows: 4,
      }),
      textField('proactive_message', 'Proactive message', {
        hint: 'Shown beside the chat button after the delay below, once a day per visitor. Empty: none. Up to 500 characters.',
        max: 500, textarea: true, rows: 2,
      }),
      h('div', { class: 'field-pair' },
        field('proactive_delay_s', 'After (seconds)', h('input', {
          type: 'number', min: '0', max: String(DELAY_MAX), step: '1', inputmode: 'numeric',
        }), `0 to ${DELAY_MAX}.`),
        textField('proactive_path', 'On pages', {
          hint: 'A path such as /pricing or /docs/*; * matches anything. Empty: every page.', max: 200,
          attrs: { spellcheck: 'false', autocomplete: 'off' },
        }))),
    h('fieldset', null, h('legend', null, 'Language and alerts'),
      selectField('language', 'Widget language', LANGUAGES,
        'The language of the widget\'s own texts (buttons, notices).'),
      checkField('unread_title', 'Mark the page title when a reply arrives with the chat closed'),
      checkField('unread_sound', 'Play a short sound when a reply arrives with the chat closed'),
      checkField('feedback_enabled', 'Thumbs up and down on answers'),
      checkField('rating_enabled', 'Ask for a 1-5 rating when the visitor starts a new chat or a person hands the chat back to the assistant')),
    h('fieldset', null, h('legend', null, 'Verified identity'),
      checkField('identity_required', 'Only signed-in visitors may chat',
        'Visitors must be identified by your site (identify with a valid hash). Needs an identity secret (see Identity secret).')),
    h('fieldset', null, h('legend', null, 'Model (overrides the agent\'s)'),
      textField('system_prompt', 'System prompt', {
        hint: 'Empty: the agent\'s prompt (the Default agent\'s is the server\'s SYSTEM_PROMPT). Up to 8000 characters.', max: 8000, textarea: true, rows: 6,
      }),
      textField('model', 'Model', {
        hint: 'Empty: the agent\'s model (the Default agent\'s is the server\'s OPENAI_MODEL). Letters, digits and . _ : / - (up to 100).', max: 100,
        attrs: { spellcheck: 'false', autocomplete: 'off', pattern: '[A-Za-z0-9._:/\\-]*' },
      })),
    h('div', { class: 'form-actions' }, save, saveStatus));

  /** The agent picker's options, from GET /v1/admin/agents (the widget's own kept if missing). */
  function setAgents(agents, current) {
    const sel = controls.agent_id;
    clear(sel);
    const seen = new Set();
    for (const a of agents) {
      const id = a.is_default ? 'default' : String(a.id);
      seen.add(id);
      sel.append(h('option', { value: id }, a.is_default ? 'Default agent' : agentLabel(a)));
    }
    if (!seen.has('default')) sel.prepend(h('option', { value: 'default' }, 'Default agent'));
    if (current && !seen.has(current) && current !== 'default') sel.append(h('option', { value: current }, current));
  }

  function setValues(w) {
    for (const name of FIELD_NAMES) {
      const el = controls[name];
      const v = w[name];
      if (name === 'business_hours') {
        el.value = v ? v.timezone : '';
        for (const [d] of DAYS) controls[`hours__${d}`].value = v && v.days ? dayLine(v.days[d]) : '';
      } else if (name === 'attachment_types') {
        for (const [t] of ATTACH_TYPES) controls[`attachment_types__${t}`].checked = Array.isArray(v) && v.includes(t);
      } else if (el.type === 'checkbox') el.checked = !!v;
      else if (name === 'allowed_origins' || name === 'starter_questions') el.value = Array.isArray(v) ? v.join('\n') : '';
      else if (name === 'daily_message_cap' || name === 'retention_days' || name === 'proactive_delay_s') el.value = v == null ? '' : String(v);
      else if (name === 'agent_id') el.value = !v || v === 'default' ? 'default' : String(v);
      else el.value = v == null ? '' : String(v);
      if (controls[`${name}__picker`] && COLOR_RE.test(el.value)) controls[`${name}__picker`].value = el.value.toLowerCase();
    }
  }

  /** The form as the API's JSON, and client-side errors {field: message}. */
  function getValues() {
    const v = {};
    const errors = {};
    for (const name of FIELD_NAMES) {
      const el = controls[name];
      if (el.type === 'checkbox') v[name] = el.checked;
      else v[name] = el.value;
    }
    v.name = v.name.trim();
    v.model = v.model.trim();
    v.primary_color = v.primary_color.trim().toLowerCase();
    v.text_color = v.text_color.trim().toLowerCase();
    v.allowed_origins = v.allowed_origins.split(/\r?\n/).map((s) => s.trim()).filter(Boolean);
    const capText = v.daily_message_cap.trim();
    v.daily_message_cap = capText === '' ? null : Number(capText);
    const keepText = v.retention_days.trim();
    v.retention_days = keepText === '' ? null : Number(keepText);
    engageValues(v, errors);
    v.attachment_types = ATTACH_TYPES.map(([t]) => t).filter((t) => controls[`attachment_types__${t}`].checked);
    const mbText = v.attachment_max_mb.trim();
    v.attachment_max_mb = Number(mbText);
    if (!/^\d+$/.test(mbText) || v.attachment_max_mb < 1 || v.attachment_max_mb > ATTACH_MB_MAX) {
      errors.attachment_max_mb = `must be a whole number from 1 to ${ATTACH_MB_MAX}`;
    }

    if (chars(v.name) > 100) errors.name = 'must be at most 100 characters';
    if (chars(v.greeting) > 500) errors.greeting = 'must be at most 500 characters';
    if (!COLOR_RE.test(v.primary_color)) errors.primary_color = 'must be #rrggbb';
    if (!COLOR_RE.test(v.text_color)) errors.text_color = 'must be #rrggbb';
    if (v.contact_info_mode === 'required' && !v.collect_name && !v.collect_email && !v.collect_phone) {
      errors.contact_info_mode = 'required needs a field to collect';
    }
    if (v.allowed_origins.length > 32) errors.allowed_origins = 'at most 32 origins';
    else {
      const bad = v.allowed_origins.find((o) => o.length > 255 || !ORIGIN_RE.test(o));
      if (bad !== undefined) errors.allowed_origins = `"${bad}" is not http(s)://host[:port]`;
    }
    if (capText !== '' && (!/^\d+$/.test(capText) || v.daily_message_cap < 1 || v.daily_message_cap > CAP_MAX)) {
      errors.daily_message_cap = 'must be a whole number from 1 to 4294967295, or empty for no cap';
    }
    if (keepText !== '' && (!/^\d+$/.test(keepText) || v.retention_days < 1 || v.retention_days > RETENTION_MAX)) {
      errors.retention_days = `must be a whole number of days from 1 to ${RETENTION_MAX}, or empty to keep them forever`;
    }
    v.handoff_label = v.handoff_label.trim() || null;
    if (chars(v.handoff_label) > 100) errors.handoff_label = 'must be at most 100 characters';
    v.reply_time = v.reply_time.trim() || null;
    if (chars(v.reply_time) > 80) errors.reply_time = 'must be at most 80 characters';
    const zone = v.business_hours.trim();
    const days = {};
    for (const [d, label] of DAYS) {
      const r = parseDay(controls[`hours__${d}`].value);
      if (r.error && !errors.business_hours) errors.business_hours = `${label}: ${r.error}`;
      days[d] = r.spans || [];
    }
    const anyHours = DAYS.some(([d]) => days[d].length);
    if (!zone && anyHours && !errors.business_hours) errors.business_hours = 'a time zone is needed for the hours';
    if (zone && (zone.length > 64 || !TZ_RE.test(zone)) && !errors.business_hours) errors.business_hours = 'must be a time zone name such as Europe/Paris';
    v.business_hours = zone ? { timezone: zone, days } : null;
    v.away_message = v.away_message.trim() || null;
    if (chars(v.away_message) > 500) errors.away_message = 'must be at most 500 characters';
    if (chars(v.system_prompt) > 8000) errors.system_prompt = 'must be at most 8000 characters';
    if (v.model.length > 100 || !MODEL_RE.test(v.model)) errors.model = 'at most 100 of A-Z a-z 0-9 . _ : / -';
    return { values: v, errors };
  }

  return { form, controls, setAgents, setValues, getValues, showErrors, clearErrors, save, saveStatus };
}

function sameValue(a, b) {
  // business_hours: an object (or null), compared as the API writes it
  if ((a && typeof a === 'object' && !Array.isArray(a)) || (b && typeof b === 'object' && !Array.isArray(b))) {
    return JSON.stringify(a || null) === JSON.stringify(b || null);
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    const x = Array.isArray(a) ? a : [];
    const y = Array.isArray(b) ? b : [];
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  const norm = (v) => (v === null || v === undefined ? '' : typeof v === 'string' && /^#[0-9A-Fa-f]{6}$/.test(v) ? v.toLowerCase() : v);
  return norm(a) === norm(b);
}

/* ------------------------------------------------------------------ edit */

export async function renderEdit(main, ctx, widgetId) {
  const isNew = widgetId === undefined;
  ctx.setTitle(isNew ? 'New widget' : 'Widget');
  const back = backLink('#/widgets', '← All widgets', 'back-to-widgets');
  const title = pageTitle(isNew ? 'New widget' : 'Widget');
  main.append(back, title);

  const f = widgetForm();
  const state = { widget: null };

  if (isNew) {
    f.setAgents(await loadAgents(ctx.signal));
    f.setValues(NEW_WIDGET);
    // A new widget has no identity secret yet: required comes after one,
    // and its panel only once the widget is saved (the hint says so).
    f.controls.identity_required.disabled = true;
    f.form.querySelector('#hint-identity_required').textContent =
      'Visitors must be identified by your site (identify with a valid hash). Needs an identity secret, which you can make once the widget is created.';
    f.save.textContent = 'Create widget';
    main.append(livePreview(f, ctx.signal), f.form);
  } else {
    const loading = h('p', { class: 'muted' }, 'Loading…');
    main.append(loading);
    let agents;
    try {
      [state.widget, agents] = await Promise.all([
        api(endpoints.widget(widgetId), { signal: ctx.signal }), loadAgents(ctx.signal)]);
    } catch (e) {
      if (isAbort(e)) return;
      showLoadError(loading, e.status === 404 ? 'Widget not found. Its public id may have been reset, or it was deleted.' : e.message);
      return;
    }
    loading.remove();
    f.setAgents(agents, state.widget.agent_id);
    f.setValues(state.widget);
  }

  async function submit(ev) {
    ev.preventDefault();
    const res = await submitForm(f, {
      url: isNew ? endpoints.widgets : endpoints.widget(state.widget.widget_id),
      old: state.widget, names: FIELD_NAMES, same: sameValue, what: 'widget', aliases: ALIASES,
    });
    if (!res) return;
    if (isNew) {
      ctx.navigate(`#/widgets/${encodeURIComponent(res.widget_id)}`, 'Widget created.');
      return;
    }
    state.widget = res;
    f.setValues(res);
    refresh();
    f.saveStatus.textContent = 'Saved.';
  }
  f.form.addEventListener('submit', submit);

  if (isNew) return;

  /* ---- an existing widget: status, embed, public id, delete ---- */
  const w0 = state.widget;
  const titleName = h('span', { 'data-testid': 'widget-title' }, widgetLabel(w0));
  clear(title).append('Widget: ', titleName);

  const statusBadgeHolder = h('span', null, enabledBadge(!!w0.enabled));
  const toggle = h('button', { type: 'button', class: 'btn', 'data-testid': 'toggle-enabled' });
  const toggleStatus = h('p', { class: 'save-status', role: 'status', 'data-testid': 'toggle-status' });
  const publicId = h('code', { 'data-testid': 'widget-public-id' });
  const snippetCode = h('code', { 'data-testid': 'embed-snippet' });
  const [copyBtn, copyStatus] = copyButton(snippetCode, 'copy-snippet', 'copy-status');
  const resetBtn = h('button', { type: 'button', class: 'btn btn-warn', 'data-testid': 'reset-id' }, 'Reset public id');
  const resetStatus = h('p', { class: 'save-status', role: 'status', 'data-testid': 'reset-status' });
  const actionError = h('p', { class: 'alert alert-error', role: 'alert', 'data-testid': 'action-error', hidden: true });
  const internalId = h('code', { 'data-testid': 'widget-internal-id' });
  const created = h('span');
  const updatedAt = h('span');
  const retentionDd = h('span', { 'data-testid': 'widget-retention' });
  const convLink = h('a', { 'data-testid': 'widget-conversations' }, 'Conversations of this widget');

  function refresh() {
    const w = state.widget;
    clear(statusBadgeHolder).append(enabledBadge(!!w.enabled));
    toggle.textContent = w.enabled ? 'Disable widget' : 'Enable widget';
    publicId.textContent = w.widget_id;
    snippetCode.textContent = embedSnippet(w.widget_id);
    titleName.textContent = widgetLabel(w);
    ctx.setTitle(`Widget ${widgetLabel(w)}`);
    internalId.textContent = w.id;
    clear(created).append(timeEl(w.created_at));
    clear(updatedAt).append(timeEl(w.updated_at));
    retentionDd.textContent = w.retention_days == null ? 'Forever' : `${w.retention_days.toLocaleString()} days`;
    convLink.setAttribute('href', `#/conversations?widget=${encodeURIComponent(w.id)}`);
    identity.refresh(w);
    f.controls.identity_required.disabled = !w.identity_secret_set && !f.controls.identity_required.checked;
  }

  const statusSection = h('section', { class: 'panel', 'aria-labelledby': 'sec-status' },
    h('h2', { id: 'sec-status' }, 'Status'),
    h('div', { class: 'panel-row' }, statusBadgeHolder, toggle),
    toggleStatus,
    h('dl', { class: 'meta' },
      h('dt', null, 'Internal id'), h('dd', null, internalId),
      h('dt', null, 'Created'), h('dd', null, created),
      h('dt', null, 'Updated'), h('dd', null, updatedAt),
      h('dt', null, 'Keeps conversations'), h('dd', null, retentionDd)),
    h('p', null, convLink));

  const embedSection = h('section', { class: 'panel', 'aria-labelledby': 'sec-embed' },
    h('h2', { id: 'sec-embed' }, 'Embed'),
    h('p', null, 'Paste this tag into the pages where the chat should appear:'),
    h('pre', { class: 'snippet' }, snippetCode),
    h('div', { class: 'panel-row' }, copyBtn, copyStatus),
    h('p', { class: 'hint' }, 'A page with a Content-Security-Policy must allow this server, WebSocket included: ',
      h('code', { 'data-testid': 'embed-csp' }, cspLine()), ' (see Setup).'),
    h('h3', null, 'Public id'),
    h('p', { class: 'panel-row' }, publicId),
    h('p', { class: 'hint' }, 'Resetting the public id makes the current embed stop working at once; pages must then use the new snippet.'),
    h('div', { class: 'panel-row' }, resetBtn),
    resetStatus);

  const identity = identityPanel(ctx, state, f, actionError, () => refresh());
  const setup = setupPanel(w0.widget_id, ctx.signal);
  const panels = [statusSection, livePreview(f, ctx.signal), embedSection, identity.section, setup.section];
  setup.load();
  let deleteBtn = null;
  if (w0.id !== 'default') {
    deleteBtn = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'delete-widget' }, 'Delete widget');
    panels.push(h('section', { class: 'panel panel-danger', 'aria-labelledby': 'sec-delete' },
      h('h2', { id: 'sec-delete' }, 'Delete'),
      h('p', null, 'The embed stops working at once and visitors\' sessions end. Its conversations and contacts are kept.'),
      deleteBtn));
  } else {
    panels.push(h('p', { class: 'hint', 'data-testid': 'default-widget-note' },
      'This is the default widget (used by the API-key chat endpoints); it cannot be deleted.'));
  }
  main.append(actionError, h('div', { class: 'widget-layout' },
    h('div', { class: 'widget-side' }, panels), f.form));
  refresh();

  toggle.addEventListener('click', async () => {
    const w = state.widget;
    actionError.hidden = true;
    toggle.disabled = true;
    toggleStatus.textContent = '';
    try {
      state.widget = await api(endpoints.widget(w.widget_id), { method: 'PATCH', body: { enabled: !w.enabled } });
      f.controls.enabled.checked = !!state.widget.enabled;
      refresh();
      toggleStatus.textContent = state.widget.enabled ? 'Widget enabled.' : 'Widget disabled.';
    } catch (e) {
      actionError.textContent = `Could not change the status: ${e.message}`;
      actionError.hidden = false;
    } finally {
      toggle.disabled = false;
    }
  });

  resetBtn.addEventListener('click', async () => {
    const old = state.widget.widget_id;
    const ok = await confirmDialog({
      title: 'Reset the public id?',
      message: `The current id ${old} stops working at once, on every site that embeds it. You will need to paste the new snippet into your pages.`,
      confirmLabel: 'Reset id',
      danger: true,
    });
    if (!ok || ctx.signal.aborted) return;
    actionError.hidden = true;
    resetBtn.disabled = true;
    try {
      state.widget = await api(endpoints.resetId(old), { method: 'POST' });
    } catch (e) {
      actionError.textContent = `Could not reset the id: ${e.message}`;
      actionError.hidden = false;
      return;
    } finally {
      resetBtn.disabled = false;
    }
    // The route follows the new id without reloading the page.
    history.replaceState(null, '', `#/widgets/${encodeURIComponent(state.widget.widget_id)}`);
    refresh();
    setup.load(state.widget.widget_id);
    resetStatus.textContent = `New public id: ${state.widget.widget_id}. The old one no longer works; update your embed snippet.`;
  });

  if (deleteBtn) {
    deleteBtn.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: 'Delete this widget?',
        message: `"${widgetLabel(state.widget)}" stops working on every site at once. Its conversations and contacts are kept. This cannot be undone.`,
        confirmLabel: 'Delete widget',
        danger: true,
      });
      if (!ok || ctx.signal.aborted) return;
      actionError.hidden = true;
      deleteBtn.disabled = true;
      try {
        await api(endpoints.widget(state.widget.widget_id), { method: 'DELETE' });
      } catch (e) {
        deleteBtn.disabled = false;
        actionError.textContent = `Could not delete: ${e.message}`;
        actionError.hidden = false;
        return;
      }
      ctx.navigate('#/widgets', 'Widget deleted.');
    });
  }
}

/* ------------------------------------------------------- identity secret */

/*
 * The Identity secret panel (issue 26): whether the widget has one, Make
 * (or Rotate) and Remove. A made secret is shown this once, with a copy
 * button and how the site signs its user ids; the widget's JSON never
 * carries it again. state.widget is the widget shown; done() refreshes
 * the page after a change.
 */
function identityPanel(ctx, state, f, actionError, done) {
  const badge = h('span', null);
  const make = h('button', { type: 'button', class: 'btn', 'data-testid': 'identity-secret-make' });
  const remove = h('button', { type: 'button', class: 'btn btn-warn', 'data-testid': 'identity-secret-remove' }, 'Remove secret');
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'identity-secret-status' });
  const once = h('div', { 'data-testid': 'identity-secret-once-holder' });
  const section = h('section', { class: 'panel', 'aria-labelledby': 'sec-identity' },
    h('h2', { id: 'sec-identity' }, 'Identity secret'),
    h('p', { class: 'hint' }, 'For sites whose visitors sign in: your server signs each user\'s id with this secret ',
      '(hash = HMAC-SHA256 of the id, hex) and the page passes id and hash to the widget. Verified visitors are one contact ',
      'across their devices; a wrong hash is never trusted. An email is verified (for actions\' {{visitor.email}}) when ',
      'your server signs it too: email_hash = HMAC-SHA256 of "email:" and the email. A hash that should stop working ',
      'after a time (a cached page, a shared link) signs "exp:", the expiry (Unix seconds), ":" and the id, and the page ',
      'passes that expires too (data-user-expires on the script tag, or identify\'s expires); it is refused after it.'),
    h('div', { class: 'panel-row' }, badge, make, remove),
    status, once);

  function refresh(w) {
    clear(badge).append(h('span', {
      class: ['badge', w.identity_secret_set ? 'badge-ok' : 'badge-neutral'], 'data-testid': 'identity-secret-state',
    }, w.identity_secret_set ? 'Secret set' : 'No secret'));
    make.textContent = w.identity_secret_set ? 'Rotate secret' : 'Make secret';
    remove.hidden = !w.identity_secret_set;
  }

  make.addEventListener('click', async () => {
    const rotating = !!state.widget.identity_secret_set;
    if (rotating) {
      const ok = await confirmDialog({
        title: 'Rotate the identity secret?',
        message: 'The current secret stops verifying at once: your site must sign user ids with the new one.',
        confirmLabel: 'Rotate secret',
        danger: true,
      });
      if (!ok || ctx.signal.aborted) return;
    }
    actionError.hidden = true;
    make.disabled = true;
    let secret;
    try {
      secret = (await api(endpoints.identitySecret(state.widget.widget_id), { method: 'POST' })).identity_secret;
    } catch (e) {
      actionError.textContent = `Could not make the secret: ${e.message}`;
      actionError.hidden = false;
      make.disabled = false;
      return;
    }
    // Made (the old one, if any, no longer verifies): shown at once, whatever
    // the reload of the widget below does, as it is never given again; the
    // badge says so at once too.
    state.widget = { ...state.widget, identity_secret_set: true };
    refresh(state.widget);
    clear(once).append(onceBox(rotating ? 'New identity secret' : 'Identity secret', secret,
      'Copy it now into your site\'s server settings: it is not shown again.', 'identity-secret-once'));
    status.textContent = rotating ? 'Secret rotated.' : 'Secret made.';
    try {
      state.widget = await api(endpoints.widget(state.widget.widget_id), { signal: ctx.signal });
    } catch (e) {
      if (isAbort(e)) return;
      // the secret is set all the same: state.widget says so already
    } finally {
      make.disabled = false;
    }
    done();
  });

  remove.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Remove the identity secret?',
      message: 'No visitor can be verified any more, and "Only signed-in visitors may chat" is turned off.',
      confirmLabel: 'Remove secret',
      danger: true,
    });
    if (!ok || ctx.signal.aborted) return;
    actionError.hidden = true;
    remove.disabled = true;
    try {
      state.widget = await api(endpoints.identitySecret(state.widget.widget_id), { method: 'DELETE' });
    } catch (e) {
      actionError.textContent = `Could not remove the secret: ${e.message}`;
      actionError.hidden = false;
      return;
    } finally {
      remove.disabled = false;
    }
    clear(once);
    f.controls.identity_required.checked = false;
    status.textContent = 'Secret removed.';
    done();
  });

  return { section, refresh };
}
