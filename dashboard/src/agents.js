// Agents: the list (#/agents), a new one (#/agents/new) and one agent
// (#/agents/<id>): its instructions, knowledge, actions and model settings.
// The default agent (id "default", the server's environment) is shown
// read-only; it searches all of the organisation's knowledge sources. The API key is write-only: the page says whether one is set;
// a value typed replaces it, Clear key removes it.

import { api, endpoints, isAbort, loadList } from './api.js';
import { h, clear, timeEl, confirmDialog, pageTitle, backLink, showLoadError, cardTable } from './dom.js';
import { formErrors, submitForm, wide } from './form.js';

const MODEL_RE = /^[A-Za-z0-9._:/-]*$/;
const URL_RE = /^https?:\/\/[^\s\x00-\x1f\x7f]+$/;
const KEY_RE = /^[\x21-\x7e]*$/;
const PROMPT_MAX = 16384; // bytes of UTF-8

/* Text fields (string or empty) and number fields (empty: null, the default's). */
const TEXT_FIELDS = ['name', 'system_prompt', 'model', 'base_url', 'embedding_model'];
const NUM_FIELDS = {
  temperature: { min: 0, max: 2, step: '0.01', int: false },
  max_tokens: { min: 1, max: 1000000, step: '1', int: true },
  history_messages: { min: 1, max: 200, step: '1', int: true },
};
const FIELD_NAMES = [...TEXT_FIELDS, ...Object.keys(NUM_FIELDS), 'api_key', 'answer_in_visitor_language',
  'knowledge_source_ids', 'knowledge_only', 'rewrite_follow_ups', 'action_ids', 'handoff_tool', 'knowledge_search_tool',
  'contact_form_tool', 'resolve_after_seconds', 'vision'];
const ACTIONS_MAX = 16;
// When the assistant resolves a conversation the visitor left (seconds; 0 never).
const RESOLVE_CHOICES = [[3600, 'After 1 hour'], [4 * 3600, 'After 4 hours'], [86400, 'After a day'],
  [3 * 86400, 'After 3 days'], [7 * 86400, 'After a week'], [0, 'Never']];

/** The agents (default first); errors give []. */
export function loadAgents(signal) {
  return loadList(endpoints.agents, 'agents', signal);
}

export function agentLabel(a) {
  if (!a) return '';
  if (a.is_default || a.id === 'default') return a.name || 'Default agent';
  return a.name || a.id;
}

function keyBadge(set) {
  return h('span', { class: ['badge', set ? 'badge-ok' : 'badge-neutral'], 'data-testid': 'api-key-status' },
    set ? 'API key set' : 'No API key');
}

/* ------------------------------------------------------------------ list */

export async function renderList(main, ctx) {
  ctx.setTitle('Agents');
  main.append(h('div', { class: 'page-head' },
    pageTitle('Agents'),
    h('a', { href: '#/agents/new', class: 'btn btn-primary', 'data-testid': 'new-agent' }, 'New agent')));
  const d = await api(endpoints.agents, { signal: ctx.signal });
  const agents = Array.isArray(d && d.agents) ? d.agents : [];
  main.append(
    h('p', { class: 'hint' }, 'An agent is an assistant: its instructions and model. Each widget uses one (Widgets → Agent).'),
    h('p', { class: 'count', 'data-testid': 'agent-count' },
      `${agents.length.toLocaleString()} ${agents.length === 1 ? 'agent' : 'agents'}`));
  const tbody = h('tbody', { 'data-testid': 'agent-list' });
  for (const a of agents) {
    tbody.append(h('tr', { 'data-testid': 'agent-row', 'data-id': a.id },
      h('td', { 'data-label': 'Name' }, h('span', null,
        h('a', { href: `#/agents/${encodeURIComponent(a.id)}`, 'data-testid': 'agent-link' }, agentLabel(a)),
        a.is_default ? h('span', { class: 'badge badge-info tag' }, 'Default') : null)),
      h('td', { 'data-label': 'Model' }, a.model ? h('code', null, a.model) : h('span', { class: 'muted' }, 'Server default')),
      h('td', { 'data-label': 'Server' }, a.base_url ? h('code', null, a.base_url) : h('span', { class: 'muted' }, 'Server default')),
      h('td', { 'data-label': 'API key' }, h('span', null, keyBadge(!!a.api_key_set))),
      h('td', { 'data-label': 'Updated' }, timeEl(a.updated_at))));
  }
  main.append(h('div', { class: 'table-wrap' },
    cardTable('Agents, the default first', ['Name', 'Model', 'Server', 'API key', 'Updated'], tbody,
      { 'data-testid': 'agent-table' })));
}

/* ------------------------------------------------------------------ form */

function agentForm(readOnly) {
  const controls = {};
  const { formError, field: formField, clearErrors, showErrors } = formErrors(controls);
  function field(name, label, el, hint) {
    el.disabled = readOnly;
    return formField(name, label, el, hint);
  }
  const text = (attrs) => h('input', { type: 'text', spellcheck: 'false', autocomplete: 'off', ...attrs });
  // A checkbox with its label after it (the field's label row would say it twice).
  function check(name, label, hint) {
    const wrap = field(name, label, h('input', { type: 'checkbox' }), hint);
    wrap.classList.add('field-check');
    wrap.insertBefore(controls[name], wrap.querySelector('label'));
    return wrap;
  }
  const num = (name) => {
    const n = NUM_FIELDS[name];
    return h('input', { type: 'number', min: String(n.min), max: String(n.max), step: n.step, inputmode: n.int ? 'numeric' : 'decimal' });
  };
  const keyStatus = h('span', null, keyBadge(false));
  const clearKey = h('button', { type: 'button', class: 'btn', 'data-testid': 'clear-api-key', hidden: true }, 'Clear key');

  const saveStatus = h('p', { class: 'save-status', role: 'status', 'data-testid': 'save-status' });
  const save = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'save-agent', hidden: readOnly }, 'Save');
  const keyField = field('api_key', 'New API key',
    h('input', { type: 'password', autocomplete: 'new-password', spellcheck: 'false', maxlength: '512' }),
    'Write-only: never shown again. A value here replaces the stored key; empty keeps it.');
  const form = h('form', { class: 'widget-form', 'data-testid': 'agent-form', 'data-guard': true, novalidate: true, 'aria-labelledby': 'agent-form-title' },
    h('h2', { id: 'agent-form-title' }, 'Settings'),
    formError,
    h('fieldset', null, h('legend', null, 'Assistant'),
      field('name', 'Name', text({ maxlength: '100', autocomplete: 'off' }), 'Up to 100 characters.'),
      field('system_prompt', 'System prompt', h('textarea', { rows: '8' }),
        'The assistant\'s instructions. Empty: the server\'s SYSTEM_PROMPT. Up to 16 KB.'),
      check('answer_in_visitor_language', 'Answer in the visitor\'s language',
        'When the widget knows the visitor\'s language (their browser\'s), the assistant is asked to answer in it.'),
      field('resolve_after_seconds', 'Resolve by itself', h('select', null,
        RESOLVE_CHOICES.map(([v, t]) => h('option', { value: String(v) }, t))),
        'A conversation it answered, in which no person was asked for, counts as resolved by the assistant when the visitor has not written for this long. The visitor writing again reopens it.')),
    h('fieldset', null, h('legend', null, 'Knowledge'),
      field('knowledge_source_ids', 'Sources it answers from', h('div', { class: 'kb-sources', 'data-testid': 'agent-sources', tabindex: '-1' }),
        'Each question is searched in these first; the best passages go to the model, which cites them. Add sources on the Knowledge page.'),
      check('knowledge_only', 'Answer only from the sources',
        'With nothing found, the assistant says it does not know and offers a person, without asking the model.'),
      check('rewrite_follow_ups', 'Rewrite follow-up questions',
        'A question that follows others ("and the other one?") is first turned by the model into one that stands alone, which is what is searched. It costs one more model call per follow-up.'),
      field('embedding_model', 'Embedding model', text({ maxlength: '100', pattern: '[A-Za-z0-9._:/\\-]*' }),
        'Empty: the server\'s PARLEY_EMBED_MODEL. Else a model of this agent\'s server (below) that embeds its sources\' pages, synced again for it, and its questions.')),
    h('fieldset', null, h('legend', null, 'Actions'),
      field('action_ids', 'Actions it may call', h('div', { class: 'kb-sources', 'data-testid': 'agent-actions', tabindex: '-1' }),
        'At most 16. The model may call these HTTP APIs for the visitor (a disabled one is not offered). Add actions on the Actions page.'),
      check('handoff_tool', 'Can hand over to a person',
        'The model may hand the conversation to a person by itself. Offered where the widget has handoff enabled.'),
      check('knowledge_search_tool', 'Can search the knowledge base again',
        'The model may search this agent\'s knowledge sources with a query of its own when the passages it was given do not answer.'),
      check('contact_form_tool', 'Can ask for contact details',
        'The model may show the visitor the widget\'s contact form (where it collects a field) when the team should get back to them.'),
      check('vision', 'Sees the visitor\'s images',
        'The visitor\'s pictures (up to 4 recent ones) go to the model with the message. Only for a model that takes images.')),
    h('fieldset', null, h('legend', null, 'Model'),
      field('model', 'Model', text({ maxlength: '100', pattern: '[A-Za-z0-9._:/\\-]*' }),
        'Empty: the server\'s OPENAI_MODEL. Letters, digits and . _ : / -'),
      h('div', { class: 'field-pair' },
        field('temperature', 'Temperature', num('temperature'), '0 to 2. Empty: not sent.'),
        field('max_tokens', 'Max tokens', num('max_tokens'), 'Per reply. Empty: not sent.')),
      field('history_messages', 'History messages', num('history_messages'),
        'Earlier messages sent with each turn, 1 to 200. Empty: the server\'s setting.')),
    h('fieldset', null, h('legend', null, 'Server'),
      wide(field('base_url', 'Base URL', text({ maxlength: '2048', inputmode: 'url' }),
        'Any OpenAI-compatible server, http(s)://…/v1. Empty: the server\'s OPENAI_BASE_URL. A new URL clears the stored API key unless you enter one below.')),
      h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'API key'),
        h('div', { class: 'api-key-row' }, keyStatus, clearKey)),
      readOnly ? null : keyField),
    h('div', { class: 'form-actions' }, save, saveStatus));

  // The organisation's sources, a checkbox each (setSources), those chosen checked.
  let sources = [];
  let chosen = new Set();
  function drawSources() {
    const box = controls.knowledge_source_ids;
    clear(box);
    // The default agent searches every source of the organisation: no list to choose.
    if (readOnly) {
      box.append(h('p', { 'data-testid': 'default-agent-sources' }, 'All of the organisation\'s sources'
        + (sources.length ? ` (${sources.length})` : ' (none yet)') + '.'));
      return;
    }
    if (!sources.length) box.append(h('p', { class: 'muted' }, 'No knowledge sources yet.'));
    for (const s of sources) {
      const id = `kb-${s.id}`;
      box.append(h('div', { class: 'field-check' },
        h('input', { type: 'checkbox', id, value: s.id, checked: chosen.has(s.id), disabled: readOnly }),
        h('label', { for: id }, `${s.type === 'qa' ? s.question : s.name || s.url} (${s.type === 'qa' ? 'Q&A' : s.type})`)));
    }
  }
  function setSources(list) {
    sources = list;
    drawSources();
  }

  // The organisation's actions, the same way (null: not read yet, the ids stay as they are).
  let actions = null;
  let chosenActions = new Set();
  function drawActions() {
    const box = controls.action_ids;
    clear(box);
    if (!actions) return;
    if (!actions.length) box.append(h('p', { class: 'muted' }, 'No actions yet.'));
    for (const a of actions) {
      const id = `act-${a.id}`;
      box.append(h('div', { class: 'field-check' },
        h('input', { type: 'checkbox', id, value: a.id, checked: chosenActions.has(a.id), disabled: readOnly }),
        h('label', { for: id }, a.enabled ? a.name : `${a.name} (disabled)`)));
    }
  }
  function setActions(list) {
    actions = list;
    drawActions();
  }

  function setValues(a) {
    for (const n of TEXT_FIELDS) controls[n].value = a[n] == null ? '' : String(a[n]);
    for (const n of Object.keys(NUM_FIELDS)) controls[n].value = a[n] == null ? '' : String(a[n]);
    controls.api_key.value = '';
    controls.answer_in_visitor_language.checked = !!a.answer_in_visitor_language;
    controls.knowledge_only.checked = !!a.knowledge_only;
    controls.rewrite_follow_ups.checked = !!a.rewrite_follow_ups;
    chosen = new Set(a.knowledge_source_ids || []);
    drawSources();
    controls.handoff_tool.checked = !!a.handoff_tool;
    controls.knowledge_search_tool.checked = !!a.knowledge_search_tool;
    controls.contact_form_tool.checked = !!a.contact_form_tool;
    controls.vision.checked = !!a.vision;
    const after = Number(a.resolve_after_seconds ?? 86400);
    // a value set through the API that is not a choice: shown as it is
    if (!RESOLVE_CHOICES.some(([v]) => v === after)) {
      controls.resolve_after_seconds.append(h('option', { value: String(after) }, `After ${after.toLocaleString()} seconds`));
    }
    controls.resolve_after_seconds.value = String(after);
    chosenActions = new Set(a.action_ids || []);
    drawActions();
    clear(keyStatus).append(keyBadge(!!a.api_key_set));
    clearKey.hidden = readOnly || !a.api_key_set;
  }

  /** The form as the API's JSON, and client-side errors {field: message}. */
  function getValues() {
    const v = {};
    const errors = {};
    for (const n of TEXT_FIELDS) v[n] = controls[n].value.trim();
    if (!v.name) errors.name = 'must not be empty';
    else if (Array.from(v.name).length > 100) errors.name = 'must be at most 100 characters';
    v.system_prompt = controls.system_prompt.value;
    if (new TextEncoder().encode(v.system_prompt).length > PROMPT_MAX) errors.system_prompt = 'must be at most 16 KB';
    if (v.model.length > 100 || !MODEL_RE.test(v.model)) errors.model = 'at most 100 of A-Z a-z 0-9 . _ : / -';
    if (v.embedding_model.length > 100 || !MODEL_RE.test(v.embedding_model)) {
      errors.embedding_model = 'at most 100 of A-Z a-z 0-9 . _ : / -';
    }
    if (v.base_url && (v.base_url.length > 2048 || !URL_RE.test(v.base_url))) errors.base_url = 'must be an http:// or https:// URL';
    v.base_url = v.base_url || null;
    for (const [n, r] of Object.entries(NUM_FIELDS)) {
      const t = controls[n].value.trim();
      const x = Number(t);
      v[n] = t === '' ? null : x;
      if (t !== '' && (!Number.isFinite(x) || x < r.min || x > r.max || (r.int && !Number.isInteger(x)))) {
        errors[n] = `must be ${r.int ? 'a whole number' : 'a number'} from ${r.min} to ${r.max}, or empty`;
      }
    }
    v.answer_in_visitor_language = controls.answer_in_visitor_language.checked;
    v.knowledge_only = controls.knowledge_only.checked;
    v.rewrite_follow_ups = controls.rewrite_follow_ups.checked;
    v.knowledge_source_ids = [...controls.knowledge_source_ids.querySelectorAll('input:checked')].map((c) => c.value);
    v.handoff_tool = controls.handoff_tool.checked;
    v.knowledge_search_tool = controls.knowledge_search_tool.checked;
    v.contact_form_tool = controls.contact_form_tool.checked;
    v.vision = controls.vision.checked;
    v.resolve_after_seconds = Number(controls.resolve_after_seconds.value);
    if (actions) {
      v.action_ids = [...controls.action_ids.querySelectorAll('input:checked')].map((c) => c.value);
      if (v.action_ids.length > ACTIONS_MAX) errors.action_ids = `at most ${ACTIONS_MAX}`;
    }
    const key = controls.api_key.value.trim();
    if (key) {
      if (key.length > 512 || !KEY_RE.test(key)) errors.api_key = 'at most 512 printable ASCII characters, no spaces';
      v.api_key = key;
    }
    return { values: v, errors };
  }

  return { form, controls, setValues, setSources, setActions, getValues, showErrors, clearErrors, save, saveStatus, clearKey };
}

function same(a, b) {
  const norm = (v) => (v === null || v === undefined ? '' : Array.isArray(v) ? JSON.stringify([...v].sort()) : v);
  return norm(a) === norm(b);
}

/* ------------------------------------------------------------------ edit */

export async function renderEdit(main, ctx, agentId) {
  const isNew = agentId === undefined;
  ctx.setTitle(isNew ? 'New agent' : 'Agent');
  const title = pageTitle(isNew ? 'New agent' : 'Agent');
  main.append(backLink('#/agents', '← All agents', 'back-to-agents'), title);

  let agent = null;
  if (!isNew) {
    const loading = h('p', { class: 'muted' }, 'Loading…');
    main.append(loading);
    try {
      agent = await api(endpoints.agent(agentId), { signal: ctx.signal });
    } catch (e) {
      if (isAbort(e)) return;
      showLoadError(loading, e.status === 404 ? 'Agent not found. It may have been deleted.' : e.message);
      return;
    }
    loading.remove();
  }
  const readOnly = !!(agent && (agent.is_default || agent.id === 'default'));
  const f = agentForm(readOnly);
  const titleName = h('span', { 'data-testid': 'agent-title' });
  if (agent) {
    clear(title).append('Agent: ', titleName);
    titleName.textContent = agentLabel(agent);
    ctx.setTitle(`Agent ${agentLabel(agent)}`);
  }
  f.setValues(agent || { name: '' });
  // The sources to choose from (an agent reads none when they cannot be read).
  api(endpoints.knowledgeSources, { signal: ctx.signal }).then((d) => f.setSources(d.sources)).catch(() => {});
  api(endpoints.actions, { signal: ctx.signal }).then((d) => f.setActions(d.actions)).catch(() => {});
  if (isNew) f.save.textContent = 'Create agent';

  const actionError = h('p', { class: 'alert alert-error', role: 'alert', 'data-testid': 'action-error', hidden: true });
  const side = [];
  if (readOnly) {
    side.push(h('p', { class: 'alert', 'data-testid': 'default-agent-note' },
      'The default agent is set by the server\'s environment (OPENAI_MODEL, SYSTEM_PROMPT, OPENAI_BASE_URL, OPENAI_API_KEY…) and cannot be changed here. Widgets without an agent of their own use it. Knowledge: all of the organisation\'s sources.'));
  }
  let deleteBtn = null;
  if (agent && !readOnly) {
    deleteBtn = h('button', { type: 'button', class: 'btn btn-danger', 'data-testid': 'delete-agent' }, 'Delete agent');
    side.push(h('section', { class: 'panel', 'aria-labelledby': 'sec-agent-meta' },
      h('h2', { id: 'sec-agent-meta' }, 'About'),
      h('dl', { class: 'meta' },
        h('dt', null, 'Id'), h('dd', null, h('code', { 'data-testid': 'agent-id' }, agent.id)),
        h('dt', null, 'Created'), h('dd', null, timeEl(agent.created_at)),
        h('dt', null, 'Updated'), h('dd', null, timeEl(agent.updated_at)))),
    h('section', { class: 'panel panel-danger', 'aria-labelledby': 'sec-agent-delete' },
      h('h2', { id: 'sec-agent-delete' }, 'Delete'),
      h('p', null, 'An agent that a widget uses cannot be deleted: pick another agent for those widgets first.'),
      deleteBtn));
  }
  main.append(actionError, side.length ? h('div', { class: 'widget-layout' }, h('div', { class: 'widget-side' }, side), f.form) : f.form);

  f.form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (readOnly) return;
    const res = await submitForm(f, {
      url: isNew ? endpoints.agents : endpoints.agent(agent.id),
      old: agent, names: FIELD_NAMES, same, what: 'agent',
    });
    if (!res) return;
    if (isNew) {
      ctx.navigate(`#/agents/${encodeURIComponent(res.id)}`, 'Agent created.');
      return;
    }
    // The server clears the key when the base URL moves to another server.
    const cleared = agent.api_key_set && !res.api_key_set;
    agent = res;
    f.setValues(res);
    titleName.textContent = agentLabel(res);
    f.saveStatus.textContent = cleared
      ? 'Saved. The API key was cleared: the base URL points at another server now. Enter the key again to send it there.'
      : 'Saved.';
  });

  f.clearKey.addEventListener('click', async () => {
    const ok = await confirmDialog({
      title: 'Clear the API key?',
      message: 'The agent then calls its server without a key (or with the server\'s OPENAI_API_KEY when it has no base URL of its own).',
      confirmLabel: 'Clear key',
      danger: true,
    });
    if (!ok || ctx.signal.aborted) return;
    actionError.hidden = true;
    try {
      agent = await api(endpoints.agent(agent.id), { method: 'PATCH', body: { api_key: null } });
    } catch (e) {
      actionError.textContent = `Could not clear the key: ${e.message}`;
      actionError.hidden = false;
      return;
    }
    f.setValues(agent);
    f.saveStatus.textContent = 'API key cleared.';
    f.controls.api_key.focus();
  });

  if (deleteBtn) {
    deleteBtn.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: 'Delete this agent?',
        message: `"${agentLabel(agent)}" will be deleted for good.`,
        confirmLabel: 'Delete agent',
        danger: true,
      });
      if (!ok || ctx.signal.aborted) return;
      actionError.hidden = true;
      deleteBtn.disabled = true;
      try {
        await api(endpoints.agent(agent.id), { method: 'DELETE' });
      } catch (e) {
        deleteBtn.disabled = false;
        clear(actionError);
        if (e.status === 409 && e.body && Array.isArray(e.body.widgets)) {
          // in use: name the widgets, each a link to its form
          const ws = e.body.widgets.map(String);
          actionError.append(`Could not delete: ${e.message}. Pick another agent for ${ws.length === 1 ? 'this widget' : 'these widgets'} first: `,
            ...ws.flatMap((w, i) => [i ? ', ' : '', h('a', { href: `#/widgets/${encodeURIComponent(w)}`, 'data-testid': 'agent-in-use-widget' }, w)]),
            '.');
        } else actionError.textContent = `Could not delete: ${e.message}`;
        actionError.hidden = false;
        actionError.setAttribute('tabindex', '-1');
        actionError.focus();
        return;
      }
      ctx.navigate('#/agents', 'Agent deleted.');
    });
  }
}
