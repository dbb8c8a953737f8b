/*
 * Unit tests: the typed message table (stmsgs.h) and the layout engine
 * under it (msgcodec.h). Every row's request and reply, filled by
 * walking its layout (each group a tag chooses, present and absent),
 * encodes, decodes and encodes again to the same bytes, and the payload
 * cut anywhere or a byte over fails with its struct zeroed (ASan: and
 * nothing leaks). The engine's kinds are checked on layouts of the
 * test's own against hand-written bytes, and every real layout's
 * strings, clipped strings and lists at and past their bounds.
 *
 * With STMSGS_SEED_DIR set, each row's sample is also written there as
 * a seed of tests/fuzz/stmsgs (byte 0 the type, byte 1 0 for the
 * request or 1 for the reply, then the payload):
 *   STMSGS_SEED_DIR=tests/fuzz/stmsgs/corpus build/test/unit/proto/test_stmsgs
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "msgtab.h"
#include "stmsgs.h"
#include "util.h"

#define AT(s, off)	((unsigned char *)(s) + (off))
#define HEX		"0123456789abcdef0123456789abcdef"

/* ------------------------------------------------------------ samples */

/* What a sample points at, freed after each check (its strings are static). */
static void **held;
static size_t nheld, capheld;

static void *
hold(void *p)
{
	assert_non_null(p);
	if (nheld == capheld) {
		capheld = capheld ? capheld * 2 : 256;
		held = realloc(held, capheld * sizeof(*held));
		assert_non_null(held);
	}
	held[nheld++] = p;
	return p;
}

static void
release_held(void)
{
	while (nheld > 0)
		free(held[--nheld]);
	free(held);
	held = NULL;
	capheld = 0;
}

static char x_str[] = "x";

static void
sample_conv(void *p)
{
	struct st_conv *c = p;

	strlcpy(c->id, HEX, sizeof(c->id));
	strlcpy(c->widget, "default", sizeof(c->widget));
	strlcpy(c->session, "s", sizeof(c->session));
	c->created_at = 1700000000000ull;
	c->updated_at = 1700000000001ull;
	c->message_count = 2;
	c->last_message = x_str;
	strlcpy(c->contact_id, HEX, sizeof(c->contact_id));
	c->handoff = ST_HANDOFF_WAITING;
}

static void
sample_msg(void *p)
{
	struct st_msg *m = p;

	strlcpy(m->id, HEX, sizeof(m->id));
	strlcpy(m->conv_id, HEX, sizeof(m->conv_id));
	strlcpy(m->role, "user", sizeof(m->role));
	strlcpy(m->status, "complete", sizeof(m->status));
	m->created_at = 1700000000002ull;
	m->prompt_tokens = 3;
	m->completion_tokens = 4;
	m->content = x_str;
	strlcpy(m->name, "x", sizeof(m->name));
}

static void
sample_widget(void *p)
{
	struct st_widget *w = p;

	st_widget_defaults(w);
	strlcpy(w->id, "w1", sizeof(w->id));
	strlcpy(w->widget_id, "wid_" HEX, sizeof(w->widget_id));
	w->name = w->greeting = w->system_prompt = w->model = x_str;
	strlcpy(w->primary_color, "#4f46e5", sizeof(w->primary_color));
	strlcpy(w->text_color, "#ffffff", sizeof(w->text_color));
	w->collect_email = 1;
	w->norigins = 2;
	w->origins = hold(calloc(2, sizeof(*w->origins)));
	w->origins[0] = w->origins[1] = x_str;
	w->daily_cap = 5;
	w->created_at = 1700000000003ull;
	w->updated_at = 1700000000004ull;
	strlcpy(w->agent_id, HEX, sizeof(w->agent_id));
	w->handoff_enabled = 1;
	w->handoff_label = x_str;
}

static void
sample_agent(void *p)
{
	struct st_agent *a = p;

	st_agent_defaults(a);
	strlcpy(a->id, HEX, sizeof(a->id));
	a->name = a->system_prompt = a->model = x_str;
	a->base_url = a->api_key = x_str;
	a->max_tokens = 6;
	a->history_messages = 7;
	a->api_key_set = 1;
	a->created_at = 1700000000005ull;
	a->updated_at = 1700000000006ull;
}

static void
sample_org(void *p)
{
	struct st_org *o = p;

	strlcpy(o->id, ST_ORG_PREFIX HEX, sizeof(o->id));
	o->name = x_str;
	o->created_at = 1700000000015ull;
	o->updated_at = 1700000000016ull;
}

static void
sample_apikey(void *p)
{
	struct st_apikey *k = p;

	strlcpy(k->id, ST_KEY_PREFIX HEX, sizeof(k->id));
	strlcpy(k->org, ST_ORG_PREFIX HEX, sizeof(k->org));
	k->name = x_str;
	k->role = ST_ROLE_ADMIN;
	memset(k->hash, 0xab, sizeof(k->hash));
	k->hash_len = ST_KEY_HASH_LEN;
	k->created_at = 1700000000017ull;
	k->updated_at = 1700000000018ull;
	k->last_used_at = 1700000000019ull;
}

static void
sample_webhook(void *p)
{
	struct st_webhook *h = p;

	strlcpy(h->id, ST_HOOK_PREFIX HEX, sizeof(h->id));
	strlcpy(h->org, ST_ORG_PREFIX HEX, sizeof(h->org));
	h->url = x_str;
	h->events = ST_HE_ALL;
	h->enabled = 1;
	strlcpy(h->secret, "whsec_" HEX, sizeof(h->secret));
	h->created_at = 1700000000020ull;
	h->updated_at = 1700000000021ull;
	h->failures = 3;
	h->disabled_at = 1700000000022ull;
}

static const uint8_t payload[] = { 1, 2, 3, 0, 255 };

static void
sample_delivery(void *p)
{
	struct st_delivery *d = p;

	strlcpy(d->id, ST_DLV_PREFIX HEX, sizeof(d->id));
	strlcpy(d->hook, ST_HOOK_PREFIX HEX, sizeof(d->hook));
	strlcpy(d->org, ST_ORG_PREFIX HEX, sizeof(d->org));
	d->event = ST_HE_MESSAGE_CREATED;
	d->status = ST_DLV_FAILED;
	d->attempts = 4;
	d->created_at = 1700000000023ull;
	d->next_at = 1700000000024ull;
	d->updated_at = 1700000000025ull;
	d->code = 503;
	strlcpy(d->error, "HTTP 503", sizeof(d->error));
	d->duration_ms = 26;
	d->payload = (uint8_t *)payload;	/* static: never freed here */
	d->payload_len = sizeof(payload);
}

static void
sample_hook_job(void *p)
{
	struct st_hook_job *j = p;

	sample_delivery(&j->d);
	j->url = x_str;
	strlcpy(j->secret, "whsec_" HEX, sizeof(j->secret));
}

static char *rcpts[2] = { "a@example.com", "b@example.org" };

static void
sample_mail(void *p)
{
	struct st_mail *m = p;

	strlcpy(m->id, ST_MAIL_PREFIX HEX, sizeof(m->id));
	strlcpy(m->org, ST_ORG_PREFIX HEX, sizeof(m->org));
	m->kind = ST_MAIL_WAITING;
	m->attempts = 2;
	m->created_at = 1700000000027ull;
	m->next_at = 1700000000028ull;
	strlcpy(m->error, "connection refused", sizeof(m->error));
	m->rcpt = rcpts;		/* static: never freed here */
	m->nrcpt = 2;
	m->payload = (uint8_t *)payload;
	m->payload_len = sizeof(payload);
}

static void
sample_contact(void *p)
{
	struct st_contact *c = p;

	strlcpy(c->id, HEX, sizeof(c->id));
	c->name = c->email = c->phone = x_str;
	c->created_at = 1700000000007ull;
	c->updated_at = 1700000000008ull;
}

static void
sample_event(void *p)
{
	struct st_event *ev = p;

	ev->epoch = 9;
	ev->seq = 10;
	ev->at = 1700000000009ull;
	ev->kind = ST_EV_MESSAGE;
	sample_conv(&ev->conv);
	sample_msg(&ev->msg);
}

static void
sample_stats(void *p)
{
	struct st_stats *s = p;

	s->conversations = 11;
	s->messages = 12;
	s->page_size = 4096;
	s->overflow_pages = 13;
}

static void
sample_mseries(void *p)
{
	struct mseries *s = p;

	s->kind = MS_COUNTER;
	strlcpy(s->name, "x_total", sizeof(s->name));
	strlcpy(s->labels, "a=\"b\"", sizeof(s->labels));
	s->value = 14;
}

/* An event's bytes (ST_EV_SINCE's list): a sample event, encoded. */
static void
sample_evblob(void *p)
{
	struct st_evblob *b = p;
	struct st_event ev;
	struct penc e;

	memset(&ev, 0, sizeof(ev));
	sample_event(&ev);
	penc_init(&e);
	penc_event(&e, &ev);
	assert_false(e.err);
	b->p = hold(e.buf);
	b->len = (uint32_t)e.len;
}

/* Bytes of anything (replication's parts and chunks). */
static void
sample_blob(void *p)
{
	static const uint8_t bytes[] = { 1, 2, 0, 3, 0xff };
	struct st_blob *b = p;

	b->p = bytes;
	b->len = sizeof(bytes);
}

/* A knowledge source's uploaded file. */
static void
sample_kb_bytes(void *p)
{
	static const uint8_t bytes[] = { '#', ' ', 'A', '\n', 0, 0xff };
	struct st_kb_bytes *b = p;

	b->p = bytes;
	b->len = sizeof(bytes);
}

/* Two embeddings of three dimensions. */
static void
sample_kb_vecs(void *p)
{
	static const float rows[] = { 1, -0.5f, 0.25f, 0, 2, -3 };
	struct st_kb_vecs *v = p;

	v->dim = 3;
	v->min_score = 300000;
	v->data.p = (const uint8_t *)rows;
	v->data.len = sizeof(rows);
}

static void
sample_canned(void *p)
{
	struct st_canned *c = p;

	strlcpy(c->id, ST_CANNED_PREFIX HEX, sizeof(c->id));
	strlcpy(c->shortcut, "hello", sizeof(c->shortcut));
	c->text = x_str;		/* static: never freed here */
	c->created_at = 1700000000030ull;
	c->updated_at = 1700000000031ull;
}

static void
sample_kbsource(void *p)
{
	struct st_kbsource *s = p;

	strlcpy(s->id, ST_KB_SOURCE_PREFIX HEX, sizeof(s->id));
	strlcpy(s->org, ST_ORG_PREFIX HEX, sizeof(s->org));
	s->source_type = ST_KB_QA;
	s->name = x_str;
	s->url = x_str;
	strlcpy(s->lang, "fr", sizeof(s->lang));
	s->question = x_str;
	s->answer = x_str;
	s->max_pages = 100;
	s->max_depth = 3;
	s->sync_hours = 24;
	s->sync_status = ST_KB_READY;
	s->error = x_str;
	s->pages = 7;
	s->chunks = 9;
	s->synced_at = 1700000000040ull;
	s->next_sync_at = 1700000000041ull;
	s->sync_id = 1700000000044ull;
	s->created_at = 1700000000042ull;
	s->updated_at = 1700000000043ull;
}

static void
sample_action(void *p)
{
	struct st_action *a = p;

	strlcpy(a->id, ST_ACTION_PREFIX HEX, sizeof(a->id));
	strlcpy(a->org, ST_ORG_PREFIX HEX, sizeof(a->org));
	strlcpy(a->name, "order_status", sizeof(a->name));
	a->description = x_str;
	a->parameters = "{\"type\":\"object\"}";
	a->method = ST_METHOD_POST;
	a->url = x_str;
	a->body = x_str;
	a->headers = "X-Key: k\n";
	strlcpy(a->header_names, "X-Key\n", sizeof(a->header_names));
	a->changes_data = 1;
	a->requires_verified = 1;
	a->timeout_ms = 5000;
	a->max_response_bytes = 4096;
	a->enabled = 1;
	a->created_at = 1700000000060ull;
	a->updated_at = 1700000000061ull;
}

static void
sample_gap(void *p)
{
	struct st_gap *g = p;

	strlcpy(g->id, HEX "00000007", sizeof(g->id));
	strlcpy(g->org, ST_ORG_PREFIX HEX, sizeof(g->org));
	strlcpy(g->conv_id, HEX, sizeof(g->conv_id));
	strlcpy(g->widget, "w1", sizeof(g->widget));
	strlcpy(g->agent, HEX, sizeof(g->agent));
	g->at = 1764000000000ull;
	g->reasons = ST_GAP_THUMBS_DOWN | ST_GAP_HANDOFF;
	g->question = x_str;
	strlcpy(g->terms, "0011aabb2233ccdd", sizeof(g->terms));
}

static void
sample_att(void *p)
{
	static char piece[] = HEX HEX;
	static char *pieces[] = { piece, piece };
	struct st_att *a = p;

	strlcpy(a->id, "att_" HEX, sizeof(a->id));
	strlcpy(a->org, ST_ORG_PREFIX HEX, sizeof(a->org));
	strlcpy(a->widget, "w1", sizeof(a->widget));
	strlcpy(a->session, HEX HEX, sizeof(a->session));
	strlcpy(a->conv_id, HEX, sizeof(a->conv_id));
	strlcpy(a->name, "fork.png", sizeof(a->name));
	a->type = ATTACH_PNG;
	a->size = ST_ATT_PIECE + 7;
	a->received = a->size;
	a->created_at = 1764000000000ull;
	a->state = ST_ATT_BOUND;
	a->scan = ST_ATT_CLEAN;
	strlcpy(a->key, HEX HEX, sizeof(a->key));
	a->pieces = pieces;
	a->npieces = 2;
}

static void
sample_kbpage(void *p)
{
	struct st_kbpage *g = p;

	strlcpy(g->source_id, ST_KB_SOURCE_PREFIX HEX, sizeof(g->source_id));
	g->url = x_str;
	g->title = x_str;
	g->etag = x_str;
	g->last_modified = x_str;
	strlcpy(g->hash, HEX HEX, sizeof(g->hash));
	g->code = 200;
	g->error = x_str;
	g->chunks = 4;
	g->seen = 1700000000050ull;
	g->fetched_at = 1700000000051ull;
}

/* The records with codecs of their own, by their layout's name. */
static const struct {
	const char *name;
	void (*fill)(void *);
} records[] = {
	{ "struct st_conv", sample_conv },
	{ "struct st_msg", sample_msg },
	{ "struct st_widget", sample_widget },
	{ "struct st_agent", sample_agent },
	{ "struct st_org", sample_org },
	{ "struct st_apikey", sample_apikey },
	{ "struct st_webhook", sample_webhook },
	{ "struct st_delivery", sample_delivery },
	{ "struct st_hook_job", sample_hook_job },
	{ "struct st_mail", sample_mail },
	{ "struct st_canned", sample_canned },
	{ "struct st_kbsource", sample_kbsource },
	{ "struct st_kbpage", sample_kbpage },
	{ "struct st_action", sample_action },
	{ "struct st_gap", sample_gap },
	{ "struct st_att", sample_att },
	{ "struct st_kb_bytes", sample_kb_bytes },
	{ "struct st_kb_vecs", sample_kb_vecs },
	{ "struct st_contact", sample_contact },
	{ "struct st_event", sample_event },
	{ "struct st_stats", sample_stats },
	{ "struct mseries", sample_mseries },
	{ "struct st_evblob", sample_evblob },
	{ "struct st_blob", sample_blob },
};

static void
sample_record(const struct playout *l, void *s)
{
	size_t i;

	for (i = 0; i < sizeof(records) / sizeof(records[0]); i++)
		if (strcmp(l->name, records[i].name) == 0) {
			records[i].fill(s);
			return;
		}
	fail_msg("no sample for the record %s", l->name);
}

static int
when_holds(const struct pfield *f, const void *s)
{
	uint8_t tag = *((const unsigned char *)s + f->aux);

	return tag < 32 && (f->max & (1u << tag)) != 0;
}

/* The top-level PF_WHEN groups of l: a sample has one variant per group and one with none. */
static unsigned
whens(const struct playout *l)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < l->nf; i++)
		n += l->f[i].kind == PF_WHEN;
	return n;
}

/* A value of the tag at aux that no group of l on it holds. */
static uint8_t
absent_tag(const struct playout *l, size_t aux)
{
	unsigned v;
	size_t i;
	int held_by;

	for (v = 0;; v++) {
		held_by = 0;
		for (i = 0; i < l->nf; i++)
			if (l->f[i].kind == PF_WHEN && l->f[i].aux == aux &&
			    v < 32 && (l->f[i].max & (1u << v)))
				held_by = 1;
		if (!held_by)
			return (uint8_t)v;
	}
}

static void sample(const struct playout *, void *, unsigned);

/* A list of n samples at f (and its count, unless shared). */
static void
sample_list(const struct pfield *f, void *s, uint32_t n)
{
	unsigned char *a = NULL;
	uint32_t i;

	if (n > 0)
		a = hold(calloc(n, f->sub->size));
	for (i = 0; i < n; i++)
		sample(f->sub, a + (size_t)i * f->sub->size, 0);
	memcpy(AT(s, f->off), &a, sizeof(a));
	memcpy(AT(s, f->aux), &n, sizeof(n));
}

static void
sample_field(const struct pfield *f, void *s)
{
	const char *str = x_str;
	uint32_t n;
	uint64_t v64 = 0x0102030405060708ull;
	uint32_t v32 = 0x01020304;

	switch (f->kind) {
	case PF_U8:
		*AT(s, f->off) = 1;
		break;
	case PF_U32:
		memcpy(AT(s, f->off), &v32, sizeof(v32));
		break;
	case PF_U64:
		memcpy(AT(s, f->off), &v64, sizeof(v64));
		break;
	case PF_STR:
		memcpy(AT(s, f->off), &str, sizeof(str));
		break;
	case PF_BUF:
		strlcpy((char *)AT(s, f->off), "x", f->max + 1);
		break;
	case PF_BYTES:
		memset(AT(s, f->off), 0xab, f->max);
		n = f->max;
		memcpy(AT(s, f->aux), &n, sizeof(n));
		break;
	case PF_REC:
		sample(f->sub, AT(s, f->off), 0);
		break;
	case PF_LIST:
		if (f->flags & PF_F_SAMEN)
			memcpy(&n, AT(s, f->aux), sizeof(n));
		else
			n = f->max < 2 ? f->max : 2;
		sample_list(f, s, n);
		break;
	default:
		fail_msg("field kind %d", f->kind);
	}
}

/*
 * Fills s as l describes: strings "x", lists of 2, bytes at full length,
 * records with a sample each; of l's groups (PF_WHEN) the pick-th is
 * present (past the last: none), with its tag's lowest value.
 */
static void
sample(const struct playout *l, void *s, unsigned pick)
{
	const struct pfield *f;
	unsigned w = 0;
	size_t i;

	if (l->enc != NULL) {
		sample_record(l, s);
		return;
	}
	for (i = 0; i < l->nf; i++)
		if (l->f[i].kind != PF_WHEN)
			sample_field(&l->f[i], s);
	for (i = 0; i < l->nf; i++)
		if (l->f[i].kind == PF_WHEN)
			*AT(s, l->f[i].aux) = absent_tag(l, l->f[i].aux);
	for (i = 0; i < l->nf; i++) {
		f = &l->f[i];
		if (f->kind == PF_WHEN && w++ == pick)
			*AT(s, f->aux) = (uint8_t)__builtin_ctz(f->max);
	}
	for (i = 0; i < l->nf; i++) {
		f = &l->f[i];
		if (f->kind == PF_WHEN && when_holds(f, s))
			sample(f->sub, AT(s, f->off), 0);
	}
}

/* ------------------------------------------------- encode, decode, check */

/* What is checked: a type's request or reply (by the table), or a bare layout. */
struct target {
	const struct playout *l;
	uint16_t type;		/* 0: l itself, through pl_* */
	int reply;
	const char *what;	/* for the failures */
};

static int
t_encode(const struct target *t, struct penc *e, const void *s)
{
	if (t->type == 0) {
		pl_enc(e, t->l, s);
		return e->err ? -1 : 0;
	}
	return t->reply ? st_rep_encode(e, t->type, s) :
	    st_req_encode(e, t->type, s);
}

static int
t_decode(const struct target *t, const void *p, size_t len, void *s)
{
	if (t->type == 0)
		return pl_decode(t->l, p, len, s);
	return t->reply ? st_rep_decode(t->type, p, len, s) :
	    st_req_decode(t->type, p, len, s);
}

static void
t_free(const struct target *t, void *s)
{
	if (t->type == 0)
		pl_free(t->l, s);
	else if (t->reply)
		st_rep_free(t->type, s);
	else
		st_req_free(t->type, s);
}

/* len bytes of p in an allocation of their own (ASan sees a read past them). */
static void *
copy_of(const void *p, size_t len)
{
	void *c = malloc(len > 0 ? len : 1);

	assert_non_null(c);
	if (len > 0)
		memcpy(c, p, len);
	return c;
}

/* p fails to decode and leaves the struct zeroed. */
static void
decode_fails(const struct target *t, const void *p, size_t len,
    const char *why)
{
	union st_any s;
	void *c = copy_of(p, len);

	memset(&s, 0xa5, sizeof(s));
	if (t_decode(t, c, len, &s) == 0)
		fail_msg("%s: decodes %s", t->what, why);
	if (!proto_zeroed(&s, t->l->size))
		fail_msg("%s: not zeroed after failing %s", t->what, why);
	free(c);
}

/* Every cut of the payload, and one byte more, fails. */
static void
cuts_fail(const struct target *t, const uint8_t *p, size_t len)
{
	char why[64];
	uint8_t *over;
	size_t k;

	for (k = 0; k < len; k++) {
		snprintf(why, sizeof(why), "cut at %zu of %zu bytes", k, len);
		decode_fails(t, p, k, why);
	}
	assert_non_null(over = malloc(len + 1));
	if (len > 0)
		memcpy(over, p, len);
	over[len] = 0;
	decode_fails(t, over, len + 1, "with a byte over");
	free(over);
}

/* Absent groups (PF_WHEN) decode as zeroes. */
static void
absent_zeroed(const struct target *t, const void *s)
{
	const struct pfield *f;
	size_t i;

	for (i = 0; i < t->l->nf; i++) {
		f = &t->l->f[i];
		if (f->kind == PF_WHEN && !when_holds(f, s) &&
		    !proto_zeroed((const unsigned char *)s + f->off, f->sub->size))
			fail_msg("%s: an absent group decoded", t->what);
	}
}

/*
 * s encodes; its bytes decode and encode to the same bytes; the decoded
 * struct frees to zeroes; cut or over, they fail. The bytes are left
 * in *out.
 */
static void
round_trip(const struct target *t, const void *s, struct penc *out)
{
	union st_any d;
	struct penc e2;

	assert_true(t->l->size <= sizeof(d));
	penc_init(out);
	if (t_encode(t, out, s) < 0)
		fail_msg("%s: the sample does not encode", t->what);
	if (t_decode(t, out->buf, out->len, &d) < 0)
		fail_msg("%s: its %zu bytes do not decode", t->what, out->len);
	absent_zeroed(t, &d);
	penc_init(&e2);
	if (t_encode(t, &e2, &d) < 0)
		fail_msg("%s: decoded, it does not encode", t->what);
	if (e2.len != out->len || (out->len > 0 &&
	    memcmp(e2.buf, out->buf, out->len) != 0))
		fail_msg("%s: encodes to other bytes once decoded", t->what);
	penc_free(&e2);
	t_free(t, &d);
	assert_true(proto_zeroed(&d, t->l->size));
	cuts_fail(t, out->buf, out->len);
}

/* The sample as a seed of fuzz_stmsgs, when STMSGS_SEED_DIR is set. */
static void
write_seed(const struct proto_msg *m, int reply, unsigned pick,
    const struct penc *e)
{
	const char *dir = getenv("STMSGS_SEED_DIR");
	uint8_t head[2] = { (uint8_t)m->type, (uint8_t)reply };
	char path[512];
	FILE *f;

	if (dir == NULL)
		return;
	snprintf(path, sizeof(path), "%s/%s-%s-%u", dir, m->name,
	    reply ? "rep" : "req", pick);
	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(head, 1, 2, f), 2);
	if (e->len > 0)
		assert_int_equal(fwrite(e->buf, 1, e->len, f), e->len);
	assert_int_equal(fclose(f), 0);
}

static const struct playout *
layout_of(const struct proto_msg *m, int reply)
{
	return reply ? m->rep : m->req;
}

/* ---------------------------------------------------------- the table */

static void
test_rows(void **state)
{
	const struct proto_msg *m;
	const struct playout *l;
	struct target t;
	union st_any s;
	struct penc e;
	char what[96];
	unsigned pick;
	size_t i, checked = 0;
	int reply;

	for (i = 0; (m = proto_msg_at(i)) != NULL; i++)
		for (reply = 0; reply < 2; reply++) {
			if ((l = layout_of(m, reply)) == NULL)
				continue;
			for (pick = 0; pick <= whens(l); pick++) {
				snprintf(what, sizeof(what), "%s's %s #%u",
				    m->name, reply ? "reply" : "request",
				    pick);
				t = (struct target){ l, m->type, reply, what };
				memset(&s, 0, sizeof(s));
				sample(l, &s, pick);
				round_trip(&t, &s, &e);
				write_seed(m, reply, pick, &e);
				penc_free(&e);
				release_held();
				checked++;
			}
		}
	/* Every storaged request and reply, the unasked messages, their groups. */
	assert_true(checked >= 100);
}

/* A layout like l with field i's bound max (to encode what l refuses). */
struct relaxed {
	struct playout l;
	struct pfield f[32];
};

static const struct playout *
relax(struct relaxed *r, const struct playout *l, size_t i, uint32_t max)
{
	assert_true(l->nf <= 32);
	memcpy(r->f, l->f, l->nf * sizeof(r->f[0]));
	r->l = *l;
	r->l.f = r->f;
	if (i < l->nf)
		r->f[i].max = max;
	return &r->l;
}

/* The bytes before field i of s: l's first i fields encoded. */
static size_t
offset_of(const struct playout *l, size_t i, const void *s)
{
	struct relaxed r;
	struct penc e;
	size_t off;

	relax(&r, l, l->nf, 0);
	r.l.nf = i;
	penc_init(&e);
	pl_enc(&e, &r.l, s);
	assert_false(e.err);
	off = e.len;
	penc_free(&e);
	return off;
}

/* A string of n bytes "aaa...". */
static const char *
str_of(size_t n)
{
	char *s = hold(malloc(n + 1));

	memset(s, 'a', n);
	s[n] = '\0';
	return s;
}

/* Field i of s: a string of n bytes. Then s encodes by t, or not. */
static int
encodes_with_str(const struct target *t, void *s, const struct pfield *f,
    size_t n)
{
	const char *str = str_of(n);
	struct penc e;
	int rc;

	memcpy(AT(s, f->off), &str, sizeof(str));
	penc_init(&e);
	rc = t_encode(t, &e, s);
	if ((rc < 0) != (e.err != 0))
		fail_msg("%s: encode's result and error differ", t->what);
	penc_free(&e);
	return rc;
}

/* Bytes of s by a relaxed l, which t then decodes: 0 or -1, the decoded in d. */
static int
decode_relaxed(const struct target *t, const struct playout *rl,
    const void *s, void *d)
{
	struct penc e;
	int rc;

	penc_init(&e);
	pl_enc(&e, rl, s);
	assert_false(e.err);
	rc = t_decode(t, e.buf, e.len, d);
	penc_free(&e);
	return rc;
}

/* A string field: at its bound it goes; one over, it fails both ways. */
static void
check_str_bound(const struct target *t, size_t i)
{
	const struct pfield *f = &t->l->f[i];
	struct relaxed r;
	union st_any s, d;

	memset(&s, 0, sizeof(s));
	sample(t->l, &s, 0);
	if (encodes_with_str(t, &s, f, f->max) < 0)
		fail_msg("%s: field %zu at its bound does not encode",
		    t->what, i);
	if (encodes_with_str(t, &s, f, f->max + 1) == 0)
		fail_msg("%s: field %zu encodes one over its bound", t->what,
		    i);
	if (decode_relaxed(t, relax(&r, t->l, i, f->max + 1), &s, &d) == 0)
		fail_msg("%s: field %zu decodes one over its bound", t->what,
		    i);
	assert_true(proto_zeroed(&d, t->l->size));
	release_held();
}

/* A clipped string: max + 1 bytes go; more do not encode; decoded, kept at max + 1. */
static void
check_clip(const struct target *t, size_t i)
{
	const struct pfield *f = &t->l->f[i];
	struct relaxed r;
	union st_any s, d;
	const char *got;

	memset(&s, 0, sizeof(s));
	sample(t->l, &s, 0);
	if (encodes_with_str(t, &s, f, f->max + 1) < 0)
		fail_msg("%s: clipped field %zu does not encode at max + 1",
		    t->what, i);
	if (encodes_with_str(t, &s, f, f->max + 2) == 0)
		fail_msg("%s: clipped field %zu encodes at max + 2", t->what,
		    i);
	if (decode_relaxed(t, relax(&r, t->l, i, f->max + 5), &s, &d) < 0)
		fail_msg("%s: clipped field %zu: a long one does not decode",
		    t->what, i);
	memcpy(&got, AT(&d, f->off), sizeof(got));
	assert_int_equal(strlen(got), f->max + 1);
	assert_memory_equal(got, str_of(f->max + 1), f->max + 1);
	t_free(t, &d);
	release_held();
}

/* A list with a bound: max elements go; max + 1 fail both ways. */
static void
check_list_bound(const struct target *t, size_t i)
{
	const struct pfield *f = &t->l->f[i], *g;
	struct relaxed r;
	union st_any s, d;
	struct penc e;
	uint32_t n;
	size_t k;

	for (n = f->max; n <= f->max + 1; n++) {
		memset(&s, 0, sizeof(s));
		sample(t->l, &s, 0);
		/* The lists that share its count (PF_F_SAMEN) grow with it. */
		for (k = 0; k < t->l->nf; k++) {
			g = &t->l->f[k];
			if (g->kind == PF_LIST && g->aux == f->aux)
				sample_list(g, &s, n);
		}
		penc_init(&e);
		if ((t_encode(t, &e, &s) == 0) != (n == f->max))
			fail_msg("%s: list field %zu of %u (bound %u): "
			    "encode is wrong", t->what, i, n, f->max);
		penc_free(&e);
		if (n > f->max) {
			relax(&r, t->l, i, n);
			for (k = 0; k < t->l->nf; k++)
				if (r.f[k].kind == PF_LIST && r.f[k].aux == f->aux)
					r.f[k].max = n;
			if (decode_relaxed(t, &r.l, &s, &d) == 0)
				fail_msg("%s: list field %zu decodes over its "
				    "bound", t->what, i);
			assert_true(proto_zeroed(&d, t->l->size));
		}
		release_held();
	}
}

/* A list's count past what the payload holds fails before it allocates. */
static void
check_list_past(const struct target *t, size_t i)
{
	const uint32_t counts[] = { 0, 0xffffffffu, 0x7fffffffu };
	union st_any s;
	struct penc e;
	uint8_t *p;
	size_t off, k;
	uint32_t n;

	memset(&s, 0, sizeof(s));
	sample(t->l, &s, 0);
	off = offset_of(t->l, i, &s);
	penc_init(&e);
	assert_int_equal(t_encode(t, &e, &s), 0);
	p = copy_of(e.buf, e.len);
	for (k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		/* counts[0]: one element more than bytes left after the count. */
		n = counts[k] != 0 ? counts[k] : (uint32_t)(e.len - off - 4 + 1);
		proto_put_be32(p + off, n);
		decode_fails(t, p, e.len, "with a count past the payload");
	}
	free(p);
	penc_free(&e);
	release_held();
}

static void
test_row_bounds(void **state)
{
	const struct proto_msg *m;
	const struct pfield *f;
	struct target t;
	char what[96];
	size_t i, k, strs = 0, clips = 0, lists = 0;
	int reply;

	for (i = 0; (m = proto_msg_at(i)) != NULL; i++)
		for (reply = 0; reply < 2; reply++) {
			if ((t.l = layout_of(m, reply)) == NULL ||
			    t.l->enc != NULL)
				continue;
			snprintf(what, sizeof(what), "%s's %s", m->name,
			    reply ? "reply" : "request");
			t.type = m->type;
			t.reply = reply;
			t.what = what;
			for (k = 0; k < t.l->nf; k++) {
				f = &t.l->f[k];
				if (f->kind == PF_STR && (f->flags & PF_F_CLIP)) {
					check_clip(&t, k);
					clips++;
				} else if (f->kind == PF_STR) {
					check_str_bound(&t, k);
					strs++;
				} else if (f->kind == PF_LIST &&
				    !(f->flags & PF_F_SAMEN)) {
					check_list_past(&t, k);
					if (f->max <= MS_SERIES_MAX * 2)
						check_list_bound(&t, k);
					lists++;
				}
			}
		}
	assert_true(strs > 40);
	/*
	 * 9 (2 of who answers a conversation), 8 of the people requests, 1
	 * of the outbox's (ST_HOOK_RESULT's error), 1 of the mails'
	 * (ST_MAIL_RESULT's error), 2 of a canned reply's (shortcut, text),
	 * 1 of a rating's (its comment), 2 of a report's (widget, agent), 2
	 * of the knowledge gaps' list (widget, agent), 16 of the attachments'
	 * requests (a visitor's and a person's: new's widget, conversation
	 * and name, put's id, widget and conversation, read's id and
	 * widget), 1 of a PDF's text (its id)
	 */
	assert_int_equal(clips, 43);
	assert_true(lists > 10);
}

/* A request's struct, a reply's: every layout fits the union made for them. */
static void
test_sizes(void **state)
{
	const struct proto_msg *m;
	size_t i;

	for (i = 0; (m = proto_msg_at(i)) != NULL; i++) {
		if (m->req != NULL && m->req->size > sizeof(union st_any))
			fail_msg("%s's request is larger than union st_any",
			    m->name);
		if (m->rep != NULL && m->rep->size > sizeof(union st_any))
			fail_msg("%s's reply is larger than union st_any",
			    m->name);
	}
}

/* A type with no row, or no layout that way, neither encodes nor decodes. */
static void
test_by_type(void **state)
{
	union st_any s;
	struct penc e;

	memset(&s, 0, sizeof(s));
	penc_init(&e);
	assert_int_equal(st_req_encode(&e, 0x7f, &s), -1);
	assert_true(e.err);
	penc_free(&e);
	penc_init(&e);
	assert_int_equal(st_rep_encode(&e, PROTO_ST_EV, &s), -1);
	assert_true(e.err);
	penc_free(&e);
	penc_init(&e);
	assert_int_equal(st_req_encode(&e, PROTO_HELLO, &s), -1);
	penc_free(&e);
	penc_init(&e);
	assert_int_equal(st_req_encode(&e, PROTO_TYPE_MAX, &s), -1);
	penc_free(&e);
	/* A sticky error stays: nothing more encodes into e. */
	penc_init(&e);
	e.err = 1;
	assert_int_equal(st_req_encode(&e, PROTO_ST_PING, &s), -1);
	penc_free(&e);
	penc_init(&e);
	assert_int_equal(st_req_encode(&e, PROTO_ST_PING, &s), 0);
	assert_int_equal(e.len, 0);
	penc_free(&e);

	assert_int_equal(st_req_decode(0x7f, "", 0, &s), -1);
	assert_int_equal(st_rep_decode(PROTO_ST_EV, "", 0, &s), -1);
	assert_int_equal(st_req_decode(PROTO_MW_CONN, "", 0, &s), -1);
	assert_int_equal(st_rep_decode(PROTO_TYPE_MAX + 1, "", 0, &s), -1);
	assert_int_equal(st_req_decode(PROTO_ST_PING, "", 0, &s), 0);
	assert_int_equal(st_rep_decode(PROTO_ST_PING, "x", 1, &s), -1);
	st_req_free(0x7f, &s);
	st_rep_free(PROTO_ST_EV, &s);
}

/* ------------------------------------------------ the engine on its own */

struct t_pair {
	uint8_t a;
	const char *s;
};
static const struct pfield f_pair[] = {
	PFU8(struct t_pair, a),
	PFSTR(struct t_pair, s, 8),
};
static PLAYOUT(pl_pair, struct t_pair, f_pair);

/* Every kind of field once. */
struct t_all {
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;
	const char *str;		/* at most 4 */
	const char *clip;		/* at most 4, clipped */
	char buf[5];
	uint8_t bytes[4];
	uint32_t nbytes;
	uint8_t exact[4];		/* 4 or none */
	uint32_t nexact;
	struct t_pair rec;
	struct t_pair *list;		/* at most 3 */
	uint32_t n;
	struct t_pair *same;		/* n of them, no count of its own */
	uint8_t tag;
	struct t_pair when;		/* tag 1 or 3 */
};
static const struct pfield f_all[] = {
	PFU8(struct t_all, u8),
	PFU32(struct t_all, u32),
	PFU64(struct t_all, u64),
	PFSTR(struct t_all, str, 4),
	PFCLIP(struct t_all, clip, 4),
	PFBUF(struct t_all, buf),
	PFBYTES(struct t_all, bytes, nbytes, 0),
	PFBYTES(struct t_all, exact, nexact, PF_F_EXACT | PF_F_NONE),
	PFREC(struct t_all, rec, pl_pair),
	PFLIST(struct t_all, list, n, 3, pl_pair),
	PFLIST_SAMEN(struct t_all, same, n, 3, pl_pair),
	PFU8(struct t_all, tag),
	PFWHEN(struct t_all, tag, (1u << 1) | (1u << 3), when, pl_pair),
};
static PLAYOUT(pl_all, struct t_all, f_all);

static void
enc_pair(struct penc *e, uint8_t a, const char *s)
{
	penc_u8(e, a);
	penc_str(e, s);
}

static void
assert_bytes(const struct penc *got, const struct penc *want)
{
	assert_false(got->err);
	assert_false(want->err);
	assert_int_equal(got->len, want->len);
	assert_memory_equal(got->buf, want->buf, want->len);
}

static void
test_engine_wire(void **state)
{
	struct t_pair list[2] = { { 6, "l0" }, { 7, "l1" } };
	struct t_pair same[2] = { { 8, "s0" }, { 9, NULL } };
	struct t_all a = {
		.u8 = 0x11, .u32 = 0x22334455, .u64 = 0x0102030405060708ull,
		.str = "abcd", .clip = "ef", .buf = "gh",
		.bytes = { 1, 2 }, .nbytes = 2,
		.exact = { 9, 9, 9, 9 }, .nexact = 4,
		.rec = { 5, "r" }, .list = list, .n = 2, .same = same,
		.tag = 3, .when = { 10, "w" },
	};
	struct target t = { &pl_all, 0, 0, "pl_all" };
	const uint8_t b2[] = { 1, 2 }, b4[] = { 9, 9, 9, 9 };
	struct t_all d;
	struct penc e, want;

	penc_init(&want);
	penc_u8(&want, 0x11);
	penc_raw(&want, "\x22\x33\x44\x55", 4);
	penc_raw(&want, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	penc_str(&want, "abcd");
	penc_str(&want, "ef");
	penc_str(&want, "gh");
	penc_bytes(&want, b2, 2);
	penc_bytes(&want, b4, 4);
	enc_pair(&want, 5, "r");
	penc_u32(&want, 2);
	enc_pair(&want, 6, "l0");
	enc_pair(&want, 7, "l1");
	/* The shared count is not written again. */
	enc_pair(&want, 8, "s0");
	enc_pair(&want, 9, "");
	penc_u8(&want, 3);
	enc_pair(&want, 10, "w");
	round_trip(&t, &a, &e);
	assert_bytes(&e, &want);

	assert_int_equal(pl_decode(&pl_all, e.buf, e.len, &d), 0);
	assert_int_equal(d.u8, 0x11);
	assert_int_equal(d.u32, 0x22334455);
	assert_int_equal(d.u64, 0x0102030405060708ull);
	assert_string_equal(d.str, "abcd");
	assert_string_equal(d.clip, "ef");
	assert_string_equal(d.buf, "gh");
	assert_int_equal(d.nbytes, 2);
	assert_memory_equal(d.bytes, b2, 2);
	assert_int_equal(d.nexact, 4);
	assert_int_equal(d.rec.a, 5);
	assert_string_equal(d.rec.s, "r");
	assert_int_equal(d.n, 2);
	assert_int_equal(d.list[1].a, 7);
	assert_string_equal(d.list[1].s, "l1");
	assert_int_equal(d.same[0].a, 8);
	/* NULL went as "", and comes back "", never NULL. */
	assert_non_null(d.same[1].s);
	assert_string_equal(d.same[1].s, "");
	assert_int_equal(d.tag, 3);
	assert_string_equal(d.when.s, "w");
	pl_free(&pl_all, &d);
	assert_true(proto_zeroed(&d, sizeof(d)));
	penc_free(&e);
	penc_free(&want);
}

/* One string, one buffer, one bytes field, one list: each bound alone. */
struct t_one {
	const char *s;
};
static const struct pfield f_str4[] = { PFSTR(struct t_one, s, 4) };
static PLAYOUT(pl_str4, struct t_one, f_str4);
static const struct pfield f_clip4[] = { PFCLIP(struct t_one, s, 4) };
static PLAYOUT(pl_clip4, struct t_one, f_clip4);

struct t_buf {
	char b[5];
};
static const struct pfield f_buf4[] = { PFBUF(struct t_buf, b) };
static PLAYOUT(pl_buf4, struct t_buf, f_buf4);

struct t_bytes {
	uint8_t b[4];
	uint32_t n;
};
static const struct pfield f_bytes4[] = {
	PFBYTES(struct t_bytes, b, n, 0),
};
static PLAYOUT(pl_bytes4, struct t_bytes, f_bytes4);
static const struct pfield f_exact4[] = {
	PFBYTES(struct t_bytes, b, n, PF_F_EXACT),
};
static PLAYOUT(pl_exact4, struct t_bytes, f_exact4);
static const struct pfield f_exact4none[] = {
	PFBYTES(struct t_bytes, b, n, PF_F_EXACT | PF_F_NONE),
};
static PLAYOUT(pl_exact4none, struct t_bytes, f_exact4none);

struct t_list {
	struct t_pair *a;
	uint32_t n;
	struct t_pair *b;
};
static const struct pfield f_list3[] = {
	PFLIST(struct t_list, a, n, 3, pl_pair),
};
static PLAYOUT(pl_list3, struct t_list, f_list3);
static const struct pfield f_samen[] = {
	PFLIST(struct t_list, a, n, 3, pl_pair),
	PFLIST_SAMEN(struct t_list, b, n, 3, pl_pair),
};
static PLAYOUT(pl_samen, struct t_list, f_samen);

/* s encodes by l to exactly the bytes p (len), or fails to (p NULL). */
static void
assert_encodes(const struct playout *l, const void *s, const void *p,
    size_t len)
{
	struct penc e;

	penc_init(&e);
	pl_enc(&e, l, s);
	if (p == NULL)
		assert_true(e.err);
	else {
		assert_false(e.err);
		assert_int_equal(e.len, len);
		if (len > 0)
			assert_memory_equal(e.buf, p, len);
	}
	penc_free(&e);
}

/* A payload of one str (or bytes) field of n bytes of c. */
static void
one_field(struct penc *e, size_t n, int c)
{
	uint8_t *b = malloc(n + 1);

	assert_non_null(b);
	memset(b, c, n);
	penc_init(e);
	penc_bytes(e, b, n);
	free(b);
}

static void
test_engine_str(void **state)
{
	struct target t = { &pl_str4, 0, 0, "pl_str4" };
	struct t_one s = { "abcd" }, d;
	struct penc e;

	assert_encodes(&pl_str4, &s, "\0\0\0\4abcd", 8);
	s.s = "abcde";
	assert_encodes(&pl_str4, &s, NULL, 0);
	s.s = NULL;
	assert_encodes(&pl_str4, &s, "\0\0\0\0", 4);
	assert_int_equal(pl_decode(&pl_str4, "\0\0\0\0", 4, &d), 0);
	assert_non_null(d.s);
	assert_string_equal(d.s, "");
	pl_free(&pl_str4, &d);
	assert_null(d.s);

	one_field(&e, 4, 'a');
	assert_int_equal(pl_decode(&pl_str4, e.buf, e.len, &d), 0);
	assert_string_equal(d.s, "aaaa");
	pl_free(&pl_str4, &d);
	penc_free(&e);
	one_field(&e, 5, 'a');
	decode_fails(&t, e.buf, e.len, "one over its bound");
	penc_free(&e);
	decode_fails(&t, "\0\0\0\3a\0b", 7, "with a NUL");
	decode_fails(&t, "\0\0\0\5abcd", 8, "past the payload");
	decode_fails(&t, "\xff\xff\xff\xff" "abcd", 8, "past the payload");
}

static void
test_engine_clip(void **state)
{
	struct target t = { &pl_clip4, 0, 0, "pl_clip4" };
	struct t_one s = { "abcde" }, d;
	struct penc e;

	/* One over is sent, for the receiver's check to name the field. */
	assert_encodes(&pl_clip4, &s, "\0\0\0\5abcde", 9);
	s.s = "abcdef";
	assert_encodes(&pl_clip4, &s, NULL, 0);
	one_field(&e, 9, 'q');
	assert_int_equal(pl_decode(&pl_clip4, e.buf, e.len, &d), 0);
	assert_string_equal(d.s, "qqqqq");
	pl_free(&pl_clip4, &d);
	penc_free(&e);
	assert_int_equal(pl_decode(&pl_clip4, "\0\0\0\3abc", 7, &d), 0);
	assert_string_equal(d.s, "abc");
	pl_free(&pl_clip4, &d);
	assert_int_equal(pl_decode(&pl_clip4, "\0\0\0\0", 4, &d), 0);
	assert_string_equal(d.s, "");
	pl_free(&pl_clip4, &d);
	/* A NUL fails wherever it is, past the clip too. */
	decode_fails(&t, "\0\0\0\7abcdef\0", 11, "with a NUL past the clip");
	decode_fails(&t, "\0\0\0\7abc", 7, "past the payload");
}

static void
test_engine_buf(void **state)
{
	struct target t = { &pl_buf4, 0, 0, "pl_buf4" };
	struct t_buf s = { "abcd" }, d;

	assert_encodes(&pl_buf4, &s, "\0\0\0\4abcd", 8);
	assert_int_equal(pl_decode(&pl_buf4, "\0\0\0\4abcd", 8, &d), 0);
	assert_string_equal(d.b, "abcd");
	decode_fails(&t, "\0\0\0\5abcde", 9, "one over its bound");
	decode_fails(&t, "\0\0\0\2a\0", 6, "with a NUL");
}

static void
test_engine_bytes(void **state)
{
	struct target t4 = { &pl_bytes4, 0, 0, "pl_bytes4" };
	struct target tx = { &pl_exact4, 0, 0, "pl_exact4" };
	struct t_bytes s = { { 1, 2, 3, 4 }, 4 }, d;
	struct penc e;
	uint32_t n;

	for (n = 0; n <= 4; n++) {
		s.n = n;
		one_field(&e, n, 7);
		memset(s.b, 7, sizeof(s.b));
		assert_encodes(&pl_bytes4, &s, e.buf, e.len);
		assert_int_equal(pl_decode(&pl_bytes4, e.buf, e.len, &d), 0);
		assert_int_equal(d.n, n);
		assert_memory_equal(d.b, s.b, n);
		/* Exactly 4, or (PF_F_NONE) none. */
		assert_int_equal(pl_decode(&pl_exact4, e.buf, e.len, &d),
		    n == 4 ? 0 : -1);
		assert_int_equal(pl_decode(&pl_exact4none, e.buf, e.len, &d),
		    n == 4 || n == 0 ? 0 : -1);
		/* What the receiver refuses does not encode either. */
		assert_encodes(&pl_exact4, &s, n == 4 ? e.buf : NULL, e.len);
		assert_encodes(&pl_exact4none, &s, n == 4 || n == 0 ? e.buf :
		    NULL, e.len);
		penc_free(&e);
	}
	s.n = 5;
	assert_encodes(&pl_bytes4, &s, NULL, 0);
	one_field(&e, 5, 7);
	decode_fails(&t4, e.buf, e.len, "one over its bound");
	decode_fails(&tx, e.buf, e.len, "one over its bound");
	penc_free(&e);
	decode_fails(&t4, "\0\0\0\4abc", 7, "past the payload");
}

/* A list payload: count, then n pairs (a = i, s = "e"). */
static void
list_bytes(struct penc *e, uint32_t count, uint32_t n)
{
	uint32_t i;

	penc_init(e);
	penc_u32(e, count);
	for (i = 0; i < n; i++)
		enc_pair(e, (uint8_t)i, "e");
}

static void
test_engine_list(void **state)
{
	struct target t = { &pl_list3, 0, 0, "pl_list3" };
	struct t_pair four[4] = { { 0, "e" }, { 1, "e" }, { 2, "e" },
	    { 3, "e" } };
	struct t_list s = { four, 3, NULL }, d;
	struct penc e;

	list_bytes(&e, 3, 3);
	assert_encodes(&pl_list3, &s, e.buf, e.len);
	penc_free(&e);
	round_trip(&t, &s, &e);
	penc_free(&e);
	assert_int_equal(pl_decode(&pl_list3, "\0\0\0\0", 4, &d), 0);
	assert_null(d.a);
	assert_int_equal(d.n, 0);
	s.n = 4;
	assert_encodes(&pl_list3, &s, NULL, 0);
	/* A count with no elements behind it. */
	s.a = NULL;
	s.n = 1;
	assert_encodes(&pl_list3, &s, NULL, 0);
	s.n = 0;
	assert_encodes(&pl_list3, &s, "\0\0\0\0", 4);

	list_bytes(&e, 4, 4);
	decode_fails(&t, e.buf, e.len, "a count over its bound");
	penc_free(&e);
	list_bytes(&e, 3, 2);
	decode_fails(&t, e.buf, e.len, "a count past its elements");
	penc_free(&e);
	/* Counts no payload could hold fail before anything is allocated. */
	list_bytes(&e, 0xffffffffu, 2);
	decode_fails(&t, e.buf, e.len, "a count of 2^32 - 1");
	penc_free(&e);
	decode_fails(&t, "\0\0\0\1", 4, "a count with nothing after it");
}

static void
test_engine_samen(void **state)
{
	struct target t = { &pl_samen, 0, 0, "pl_samen" };
	struct t_pair a[2] = { { 1, "a" }, { 2, "b" } };
	struct t_pair b[2] = { { 3, "c" }, { 4, "d" } };
	struct t_list s = { a, 2, b }, d;
	struct penc e, want;

	list_bytes(&want, 2, 0);
	enc_pair(&want, 1, "a");
	enc_pair(&want, 2, "b");
	enc_pair(&want, 3, "c");
	enc_pair(&want, 4, "d");
	round_trip(&t, &s, &e);
	assert_bytes(&e, &want);
	assert_int_equal(pl_decode(&pl_samen, e.buf, e.len, &d), 0);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.b[1].s, "d");
	pl_free(&pl_samen, &d);
	penc_free(&e);
	penc_free(&want);
	/* The second list is one short: its elements are not all there. */
	list_bytes(&want, 2, 0);
	enc_pair(&want, 1, "a");
	enc_pair(&want, 2, "b");
	enc_pair(&want, 3, "c");
	decode_fails(&t, want.buf, want.len, "a shared count past its list");
	penc_free(&want);
}

/* A tag and two groups on it: w for 1 and 3, v for 2. */
struct t_when {
	uint8_t tag;
	struct t_pair w;
	struct t_pair v;
};
static const struct pfield f_when[] = {
	PFU8(struct t_when, tag),
	PFWHEN(struct t_when, tag, (1u << 1) | (1u << 3), w, pl_pair),
	PFWHEN(struct t_when, tag, 1u << 2, v, pl_pair),
};
static PLAYOUT(pl_when, struct t_when, f_when);

static void
test_engine_when(void **state)
{
	struct target t = { &pl_when, 0, 0, "pl_when" };
	struct t_when s = { 0, { 1, "w" }, { 2, "v" } }, d;
	const uint8_t tags[] = { 0, 1, 2, 3, 4, 31, 32, 40, 255 };
	struct penc e, want;
	size_t i;

	for (i = 0; i < sizeof(tags); i++) {
		s.tag = tags[i];
		penc_init(&want);
		penc_u8(&want, s.tag);
		if (s.tag == 1 || s.tag == 3)
			enc_pair(&want, 1, "w");
		else if (s.tag == 2)
			enc_pair(&want, 2, "v");
		round_trip(&t, &s, &e);
		assert_bytes(&e, &want);
		assert_int_equal(pl_decode(&pl_when, e.buf, e.len, &d), 0);
		assert_int_equal(d.w.a, s.tag == 1 || s.tag == 3);
		assert_int_equal(d.v.a, s.tag == 2 ? 2 : 0);
		pl_free(&pl_when, &d);
		penc_free(&e);
		penc_free(&want);
	}
	/* A tag that says present with its group missing, and absent with one there. */
	decode_fails(&t, "\1", 1, "a present group missing");
	decode_fails(&t, "\0\1\0\0\0\0", 6, "an absent group there");
}

/*
 * The begin replies' history, decoded into one allocation (st_begin_ok's
 * text): lines with no content, with files, at ST_CONTENT_MAX, and all
 * of them empty (the most strings a payload's bytes can hold), each
 * read back as sent, both types; ASan sees a write past the text or a
 * string leaked.
 */
static void
begin_history_is(uint16_t type, const struct st_begin_rep *s)
{
	struct st_begin_rep d;
	struct penc e;
	uint32_t i, k;

	penc_init(&e);
	assert_int_equal(st_rep_encode(&e, type, s), 0);
	assert_int_equal(st_rep_decode(type, e.buf, e.len, &d), 0);
	assert_string_equal(d.ok.language, s->ok.language);
	assert_string_equal(d.ok.conv_id, s->ok.conv_id);
	assert_string_equal(d.ok.msg_id, s->ok.msg_id);
	assert_string_equal(d.ok.agent.model, s->ok.agent.model);
	assert_int_equal(d.ok.nhistory, s->ok.nhistory);
	for (i = 0; i < s->ok.nhistory; i++) {
		assert_string_equal(d.ok.history[i].role, s->ok.history[i].role);
		assert_string_equal(d.ok.history[i].content,
		    s->ok.history[i].content);
		assert_int_equal(d.ok.history[i].natts, s->ok.history[i].natts);
		for (k = 0; k < s->ok.history[i].natts; k++)
			assert_string_equal(d.ok.history[i].atts[k].name,
			    s->ok.history[i].atts[k].name);
	}
	st_rep_free(type, &d);
	assert_true(proto_zeroed(&d, sizeof(d)));
	penc_free(&e);
}

static void
test_begin_history(void **state)
{
	static const uint16_t types[] = { PROTO_ST_CHAT_BEGIN, PROTO_ST_WS_BEGIN };
	struct st_msg_att atts[2];
	struct st_line lines[4], empty[64];
	struct st_begin_rep s;
	char *big;
	size_t i, j;

	assert_non_null(big = malloc(ST_CONTENT_MAX + 1));
	memset(big, 'b', ST_CONTENT_MAX);
	big[ST_CONTENT_MAX] = '\0';
	memset(atts, 0, sizeof(atts));
	strlcpy(atts[0].name, "a.png", sizeof(atts[0].name));
	strlcpy(atts[1].name, "b.pdf", sizeof(atts[1].name));
	memset(lines, 0, sizeof(lines));
	strlcpy(lines[0].role, "user", sizeof(lines[0].role));
	lines[0].content = "";
	lines[0].atts = atts;
	lines[0].natts = 2;
	strlcpy(lines[1].role, "assistant", sizeof(lines[1].role));
	lines[1].content = big;
	strlcpy(lines[2].role, "user", sizeof(lines[2].role));
	lines[2].content = "h\xc3\xa9llo";
	lines[3].content = "";
	memset(empty, 0, sizeof(empty));
	for (i = 0; i < 64; i++)
		empty[i].content = "";
	for (i = 0; i < 2; i++) {
		memset(&s, 0, sizeof(s));
		s.result = ST_CHAT_OK;	/* ST_WS_OK alike */
		st_agent_defaults(&s.ok.agent);
		s.ok.agent.model = "m";
		strlcpy(s.ok.conv_id, HEX, sizeof(s.ok.conv_id));
		strlcpy(s.ok.msg_id, HEX, sizeof(s.ok.msg_id));
		s.ok.language = "fr";
		s.ok.history = lines;
		s.ok.nhistory = 4;
		begin_history_is(types[i], &s);
		s.ok.language = "";
		s.ok.history = empty;
		for (j = 0; j <= 64; j += 16) {
			s.ok.nhistory = (uint32_t)j;
			begin_history_is(types[i], &s);
		}
	}
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_engine_wire),
		cmocka_unit_test(test_engine_str),
		cmocka_unit_test(test_engine_clip),
		cmocka_unit_test(test_engine_buf),
		cmocka_unit_test(test_engine_bytes),
		cmocka_unit_test(test_engine_list),
		cmocka_unit_test(test_engine_samen),
		cmocka_unit_test(test_engine_when),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_by_type),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_row_bounds),
		cmocka_unit_test(test_begin_history),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
