/*
 * libFuzzer target for the typed message table (proto/stmsgs.c through
 * proto/msgcodec.c): byte 0 names a type, bit 0 of byte 1 its request or
 * its reply, and the rest is that payload, decoded by the table. What
 * decodes is encoded again and must give the input back byte for byte
 * (a string the layout clips, and an event of an older form, written anew
 * in this build's, are the changes allowed: the re-encoding then decodes
 * and encodes to itself); what does not decode leaves its
 * struct zeroed. The seeds, a valid payload of each type's request and
 * reply, are written by tests/unit/proto/test_stmsgs.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "msgtab.h"
#include "stmsgs.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when s holds a string l clips (PF_F_CLIP) cut at its max + 1 bytes. */
static int
clipped(const struct playout *l, const void *s)
{
	const unsigned char *base = s, *a;
	const struct pfield *f;
	const char *str;
	uint32_t n, i;
	size_t k;

	for (k = 0; k < l->nf; k++) {
		f = &l->f[k];
		switch (f->kind) {
		case PF_STR:
			memcpy(&str, base + f->off, sizeof(str));
			if ((f->flags & PF_F_CLIP) && strlen(str) > f->max)
				return 1;
			break;
		case PF_REC:
		case PF_WHEN:
			if (clipped(f->sub, base + f->off))
				return 1;
			break;
		case PF_LIST:
			memcpy(&a, base + f->off, sizeof(a));
			memcpy(&n, base + f->aux, sizeof(n));
			for (i = 0; i < n; i++)
				if (clipped(f->sub, a + (size_t)i * f->sub->size))
					return 1;
			break;
		}
	}
	return 0;
}

static int
decode(uint16_t type, int reply, const uint8_t *p, size_t len, void *s)
{
	return reply ? st_rep_decode(type, p, len, s) :
	    st_req_decode(type, p, len, s);
}

static int
encode(struct penc *e, uint16_t type, int reply, const void *s)
{
	return reply ? st_rep_encode(e, type, s) : st_req_encode(e, type, s);
}

static void
release(uint16_t type, int reply, void *s)
{
	if (reply)
		st_rep_free(type, s);
	else
		st_req_free(type, s);
}

/*
 * An event of an older form (its kind without ST_EV_FORMATS, or its
 * records' formats not this build's: an outbox's payload written before)
 * decodes, and is encoded in this build's form: not the bytes it came in.
 */
static int
older_event(uint16_t type, const uint8_t *p, size_t len)
{
	size_t k = 3 * 8;	/* epoch, seq, at: then the kind */

	if (type != PROTO_ST_EV || len < k + 4)
		return type == PROTO_ST_EV;
	return !(p[k] & ST_EV_FORMATS) ||
	    p[k + 1] != rl_version(&st_conv_layout) ||
	    p[k + 2] != rl_version(&st_msg_layout) ||
	    p[k + 3] != rl_version(&st_contact_layout);
}

/* A re-encoding that differs from the input decodes and encodes to itself. */
static void
check_fixed(uint16_t type, int reply, const struct penc *e)
{
	union st_any s2;
	struct penc e2;

	if (decode(type, reply, e->buf, e->len, &s2) < 0)
		abort();
	penc_init(&e2);
	if (encode(&e2, type, reply, &s2) < 0 || e2.len != e->len ||
	    memcmp(e2.buf, e->buf, e->len) != 0)
		abort();
	penc_free(&e2);
	release(type, reply, &s2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct proto_msg *m;
	const struct playout *l;
	union st_any s;
	struct penc e;
	uint16_t type;
	int reply;

	if (size < 2)
		return 0;
	type = data[0];
	reply = data[1] & 1;
	if ((m = proto_msg(type)) == NULL ||
	    (l = reply ? m->rep : m->req) == NULL)
		return 0;
	if (l->size > sizeof(s))
		abort();
	data += 2;
	size -= 2;
	memset(&s, 0xa5, sizeof(s));
	if (decode(type, reply, data, size, &s) < 0) {
		if (!proto_zeroed(&s, l->size))
			abort();
		return 0;
	}
	penc_init(&e);
	if (encode(&e, type, reply, &s) < 0)
		abort();
	if (e.len != size || (size > 0 && memcmp(e.buf, data, size) != 0)) {
		/* A clipped string encodes shorter; an older event, anew. */
		if (clipped(l, &s) ? e.len >= size :
		    !older_event(type, data, size))
			abort();
		check_fixed(type, reply, &e);
	}
	penc_free(&e);
	release(type, reply, &s);
	if (!proto_zeroed(&s, l->size))
		abort();
	return 0;
}
