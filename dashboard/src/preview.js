// The widget form's live preview (issue 24): the real widget bundle
// (/widget/chat-widget.js, in its own shadow root, as a visitor's page
// shows it) mounted on this page with the form's unsaved title, greeting,
// accent colour and side, and mounted again as the owner edits them. It
// cannot chat: its composer is inert, and it never talks to the server (no
// session id is left stored for it to ask the history of). Its panel
// starts open only where it fits beside the page's content (the margin on
// its side at least as wide as the panel); elsewhere only its launcher
// shows, as the open panel would cover the form. Opened or closed by the
// owner, it stays so as the form is edited.

import { h } from './dom.js';

const BUNDLE = '/widget/chat-widget.js';
const SESSION_KEY = 'os-chatbot-session-id';
const OPEN_KEY = 'os-chatbot-widget-open';
// The widget's open panel: 370 px wide, 20 px from the window's edge, and a gap.
const PANEL_ROOM = 370 + 20 + 8;

/* Whether the open panel, on side left (else right), leaves #main's content uncovered. */
export function previewFits(left) {
  const main = document.getElementById('main');
  if (!main) return false;
  const r = main.getBoundingClientRect();
  const cs = getComputedStyle(main);
  const room = left ? r.left + parseFloat(cs.paddingLeft)
    : document.documentElement.clientWidth - (r.right - parseFloat(cs.paddingRight));
  return room >= PANEL_ROOM;
}

/* A "Preview" section for form f; it lives until signal aborts. */
export function livePreview(f, signal) {
  let script = null;
  let timer = 0;
  let greeting = true; // an empty one shows no bubble, as on a site
  let first = true; // the first mount chooses open or closed; later ones keep the owner's choice
  const status = h('p', { class: 'hint', 'data-testid': 'preview-status' });

  function unmount() {
    if (window.ParleyChat) window.ParleyChat.destroy();
    if (script) script.remove();
    script = null;
    try {
      localStorage.removeItem(SESSION_KEY);
    } catch { /* not stored */ }
  }

  function mount() {
    unmount();
    const { values: v } = f.getValues();
    const left = v.position === 'bottom_left';
    const side = left ? 'bottom left' : 'bottom right';
    if (first) {
      first = false;
      const fits = previewFits(left);
      try {
        localStorage.setItem(OPEN_KEY, String(fits));
      } catch { /* then it starts closed */ }
      status.dataset.open = String(fits);
    }
    status.textContent = status.dataset.open === 'true'
      ? `The chat at the ${side} shows your changes as you type, before you save them.`
      : `Open the chat button at the ${side} to see your changes as you type, before you save them.`;
    script = h('script', {
      src: BUNDLE,
      'data-api-url': `${location.origin}/v1/chat`,
      'data-api-key': 'preview',
      'data-title': v.name || 'Assistant',
      'data-welcome-message': v.greeting || ' ',
      'data-accent-color': /^#[0-9a-f]{6}$/.test(v.primary_color) ? v.primary_color : '#4f46e5',
      'data-position': v.position === 'bottom_left' ? 'left' : 'right',
      'data-preview': '',
    });
    greeting = !!v.greeting.trim();
    document.addEventListener('parley:ready', quiet, { once: true });
    document.body.append(script);
  }

  // The preview only shows: its composer takes no input.
  function quiet() {
    const root = window.ParleyChat && window.ParleyChat.host.shadowRoot;
    const composer = root && root.querySelector('[data-part="composer"]');
    if (composer) composer.inert = true;
    const welcome = root && root.querySelector('[data-welcome]');
    if (welcome && !greeting) welcome.hidden = true;
  }

  const again = () => {
    clearTimeout(timer);
    timer = setTimeout(mount, 150);
  };
  f.form.addEventListener('input', again, { signal });
  f.form.addEventListener('change', again, { signal });
  signal.addEventListener('abort', () => {
    clearTimeout(timer);
    document.removeEventListener('parley:ready', quiet);
    unmount();
  }, { once: true });
  mount();
  return h('section', { class: 'panel', 'aria-labelledby': 'sec-preview', 'data-testid': 'preview' },
    h('h2', { id: 'sec-preview' }, 'Preview'), status);
}
