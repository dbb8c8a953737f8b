/*
 * storaged's requests as the message table describes them: for every
 * type the table sends to storaged, a valid payload (a defaulted struct,
 * encoded by the table) is not malformed, and one a byte short or a byte
 * over is refused as malformed (PROTO_E_INVALID) without a crash. The
 * types the server answers itself (metrics, events, backup) are decoded
 * there by the same table: for them the short and long payloads must
 * not decode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agentmsg.h"
#include "log.h"
#include "msgtab.h"
#include "optab.h"
#include "test_fixture.h"
#include "widgetmsg.h"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-dcodec-XXXXXX", 1);
}

/*
 * The requests server.c answers itself, and the stream replication's
 * link reads (repl.c): their rows in optab.c; dispatch.c knows them not.
 */
static int
server_serves(uint16_t type)
{
	const struct optab *o = optab(type);

	return o != NULL && o->by != OPT_STORE;
}

/*
 * A struct of layout l at s (zeroed) made valid to encode and decode:
 * records with their defaults, bytes of an exact length that long.
 */
static void
defaults(const struct playout *l, void *s)
{
	const struct pfield *f;
	uint32_t len;
	size_t i;

	if (l == &pl_widget) {
		st_widget_defaults(s);
		return;
	}
	if (l == &pl_agent) {
		st_agent_defaults(s);
		return;
	}
	for (i = 0; i < l->nf; i++) {
		f = &l->f[i];
		if (f->kind == PF_REC || f->kind == PF_WHEN)
			defaults(f->sub, (char *)s + f->off);
		if (f->kind == PF_BYTES && (f->flags & PF_F_EXACT)) {
			len = f->max;
			memcpy((char *)s + f->aux, &len, sizeof(len));
		}
	}
}

/* type's payload of len bytes through dispatch: the reply's error. */
static int
run(struct fix *f, uint16_t type, const void *p, size_t len,
    const char **msg)
{
	struct dreply r;
	int err;

	dispatch_one(f->st, f->rl, type, p, len, &r);
	err = r.err;
	*msg = r.errmsg;
	dreply_free(&r);
	return err;
}

/* A payload and the same with one byte more. */
struct payload {
	struct penc e;
	size_t len;
};

static void
valid_payload(uint16_t type, const struct playout *l, struct payload *p)
{
	union st_any req, back;

	memset(&req, 0, sizeof(req));
	defaults(l, &req);
	penc_init(&p->e);
	assert_int_equal(st_req_encode(&p->e, type, &req), 0);
	p->len = p->e.len;
	/* It decodes back, exactly. */
	assert_int_equal(st_req_decode(type, p->e.buf, p->len, &back), 0);
	st_req_free(type, &back);
	penc_u8(&p->e, 0);
	assert_false(p->e.err);
}

static void
test_short_and_over(void **state)
{
	struct fix *f = *state;
	const struct proto_msg *m;
	struct payload p;
	union st_any back;
	const char *msg;
	size_t i;
	int err;

	for (i = 0; (m = proto_msg_at(i)) != NULL; i++) {
		if (!(m->to & PROTO_PEER_STORAGED) || m->req == NULL)
			continue;
		/* Room in the structs dispatch.c decodes into. */
		assert_true(m->req->size <= sizeof(union st_any));
		assert_true(m->rep == NULL || m->rep->size <= sizeof(back));
		valid_payload(m->type, m->req, &p);
		if (server_serves(m->type)) {
			assert_int_equal(run(f, m->type, p.e.buf, p.len, &msg),
			    PROTO_E_UNSUPPORTED);
			assert_true(p.len == 0 || st_req_decode(m->type,
			    p.e.buf, p.len - 1, &back) < 0);
			assert_true(st_req_decode(m->type, p.e.buf,
			    p.len + 1, &back) < 0);
			penc_free(&p.e);
			continue;
		}
		/* Answered by dispatch.c, whatever the store says of it. */
		if ((err = run(f, m->type, p.e.buf, p.len, &msg)) != 0) {
			assert_int_not_equal(err, PROTO_E_UNSUPPORTED);
			assert_string_not_equal(msg, "malformed request");
		}
		if (p.len > 0) {
			assert_int_equal(run(f, m->type, p.e.buf, p.len - 1,
			    &msg), PROTO_E_INVALID);
			assert_string_equal(msg, "malformed request");
		}
		assert_int_equal(run(f, m->type, p.e.buf, p.len + 1, &msg),
		    PROTO_E_INVALID);
		assert_string_equal(msg, "malformed request");
		penc_free(&p.e);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_short_and_over, setup,
		    fix_teardown),
	};

	log_init("test_dispatch_codec");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
