/*
 * Arbitrary bytes as a storaged request, through the dispatcher and a real
 * LMDB environment (a temporary directory made once per run).
 *
 * data[0]: low 4 bits pick the type (0x20 + n: the five requests and
 * unknown ones); bit 0x80 prefixes the payload with the id of a known
 * conversation so APPEND and GET reach past the lookup; bit 0x40 runs the
 * request twice in one batch. The rest of the input is the payload.
 *
 * Every reply must decode exactly as storemsg.h says.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch.h"
#include "log.h"
#include "proto.h"
#include "store.h"
#include "storemsg.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct store *st;
static char dir[64];
static char known[ST_ID_HEX + 1];

static void
cleanup(void)
{
	char p[128];

	store_close(st);
	snprintf(p, sizeof(p), "%s/data.mdb", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/lock.mdb", dir);
	unlink(p);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	struct st_conv c;

	log_init("fuzz_dispatch");
	log_set_level(LOG_LEVEL_FATAL);
	strlcpy(dir, "/tmp/parley-fuzz-XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL ||
	    (st = store_open(dir, 256, STORE_F_NOSYNC)) == NULL)
		abort();
	atexit(cleanup);

	penc_init(&e);
	penc_str(&e, "fuzz");
	penc_str(&e, "fuzz");
	dispatch_one(st, PROTO_ST_CONV_OPEN, e.buf, e.len, &r);
	pdec_init(&d, r.enc.buf, r.enc.len);
	pdec_u8(&d);
	if (r.err != 0 || pdec_conv(&d, &c) < 0)
		abort();
	strlcpy(known, c.id, sizeof(known));
	st_conv_free(&c);
	dreply_free(&r);
	penc_free(&e);
	return 0;
}

static void
check_conv(struct pdec *d)
{
	struct st_conv c;

	if (pdec_conv(d, &c) < 0)
		abort();
	if (!st_id_valid(c.id) || c.widget[0] == '\0' ||
	    c.session[0] == '\0' || c.updated_at < c.created_at)
		abort();
	st_conv_free(&c);
}

static void
check_msg(struct pdec *d)
{
	struct st_msg m;

	if (pdec_msg(d, &m) < 0)
		abort();
	if (!st_id_valid(m.id) || !st_id_valid(m.conv_id))
		abort();
	st_msg_free(&m);
}

/* A successful reply decodes exactly, with nothing left over. */
static void
check_reply(uint16_t type, const struct dreply *r)
{
	struct pdec d;
	uint32_t n, i;

	if (r->err != 0) {
		if (r->errmsg == NULL || r->err < PROTO_E_INTERNAL ||
		    r->err > PROTO_E_UNAVAILABLE)
			abort();
		return;
	}
	if (r->enc.err || r->enc.len > PROTO_MAX_PAYLOAD)
		abort();
	pdec_init(&d, r->enc.buf, r->enc.len);
	switch (type) {
	case PROTO_ST_PING:
		break;
	case PROTO_ST_CONV_OPEN:
		if (pdec_u8(&d) > 1)
			abort();
		check_conv(&d);
		break;
	case PROTO_ST_MSG_APPEND:
		check_msg(&d);
		check_conv(&d);
		break;
	case PROTO_ST_CONV_LIST:
		pdec_u64(&d);
		if ((n = pdec_u32(&d)) > ST_LIST_MAX)
			abort();
		for (i = 0; i < n; i++)
			check_conv(&d);
		free(pdec_strdup(&d, ST_CURSOR_MAX));
		break;
	case PROTO_ST_CONV_GET:
		check_conv(&d);
		n = pdec_u32(&d);
		for (i = 0; i < n && !d.err; i++)
			check_msg(&d);
		if (pdec_u8(&d) > 1)
			abort();
		break;
	default:
		abort();	/* unknown types must fail */
	}
	if (pdec_done(&d) < 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbatch b;
	struct dreply r[2];
	struct penc e;
	uint16_t type;
	int i, twice;

	if (size < 1)
		return 0;
	type = PROTO_ST_PING + (data[0] & 0x0f);
	twice = (data[0] & 0x40) != 0;
	penc_init(&e);
	if (data[0] & 0x80)
		penc_str(&e, known);
	/* proto's penc_raw() of 0 bytes into an empty encoder is NULL + 0 (UB). */
	if (size > 1)
		penc_raw(&e, data + 1, size - 1);
	if (e.err) {
		penc_free(&e);
		return 0;
	}

	dispatch_begin(st, &b, dispatch_is_write(type));
	for (i = 0; i <= twice; i++)
		dispatch_run(&b, type, e.buf, e.len, &r[i]);
	if (dispatch_end(&b) < 0)
		for (i = 0; i <= twice; i++)
			dreply_commit_failed(&r[i]);
	for (i = 0; i <= twice; i++) {
		check_reply(type, &r[i]);
		dreply_free(&r[i]);
	}
	penc_free(&e);
	return 0;
}
