// The invitation page: the token from the link's fragment (never sent to a
// server by the browser). Signed in already: the account joins with the
// token alone (POST /dashboard/api/invitations/accept with the session's CSRF
// token; only the invited email's account can). Else a name and a password
// (twice) make the invited email's account, or, when the email has an
// account already, join that account if the password is its own (one
// disabled everywhere, which cannot sign in, too); the page then logs in
// with that password and goes to the dashboard. When that login fails (the
// email has an account and that was not its password), the page says so and
// stays: the invitation is still open, so the person types the account's
// password again (or signs in and opens the link again). First the page asks what the
// invitation is (POST /dashboard/api/invitations/view: its organisation,
// email and role, told to the token's holder alone) and says so.

const DASHBOARD = '/dashboard/';
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
  if (signedIn) return null;
  if (!nameEl.value.trim()) return ['Enter your name.', nameEl];
  if ([...pw.value].length < PASSWORD_MIN) return [`The password needs at least ${PASSWORD_MIN} characters.`, pw];
  if (pw.value !== pw2.value) return ['The two passwords differ.', pw2];
  return null;
}

let busy = false;
// The session's CSRF token when someone is signed in on this browser.
let signedIn = null;

async function post(url, body, headers = {}) {
  let res = null;
  let data = null;
  try {
    res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    try { data = await res.json(); } catch { data = null; }
  } catch {
    res = null;
  }
  return { res, data };
}

// Signed in: the form becomes "join as <email>".
async function sessionMode() {
  let me = null;
  try {
    // signed-in, not session: nobody signed in is a 200, no console error.
    const r = await fetch('/dashboard/api/signed-in', { credentials: 'same-origin', cache: 'no-store' });
    if (r.status === 200) me = await r.json();
  } catch { me = null; }
  if (!me || me.signed_in !== true || typeof me.csrfToken !== 'string' || !me.user) return;
  signedIn = me.csrfToken;
  for (const el of [nameEl, pw, pw2]) {
    el.required = false;
    el.closest('.field').hidden = true;
  }
  const intro = document.getElementById('invite-intro');
  if (intro) intro.textContent = `You are signed in as ${me.user.email}. Join the organization with this account?`;
  button.textContent = 'Join with this account';
}

async function acceptSignedIn() {
  const { res, data } = await post('/dashboard/api/invitations/accept', { token }, { 'x-csrf-token': signedIn });
  if (res && res.status === 200) {
    location.replace(DASHBOARD);
    return;
  }
  if (!res) {
    showError('Could not reach the server. Check your connection and try again.', null);
    return;
  }
  const msg = res.status === 404 ?
    'This invitation is not for the account you are signed in with, or it expired. Sign out and open the link again.' :
    (data && typeof data.error === 'string' && data.error) || `Could not join (HTTP ${res.status})`;
  showError(msg, null);
}

// The new account logs in with the password just chosen.
async function loginAfter(email, password) {
  const { res } = await post('/dashboard/api/login', { email, password });
  if (res && res.status === 200) {
    location.replace(DASHBOARD);
    return;
  }
  // The invitation stays open after another password than the email's
  // account's: the person tries again here.
  showError(`${email} may have an account already: enter its password to join, or sign in with it, then open this link again.`, pw);
}

// "You are invited to ORG as ROLE (EMAIL)." (text, never markup); an
// unknown token says nothing here: the form's answer will.
async function describe() {
  if (!/^[0-9a-f]{64}$/.test(token)) return;
  const { res, data } = await post('/dashboard/api/invitations/view', { token });
  if (!res || res.status !== 200 || !data || !data.organization) return;
  const what = document.getElementById('invite-what');
  const org = data.organization.name || data.organization.id;
  what.textContent = `You are invited to ${org} as ${data.role} (${data.email}).`;
  what.hidden = false;
}

describe();
sessionMode();

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
  if (signedIn) {
    await acceptSignedIn();
    busy = false;
    button.disabled = false;
    return;
  }
  const password = pw.value;
  const { res, data } = await post('/dashboard/api/invitations/accept',
    { token, name: nameEl.value.trim(), password });
  busy = false;
  button.disabled = false;
  if (res && res.status === 200) {
    pw.value = '';
    pw2.value = '';
    await loginAfter(data && data.email, password);
    return;
  }
  if (!res) {
    showError('Could not reach the server. Check your connection and try again.', null);
    return;
  }
  const msg = (data && typeof data.error === 'string' && data.error) || `Could not join (HTTP ${res.status})`;
  showError(msg, fieldOf(msg));
});
