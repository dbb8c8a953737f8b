// People for the tests (issue 22): a member of an organisation made the way
// an owner makes one (POST /v1/admin/users with the install key, then the
// invitee accepts the link), logged in by email; and an organisation's API
// key. Both through the real HTTP API.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import { login, nextClient } from './dashboard.mjs';

// The install key's headers in organisation org (the default without one).
export const installIn = (p, org) => ({ 'x-admin-api-key': p.adminKey, ...(org ? { 'x-organization-id': org } : {}) });

// A new member of org with role: { id, email, name, password, session }.
export async function addMember(p, { org, role, name } = {}) {
  const tag = crypto.randomBytes(6).toString('hex');
  const email = `${role}-${tag}@example.com`;
  const password = `pw ${tag} ${tag}`;
  name ??= `${role[0].toUpperCase()}${role.slice(1)} ${tag}`;
  let r = await p.request('POST', '/v1/admin/users', {
    headers: { ...installIn(p, org), 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, role }),
  });
  assert.equal(r.status, 201, `invite: ${r.text}`);
  const token = new URL(r.json().url).hash.slice(1);
  // From a fresh client, as the login: a login attempt, which the client's 10 a minute count.
  r = await p.request('POST', '/dashboard/api/invitations/accept', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ token, name, password }),
    localAddress: nextClient(),
  });
  assert.equal(r.status, 200, `accept: ${r.text}`);
  const session = await login(p, password, { email });
  const id = (await session.get('/dashboard/api/session')).json().user.id;
  return { id, email, name, password, session };
}

// A new API key of org with role: { id, key }.
export async function addKey(p, { org, role }) {
  const r = await p.request('POST', '/v1/admin/api-keys', {
    headers: { ...installIn(p, org), 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: `${role} key`, role }),
  });
  assert.equal(r.status, 201, `api key: ${r.text}`);
  return r.json();
}
