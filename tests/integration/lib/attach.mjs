// Attachments' helpers for the tests (docs/attachments.md): a PNG of any
// size, a one-page PDF with a text, and a visitor's upload in pieces.
import crypto from 'node:crypto';

export const PIECE = 256 << 10;	// the server's piece_size

// CRC-32 (PNG's, zlib's) of b.
function crc32(b) {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

// A PNG chunk: length, type, data, CRC.
export function pngChunk(type, data) {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])));
  return Buffer.concat([head, data, crc]);
}

// A PNG of n bytes: its signature, IHDR, an IDAT of noise (the sniffing
// reads the header; the stripping walks the chunks), IEND; extra chunks
// (metadata, say) before the IDAT.
export function png(n = 4000, extra = []) {
  const sig = Buffer.from('89504e470d0a1a0a', 'hex');
  const ihdr = pngChunk('IHDR', Buffer.from('00000010000000100806000000', 'hex'));
  const iend = pngChunk('IEND', Buffer.alloc(0));
  const fixed = sig.length + ihdr.length + iend.length + 12 + extra.reduce((a, c) => a + c.length, 0);
  const idat = pngChunk('IDAT', crypto.randomBytes(Math.max(n - fixed, 4)));
  return Buffer.concat([sig, ihdr, ...extra, idat, iend]);
}

// A PDF of one page saying text (letters, digits and spaces), comment
// its second line (the test build's reader reads some as hooks:
// workerd/fetch/attextract.c).
export function pdf(text, comment = 'a page') {
  const stream = `BT /F1 18 Tf 24 70 Td (${text}) Tj ET`;
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let out = `%PDF-1.4\n% ${comment}\n`;
  const offsets = objs.map((o, i) => {
    const at = out.length;
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
    return at;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

// Uploads data as name through widget wid with the visitor's token (from
// localAddress, when given; as a page of origin would, when given, its
// Origin on each request): {status, json} of the refusal, or of the last
// piece (each answer awaited timeout ms at most: the http client's own
// bound when not given).
export async function upload(p, wid, token, name, data, { pieceSize = PIECE, localAddress, timeout, origin } = {}) {
  const o = origin ? { Origin: origin } : {};
  const h = { 'X-Parley-Session': token, 'Content-Type': 'application/json', ...o };
  let r = await p.request('POST', `/api/widget/${wid}/attachments`, { localAddress, headers: h, body: JSON.stringify({ name, size: data.length }) });
  if (r.status !== 201) return { status: r.status, json: r.json(), headers: r.headers };
  const { id } = r.json();
  for (let off = 0; off < data.length; off += pieceSize) {
    const piece = data.subarray(off, Math.min(off + pieceSize, data.length));
    r = await p.request('PUT', `/api/widget/${wid}/attachments/${id}`, {
      localAddress,
      headers: { 'X-Parley-Session': token, 'Content-Range': `bytes ${off}-${off + piece.length - 1}/${data.length}`, ...o },
      body: piece,
      timeout,
    });
    if (r.status !== 200) return { status: r.status, json: r.json(), id, headers: r.headers };
  }
  return { status: r.status, json: r.json(), id };
}
