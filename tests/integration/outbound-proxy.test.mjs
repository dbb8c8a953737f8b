// The proxy variables (docs/configuration.md, "Outbound proxy"). The
// model's requests honour them, as libcurl reads them
// (workerd/model/mconn.c): with http_proxy set the worker's connection to
// the model is a tunnel through the proxy (CONNECT host:port, an http://
// model's too) and the reply streams through it; a host no_proxy names is
// asked directly. The requests the address
// policy guards never use them (workerd/net/urlpolicy.c urlpol_curl_io):
// with http_proxy set, the knowledge base's crawl and the dashboard's page
// check reach the site themselves and the proxy sees nothing. The proxy is
// a small forward proxy of the test's own on loopback (plain HTTP: the
// mock speaks no TLS).
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import { Parley, waitFor } from './lib/harness.mjs';
import { mockReply, sid, streamTurn } from './lib/chat.mjs';
import { adminCaller } from './lib/openapi.mjs';
import { receiver } from './lib/receiver.mjs';

// A forward proxy: each request (its URL absolute) sent on to its origin,
// the answer streamed back as it comes; a CONNECT tunnels to its host and
// port. seen: what was asked of it ("POST http://...", "CONNECT h:p").
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
  server.on('connect', (req, sock, head) => {
    seen.push(`CONNECT ${req.url}`);
    const [host, port] = req.url.split(':');
    const out = net.connect(Number(port), host, () => {
      sock.write('HTTP/1.1 200 Connection established\r\n\r\n');
      out.write(head);
      out.pipe(sock);
      sock.pipe(out);
    });
    out.on('error', () => sock.destroy());
    sock.on('error', () => out.destroy());
  });
  return { seen, server };
}

describe('the proxy variables', { timeout: 60000 }, () => {
  const proxy = forwardProxy();
  let proxyUrl;

  before(async () => {
    await new Promise((r) => proxy.server.listen(0, '127.0.0.1', r));
    proxyUrl = `http://127.0.0.1:${proxy.server.address().port}`;
  });
  after(() => new Promise((r) => proxy.server.close(r)));

  test('http_proxy: the model is asked through a tunnel of the proxy, and the reply streams whole', async () => {
    const p = new Parley({ mock: true, env: { http_proxy: proxyUrl } });
    await p.start();
    try {
      proxy.seen.length = 0;
      const s = await streamTurn(p, sid('px'), 'hello via the proxy');
      assert.equal(s.status, 200, s.body.toString());
      assert.equal(s.event('done')?.message, mockReply('hello via the proxy'));
      assert.deepEqual(proxy.seen, [`CONNECT ${new URL(p.mock.baseUrl).host}`]);
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

  test('the guarded requests (the knowledge crawl, the page check) never go through the proxy', async () => {
    const html = '<!doctype html><html lang="en"><head><title>Kettle</title></head>' +
      '<body><main><h1>Kettle</h1><p>Descale the kettle monthly.</p></main></body></html>';
    const site = await receiver((req, res) => {
      res.writeHead(req.url === '/docs/' ? 200 : 404, { 'content-type': 'text/html' });
      res.end(html);
    });
    const p = new Parley({
      workers: 1, mock: true,
      env: { http_proxy: proxyUrl, PARLEY_KNOWLEDGE_ALLOW_PRIVATE: 'on', RATE_LIMIT_MAX_REQUESTS: '0' },
    });
    await p.start();
    try {
      const call = await adminCaller(p);
      proxy.seen.length = 0;
      let r = await call('POST', '/v1/admin/knowledge/sources', { type: 'crawl', url: site.url('/docs/') });
      assert.equal(r.status, 201, r.text);
      const id = r.json().id;
      let src;
      await waitFor(async () => {
        src = (await call('GET', `/v1/admin/knowledge/sources/${id}`)).json();
        return src.status !== 'syncing' && src.synced_at > 0;
      }, 20000, 'the source synced');
      assert.equal(src.status, 'ready', src.error);
      assert.equal(src.pages, 1);
      assert.ok(site.hits.some((h) => h.path === '/docs/'), 'the site was not asked for its page');

      r = await call('POST', '/v1/admin/widgets', { name: 'Shop' });
      assert.equal(r.status, 201, r.text);
      r = await call('POST', `/v1/admin/widgets/${r.json().widget_id}/check-page`, { url: site.url('/docs/') });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json().found, false);
      assert.equal(site.hits.filter((h) => h.path === '/docs/').length, 2);
      // Neither went through the proxy (the embeddings, not guarded here, may).
      assert.deepEqual(proxy.seen.filter((u) => u.includes(site.url('/'))), []);
    } finally {
      await p.stop();
      await site.close();
    }
  });
});
