// The login page: POST /dashboard/api/login ({"email","password"}, or
// {"password"} alone for DASHBOARD_PASSWORD's first owner), then to the
// dashboard. A refusal is said in the live region and marks the field(s).

const DASHBOARD = '/dashboard/';
const RETURN_KEY = 'parley.returnTo';

const form = document.getElementById('login-form');
const emailIn = document.getElementById('email');
const input = document.getElementById('password');
const button = document.getElementById('login-submit');
const errorEl = document.getElementById('login-error');

function target() {
  let hash = '';
  try {
    const r = sessionStorage.getItem(RETURN_KEY);
    sessionStorage.removeItem(RETURN_KEY);
    if (r && /^#\/[\w\-/?=&%.~+]*$/.test(r)) hash = r; // + a space in a query
  } catch { /* storage may be off */ }
  return DASHBOARD + hash;
}

/* text in the live region; fields: the inputs it is about (marked aria-invalid). */
function showError(text, fields = []) {
  errorEl.textContent = text;
  for (const el of [emailIn, input]) {
    if (fields.includes(el)) el.setAttribute('aria-invalid', 'true');
    else el.removeAttribute('aria-invalid');
  }
}

/* The inputs a refusal is about: the email's own error, else the password (and the email given). */
function blamed(status, msg, email) {
  if (status === 400 && /^email:/.test(msg)) return [emailIn];
  if (status === 401) return email ? [emailIn, input] : [input];
  return [];
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
    // signed-in, not session: nobody signed in is a 200, no console error.
    const res = await fetch('/dashboard/api/signed-in', {
      credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' },
    });
    if (res.status === 200 && (await res.json()).signed_in === true) {
      location.replace(target());
      return;
    }
  } catch { /* stay on the form */ }
  // Said on the form: from here only a login moves the page on (a test
  // that adds a session waits for this, or the check could still find it).
  form.dataset.sessionChecked = 'signed-out';
}

let busy = false;

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (busy) return;
  const email = emailIn.value.trim();
  const password = input.value;
  if (!password) {
    showError('Enter the password.', [input]);
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
      body: JSON.stringify(email ? { email, password } : { password }),
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
  let fields = [];
  if (!res) msg = 'Could not reach the server. Check your connection and try again.';
  else {
    msg = (data && typeof data.error === 'string' && data.error) || `Login failed (HTTP ${res.status})`;
    fields = blamed(res.status, msg, email);
    if (res.status === 429) msg += waitText(res.headers.get('Retry-After'));
  }
  showError(msg, fields);
  const back = fields.length === 1 && fields[0] === emailIn ? emailIn : input;
  back.focus();
  back.select();
});

for (const el of [emailIn, input]) {
  el.addEventListener('input', () => el.removeAttribute('aria-invalid'));
}

alreadyIn();
