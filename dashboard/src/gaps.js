// Knowledge gaps (#/knowledge/gaps; admins and owners): the visitors'
// questions the assistant could not answer (GET /v1/admin/knowledge-gaps),
// grouped by the server by similar wording, the most asked first. A card a
// group: its newest question, how often it was asked, why each time counted
// as a gap (handed to a person, thumbs down, "I don't know", nothing
// found), when it was last asked, and its example questions, each linking
// to its conversation. "Write the answer" opens a form under the card: the
// answer becomes a Q&A pair in the knowledge base or a canned reply, then
// the group's gaps are resolved (POST /v1/admin/knowledge-gaps/resolve) and
// the card leaves; "Dismiss" resolves them without an answer, after a
// confirmation. The days shown (7, 30 or 90) and the widget and agent
// filters stay in the hash's query.

import { forget as forgetCanned } from './canned.js';
import { api, endpoints, isAbort, loadWidgets, widgetNames } from './api.js';
import { loadAgents, agentLabel } from './agents.js';
import {
  h, clear, backLink, confirmDialog, pageTitle, plural, preview, refreshRelTimes, relTimeEl, viewError, isolated,
} from './dom.js';
import { formErrors, parseFieldError, markSaved } from './form.js';

const DAY_CHOICES = [7, 30, 90];
const DAYS_DEFAULT = 30;
const RESOLVE_MAX = 500; // ids in one resolve request (the server's bound)
const QUESTION_MAX = 300; // characters of a Q&A pair's question (proto/kbmsg.h)
const ANSWER_MAX_BYTES = 8192; // bytes of a Q&A pair's answer
const CANNED_TEXT_MAX = 2000; // characters of a canned reply (proto/inboxmsg.h)
const SHORTCUT_RE = /^[a-z0-9_-]{1,32}$/;
const TICK_MS = 30000; // "3 min. ago" told again

/* The reasons, in the order the badges show them: [key, words, badge class]. */
const REASONS = [
  ['handoff', (n) => `${n.toLocaleString()} handed to a person`, 'badge-info'],
  ['thumbs_down', (n) => `${n.toLocaleString()} thumbs down`, 'badge-danger'],
  ['dont_know', (n) => `${n.toLocaleString()} \u201cI don't know\u201d`, 'badge-warn'],
  ['not_found', (n) => `${n.toLocaleString()} nothing found`, ''],
];
const REASON_WORDS = {
  handoff: 'handed to a person',
  thumbs_down: 'thumbs down',
  dont_know: '\u201cI don\'t know\u201d',
  not_found: 'nothing found',
};

const chars = (s) => Array.from(String(s)).length;
const bytes = (s) => new TextEncoder().encode(String(s)).length;

/* Words a shortcut does without ("how do I return a jacket" -> return-jacket). */
const FILLER = new Set(('a an the and or but i me my we our you your it its is are was be am do does did can could '
  + 'would should will shall may might how what when where which who why to of for in on at by with from about into '
  + 'there this that these those please hi hello hey not no yes if so get').split(' '));

/**
 * A canned reply's shortcut from a question: its first words that say
 * something (up to 3), lowercase, without accents, joined by "-" (a-z,
 * 0-9, at most 32 characters); its first words when all are fillers;
 * "answer" when none is left (a question in another script).
 */
export function slug(question) {
  const all = String(question || '').normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase()
    .split(/[^a-z0-9]+/).filter(Boolean);
  const words = all.filter((w) => !FILLER.has(w));
  let s = '';
  for (const w of (words.length ? words : all).slice(0, 3)) {
    const next = s ? `${s}-${w}` : w;
    if (next.length > 32) break;
    s = next;
  }
  return s || (all[0] ? all[0].slice(0, 32) : 'answer');
}

/* The reason badges of a group: only the reasons it has, with their counts. */
function reasonBadges(reasons) {
  const r = reasons || {};
  return h('ul', { class: 'gap-reasons', 'aria-label': 'Why these counted as unanswered' },
    REASONS.filter(([k]) => r[k] > 0).map(([k, words, cls]) =>
      h('li', null, h('span', { class: ['badge', cls], 'data-testid': 'gap-reason', 'data-reason': k }, words(r[k])))));
}

/* The disclosure of a group's example questions, each linking to its conversation. */
function examplesBox(g) {
  const ex = Array.isArray(g.examples) ? g.examples : [];
  const more = Math.max(0, (g.count || 0) - ex.length);
  return h('details', { class: 'gap-examples', 'data-testid': 'gap-examples' },
    h('summary', null, ex.length === 1 ? 'The question as asked' : `Example questions (${ex.length})`),
    h('ul', { class: 'gap-example-list' }, ex.map((e) => h('li', { 'data-testid': 'gap-example', 'data-id': e.id },
      h('a', { href: `#/conversations/${encodeURIComponent(e.conversation_id)}`, 'data-testid': 'gap-example-link', dir: 'auto' }, preview(e.question, 200)),
      h('span', { class: 'gap-example-meta' }, relTimeEl(e.at),
        Array.isArray(e.reasons) && e.reasons.length ? ` · ${e.reasons.map((k) => REASON_WORDS[k] || k).join(', ')}` : '')))),
    more ? h('p', { class: 'hint' }, `and ${plural(more, 'other question', 'other questions')} like these.`) : null);
}

let formSeq = 0;

/*
 * The "write the answer" form of group g: the question, the answer, where
 * it goes (a Q&A pair, or a canned reply with its shortcut), Save and
 * Cancel. onDone(message) once saved and resolved; onCancel().
 */
function answerForm(g, { resolve, onDone, onCancel }) {
  const n = ++formSeq;
  const controls = {};
  const { formError, field, clearErrors, showErrors } = formErrors(controls);
  const kindName = `gap-kind-${n}`;
  const qa = h('input', { type: 'radio', name: kindName, id: `${kindName}-qa`, value: 'qa', checked: true, 'data-testid': 'gap-kind-qa' });
  const canned = h('input', { type: 'radio', name: kindName, id: `${kindName}-canned`, value: 'canned', 'data-testid': 'gap-kind-canned' });
  const question = h('input', { type: 'text', value: String(g.question || ''), 'data-testid': 'gap-form-question' });
  const answer = h('textarea', { rows: '5', 'data-testid': 'gap-form-answer' });
  const shortcut = h('input', { type: 'text', value: slug(g.question), maxlength: '32', autocomplete: 'off', spellcheck: 'false',
    'data-testid': 'gap-form-shortcut' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'gap-save' }, 'Save');
  const cancel = h('button', { type: 'button', class: 'btn', 'data-testid': 'gap-cancel', onClick: () => onCancel() }, 'Cancel');
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'gap-form-status' });
  const title = `gap-form-title-${n}`;
  const questionField = field('question', 'Question', question, 'As the knowledge base will hold it: edit it into the question visitors ask.');
  const shortcutField = field('shortcut', 'Shortcut', shortcut, 'Typed after "/" in a reply box: a-z, 0-9, _ and -, at most 32.');
  const form = h('form', { class: 'gap-form', novalidate: true, 'aria-labelledby': title, 'data-testid': 'gap-form', 'data-guard': true },
    h('h3', { id: title }, 'Write the answer'), formError,
    h('fieldset', { class: 'gap-kind' }, h('legend', null, 'Save it'),
      h('div', { class: 'field-check' }, qa, h('label', { for: qa.id }, 'Add to the knowledge base as a Q&A pair')),
      h('p', { class: 'hint gap-kind-hint' }, 'The agents given it as a source (on the Agents page) answer from it.'),
      h('div', { class: 'field-check' }, canned, h('label', { for: canned.id }, 'Save as a canned reply')),
      h('p', { class: 'hint gap-kind-hint' }, 'For the team to send when a visitor asks it of a person.')),
    questionField,
    field('answer', 'Answer', answer),
    shortcutField,
    h('div', { class: 'form-actions' }, save, cancel, status));

  const kind = () => (canned.checked ? 'canned' : 'qa');
  function show() {
    questionField.hidden = kind() !== 'qa';
    shortcutField.hidden = kind() !== 'canned';
  }
  qa.addEventListener('change', show);
  canned.addEventListener('change', show);
  show();

  let created = null; // what was saved, when resolving the gaps failed after it

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const k = kind();
    const q = question.value.trim();
    const a = answer.value.trim();
    const s = shortcut.value.trim().replace(/^\//, '');
    const errors = {};
    if (!created) {
      if (k === 'qa') {
        if (!q) errors.question = 'Enter the question.';
        else if (chars(q) > QUESTION_MAX) errors.question = `At most ${QUESTION_MAX} characters (this one has ${chars(q)}).`;
      }
      if (!a) errors.answer = 'Enter the answer.';
      else if (k === 'qa' && bytes(a) > ANSWER_MAX_BYTES) errors.answer = 'Too long for a Q&A pair: at most 8 KiB of text.';
      else if (k === 'canned' && chars(a) > CANNED_TEXT_MAX) errors.answer = `At most ${CANNED_TEXT_MAX} characters for a canned reply.`;
      if (k === 'canned') {
        if (!s) errors.shortcut = 'Enter a shortcut.';
        else if (!SHORTCUT_RE.test(s)) errors.shortcut = 'Only a-z, 0-9, _ and -, at most 32 characters.';
      }
    }
    if (Object.keys(errors).length) return showErrors(errors);
    clearErrors();
    save.disabled = true;
    status.textContent = 'Saving…';
    try {
      if (!created) {
        try {
          if (k === 'qa') {
            await api(endpoints.knowledgeSources, { method: 'POST', body: { type: 'qa', question: q, answer: a } });
            created = `Added \u201c${isolated(preview(q, 80))}\u201d to the knowledge base: the agents given it as a source answer from it.`;
          } else {
            await api(endpoints.cannedReplies, { method: 'POST', body: { shortcut: s, text: a } });
            forgetCanned();
            created = `Saved the canned reply /${s}.`;
          }
        } catch (e) {
          status.textContent = '';
          if (isAbort(e)) return;
          if (k === 'canned' && e.status === 409) return showErrors({ shortcut: `/${s} is taken: choose another shortcut.` });
          const fe = e.status === 400 ? parseFieldError(e.message, { text: 'answer' }) : null;
          if (fe && controls[fe.field] && !(k === 'canned' ? questionField : shortcutField).contains(controls[fe.field])) {
            return showErrors({ [fe.field]: fe.message });
          }
          return showErrors({}, `Could not save the answer: ${e.message}`);
        }
        // Saved: what it was cannot change any more.
        for (const el of [qa, canned, question, answer, shortcut]) el.disabled = true;
      }
      try {
        await resolve();
      } catch (e) {
        status.textContent = '';
        if (isAbort(e)) return;
        save.textContent = 'Try again';
        return showErrors({}, `${created} But the questions could not be taken off this list: ${e.message}`);
      }
      markSaved(form);
      onDone(created);
    } finally {
      save.disabled = false;
    }
  });
  return form;
}

export async function renderGaps(main, ctx) {
  ctx.setTitle('Knowledge gaps');
  const p = ctx.params;
  const asked = Number(p.get('days'));
  const daysNow = Number.isInteger(asked) && asked >= 1 && asked <= 366 ? asked : DAYS_DEFAULT;
  const dayChoices = DAY_CHOICES.includes(daysNow) ? DAY_CHOICES : [...DAY_CHOICES, daysNow].sort((a, b) => a - b);
  const days = h('select', { id: 'gaps-days', name: 'days', 'data-testid': 'gaps-days' },
    dayChoices.map((d) => h('option', { value: String(d), selected: d === daysNow }, `The last ${d} days`)));
  const widget = h('select', { id: 'gaps-widget', name: 'widget_id', 'data-testid': 'gaps-widget' }, h('option', { value: '' }, 'All widgets'));
  const agent = h('select', { id: 'gaps-agent', name: 'agent_id', 'data-testid': 'gaps-agent' }, h('option', { value: '' }, 'All agents'));
  const filter = (id, label, el) => h('div', { class: 'field-inline' }, h('label', { for: id }, label), el);
  const filters = h('form', { class: 'report-filters gap-filters', 'aria-label': 'Which questions', 'data-testid': 'gaps-filters' },
    filter('gaps-days', 'Asked in', days), filter('gaps-widget', 'Widget', widget), filter('gaps-agent', 'Agent', agent));
  const summary = h('p', { class: 'list-status', 'data-testid': 'gaps-summary' }, 'Loading…');
  const status = h('p', { class: 'save-status gap-status', role: 'status', 'data-testid': 'gaps-status' });
  const error = viewError(null, { hidden: true });
  const truncated = h('p', { class: 'alert gap-truncated', 'data-testid': 'gaps-truncated', hidden: true });
  const empty = h('p', { class: 'empty', 'data-testid': 'gaps-empty', hidden: true });
  const list = h('ul', { class: 'gap-list', 'data-testid': 'gap-list', 'aria-label': 'Unanswered questions, the most asked first' });
  main.append(backLink('#/knowledge', 'Knowledge', 'gaps-back'),
    h('div', { class: 'page-head' }, pageTitle('Knowledge gaps')),
    h('p', { class: 'hint' }, 'Questions visitors asked that the assistant could not answer, grouped by similar wording, '
      + 'the most asked first. Write the answer once: as a Q&A pair in the knowledge base, for the agents given it as a source, '
      + 'or as a canned reply for the team.'),
    h('details', { class: 'gap-legend' }, h('summary', null, 'When a question counts as unanswered'),
      h('dl', { class: 'meta meta-compact' },
        h('dt', null, 'Handed to a person'), h('dd', null, 'The visitor asked for a person, or the assistant handed over.'),
        h('dt', null, 'Thumbs down'), h('dd', null, 'The visitor gave the answer a thumbs down.'),
        h('dt', null, '\u201cI don\'t know\u201d'), h('dd', null, 'The assistant\'s answer said it did not know.'),
        h('dt', null, 'Nothing found'), h('dd', null, 'The knowledge search found nothing relevant.'))),
    filters, summary, error, status, truncated, empty, list);

  const tick = window.setInterval(() => refreshRelTimes(list), TICK_MS);
  ctx.onLeave(() => window.clearInterval(tick));

  let shown = 0; // questions on the cards
  let groups = 0;
  let seq = 0;
  let openForm = null; // {card, form, button}: one form at a time

  function tell() {
    const d = Number(days.value);
    summary.textContent = groups
      ? `${plural(shown, 'question', 'questions')} in ${plural(groups, 'group', 'groups')}, asked in the last ${plural(d, 'day', 'days')}.`
      : '';
    summary.hidden = !groups;
    empty.textContent = `No gaps in the last ${plural(d, 'day', 'days')}: every question found an answer.`;
    empty.hidden = groups > 0;
  }

  function closeForm() {
    if (!openForm) return;
    const { form, button } = openForm;
    openForm = null;
    form.remove();
    button.setAttribute('aria-expanded', 'false');
  }

  /* Takes the group's gaps off the server's list, RESOLVE_MAX at a time. */
  async function resolveGroup(g) {
    const ids = Array.isArray(g.gap_ids) && g.gap_ids.length ? g.gap_ids : [g.id];
    for (let i = 0; i < ids.length; i += RESOLVE_MAX) {
      await api(endpoints.knowledgeGapsResolve, { method: 'POST', body: { ids: ids.slice(i, i + RESOLVE_MAX) }, signal: ctx.signal });
    }
  }

  /* A card leaves: the counts follow, the focus goes to the next card (else the title). */
  function removeCard(card, g, message) {
    if (openForm && openForm.card === card) closeForm();
    const next = card.nextElementSibling || card.previousElementSibling;
    card.remove();
    groups--;
    shown -= g.count || 0;
    tell();
    status.textContent = message;
    const target = next ? next.querySelector('.gap-question') : main.querySelector('h1');
    if (target) target.focus();
  }

  function card(g, i) {
    const qid = `gap-q-${i}`;
    const actions = h('div', { class: 'gap-actions' });
    const li = h('li', { class: 'gap-card', 'data-testid': 'gap-card', 'data-id': g.id, 'aria-labelledby': qid },
      h('h2', { class: 'gap-question', id: qid, tabindex: '-1', 'data-testid': 'gap-question' }, preview(g.question, 300)),
      h('p', { class: 'gap-meta' },
        h('strong', { 'data-testid': 'gap-count' }, `asked ${plural(g.count || 0, 'time', 'times')}`),
        h('span', { class: 'gap-last' }, 'last asked ', relTimeEl(g.last_at, { 'data-testid': 'gap-last' }))),
      reasonBadges(g.reasons),
      examplesBox(g),
      actions);
    const write = h('button', { type: 'button', class: 'btn btn-primary', 'aria-expanded': 'false', 'aria-describedby': qid,
      'data-testid': 'gap-write' }, 'Write the answer');
    const dismiss = h('button', { type: 'button', class: 'btn', 'aria-describedby': qid, 'data-testid': 'gap-dismiss' }, 'Dismiss');
    actions.append(write, dismiss);

    write.addEventListener('click', () => {
      const mine = openForm && openForm.card === li;
      closeForm();
      if (mine) return;
      const form = answerForm(g, {
        resolve: () => resolveGroup(g),
        onDone: (message) => removeCard(li, g, message),
        onCancel: () => { closeForm(); write.focus(); },
      });
      openForm = { card: li, form, button: write };
      li.append(form);
      write.setAttribute('aria-expanded', 'true');
      form.querySelector('textarea').focus();
    });

    dismiss.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: 'Dismiss this question?',
        message: `\u201c${isolated(preview(g.question, 120))}\u201d and the ${plural(g.count || 0, 'question', 'questions')} of its group leave this list without an answer. Asked again, it comes back.`,
        confirmLabel: 'Dismiss',
      });
      if (!ok) return;
      dismiss.disabled = true;
      try {
        await resolveGroup(g);
      } catch (e) {
        if (isAbort(e)) return;
        dismiss.disabled = false;
        error.textContent = `Could not dismiss \u201c${isolated(preview(g.question, 80))}\u201d: ${e.message}`;
        error.hidden = false;
        return;
      }
      removeCard(li, g, `Dismissed \u201c${isolated(preview(g.question, 80))}\u201d.`);
    });
    return li;
  }

  async function load() {
    const mySeq = ++seq;
    const q = { days: days.value, widget_id: widget.value, agent_id: agent.value };
    const keep = Object.entries(q).filter(([k, v]) => v && !(k === 'days' && Number(v) === DAYS_DEFAULT));
    history.replaceState(null, '', `#/knowledge/gaps${keep.length ? `?${new URLSearchParams(keep)}` : ''}`);
    closeForm();
    error.hidden = true;
    summary.hidden = false;
    summary.textContent = 'Loading…';
    let d;
    try {
      d = await api(endpoints.knowledgeGaps(q), { signal: ctx.signal });
    } catch (e) {
      if (isAbort(e) || mySeq !== seq) return;
      summary.textContent = '';
      error.textContent = `Could not read the knowledge gaps: ${e.message}`;
      error.hidden = false;
      return;
    }
    if (mySeq !== seq) return;
    const gs = Array.isArray(d && d.groups) ? d.groups : [];
    clear(list);
    gs.forEach((g, i) => list.append(card(g, i)));
    groups = gs.length;
    shown = gs.reduce((n, g) => n + (g.count || 0), 0);
    const total = Number.isInteger(d.total) ? d.total : shown;
    truncated.textContent = d.truncated
      ? `Only the newest ${plural(total, 'question', 'questions')} of the last ${plural(Number(days.value), 'day', 'days')} are grouped here: `
        + 'older ones show once these are answered or dismissed, or in a shorter range.'
      : '';
    truncated.hidden = !d.truncated;
    tell();
  }

  for (const el of [days, widget, agent]) el.addEventListener('change', () => { status.textContent = ''; load(); });
  filters.addEventListener('submit', (ev) => { ev.preventDefault(); load(); });

  // The widgets and agents for the filters, while the list loads.
  const names = (async () => {
    const [ws, as] = await Promise.all([loadWidgets(ctx), loadAgents(ctx.signal)]);
    const wn = widgetNames(ws);
    for (const w of ws) widget.append(h('option', { value: w.id }, wn.get(w.id)));
    // The default agent by the name the server takes for it.
    for (const a of as) agent.append(h('option', { value: a.is_default ? 'default' : a.id }, agentLabel(a)));
    widget.value = p.get('widget_id') || '';
    agent.value = p.get('agent_id') || '';
  })();
  // A filter from the hash needs its option before the list is asked for.
  if (p.get('widget_id') || p.get('agent_id')) await names;
  await Promise.all([load(), names]);
}
