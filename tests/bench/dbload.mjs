#!/usr/bin/env node
// Fills storaged with conversations straight through its binary protocol
// (tests/integration/lib/storage.mjs), much faster than chat turns: each
// conversation is what a finished chat turn leaves, a user message
// (ST_CHAT_BEGIN, as the worker sends it) and the assistant's reply
// (ST_MSG_APPEND). BENCH_LOAD_WINDOW (2048) conversations are in flight at
// once on one connection, so storaged's group commit puts many in each
// transaction; scripts/bench.sh runs storaged with PARLEY_SYNC=interval
// while this loads. Tops the store up to --to conversations (ST_CONV_LIST's
// total) and prints how long it took; the figures also go to --out under
// --key when given.
//
//   node tests/bench/dbload.mjs --storaged SOCKET --to N [--out FILE --key NAME]
import { Dec, Enc, StorageClient, T, decAgent } from '../integration/lib/storage.mjs';
import { die, now, parseArgs, saveJson } from './lib.mjs';

const a = parseArgs();
const TO = Number(a.to);
const WINDOW = Number(process.env.BENCH_LOAD_WINDOW || 2048);
if (!a.storaged || !Number.isFinite(TO)) die('usage: dbload.mjs --storaged SOCKET --to N [--out FILE --key NAME]');

const RUN = `l${process.pid}-${Date.now().toString(36)}`;
const opts = { timeout: 120000 };
const sc = await StorageClient.connect(a.storaged, { name: 'bench-load' });
const have = (await sc.convList(1, '', opts)).total;
const missing = Math.max(0, TO - have);

// Every GAP_EVERY-th conversation's answer says the assistant does not
// know (a knowledge gap), its question one of GAP_TOPICS wordings: the
// gaps' query has gaps to group.
const GAP_EVERY = 10;
const GAP_TOPICS = ['ship to Norway', 'pay with a gift card', 'change my delivery address', 'get an invoice for my company',
  'order a custom size', 'cancel a subscription', 'track a parcel sent abroad', 'book a fitting appointment'];

// BENCH_GAP_DISTINCT=1: each gap's question four words of its own
// instead (from 240 made-up words), so no two group: the grouping's worst case.
const DISTINCT = process.env.BENCH_GAP_DISTINCT === '1';
const WORDS = Array.from({ length: 240 }, (_, k) => `w${(k * 7919 % 997).toString(36)}x${k.toString(36)}`);
const mix = (x) => { x = Math.imul(x ^ (x >>> 16), 0x45d9f3b); x = Math.imul(x ^ (x >>> 16), 0x45d9f3b); return (x ^ (x >>> 16)) >>> 0; };
const distinct = (i) => [1, 2, 3, 4].map((j) => WORDS[mix(i * 8 + j) % WORDS.length]).join(' ');

// One conversation: the user's first message, then the model's reply.
async function one(i) {
  const gap = i % GAP_EVERY === 0;
  const topic = DISTINCT ? distinct(i) : GAP_TOPICS[(i / GAP_EVERY) % GAP_TOPICS.length | 0];
  const user = gap && DISTINCT ? `${topic}?` : gap ? `Hi, visitor ${i % 7} here: can I ${topic}?` :
    `Hello, this is visitor ${i}. What are your opening hours, and can I return an item bought online?`;
  const p = await sc.call(T.ST_CHAT_BEGIN, new Enc().str('default').str(`${RUN}-${i}`).str(user)
    .str('').u32(0).u32(0).u32(1).str('').str('').str('').str('').str('')
    .u32(0).u32(0).done(), opts);	// no session hash, no attachments
  // u8 result, u64 retry, the effective agent, u8 created, the conversation's id.
  const d = new Dec(p);
  const result = d.u8();
  if (result !== 0) throw new Error(`ST_CHAT_BEGIN result ${result}`);
  d.u64();
  decAgent(d);
  d.u8();
  const convId = d.str();
  await sc.msgAppend(convId, 'assistant', gap ? 'I\'m sorry, I don\'t know the answer to that.' :
    `You said: ${user} We are open 9 to 17 on weekdays; online orders can be returned within 30 days.`, 'complete', 40, 30, opts);
}

const t0 = now();
let next = 0;
let done = 0;
let lastReport = t0;
await Promise.all(Array.from({ length: Math.min(WINDOW, missing) }, async () => {
  while (next < missing) {
    await one(next++);
    done++;
    if (now() - lastReport > 10000) {
      lastReport = now();
      process.stderr.write(`bench: loaded ${done} of ${missing} conversations (${Math.round(done / ((now() - t0) / 1000))}/s)...\n`);
    }
  }
}));
const secs = (now() - t0) / 1000;
const total = (await sc.convList(1, '', opts)).total;
sc.close();
if (total < TO) die(`storaged holds ${total} conversations after the load, not ${TO}`);
const res = { from: have, to: total, loaded: missing, seconds: secs, perSecond: missing / (secs || 1) };
if (a.out && a.key) saveJson(a.out, a.key, res);
process.stderr.write(`bench: loaded ${missing} conversations (${have} -> ${total}) in ${secs.toFixed(1)} s (${Math.round(res.perSecond)}/s)\n`);
