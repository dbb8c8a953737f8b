// Malformed and hostile requests sent raw over TCP. Each one gets its JSON
// error answer with the right status (or, where the table says so, a plain
// close), and the server keeps serving everyone else: a good request after
// each case, and a keep-alive connection opened before the table still works
// after it.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { sleep, startParley } from './lib/harness.mjs';
import { parseResponse } from './lib/http.mjs';

const H = 'Host: 127.0.0.1\r\n';
const b = (s) => Buffer.from(s, 'latin1');
const withBody = (line, headers, body) => Buffer.concat([b(`${line} HTTP/1.1\r\n${H}${headers}Content-Length: ${body.length}\r\n\r\n`), body]);

// Sends a head and then streams a body in 64 KiB pieces until `total`
// bytes, stopping as soon as the server answers or goes away.
function streamBody(head, total, piece) {
  return async (c) => {
    await c.write(b(head));
    let sent = 0;
    while (sent < total && !c.gone && c.received === 0) {
      const chunk = piece(Math.min(65536, total - sent));
      if (!(await c.write(chunk.buf))) break;
      sent += chunk.n;
    }
  };
}

// status: allowed statuses; close: the server must close after answering
// (input it can't trust); allowSilentClose: closing without an answer is
// acceptable too.
const CASES = [
  // request line
  { name: 'garbage request line', bytes: b('GARBAGE\r\n\r\n'), status: [400] },
  { name: 'lowercase method', bytes: b(`get /health HTTP/1.1\r\n${H}\r\n`), status: [501] },
  { name: 'absurd method', bytes: b(`XYZZY /health HTTP/1.1\r\n${H}\r\n`), status: [501] },
  { name: 'a method a known one begins', bytes: b(`GETS /health HTTP/1.1\r\n${H}\r\n`), status: [501] },
  { name: 'a method that is no token', bytes: b(`GE(T /health HTTP/1.1\r\n${H}\r\n`), status: [400] },
  { name: 'method of 5000 letters', bytes: b(`${'A'.repeat(5000)} /health HTTP/1.1\r\n${H}\r\n`), status: [501] },
  { name: 'missing URL', bytes: b(`GET HTTP/1.1\r\n${H}\r\n`), status: [400] },
  { name: 'space inside URL', bytes: b(`GET /he alth HTTP/1.1\r\n${H}\r\n`), status: [400] },
  { name: 'leading space before the request line', bytes: b(` GET /health HTTP/1.1\r\n${H}\r\n`), status: [400] },
  { name: 'HTTP/2.0 request line', bytes: b(`GET /health HTTP/2.0\r\n${H}\r\n`), status: [505] },
  { name: 'HTTP/3.0 request line', bytes: b(`GET /health HTTP/3.0\r\n${H}\r\n`), status: [505] },
  { name: 'HTTP/0.9 request line (no version)', bytes: b('GET /health\r\n\r\n'), status: [400, 505], allowSilentClose: true },
  { name: 'HTTP/0.9 explicit', bytes: b(`GET /health HTTP/0.9\r\n${H}\r\n`), status: [400, 505] },
  { name: 'bad protocol name', bytes: b(`GET /health HTTX/1.1\r\n${H}\r\n`), status: [400] },
  { name: 'space after the version', bytes: b(`GET /health HTTP/1.1 \r\n${H}\r\n`), status: [400] },
  { name: 'HTTP/1.10', bytes: b(`GET /health HTTP/1.10\r\n${H}\r\n`), status: [400, 505] },
  { name: 'HTTP/2 connection preface', bytes: b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), status: [400, 505], allowSilentClose: true },
  { name: 'NUL in the request line', bytes: b(`GET /he\0alth HTTP/1.1\r\n${H}\r\n`), status: [400] },
  { name: 'only NUL bytes', bytes: Buffer.alloc(64), status: [400], allowSilentClose: true },
  { name: 'TLS ClientHello on the plain port', bytes: Buffer.from('16030100a5010000a10303' + '00'.repeat(60), 'hex'), status: [400], allowSilentClose: true },
  { name: 'URL over 8 KiB', bytes: b(`GET /${'a'.repeat(9000)} HTTP/1.1\r\n${H}\r\n`), status: [414] },
  { name: 'CONNECT', bytes: b(`CONNECT 127.0.0.1:443 HTTP/1.1\r\n${H}\r\n`), status: [400, 405, 501] },

  // headers
  { name: 'NUL in a header value', bytes: b(`GET /health HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`), status: [400] },
  { name: 'NUL in a header name', bytes: b(`GET /health HTTP/1.1\r\n${H}X-\0A: b\r\n\r\n`), status: [400] },
  { name: 'control character in a header value', bytes: b(`GET /health HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n`), status: [400] },
  { name: 'DEL in a header value', bytes: b(`GET /health HTTP/1.1\r\n${H}X-A: a\x7fb\r\n\r\n`), status: [400] },
  { name: 'header without colon', bytes: b(`GET /health HTTP/1.1\r\n${H}NoColonHere\r\n\r\n`), status: [400] },
  { name: 'space before the colon', bytes: b(`GET /health HTTP/1.1\r\n${H}X-A : b\r\n\r\n`), status: [400] },
  { name: 'empty header name', bytes: b(`GET /health HTTP/1.1\r\n${H}: b\r\n\r\n`), status: [400] },
  { name: 'obsolete line folding', bytes: b(`GET /health HTTP/1.1\r\n${H}X-A: one\r\n two\r\n\r\n`), status: [400] },
  { name: 'bare CR inside a header', bytes: b(`GET /health HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`), status: [400] },
  { name: 'HTTP/1.1 without Host', bytes: b('GET /health HTTP/1.1\r\n\r\n'), status: [400] },
  { name: 'two Host headers', bytes: b(`GET /health HTTP/1.1\r\n${H}Host: evil.example\r\n\r\n`), status: [400] },
  { name: 'Host with a space in it', bytes: b('GET /health HTTP/1.1\r\nHost: a b\r\n\r\n'), status: [400] },
  { name: 'one header over 16 KiB', bytes: b(`GET /health HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(17 * 1024)}\r\n\r\n`), status: [431] },
  { name: 'headers totalling over 16 KiB', bytes: b(`GET /health HTTP/1.1\r\n${H}${Array.from({ length: 30 }, (_, i) => `X-H${i}: ${'v'.repeat(600)}\r\n`).join('')}\r\n`), status: [431] },
  { name: '100 headers', bytes: b(`GET /health HTTP/1.1\r\n${H}${Array.from({ length: 100 }, (_, i) => `X-H${i}: v\r\n`).join('')}\r\n`), status: [431] },

  // Content-Length
  { name: 'Content-Length and Transfer-Encoding', bytes: b(`POST /health HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`), status: [400] },
  { name: 'Transfer-Encoding then Content-Length', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`), status: [400] },
  { name: 'two different Content-Lengths', bytes: b(`POST /health HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef`), status: [400] },
  { name: 'two equal Content-Lengths', bytes: b(`POST /health HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nabcde`), status: [400] },
  { name: 'Content-Length list "5, 5"', bytes: b(`POST /health HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nabcde`), status: [400] },
  { name: 'empty Content-Length', bytes: b(`POST /health HTTP/1.1\r\n${H}Content-Length:\r\n\r\n`), status: [400] },
  { name: 'negative Content-Length', bytes: b(`POST /health HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`), status: [400] },
  { name: 'non-numeric Content-Length', bytes: b(`POST /health HTTP/1.1\r\n${H}Content-Length: abc\r\n\r\n`), status: [400] },
  { name: 'Content-Length with a plus sign', bytes: b(`POST /health HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nabcde`), status: [400] },
  { name: 'Content-Length "5 5"', bytes: b(`POST /health HTTP/1.1\r\n${H}Content-Length: 5 5\r\n\r\nabcde`), status: [400] },
  { name: 'Content-Length overflowing 64 bits', bytes: b(`POST /health HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\n`), status: [400, 413] },
  { name: 'body over 2 MiB by Content-Length (413 before the body)', bytes: b(`POST /health HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: ${3 * 1024 * 1024}\r\n\r\n`), status: [413] },
  { name: 'body over 2 MiB with Expect: 100-continue', bytes: b(`POST /health HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: ${3 * 1024 * 1024}\r\n\r\n`), status: [413, 417] },
  {
    name: 'chunked body over 2 MiB (streamed)',
    send: streamBody(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n`, 3 * 1024 * 1024,
      (n) => ({ n, buf: Buffer.concat([b(`${n.toString(16)}\r\n`), Buffer.alloc(n, 0x61), b('\r\n')]) })),
    status: [413],
  },
  {
    name: 'Content-Length body over 2 MiB actually sent',
    send: streamBody(`POST /health HTTP/1.1\r\n${H}Content-Length: ${3 * 1024 * 1024}\r\n\r\n`, 3 * 1024 * 1024,
      (n) => ({ n, buf: Buffer.alloc(n, 0x62) })),
    status: [413],
  },

  // chunked encoding
  { name: 'bad chunk size', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`), status: [400] },
  { name: 'negative chunk size', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\nabcde\r\n0\r\n\r\n`), status: [400] },
  { name: 'chunk size overflowing 64 bits', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\nabc\r\n`), status: [400, 413] },
  { name: 'chunk data longer than its size', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n`), status: [400] },
  { name: 'chunk data not followed by CRLF', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabcXX0\r\n\r\n`), status: [400] },
  { name: 'Transfer-Encoding: chunked in an HTTP/1.0 request', bytes: b(`POST /health HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`), status: [400, 501] },
  { name: 'NUL in a chunk extension', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;\0\r\nabc\r\n0\r\n\r\n`), status: [400] },
  { name: 'Transfer-Encoding: gzip', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\nabc`), status: [501] },
  { name: 'Transfer-Encoding: gzip, chunked', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`), status: [501] },
  { name: 'Transfer-Encoding: chunked, gzip (chunked not last)', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n3\r\nabc\r\n0\r\n\r\n`), status: [400, 501] },
  { name: 'Transfer-Encoding: xchunked', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`), status: [400, 501] },
  { name: 'two Transfer-Encoding headers (chunked, identity)', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n3\r\nabc\r\n0\r\n\r\n`), status: [400, 501] },
  { name: 'Transfer-Encoding with a vertical tab', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: \x0bchunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`), status: [400] },

  // smuggling: a second request hidden in the first one's body
  { name: 'smuggling CL.TE', bytes: b(`POST /health HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\n${H}\r\n`), status: [400] },
  { name: 'smuggling TE.CL', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n`), status: [400] },
  { name: 'smuggling TE with space before colon', bytes: b(`POST /health HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n`), status: [400] },

  // bodies the router must reject cleanly (no JSON endpoint yet: POST /health is 405)
  { name: 'invalid UTF-8 in a JSON body', bytes: withBody('POST /health', 'Content-Type: application/json\r\n', b('{"message":"\xff\xfe\xc0"}')), status: [405], close: false },
  { name: 'NUL bytes in a JSON body', bytes: withBody('POST /health', 'Content-Type: application/json\r\n', b('{"message":"\0\0"}')), status: [405], close: false },
  { name: 'percent-encoded NUL in the path', bytes: b(`GET /health%00 HTTP/1.1\r\n${H}\r\n`), status: [400, 404], close: false },
];

// close defaults to true: after answering bad framing the server can't
// trust the rest of the stream and must close.
for (const c of CASES) if (c.close === undefined) c.close = true;

async function runCase(p, k) {
  const c = await p.connect();
  try {
    if (k.send) await k.send(c);
    else await c.write(k.bytes);
    const deadline = Date.now() + 5000;
    let res = null;
    while (Date.now() < deadline) {
      let r = null;
      try { r = parseResponse(c.buf, { eof: c.gone }); } catch (e) { return { error: `unparsable response: ${e.message}: ${JSON.stringify(c.buf.subarray(0, 300).toString('latin1'))}` }; }
      if (r && r.response.status >= 100 && r.response.status < 200) { c.buf = c.buf.subarray(r.used); continue; }
      if (r) { res = r.response; c.buf = c.buf.subarray(r.used); break; }
      if (c.gone) break;
      await c.waitData(deadline - Date.now());
    }
    if (!res) {
      if (c.gone) return { silentClose: true, error: c.error && c.error.code };
      return { timeout: true };
    }
    const closed = k.close ? await c.waitClose(2000) : null;
    return { res, closed };
  } finally {
    c.destroy();
  }
}

test(`bad input: ${CASES.length} malformed or hostile requests`, { timeout: 120000 }, async (t) => {
  assert.ok(CASES.length >= 30);
  const p = await startParley(t, { workers: 2, headerTimeoutMs: 3000 });
  const keep = await p.connect();
  t.after(() => keep.destroy());
  assert.equal((await keep.request('GET', '/health')).status, 200);

  const failures = [];
  for (const k of CASES) {
    const out = await runCase(p, k);
    let why = null;
    if (out.error && !out.silentClose) why = out.error;
    else if (out.timeout) why = 'no answer and no close within 5 s';
    else if (out.silentClose) {
      if (!k.allowSilentClose) why = `closed without an answer${out.error ? ` (${out.error})` : ''}`;
    } else {
      const r = out.res;
      if (!k.status.includes(r.status)) why = `status ${r.status}, expected ${k.status.join(' or ')} (body ${r.text.slice(0, 200)})`;
      else if (!/^application\/json/.test(r.headers['content-type'] || '')) why = `content-type ${r.headers['content-type']}`;
      else {
        let j = null;
        try { j = r.json(); } catch { /* below */ }
        if (!j || typeof j.error !== 'string' || !j.error) why = `body is not {"error": "..."}: ${r.text.slice(0, 200)}`;
        else if (k.close && !out.closed) why = `answered ${r.status} but did not close the connection`;
      }
    }
    t.diagnostic(`${why ? 'FAIL' : 'ok  '} ${k.name}: ${out.res ? `${out.res.status} ${out.res.text.slice(0, 80)}` : out.silentClose ? 'closed' : 'timeout'}${why ? ` -- ${why}` : ''}`);
    if (why) failures.push(`${k.name}: ${why}`);

    // everyone else is still served
    const good = await p.get('/health', { timeout: 3000 }).catch((e) => ({ status: e.message }));
    if (good.status !== 200) failures.push(`${k.name}: a good request afterwards got ${good.status}`);
  }
  const r = await keep.request('GET', '/health').catch((e) => ({ status: e.message }));
  assert.equal(r.status, 200, 'the keep-alive connection opened before the table still works');
  assert.equal(p.workerPids().length, 2);
  assert.deepEqual(failures, []);
});

test('bad input does not disturb pipelined neighbours on other connections', { timeout: 60000 }, async (t) => {
  const p = await startParley(t, { workers: 1, headerTimeoutMs: 3000 });
  // One worker: every connection shares its loop. Bad requests and good
  // pipelined ones interleave.
  const good = await p.connect();
  t.after(() => good.destroy());
  for (let i = 0; i < 20; i++) {
    const k = CASES[i % CASES.length];
    const bad = await p.connect();
    if (k.send) await k.send(bad); else await bad.write(k.bytes);
    await good.write(b(`GET /health HTTP/1.1\r\n${H}\r\nGET /health HTTP/1.1\r\n${H}\r\n`));
    assert.equal((await good.response()).status, 200);
    assert.equal((await good.response()).status, 200);
    bad.destroy();
    await sleep(5);
  }
});
