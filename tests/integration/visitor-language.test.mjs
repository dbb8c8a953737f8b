// The server's own words to a visitor in the widget's language (the
// refusals a chat socket sends as "error" frames, and the default away
// message), against the real processes: the widget's language when it has
// one, else the first widget language the browser's Accept-Language names,
// else English; each error frame carries a code that is the same in every
// language. A page's mistakes (a malformed frame) stay in English.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { createWidget, Visitor } from './lib/wsclient.mjs';

const DEFAULT_AWAY = "We're away right now. Leave your email and we'll get back to you.";
const NOT_FOUND = {
  en: 'Conversation not found',
  de: 'Unterhaltung nicht gefunden',
  fr: 'Conversation introuvable',
  es: 'Conversación no encontrada',
  ja: '会話が見つかりません',
};

describe('the server speaks the visitor\'s language', () => {
  let p;
  before(async () => {
    p = new Parley({ mock: true, env: { RATE_LIMIT_MAX_REQUESTS: '0' } });
    await p.start();
  });
  after(async () => { await p.stop(); assert.deepEqual(p.problems, []); });

  // A socket of widget w (with the upgrade's headers), past its session.
  async function visit(w, headers = {}) {
    const v = await Visitor.open(p, w.widget_id, { headers });
    await v.next('session');
    return v;
  }
  // The error an unknown conversation gets on socket v.
  async function notFound(v) {
    v.send({ type: 'open_conversation', id: crypto.randomBytes(16).toString('hex') });
    return v.next('error');
  }

  test('the widget\'s language first, then Accept-Language, then English; the code the same in each', async () => {
    const plain = await createWidget(p);
    const german = await createWidget(p, { language: 'de' });
    const cases = [
      [plain, {}, 'en'],
      [plain, { 'Accept-Language': 'fr-FR,fr;q=0.9,en;q=0.8' }, 'fr'],
      [plain, { 'Accept-Language': 'sv-SE, ja;q=0.5' }, 'ja'],
      [plain, { 'Accept-Language': 'de;q=0, es' }, 'es'],
      [plain, { 'Accept-Language': 'sv, fi' }, 'en'],
      [german, {}, 'de'],
      [german, { 'Accept-Language': 'fr-FR' }, 'de'],
    ];
    for (const [w, headers, lang] of cases) {
      const v = await visit(w, headers);
      assert.deepEqual(await notFound(v), { type: 'error', message: NOT_FOUND[lang], code: 'conversation_not_found', frame: 'open_conversation' }, `${w.language} ${JSON.stringify(headers)}`);
      v.close();
    }
  });

  test('a refusal in the language; a page\'s mistake in English', async () => {
    const w = await createWidget(p, { language: 'de', rating_enabled: true });
    const v = await visit(w);
    // Feedback before any message: "a message first", in German.
    v.send({ type: 'rating', score: 5 });
    assert.deepEqual(await v.next('error'), { type: 'error', message: 'Bitte senden Sie zuerst eine Nachricht.', code: 'message_first', frame: 'rating' });
    // A page's mistake stays in English, without a code.
    v.send({ type: 'rating', score: 9 });
    assert.deepEqual(await v.next('error'), { type: 'error', message: 'score: must be 1 to 5', frame: 'rating' });
    v.close();
  });

  test('the default away message in the visitor\'s language; the owner\'s own as written', async () => {
    // A zone and no hours: always away.
    const away = { handoff_enabled: true, business_hours: { timezone: 'UTC', days: {} } };
    const w = await createWidget(p, away);
    let v = await visit(w, { 'Accept-Language': 'fr-CA' });
    let a = await v.availability();
    assert.equal(a.away, true);
    assert.equal(a.message, 'Nous sommes absents pour le moment. Laissez votre e-mail et nous vous répondrons.');
    v.close();
    v = await visit(w);
    assert.equal((await v.availability()).message, DEFAULT_AWAY);
    v.close();
    // The public config: the same rule, and caches told it varies.
    const path = `/api/widget/${w.widget_id}/config`;
    let r = await p.get(path, { headers: { 'Accept-Language': 'de-AT,de' } });
    assert.equal(r.status, 200, r.body);
    assert.match(r.json().availability.message, /^Wir sind gerade nicht da\./);
    assert.match(r.headers.vary, /Accept-Language/);
    // The owner's message is theirs, whatever the visitor's language.
    const own = await createWidget(p, { ...away, away_message: 'Back at nine.' });
    r = await p.get(`/api/widget/${own.widget_id}/config`, { headers: { 'Accept-Language': 'de' } });
    assert.equal(r.json().availability.message, 'Back at nine.');
    v = await visit(own, { 'Accept-Language': 'ja' });
    assert.equal((await v.availability()).message, 'Back at nine.');
    v.close();
  });
});
