// The invitation page: the token from the link's fragment (never sent to a
// server by the browser), a name and a password (twice), POST
// /dashboard/api/invitations/accept, then to the dashboard (logged in), or to
// the login page when the email had an account already.

const DASHBOARD = '/dashboard/';
const LOGIN = '/dashboard/login';
const PASSWORD_MIN = 12;

const form = document.getElementById('invite-form');
const nameEl = document.getElementById('invite-name');
const pw = document.getElementById('invite-password');
const pw2 = document.getElementById('invite-password2');
const button = document.getElementById('invite-submit');
const errorEl = document.getElementById('invite-error');

const token = location.hash.replace(/^#/, '');
// The token stays out of the address bar (and the history) once read.
if (token) history.replaceState(null, '', location.pathname);

function showError(text, field) {
  errorEl.textContent = text;
  for (const el of [nameEl, pw, pw2]) el.removeAttribute('aria-invalid');
  if (field) {
    field.setAttribute('aria-invalid', 'true');
    field.focus();
  }
}

function fieldOf(msg) {
  if (msg.startsWith('name:')) return nameEl;
  if (msg.startsWith('password:')) return pw;
  return null;
}

// What is wrong before asking the server, with the field, or null.
function check() {
  if (!/^[0-9a-f]{64}$/.test(token)) return ['This invitation link is incomplete. Open the link you were sent again.', null];
  if (!nameEl.value.trim()) return ['Enter your name.', nameEl];
  if ([...pw.value].length < PASSWORD_MIN) return [`The password needs at least ${PASSWORD_MIN} characters.`, pw];
  if (pw.value !== pw2.value) return ['The two passwords differ.', pw2];
  return null;
}

let busy = false;

form.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (busy) return;
  const bad = check();
  if (bad) {
    showError(...bad);
    return;
  }
  busy = true;
  button.disabled = true;
  showError('');
  let res = null;
  let data = null;
  try {
    res = await fetch('/dashboard/api/invitations/accept', {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ token, name: nameEl.value.trim(), password: pw.value }),
    });
    try { data = await res.json(); } catch { data = null; }
  } catch {
    res = null;
  }
  busy = false;
  button.disabled = false;
  if (res && res.status === 200) {
    pw.value = '';
    pw2.value = '';
    location.replace(data && data.csrfToken ? DASHBOARD : LOGIN);
    return;
  }
  if (!res) {
    showError('Could not reach the server. Check your connection and try again.', null);
    return;
  }
  const msg = (data && typeof data.error === 'string' && data.error) || `Could not join (HTTP ${res.status})`;
  showError(msg, fieldOf(msg));
});
