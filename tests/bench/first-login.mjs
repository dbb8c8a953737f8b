#!/usr/bin/env node
// What a worker's first dashboard login waits for: BENCH_LOGIN_ROUNDS (5)
// Parleys (1 worker) on the build PARLEY_BIN names (`make`: bin), each
// started fresh with DASHBOARD_PASSWORD, then two logins one after the
// other: the first also stores the first owner (its fingerprint and its
// hash, both scrypt, dashauth.c), the second is a login alone. The median
// of each is printed, never asserted. Loopback only.
//
//   PARLEY_BIN=$PWD/bin node tests/bench/first-login.mjs
import path from 'node:path';

import { Parley } from '../integration/lib/harness.mjs';
import { PASSWORD, loginRequest } from '../integration/lib/dashboard.mjs';
import { median } from './lib.mjs';

const BIN = process.env.PARLEY_BIN || path.resolve('bin');
const ROUNDS = Number(process.env.BENCH_LOGIN_ROUNDS || 5);

async function timedLogin(p) {
  const t0 = process.hrtime.bigint();
  const r = await loginRequest(p, PASSWORD);
  if (r.status !== 200) throw new Error(`login: ${r.status} ${r.text}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const first = [];
const second = [];
for (let i = 0; i < ROUNDS; i++) {
  const p = new Parley({ workers: 1, env: { DASHBOARD_PASSWORD: PASSWORD } });
  await p.start();
  try {
    first.push(await timedLogin(p));
    second.push(await timedLogin(p));
  } finally {
    await p.stop();
  }
}
console.log(`bench: first-login (${BIN}, ${ROUNDS} fresh starts): first login ` +
  `median ${median(first).toFixed(1)} ms (${first.map((x) => x.toFixed(0)).join(', ')}), ` +
  `the next ${median(second).toFixed(1)} ms (${second.map((x) => x.toFixed(0)).join(', ')})`);
