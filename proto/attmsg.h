/*
 * Attachments: the files visitors send and people reply with, kept by
 * storaged's attachment store (storaged/attstore.c) and served by the
 * workers (workerd/attach/). A file is uploaded in pieces of
 * ST_ATT_PIECE bytes, each stored once per organisation by its SHA-256
 * (two equal files, or equal pieces, are kept once and counted), then
 * named by the message that carries it, and deleted with that message's
 * conversation. An upload no message names within ST_ATT_PENDING_MS, or
 * one cut before its last piece, is swept with its pieces.
 *
 *   ST_ATT_NEW      str widget_id, bytes token (a visitor's: the widget's
 *                   public id and its session token's hash), str conv_id
 *                   (a person's: who asks's conversation), str name, u32
 *                   size, str rate_key, u32 window_ms, u32 rate_kib,
 *                   u64 quota
 *                           -> u8 result, u64 retry_ms, str id, u32 max
 *     A new upload of size bytes: the widget's types and size limit
 *     (max: its bytes), the client's bytes a window (rate_key's,
 *     rate_kib KiB in window_ms; retry_ms when spent), the organisation's
 *     bytes stored (quota; 0 none).
 *   ST_ATT_PUT      str id, str widget_id, bytes token (a visitor's; a
 *                   person's: "", none), u32 offset, u8 type, u8 scan, u8
 *                   drop, bytes hash, bytes data, u64 quota, u8 reset,
 *                   u32 size, str conv_id, bytes prior, str rate_key
 *                           -> u8 result, u32 received, u8 whole, att,
 *                              u64 retry_ms
 *     The piece at offset (where the upload stands, else ST_ATT_ORDER
 *     with received: send from there). Every piece but the last is
 *     ST_ATT_PIECE bytes. The first says the type (decided by its bytes);
 *     the last the scan's verdict, and ends the upload (whole 1, att its
 *     description). drop: the upload is deleted instead (cancelled, or
 *     refused by the scan). reset: the first piece of the file rewritten
 *     by the worker (an image without its metadata), size its new size,
 *     no bigger: what was stored of it goes; otherwise size is the
 *     Content-Range's SIZE, refused (PROTO_E_INVALID) before where the
 *     upload stands is judged when not the upload's (0: not said).
 *     conv_id (a person's): the conversation of the request's path, ""
 *     a canned reply's: an upload made for another is no such upload.
 *     rate_key (a visitor's or an
 *     API client's, on every piece): its first piece of a PDF counts
 *     against the client's ST_ATT_PDF_HOUR (ST_ATT_PDFS, retry_ms, when
 *     spent); its last queues the PDF's reading in the client's turn
 *     (ST_ATT_EXTRACT_DUE; "": the organisation's). prior (the last piece's, when
 *     the worker read the pieces before it to scan or strip them): the
 *     chain of their hashes, which the upload's must be (else ST_ATT_ORDER).
 *   ST_ATT_READ     str id, u32 piece, u8 mode, str widget_id
 *                           -> u8 result, attachment, bytes data, str text,
 *                              u8 text_status
 *     An attachment a message names and its piece-th piece: a visitor's
 *     (through a link the worker signs with its key) or the model's.
 *     mode (enum st_att_read_mode): a piece of an upload still arriving
 *     instead (its scan), of one in any state (the fetcher), or a named
 *     PDF's text alone, with where it stands (text_status: pending,
 *     ready, failed; "" text both before it is read and when none could
 *     be). A visitor's link (ST_ATT_READ_LINK) holds under
 *     its conversation's widget alone: widget_id the public id of the
 *     link's path ("" the chat API's, the default widget); another is
 *     ST_ATT_NO_WIDGET.
 *   ST_ATT_ADMIN_NEW, ST_ATT_ADMIN_PUT, ST_ATT_ADMIN_READ
 *     The same, led by who asks: a person's upload to a conversation of
 *     their organisation, and any attachment of it.
 *   ST_ATT_EXTRACT_DUE  -> u8 result, str id, u32 size, u8 attempt
 *     The fetcher's: a PDF whose text is to be read, leased for
 *     ST_ATT_LEASE_MS (attempt: 1 the first): its text not kept by
 *     then (the fetcher died reading it), it is queued again, and
 *     after ST_ATT_EXTRACT_TRIES leases it keeps an empty text (as a
 *     file poppler cannot read does).
 *     The queue goes round by round across the clients that sent them
 *     (storaged/attqueue.c): one client's many never hold another's one.
 *   ST_ATT_TEXT_PUT     str id, str text, u8 failed -> ()
 *     The fetcher's: the PDF's text (at most ST_ATT_TEXT_KEPT bytes),
 *     kept with it (its lease ended), shown to the model with the
 *     message that names it; failed: none could be read (its reader
 *     failed), the file's text given up.
 */
#ifndef PARLEY_ATTMSG_H
#define PARLEY_ATTMSG_H

#include <stdint.h>

#include "kbmsg.h"
#include "orgmsg.h"
#include "record.h"
#include "storemsg.h"
#include "widgetmsg.h"

/*
 * Bytes of an upload's piece: what one client may have in a worker's
 * buffers at once (PARLEY_MAX_BODY_KB_PER_CLIENT's default), so a
 * hundred uploading visitors hold a hundred pieces at most.
 */
#define ST_ATT_PIECE		(256u << 10)
#define ST_ATT_MB		(1u << 20)	/* attachment_max_mb's unit */
#define ST_ATT_MAX		(ST_ATTACH_MB_MAX * ST_ATT_MB)
#define ST_ATT_PIECES_MAX	(ST_ATT_MAX / ST_ATT_PIECE)
#define ST_ATT_TEXT_MAX		ST_ATT_PIECE	/* a text file: one piece */
#define ST_ATT_PENDING_MS	(60u * 60 * 1000)	/* to be named by a message */
/*
 * A client's share of its organisation's quota (storaged's opvisitor.c):
 * the bytes of the uploads it begins, counted over this window, named by
 * a message or not.
 */
#define ST_ATT_SHARE_WINDOW_MS	(24u * 60 * 60 * 1000)
/*
 * The part of a quota visitors' uploads may fill, all of them together:
 * the rest is the staff's alone, so visitors, one or many, never leave a
 * person's upload refused.
 */
#define ST_ATT_VISITORS_PART(quota)	((quota) - (quota) / 10)
#define ST_ATT_PER_CONV_MAX	50	/* files a conversation holds */
#define ST_ATT_KEY_HEX		64	/* a link's signing key */
#define ST_ATT_HASH_LEN		32	/* SHA-256 */
/*
 * A visitor's client's PDFs an hour (their first pieces counted): each is
 * read by the fetcher, up to 5 s of CPU (attextract.c), so one address
 * may cost about 100 s of a core an hour and no more.
 */
#define ST_ATT_PDF_HOUR		20
#define ST_ATT_PDF_WINDOW_MS	(60u * 60 * 1000)
/*
 * A PDF handed to the fetcher comes back to the queue when its text is
 * not kept within ST_ATT_LEASE_MS (longer than the longest read: its
 * reader's 30 s, attextract.c, and the pieces), at most
 * ST_ATT_EXTRACT_TRIES times in all: a file that ends the fetcher every
 * time is then given up as unreadable, never read for ever.
 */
#define ST_ATT_LEASE_MS		(60u * 1000)
#define ST_ATT_EXTRACT_TRIES	3

/* The kinds an owner allows (attachment_types): image, pdf, text. */
enum st_att_kind {
	ST_ATT_KIND_IMAGE = 0,
	ST_ATT_KIND_PDF,
	ST_ATT_KIND_TEXT,
	ST_ATT_KINDS
};
/* A kind by its name, or -1. */
int st_attach_kind(const char *name);
/* A type's kind, or -1 (ATTACH_NONE). */
int attach_kind(enum attach_type);
/* Its MIME type ("image/png", "text/plain; charset=utf-8"), or NULL. */
const char *attach_mime(enum attach_type);
/* 1 for the images a browser shows inline (PNG, JPEG, GIF, WebP). */
int attach_is_image(enum attach_type);
/* Its short name ("png", "pdf", "text"), or NULL. */
const char *attach_name(enum attach_type);
/*
 * The name a file of type t is shown and saved under: name itself when
 * its extension is one of the type's, else name with the type's first
 * added ("invoice.bat" as text is "invoice.bat.txt"; a file saved by its
 * name then opens as what it is). Cut to outsz - 1 bytes at a UTF-8
 * character's start, keeping the extension.
 */
void attach_name_typed(const char *name, enum attach_type t, char *out,
    size_t outsz);

/* An upload's or an attachment's state. */
enum st_att_state {
	ST_ATT_UPLOADING = 0,	/* pieces arriving */
	ST_ATT_COMPLETE = 1,	/* whole, waiting for its message */
	ST_ATT_BOUND = 2,	/* a message names it */
	ST_ATT_CANNED = 3,	/* a canned reply keeps it: each message that
				   names it gets a copy (its pieces shared) */
};

/* What a scan said (PARLEY_CLAMD). */
enum st_att_scan {
	ST_ATT_UNSCANNED = 0,	/* no scanner set */
	ST_ATT_CLEAN = 1,	/* the scanner found nothing */
	ST_ATT_NOT_SCANNED = 2,	/* the scanner was away: kept, marked */
};
#define ST_ATT_SCAN_MAX		2

/*
 * Where a PDF's text stands (ST_ATT_READ_TEXT's text_status): waiting to
 * be read (or being read), read (its text; "" when its pages hold none),
 * or given up: its reader failed (unreadable, past its bounds) or ended
 * the fetcher ST_ATT_EXTRACT_TRIES times, and it is never read again.
 * The record's text_status row keeps the outcome (READY, FAILED), NONE
 * before it; a record of format 1 has none kept: its text, when there is
 * one, says (not empty: READY; empty: FAILED, as before a read and a
 * failure both kept "").
 */
enum st_att_text_status {
	ST_ATT_TEXT_NONE = 0,	/* not a PDF; the record: no outcome yet */
	ST_ATT_TEXT_PENDING,
	ST_ATT_TEXT_READY,
	ST_ATT_TEXT_FAILED,
};

/* Its rows (recordtab.h) and layout (attmsg.c). */
RL_RECORD(st_att, att, ST_ATT_ROWS)

/* What an attachment request came to. */
enum st_att_result {
	ST_ATT_OK = 0,
	ST_ATT_NO_WIDGET,	/* no such widget, or it is off; a link
				   under another widget (ST_ATT_READ_LINK) */
	ST_ATT_OFF,		/* the widget takes no attachments */
	ST_ATT_TOO_BIG,		/* over the widget's size limit */
	ST_ATT_TYPE,		/* a type the widget does not take */
	ST_ATT_RATE,		/* the client's bytes a window spent */
	ST_ATT_FULL,		/* the organisation's storage quota reached */
	ST_ATT_NO_UPLOAD,	/* no such upload or attachment (or not yours) */
	ST_ATT_ORDER,		/* a piece not where the upload stands */
	ST_ATT_IDENTITY,	/* the widget takes verified visitors only */
	ST_ATT_PDFS,		/* the client's PDFs an hour spent */
	ST_ATT_ORIGIN,		/* a page the widget's allowed_origins do
				   not name (origin, below) */
};
#define ST_ATT_RESULT_MAX	ST_ATT_ORIGIN

/*
 * A visitor's upload goes through a widget by its public id with its
 * session token's hash; api set, through the chat API's widget
 * (ST_DEFAULT_WIDGET, its internal id) with the hash of the API
 * client's sessionId (chat_session_hash): only a worker that checked the
 * API key sets it.
 */
struct st_att_new_req {
	const char *widget_id;		/* a visitor's: the public wid_ */
	uint8_t token[ST_TOKEN_HASH_LEN];
	uint32_t token_len;
	uint8_t api;
	const char *conv_id;		/* a person's: the conversation */
	const char *name;
	uint32_t size;
	const char *rate_key;		/* a visitor's client */
	uint32_t window_ms, rate_kib;
	uint64_t quota;			/* an organisation's bytes; 0 none */
	/*
	 * A visitor's request's Origin ("" none: a client that is no
	 * browser's page): one the widget's allowed_origins do not take
	 * (st_origin_allowed, as its config and socket) is ST_ATT_ORIGIN,
	 * nothing stored. The chat API's is not looked at (CORS_ORIGIN is
	 * its rule, the router's).
	 */
	const char *origin;
};

struct st_att_new_rep {
	uint8_t result;
	uint64_t retry_ms;		/* ST_ATT_RATE */
	char id[ST_ATT_ID_LEN + 1];
	uint32_t max;			/* the widget's size limit, bytes */
};

struct st_att_put_req {
	const char *id;
	const char *widget_id;		/* a visitor's, with its token */
	uint8_t token[ST_TOKEN_HASH_LEN];
	uint32_t token_len;
	uint8_t api;			/* as st_att_new_req's */
	uint32_t offset;
	uint8_t type;			/* the first piece: enum attach_type */
	uint8_t scan;			/* the last: enum st_att_scan */
	uint8_t drop;
	uint8_t hash[ST_ATT_HASH_LEN];	/* the piece's SHA-256 */
	uint32_t hash_len;
	struct st_kb_bytes data;
	uint64_t quota;
	/*
	 * The first piece again, the file rewritten (its metadata taken
	 * out: never bigger): the pieces stored so far let go, size the
	 * file's new size. Without reset, size is the client's SIZE
	 * (Content-Range), refused when not the upload's (0: unchecked).
	 */
	uint8_t reset;
	uint32_t size;
	/*
	 * A person's: the conversation the path names ("" the canned
	 * replies'), the one the upload was made for, else ST_ATT_NO_UPLOAD.
	 */
	const char *conv_id;
	/*
	 * The last piece's, when the worker scanned or stripped the pieces
	 * before it (prior_len ST_ATT_HASH_LEN, else 0): their SHA-256s
	 * chained (st_att_chain, from 32 zero bytes), the bytes it read or
	 * wrote. The upload's pieces must be those, else ST_ATT_ORDER: a
	 * piece that landed after the worker read the upload is never kept
	 * unscanned.
	 */
	uint8_t prior[ST_ATT_HASH_LEN];
	uint32_t prior_len;
	/*
	 * A visitor's client (its address's key): a PDF's first piece counts
	 * against its ST_ATT_PDF_HOUR, else ST_ATT_PDFS (retry_ms). "" or
	 * another type: not counted.
	 */
	const char *rate_key;
	const char *origin;		/* as st_att_new_req's */
};

/* chain = SHA-256(chain, piece_hash): st_att_put_req's prior, a piece on. */
void st_att_chain(uint8_t chain[ST_ATT_HASH_LEN],
    const uint8_t piece_hash[ST_ATT_HASH_LEN]);

struct st_att_put_rep {
	uint8_t result;
	uint32_t received;
	uint8_t whole;
	struct st_msg_att att;
	uint64_t retry_ms;		/* ST_ATT_PDFS */
};

/* What an ST_ATT_READ reads (its mode). */
enum st_att_read_mode {
	ST_ATT_READ_NAMED = 0,		/* a piece of a file a message names */
	ST_ATT_READ_UPLOADING = 1,	/* a piece of an upload still arriving */
	ST_ATT_READ_ANY = 2,		/* a piece, whatever its state (the
					   fetcher's extraction) */
	ST_ATT_READ_TEXT = 3,		/* a named PDF's text alone */
	ST_ATT_READ_LINK = 4,		/* as NAMED, through a visitor's link
					   under widget_id: another widget's
					   file is ST_ATT_NO_WIDGET */
};
#define ST_ATT_TEXT_KEPT	(16u << 10)	/* bytes of a PDF's text kept */

struct st_att_read_req {
	const char *id;
	uint32_t piece;
	uint8_t mode;			/* enum st_att_read_mode */
	/* ST_ATT_READ_LINK: the link's public wid_, "" the chat API's */
	const char *widget_id;
};

struct st_att_read_rep {
	uint8_t result;
	struct st_att att;
	struct st_kb_bytes data;
	const char *text;		/* ST_ATT_READ_TEXT: "" none */
	uint8_t text_status;		/* ST_ATT_READ_TEXT: st_att_text_status */
};

/* ST_ATT_EXTRACT_DUE's answer: a PDF whose text to read, if any. */
struct st_att_due_rep {
	uint8_t result;			/* ST_ATT_NO_UPLOAD: none due */
	char id[ST_ATT_ID_LEN + 1];
	uint32_t size;
	uint8_t attempt;		/* its lease: 1 the first */
};

/* ST_ATT_TEXT_PUT: a PDF's text, as the fetcher read it. */
struct st_att_text_req {
	const char *id;
	const char *text;
	uint8_t failed;			/* no text read: its reader failed */
};

/* ST_ATT_PUT's and ST_ATT_READ's reply layouts free st_att (stmsgs.c). */
void st_att_read_rep_free(struct st_att_read_rep *);

#endif
