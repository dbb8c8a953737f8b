// /headless-test.html: a form for POST /v1/chat, /v1/chat/stream and /chat
// that shows the raw answer (each NDJSON line as it arrives) and the reply
// the tokens add up to. No inline script: the page is served with a strict
// Content-Security-Policy.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  let ac = null; // the request in flight

  function newSession() {
    const b = new Uint8Array(8);
    crypto.getRandomValues(b);
    return 'headless-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  function show(id, v) {
    $(id).textContent = v == null || v === '' ? '—' : String(v);
  }

  function busy(b) {
    $('send').disabled = b;
    $('stop').disabled = !b;
  }

  function reset() {
    $('raw').textContent = '';
    $('reply').textContent = '';
    for (const id of ['http-status', 'content-type', 'conversation-id', 'ttft', 'token-count']) show(id, '');
  }

  function headers(json) {
    const h = { 'x-api-key': $('api-key').value.trim() };
    if (json) h['Content-Type'] = 'application/json';
    return h;
  }

  async function send(e) {
    e.preventDefault();
    if (ac) return;
    reset();
    const endpoint = $('endpoint').value;
    const body = { sessionId: $('session-id').value.trim(), message: $('message').value };
    ac = new AbortController();
    busy(true);
    $('status').textContent = 'Sending to ' + endpoint + '…';
    const t0 = performance.now();
    let tokens = 0;
    let reply = '';
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: headers(true),
        body: JSON.stringify(body),
        signal: ac.signal,
        cache: 'no-store',
      });
      show('http-status', res.status + ' ' + res.statusText);
      const ct = res.headers.get('Content-Type') || '';
      show('content-type', ct);
      if (!/ndjson/.test(ct)) {
        const text = await res.text();
        $('raw').textContent = text;
        try {
          const j = JSON.parse(text);
          if (typeof j.message === 'string') $('reply').textContent = j.message;
          if (j.conversationId) show('conversation-id', j.conversationId);
        } catch (err) {
          /* not JSON: the raw text says it all */
        }
        $('status').textContent = res.ok ? 'Done (JSON answer).' : 'The server answered ' + res.status + '.';
        return;
      }
      // NDJSON: show each line as it arrives, add up the tokens.
      const rd = res.body.getReader();
      const dec = new TextDecoder();
      let buf = '';
      let end = '';
      const line = (l) => {
        if (!l.trim()) return;
        $('raw').append(l + '\n');
        let ev;
        try {
          ev = JSON.parse(l);
        } catch (err) {
          return;
        }
        if (ev.type === 'start') show('conversation-id', ev.conversationId);
        else if (ev.type === 'token') {
          if (!tokens) show('ttft', Math.round(performance.now() - t0) + ' ms');
          tokens++;
          reply += ev.token;
          $('reply').textContent = reply;
          show('token-count', tokens);
        } else if (ev.type === 'done') {
          end = 'done';
          $('reply').textContent = ev.message;
        } else if (ev.type === 'error') end = 'error: ' + ev.error;
      };
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
      $('status').textContent = end === 'done' ? 'Done: the stream ended with "done".' : 'The stream ended with ' + (end || 'no done line') + '.';
    } catch (err) {
      $('status').textContent = err.name === 'AbortError' ? 'Stopped: the server stores the reply so far as interrupted.' : 'Failed: ' + err.message;
    } finally {
      ac = null;
      busy(false);
    }
  }

  async function loadHistory() {
    reset();
    const sid = $('session-id').value.trim();
    $('status').textContent = 'Loading the history…';
    try {
      const res = await fetch('/v1/chat/history?sessionId=' + encodeURIComponent(sid), { headers: headers(false), cache: 'no-store' });
      show('http-status', res.status + ' ' + res.statusText);
      show('content-type', res.headers.get('Content-Type'));
      const text = await res.text();
      $('raw').textContent = text;
      $('status').textContent = res.ok ? 'History loaded.' : 'The server answered ' + res.status + '.';
    } catch (err) {
      $('status').textContent = 'Failed: ' + err.message;
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('session-id').value = newSession();
    $('chat-form').addEventListener('submit', send);
    $('stop').addEventListener('click', () => ac && ac.abort());
    $('history').addEventListener('click', loadHistory);
    $('new-session').addEventListener('click', () => {
      $('session-id').value = newSession();
      reset();
      $('status').textContent = 'New session id.';
    });
    if (!$('api-key').value) $('status').textContent = 'WIDGET_API_KEY is not set on this server: the chat API answers 503.';
  });
})();
