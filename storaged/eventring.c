/* The event ring: numbering, keeping and reading back events (eventring.h). */
#include <stdlib.h>
#include <string.h>

#include "eventring.h"
#include "log.h"
#include "random.h"
#include "util.h"

#define EV_ID_LEN	(ST_ID_HEX / 2)

struct evslot {
	uint64_t seq;
	uint64_t org;		/* org_key of its organisation */
	uint8_t *buf;		/* the whole encoding, numbered; NULL forgotten */
	size_t len;
	uint8_t kind;		/* enum st_ev_kind */
	uint8_t ids;		/* EV_HAS_*: which of conv and contact it has */
	uint8_t conv[EV_ID_LEN];
	uint8_t contact[EV_ID_LEN];
};

#define EV_HAS_CONV	1
#define EV_HAS_CONTACT	2

/*
 * An organisation's newest event to leave the ring (evicted, not
 * forgotten): a resume of its own from before it is gone, one from after
 * it finds every event of its own still here, however many of the
 * others' left. org 0: a free place.
 */
struct evmark {
	uint64_t org;
	uint64_t seq;
};

/* Places for marks, a power of two: ST_ORGS_MAX and room to spare. */
#define EV_MARKS	2048
/* Past this many, one more organisation's eviction marks every one. */
#define EV_MARKS_MAX	(EV_MARKS / 4 * 3)

struct evring {
	uint64_t epoch;
	uint64_t last;		/* the last seq handed out */
	uint8_t id_key[ST_EV_KEY_LEN];	/* evring_stats' */
	struct evslot *slots;	/* ST_EV_RING_EVENTS, circular */
	size_t head;		/* the oldest */
	size_t count;
	size_t bytes;		/* of the kept encodings */
	struct evmark *marks;	/* EV_MARKS, open addressing by org */
	size_t nmarks;
	uint64_t all_gone;	/* newest eviction marked for every org */
};

struct evring *
evring_new(void)
{
	struct evring *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->slots = calloc(ST_EV_RING_EVENTS, sizeof(*r->slots))) ==
	    NULL || (r->marks = calloc(EV_MARKS, sizeof(*r->marks))) == NULL) {
		free(r->slots);
		free(r);
		return NULL;
	}
	/* A new run: clients from the last one find their seqs gone. */
	proto_random(&r->epoch, sizeof(r->epoch));
	proto_random(r->id_key, sizeof(r->id_key));
	return r;
}

void
evring_free(struct evring *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->count; i++)
		free(r->slots[(r->head + i) % ST_EV_RING_EVENTS].buf);
	free(r->slots);
	free(r->marks);
	explicit_bzero(r->id_key, sizeof(r->id_key));
	free(r);
}

struct evring_stats
evring_stats(const struct evring *r)
{
	struct evring_stats st = { .epoch = r->epoch, .last = r->last,
	    .count = r->count, .bytes = r->bytes };

	memcpy(st.id_key, r->id_key, sizeof(st.id_key));
	return st;
}

/*
 * An organisation's name as a mark's key (never 0): "" is the default
 * organisation's, as the dashboards read an event (workerd's events.c).
 * Two names of one key would only reset one's resume for the other's
 * evictions, as every resume did before marks.
 */
static uint64_t
org_key(const char *org)
{
	uint64_t h;

	if (org[0] == '\0')
		org = ST_WHO_ORG_DEFAULT;
	h = proto_fnv1a(PROTO_FNV_START, org, strlen(org));
	return h != 0 ? h : 1;
}

/* org's place among the marks: its own, or the free one it would take. */
static struct evmark *
mark_place(const struct evring *r, uint64_t org)
{
	size_t i = (size_t)org & (EV_MARKS - 1);

	while (r->marks[i].org != 0 && r->marks[i].org != org)
		i = (i + 1) & (EV_MARKS - 1);
	return &r->marks[i];
}

/* Event seq of org left the ring. */
static void
mark_evicted(struct evring *r, uint64_t org, uint64_t seq)
{
	struct evmark *m = mark_place(r, org);

	if (m->org == 0 && r->nmarks >= EV_MARKS_MAX) {
		r->all_gone = seq;	/* no room: as before marks */
		return;
	}
	if (m->org == 0)
		r->nmarks++;
	m->org = org;
	m->seq = seq;
}

/* 1 when an event of org after seq has left the ring. */
static int
evicted_after(const struct evring *r, const char *org, uint64_t seq)
{
	const struct evmark *m = mark_place(r, org_key(org));

	return r->all_gone > seq || (m->org != 0 && m->seq > seq);
}

static void
evring_evict(struct evring *r)
{
	struct evslot *s = &r->slots[r->head];

	if (s->buf != NULL)	/* a forgotten one is nobody's to read */
		mark_evicted(r, s->org, s->seq);
	r->bytes -= s->len;
	free(s->buf);
	memset(s, 0, sizeof(*s));
	r->head = (r->head + 1) % ST_EV_RING_EVENTS;
	r->count--;
}

/* An event's epoch and seq: its first bytes (agentmsg.h). */
#define EV_NUMBER_LEN	16

/* Whether ev has a visitor encoding (devent_cut_for_visitors). */
static int
has_venc(const struct devent *ev)
{
	return !ev->venc.err && ev->venc.len >= EV_NUMBER_LEN;
}

/* ev's kind and ids into its slot s, for evring_forget. */
static void
slot_ids(struct evslot *s, const struct devent *ev)
{
	s->kind = ev->kind;
	s->org = org_key(ev->org);
	s->ids = 0;
	if (proto_hex_decode(ev->conv, s->conv, EV_ID_LEN) == 0)
		s->ids |= EV_HAS_CONV;
	if (proto_hex_decode(ev->contact, s->contact, EV_ID_LEN) == 0)
		s->ids |= EV_HAS_CONTACT;
}

int
evring_add(struct evring *r, struct devent *ev, const uint8_t **buf,
    size_t *len)
{
	struct evslot *s;
	uint64_t seq;
	uint8_t *kept;

	*buf = NULL;
	*len = 0;
	if (ev->enc.err || ev->enc.len < EV_NUMBER_LEN) {
		log_warnx("events: out of memory: an event is lost");
		return -1;
	}
	seq = ev->kind == ST_EV_TYPING || ev->kind == ST_EV_ANSWERING ? 0 :
	    r->last + 1;
	proto_put_be64(ev->enc.buf, r->epoch);
	proto_put_be64(ev->enc.buf + 8, seq);
	if (has_venc(ev)) {
		proto_put_be64(ev->venc.buf, r->epoch);
		proto_put_be64(ev->venc.buf + 8, seq);
	}
	*buf = ev->enc.buf;
	*len = ev->enc.len;
	if (seq == 0)
		return 0;
	/* The ring takes the encoding itself, cut to its length. */
	if ((kept = realloc(ev->enc.buf, ev->enc.len)) == NULL)
		kept = ev->enc.buf;
	penc_init(&ev->enc);
	r->last = seq;
	while (r->count > 0 && (r->count == ST_EV_RING_EVENTS ||
	    r->bytes + *len > ST_EV_RING_BYTES))
		evring_evict(r);
	s = &r->slots[(r->head + r->count) % ST_EV_RING_EVENTS];
	s->seq = seq;
	s->buf = kept;
	s->len = *len;
	slot_ids(s, ev);
	r->count++;
	r->bytes += *len;
	*buf = kept;
	return 0;
}

/* ST_EV_SINCE's reply before its events: u8, u64, u64, u32 n. */
#define SINCE_HEAD_LEN	21

int
evring_since(const struct evring *r, const char *org, uint64_t epoch,
    uint64_t seq, uint32_t max, size_t max_bytes,
    struct st_ev_since_rep *rep)
{
	const struct evslot *s;
	uint64_t first;
	size_t i, start, n, used = SINCE_HEAD_LEN;

	memset(rep, 0, sizeof(*rep));
	first = r->count > 0 ? r->slots[r->head].seq : r->last + 1;
	rep->result = epoch != r->epoch || seq > r->last ||
	    (seq + 1 < first && evicted_after(r, org, seq)) ?
	    ST_EV_GONE : ST_EV_OK;
	rep->epoch = r->epoch;
	rep->last_seq = r->last;
	if (rep->result == ST_EV_GONE)
		return 0;
	/*
	 * Kept in order from first: seq's successor is start places on (or
	 * left with the others' alone: from the first).
	 */
	start = seq + 1 < first ? 0 : (size_t)(seq + 1 - first);
	if ((n = r->count - start) > max)
		n = max;
	if (n == 0)
		return 0;
	if ((rep->events = calloc(n, sizeof(*rep->events))) == NULL)
		return -1;
	for (i = start; i < r->count && rep->n < n; i++) {
		s = &r->slots[(r->head + i) % ST_EV_RING_EVENTS];
		if (s->buf == NULL)
			continue;	/* forgotten */
		if (rep->n > 0 && (used >= max_bytes ||
		    4 + s->len > max_bytes - used))
			break;
		rep->events[rep->n++] = (struct st_evblob){ s->buf,
		    (uint32_t)s->len };
		used += 4 + s->len;
	}
	return 0;
}

static int
id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, EV_ID_LEN);
}

/* 1 when slot s is of one of the n sorted ids. */
static int
slot_named(const struct evslot *s, const uint8_t *ids, size_t n)
{
	return ((s->ids & EV_HAS_CONV) &&
	    bsearch(s->conv, ids, n, EV_ID_LEN, id_cmp) != NULL) ||
	    ((s->ids & EV_HAS_CONTACT) &&
	    bsearch(s->contact, ids, n, EV_ID_LEN, id_cmp) != NULL);
}

size_t
evring_forget(struct evring *r, uint8_t *ids, size_t n)
{
	struct evslot *s;
	size_t i, gone = 0;

	if (n == 0 || r->count == 0)
		return 0;
	qsort(ids, n, EV_ID_LEN, id_cmp);
	for (i = 0; i < r->count; i++) {
		s = &r->slots[(r->head + i) % ST_EV_RING_EVENTS];
		if (s->buf == NULL || s->kind == ST_EV_CONV_DELETED ||
		    !slot_named(s, ids, n))
			continue;
		r->bytes -= s->len;
		free(s->buf);
		s->buf = NULL;
		s->len = 0;
		gone++;
	}
	return gone;
}

int
ev_wanted(int level, const struct devent *ev)
{
	if (level >= ST_EV_LEVEL_ALL)
		return 1;
	return level == ST_EV_LEVEL_VISITOR && ev->visitor;
}

void
ev_for_level(int level, const struct devent *ev, const uint8_t *whole,
    size_t wlen, const uint8_t **buf, size_t *len)
{
	*buf = whole;
	*len = wlen;
	if (level == ST_EV_LEVEL_VISITOR && has_venc(ev)) {
		*buf = ev->venc.buf;
		*len = ev->venc.len;
	}
}

void
devent_cut_for_visitors(struct devent *d, const struct st_event *ev)
{
	struct st_event v;

	memset(&v, 0, sizeof(v));
	v.at = ev->at;
	v.kind = ev->kind;
	strlcpy(v.conv.id, ev->conv.id, sizeof(v.conv.id));
	/* borrowed: encoded, never freed here; an answer's cited passages too */
	v.msg = ev->msg;
	v.state = ev->state;
	v.on = ev->on;
	strlcpy(v.name, ev->name, sizeof(v.name));
	penc_init(&d->venc);
	if (st_req_encode(&d->venc, PROTO_ST_EV, &v) < 0)
		penc_free(&d->venc);
}

void
devent_free(struct devent *ev)
{
	penc_free(&ev->enc);
	penc_free(&ev->venc);
}
