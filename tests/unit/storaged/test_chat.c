/*
 * The chat turn's requests (ST_RATE_HIT, ST_CHAT_BEGIN,
 * ST_CHAT_ANSWER_LAST, ST_SESSION_HISTORY) and the rate counters behind
 * them, against a real LMDB environment in a fresh temporary directory
 * per test, with fake clocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "agentmsg.h"
#include "log.h"
#include "storeint.h"
#include "test_fixture.h"

#define MIN	60000u

static int
setup(void **state)
{
	*state = fix_new_rl("/tmp/parley-chat-XXXXXX");
	return 0;
}

static int
teardown(void **state)
{
	fix_free(*state);
	return 0;
}

/* ------------------------------------------------ requests via dispatch */

/* Error code, or 0 with *limited and *retry set. */
static int
do_rate(struct fix *f, const char *key, uint32_t window, uint32_t max,
    int *limited, uint64_t *retry)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	int err;

	penc_init(&e);
	penc_str(&e, key);
	penc_u32(&e, window);
	penc_u32(&e, max);
	if ((err = request(f, PROTO_ST_RATE_HIT, &e, &r)) == 0) {
		assert_int_equal(r.touched, 0);
		pdec_init(&d, r.enc.buf, r.enc.len);
		*limited = pdec_u8(&d);
		*retry = pdec_u64(&d);
		assert_int_equal(pdec_done(&d), 0);
		assert_true(*limited == 0 || *limited == 1);
		assert_true(*limited ? *retry >= 1 : *retry == 0);
	}
	dreply_free(&r);
	return err;
}

/* Allowed (0) or limited (1); anything else fails the test. */
static int
hit(struct fix *f, const char *key, uint32_t window, uint32_t max,
    uint64_t *retry)
{
	uint64_t ignored;
	int limited;

	assert_int_equal(do_rate(f, key, window, max, &limited,
	    retry != NULL ? retry : &ignored), 0);
	return limited;
}

struct chat {
	int limited;
	uint64_t retry;
	struct st_agent agent;
	int created;
	struct st_conv conv;
	uint32_t n;
	char role[ST_HISTORY_MAX][ST_ROLE_MAX + 1];
	char *content[ST_HISTORY_MAX];
	char msg_id[ST_ID_HEX + 1];	/* the question's */
	size_t reply_len;
};

static void
chat_payload(struct penc *e, const char *w, const char *s,
    const char *content, const char *key, uint32_t window, uint32_t rmax,
    uint32_t hmax)
{
	/* By hand: the invalid ones are what the table would not send. */
	penc_init(e);
	penc_str(e, w);
	penc_str(e, s);
	penc_str(e, content);
	penc_str(e, key);
	penc_u32(e, window);
	penc_u32(e, rmax);
	penc_u32(e, hmax);
	penc_visitor(e, &(struct st_visitor){ 0 });	/* told nothing */
	penc_bytes(e, NULL, 0);		/* no session hash */
	penc_u32(e, 0);			/* no attachments */
}

/* Decodes a CHAT_BEGIN reply exactly. */
static void
chat_decode(const struct dreply *r, struct chat *c)
{
	char lang[ST_VISITOR_LANG_MAX + 1];
	struct pdec d;
	uint32_t i;

	memset(c, 0, sizeof(*c));
	c->reply_len = r->enc.len;
	pdec_init(&d, r->enc.buf, r->enc.len);
	c->limited = pdec_u8(&d);
	c->retry = pdec_u64(&d);
	if (c->limited) {
		assert_int_equal(c->limited, 1);
		assert_true(c->retry >= 1);
		assert_int_equal(pdec_done(&d), 0);
		return;
	}
	assert_true(c->retry == 0);
	/* The agent: the default one, every field empty or unset. */
	assert_int_equal(pdec_agent(&d, &c->agent), 0);
	assert_string_equal(c->agent.id, "");
	assert_int_equal(c->agent.temperature_milli, ST_AGENT_UNSET);
	c->created = pdec_u8(&d);
	assert_true(c->created == 0 || c->created == 1);
	fix_dec_begin_conv(&d, c->conv.id, lang);
	assert_string_equal(lang, "");	/* told nothing */
	c->n = pdec_u32(&d);
	assert_true(c->n >= 1 && c->n <= ST_HISTORY_MAX);
	for (i = 0; i < c->n; i++) {
		pdec_strbuf(&d, c->role[i], sizeof(c->role[i]));
		c->content[i] = pdec_strdup(&d, ST_CONTENT_MAX);
		assert_non_null(c->content[i]);
		assert_int_equal(pdec_u32(&d), 0);	/* no attachments */
	}
	pdec_strbuf(&d, c->msg_id, sizeof(c->msg_id));	/* the question's */
	assert_true(st_id_valid(c->msg_id));
	assert_int_equal(pdec_u8(&d), ST_HANDOFF_AI);	/* the model's */
	assert_int_equal(pdec_done(&d), 0);
	/* The message just stored closes the history. */
	assert_string_equal(c->role[c->n - 1], "user");
}

static void
chat_free(struct chat *c)
{
	uint32_t i;

	st_agent_free(&c->agent);
	st_conv_free(&c->conv);
	for (i = 0; i < c->n; i++)
		free(c->content[i]);
	memset(c, 0, sizeof(*c));
}

static int
do_chat(struct fix *f, const char *w, const char *s, const char *content,
    const char *key, uint32_t window, uint32_t rmax, uint32_t hmax,
    struct chat *c)
{
	struct penc e;
	struct dreply r;
	int err;

	chat_payload(&e, w, s, content, key, window, rmax, hmax);
	if ((err = request(f, PROTO_ST_CHAT_BEGIN, &e, &r)) == 0) {
		chat_decode(&r, c);
		/* A turn for the model to answer: open (server.c keeps it). */
		assert_int_equal(r.turn, c->limited ? 0 : DTURN_BEGUN);
		if (!c->limited) {
			assert_string_equal(r.turn_conv, c->conv.id);
			assert_string_equal(r.turn_msg, c->msg_id);
		}
	}
	dreply_free(&r);
	/* The reply names the conversation; the tests read it whole. */
	if (err == 0 && !c->limited) {
		fix_conv_get(f, c->conv.id, &c->conv);
		fix_turns_end(f);	/* as its reply would */
	}
	return err;
}

/* Without a rate limit; the turn must go through. */
static void
chat(struct fix *f, const char *w, const char *s, const char *content,
    uint32_t hmax, struct chat *c)
{
	assert_int_equal(do_chat(f, w, s, content, "", 0, 0, hmax, c), 0);
	assert_int_equal(c->limited, 0);
}

static int
do_append(struct fix *f, const char *conv_id, const char *role,
    const char *content, const char *status)
{
	struct penc e;
	struct dreply r;
	int err;

	append_payload(&e, conv_id, role, content, status, 7, 9);
	err = request(f, PROTO_ST_MSG_APPEND, &e, &r);
	dreply_free(&r);
	return err;
}

/* A whole turn of widget w's session s: asked, then answered as status. */
static void
turn(struct fix *f, const char *s, const char *question, const char *reply,
    const char *status)
{
	struct chat a;

	chat(f, "w", s, question, 30, &a);
	assert_int_equal(do_append(f, a.conv.id, "assistant", reply, status),
	    0);
	chat_free(&a);
}

/* The history a turn was given: n messages' contents, oldest first. */
static void
history_is(const struct chat *c, uint32_t n, ...)
{
	va_list ap;
	uint32_t i;

	assert_int_equal(c->n, n);
	va_start(ap, n);
	for (i = 0; i < n; i++)
		assert_string_equal(c->content[i], va_arg(ap, const char *));
	va_end(ap);
}

static int
do_hist(struct fix *f, const char *w, const char *s, uint32_t max,
    struct thread *h)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	int err;

	memset(h, 0, sizeof(*h));
	penc_init(&e);
	penc_str(&e, w);
	penc_str(&e, s);
	penc_u32(&e, max);
	if ((err = request(f, PROTO_ST_SESSION_HISTORY, &e, &r)) == 0) {
		h->reply_len = r.enc.len;
		pdec_init(&d, r.enc.buf, r.enc.len);
		h->found = pdec_u8(&d);
		assert_true(h->found <= ST_HISTORY_DISABLED);
		if (h->found == ST_HISTORY_FOUND) {
			thread_decode(&d, h);
			h->truncated = pdec_u8(&d);
		}
		assert_int_equal(pdec_done(&d), 0);
	}
	dreply_free(&r);
	return err;
}

static uint64_t
conv_total(struct fix *f)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	uint64_t total;

	penc_init(&e);
	penc_u32(&e, 1);
	penc_str(&e, "");
	assert_int_equal(request(f, PROTO_ST_CONV_LIST, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	total = pdec_u64(&d);
	dreply_free(&r);
	return total;
}

/* ------------------------------------------------------ rate counters */

static void
test_siphash_vectors(void **state)
{
	uint8_t key[16], msg[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)i;
	for (i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	/* The reference vectors of the SipHash paper (Aumasson, Bernstein). */
	assert_true(ratelimit_siphash(key, msg, 0) == 0x726fdb47dd0e0e31ULL);
	assert_true(ratelimit_siphash(key, msg, 15) == 0xa129ca6149be45e5ULL);
}

static void
test_rate_window(void **state)
{
	struct fix *f = *state;
	uint64_t retry;
	int i;

	for (i = 0; i < 3; i++) {
		fake_mono += 1000;
		assert_int_equal(hit(f, "k", MIN, 3, NULL), 0);
	}
	/* The window started at the first hit, M0 + 1000. */
	assert_int_equal(hit(f, "k", MIN, 3, &retry), 1);
	assert_true(retry == MIN - 2000);
	fake_mono += 10000;
	assert_int_equal(hit(f, "k", MIN, 3, &retry), 1);
	assert_true(retry == MIN - 12000);
	/* The last millisecond of the window. */
	fake_mono = M0 + 1000 + MIN - 1;
	assert_int_equal(hit(f, "k", MIN, 3, &retry), 1);
	assert_true(retry == 1);

	/* Limited requests were not counted; the window ends on time. */
	fake_mono = M0 + 1000 + MIN;
	for (i = 0; i < 3; i++)
		assert_int_equal(hit(f, "k", MIN, 3, NULL), 0);
	assert_int_equal(hit(f, "k", MIN, 3, &retry), 1);
	assert_true(retry == MIN);
	assert_int_equal(ratelimit_stats(f->rl).count, 1);

	/* A new window starts at the first request after the old one. */
	fake_mono = M0 + 1000 + 5 * MIN + 123;
	assert_int_equal(hit(f, "k", MIN, 3, NULL), 0);
	fake_mono += 7;
	assert_int_equal(hit(f, "k", MIN, 3, NULL), 0);
	assert_int_equal(hit(f, "k", MIN, 3, NULL), 0);
	assert_int_equal(hit(f, "k", MIN, 3, &retry), 1);
	assert_true(retry == MIN - 7);

	/* A limit of one. */
	assert_int_equal(hit(f, "one", 500, 1, NULL), 0);
	assert_int_equal(hit(f, "one", 500, 1, &retry), 1);
	assert_true(retry == 500);
}

static void
test_rate_keys_independent(void **state)
{
	struct fix *f = *state;
	uint64_t retry;
	char k[32];
	int i;

	assert_int_equal(hit(f, "ip:192.0.2.1", MIN, 2, NULL), 0);
	assert_int_equal(hit(f, "ip:192.0.2.1", MIN, 2, NULL), 0);
	assert_int_equal(hit(f, "ip:192.0.2.1", MIN, 2, NULL), 1);
	/* Neither a prefix nor an extension of the key shares its count. */
	assert_int_equal(hit(f, "ip:192.0.2.", MIN, 2, NULL), 0);
	assert_int_equal(hit(f, "ip:192.0.2.10", MIN, 2, NULL), 0);
	assert_int_equal(hit(f, "ip:192.0.2.10", MIN, 2, NULL), 0);
	assert_int_equal(hit(f, "ip:192.0.2.10", MIN, 2, NULL), 1);
	assert_int_equal(hit(f, "IP:192.0.2.1", MIN, 2, NULL), 0);

	/* Many keys: each counts on its own. */
	for (i = 0; i < 500; i++) {
		snprintf(k, sizeof(k), "many:%d", i);
		assert_int_equal(hit(f, k, MIN, 1, NULL), 0);
	}
	for (i = 0; i < 500; i++) {
		snprintf(k, sizeof(k), "many:%d", i);
		assert_int_equal(hit(f, k, MIN, 1, &retry), 1);
		assert_true(retry == MIN);
	}
	assert_int_equal(ratelimit_stats(f->rl).count, 504);
}

static void
test_rate_unlimited(void **state)
{
	struct fix *f = *state;
	int i;

	for (i = 0; i < 100; i++)
		assert_int_equal(hit(f, "k", MIN, 0, NULL), 0);
	/* Nothing is counted, so nothing is held; no key is needed. */
	assert_int_equal(ratelimit_stats(f->rl).count, 0);
	assert_int_equal(hit(f, "", 0, 0, NULL), 0);
	/* Limiting it later starts from zero. */
	assert_int_equal(hit(f, "k", MIN, 1, NULL), 0);
	assert_int_equal(hit(f, "k", MIN, 1, NULL), 1);
	/* And a limited key is not limited by a request asking for none. */
	assert_int_equal(hit(f, "k", MIN, 0, NULL), 0);
}

static void
test_rate_sweep_bounded(void **state)
{
	struct fix *f = *state;
	char k[32];
	int round, i;

	for (i = 0; i < 900; i++) {
		snprintf(k, sizeof(k), "old:%d", i);
		assert_int_equal(hit(f, k, 1000, 5, NULL), 0);
	}
	assert_int_equal(ratelimit_stats(f->rl).count, 900);
	/* Not yet expired: a sweep leaves them. */
	fake_mono += 999;
	assert_int_equal(ratelimit_sweep(f->rl, 10000), 0);
	fake_mono += 1;
	/* Each hit drops a few expired windows: bounded work per call. */
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "new:%d", i);
		assert_int_equal(hit(f, k, 1000, 5, NULL), 0);
	}
	assert_int_equal(ratelimit_stats(f->rl).count,
	    900 - 100 * RATELIMIT_SWEEP_HIT + 100);
	/* The loop's sweep takes what it is allowed, then the rest. */
	assert_int_equal(ratelimit_sweep(f->rl, 50), 50);
	assert_int_equal(ratelimit_sweep(f->rl, 10000),
	    900 - 100 * RATELIMIT_SWEEP_HIT - 50);
	assert_int_equal(ratelimit_stats(f->rl).count, 100);

	/*
	 * Steady traffic of fresh keys: what is held follows the keys of the
	 * current window, not every key ever seen.
	 */
	for (round = 0; round < 30; round++) {
		fake_mono += 1000;
		for (i = 0; i < 200; i++) {
			snprintf(k, sizeof(k), "r%d:%d", round, i);
			assert_int_equal(hit(f, k, 1000, 5, NULL), 0);
			assert_true(ratelimit_stats(f->rl).count <= 400);
		}
	}
	assert_int_equal(ratelimit_stats(f->rl).evicted, 0);
	/* A key whose window ended starts a new one. */
	fake_mono += 1000;
	assert_int_equal(hit(f, "r29:0", 1000, 1, NULL), 0);
	assert_int_equal(hit(f, "r29:0", 1000, 1, NULL), 1);
}

static void
test_rate_table_full(void **state)
{
	struct fix *f = *state;
	struct ratelimit *rl;
	uint64_t retry;
	char k[32];
	int i;

	(void)f;
	rl = ratelimit_new(100);
	assert_non_null(rl);
	ratelimit_set_clock(rl, fake_mono_clock);

	/* 100 live keys fill it, each at its limit. */
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		fake_mono++;
		assert_int_equal(ratelimit_hit(rl, k, strlen(k), MIN, 1,
		    &retry), 0);
	}
	assert_int_equal(ratelimit_stats(rl).count, 100);
	/* Fifty more: the oldest live windows make room. */
	log_set_level(LOG_LEVEL_FATAL);
	for (i = 100; i < 150; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		assert_int_equal(ratelimit_hit(rl, k, strlen(k), MIN, 1,
		    &retry), 0);
		assert_true(ratelimit_stats(rl).count <= 100);
	}
	log_set_level(LOG_LEVEL_INFO);
	assert_int_equal(ratelimit_stats(rl).count, 100);
	assert_true(ratelimit_stats(rl).evicted == 50);
	/* The limit errs open for an evicted key, not for the others. */
	assert_int_equal(ratelimit_hit(rl, "k0", 2, MIN, 1, &retry), 0);
	assert_int_equal(ratelimit_hit(rl, "k149", 4, MIN, 1, &retry), 1);

	/* Expired windows are dropped before any live one. */
	fake_mono += MIN;
	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "n%d", i);
		assert_int_equal(ratelimit_hit(rl, k, strlen(k), MIN, 1,
		    &retry), 0);
	}
	assert_true(ratelimit_stats(rl).evicted == 51);
	assert_int_equal(ratelimit_stats(rl).count, 100);
	assert_int_equal(ratelimit_hit(rl, "n0", 2, MIN, 1, &retry), 1);
	ratelimit_free(rl);
}

/* ratelimit_hit() of key on rl, its retry dropped. */
static int
rl_hit(struct ratelimit *rl, const char *key, uint32_t window, uint32_t max)
{
	uint64_t retry;

	return ratelimit_hit(rl, key, strlen(key), window, max, &retry);
}

/*
 * Windows of different lengths (a chat limit's minute, a resume's ten
 * seconds) in one table: the short ones that ended are swept and make room
 * though a long live one started before them, and a full table gives up
 * the live window that ends soonest, not the one that started first.
 */
static void
test_rate_mixed_lengths(void **state)
{
	struct ratelimit *rl;

	(void)state;
	assert_non_null(rl = ratelimit_new(3));
	ratelimit_set_clock(rl, fake_mono_clock);
	fake_mono = M0;
	assert_int_equal(rl_hit(rl, "ip:A", MIN, 1), 0);
	assert_int_equal(rl_hit(rl, "resume:B", 10000, 5), 0);
	assert_int_equal(rl_hit(rl, "resume:C", 10000, 5), 0);
	/* B and C ended; A runs to M0 + MIN. */
	fake_mono = M0 + 20000;
	assert_int_equal(ratelimit_sweep(rl, 256), 2);
	assert_int_equal(ratelimit_stats(rl).count, 1);

	/* Full again, two of them ended: they make room, A stays. */
	assert_int_equal(rl_hit(rl, "resume:B", 10000, 5), 0);
	assert_int_equal(rl_hit(rl, "resume:C", 10000, 5), 0);
	fake_mono = M0 + 30000;
	log_set_level(LOG_LEVEL_FATAL);
	assert_int_equal(rl_hit(rl, "resume:D", 10000, 5), 0);
	assert_true(ratelimit_stats(rl).evicted == 0);
	assert_int_equal(rl_hit(rl, "ip:A", MIN, 1), 1);

	/* All live: E ends first, so E goes, not A, the oldest. */
	assert_int_equal(rl_hit(rl, "resume:E", 1000, 1), 0);
	assert_int_equal(ratelimit_stats(rl).count, 3);
	assert_int_equal(rl_hit(rl, "resume:F", 10000, 1), 0);
	assert_true(ratelimit_stats(rl).evicted == 1);
	log_set_level(LOG_LEVEL_INFO);
	assert_int_equal(rl_hit(rl, "ip:A", MIN, 1), 1);
	assert_int_equal(rl_hit(rl, "resume:D", 10000, 1), 1);

	/* A request of a shorter length moves its window's end. */
	assert_int_equal(rl_hit(rl, "ip:A", 30001, 1), 1);
	fake_mono = M0 + 30001;
	assert_int_equal(ratelimit_sweep(rl, 256), 1);
	assert_int_equal(rl_hit(rl, "ip:A", MIN, 1), 0);
	ratelimit_free(rl);
}

/* ratelimit_hit_global() of key on rl, one counted, its retry dropped. */
static int
rl_global(struct ratelimit *rl, const char *key, uint32_t window,
    uint32_t max)
{
	uint64_t retry;

	return ratelimit_hit_global(rl, key, strlen(key), window, max, 1,
	    &retry);
}

/*
 * Global windows are held apart from the clients': clients' keys past the
 * table's size drop clients' windows alone, even those that end later
 * than a global one; global keys past it drop the global window that ends
 * soonest, never a client's. Both kinds are read by peek.
 */
static void
test_rate_global_apart(void **state)
{
	struct ratelimit *rl;
	uint64_t retry;
	char k[32];
	int i;

	(void)state;
	assert_non_null(rl = ratelimit_new(3));
	ratelimit_set_clock(rl, fake_mono_clock);
	fake_mono = M0;
	assert_int_equal(rl_global(rl, "login-failed:*", 1000, 1), 0);
	assert_int_equal(rl_global(rl, "login-failed:*", 1000, 1), 1);
	log_set_level(LOG_LEVEL_FATAL);
	for (i = 0; i < 10; i++) {
		snprintf(k, sizeof(k), "ip:%d", i);
		assert_int_equal(rl_hit(rl, k, MIN, 1), 0);
	}
	assert_true(ratelimit_stats(rl).evicted == 7);
	assert_int_equal(ratelimit_stats(rl).count, 4);
	assert_int_equal(ratelimit_stats(rl).global, 1);
	assert_int_equal(rl_global(rl, "login-failed:*", 1000, 1), 1);
	assert_int_equal(ratelimit_peek(rl, "login-failed:*", 14, 1, &retry),
	    1);
	assert_int_equal(retry, 1000);

	/* Three globals fill their part: a fourth drops the soonest. */
	assert_int_equal(rl_global(rl, "newsess:a", MIN, 1), 0);
	assert_int_equal(rl_global(rl, "newsess:b", MIN, 1), 0);
	assert_int_equal(rl_global(rl, "newsess:c", MIN, 1), 0);
	assert_true(ratelimit_stats(rl).evicted == 8);
	assert_int_equal(ratelimit_stats(rl).global, 3);
	assert_int_equal(ratelimit_stats(rl).count, 6);
	log_set_level(LOG_LEVEL_INFO);
	assert_int_equal(ratelimit_peek(rl, "login-failed:*", 14, 1, &retry),
	    0);
	assert_int_equal(rl_hit(rl, "ip:9", MIN, 1), 1);
	assert_int_equal(rl_global(rl, "newsess:c", MIN, 1), 1);

	/* Their windows end: swept as the clients' are. */
	fake_mono += MIN + 1000;
	assert_int_equal(ratelimit_sweep(rl, 256), 6);
	assert_int_equal(ratelimit_stats(rl).count, 0);
	ratelimit_free(rl);
}

static void
test_rate_hit_invalid(void **state)
{
	struct fix *f = *state;
	char *k128 = repeat('k', ST_RATE_KEY_MAX);
	char *k129 = repeat('k', ST_RATE_KEY_MAX + 1);
	struct penc e;
	uint64_t retry;
	int limited;

	assert_int_equal(do_rate(f, "", MIN, 1, &limited, &retry),
	    PROTO_E_INVALID);
	assert_int_equal(do_rate(f, "k", 0, 1, &limited, &retry),
	    PROTO_E_INVALID);
	assert_int_equal(do_rate(f, k129, MIN, 1, &limited, &retry),
	    PROTO_E_INVALID);
	assert_int_equal(do_rate(f, k128, MIN, 1, &limited, &retry), 0);
	assert_int_equal(limited, 0);
	assert_int_equal(do_rate(f, k128, MIN, 1, &limited, &retry), 0);
	assert_int_equal(limited, 1);

	penc_init(&e);
	penc_str(&e, "k");
	penc_u32(&e, MIN);
	assert_int_equal(request_raw(f, PROTO_ST_RATE_HIT, e.buf, e.len),
	    PROTO_E_INVALID);
	penc_u32(&e, 1);
	penc_u8(&e, 0);
	assert_int_equal(request_raw(f, PROTO_ST_RATE_HIT, e.buf, e.len),
	    PROTO_E_INVALID);
	penc_free(&e);
	/* None of the refused ones counted. */
	assert_int_equal(hit(f, "k", MIN, 1, NULL), 0);
	free(k128);
	free(k129);
}

/* RATE_HIT reads no LMDB: a read batch runs it, a failed commit keeps it. */
static void
test_rate_hit_batches(void **state)
{
	struct fix *f = *state;
	struct dbatch b;
	struct dreply r[3];
	struct penc e;
	int i;

	assert_false(dispatch_is_write(PROTO_ST_RATE_HIT));
	assert_true(dispatch_is_write(PROTO_ST_CHAT_BEGIN));
	assert_false(dispatch_is_write(PROTO_ST_SESSION_HISTORY));

	penc_init(&e);
	penc_str(&e, "k");
	penc_u32(&e, MIN);
	penc_u32(&e, 2);
	assert_int_equal(dispatch_begin(f->st, f->rl, &b, 0), 0);
	dispatch_run(&b, PROTO_ST_RATE_HIT, e.buf, e.len, &r[0]);
	assert_int_equal(dispatch_end(&b), 0);
	assert_int_equal(r[0].err, 0);
	dreply_free(&r[0]);

	assert_int_equal(dispatch_begin(f->st, f->rl, &b, 1), 0);
	for (i = 0; i < 2; i++)
		dispatch_run(&b, PROTO_ST_RATE_HIT, e.buf, e.len, &r[i]);
	store_fail(&b.txn, PROTO_E_INTERNAL, "simulated");
	dispatch_run(&b, PROTO_ST_RATE_HIT, e.buf, e.len, &r[2]);
	assert_int_equal(dispatch_end(&b), -1);
	for (i = 0; i < 3; i++) {
		dreply_commit_failed(&r[i]);
		assert_int_equal(r[i].err, 0);
		assert_int_equal(r[i].enc.len, 9);
		dreply_free(&r[i]);
	}
	penc_free(&e);
	assert_int_equal(hit(f, "k", MIN, 2, NULL), 1);

	/* Without counters, a limit cannot be kept: an error, not a pass. */
	log_set_level(LOG_LEVEL_FATAL);
	penc_init(&e);
	penc_str(&e, "k");
	penc_u32(&e, MIN);
	penc_u32(&e, 2);
	dispatch_one(f->st, NULL, PROTO_ST_RATE_HIT, e.buf, e.len, &r[0]);
	log_set_level(LOG_LEVEL_INFO);
	assert_int_equal(r[0].err, PROTO_E_INTERNAL);
	dreply_free(&r[0]);
	penc_free(&e);
}

/* ------------------------------------------------------- chat begin */

static void
test_chat_creates_then_reuses(void **state)
{
	struct fix *f = *state;
	struct chat a, b, c;
	struct thread h;
	char first_id[ST_ID_HEX + 1];

	fake_now = T0 + 10;
	chat(f, "w", "s", "hello", 30, &a);
	assert_int_equal(a.created, 1);
	assert_true(st_id_valid(a.conv.id));
	assert_string_equal(a.conv.widget, "w");
	assert_string_equal(a.conv.session, "s");
	assert_int_equal(a.conv.message_count, 1);
	assert_string_equal(a.conv.last_message, "hello");
	assert_true(a.conv.created_at == T0 + 10 &&
	    a.conv.updated_at == T0 + 10);
	assert_int_equal(a.n, 1);
	assert_string_equal(a.role[0], "user");
	assert_string_equal(a.content[0], "hello");
	/* The message as stored: the session's history has it. */
	assert_int_equal(do_hist(f, "w", "s", 0, &h), 0);
	assert_int_equal(h.n, 1);
	assert_true(st_id_valid(h.msgs[0].id));
	assert_string_equal(h.msgs[0].conv_id, a.conv.id);
	assert_string_equal(h.msgs[0].role, "user");
	assert_string_equal(h.msgs[0].status, "complete");
	assert_string_equal(h.msgs[0].content, "hello");
	assert_true(h.msgs[0].created_at == T0 + 10);
	assert_int_equal(h.msgs[0].prompt_tokens, 0);
	assert_int_equal(h.msgs[0].completion_tokens, 0);
	strlcpy(first_id, h.msgs[0].id, sizeof(first_id));
	thread_free(&h);

	fake_now = T0 + 20;
	assert_int_equal(do_append(f, a.conv.id, "assistant", "hi, how can "
	    "I help?", "complete"), 0);
	fake_now = T0 + 30;
	chat(f, "w", "s", "second \xc3\xa9", 30, &b);
	assert_int_equal(b.created, 0);
	assert_string_equal(b.conv.id, a.conv.id);
	assert_int_equal(b.conv.message_count, 3);
	assert_true(b.conv.created_at == T0 + 10 &&
	    b.conv.updated_at == T0 + 30);
	assert_string_equal(b.conv.last_message, "second \xc3\xa9");
	assert_int_equal(do_hist(f, "w", "s", 0, &h), 0);
	assert_int_equal(h.n, 3);
	assert_false(h.truncated);
	assert_string_equal(h.msgs[0].id, first_id);
	assert_string_not_equal(h.msgs[2].id, first_id);
	thread_free(&h);
	/* The newest two: the first left out, and said so. */
	assert_int_equal(do_hist(f, "w", "s", 2, &h), 0);
	assert_int_equal(h.n, 2);
	assert_true(h.truncated);
	assert_string_not_equal(h.msgs[0].id, first_id);
	thread_free(&h);
	assert_int_equal(b.n, 3);
	assert_string_equal(b.role[0], "user");
	assert_string_equal(b.content[0], "hello");
	assert_string_equal(b.role[1], "assistant");
	assert_string_equal(b.content[1], "hi, how can I help?");
	assert_string_equal(b.content[2], "second \xc3\xa9");

	/* Another session of the widget, or the session of another widget. */
	chat(f, "w", "s2", "x", 30, &c);
	assert_int_equal(c.created, 1);
	assert_string_not_equal(c.conv.id, a.conv.id);
	assert_int_equal(c.n, 1);
	chat_free(&c);
	chat(f, "w2", "s", "x", 30, &c);
	assert_int_equal(c.created, 1);
	assert_string_not_equal(c.conv.id, a.conv.id);
	chat_free(&c);
	assert_true(conv_total(f) == 3);
	chat_free(&a);
	chat_free(&b);
}

/*
 * A turn saves its conversation as stored (its visitor's name and unread
 * mark blank, reported set once it is counted) and gives it back as it
 * came: the begin's and the append's conversation, which their reply and
 * events carry, are not the record's changes (a new one not yet reported,
 * a named one named), and the record stored is.
 */
static void
test_chat_saved_as_given(void **state)
{
	struct fix *f = *state;
	struct store_txn t;
	struct store_chat c;
	struct st_conv conv, stored;
	struct st_msg m;
	uint8_t cid[ID_LEN];

	fake_now = T0 + 10;
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_chat_begin(&t, "w", "s", NULL, "hello", NULL,
	    10, 65536, &c), 0);
	assert_int_equal(c.created, 1);
	assert_int_equal(c.conv.reported, 0);
	proto_hex_decode(c.conv.id, cid, ID_LEN);
	assert_int_equal(conv_load(&t, cid, &stored), 0);
	assert_int_equal(stored.reported, 1);
	assert_string_equal(stored.last_message, "hello");
	st_conv_free(&stored);

	/* Named and marked unread as a reply names it: stored blank. */
	conv = c.conv;
	memset(&c.conv, 0, sizeof(c.conv));
	strlcpy(conv.visitor_name, "Amber Otter 42",
	    sizeof(conv.visitor_name));
	conv.unread = 1;
	conv.reported = 0;
	conv_save(&t, cid, &conv);
	assert_string_equal(conv.visitor_name, "Amber Otter 42");
	assert_int_equal(conv.unread, 1);
	assert_int_equal(conv.reported, 0);
	st_conv_free(&conv);
	store_chat_free(&c);

	fake_now = T0 + 20;
	memset(&m, 0, sizeof(m));
	proto_hex_encode(cid, ID_LEN, m.conv_id);
	strlcpy(m.role, "assistant", sizeof(m.role));
	m.content = (char *)"hi";
	assert_int_equal(store_msg_append(&t, &m, &conv, NULL), 0);
	assert_int_equal(conv.message_count, 2);
	assert_int_equal(conv.reported, 1);
	assert_string_equal(conv.visitor_name, "");
	assert_int_equal(conv.unread, 0);
	assert_int_equal(conv_load(&t, cid, &stored), 0);
	assert_int_equal(stored.message_count, 2);
	assert_string_equal(stored.last_message, "hi");
	assert_string_equal(stored.visitor_name, "");
	assert_int_equal(stored.unread, 0);
	assert_int_equal(stored.reported, 1);
	st_conv_free(&stored);
	st_conv_free(&conv);
	assert_int_equal(store_commit(&t), 0);
}

static void
test_chat_long_history(void **state)
{
	struct fix *f = *state;
	struct chat a, c;
	char text[32];
	int i;

	chat(f, "w", "long", "m0", 1, &a);
	for (i = 1; i < 499; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		assert_int_equal(do_append(f, a.conv.id,
		    i % 2 ? "assistant" : "user", text, ""), 0);
	}
	/* 500 messages with this one: the newest 30, oldest first. */
	chat(f, "w", "long", "new", 30, &c);
	assert_int_equal(c.conv.message_count, 500);
	assert_int_equal(c.n, 30);
	for (i = 0; i < 29; i++) {
		snprintf(text, sizeof(text), "m%d", 470 + i);
		assert_string_equal(c.content[i], text);
		assert_string_equal(c.role[i],
		    (470 + i) % 2 ? "assistant" : "user");
	}
	assert_string_equal(c.content[29], "new");
	chat_free(&c);

	chat(f, "w", "long", "newer", ST_HISTORY_MAX, &c);
	assert_int_equal(c.n, ST_HISTORY_MAX);
	assert_string_equal(c.content[0], "m301");
	assert_string_equal(c.content[ST_HISTORY_MAX - 2], "new");
	assert_string_equal(c.content[ST_HISTORY_MAX - 1], "newer");
	chat_free(&c);

	chat(f, "w", "long", "only", 1, &c);
	history_is(&c, 1, "only");
	chat_free(&c);

	/* Fewer messages than asked for: all of them. */
	chat(f, "w", "short", "a", 1, &c);
	chat_free(&c);
	chat(f, "w", "short", "b", 200, &c);
	history_is(&c, 2, "a", "b");
	chat_free(&c);
	chat_free(&a);
}

/*
 * A failed turn is left out whole: the failed reply and the user message it
 * answered. Interrupted replies are answers: kept, and their question too.
 */
static void
test_chat_skips_failed(void **state)
{
	struct fix *f = *state;
	struct chat c;
	int i;

	turn(f, "s", "u1", "a1", "");
	turn(f, "s", "u2", "", "failed");
	turn(f, "s", "u3", "a3 partial", "interrupted");
	turn(f, "s", "u4", "boom", "failed");

	chat(f, "w", "s", "u5", 30, &c);
	assert_int_equal(c.conv.message_count, 9);
	history_is(&c, 5, "u1", "a1", "u3", "a3 partial", "u5");
	for (i = 0; i < 5; i++)
		assert_string_equal(c.role[i], i % 2 ? "assistant" : "user");
	assert_int_equal(do_append(f, c.conv.id, "assistant", "a5", ""), 0);
	chat_free(&c);

	/* Failed turns do not use up the count either. */
	chat(f, "w", "s", "u6", 5, &c);
	history_is(&c, 5, "u3", "a3 partial", "u5", "a5", "u6");
	chat_free(&c);
}

/* Asking again after a failed turn: the question is in the history once. */
static void
test_chat_retry_after_failed(void **state)
{
	struct fix *f = *state;
	struct chat c;
	struct thread h;

	turn(f, "s", "hi", "hello", "");
	turn(f, "s", "A", "model down", "failed");

	fake_now += 10;
	chat(f, "w", "s", "A", 30, &c);
	assert_int_equal(c.conv.message_count, 5);
	history_is(&c, 3, "hi", "hello", "A");
	assert_string_equal(c.role[2], "user");

	/* The A kept is the retry's, not the failed turn's. */
	assert_int_equal(do_hist(f, "w", "s", 0, &h), 0);
	assert_int_equal(h.found, 1);
	assert_int_equal(h.n, 3);
	assert_true(h.msgs[2].created_at == fake_now);
	assert_string_equal(h.msgs[2].content, "A");
	assert_string_equal(h.msgs[2].status, "complete");
	thread_free(&h);

	/* Failing again and again: still once, and then answered. */
	assert_int_equal(do_append(f, c.conv.id, "assistant", "model down",
	    "failed"), 0);
	chat_free(&c);
	chat(f, "w", "s", "A", 30, &c);
	assert_int_equal(c.conv.message_count, 7);
	history_is(&c, 3, "hi", "hello", "A");
	assert_int_equal(do_append(f, c.conv.id, "assistant", "answer", ""),
	    0);
	chat_free(&c);
	assert_int_equal(do_hist(f, "w", "s", 0, &h), 0);
	thread_is(&h, 4, "hi", "hello", "A", "answer");
	assert_string_equal(h.msgs[2].role, "user");
	assert_string_equal(h.msgs[3].role, "assistant");
	assert_string_equal(h.msgs[3].status, "complete");
	thread_free(&h);
}

/* An interrupted reply answers its question: both stay. */
/*
 * A failed reply right after a kept one has no question of its own: the
 * kept reply keeps its question (pairing takes the nearest reply).
 */
static void
test_chat_failed_after_kept_reply(void **state)
{
	struct fix *f = *state;
	struct chat a, c;

	chat(f, "w", "s", "q1", 30, &a);
	assert_int_equal(do_append(f, a.conv.id, "assistant", "r1",
	    "complete"), 0);
	assert_int_equal(do_append(f, a.conv.id, "assistant", "boom",
	    "failed"), 0);
	chat_free(&a);
	chat(f, "w", "s", "q2", 30, &c);
	history_is(&c, 3, "q1", "r1", "q2");
	chat_free(&c);
}

static void
test_chat_interrupted_answers(void **state)
{
	struct fix *f = *state;
	struct chat c;
	struct thread h;

	turn(f, "s", "q1", "part", "interrupted");
	chat(f, "w", "s", "q2", 30, &c);
	history_is(&c, 3, "q1", "part", "q2");
	assert_string_equal(c.role[1], "assistant");

	/* A failed turn after it takes its own question, not q1. */
	assert_int_equal(do_append(f, c.conv.id, "assistant", "boom",
	    "failed"), 0);
	chat_free(&c);
	chat(f, "w", "s", "q3", 30, &c);
	assert_int_equal(c.conv.message_count, 5);
	history_is(&c, 3, "q1", "part", "q3");
	chat_free(&c);

	assert_int_equal(do_hist(f, "w", "s", 0, &h), 0);
	thread_is(&h, 3, "q1", "part", "q3");
	assert_string_equal(h.msgs[0].status, "complete");
	assert_string_equal(h.msgs[1].status, "interrupted");
	thread_free(&h);
}

/*
 * Appends, in one transaction, one "failed" user message when odd is set
 * (ST_MSG_APPEND allows it; the walk skips it and pairs nothing with it),
 * then n failed turns: a user message "q" and a failed assistant reply.
 */
static void
add_failed(struct fix *f, const char *conv_id, int odd, int n)
{
	struct store_txn t;
	struct st_msg m;
	struct st_conv conv;
	int i;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	for (i = odd ? 0 : 1; i <= 2 * n; i++) {
		/* Odd i: the user message of a turn; even i: its reply. */
		memset(&m, 0, sizeof(m));
		strlcpy(m.conv_id, conv_id, sizeof(m.conv_id));
		strlcpy(m.role, i == 0 || i % 2 ? "user" : "assistant",
		    sizeof(m.role));
		strlcpy(m.status, i % 2 ? "complete" : "failed",
		    sizeof(m.status));
		if (i % 2)
			m.content = (char *)"q";
		assert_int_equal(store_msg_append(&t, &m, &conv, NULL), 0);
		st_conv_free(&conv);
	}
	assert_int_equal(store_commit(&t), 0);
}

/* A long run of skipped messages ends the walk: bounded work per turn. */
static void
test_chat_failed_run(void **state)
{
	struct fix *f = *state;
	struct chat a, c;
	struct thread h;

	/* Counted in messages, not turns: the bound is even. */
	assert_int_equal(STORE_HISTORY_SKIP_MAX % 2, 0);

	/* One message short of the bound between: still reached. */
	chat(f, "w", "s", "old", 30, &a);
	assert_int_equal(do_append(f, a.conv.id, "assistant", "reply", ""),
	    0);
	add_failed(f, a.conv.id, 1, STORE_HISTORY_SKIP_MAX / 2 - 1);
	chat(f, "w", "s", "new", 30, &c);
	assert_int_equal(c.conv.message_count, STORE_HISTORY_SKIP_MAX + 2);
	history_is(&c, 3, "old", "reply", "new");
	chat_free(&c);
	chat_free(&a);

	/* The bound itself: the walk stops short of what lies beyond. */
	chat(f, "w", "s2", "old", 30, &a);
	assert_int_equal(do_append(f, a.conv.id, "assistant", "reply", ""),
	    0);
	add_failed(f, a.conv.id, 0, STORE_HISTORY_SKIP_MAX / 2);
	chat(f, "w", "s2", "new", 30, &c);
	history_is(&c, 1, "new");
	assert_int_equal(c.conv.message_count, STORE_HISTORY_SKIP_MAX + 3);
	chat_free(&c);
	assert_int_equal(do_hist(f, "w", "s2", 0, &h), 0);
	thread_is(&h, 1, "new");
	thread_free(&h);
	chat_free(&a);
}

/*
 * A begin of widget w's session s whose turn is left open (do_chat ends
 * it, as its reply would): its result, an OK one decoded into c.
 */
static int
begin_open(struct fix *f, const char *s, const char *content, struct chat *c)
{
	struct dreply r;
	struct penc e;
	int res;

	chat_payload(&e, "w", s, content, "", 0, 0, 30);
	assert_int_equal(request(f, PROTO_ST_CHAT_BEGIN, &e, &r), 0);
	res = r.enc.buf[0];
	if (res == ST_CHAT_OK)
		chat_decode(&r, c);
	else {
		/* Refused: u8 result, u64 retry 0; no turn, nothing written. */
		assert_int_equal(res, ST_CHAT_TURN_OPEN);
		assert_int_equal(r.enc.len, 9);
		assert_int_equal(r.enc.buf[8], 0);
		assert_int_equal(r.turn, 0);
		assert_int_equal(r.wrote, 0);
		assert_int_equal(r.nevs, 0);
	}
	dreply_free(&r);
	return res;
}

/*
 * One turn at a time in a conversation (store_turn_holds): a begin while
 * its turn's reply is still to come (a double submit, a second tab) is
 * refused, nothing stored. Two turns at once were each answered by the
 * model, and replies pair with questions by position: the first failing,
 * its failure dropped the second's question and its question kept the
 * second's answer. Once the reply is stored, or the turn ended as lost,
 * the next goes on; a turn open STORE_TURN_HOLD_MS (its worker failed to
 * store the reply and stayed connected) holds it no more.
 */
/* The visitor's message of the turn a lost worker left (NULL none). */
static const char *left_msg;

static int
turn_left_fake(const char *conv, const char *msg)
{
	(void)conv;
	return left_msg != NULL && strcmp(msg, left_msg) == 0;
}

static void
test_chat_turn_open(void **state)
{
	struct fix *f = *state;
	uint64_t was = fake_now;
	struct chat a, b, c;
	struct thread h;
	struct dreply r;

	assert_int_equal(begin_open(f, "s", "one", &a), ST_CHAT_OK);
	assert_int_equal(begin_open(f, "s", "two", &b), ST_CHAT_TURN_OPEN);
	/* Another session's conversation is not held. */
	assert_int_equal(begin_open(f, "s2", "other", &c), ST_CHAT_OK);
	chat_free(&c);
	/* Nothing of the refused one stored. */
	assert_int_equal(do_hist(f, "w", "s", 0, &h), 0);
	thread_is(&h, 1, "one");
	thread_free(&h);

	/* Its reply (failed) ends the turn: the next goes on, alone. */
	assert_int_equal(do_append(f, a.conv.id, "assistant", "", "failed"),
	    0);
	assert_int_equal(begin_open(f, "s", "two", &b), ST_CHAT_OK);
	history_is(&b, 1, "two");
	assert_int_equal(begin_open(f, "s", "three", &c), ST_CHAT_TURN_OPEN);

	/* Its worker lost, the turn is ended (interrupted): the next goes on. */
	assert_int_equal(request_st(f, PROTO_ST_TURN_LOST,
	    &(struct st_turn_ref){ b.conv.id, b.msg_id }, &r), 0);
	dreply_free(&r);
	assert_int_equal(begin_open(f, "s", "three", &c), ST_CHAT_OK);
	history_is(&c, 3, "two", "", "three");
	assert_string_equal(c.role[1], "assistant");

	/* Left open (its reply never stored): held STORE_TURN_HOLD_MS. */
	fake_now += STORE_TURN_HOLD_MS - 1;
	assert_int_equal(begin_open(f, "s", "four", &b), ST_CHAT_TURN_OPEN);
	fake_now += 1;
	chat_free(&b);
	assert_int_equal(begin_open(f, "s", "four", &b), ST_CHAT_OK);
	history_is(&b, 4, "two", "", "three", "four");
	assert_int_equal(db_entries(f, "turns_open"), 2);	/* s2's, four's */

	/*
	 * Its worker lost (lostturns.c holds it, to end it 3 s on): not
	 * held, a visitor whose front host died chats on; another's is.
	 */
	chat_free(&c);
	assert_int_equal(begin_open(f, "s", "five", &c), ST_CHAT_TURN_OPEN);
	left_msg = b.msg_id;
	store_set_turn_left(f->st, turn_left_fake);
	assert_int_equal(begin_open(f, "s", "five", &c), ST_CHAT_OK);
	history_is(&c, 5, "two", "", "three", "four", "five");
	chat_free(&a);
	assert_int_equal(begin_open(f, "s", "six", &a), ST_CHAT_TURN_OPEN);
	store_set_turn_left(f->st, NULL);
	left_msg = NULL;
	fake_now = was;
	chat_free(&a);
	chat_free(&b);
	chat_free(&c);
}

/*
 * Conversation conv_id as ST_CONV_GET gives it: its preview, then n
 * messages (role, content, each), oldest first.
 */
static void
conv_is(struct fix *f, const char *conv_id, const char *preview, uint32_t n,
    ...)
{
	struct st_conv_msgs g;
	va_list ap;
	uint32_t i;

	assert_int_equal(request_dec(f, PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ conv_id, 100 }, &g), 0);
	assert_string_equal(g.conv.last_message, preview);
	assert_int_equal(g.n, n);
	va_start(ap, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(g.msgs[i].role, va_arg(ap, const char *));
		assert_string_equal(g.msgs[i].content,
		    va_arg(ap, const char *));
	}
	va_end(ap);
	st_rep_free(PROTO_ST_CONV_GET, &g);
}

/* A person's message in conversation conv_id (ST_AGENT_MSG). */
static void
person_says(struct fix *f, const char *conv_id, const char *content)
{
	struct st_msg_conv mc;

	assert_int_equal(request_dec(f, PROTO_ST_AGENT_MSG,
	    &(struct st_agent_msg_req){ .conv_id = conv_id,
	    .content = content, .name = "Ada" }, &mc), 0);
	st_rep_free(PROTO_ST_AGENT_MSG, &mc);
}

/* ST_TURN_LOST of conversation conv_id's turn for its message msg_id. */
static void
turn_lost(struct fix *f, const char *conv_id, const char *msg_id)
{
	struct dreply r;

	assert_int_equal(request_st(f, PROTO_ST_TURN_LOST,
	    &(struct st_turn_ref){ conv_id, msg_id }, &r), 0);
	dreply_free(&r);
}

/*
 * A person's message while a turn is open (its reply streaming, or being
 * stopped by a takeover) goes past the places the turn keeps: its reply
 * (the tools, then the answer), stored later, reads right after its
 * question, before the person's; a second person's message after the
 * first. The person's message leaves the turn open (its reply ends it),
 * and the conversation's preview stays the newest message. A lost
 * worker's turn ends in its place too, once; with a visitor's message
 * right after the question it has none (nothing stored). With nobody
 * writing meanwhile, a reply follows its question as ever.
 */
static void
test_chat_turn_place(void **state)
{
	struct fix *f = *state;
	struct st_tool_rec tools[2] = {
		{ "lookup", "{}", "complete", "found", 3, 0 },
		{ "lookup", "{\"b\":1}", "failed", "timed out", 4, 0 },
	};
	struct chat a, b;
	struct dreply r;

	assert_int_equal(begin_open(f, "s", "question", &a), ST_CHAT_OK);
	person_says(f, a.conv.id, "Ada here");
	assert_int_equal(db_entries(f, "turns_open"), 1);
	person_says(f, a.conv.id, "still here");
	conv_is(f, a.conv.id, "still here", 3, "user", "question", "agent",
	    "Ada here", "agent", "still here");
	assert_int_equal(request_st(f, PROTO_ST_MSG_APPEND,
	    &(struct st_msg_append_req){ .conv_id = a.conv.id,
	    .role = "assistant", .content = "the answer so far",
	    .status = "interrupted", .tools = tools, .ntools = 2,
	    .cited = "" }, &r), 0);
	dreply_free(&r);
	assert_int_equal(db_entries(f, "turns_open"), 0);
	conv_is(f, a.conv.id, "still here", 6, "user", "question", "tool",
	    "found", "tool", "timed out", "assistant", "the answer so far",
	    "agent", "Ada here", "agent", "still here");

	/* The next turn, nobody writing meanwhile: in order, at the end. */
	assert_int_equal(begin_open(f, "s", "next", &b), ST_CHAT_OK);
	assert_int_equal(do_append(f, a.conv.id, "assistant", "next answer",
	    ""), 0);
	conv_is(f, a.conv.id, "next answer", 8, "user", "question", "tool",
	    "found", "tool", "timed out", "assistant", "the answer so far",
	    "agent", "Ada here", "agent", "still here", "user", "next",
	    "assistant", "next answer");
	chat_free(&b);

	/* Lost after a person wrote: ended (empty, interrupted) in place. */
	assert_int_equal(begin_open(f, "s", "third", &b), ST_CHAT_OK);
	person_says(f, a.conv.id, "Ada again");
	turn_lost(f, a.conv.id, b.msg_id);
	turn_lost(f, a.conv.id, b.msg_id);	/* once */
	assert_int_equal(db_entries(f, "turns_open"), 0);
	conv_is(f, a.conv.id, "Ada again", 11, "user", "question", "tool",
	    "found", "tool", "timed out", "assistant", "the answer so far",
	    "agent", "Ada here", "agent", "still here", "user", "next",
	    "assistant", "next answer", "user", "third", "assistant", "",
	    "agent", "Ada again");
	chat_free(&b);

	/* A visitor's message right after the question: no place left. */
	assert_int_equal(begin_open(f, "s", "fourth", &b), ST_CHAT_OK);
	assert_int_equal(do_append(f, a.conv.id, "user", "hello?", ""), 0);
	turn_lost(f, a.conv.id, b.msg_id);
	conv_is(f, a.conv.id, "hello?", 13, "user", "question", "tool",
	    "found", "tool", "timed out", "assistant", "the answer so far",
	    "agent", "Ada here", "agent", "still here", "user", "next",
	    "assistant", "next answer", "user", "third", "assistant", "",
	    "agent", "Ada again", "user", "fourth", "user", "hello?");
	chat_free(&b);
	chat_free(&a);
}

/* The worker's reply to question msg_id (ST_MSG_APPEND naming it). */
static void
reply_to(struct fix *f, const char *conv_id, const char *msg_id,
    const char *content)
{
	struct dreply r;

	assert_int_equal(request_st(f, PROTO_ST_MSG_APPEND,
	    &(struct st_msg_append_req){ .conv_id = conv_id,
	    .role = "assistant", .content = content, .status = "complete",
	    .cited = "", .question = msg_id }, &r), 0);
	dreply_free(&r);
}

/*
 * A reply names the question it answers: stored after a newer turn began
 * (a person wrote after the first question, so the visitor could ask
 * again while the first reply was still on its way), it takes its own
 * question's place, not the newer turn's, and ends its own turn alone:
 * the newer one stays open until its reply, which follows its question.
 * A question that is not an id is refused.
 */
static void
test_chat_reply_names_question(void **state)
{
	struct fix *f = *state;
	struct chat a, b;
	struct dreply r;

	assert_int_equal(begin_open(f, "s", "first", &a), ST_CHAT_OK);
	person_says(f, a.conv.id, "Ada here");
	assert_int_equal(begin_open(f, "s", "second", &b), ST_CHAT_OK);
	reply_to(f, a.conv.id, a.msg_id, "first answer");
	assert_int_equal(db_entries(f, "turns_open"), 1);	/* second's */
	conv_is(f, a.conv.id, "second", 4, "user", "first", "assistant",
	    "first answer", "agent", "Ada here", "user", "second");
	reply_to(f, a.conv.id, b.msg_id, "second answer");
	assert_int_equal(db_entries(f, "turns_open"), 0);
	conv_is(f, a.conv.id, "second answer", 5, "user", "first",
	    "assistant", "first answer", "agent", "Ada here", "user",
	    "second", "assistant", "second answer");

	assert_int_equal(request_st(f, PROTO_ST_MSG_APPEND,
	    &(struct st_msg_append_req){ .conv_id = a.conv.id,
	    .role = "assistant", .content = "x", .status = "complete",
	    .cited = "", .question = "not an id" }, &r), PROTO_E_INVALID);
	assert_string_equal(r.errmsg, "question: a message's id or none");
	dreply_free(&r);
	chat_free(&b);
	chat_free(&a);
}

/*
 * ST_CHAT_ANSWER_LAST of conversation conv_id (history_max hmax): the
 * error code; the reply decoded into rep (st_rep_free), checked to open
 * the turn exactly when OK (nothing written else), with one event then,
 * ANSWERING, no webhook's or mail's, for no visitor (an HTTP session's
 * conversation: no socket), and none else.
 */
static int
answer_last(struct fix *f, const char *conv_id, uint32_t hmax,
    struct st_begin_rep *rep)
{
	struct st_answer_last_req q = { conv_id, hmax };
	struct dreply r;
	int err;

	memset(rep, 0, sizeof(*rep));
	if ((err = request_st(f, PROTO_ST_CHAT_ANSWER_LAST, &q, &r)) == 0) {
		assert_int_equal(st_rep_decode(PROTO_ST_CHAT_ANSWER_LAST,
		    r.enc.buf, r.enc.len, rep), 0);
		assert_int_equal(r.nevs, rep->result == ST_CHAT_OK);
		if (rep->result == ST_CHAT_OK) {
			assert_int_equal(r.evs[0].kind, ST_EV_ANSWERING);
			assert_int_equal(r.evs[0].visitor, 0);
			assert_int_equal(r.evs[0].hook_event, 0);
			assert_int_equal(r.evs[0].mail_kind, 0);
			assert_int_equal(r.turn, DTURN_BEGUN);
			assert_string_equal(r.turn_conv, conv_id);
			assert_string_equal(r.turn_msg, rep->ok.msg_id);
		} else {
			assert_int_equal(r.turn, 0);
			assert_int_equal(r.wrote, 0);
		}
	}
	dreply_free(&r);
	return err;
}

/* ST_HANDOFF_SET of conv_id to state, by a person. */
static void
handoff_to(struct fix *f, const char *conv_id, int state)
{
	struct st_handoff_set_req q = { conv_id, (uint8_t)state, "Ada", 0 };
	struct dreply r;

	assert_int_equal(request_st(f, PROTO_ST_HANDOFF_SET, &q, &r), 0);
	dreply_free(&r);
}

/*
 * A person hands a conversation back with its visitor's question
 * unanswered: ST_CHAT_ANSWER_LAST begins the model's turn for it, with
 * the history a begin gives (that question last, nothing stored, the
 * turn open), once: a second while it is open is refused, as is one
 * while a person has the conversation or once its last message is not
 * the visitor's.
 */
static void
test_chat_answer_last(void **state)
{
	struct fix *f = *state;
	struct st_begin_rep rep;
	struct thread h;
	struct chat a;

	chat(f, "w", "s", "hello", 30, &a);
	assert_int_equal(do_append(f, a.conv.id, "assistant", "hi", ""), 0);
	assert_int_equal(answer_last(f, a.conv.id, 30, &rep), 0);
	assert_int_equal(rep.result, ST_CHAT_ANSWERED);
	/* Asked while a person has it, unanswered by them. */
	handoff_to(f, a.conv.id, ST_HANDOFF_HUMAN);
	assert_int_equal(do_append(f, a.conv.id, "user", "opening hours?",
	    ""), 0);
	assert_int_equal(answer_last(f, a.conv.id, 30, &rep), 0);
	assert_int_equal(rep.result, ST_CHAT_NOT_AI);
	handoff_to(f, a.conv.id, ST_HANDOFF_AI);
	assert_int_equal(db_entries(f, "turns_open"), 0);
	assert_int_equal(answer_last(f, a.conv.id, 30, &rep), 0);
	assert_int_equal(rep.result, ST_CHAT_OK);
	assert_int_equal(rep.ok.created, 0);
	assert_string_equal(rep.ok.conv_id, a.conv.id);
	assert_int_equal(rep.ok.handoff, ST_HANDOFF_AI);
	assert_int_equal(rep.ok.nhistory, 3);
	assert_string_equal(rep.ok.history[0].content, "hello");
	assert_string_equal(rep.ok.history[1].content, "hi");
	assert_string_equal(rep.ok.history[2].role, "user");
	assert_string_equal(rep.ok.history[2].content, "opening hours?");
	st_rep_free(PROTO_ST_CHAT_ANSWER_LAST, &rep);
	assert_int_equal(db_entries(f, "turns_open"), 1);
	/* Two hand-backs at once: one turn. */
	assert_int_equal(answer_last(f, a.conv.id, 30, &rep), 0);
	assert_int_equal(rep.result, ST_CHAT_TURN_OPEN);
	/* history_max as a begin's: the newest. */
	fix_turns_end(f);
	assert_int_equal(answer_last(f, a.conv.id, 1, &rep), 0);
	assert_int_equal(rep.ok.nhistory, 1);
	assert_string_equal(rep.ok.history[0].content, "opening hours?");
	st_rep_free(PROTO_ST_CHAT_ANSWER_LAST, &rep);
	/* Answered: nothing more; nothing stored by any of them. */
	assert_int_equal(do_append(f, a.conv.id, "assistant", "nine", ""), 0);
	assert_int_equal(answer_last(f, a.conv.id, 30, &rep), 0);
	assert_int_equal(rep.result, ST_CHAT_ANSWERED);
	assert_int_equal(do_hist(f, "w", "s", 0, &h), 0);
	thread_is(&h, 4, "hello", "hi", "opening hours?", "nine");
	thread_free(&h);
	/* What it cannot run. */
	assert_int_equal(answer_last(f, "0123456789abcdef0123456789abcdef",
	    30, &rep), PROTO_E_NOT_FOUND);
	assert_int_equal(answer_last(f, "nope", 30, &rep), PROTO_E_INVALID);
	assert_int_equal(answer_last(f, a.conv.id, 0, &rep),
	    PROTO_E_INVALID);
	assert_int_equal(answer_last(f, a.conv.id, ST_HISTORY_MAX + 1, &rep),
	    PROTO_E_INVALID);
	chat_free(&a);
}

static void
test_chat_limited_stores_nothing(void **state)
{
	struct fix *f = *state;
	struct chat a, c;
	struct thread h;

	fake_mono = M0;
	assert_int_equal(do_chat(f, "w", "s", "one", "ip:1", MIN, 2, 30, &a),
	    0);
	assert_int_equal(a.limited, 0);
	chat_free(&a);
	fake_mono = M0 + 100;
	assert_int_equal(do_chat(f, "w", "s", "two", "ip:1", MIN, 2, 30, &a),
	    0);
	assert_int_equal(a.limited, 0);
	assert_int_equal(a.conv.message_count, 2);

	fake_mono = M0 + 20000;
	assert_int_equal(do_chat(f, "w", "s", "three", "ip:1", MIN, 2, 30,
	    &c), 0);
	assert_int_equal(c.limited, 1);
	assert_true(c.retry == MIN - 20000);
	assert_int_equal(c.reply_len, 1 + 8);
	chat_free(&c);
	/* Nor is a new conversation made for a limited first turn. */
	assert_int_equal(do_chat(f, "w", "other", "x", "ip:1", MIN, 2, 30,
	    &c), 0);
	assert_int_equal(c.limited, 1);
	chat_free(&c);
	assert_int_equal(do_hist(f, "w", "other", 0, &h), 0);
	assert_int_equal(h.found, 0);
	assert_true(conv_total(f) == 1);

	assert_int_equal(do_hist(f, "w", "s", 0, &h), 0);
	assert_int_equal(h.found, 1);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.conv.message_count, 2);
	assert_string_equal(h.msgs[1].content, "two");
	thread_free(&h);

	/* RATE_HIT and CHAT_BEGIN count against the same key. */
	fake_mono = M0 + MIN;
	assert_int_equal(hit(f, "ip:1", MIN, 2, NULL), 0);
	assert_int_equal(do_chat(f, "w", "s", "four", "ip:1", MIN, 2, 30, &c),
	    0);
	assert_int_equal(c.limited, 0);
	chat_free(&c);
	assert_int_equal(do_chat(f, "w", "s", "five", "ip:1", MIN, 2, 30, &c),
	    0);
	assert_int_equal(c.limited, 1);
	assert_true(c.retry == MIN);
	chat_free(&c);
	chat_free(&a);
}

static void
test_chat_invalid(void **state)
{
	struct fix *f = *state;
	char *w64 = repeat('w', ST_WIDGET_MAX), *w65 =
	    repeat('w', ST_WIDGET_MAX + 1);
	char *s128 = repeat('s', ST_SESSION_MAX), *s129 =
	    repeat('s', ST_SESSION_MAX + 1);
	char *cmax = repeat('c', ST_CONTENT_MAX), *cover =
	    repeat('c', ST_CONTENT_MAX + 1);
	char *k129 = repeat('k', ST_RATE_KEY_MAX + 1);
	struct penc e;
	struct chat c;
	struct dbatch b;
	struct dreply r;

#define BAD(w, s, content, key, win, rmax, hmax)			\
	assert_int_equal(do_chat(f, w, s, content, key, win, rmax, hmax, \
	    &c), PROTO_E_INVALID)
	BAD("", "s", "x", "k", MIN, 1, 30);
	BAD(w65, "s", "x", "k", MIN, 1, 30);
	BAD("\xff", "s", "x", "k", MIN, 1, 30);
	BAD("w", "", "x", "k", MIN, 1, 30);
	BAD("w", s129, "x", "k", MIN, 1, 30);
	BAD("w", "\xc0\xaf", "x", "k", MIN, 1, 30);
	BAD("w", "s", "", "k", MIN, 1, 30);
	BAD("w", "s", cover, "k", MIN, 1, 30);
	BAD("w", "s", "\xc3\x28", "k", MIN, 1, 30);
	BAD("w", "s", "\xed\xa0\x80", "k", MIN, 1, 30);
	BAD("w", "s", "x", "k", MIN, 1, 0);
	BAD("w", "s", "x", "k", MIN, 1, ST_HISTORY_MAX + 1);
	BAD("w", "s", "x", "k", MIN, 1, UINT32_MAX);
	BAD("w", "s", "x", k129, MIN, 1, 30);
	BAD("w", "s", "x", "", MIN, 1, 30);
	BAD("w", "s", "x", "k", 0, 1, 30);
#undef BAD

	/* Short by a field, and one byte too many. */
	chat_payload(&e, "w", "s", "x", "k", MIN, 1, 30);
	assert_int_equal(request_raw(f, PROTO_ST_CHAT_BEGIN, e.buf, e.len - 4),
	    PROTO_E_INVALID);
	penc_u8(&e, 0);
	assert_int_equal(request_raw(f, PROTO_ST_CHAT_BEGIN, e.buf, e.len),
	    PROTO_E_INVALID);
	penc_free(&e);

	/* A write in a read-only batch is refused, and not counted. */
	log_set_level(LOG_LEVEL_FATAL);
	chat_payload(&e, "w", "s", "x", "k", MIN, 1, 30);
	assert_int_equal(dispatch_begin(f->st, f->rl, &b, 0), 0);
	dispatch_run(&b, PROTO_ST_CHAT_BEGIN, e.buf, e.len, &r);
	assert_int_equal(dispatch_end(&b), 0);
	log_set_level(LOG_LEVEL_INFO);
	assert_int_equal(r.err, PROTO_E_INTERNAL);
	dreply_free(&r);
	penc_free(&e);

	/* Nothing above was stored or counted; the limits themselves pass. */
	assert_true(conv_total(f) == 0);
	assert_int_equal(ratelimit_stats(f->rl).count, 0);
	assert_int_equal(do_chat(f, w64, s128, cmax, "k", MIN, 1,
	    ST_HISTORY_MAX, &c), 0);
	assert_int_equal(c.limited, 0);
	assert_int_equal(c.created, 1);
	assert_string_equal(c.content[0], cmax);
	chat_free(&c);
	assert_int_equal(do_chat(f, w64, s128, "x", "k", MIN, 1, 1, &c), 0);
	assert_int_equal(c.limited, 1);
	chat_free(&c);

	free(w64);
	free(w65);
	free(s128);
	free(s129);
	free(cmax);
	free(cover);
	free(k129);
}

/* A turn in a batch that fails to commit: void, but its count stands. */
static void
test_chat_commit_failure(void **state)
{
	struct fix *f = *state;
	struct dbatch b;
	struct dreply r[4];
	struct penc e;
	struct chat c;
	int i;

	chat_payload(&e, "w", "s", "lost", "k", MIN, 2, 30);
	assert_int_equal(dispatch_begin(f->st, f->rl, &b, 1), 0);
	dispatch_run(&b, PROTO_ST_CHAT_BEGIN, e.buf, e.len, &r[0]);
	dispatch_run(&b, PROTO_ST_CHAT_BEGIN, e.buf, e.len, &r[1]);
	dispatch_run(&b, PROTO_ST_CHAT_BEGIN, e.buf, e.len, &r[2]);
	assert_int_equal(r[0].err, 0);
	assert_int_equal(r[1].err, 0);
	/* The third is limited: no store touched. */
	chat_decode(&r[2], &c);
	assert_int_equal(c.limited, 1);
	store_fail(&b.txn, PROTO_E_INTERNAL, "simulated");
	assert_int_equal(dispatch_end(&b), -1);
	for (i = 0; i < 3; i++)
		dreply_commit_failed(&r[i]);
	assert_int_equal(r[0].err, PROTO_E_INTERNAL);
	assert_int_equal(r[1].err, PROTO_E_INTERNAL);
	assert_int_equal(r[2].err, 0);
	for (i = 0; i < 3; i++)
		dreply_free(&r[i]);
	penc_free(&e);

	assert_true(conv_total(f) == 0);
	assert_int_equal(do_chat(f, "w", "s", "x", "k", MIN, 2, 30, &c), 0);
	assert_int_equal(c.limited, 1);
	chat_free(&c);

	/*
	 * In one batch, a later turn sees the earlier one's message and its
	 * reply; one more, begun while the later one's reply is to come, is
	 * refused: it sees that turn open.
	 */
	assert_int_equal(dispatch_begin(f->st, f->rl, &b, 1), 0);
	chat_payload(&e, "w", "s", "first", "", 0, 0, 30);
	dispatch_run(&b, PROTO_ST_CHAT_BEGIN, e.buf, e.len, &r[0]);
	penc_free(&e);
	chat_decode(&r[0], &c);
	assert_int_equal(c.created, 1);
	append_payload(&e, c.conv.id, "assistant", "answer", "complete", 1, 1);
	chat_free(&c);
	dispatch_run(&b, PROTO_ST_MSG_APPEND, e.buf, e.len, &r[1]);
	penc_free(&e);
	chat_payload(&e, "w", "s", "second", "", 0, 0, 30);
	dispatch_run(&b, PROTO_ST_CHAT_BEGIN, e.buf, e.len, &r[2]);
	penc_free(&e);
	chat_payload(&e, "w", "s", "third", "", 0, 0, 30);
	dispatch_run(&b, PROTO_ST_CHAT_BEGIN, e.buf, e.len, &r[3]);
	penc_free(&e);
	assert_int_equal(dispatch_end(&b), 0);
	assert_int_equal(r[1].err, 0);
	chat_decode(&r[2], &c);
	assert_int_equal(c.created, 0);
	assert_int_equal(c.n, 3);
	assert_string_equal(c.content[0], "first");
	assert_string_equal(c.content[1], "answer");
	chat_free(&c);
	assert_int_equal(r[3].err, 0);
	assert_int_equal(r[3].enc.len, 9);	/* u8 result, u64 retry */
	assert_int_equal(r[3].enc.buf[0], ST_CHAT_TURN_OPEN);
	assert_int_equal(r[3].turn, 0);	/* no turn of its own */
	for (i = 0; i < 4; i++)
		dreply_free(&r[i]);
}

/* 200 messages of 64 KiB do not fit one reply: the newest that do. */
static void
test_chat_byte_budget(void **state)
{
	struct fix *f = *state;
	char *big = repeat('b', ST_CONTENT_MAX);
	struct chat a, c;
	struct thread h;
	uint32_t i;

	chat(f, "w", "s", big, 1, &a);
	for (i = 1; i < ST_HISTORY_MAX + 20; i++)
		assert_int_equal(do_append(f, a.conv.id, "assistant", big,
		    ""), 0);
	chat(f, "w", "s", "last", ST_HISTORY_MAX, &c);
	assert_true(c.n > 100 && c.n < ST_HISTORY_MAX);
	assert_true(c.reply_len <= PROTO_MAX_PAYLOAD);
	for (i = 0; i + 1 < c.n; i++)
		assert_int_equal(strlen(c.content[i]), ST_CONTENT_MAX);
	assert_string_equal(c.content[c.n - 1], "last");
	chat_free(&c);

	/* The largest user message, too, with a full history. */
	chat(f, "w", "s", big, ST_HISTORY_MAX, &c);
	assert_true(c.reply_len <= PROTO_MAX_PAYLOAD);
	assert_string_equal(c.content[c.n - 2], "last");
	chat_free(&c);

	/*
	 * The session's history (GET /v1/chat/history) reads what a resume
	 * shows: ST_WS_HISTORY_BYTES of records, the newest kept.
	 */
	assert_int_equal(do_hist(f, "w", "s", 0, &h), 0);
	assert_int_equal(h.found, 1);
	assert_true(h.n >= 2 && h.n <= ST_WS_HISTORY_BYTES / ST_CONTENT_MAX);
	assert_true(h.reply_len <= ST_WS_HISTORY_BYTES + 16384);
	assert_int_equal(strlen(h.msgs[h.n - 1].content), ST_CONTENT_MAX);
	assert_string_equal(h.msgs[h.n - 2].content, "last");
	thread_free(&h);
	chat_free(&a);
	free(big);
}

/* ------------------------------------------------------ session history */

static void
test_history_found_and_order(void **state)
{
	struct fix *f = *state;
	struct chat a;
	struct thread h;
	char text[16];
	int i;

	/* No conversation: found 0, nothing else, and none is made. */
	assert_int_equal(do_hist(f, "w", "s", 0, &h), 0);
	assert_int_equal(h.found, 0);
	assert_int_equal(h.reply_len, 1);
	assert_true(conv_total(f) == 0);

	for (i = 0; i < 10; i++) {
		fake_now = T0 + 100 * (uint64_t)i;
		snprintf(text, sizeof(text), "u%d", i);
		chat(f, "w", "s", text, 1, &a);
		snprintf(text, sizeof(text), "a%d", i);
		fake_now++;
		assert_int_equal(do_append(f, a.conv.id, "assistant", text,
		    i == 4 ? "failed" : i == 7 ? "interrupted" : ""), 0);
		if (i < 9)
			chat_free(&a);
	}

	assert_int_equal(do_hist(f, "w", "s", 0, &h), 0);
	assert_int_equal(h.found, 1);
	assert_string_equal(h.conv.id, a.conv.id);
	assert_int_equal(h.conv.message_count, 20);
	assert_string_equal(h.conv.last_message, "a9");
	/* The failed turn 4 is left out whole: u4 and a4. */
	assert_int_equal(h.n, 18);
	for (i = 0; i < 18; i++) {
		assert_string_not_equal(h.msgs[i].status, "failed");
		assert_string_not_equal(h.msgs[i].content, "u4");
		assert_string_not_equal(h.msgs[i].content, "a4");
		assert_string_equal(h.msgs[i].role,
		    i % 2 ? "assistant" : "user");
		assert_string_equal(h.msgs[i].conv_id, a.conv.id);
		assert_true(st_id_valid(h.msgs[i].id));
		if (i > 0)
			assert_true(h.msgs[i].created_at >=
			    h.msgs[i - 1].created_at);
	}
	assert_string_equal(h.msgs[0].content, "u0");
	assert_string_equal(h.msgs[0].role, "user");
	assert_string_equal(h.msgs[1].content, "a0");
	assert_int_equal(h.msgs[1].prompt_tokens, 7);
	assert_int_equal(h.msgs[1].completion_tokens, 9);
	assert_string_equal(h.msgs[7].content, "a3");
	assert_string_equal(h.msgs[8].content, "u5");	/* turn 4 failed */
	assert_string_equal(h.msgs[13].content, "a7");
	assert_string_equal(h.msgs[13].status, "interrupted");
	assert_string_equal(h.msgs[12].content, "u7");	/* its question */
	assert_string_equal(h.msgs[17].content, "a9");
	thread_free(&h);

	/* The newest five, oldest first. */
	assert_int_equal(do_hist(f, "w", "s", 5, &h), 0);
	assert_int_equal(h.n, 5);
	assert_string_equal(h.msgs[0].content, "a7");
	assert_string_equal(h.msgs[4].content, "a9");
	thread_free(&h);
	assert_int_equal(do_hist(f, "w", "s", 1000, &h), 0);
	assert_int_equal(h.n, 18);
	thread_free(&h);

	/* A conversation opened without messages. */
	assert_int_equal(do_hist(f, "w", "s2", 0, &h), 0);
	assert_int_equal(h.found, 0);
	{
		struct penc e;
		struct dreply r;

		penc_init(&e);
		penc_str(&e, "w");
		penc_str(&e, "s2");
		assert_int_equal(request(f, PROTO_ST_CONV_OPEN, &e, &r), 0);
		dreply_free(&r);
	}
	assert_int_equal(do_hist(f, "w", "s2", 0, &h), 0);
	assert_int_equal(h.found, 1);
	assert_int_equal(h.n, 0);
	assert_int_equal(h.conv.message_count, 0);
	thread_free(&h);

	/* The pair is the key. */
	assert_int_equal(do_hist(f, "w2", "s", 0, &h), 0);
	assert_int_equal(h.found, 0);
	chat_free(&a);
}

static void
test_history_invalid(void **state)
{
	struct fix *f = *state;
	char *w65 = repeat('w', ST_WIDGET_MAX + 1);
	char *s129 = repeat('s', ST_SESSION_MAX + 1);
	struct store_conv_full full;
	struct store_txn t;
	struct penc e;
	struct thread h;
	int found;

	assert_int_equal(do_hist(f, "", "s", 0, &h), PROTO_E_INVALID);
	assert_int_equal(do_hist(f, "w", "", 0, &h), PROTO_E_INVALID);
	assert_int_equal(do_hist(f, w65, "s", 0, &h), PROTO_E_INVALID);
	assert_int_equal(do_hist(f, "w", s129, 0, &h), PROTO_E_INVALID);
	assert_int_equal(do_hist(f, "w", "\xe2\x82", 0, &h),
	    PROTO_E_INVALID);
	penc_init(&e);
	penc_str(&e, "w");
	penc_str(&e, "s");
	assert_int_equal(request_raw(f, PROTO_ST_SESSION_HISTORY, e.buf, e.len),
	    PROTO_E_INVALID);
	penc_u32(&e, 0);
	penc_u8(&e, 0);
	assert_int_equal(request_raw(f, PROTO_ST_SESSION_HISTORY, e.buf, e.len),
	    PROTO_E_INVALID);
	penc_free(&e);

	/* The store checks on its own, in a read-only txn. */
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(store_session_history(&t, w65, "s", 0, 1000, &found,
	    &full), PROTO_E_INVALID);
	assert_int_equal(store_commit(&t), PROTO_E_INVALID);
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(store_session_history(&t, "w", "s", 0, 1000, &found,
	    &full), 0);
	assert_int_equal(found, 0);
	assert_int_equal(store_commit(&t), 0);
	free(w65);
	free(s129);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_siphash_vectors),
		cmocka_unit_test_setup_teardown(test_rate_window, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rate_keys_independent,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_unlimited, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rate_sweep_bounded,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rate_table_full, setup,
		    teardown),
		cmocka_unit_test(test_rate_mixed_lengths),
		cmocka_unit_test(test_rate_global_apart),
		cmocka_unit_test_setup_teardown(test_rate_hit_invalid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rate_hit_batches, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chat_creates_then_reuses,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_saved_as_given,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_long_history, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chat_skips_failed, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chat_retry_after_failed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_failed_after_kept_reply,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_interrupted_answers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_failed_run, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_chat_limited_stores_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_invalid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chat_turn_open, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chat_reply_names_question,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_turn_place, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chat_answer_last, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chat_commit_failure,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_chat_byte_budget, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_history_found_and_order,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_invalid, setup,
		    teardown),
	};

	log_init("test_storaged_chat");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
