// The model's requests honour the usual proxy variables, as libcurl reads
// them (workerd/model/upstream.c; docs/configuration.md, "Outbound
// proxy"): with http_proxy set the worker asks the proxy for the model's
// URL (absolute form) and the reply streams through it; a host no_proxy
// names is asked directly. The proxy is a small forward proxy of the
// test's own on loopback (plain HTTP: the mock speaks no TLS).
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';

import { Parley } from './lib/harness.mjs';
import { mockReply, sid, streamTurn } from './lib/chat.mjs';

// A forward proxy: each request (its URL absolute) sent on to its origin,
// the answer streamed back as it comes. seen: the URLs asked of it.
function forwardProxy() {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    let target;
    try {
      target = new URL(req.url);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const out = http.request({
      host: target.hostname, port: target.port, method: req.method,
      path: target.pathname + target.search, headers: req.headers,
    }, (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  return { seen, server };
}

describe('the model through an outbound proxy', { timeout: 60000 }, () => {
  const proxy = forwardProxy();
  let proxyUrl;

  before(async () => {
    await new Promise((r) => proxy.server.listen(0, '127.0.0.1', r));
    proxyUrl = `http://127.0.0.1:${proxy.server.address().port}`;
  });
  after(() => new Promise((r) => proxy.server.close(r)));

  test('http_proxy: the model is asked through the proxy, and the reply streams whole', async () => {
    const p = new Parley({ mock: true, env: { http_proxy: proxyUrl } });
    await p.start();
    try {
      proxy.seen.length = 0;
      const s = await streamTurn(p, sid('px'), 'hello via the proxy');
      assert.equal(s.status, 200, s.body.toString());
      assert.equal(s.event('done')?.message, mockReply('hello via the proxy'));
      assert.deepEqual(proxy.seen, [`POST ${p.mock.baseUrl}/chat/completions`]);
    } finally {
      await p.stop();
    }
  });

  test('no_proxy naming the model\'s host: asked directly, the proxy sees nothing', async () => {
    const p = new Parley({ mock: true, env: { http_proxy: proxyUrl, no_proxy: '127.0.0.1' } });
    await p.start();
    try {
      proxy.seen.length = 0;
      const s = await streamTurn(p, sid('px'), 'hello directly');
      assert.equal(s.event('done')?.message, mockReply('hello directly'));
      assert.deepEqual(proxy.seen, []);
    } finally {
      await p.stop();
    }
  });
});
