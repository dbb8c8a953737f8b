// A webhook receiver for the tests: a node http server on 127.0.0.1 that
// keeps every request it read whole (path, headers, body, arrival time)
// and counts connections; handler(req, res, hit) answers each.
import http from 'node:http';

export async function receiver(handler) {
  const r = { hits: [], connections: 0 };
  r.server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const hit = { path: req.url, headers: req.headers, body, at: Date.now() };
      r.hits.push(hit);
      handler(req, res, hit);
    });
  });
  r.server.on('connection', () => { r.connections++; });
  await new Promise((ok) => r.server.listen(0, '127.0.0.1', ok));
  r.url = (path) => `http://127.0.0.1:${r.server.address().port}${path}`;
  r.close = () => new Promise((ok) => { r.server.closeAllConnections(); r.server.close(ok); });
  return r;
}
