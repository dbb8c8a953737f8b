// The login page: POST /dashboard/api/login, then to the dashboard.

const DASHBOARD = '/dashboard/';
const RETURN_KEY = 'parley.returnTo';

const form = document.getElementById('login-form');
const input = document.getElementById('password');
const button = document.getElementById('login-submit');
const errorEl = document.getElementById('login-error');

function target() {
  let hash = '';
  try {
    const r = sessionStorage.getItem(RETURN_KEY);
    sessionStorage.removeItem(RETURN_KEY);
    if (r && /^#\/[\w\-/?=&%.~]*$/.test(r)) hash = r;
  } catch { /* storage may be off */ }
  return DASHBOARD + hash;
}

function showError(text) {
  errorEl.textContent = text;
  if (text) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
}

function waitText(retryAfter) {
  const n = Number.parseInt(retryAfter || '', 10);
  if (!Number.isFinite(n) || n <= 0) return '';
  if (n < 90) return ` (wait ${n} ${n === 1 ? 'second' : 'seconds'})`;
  const m = Math.ceil(n / 60);
  return ` (wait ${m} minutes)`;
}

async function alreadyIn() {
  try {
    const res = await fetch('/dashboard/api/session', {
      credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' },
    });
    if (res.status === 200) location.replace(target());
  } catch { /* stay on the form */ }
}

let busy = false;

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (busy) return;
  const password = input.value;
  if (!password) {
    showError('Enter the password.');
    input.focus();
    return;
  }
  busy = true;
  button.disabled = true;
  button.textContent = 'Logging in…';
  showError('');
  let res;
  let data = null;
  try {
    res = await fetch('/dashboard/api/login', {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ password }),
    });
    try { data = await res.json(); } catch { data = null; }
  } catch {
    res = null;
  }
  busy = false;
  button.disabled = false;
  button.textContent = 'Log in';
  if (res && res.status === 200) {
    input.value = '';
    location.replace(target());
    return;
  }
  let msg;
  if (!res) msg = 'Could not reach the server. Check your connection and try again.';
  else {
    msg = (data && typeof data.error === 'string' && data.error) || `Login failed (HTTP ${res.status})`;
    if (res.status === 429) msg += waitText(res.headers.get('Retry-After'));
  }
  showError(msg);
  input.focus();
  input.select();
});

input.addEventListener('input', () => {
  if (input.getAttribute('aria-invalid')) input.removeAttribute('aria-invalid');
});

alreadyIn();
