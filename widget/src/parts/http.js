// Part "http" (data-api-url mode): the NDJSON chat stream and the history.
// Returns {turn, restore}.
import { shown } from '../net.js';

// This part's texts (English; every src/lang/<code>.js has them too),
// in ctx.T once given to ctx.text: the core shows them, only ever after
// this part's answer (a 429, a refused key).
const TEXT = {
  rateLimitText: 'Too many messages. Please wait {seconds} seconds and try again.',
  keyText: 'This chat is not set up correctly.',
};

// An error with what the UI needs: the HTTP status (0 for a network or
// stream failure) and, for a 429, the seconds to wait.
function fail(message, status, retryAfter) {
  const e = new Error(message);
  e.status = status || 0;
  e.retryAfter = retryAfter || 0;
  return e;
}

// Retry-After: delay-seconds or an HTTP date. 0 when absent or unreadable.
function retryAfter(v) {
  if (!v) return 0;
  const n = Number(v);
  const s = Number.isFinite(n) ? n : (Date.parse(v) - Date.now()) / 1000;
  return s > 0 ? Math.ceil(s) : s <= 0 ? 1 : 0;
}

async function check(res) {
  if (res.ok) return res;
  let msg = '';
  try {
    msg = (await res.json()).error;
  } catch (e) {
    /* not JSON */
  }
  throw fail(msg || 'HTTP ' + res.status, res.status, res.status === 429 && retryAfter(res.headers.get('Retry-After')));
}

// POST {sessionId, message} and read the NDJSON answer line by line as it
// arrives (a line may be split across chunks, a chunk may hold many lines,
// and a UTF-8 sequence may be split too: TextDecoder with stream:true).
// onEvent gets each parsed {type:…} object. Resolves when the stream ends;
// rejects on HTTP errors, network errors and aborts. A JSON answer (an
// api-url pointing at /v1/chat) is turned into token + done events.
async function chatStream(url, key, body, signal, onEvent) {
  const res = await check(
    await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'x-widget-api-key': key },
      body: JSON.stringify(body),
      signal,
      credentials: 'omit',
      cache: 'no-store',
    }).catch((e) => {
      e.net = !signal.aborted; // no answer at all (err.net): diagnose() says why
      throw e;
    })
  );
  if (/json/.test(res.headers.get('Content-Type')) && !/ndjson/.test(res.headers.get('Content-Type'))) {
    const j = await res.json();
    if (j && typeof j.message === 'string') {
      onEvent({ type: 'token', token: j.message });
      onEvent({ type: 'done', message: j.message, conversationId: j.conversationId });
    }
    return;
  }
  const line = (l) => {
    l = l.trim();
    if (!l) return;
    let ev;
    try {
      ev = JSON.parse(l);
    } catch (e) {
      return; // not a line of ours: skip it
    }
    if (ev && typeof ev === 'object') onEvent(ev);
  };
  const dec = new TextDecoder();
  let buf = '';
  if (!res.body) {
    (await res.text()).split('\n').forEach(line);
    return;
  }
  const rd = res.body.getReader();
  for (;;) {
    const { done, value } = await rd.read();
    buf += dec.decode(value, { stream: !done });
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      line(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    if (done) break;
  }
  line(buf);
}

// GET the session's messages ({sessionId, conversationId, messages:[{role,
// content, createdAt}]}), oldest first.
async function history(url, key, signal) {
  const res = await check(
    await fetch(url, { headers: { 'x-widget-api-key': key }, signal, credentials: 'omit', cache: 'no-store' })
  );
  return shown(((await res.json()) || {}).messages);
}

// Where the history lives, from data-api-url: a path ending in /chat,
// /v1/chat or /v1/chat/stream is replaced (so a prefix a proxy adds is kept,
// https://x.com/parley/chat → https://x.com/parley/v1/chat/history);
// any other path gives {origin}/v1/chat/history.
function historyUrl(apiUrl, sessionId) {
  const u = new URL(apiUrl, location.href);
  const p = u.pathname.replace(/\/+$/, '');
  const base = p.replace(/\/(v1\/chat\/stream|v1\/chat|chat)$/, '');
  u.pathname = (base === p ? '' : base) + '/v1/chat/history';
  u.search = '?sessionId=' + encodeURIComponent(sessionId);
  u.hash = '';
  return u.href;
}

// One turn: the request and its stream. Each token goes to onToken(t,
// token) while the turn is current (stale() false); resolves [done: the
// final text, or null; err: why not, or null; the conversation's id].
async function turn(url, key, body, t, stale, onToken) {
  let done = null;
  let err = null;
  let conversationId = null;
  try {
    await chatStream(url, key, body, t.ac.signal, (ev) => {
      if (stale()) return;
      if (ev.type === 'start') conversationId = ev.conversationId || null;
      else if (ev.type === 'token' && typeof ev.token === 'string' && done == null) onToken(t, ev.token);
      else if (ev.type === 'done') {
        done = typeof ev.message === 'string' ? ev.message : t.text;
        conversationId = ev.conversationId || conversationId;
      } else if (ev.type === 'error') err = new Error(ev.error || 'Stream error');
    });
    if (done == null && !err) err = new Error('The reply ended early');
  } catch (e) {
    err = e;
  }
  return [done, err, conversationId];
}

// A failure the site's owner can fix (the key refused, the widget
// disabled, this site not in CORS_ORIGIN, the page's CSP, no server):
// the console names the fix (ctx.tell, said before the state shows), err
// says it in the visitor's words, without Retry where it cannot help;
// err.broken when the notice shows it instead. (Cold code: here, not in
// the core.)
async function setup(ctx, err, url) {
  const why = err.status === 401 ? 'key' : err.status === 403 && /disabled/.test(err.message) ? 'disabled' : err.net && (await ctx.diagnose(url));
  if (!why) return;
  await ctx.tell(why === 'origin' ? 'cors' : why, url);
  err.told = 1;
  err.message = ctx.T[why + 'Text'];
  err.show = why !== 'unreachable';
  if (err.show) err.quiet = err.broken = why;
}

export default function (ctx) {
  ctx.text(TEXT); // (the core shows them, from ctx.T)
  return {
    // resolves turn()'s [done, err, conversationId], a setup failure in err
    // said (setup())
    async turn(url, key, body, t, stale, onToken) {
      const r = await turn(url, key, body, t, stale, onToken);
      if (r[1] && !t.ac.signal.aborted) await setup(ctx, r[1], url);
      return r;
    },
    // The stored session's history (a failure is logged and ignored), shown
    // after the welcome, before anything sent meanwhile, unless stale()
    // (reset() meanwhile: another session); then parley:history.
    async restore(apiUrl, key, sessionId, signal, stale) {
      try {
        const msgs = await history(historyUrl(apiUrl, sessionId), key, signal);
        if (stale()) return;
        const f = document.createDocumentFragment();
        // (status interrupted: a reply cut off or stopped, shown as stopped)
        // (.d: the message, with the sources an answer cites)
        msgs.forEach((m) => (f.appendChild(ctx.bubble(m.role, m.content, m.status, m.name)).d = m));
        const l = ctx.list;
        l.insertBefore(f, l.firstChild.nextSibling);
        l.scrollTop = l.scrollHeight;
        if (msgs.some((m) => m.sources)) ctx.part('sources').then((show) => show && show());
        ctx.emit('history', { sessionId, messages: msgs });
      } catch (e) {
        if (!signal.aborted) console.warn('[parley] could not load the history:', e.message);
      }
    },
  };
}
