// /test-pages/embed-test.html?widget=wid_…: adds the data-widget script tag
// for the id in its own address, says whether the config loaded, and lists
// the widget's events. No inline script: the page is served with a strict
// Content-Security-Policy (a script element added from here with a 'self'
// src is allowed).
'use strict';

(function () {
  const $ = (id) => document.getElementById(id);
  const id = (new URLSearchParams(location.search).get('widget') || '').trim();
  const valid = /^[A-Za-z0-9_-]{1,128}$/.test(id);

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

  for (const n of ['ready', 'open', 'close', 'history', 'send', 'reply', 'error', 'reset', 'destroy']) {
    document.addEventListener('parley:' + n, (e) => {
      logEvent('parley:' + n, e.detail);
      if (n === 'ready') $('status').textContent = 'Widget ' + id + ' ready (version ' + e.detail.version + ').';
    });
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('widget').value = id;
    if (!id) return;
    if (!valid) {
      $('status').textContent = 'That is not a widget id.';
      return;
    }
    $('snippet').textContent =
      '<script src="' + location.origin + '/api/widget/embed.js" data-widget="' + id + '"></' + 'script>';
    $('status').textContent = 'Loading widget ' + id + '…';
    // Says why the widget did not show (the widget itself only logs it).
    fetch('/api/widget/' + id + '/config', { cache: 'no-store' })
      .then((r) => {
        if (!r.ok) $('status').textContent = 'GET /api/widget/' + id + '/config answered ' + r.status + ': the widget does not show.';
      })
      .catch((e) => ($('status').textContent = 'The config could not be loaded: ' + e.message));
    const s = document.createElement('script');
    s.src = '/api/widget/embed.js';
    s.dataset.widget = id;
    document.body.append(s);
  });
})();
