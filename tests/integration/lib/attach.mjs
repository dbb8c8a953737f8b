// Attachments' helpers for the tests (docs/attachments.md): a PNG of any
// size, and a visitor's upload in pieces.
import crypto from 'node:crypto';

export const PIECE = 256 << 10;	// the server's piece_size

// A PNG's signature and IHDR, then n - 33 bytes of noise (the sniffing
// reads the header; the rest is the file's).
export function png(n = 4000) {
  const head = Buffer.from('89504e470d0a1a0a0000000d4948445200000010000000100806000000', 'hex');
  const b = Buffer.alloc(Math.max(n, head.length + 4));
  head.copy(b);
  crypto.randomFillSync(b, head.length);
  return b;
}

// Uploads data as name through widget wid with the visitor's token:
// {status, json} of the refusal, or of the last piece.
export async function upload(p, wid, token, name, data, { pieceSize = PIECE } = {}) {
  const h = { 'X-Parley-Session': token, 'Content-Type': 'application/json' };
  let r = await p.request('POST', `/api/widget/${wid}/attachments`, { headers: h, body: JSON.stringify({ name, size: data.length }) });
  if (r.status !== 201) return { status: r.status, json: r.json(), headers: r.headers };
  const { id } = r.json();
  for (let off = 0; off < data.length; off += pieceSize) {
    const piece = data.subarray(off, Math.min(off + pieceSize, data.length));
    r = await p.request('PUT', `/api/widget/${wid}/attachments/${id}`, {
      headers: { 'X-Parley-Session': token, 'Content-Range': `bytes ${off}-${off + piece.length - 1}/${data.length}` },
      body: piece,
    });
    if (r.status !== 200) return { status: r.status, json: r.json(), id };
  }
  return { status: r.status, json: r.json(), id };
}
