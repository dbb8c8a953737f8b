// /widget-test.html: shows what the widget does. Loaded before the widget
// (both deferred), so it sees every parley:* event. No inline script: the
// page is served with a strict Content-Security-Policy.
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const widgetTag = () => document.querySelector('script[src$="/widget/chat-widget.js"]');
  const api = () => window.ParleyChat;

  function setStatus(text) {
    $('status').textContent = text;
  }

  function logEvent(name, detail) {
    const li = document.createElement('li');
    const short = {};
    for (const k in detail || {}) {
      const v = detail[k];
      if (typeof v === 'string') short[k] = v.length > 80 ? v.slice(0, 80) + '…' : v;
      else if (Array.isArray(v)) short[k] = '[' + v.length + ' items]';
      else short[k] = v;
    }
    li.textContent = name + ' ' + JSON.stringify(short);
    const list = $('events');
    list.append(li);
    while (list.children.length > 50) list.firstElementChild.remove();
  }

  function snippet() {
    const tag = widgetTag();
    const key = tag ? tag.dataset.apiKey : '';
    const origin = location.origin;
    $('snippet').textContent =
      '<script\n' +
      '  src="' + origin + '/widget/chat-widget.js"\n' +
      '  data-api-url="' + origin + '/chat"\n' +
      '  data-api-key="' + (key || 'YOUR_WIDGET_API_KEY') + '"\n' +
      '  data-title="Support"\n' +
      '  data-position="right"\n' +
      '  data-accent-color="#0ea5e9"\n' +
      '  defer\n' +
      '></' + 'script>';
  }

  const names = ['ready', 'open', 'close', 'history', 'send', 'reply', 'stop', 'error', 'reset', 'destroy'];
  for (const n of names) {
    document.addEventListener('parley:' + n, (e) => {
      logEvent('parley:' + n, e.detail);
      if (n === 'ready') setStatus('Widget ready (version ' + e.detail.version + ').');
      if (e.detail && e.detail.sessionId) $('session').textContent = e.detail.sessionId;
    });
  }
  // Tokens are many: count them instead of listing each one.
  let tokens = 0;
  document.addEventListener('parley:send', () => (tokens = 0));
  document.addEventListener('parley:token', () => tokens++);
  document.addEventListener('parley:reply', () => logEvent('(tokens received)', { count: tokens }));

  document.addEventListener('DOMContentLoaded', () => {
    snippet();
    const tag = widgetTag();
    if (tag && !tag.dataset.apiKey) {
      setStatus('WIDGET_API_KEY is not set on this server, so the widget does not start. Set it (make run generates one) and restart.');
    }
    $('btn-open').addEventListener('click', () => api() && api().open());
    $('btn-close').addEventListener('click', () => api() && api().close());
    $('btn-toggle').addEventListener('click', () => api() && api().toggle());
    $('btn-reset').addEventListener('click', () => api() && api().reset());
  });
  window.addEventListener('load', () => {
    if (!api() && widgetTag() && widgetTag().dataset.apiKey)
      setStatus('The widget did not start: see the browser console.');
  });
})();
