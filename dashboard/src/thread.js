// One conversation in the inbox's right pane (#/conversations/<id>): the
// visitor's name, the messages as chat bubbles (the visitor's on the left,
// the assistant's and a person's on the right) in a pane that scrolls, the
// visitor's details and the conversation's (assignee, export, the technical
// details folded, delete last) in a side panel (under the messages on
// narrower screens, so the conversation comes first), and at the bottom,
// always in view, the handoff state (one notice) with its controls and the
// reply box with its canned replies ("/", their files with them). New
// messages and the handoff state come live (live.js).

import {
  api, endpoints, isAbort, loadWidgets, widgetNames, ApiError, roleAtLeast, sessionRole, loadList, loadDraft, saveDraft,
} from './api.js';
import { liveMode } from './live.js';
import { liveReads } from './liveread.js';
import {
  h, clear, timeEl, updateTimeEl, relTimeEl, refreshRelTimes, plural, preview, confirmDialog, downloadLink, showLoadError,
  isolated,
} from './dom.js';
import { visitorDetails } from './visitor.js';
import { cannedPicker } from './canned.js';
import { assigneeEl, visitorLabel } from './conversations.js';
import { stateControl } from './convstate.js';
import { attachmentsEl, attachmentKey, replyFiles, takeFiles, MAX_FILES, MAX_BYTES, humanSize } from './attach.js';
// The widget's own Markdown subset (DOM calls only): a reply reads here as
// the visitor saw it.
import { markdown } from '../../widget/src/markdown.js';

const TYPING_EVERY_MS = 3000; // typing true again at most this often while typing
const TYPING_IDLE_MS = 4000; // typing false after this long without a keystroke
const TICK_MS = 30000; // relative times and the visitor's clock told again

const STATUS_LABEL = { complete: 'Complete', interrupted: 'Interrupted', failed: 'Failed' };
const STATUS_CLASS = { complete: 'badge-ok', interrupted: 'badge-warn', failed: 'badge-danger' };
const ROLE_LABEL = { user: 'Visitor', assistant: 'Assistant', system: 'System', agent: 'Person' };

function statusBadge(status) {
  const s = String(status || 'complete');
  return h('span', { class: ['badge', STATUS_CLASS[s] || 'badge-neutral'], 'data-testid': 'msg-status' },
    STATUS_LABEL[s] || s);
}

function tokensText(p, c) {
  return `${p.toLocaleString()} prompt, ${c.toLocaleString()} completion`;
}
const promptOf = (m) => Number(m.promptTokens) || 0;
const completionOf = (m) => Number(m.completionTokens) || 0;

// The visitor's thumb on an answer (issue 26): a mark in its head, or null.
function feedbackMark(m) {
  if (m.feedback !== 'up' && m.feedback !== 'down') return null;
  const up = m.feedback === 'up';
  return h('span', {
    class: ['badge', up ? 'badge-ok' : 'badge-danger', 'msg-feedback'], 'data-testid': 'msg-feedback',
    'data-value': m.feedback, title: up ? 'The visitor found this answer helpful' : 'The visitor found this answer unhelpful',
  }, h('span', { 'aria-hidden': 'true' }, up ? '👍 ' : '👎 '), up ? 'Helpful' : 'Not helpful');
}

// The conversation's rating (issue 26): "4 / 5" and its comment, or None.
function ratingEl(r) {
  if (!r || !r.score) return h('span', { class: 'muted' }, 'None');
  const score = Math.min(5, Math.max(1, Number(r.score) || 1));
  return h('span', { 'data-score': String(score) },
    h('span', { 'aria-hidden': 'true', class: 'rating-stars' }, `${'★'.repeat(score)}${'☆'.repeat(5 - score)} `),
    h('span', { 'data-testid': 'conv-rating-score' }, `${score} / 5`),
    r.comment ? h('q', { class: 'rating-comment', 'data-testid': 'conv-rating-comment' }, String(r.comment)) : null);
}

// What an answer's knowledge search gave: the sources it cites (by name,
// from names: id -> name; a deleted one, or one a non-admin cannot read,
// by its id), or that nothing was found (a question for the Knowledge
// page); null when none was made.
function knowledgeEl(m, names) {
  const ids = Array.isArray(m.sources) ? m.sources.map(String) : [];
  if (ids.length > 0) {
    return h('p', { class: 'msg-sources', 'data-testid': 'msg-sources' }, 'Sources: ',
      ...ids.flatMap((id, i) => [i ? ', ' : null, names.has(id)
        ? h('a', { href: '#/knowledge', 'data-testid': 'msg-source', 'data-source-id': id }, names.get(id))
        : h('span', { 'data-testid': 'msg-source', 'data-source-id': id }, id)]));
  }
  if (m.knowledge === 'not_found') {
    return h('p', { class: 'msg-sources msg-gap', 'data-testid': 'msg-gap' }, 'Nothing found in the knowledge base');
  }
  return null;
}

// The passages an answer cites, as the visitor saw them under it: "[n]"
// and the title, a link (a new tab) when its page is an http(s) URL; text
// only, never markup. null when it cites none (or is older than them).
function citationsEl(m) {
  const cs = Array.isArray(m.citations) ? m.citations.filter((c) => c && typeof c === 'object') : [];
  if (!cs.length) return null;
  const web = (u) => typeof u === 'string' && /^https?:\/\//i.test(u);
  return h('ol', { class: 'msg-citations', 'data-testid': 'msg-citations' },
    ...cs.slice(0, 5).map((c) => {
      const title = String(c.title || c.url || '');
      return h('li', { 'data-testid': 'msg-citation' }, `[${Number(c.n) | 0}] `,
        web(c.url) ? h('a', { href: c.url, target: '_blank', rel: 'noopener noreferrer' }, title) : title);
    }));
}

// What a message's citations are, to compare ('' none: the live events'
// messages never carry them, their ring keeps them short).
function citeKey(m) {
  return Array.isArray(m.citations) && m.citations.length ? JSON.stringify(m.citations) : '';
}

function msgClasses(m) {
  const role = /^[a-z]+$/.test(m.role || '') ? m.role : 'other';
  const status = /^[a-z]+$/.test(m.status || '') ? m.status : 'unknown';
  return ['msg', `msg-${role}`, `msg-status-${status}`];
}

// What a step's label says: whose tool (a page's tool is named and
// answered by the visitor's page: never shown as an action that ran)
// and whether it failed.
function stepLabel(m) {
  const page = m.origin === 'page';
  if (m.status === 'failed') return page ? 'Page tool failed: ' : 'Action failed: ';
  return page ? 'Page tool: ' : 'Action: ';
}

// A tool the model called (role tool): a step of the thread, not a
// bubble: whose and which, with what, how it went and how long it took;
// its answer (as the model read it) folded under it.
function toolItem(m) {
  const ms = Number.isFinite(m.duration_ms) ? `${m.duration_ms} ms` : '';
  return h('li', {
    class: msgClasses(m),
    'data-testid': 'thread-message',
    'data-id': String(m._id || ''),
    'data-role': 'tool',
    'data-status': String(m.status || ''),
    'data-origin': m.origin === 'page' ? 'page' : 'action',
  }, h('details', { class: 'msg-step', 'data-testid': 'msg-step' },
    h('summary', null,
      h('span', { class: 'msg-role', 'data-testid': 'msg-step-kind' }, stepLabel(m)),
      h('code', { 'data-testid': 'msg-step-name', dir: 'auto' }, String(m.name || '')),
      h('code', { class: 'msg-step-args', 'data-testid': 'msg-step-args', dir: 'auto' }, String(m.arguments || '')),
      ms ? h('span', { class: 'msg-time' }, ` ${ms}`) : null,
      relTimeEl(m.createdAt, { class: 'msg-time' })),
    h('pre', { class: 'msg-content', 'data-testid': 'msg-content' }, String(m.content ?? ''))));
}

// A message's text as the widget shows it: the visitor's (and a system
// note) as written, the assistant's and a person's replies as Markdown.
function fillContent(el, m) {
  const text = String(m.content ?? '');
  const md = m.role === 'assistant' || m.role === 'agent';
  el.classList.toggle('msg-md', md);
  el.replaceChildren(md ? markdown(text) : text);
  return el;
}

// One message as a bubble: who (the visitor's name, the assistant, a
// person's name), when, the text and its files (attach.js); a status other
// than complete and the knowledge an answer used under it (its token usage
// is a technical detail: techDetails).
function messageItem(m, visitorName, names) {
  const role = String(m.role || '');
  if (role === 'tool') return toolItem(m);
  // a person's message: their name, and that it is not the assistant's
  const agent = role === 'agent';
  const who = agent && m.name ? String(m.name) : role === 'user' && visitorName ? visitorName : ROLE_LABEL[role] || role || 'Unknown';
  const head = h('div', { class: 'msg-head' },
    h('span', { class: 'msg-role', 'data-testid': 'msg-role' }, who),
    agent ? h('span', { class: 'badge badge-ok', 'data-testid': 'msg-agent' }, 'Person') : null,
    relTimeEl(m.createdAt, { class: 'msg-time' }),
    agent || m.status === 'complete' ? null : statusBadge(m.status),
    role === 'assistant' ? feedbackMark(m) : null);
  const atts = attachmentsEl(m.attachments);
  // a message of files alone has no text to show
  const content = fillContent(h('div', { class: 'msg-content', 'data-testid': 'msg-content', hidden: !!atts && !m.content }), m);
  const li = h('li', {
    class: msgClasses(m),
    'data-testid': 'thread-message',
    'data-id': String(m._id || ''),
    'data-role': role,
    'data-status': String(m.status || ''),
  }, h('div', { class: 'msg-bubble' }, head, content, atts));
  if (role === 'assistant') {
    const kb = knowledgeEl(m, names);
    if (kb) li.append(kb);
    const cited = citationsEl(m);
    if (cited) li.append(cited);
  }
  return li;
}

/** Updates a message already shown (its status, text or feedback changed). */
function updateItem(li, old, m) {
  if (old.status !== m.status) {
    li.dataset.status = String(m.status || '');
    li.className = msgClasses(m).join(' ');
    const badge = li.querySelector('[data-testid="msg-status"]');
    if (badge) badge.remove();
    if (m.status !== 'complete' && m.role !== 'agent') li.querySelector('.msg-head').append(statusBadge(m.status));
  }
  if (old.content !== m.content) {
    fillContent(li.querySelector('[data-testid="msg-content"]'), m);
  }
  if (attachmentKey(old.attachments) !== attachmentKey(m.attachments)) {
    const was = li.querySelector('[data-testid="msg-attachments"]');
    if (was) was.remove();
    const now = attachmentsEl(m.attachments);
    if (now) li.querySelector('.msg-bubble').append(now);
  }
  if (old.content !== m.content || attachmentKey(old.attachments) !== attachmentKey(m.attachments)) {
    li.querySelector('[data-testid="msg-content"]').hidden = !m.content && !!attachmentKey(m.attachments);
  }
  if (m.role === 'assistant' && citeKey(m) && citeKey(old) !== citeKey(m)) {
    const was = li.querySelector('[data-testid="msg-citations"]');
    if (was) was.remove();
    li.append(citationsEl(m));
  }
  if (old.feedback !== m.feedback && m.role === 'assistant') {
    const mark = li.querySelector('[data-testid="msg-feedback"]');
    if (mark) mark.remove();
    const now = feedbackMark(m);
    if (now) li.querySelector('.msg-head').append(now);
  }
}

function metaRow(label, value, testid) {
  return [h('dt', null, label), h('dd', testid ? { 'data-testid': testid } : null, value)];
}

/*
 * What a support person rarely needs, folded (closed) under "Technical
 * details": the session's digest, the conversation's id, the model's
 * tokens in all and per answer (each answer by its first words). show(m)
 * adds or updates an answer's line. Returns {el, show(m)}.
 */
function techDetails(conv, id) {
  const total = h('span');
  const perAnswer = h('ol', { class: 'tech-tokens', 'data-testid': 'tech-tokens', 'aria-labelledby': 'tech-tokens-label' });
  const label = h('p', { class: 'tech-label', id: 'tech-tokens-label', hidden: true }, 'Tokens per answer');
  const el = h('details', { class: 'tech-details', 'data-testid': 'tech-details' },
    h('summary', null, 'Technical details'),
    h('dl', { class: 'meta meta-compact' },
      metaRow('Session', h('code', { 'data-testid': 'thread-session' }, conv.sessionId || ''), 'conv-session'),
      metaRow('Conversation ID', h('code', null, id), 'conv-id'),
      metaRow('Tokens', total, 'conv-tokens')),
    label, perAnswer);
  const answers = new Map(); // _id -> {li, m}
  function sum() {
    let p = 0;
    let c = 0;
    for (const { m } of answers.values()) {
      p += promptOf(m);
      c += completionOf(m);
    }
    total.textContent = answers.size ? `${tokensText(p, c)} (${plural(answers.size, 'answer', 'answers')})` : 'None';
  }
  function line(m) {
    return [h('q', { class: 'tech-answer', dir: 'auto' }, preview(m.content, 48) || '(empty)'), ': ',
      h('span', { 'data-testid': 'msg-tokens' }, tokensText(promptOf(m), completionOf(m)))];
  }
  function show(m) {
    if (m.role !== 'assistant') return;
    const mid = String(m._id || '');
    const k = answers.get(mid);
    if (k) {
      if (k.m.content === m.content && promptOf(k.m) === promptOf(m) && completionOf(k.m) === completionOf(m)) return;
      clear(k.li).append(...line(m));
      k.m = m;
    } else {
      const li = h('li', { 'data-id': mid }, ...line(m));
      perAnswer.append(li);
      answers.set(mid, { li, m });
      label.hidden = false;
    }
    sum();
  }
  sum();
  return { el, show };
}

// A contact's conversations a page (the API's most), and the pages the
// view reads at most looking for the open one among them.
const CONTACT_CONV_PAGE = 200;
const CONTACT_CONV_PAGES = 50;

/*
 * Contact id and how conversation convId is linked to it: the contact
 * (GET /v1/admin/contacts/:id, its first page of conversations) and
 * convId's entry among its conversations, read page by page with the
 * cursor (conversationsNextCursor) until found or the list ends, at most
 * CONTACT_CONV_PAGES pages. {contact, link}; link undefined when not
 * found (or a later page failed).
 */
async function contactAndLink(id, convId, signal) {
  const contact = await api(endpoints.contact(id, { limit: CONTACT_CONV_PAGE }), { signal });
  const find = (page) => (page && Array.isArray(page.conversations) ? page.conversations : [])
    .find((c) => c && c._id === convId);
  let link = find(contact);
  let cursor = contact && contact.conversationsNextCursor;
  for (let i = 1; !link && cursor && i < CONTACT_CONV_PAGES; i++) {
    let page;
    try {
      page = await api(endpoints.contact(id, { limit: CONTACT_CONV_PAGE, cursor }), { signal });
    } catch (e) {
      if (isAbort(e)) throw e;
      break;
    }
    link = find(page);
    cursor = page && page.conversationsNextCursor;
  }
  return { contact, link };
}

// The contact of conversation convId (link: convId's entry among its
// conversations, contactAndLink); Unverified when its visitor named a
// contact they did not make (the contact's page shows what they submitted).
function contactSummary(contact, id, link) {
  const href = `#/contacts/${encodeURIComponent(id)}`;
  if (!contact) return h('a', { href, 'data-testid': 'conv-contact-link' }, 'View contact');
  const parts = [contact.name, contact.email, contact.phone].filter(Boolean);
  return h('span', null,
    // each of the visitor's words isolated (dir): a direction override in
    // the name turned the email and phone after it around
    h('a', { href, 'data-testid': 'conv-contact-link', dir: 'auto' }, contact.name || contact.email || contact.phone || 'Contact'),
    parts.length > 1
      ? h('span', { class: 'contact-extra' }, parts.slice(1).map((p) => [' · ', h('span', { dir: 'auto' }, p)]))
      : null,
    link && link.contactVerified === false
      ? [' ', h('span', { class: 'badge badge-warn', 'data-testid': 'conv-contact-unverified',
        title: 'This visitor gave the contact\'s email or phone; the contact was not changed.' }, 'Unverified')]
      : null,
    // a verified identity's contact, linked verified (issue 26)
    contact.verified && !(link && link.contactVerified === false)
      ? [' ', h('span', { class: 'badge badge-ok', 'data-testid': 'conv-contact-verified',
        title: contact.email_verified
          ? 'Signed in on your site: its user id and email were verified; the name was given by the page.'
          : 'Signed in on your site: its user id was verified; the name and email were given by the page.' },
        'Verified user id')]
      : null);
}

/*
 * The people a conversation can be assigned to: for owners the enabled
 * members (GET /v1/admin/users, owners only); for the others "Me". Each
 * {id, label}; "Nobody" is added by the select.
 */
async function assignChoices(ctx) {
  const me = ctx.session && ctx.session.user ? ctx.session.user : {};
  if (roleAtLeast(sessionRole(ctx), 'owner')) {
    const users = await loadList(endpoints.users, 'users', ctx.signal);
    const list = users.filter((u) => !u.disabled)
      .map((u) => ({ id: u.id, label: `${u.name || u.email}${u.id === me.id ? ' (me)' : ''}` }));
    if (list.length) return list;
  }
  return me.id ? [{ id: me.id, label: 'Me' }] : [];
}

/*
 * "Assigned to" and its "Assign to" form for conversation id: posts /assign
 * and shows the answer; failures in actionError (an alert). Returns
 * {el, show(assignee)} (show: the assignee as the server says now).
 */
function assignControl(ctx, id, choices, actionError) {
  const current = h('span', { 'data-testid': 'thread-assignee' });
  const select = h('select', { id: 'assign-to', name: 'user_id', 'data-testid': 'assign-select' },
    h('option', { value: '' }, 'Nobody'), choices.map((c) => h('option', { value: c.id }, c.label)));
  const btn = h('button', { type: 'submit', class: 'btn', 'data-testid': 'assign-submit' }, 'Assign');
  const status = h('p', { class: 'save-status', role: 'status', 'data-testid': 'assign-status' });
  const form = h('form', { class: 'assign-form', 'data-testid': 'assign-form', 'aria-label': 'Assign this conversation' },
    h('div', { class: 'field field-inline' }, h('label', { for: 'assign-to' }, 'Assign to'), select), btn);
  let posts = 0;
  function show(a) {
    clear(current).append(assigneeEl(a ?? null, 'thread-assignee-name'));
    const v = a && a.id ? String(a.id) : '';
    if (v && ![...select.options].some((o) => o.value === v)) select.append(h('option', { value: v }, a.name || v));
    select.value = v;
  }
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    posts += 1;
    actionError.hidden = true;
    btn.disabled = true;
    status.textContent = '';
    try {
      const r = await api(endpoints.assign(id), { method: 'POST', body: { user_id: select.value || null } });
      const a = r && r.conversation ? r.conversation.assignee : null;
      show(a);
      status.textContent = a ? `Assigned to ${a.name || a.id}.` : 'Assigned to nobody.';
    } catch (e) {
      if (isAbort(e)) return;
      actionError.textContent = `Could not assign: ${e.message}`;
      actionError.hidden = false;
      actionError.focus();
    } finally {
      btn.disabled = false;
    }
  });
  const el = h('div', { class: 'assign', 'data-testid': 'assign' },
    h('p', null, 'Assigned to: ', current), h('div', { class: 'panel-row' }, form), status);
  // posts(): how many assignments were sent, so that a fetch begun before
  // one does not show the assignee it read over the one it answered.
  return { el, show, posts: () => posts };
}

// The element that scrolls the messages: the messages' own box (wide
// screens, the details beside it), the thread's body (the details under
// the messages) or the page (a phone).
function scroller(els) {
  for (const el of els) {
    const o = getComputedStyle(el).overflowY;
    if (o === 'auto' || o === 'scroll') return el;
  }
  return document.scrollingElement;
}

const NEAR_PX = 120; // this close to the latest message, a new one is scrolled into view
const PINNED_PX = 24; // this close, it stays in view as the dock changes size

/*
 * Where the end of the messages' box (msgs: the last message and the notes
 * under it) lies against what el (the scroller) shows: gap, how far below
 * its bottom (negative: above), and height, how much it shows. Not el's
 * own end: the details (and Delete) come after the messages, in the same
 * scroll on narrower screens. On the page (a phone) the sticky head and
 * dock cover the screen's top and bottom.
 */
function latestGap(el, { msgs, head, dock }) {
  if (el === msgs) return { gap: el.scrollHeight - el.scrollTop - el.clientHeight, height: el.clientHeight };
  let top;
  let bottom;
  if (el === document.scrollingElement) {
    top = Math.max(0, head.getBoundingClientRect().bottom);
    bottom = Math.min(window.innerHeight, dock.getBoundingClientRect().top);
  } else {
    const r = el.getBoundingClientRect();
    top = r.top + el.clientTop;
    bottom = top + el.clientHeight;
  }
  return { gap: msgs.getBoundingClientRect().bottom - bottom, height: bottom - top };
}

/*
 * Before messages change: near, the end of the messages on screen or just
 * under it (a new message is brought into view); keep, the end of the
 * messages above the screen (the details under them are read: they are
 * kept where they are on screen however much the messages grow).
 */
function whereLatest(el, boxes) {
  const { gap, height } = latestGap(el, boxes);
  return { near: gap <= NEAR_PX && gap >= -height, keep: gap < -height };
}

// Who took over c when it is someone else (answered_by names them): the
// name, else null (nobody, or the signed-in user).
function otherAnswering(ctx, c) {
  const a = c && c.answered_by;
  const me = ctx.session && ctx.session.user ? ctx.session.user : {};
  return a && a.name && !(a.id && a.id === me.id) ? a.name : null;
}

// Who put a conversation in the queue (its waiting_by), as the notice says it.
const QUEUED_BY = {
  visitor: 'The visitor asked for a person.',
  assistant: 'The assistant handed the conversation to a person.',
  person: 'A team member put it in the queue.',
};

// The take-over state, as one notice: [badge, its class, the sentence].
// by: who took over when another person did (the stream's handoff event
// names them), else null; queued: who put it in the queue (waiting_by).
function stateText(st, by, queued) {
  if (st === 'waiting_human') {
    const why = QUEUED_BY[queued] || 'A person is asked for.';
    return ['Waiting for a person', 'badge-warn', `${why} The assistant keeps answering until you take over.`];
  }
  if (st === 'human') {
    if (by) return [`${by} is answering`, 'badge-info', `The assistant is silent until ${by} hands back.`];
    return ['You are answering', 'badge-info', 'The assistant is silent. Hand back to let it answer the next message.'];
  }
  return ['The assistant answers', 'badge-neutral', 'Take over to answer the visitor yourself: the assistant stays silent until you hand back.'];
}
const STATES = ['ai', 'waiting_human', 'human'];

/*
 * The reply box and the typing signal: true at most every TYPING_EVERY_MS
 * while keys are pressed, false after TYPING_IDLE_MS without one, on send
 * and when the thread is left. "/" opens the canned replies (one's files
 * join the reply's, uploaded already: the server copies them into the
 * conversation). Files come by Attach, a drop on the box or a paste into
 * it (attach.js: uploaded as they come; the reply names them, its text
 * then optional). onSent(message)
 * gets what the server stored; onGone() a 404 (the conversation deleted).
 * Returns {form, text, typing(on), close()} (close: nothing to reply to).
 */
function replyBox(ctx, id, onSent, onGone) {
  const text = h('textarea', {
    id: 'reply-text', name: 'content', rows: '2', maxlength: '65536', 'data-testid': 'reply-input',
    'aria-describedby': 'reply-hint', placeholder: 'Write a reply, or / for a canned reply',
  });
  const sendBtn = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'reply-send' }, 'Send');
  const replyStatus = h('p', { class: 'save-status', role: 'status', 'data-testid': 'reply-status' });
  // The draft survives a session's end (api.js): back where it was left.
  const userId = ctx.session && ctx.session.user ? ctx.session.user.id : '';
  text.value = loadDraft(userId, id);
  const keepDraft = () => saveDraft(userId, id, text.value);
  // Its files are not kept with the draft (a leave empties the list): while
  // it has some, leaving asks first (form.js unsavedForm, data-unkept).
  const files = replyFiles(ctx, id, (t) => { replyStatus.textContent = t; },
    (n) => { form.toggleAttribute('data-unkept', n > 0); });
  let typingOn = false;
  let typingAt = 0;
  let idle = 0;
  function typing(on) {
    window.clearTimeout(idle);
    if (!on && !typingOn) return;
    typingOn = on;
    typingAt = Date.now();
    api(endpoints.typing(id), { method: 'POST', body: { typing: on } }).catch(() => { /* only a hint */ });
  }
  function typed() {
    window.clearTimeout(idle);
    if (!text.value.trim()) return typing(false);
    if (!typingOn || Date.now() - typingAt > TYPING_EVERY_MS) typing(true);
    idle = window.setTimeout(() => typing(false), TYPING_IDLE_MS);
  }
  const picker = cannedPicker(text, {
    onInsert: (it) => {
      typed();
      keepDraft();
      files.addKept(it.attachments, `/${it.shortcut}`);
    },
  });
  const form = h('form', { class: 'reply-form', 'data-testid': 'reply-form', 'aria-label': 'Reply to the visitor', novalidate: true },
    h('label', { for: 'reply-text', class: 'visually-hidden' }, 'Reply to the visitor'),
    files.list,
    h('div', { class: 'reply-row' }, h('div', { class: 'reply-input' }, picker, text), files.button, files.input, sendBtn),
    h('div', { class: 'reply-foot' },
      h('p', { class: 'hint', id: 'reply-hint' }, 'Reaches the visitor at once. Ctrl+Enter sends; "/" at the start picks a ',
        h('a', { href: '#/canned-replies', 'data-testid': 'canned-manage' }, 'canned reply'),
        `. Attach, drop or paste up to ${MAX_FILES} files of ${humanSize(MAX_BYTES)}.`),
      replyStatus));
  takeFiles(form, text, files.add);
  text.addEventListener('input', () => {
    typed();
    keepDraft();
  });
  text.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  ctx.onLeave(() => typing(false));
  // From a submit to its answer: Ctrl+Enter's requestSubmit() fires submit
  // with Send disabled, and the text stays in the box until the server has
  // stored it, so a second submit meanwhile would post the reply again.
  let sending = false;
  let closed = false;
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (sending || closed) return;
    const content = text.value.trim();
    if (!content && !files.count()) {
      replyStatus.textContent = 'Write a message first.';
      text.focus();
      return;
    }
    typing(false);
    sending = true;
    sendBtn.disabled = true;
    try {
      let attachments = [];
      if (files.count()) {
        replyStatus.textContent = 'Uploading the files…';
        try {
          attachments = await files.ids();
        } catch (e) {
          replyStatus.textContent = `Not sent: ${e.message}`;
          return;
        }
        if (!content && !attachments.length) {
          replyStatus.textContent = 'Write a message first.';
          return;
        }
      }
      replyStatus.textContent = 'Sending…';
      const body = attachments.length ? { content, attachments } : { content };
      const r = await api(endpoints.convMessages(id), { method: 'POST', body });
      if (r && r.message) onSent(r.message);
      text.value = '';
      keepDraft();
      files.sent(attachments);
      replyStatus.textContent = 'Sent.';
    } catch (e) {
      if (isAbort(e)) return;
      if (e.status === 404) {
        replyStatus.textContent = 'Not sent: this conversation has been deleted.';
        onGone();
        return;
      }
      replyStatus.textContent = `Not sent: ${e.message}`;
    } finally {
      sending = false;
      sendBtn.disabled = closed;
      if (!closed) text.focus();
    }
  });
  // The conversation is gone: the box stays (its text may be worth
  // copying) but nothing in it acts any more.
  function close() {
    closed = true;
    typing(false);
    for (const el of form.elements) el.disabled = true;
    form.removeAttribute('data-unkept'); // its files cannot be sent: nothing to ask about
  }
  return { form, text, typing, close };
}

/*
 * Take over / Hand back (POST …/handoff) beside one notice of the state
 * (a badge and its sentence, a live region: a change, taken here or come
 * live, is said once, and nothing else repeats it); the reply box shown
 * while a person answers. assign: the assign control (the server may make
 * the conversation yours). Returns {el, set(state, name, queuedBy)}: the
 * state as the server says now, name who changed it when the stream says
 * so, queuedBy who put it in the queue (its waiting_by); close() when the
 * conversation is deleted.
 */
function handoffDock(ctx, id, reply, assign, actionError) {
  const myName = ctx.session && ctx.session.user ? ctx.session.user.name : null;
  let hstate = null;
  let by = null;
  let queued = null;
  let closed = false;
  const stateBadge = h('span', { 'data-testid': 'handoff-state' });
  const hText = h('span', { class: 'hint handoff-text', 'data-testid': 'handoff-status' });
  const notice = h('p', { class: 'handoff-notice', role: 'status', 'data-testid': 'handoff-notice' }, stateBadge, ' ', hText);
  const takeBtn = h('button', { type: 'button', class: 'btn btn-primary', 'data-testid': 'take-over' }, 'Take over');
  const backBtn = h('button', { type: 'button', class: 'btn', 'data-testid': 'hand-back' }, 'Hand back');
  const el = h('section', { class: 'handoff', 'aria-label': 'Handoff', 'data-testid': 'handoff' },
    h('div', { class: 'handoff-row' }, notice, h('div', { class: 'handoff-buttons' }, takeBtn, backBtn)));
  // The notice again, changed only when its words change (said once).
  function render() {
    if (!hstate) return;
    const [label, cls, text] = stateText(hstate, by, queued);
    stateBadge.className = `badge ${cls}`;
    if (stateBadge.textContent !== label) stateBadge.textContent = label;
    if (hText.textContent !== text) hText.textContent = text;
  }
  function set(st, name, queuedBy) {
    if (!STATES.includes(st)) return;
    const who = st === 'human' && name && name !== myName ? String(name) : null;
    const q = st === 'waiting_human' && queuedBy ? String(queuedBy) : null;
    // Who answers may change while the state does not: a snapshot (a poll,
    // the fetch after a stream's reset) can show a colleague's take-over
    // after a hand-back it never saw, human to human.
    if (st === hstate && who === by && q === queued) return;
    hstate = st;
    by = who;
    queued = q;
    takeBtn.hidden = st === 'human';
    backBtn.hidden = st !== 'human';
    reply.form.hidden = st !== 'human';
    if (st !== 'human') reply.typing(false);
    render();
  }
  async function change(st, btn) {
    actionError.hidden = true;
    btn.disabled = true;
    try {
      const r = await api(endpoints.handoff(id), { method: 'POST', body: { state: st } });
      const c = r && r.conversation;
      // A colleague may have taken over first (changed: false): say who.
      set((c && c.handoff) || st, otherAnswering(ctx, c), c && c.waiting_by);
      if (c && c.assignee !== undefined) assign.show(c.assignee);
      (st === 'human' ? reply.text : takeBtn).focus();
    } catch (e) {
      if (isAbort(e)) return;
      actionError.textContent = `Could not change the handoff: ${e.message}`;
      actionError.hidden = false;
    } finally {
      btn.disabled = closed;
    }
  }
  takeBtn.addEventListener('click', () => change('human', takeBtn));
  backBtn.addEventListener('click', () => change('ai', backBtn));
  // The conversation is gone: no take-over or hand-back to offer.
  function close() {
    closed = true;
    takeBtn.disabled = true;
    backBtn.disabled = true;
  }
  return { el, set, close };
}

/* The thread's loading state, or its error, in pane. */
async function loadThread(pane, ctx, id) {
  const loading = h('p', { class: 'muted thread-loading', 'data-testid': 'thread-loading' }, 'Loading…');
  pane.append(loading);
  try {
    const [data, widgets, choices, sources] = await Promise.all([
      api(endpoints.conversation(id), { signal: ctx.signal }),
      loadWidgets(ctx),
      assignChoices(ctx),
      // The sources' names: admins' to read (an agent sees their ids).
      roleAtLeast(sessionRole(ctx), 'admin') ? loadList(endpoints.knowledgeSources, 'sources', ctx.signal) : [],
    ]);
    loading.remove();
    const sourceNames = new Map(sources.map((x) => [String(x.id), String(x.name || x.url || x.question || x.id)]));
    return { data, widgets, choices, sourceNames };
  } catch (e) {
    if (isAbort(e)) return null;
    showLoadError(loading, e instanceof ApiError && e.status === 404 ? 'Conversation not found. It may have been deleted.' : e.message);
    return null;
  }
}

/*
 * The thread of conversation id in pane (the inbox's right pane). ctx: the
 * thread's own (signal, onLeave, session, setTitle, navigate). hooks:
 * backHref (the list, with its filters), onOpened(conv) once shown,
 * onDeleted(id) after a deletion here.
 */
export async function renderThread(pane, ctx, id, hooks) {
  const back = h('a', { href: hooks.backHref, class: 'btn btn-quiet thread-back', 'data-testid': 'back-to-list' },
    h('span', { 'aria-hidden': 'true' }, '← '), 'Conversations');
  pane.append(h('div', { class: 'thread-head' }, back));
  // Listening before the first read: an event that came after it and
  // before the view was built was lost (liveread.js).
  const live = liveReads(ctx);
  const got = await loadThread(pane, ctx, id);
  if (!got) return;
  const { data, widgets, choices, sourceNames } = got;
  const conv = data.conversation || {};
  let who = visitorLabel({ ...conv, visitorName: data.visitorName || conv.visitorName });
  const names = widgetNames(widgets);
  const widget = widgets.find((w) => w.id === conv.widgetId);
  ctx.setTitle(isolated(who));

  const title = h('h2', { class: 'thread-title', id: 'thread-title', tabindex: '-1', 'data-testid': 'thread-title' }, who);
  const widgetName = widget ? names.get(widget.id) : (conv.widgetId || '');
  const actionError = h('p', { class: 'alert alert-error', role: 'alert', 'data-testid': 'action-error', hidden: true, tabindex: '-1' });
  const convState = stateControl(id, actionError, (c) => hooks.onState && hooks.onState(c));
  convState.show(conv);
  pane.querySelector('.thread-head').append(h('div', { class: 'thread-heading' }, title,
    widgetName ? h('p', { class: 'thread-sub', 'data-testid': 'thread-widget' }, widgetName) : null), convState.el);

  const updated = timeEl(conv.updatedAt);
  const countEl = h('span', null, (Number(conv.messageCount) || 0).toLocaleString());
  const ratingDd = h('span', null, ratingEl(conv.rating));
  const contactDd = h('span', null, conv.contactId ? 'Loading…' : h('span', { class: 'muted' }, 'None'));
  const meta = h('dl', { class: 'meta meta-compact', 'data-testid': 'conv-meta' },
    metaRow('Contact', contactDd, 'conv-contact'),
    metaRow('Widget', widget
      ? h('a', { href: `#/widgets/${encodeURIComponent(widget.widget_id)}` }, names.get(widget.id))
      : (conv.widgetId || '—'), 'conv-widget'),
    metaRow('Started', timeEl(conv.createdAt), 'conv-created'),
    metaRow('Last activity', updated, 'conv-updated'),
    metaRow('Messages', countEl, 'conv-message-count'),
    metaRow('Rating', ratingDd, 'conv-rating'));
  const visitor = visitorDetails(data.visitor || conv.visitor);
  const tech = techDetails(conv, id);

  const assign = assignControl(ctx, id, choices, actionError);
  assign.show(conv.assignee);
  // Deleting a conversation and exporting are for admins and owners (the
  // server's route table: an agent gets 403), so an agent is offered neither.
  const admin = roleAtLeast(sessionRole(ctx), 'admin');
  const del = admin ? h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'delete-conv' }, 'Delete conversation') : null;
  const exp = (format, label) => downloadLink(
    endpoints.exportUrl({ format, rows: 'messages', conversation: id }), label, `export-thread-${format}`);
  // Delete last, after the technical details: under the messages on a
  // phone, out of the first screen.
  const details = h('aside', { class: 'conv-details', 'aria-label': 'Details', 'data-testid': 'conv-details' },
    h('h3', null, 'Visitor'), visitor.el,
    h('h3', null, 'Conversation'), meta, assign.el,
    admin ? h('div', { class: 'export-inline', role: 'group', 'aria-label': 'Export this conversation' },
      h('span', { class: 'export-label' }, 'Export:'), exp('jsonl', 'JSON Lines'), exp('csv', 'CSV')) : null,
    tech.el,
    del ? h('div', { class: 'actions' }, del) : null);

  const list = h('ol', { class: 'thread', 'data-testid': 'thread-messages', 'aria-label': 'Messages' });
  const liveNote = h('p', { class: 'visually-hidden', 'aria-live': 'polite', 'data-testid': 'thread-status' });
  const pollNote = h('p', { class: 'hint thread-note', 'data-testid': 'poll-status' }, 'New messages appear here as they arrive.');
  const emptyNote = h('p', { class: 'empty', 'data-testid': 'thread-empty', hidden: true }, 'No messages yet.');
  // focusable: it scrolls, and a keyboard scrolls it once focused
  const msgs = h('div', { class: 'thread-scroll', 'data-testid': 'thread-scroll', tabindex: '0', role: 'region', 'aria-label': 'Conversation' },
    data.truncated ? h('p', { class: 'alert', 'data-testid': 'thread-truncated' },
      'This thread is long: only part of it is shown. Export it to read every message.') : null,
    list, emptyNote, liveNote, pollNote);
  // The messages first, then the details: beside them on a wide screen,
  // under them on narrower ones (where the scroll aims at the last message).
  const body = h('div', { class: 'thread-body', 'data-testid': 'thread-body' }, msgs, details);
  const dockEl = h('div', { class: 'thread-dock', 'data-testid': 'thread-dock' });
  const boxes = { msgs, head: pane.querySelector('.thread-head'), dock: dockEl };

  const known = new Map(); // _id -> {li, m}
  const scrollEl = () => scroller([msgs, body]);
  // messages: the server's list (oldest first: the thread read, a poll)
  // or one an event brought. Each of a list goes right after the one
  // before it there: the server's order, which is not always the times'
  // (an assistant's reply cut off by a person's message keeps its place
  // before it, stored after it); a message alone goes where its time
  // puts it.
  function merge(messages) {
    const el = scrollEl();
    const { near: wasNearBottom, keep } = whereLatest(el, boxes);
    const end = msgs.getBoundingClientRect().bottom;
    let added = 0;
    let prev = null;
    for (let m of messages) {
      const mid = String(m._id || '');
      const k = known.get(mid);
      // An event's copy has no citations: the ones read stay.
      if (k && !citeKey(m) && citeKey(k.m)) m = { ...m, citations: k.m.citations };
      if (k) {
        updateItem(k.li, k.m, m);
        k.m = m;
        if (prev && prev.nextElementSibling !== k.li) prev.after(k.li);
        prev = k.li;
      } else {
        const li = messageItem(m, who, sourceNames);
        if (prev) prev.after(li);
        else placeByTime(li, m);
        known.set(mid, { li, m });
        prev = li;
        added++;
      }
      tech.show(m);
    }
    emptyNote.hidden = known.size > 0;
    if (keep) el.scrollTop += msgs.getBoundingClientRect().bottom - end;
    return { added, wasNearBottom };
  }
  // m's item where its time puts it: after the last one not later. One
  // that reached this page late (a poll after a reconnect, while this
  // tab's own reply was shown at once) is not put last.
  function placeByTime(li, m) {
    const t = Number(m.createdAt) || 0;
    for (let x = list.lastElementChild; x; x = x.previousElementSibling) {
      const k = known.get(x.dataset.id || '');
      if (k && (Number(k.m.createdAt) || 0) <= t) return void x.after(li);
    }
    list.prepend(li);
  }
  function showAdded({ added, wasNearBottom }) {
    if (added <= 0) return;
    liveNote.textContent = plural(added, 'new message', 'new messages');
    if (wasNearBottom) toBottom();
  }
  // The latest message into view: the end of the messages' box at the
  // end of what the scroller shows (never the details under it); down
  // only, unless opening (the page may keep another thread's scroll).
  function toBottom(opening = false) {
    const el = scrollEl();
    if (el === msgs) {
      el.scrollTop = el.scrollHeight;
      return;
    }
    const { gap } = latestGap(el, boxes);
    if (gap > 0 || opening) el.scrollTop += gap;
  }

  const reply = replyBox(ctx, id, (m) => showAdded(merge([m])), () => gone());
  const dock = handoffDock(ctx, id, reply, assign, actionError);
  dock.set(conv.handoff || 'ai', otherAnswering(ctx, conv), conv.waiting_by);
  dockEl.append(dock.el, reply.form);
  pane.append(actionError, body, dockEl);
  merge(Array.isArray(data.messages) ? data.messages : []);
  toBottom(true);
  // The latest message kept in view as the dock grows or shrinks (a
  // reply's files listed, then sent; the reply box shown by a take-over):
  // while the last scroll left the end of the messages in view.
  let pinned = true;
  const onScroll = () => { pinned = latestGap(scrollEl(), boxes).gap <= PINNED_PX; };
  for (const el of [msgs, body]) el.addEventListener('scroll', onScroll, { passive: true });
  window.addEventListener('scroll', onScroll, { passive: true });
  ctx.onLeave(() => window.removeEventListener('scroll', onScroll));
  if (typeof ResizeObserver === 'function') {
    const ro = new ResizeObserver(() => { if (pinned) toBottom(); });
    ro.observe(dockEl);
    ctx.onLeave(() => ro.disconnect());
  }

  if (conv.contactId) {
    contactAndLink(conv.contactId, id, ctx.signal)
      .then(({ contact, link }) => { clear(contactDd).append(contactSummary(contact, conv.contactId, link)); })
      .catch((e) => {
        if (isAbort(e)) return;
        clear(contactDd).append(contactSummary(null, conv.contactId));
      });
  }
  const tick = window.setInterval(() => {
    refreshRelTimes(list);
    visitor.tick();
  }, TICK_MS);
  ctx.onLeave(() => window.clearInterval(tick));

  /* Live: the events of this conversation; polling (live.js 'poll') only
     while the stream is down; a 'reset' fetches the thread again
     (liveread.js: an event shown while a read is on its way stays). */
  let stopped = false;
  const stop = () => { stopped = true; };
  const LIVE_TEXT = 'New messages appear here as they arrive.';
  const modeText = () => (liveMode() === 'poll' ? 'Live updates are unavailable; checking every 2 seconds.' : LIVE_TEXT);
  pollNote.textContent = modeText();
  // c as the server said it; posts: assign.posts() when it was asked for
  // (an event's snapshot is never older than what the stream said before).
  function showConv(c, posts = assign.posts(), by = null) {
    updateTimeEl(updated, c.updatedAt);
    if (c.messageCount != null) countEl.textContent = (Number(c.messageCount) || 0).toLocaleString();
    if (c.rating !== undefined) clear(ratingDd).append(ratingEl(c.rating));
    if (c.handoff) dock.set(c.handoff, by ?? otherAnswering(ctx, c), c.waiting_by);
    if (c.assignee !== undefined && posts === assign.posts()) assign.show(c.assignee);
    if (c.state) convState.show(c);
  }
  // The visitor gave their details (a contact event): their name on the
  // thread, its title and their messages, and the Contact row, as a reload
  // shows them. again: the event shown again after a read's answer
  // (liveread.js), which does not touch the Contact row: read once.
  function showContact(c, contact, again) {
    if (c.visitorName) {
      who = visitorLabel(c);
      title.textContent = who;
      ctx.setTitle(isolated(who));
      for (const el of pane.querySelectorAll('[data-testid="thread-message"][data-role="user"] [data-testid="msg-role"]')) el.textContent = who;
    }
    const cid = (contact && contact._id) || c.contactId;
    if (!cid || again) return;
    contactAndLink(cid, id, ctx.signal)
      .then(({ contact: k, link }) => { clear(contactDd).append(contactSummary(k, cid, link)); })
      .catch((e) => { if (!isAbort(e)) clear(contactDd).append(contactSummary(null, cid)); });
  }
  // The conversation deleted elsewhere (its event, or a 404 on a poll or
  // a reply): said where the live state is said, and nothing here acts
  // on it any more (the stream's event alone used to leave it all usable).
  function gone() {
    stop();
    pollNote.textContent = 'This conversation has been deleted.';
    liveNote.textContent = 'This conversation has been deleted.';
    reply.close();
    dock.close();
    if (del) del.disabled = true;
  }
  live.attach({
    el: pane,
    // The thread read again (nothing once gone, or while deleting).
    async read() {
      if (stopped) return null;
      const posts = assign.posts();
      return { d: await api(endpoints.conversation(id), { signal: ctx.signal }), posts };
    },
    show(got) {
      if (!got || stopped) return;
      showConv(got.d.conversation || {}, got.posts);
      showAdded(merge(Array.isArray(got.d.messages) ? got.d.messages : []));
      pollNote.textContent = modeText();
    },
    fail(e) {
      if (stopped) return;
      if (e.status === 404) return void gone();
      pollNote.textContent = `Could not refresh (${e.message}); trying again.`;
    },
    event(type, d, again) {
      if (stopped) return;
      if (type === 'mode') {
        pollNote.textContent = modeText();
        return;
      }
      const c = d && d.conversation;
      if (!c || String(c._id) !== id) return;
      if (type === 'conversation_deleted') return void gone();
      if (type === 'contact') showContact(c, d.contact, again);
      showConv(c, assign.posts(), type === 'handoff' ? d.name : null);
      if (type === 'message' && d.message) {
        const m = d.message;
        // An assistant's reply after a person's message: one that streamed
        // as they wrote, stored after it but kept in its place before it
        // (the model never answers a person): the thread read again puts
        // it there.
        const last = known.get(list.lastElementChild?.dataset.id || '');
        const placed = m.role === 'assistant' && !known.has(String(m._id || '')) && last?.m.role === 'agent';
        showAdded(merge([m]));
        // An answer that cites passages: its event has their sources'
        // ids alone, the thread read again shows the passages.
        if (!again && (placed || (m.role === 'assistant' && Array.isArray(m.sources) && m.sources.length && !citeKey(m)))) live.run();
      }
    },
  });
  ctx.onLeave(stop);

  if (del) del.addEventListener('click', async () => {
    const n = known.size;
    const ok = await confirmDialog({
      title: 'Delete this conversation?',
      message: `The conversation and its ${plural(n, 'message', 'messages')} will be deleted for good. This cannot be undone.`,
      confirmLabel: 'Delete',
      danger: true,
    });
    if (!ok || ctx.signal.aborted) return;
    actionError.hidden = true;
    del.disabled = true;
    stop();
    try {
      await api(endpoints.conversation(id), { method: 'DELETE' });
    } catch (e) {
      if (e.status === 404) {
        hooks.onDeleted(id);
        ctx.navigate(hooks.backHref, 'The conversation was already deleted.');
        return;
      }
      del.disabled = false;
      actionError.textContent = `Could not delete: ${e.message}`;
      actionError.hidden = false;
      stopped = false;
      return;
    }
    hooks.onDeleted(id);
    ctx.navigate(hooks.backHref, 'Conversation deleted.');
  });
  hooks.onOpened(conv);
  return { title };
}
