/*
 * The binary protocol every Parley process speaks (see PROTOCOL.md).
 *
 * A message is a 12-byte header in network byte order followed by the
 * payload:
 *
 *	u16 type | u16 flags | u32 length | u32 id | payload[length]
 *
 * Payloads are sequences of typed fields written by the encoder and read
 * back by the decoder below. Both carry a sticky error, so a chain of calls
 * needs one check at the end. Pointers are never sent between processes.
 */
#ifndef PARLEY_PROTO_H
#define PARLEY_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/types.h>

/*
 * HELLO's version: 2 added the message table's fingerprint
 * (proto_layouts_id), which a peer's must equal too.
 */
#define PROTO_VERSION		2
#define PROTO_HDR_LEN		12
#define PROTO_MAX_PAYLOAD	(8u * 1024 * 1024)
/* Received fds that may wait for their message before the peer is cut off. */
#define PROTO_MAX_FDS		16

/* flags */
#define PROTO_F_REPLY		0x0001	/* an answer to the request with the same id */
#define PROTO_F_ERROR		0x0002	/* reply payload is: u32 code, str message */
#define PROTO_F_FD		0x0004	/* one file descriptor rides with this message */
/*
 * On a request to storaged: answer as soon as the request has run, before
 * its commit, then confirm. On a reply: that early answer; the request's
 * final reply follows, empty once the commit is on disk, or an error.
 */
#define PROTO_F_EARLY		0x0008
/*
 * On a request to storaged: its reply (the confirmation, for an early
 * one) may wait up to PROTO_SHARE_US for a disk flush shared with other
 * writes (storaged/server.c, server_share). Never sooner than the flush.
 */
#define PROTO_F_SHARE		0x0010
/*
 * With PROTO_F_SHARE: the wait may be up to PROTO_SHARE_LONG_US: a chat
 * turn's write when its model takes long to its first text, where the
 * begin's confirmation still comes well before it and the reply's adds
 * little to a long turn. Alone it means nothing.
 */
#define PROTO_F_SHARE_LONG	0x0020
/* The waits those flags allow (µs): the worker's rules are told by them. */
#define PROTO_SHARE_US		1000
#define PROTO_SHARE_LONG_US	4000

/*
 * Every message type, in one place. Its name, who sends it to whom and how
 * storaged runs it are its row in msgtab.c (msgtab.h); proto_msg_name()
 * reads that.
 */
enum proto_type {
	PROTO_HELLO = 1,		/* u32 version, str name, u64 layouts */

	/* masterd <-> workerd */
	PROTO_MW_CONN = 0x10,		/* fd: an accepted client connection */
	PROTO_WM_READY = 0x11,		/* worker is initialised and serving */
	PROTO_WM_LOAD = 0x12,		/* u32 open connections */
	PROTO_MW_QUIT = 0x13,		/* u32 grace ms, u8 close_idle: finish what you hold, exit */
	PROTO_MW_RESTARTS = 0x14,	/* u32 workers replaced since start (metrics) */
	/* right after HELLO: u32 n, n x (str name, str value); settings.h */
	PROTO_MW_SETTINGS = 0x15,
	PROTO_MW_PING = 0x16,		/* u32 n: are you turning? */
	PROTO_WM_PONG = 0x17,		/* u32 n, the ping's: yes */
	PROTO_WM_QUITTING = 0x18,	/* (empty): quitting on its own: no more MW_CONN */

	/* clients -> storaged (reply: same type, PROTO_F_REPLY) */
	PROTO_ST_PING = 0x20,		/* -> (empty) */
	PROTO_ST_CONV_OPEN = 0x21,	/* str widget, str session -> conv */
	PROTO_ST_MSG_APPEND = 0x22,	/* see PROTOCOL.md, "Message types" */
	PROTO_ST_CONV_LIST = 0x23,
	PROTO_ST_CONV_GET = 0x24,
	PROTO_ST_CHAT_BEGIN = 0x25,	/* rate check + open + append user msg + history */
	PROTO_ST_RATE_HIT = 0x26,	/* count one request against a rate limit */
	PROTO_ST_SESSION_HISTORY = 0x27,	/* a session's messages, for the widget */
	/* widgets, visitor sessions, contacts: see widgetmsg.h */
	PROTO_ST_WIDGET_CREATE = 0x28,
	PROTO_ST_WIDGET_UPDATE = 0x29,
	PROTO_ST_WIDGET_GET = 0x2a,
	PROTO_ST_WIDGET_LIST = 0x2b,
	PROTO_ST_WIDGET_DELETE = 0x2c,
	PROTO_ST_WIDGET_RESET_ID = 0x2d,
	PROTO_ST_WS_OPEN = 0x2e,
	PROTO_ST_WS_BEGIN = 0x2f,
	PROTO_ST_CONTACT_SUBMIT = 0x30,
	PROTO_ST_CONTACT_LIST = 0x31,
	PROTO_ST_CONTACT_GET = 0x32,
	/* the dashboard: see dashmsg.h */
	PROTO_ST_DASH_LOGIN = 0x33,
	PROTO_ST_DASH_CHECK = 0x34,
	PROTO_ST_DASH_LOGOUT = 0x35,
	PROTO_ST_CONV_DELETE = 0x36,
	PROTO_ST_CONV_QUERY = 0x37,
	PROTO_ST_MSG_PAGE = 0x39,	/* (0x38 is the event below) */
	PROTO_ST_MSG_PAGES = 0xb6,	/* an export's: dashmsg.h */
	/* metrics: see metricsmsg.h */
	PROTO_ST_METRICS_PUT = 0x3a,
	PROTO_ST_METRICS_GET = 0x3b,
	PROTO_ST_DASH_ATTEMPT = 0x3c,	/* the dashboard's login: dashmsg.h */
	/* parleyctl: see ctlmsg.h */
	PROTO_ST_BACKUP = 0x3d,		/* fd: the file to write -> u64 bytes */
	PROTO_ST_STATS = 0x3e,
	PROTO_ST_PURGE = 0x3f,
	PROTO_ST_DASH_SALT = 0x4a,	/* the fingerprint salt: dashmsg.h */
	/* agents, human handoff, live events: see agentmsg.h */
	PROTO_ST_AGENT_CREATE = 0x40,
	PROTO_ST_AGENT_UPDATE = 0x41,
	PROTO_ST_AGENT_GET = 0x42,
	PROTO_ST_AGENT_LIST = 0x43,
	PROTO_ST_AGENT_DELETE = 0x44,
	PROTO_ST_HANDOFF_SET = 0x45,
	PROTO_ST_AGENT_MSG = 0x46,
	PROTO_ST_TYPING = 0x47,
	PROTO_ST_WS_REQUEST_HUMAN = 0x48,
	PROTO_ST_EV_SUBSCRIBE = 0x49,
	PROTO_ST_EV_SINCE = 0x4b,	/* (0x4a is ST_DASH_SALT above) */
	PROTO_ST_HANDOFF_LIST = 0x4c,
	/* organisations: see orgmsg.h */
	PROTO_ST_ORG_CREATE = 0x50,
	PROTO_ST_ORG_UPDATE = 0x51,
	PROTO_ST_ORG_GET = 0x52,
	PROTO_ST_ORG_LIST = 0x53,
	PROTO_ST_ORG_DELETE = 0x54,
	/* API keys and the audit log: see keymsg.h */
	PROTO_ST_KEY_CREATE = 0x60,
	PROTO_ST_KEY_LIST = 0x61,
	PROTO_ST_KEY_DELETE = 0x62,
	PROTO_ST_KEY_AUTH = 0x63,
	PROTO_ST_AUDIT_LIST = 0x64,
	PROTO_ST_AUDIT_NOTE = 0x65,
	/* who answers a conversation: see agentmsg.h */
	PROTO_ST_CONV_ASSIGN = 0x66,
	/* a visitor's data on request (issue 22): see widgetmsg.h */
	PROTO_ST_CONTACT_ERASE = 0x68,
	PROTO_ST_CONTACT_ERASING = 0xb9,
	PROTO_ST_CONTACT_SESSIONS = 0x69,
	PROTO_ST_CONTACT_CONVS = 0x6a,
	/* away mode (issue 23): see widgetmsg.h */
	PROTO_ST_PRESENCE_SEEN = 0x6b,
	PROTO_ST_WIDGET_AVAIL = 0x6c,
	/* setup mistakes told (issue 24): see stmsgs.h */
	PROTO_ST_SETUP_NOTE = 0x55,
	PROTO_ST_SETUP_GET = 0x56,
	/* people: see usermsg.h */
	PROTO_ST_USER_AUTH = 0x58,
	PROTO_ST_USER_BOOT = 0x59,
	PROTO_ST_USER_LIST = 0x5a,
	PROTO_ST_USER_INVITE = 0x5b,
	PROTO_ST_USER_UPDATE = 0x5c,
	PROTO_ST_USER_DELETE = 0x5d,
	PROTO_ST_INVITE_ACCEPT = 0x5e,
	PROTO_ST_USER_SET = 0x5f,
	PROTO_ST_INVITE_LIST = 0x9e,
	PROTO_ST_INVITE_REVOKE = 0x9f,
	PROTO_ST_INVITE_SALT = 0xbe,
	/* webhooks (issue 23): see hookmsg.h */
	PROTO_ST_HOOK_CREATE = 0x71,
	PROTO_ST_HOOK_UPDATE = 0x72,
	PROTO_ST_HOOK_GET = 0x73,
	PROTO_ST_HOOK_LIST = 0x74,
	PROTO_ST_HOOK_DELETE = 0x75,
	PROTO_ST_HOOK_DUE = 0x76,
	PROTO_ST_HOOK_RESULT = 0x77,
	PROTO_ST_HOOK_DELIVERIES = 0x78,
	PROTO_ST_HOOK_RETRY = 0x79,
	PROTO_ST_HOOK_TEST = 0x7a,
	PROTO_ST_HOOK_SECRET = 0xbd,
	/* email notifications (issue 23): see mailmsg.h */
	PROTO_ST_NOTIFY_GET = 0x7b,
	PROTO_ST_NOTIFY_SET = 0x7c,
	PROTO_ST_MAIL_DUE = 0x7d,
	PROTO_ST_MAIL_RESULT = 0x7e,
	PROTO_ST_MAIL_CHECK = 0xb8,
	/* the inbox (issue 24): see inboxmsg.h */
	PROTO_ST_CONV_READ = 0x6d,
	PROTO_ST_CANNED_LIST = 0x6e,
	PROTO_ST_CANNED_PUT = 0x6f,
	PROTO_ST_CANNED_DELETE = 0x4e,
	/*
	 * replication (issue 25): the standby's stream from the primary, and
	 * parleyctl's promotion and status (replmsg.h, storaged/repl.c)
	 */
	PROTO_ST_REPL_START = 0x80,	/* standby -> primary: its term, last seq */
	PROTO_ST_REPL_REC = 0x81,	/* primary -> standby, unasked: a log record (part) */
	PROTO_ST_REPL_SNAP = 0x82,	/* primary -> standby, unasked: a snapshot chunk */
	PROTO_ST_REPL_ACK = 0x83,	/* standby -> primary, unasked: seq on its disk */
	PROTO_ST_REPL_PROMOTE = 0x84,	/* parleyctl: a standby becomes primary */
	PROTO_ST_REPL_STATUS = 0x85,	/* parleyctl: role, term, seqs, the standby */
	PROTO_ST_REPL_NEWER = 0xbc,	/* a standby promoted by hand -> its old primary: step down */
	/*
	 * verified identity (issue 26): a widget's identity secret, and a
	 * visitor's identify (widgetmsg.h)
	 */
	PROTO_ST_WIDGET_SECRET_SET = 0x86,
	PROTO_ST_WIDGET_SECRET_DEL = 0x87,
	PROTO_ST_WS_IDENTIFY = 0x88,
	/* feedback (issue 26): see feedbackmsg.h */
	PROTO_ST_WS_FEEDBACK = 0x8c,
	PROTO_ST_WS_RATING = 0x8d,
	PROTO_ST_FEEDBACK_SUMMARY = 0x8e,

	/* storaged -> every client, unasked (flags 0, id 0) */
	PROTO_ST_EV_WIDGET_GONE = 0x38,	/* str old public widget_id */
	/* storaged -> subscribed clients, unasked: event (agentmsg.h) */
	PROTO_ST_EV = 0x4f,
	/*
	 * (empty) to a subscriber that fell CLIENT_WQ_MAX behind: it was
	 * unsubscribed and missed events; it subscribes again.
	 */
	PROTO_ST_EV_LOST = 0x4d,
	/* str user id: that user's sessions ended (usermsg.h) */
	PROTO_ST_EV_USER_GONE = 0x70,
	/* u8 who kind, str id: one session or key ended (stmsgs.h) */
	PROTO_ST_EV_CRED_GONE = 0xb7,
	/*
	 * str what changed: the data directory was removed or replaced,
	 * every write is refused until storaged restarts (storemsg.h)
	 */
	PROTO_ST_EV_STORE_FAILED = 0x67,
	/*
	 * u8 role, str primary: right after storaged's HELLO and whenever it
	 * changes, which storaged this is (stmsgs.h, enum st_repl_role) and the
	 * primary's address as far as it knows ("" if not)
	 */
	PROTO_ST_EV_ROLE = 0x98,
	/* a visitor session's conversations (issue 26, stmsgs.h) */
	PROTO_ST_WS_CONV_NEW = 0x92,
	PROTO_ST_WS_CONV_LIST = 0x93,
	PROTO_ST_WS_CONV_READ = 0x94,
	/* the knowledge base: its sources and search (kbmsg.h) */
	PROTO_ST_KB_SOURCE_CREATE = 0x89,
	PROTO_ST_KB_SOURCE_UPDATE = 0x8a,
	PROTO_ST_KB_SOURCE_GET = 0x8b,
	PROTO_ST_KB_SOURCE_LIST = 0x8f,
	PROTO_ST_KB_SOURCE_DELETE = 0x90,
	PROTO_ST_KB_SEARCH = 0x91,
	PROTO_ST_KB_DUE = 0x95,
	PROTO_ST_KB_PAGE_GET = 0x96,
	PROTO_ST_KB_PAGE_PUT = 0x97,
	PROTO_ST_KB_SYNC_DONE = 0x99,
	PROTO_ST_KB_SYNC = 0x9a,
	PROTO_ST_KB_PAGES = 0x9b,
	PROTO_ST_KB_FILE_PUT = 0x9c,
	PROTO_ST_KB_FILE_GET = 0x9d,
	PROTO_ST_KB_RETRIEVE = 0x57,
	PROTO_ST_AGENT_EMBED = 0xa0,
	/* actions: an organisation's HTTP tools for the model (actionmsg.h) */
	PROTO_ST_ACTION_CREATE = 0xa1,
	PROTO_ST_ACTION_UPDATE = 0xa2,
	PROTO_ST_ACTION_GET = 0xa3,
	PROTO_ST_ACTION_LIST = 0xa4,
	PROTO_ST_ACTION_DELETE = 0xa5,
	PROTO_ST_ACTION_TOOLS = 0xa6,
	/* a turn's model hands the conversation to a person (agentmsg.h) */
	PROTO_ST_TURN_HANDOFF = 0xa7,

	PROTO_ST_CONV_STATE = 0xa8,
	PROTO_ST_CONV_RESOLVE_DUE = 0xa9,
	/* reports: the rollups of outcomes (reportmsg.h) */
	PROTO_ST_REPORT_GET = 0xaa,
	/* people: a dashboard user's own profile (usermsg.h) */
	PROTO_ST_USER_SELF = 0xab,
	/* knowledge gaps: the questions not answered (gapmsg.h) */
	PROTO_ST_GAP_LIST = 0xac,
	PROTO_ST_GAP_DELETE = 0xad,
	/* attachments: uploads in pieces, read back (attmsg.h) */
	PROTO_ST_ATT_NEW = 0xae,
	PROTO_ST_ATT_PUT = 0xaf,
	PROTO_ST_ATT_READ = 0xb0,
	PROTO_ST_ATT_ADMIN_NEW = 0xb1,
	PROTO_ST_ATT_ADMIN_PUT = 0xb2,
	PROTO_ST_ATT_ADMIN_READ = 0xb3,
	PROTO_ST_ATT_EXTRACT_DUE = 0xb4,
	PROTO_ST_ATT_TEXT_PUT = 0xb5,
	/* storaged's own: a lost worker's turn ended (storaged/server.c) */
	PROTO_ST_TURN_LOST = 0xba,
	/* a worker's turns still answered, on each new connection */
	PROTO_ST_TURNS_HELD = 0xbb,
	/* a worker's turn for a handed-back conversation's unanswered message */
	PROTO_ST_CHAT_ANSWER_LAST = 0xbf,
	PROTO_TYPE_MAX = 0xc0,	/* free: 0x7f */
};

/* Error codes carried in PROTO_F_ERROR replies. */
enum proto_err {
	PROTO_E_INTERNAL = 1,
	PROTO_E_INVALID = 2,
	PROTO_E_NOT_FOUND = 3,
	PROTO_E_UNSUPPORTED = 4,
	PROTO_E_UNAVAILABLE = 5,
	/* who asks names an organisation that does not exist (any more) */
	PROTO_E_NO_ORG = 6,
	/* a record with that unique name exists already (issue 24) */
	PROTO_E_EXISTS = 7,
	/* a standby (or a fenced primary) refuses writes: find the primary */
	PROTO_E_NOT_PRIMARY = 8,
	/* a bound on what is stored is reached; nothing else ended for it */
	PROTO_E_FULL = 9,
};

const char *proto_msg_name(uint16_t type);
const char *proto_err_name(uint32_t code);

struct proto_hdr {
	uint16_t type;
	uint16_t flags;
	uint32_t len;
	uint32_t id;
};

void proto_hdr_pack(const struct proto_hdr *, uint8_t out[PROTO_HDR_LEN]);
/* Returns 0, or -1 when the length exceeds PROTO_MAX_PAYLOAD. */
int proto_hdr_unpack(const uint8_t in[PROTO_HDR_LEN], struct proto_hdr *);

/* ---- encoder: grows its buffer; sticky error on overflow or ENOMEM ---- */
struct penc {
	uint8_t *buf;
	size_t len;
	size_t cap;
	int err;
};

void penc_init(struct penc *);
void penc_free(struct penc *);
/*
 * Room for n more bytes allocated now, for an encoding whose size is
 * known roughly (one allocation, not a doubling from 256): 0, or -1
 * with e failed.
 */
int penc_reserve(struct penc *, size_t n);
/* penc_room's uncommon case (codec.c): e grown, or failed (sticky). */
uint8_t *penc_grow(struct penc *, size_t n);
/*
 * n more bytes at the end of e to write (NULL: e failed, sticky, or n is
 * 0). Its common case, and the u32's and the string's, are in this header
 * as pdec_take is: a record's encode writes dozens of rows, and the calls
 * down to the room for each were a tenth of its instructions (callgrind).
 */
static inline uint8_t *
penc_room(struct penc *e, size_t n)
{
	uint8_t *p;

	/* (e->len is never past PROTO_MAX_PAYLOAD: no wrap below) */
	if (e->err || n == 0 || n > e->cap - e->len ||
	    n > PROTO_MAX_PAYLOAD - e->len)
		return penc_grow(e, n);
	p = e->buf + e->len;
	e->len += n;
	return p;
}
void penc_u8(struct penc *, uint8_t);
void penc_u16(struct penc *, uint16_t);

static inline void
penc_u32(struct penc *e, uint32_t v)
{
	uint8_t *p;

	if ((p = penc_room(e, 4)) != NULL) {
		p[0] = (uint8_t)(v >> 24);
		p[1] = (uint8_t)(v >> 16);
		p[2] = (uint8_t)(v >> 8);
		p[3] = (uint8_t)v;
	}
}
void penc_u64(struct penc *, uint64_t);
void penc_bytes(struct penc *, const void *, size_t);	/* u32 length + bytes */

/*
 * NULL encodes as "": the two alike, with no strlen call (most of a
 * conversation's buffers are empty).
 */
static inline void
penc_str(struct penc *e, const char *s)
{
	size_t n = s != NULL && s[0] != '\0' ? strlen(s) : 0;
	uint8_t *p;

	if ((p = penc_room(e, 4 + n)) == NULL)
		return;
	p[0] = (uint8_t)(n >> 24);
	p[1] = (uint8_t)(n >> 16);
	p[2] = (uint8_t)(n >> 8);
	p[3] = (uint8_t)n;
	if (n > 0)
		memcpy(p + 4, s, n);
}
void penc_strn(struct penc *, const char *, size_t);
void penc_raw(struct penc *, const void *, size_t);	/* no length prefix */
/* A PROTO_F_ERROR reply's payload: u32 code, str message. */
void penc_error(struct penc *, uint32_t code, const char *message);

/* ---- decoder: never reads past the end; sticky error ---- */
struct pdec {
	const uint8_t *p;
	size_t len;
	size_t off;
	int err;
};

void pdec_init(struct pdec *, const void *, size_t);
/*
 * d's next n bytes (NULL: d failed, sticky, or fewer than n left), in
 * this header so that a decode of dozens of rows (record.c) reads them
 * without a call each.
 */
static inline const uint8_t *
pdec_take(struct pdec *d, size_t n)
{
	const uint8_t *p;

	if (d->err || n > d->len - d->off) {
		d->err = 1;
		return NULL;
	}
	p = d->p + d->off;
	d->off += n;
	return p;
}
uint8_t pdec_u8(struct pdec *);
uint16_t pdec_u16(struct pdec *);
uint32_t pdec_u32(struct pdec *);
uint64_t pdec_u64(struct pdec *);
/* Points into the input (valid while it is); *lenp is set. NULL on error. */
const uint8_t *pdec_bytes(struct pdec *, size_t *lenp);
/*
 * Copies a string field into a new NUL-terminated allocation. A string
 * longer than max or containing a NUL byte is an error. Free with free().
 */
char *pdec_strdup(struct pdec *, size_t max);
/* pdec_strdup of any length, cut at keep bytes (a NUL is still an error). */
char *pdec_strclip(struct pdec *, size_t keep);
/* Copies into buf (NUL-terminated); longer than bufsz-1 or a NUL is an error. */
void pdec_strbuf(struct pdec *, char *buf, size_t bufsz);
/*
 * A string field in place, checked as pdec_strdup checks it (longer than
 * max or a NUL is an error): its bytes (valid while the input is, not
 * NUL-terminated), *lenp of them (0 on error); NULL on error. Here as
 * pdec_take is: a record's decode (record.c) reads or passes over a
 * dozen strings, each three calls down (pdec_bytes, pdec_u32) and "" to
 * memchr too before.
 */
static inline const uint8_t *
pdec_str(struct pdec *d, size_t max, size_t *lenp)
{
	const uint8_t *p;
	size_t n;

	*lenp = 0;
	if ((p = pdec_take(d, 4)) == NULL)
		return NULL;
	n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	if ((p = pdec_take(d, n)) == NULL || n > max ||
	    (n > 0 && memchr(p, '\0', n) != NULL)) {
		d->err = 1;
		return NULL;
	}
	*lenp = n;
	return p;
}
/* 0 when every byte was consumed and no error occurred; -1 otherwise. */
int pdec_done(struct pdec *);

/*
 * ---- a channel: one socket to a peer, framed ----
 * On a Unix socket an fd may ride with a message. A channel may instead
 * carry TLS 1.3 (pchan_init_tls, tlschan.c): then no fd rides, the
 * handshake is driven by pchan_read and pchan_flush themselves, and the
 * caller waits for what pchan_events says rather than its own guess.
 */
struct ssl_st;
struct ssl_ctx_st;

/* The events a channel waits for: equal to EPOLLIN/POLLIN, EPOLLOUT/POLLOUT. */
#define PCHAN_IN	0x001
#define PCHAN_OUT	0x004
/* Frames gathered into one TLS record (its largest plaintext). */
#define PCHAN_TLS_RECORD	16384
struct pframe {
	TAILQ_ENTRY(pframe) entry;
	size_t len;
	size_t off;
	int fd;			/* sent with the frame's first byte, then closed */
	uint8_t data[];
};

struct pchan {
	int fd;
	uint8_t *rbuf;
	size_t rlen;		/* bytes in rbuf */
	size_t roff;		/* bytes already consumed by pchan_next */
	size_t rcap;
	int rfds[PROTO_MAX_FDS];	/* received fds not yet claimed; -1 lost */
	int nrfds;
	TAILQ_HEAD(, pframe) wq;
	size_t wq_bytes;
	int hello_seen;		/* the peer's HELLO arrived and matched */
	char peer[32];		/* the peer's process name */
	/* TLS (tlschan.c); ssl NULL on a plain socket. */
	struct ssl_st *ssl;
	int tls_up;		/* the handshake is done */
	uint32_t tls_hs_want;	/* the handshake waits for PCHAN_IN or _OUT */
	uint32_t tls_w_want;	/* the last write waited for PCHAN_IN or _OUT */
	int tls_rerr;		/* sticky: -1 error, 1 EOF seen; 0 none */
	int tls_errno;		/* with tls_rerr -1 */
	uint8_t *tbuf;		/* PCHAN_TLS_RECORD: frames gathered for one write */
	size_t tlen, toff;	/* bytes in tbuf, bytes of them written */
	char tls_why[128];	/* why the handshake or a TLS call failed */
};

/* A received message; payload is valid until the next pchan_read. */
struct pmsg {
	struct proto_hdr hdr;
	const uint8_t *payload;
	/*
	 * -1 unless PROTO_F_FD; the receiver owns it. -1 with PROTO_F_FD
	 * too when it was lost on the way (the receiver's descriptor table
	 * was full): the message is the receiver's to refuse.
	 */
	int fd;
};

/* Takes ownership of fd (made non-blocking) and queues our HELLO. */
int pchan_init(struct pchan *, int fd, const char *myname);
/*
 * pchan_init over TLS 1.3 with ctx (tlschan_ctx_new): host NULL accepts
 * (storaged's side), else connects and checks the peer's certificate
 * names host (a DNS name, or an IP address without brackets). The
 * handshake happens in the first pchan_read/pchan_flush calls. 0, or -1
 * (the channel is still to be pchan_close'd).
 */
int pchan_init_tls(struct pchan *, int fd, const char *myname,
    struct ssl_ctx_st *ctx, const char *host);
/*
 * What to wait for before calling pchan_read or pchan_flush again:
 * PCHAN_IN when reading (the caller wants to read) or TLS needs the
 * peer's bytes, PCHAN_OUT when something waits to be written and can be.
 * While a TLS handshake runs, only what it waits for.
 */
uint32_t pchan_events(const struct pchan *, int reading);
/*
 * 1 when TLS holds received bytes (or an EOF or error it read) the
 * socket will not signal again: call pchan_read before waiting (a reader
 * that stopped early, or whose buffer was full, would stall on them).
 */
int pchan_buffered(const struct pchan *);
/* 1 on a TLS channel whose handshake is not done yet. */
int pchan_handshaking(const struct pchan *);
/* Why the last TLS call failed ("" if none or not TLS): a short reason. */
const char *pchan_tls_why(const struct pchan *);
/*
 * Why the last pchan_read or pchan_flush failed, for a log line: TLS's
 * reason when it gave one, else strerror(errno) (read it at once).
 */
const char *pchan_why(const struct pchan *);
/* Closes the socket, every queued frame's fd and every unclaimed fd. */
void pchan_close(struct pchan *);
/*
 * Every byte the channel keeps (read, gathered, queued) zeroed where it
 * is, nothing freed or closed: for a forked child that must not read
 * what went over it (a key in a settings message or a reply).
 */
void pchan_wipe(struct pchan *);
/*
 * Takes out of the queue the first frame of type carrying an fd of
 * which no byte was written yet (its fd has not left): the fd is the
 * caller's, returned, and the payload copied to buf, *lenp bytes (cut
 * at cap). -1 when there is no such frame.
 */
int pchan_unqueue_fd(struct pchan *, uint16_t type, void *buf, size_t cap,
    size_t *lenp);
/*
 * Reads what the socket has. Returns >0 bytes read, 0 on EOF, -1 on error
 * (errno EAGAIN when there is nothing to read yet).
 */
ssize_t pchan_read(struct pchan *);
/*
 * 1 when the next pchan_read would first enlarge the read buffer (what is
 * kept of a message begun leaves less room than a read takes): a reader
 * with a memory budget asks before it reads.
 */
int pchan_read_grows(const struct pchan *);
/*
 * Frees the read buffer when it holds more than keep bytes of room and
 * nothing unread (every message taken by pchan_next, their payloads no
 * longer used): a large request's buffer is not kept for good.
 */
void pchan_trim(struct pchan *, size_t keep);
/*
 * Takes the next whole message out of what was read. Returns 1 with *m
 * filled, 0 when more bytes are needed, -1 on a protocol error (bad header,
 * too large, fd flag without an fd, first message not a matching HELLO).
 * HELLO messages are consumed here and never returned.
 */
int pchan_next(struct pchan *, struct pmsg *m);
/*
 * Queues a message. fd >= 0 sets PROTO_F_FD and hands the fd over: the
 * channel closes its copy once sent (or on pchan_close). Returns 0 or -1
 * (EOPNOTSUPP: an fd on a TLS channel, closed).
 */
int pchan_send(struct pchan *, uint16_t type, uint16_t flags, uint32_t id,
    const void *payload, size_t len, int fd);
/* An error reply: u32 code, str message. */
int pchan_send_error(struct pchan *, uint16_t type, uint32_t id,
    uint32_t code, const char *message);
/*
 * Writes what it can (over TLS, frames gathered into records of up to
 * PCHAN_TLS_RECORD bytes). Returns 1 when the queue is empty, 0 when some
 * is left, -1 on error.
 */
int pchan_flush(struct pchan *);
/* Blocking flush with a timeout in ms, for tools and tests. 0 ok, -1 error/timeout. */
int pchan_flush_wait(struct pchan *, int timeout_ms);
/* 1 while queued bytes are not all written yet. */
int pchan_pending(const struct pchan *);

/* ---- one-message helpers on a raw socket ---- */
/* sendmsg one buffer with an optional fd (SCM_RIGHTS). Returns bytes sent or -1. */
ssize_t proto_sendmsg_fd(int sock, const void *buf, size_t len, int fd);
/*
 * recvmsg with MSG_CMSG_CLOEXEC into buf; received fds are appended to
 * fds (at most *nfds_inout room; count returned there). A control
 * message cut short before its first descriptor (our descriptor table
 * full: the kernel closed it) gives -1 in that one's place, the bytes
 * kept; one cut short after some (more sent at once than room for)
 * closes whatever arrived and fails with EPROTO.
 */
ssize_t proto_recvmsg_fds(int sock, void *buf, size_t len, int *fds,
    int *nfds_inout);

/* ---- text, hex, byte order: the shared helpers ---- */
#include "util.h"

/* ---- clocks ---- */
long long proto_mono_ms(void);	/* CLOCK_MONOTONIC, for timeouts */
uint64_t proto_mono_us(void);	/* CLOCK_MONOTONIC in µs, for timings */
uint64_t proto_wall_ms(void);	/* CLOCK_REALTIME, ms since the epoch, for records */
/*
 * CLOCK_BOOTTIME in ms (Linux): as the monotonic clock, but it counts a
 * suspend, for a deadline another host keeps meanwhile (the lease's).
 */
long long proto_boot_ms(void);

/* ---- systemd readiness (sd_notify without libsystemd) ---- */
/* Sends state ("READY=1", "STOPPING=1", ...) to $NOTIFY_SOCKET when set. */
void proto_sd_notify(const char *state);
/*
 * With WATCHDOG_USEC set for this process (systemd's WatchdogSec=),
 * WATCHDOG=1 twice per period from the loop (loop_init first): a loop
 * that stops turning gets the service killed and restarted. Both
 * variables are unset, so children do not inherit them.
 */
void proto_sd_watchdog(void);

#endif
