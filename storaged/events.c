/* The event ring: numbering, keeping and reading back events (events.h). */
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "log.h"
#include "random.h"

struct evslot {
	uint64_t seq;
	uint8_t *buf;		/* the whole encoding (penc_event) */
	size_t len;
};

struct evring {
	uint64_t epoch;
	uint64_t last;		/* the last seq handed out */
	struct evslot *slots;	/* ST_EV_RING_EVENTS, circular */
	size_t head;		/* the oldest */
	size_t count;
	size_t bytes;		/* of the kept encodings */
};

struct evring *
evring_new(void)
{
	struct evring *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	if ((r->slots = calloc(ST_EV_RING_EVENTS, sizeof(*r->slots))) ==
	    NULL) {
		free(r);
		return NULL;
	}
	/* A new run: clients from the last one find their seqs gone. */
	proto_random(&r->epoch, sizeof(r->epoch));
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
	free(r);
}

uint64_t
evring_epoch(const struct evring *r)
{
	return r->epoch;
}

uint64_t
evring_last(const struct evring *r)
{
	return r->last;
}

size_t
evring_count(const struct evring *r)
{
	return r->count;
}

size_t
evring_bytes(const struct evring *r)
{
	return r->bytes;
}

static void
evring_evict(struct evring *r)
{
	struct evslot *s = &r->slots[r->head];

	r->bytes -= s->len;
	free(s->buf);
	memset(s, 0, sizeof(*s));
	r->head = (r->head + 1) % ST_EV_RING_EVENTS;
	r->count--;
}

int
evring_add(struct evring *r, const struct devent *ev, struct penc *out)
{
	struct evslot *s;
	uint64_t seq;
	uint8_t *copy = NULL;

	penc_init(out);
	seq = ev->kind == ST_EV_TYPING ? 0 : r->last + 1;
	penc_u64(out, r->epoch);
	penc_u64(out, seq);
	penc_u64(out, ev->at);
	penc_raw(out, ev->body.buf, ev->body.len);
	if (out->err || ev->body.err ||
	    (seq != 0 && (copy = malloc(out->len)) == NULL)) {
		log_warnx("events: out of memory: an event is lost");
		penc_free(out);
		return -1;
	}
	if (seq == 0)
		return 0;
	memcpy(copy, out->buf, out->len);
	r->last = seq;
	while (r->count > 0 && (r->count == ST_EV_RING_EVENTS ||
	    r->bytes + out->len > ST_EV_RING_BYTES))
		evring_evict(r);
	s = &r->slots[(r->head + r->count) % ST_EV_RING_EVENTS];
	s->seq = seq;
	s->buf = copy;
	s->len = out->len;
	r->count++;
	r->bytes += out->len;
	return 0;
}

void
evring_since(const struct evring *r, uint64_t epoch, uint64_t seq,
    uint32_t max, size_t max_bytes, struct penc *e)
{
	const struct evslot *s;
	uint64_t first;
	size_t i, used, nat;
	uint32_t n = 0;
	int gone;

	first = r->count > 0 ? r->slots[r->head].seq : r->last + 1;
	gone = epoch != r->epoch || seq > r->last || seq + 1 < first;
	penc_u8(e, gone ? ST_EV_GONE : ST_EV_OK);
	penc_u64(e, r->epoch);
	penc_u64(e, r->last);
	nat = e->len;
	penc_u32(e, 0);		/* n, written below */
	if (e->err || gone)
		return;
	used = e->len;
	for (i = (size_t)(seq + 1 - first); i < r->count && n < max; i++) {
		s = &r->slots[(r->head + i) % ST_EV_RING_EVENTS];
		if (n > 0 && (used >= max_bytes ||
		    4 + s->len > max_bytes - used))
			break;
		penc_bytes(e, s->buf, s->len);
		used += 4 + s->len;
		n++;
	}
	if (!e->err)
		proto_put_be32(e->buf + nat, n);
}

int
ev_wanted(int level, const struct devent *ev)
{
	if (level >= ST_EV_LEVEL_ALL)
		return 1;
	return level == ST_EV_LEVEL_VISITOR && ev->visitor;
}

void
devent_free(struct devent *ev)
{
	penc_free(&ev->body);
}
