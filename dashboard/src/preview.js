// The widget form's live preview (issue 24): the real widget bundle
// (/widget/chat-widget.js, in its own shadow root, as a visitor's page
// shows it) mounted on this page with the form's unsaved title, greeting,
// accent colour and side, and mounted again as the owner edits them. It
// cannot chat: its composer is inert, and it never talks to the server (no
// session id is left stored for it to ask the history of). On a wide
// screen its panel is open; on a narrow one only its launcher shows (the
// open panel would cover the form).

import { h } from './dom.js';

const BUNDLE = '/widget/chat-widget.js';
const SESSION_KEY = 'os-chatbot-session-id';
const OPEN_KEY = 'os-chatbot-widget-open';

/* A "Preview" section for form f; it lives until signal aborts. */
export function livePreview(f, signal) {
  let script = null;
  let timer = 0;
  let greeting = true; // an empty one shows no bubble, as on a site
  const status = h('p', { class: 'hint', 'data-testid': 'preview-status' },
    'The chat below right shows your changes as you type, before you save them.');

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
    const wide = window.matchMedia('(min-width: 900px)').matches;
    try {
      localStorage.setItem(OPEN_KEY, String(wide));
    } catch { /* then it starts closed */ }
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
