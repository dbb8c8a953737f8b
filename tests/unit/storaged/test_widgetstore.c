/*
 * Widgets, visitor sessions, contacts and daily caps (proto/widgetmsg.h)
 * through the dispatcher, against a real LMDB environment in a fresh
 * temporary directory per test, with fake clocks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "agentmsg.h"
#include "log.h"
#include "reportmsg.h"
#include "test_fixture.h"
#include "agentstore.h"
#include "kbpage.h"
#include "kbsource.h"
#include "widgetmsg.h"
#include "widgetstore.h"

#define MIN	60000u

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-widget-XXXXXX", 1);
}

static void
hash(uint8_t h[ST_TOKEN_HASH_LEN], uint8_t byte)
{
	memset(h, byte, ST_TOKEN_HASH_LEN);
}

/* ------------------------------------------------ widgets */

static int
w_create(struct fix *f, const struct st_widget *in, struct st_widget *out)
{
	return request_dec(f, PROTO_ST_WIDGET_CREATE, in, out);
}

/* A fresh widget with defaults and this name. */
static void
w_new(struct fix *f, const char *name, struct st_widget *out)
{
	struct st_widget in;

	st_widget_defaults(&in);
	in.name = strdup(name);
	assert_int_equal(w_create(f, &in, out), 0);
	st_widget_free(&in);
}

/*
 * A widget request (req) and its reply: the widget into out, or nothing
 * when out is NULL. Error code; *gone gets the reply's gone id.
 */
static int
w_request(struct fix *f, uint16_t type, const void *req,
    struct st_widget *out, char *gone)
{
	struct dreply r;
	int err;

	if ((err = request_st(f, type, req, &r)) == 0) {
		if (out != NULL)
			assert_int_equal(st_rep_decode(type, r.enc.buf,
			    r.enc.len, out), 0);
		else
			assert_int_equal(r.enc.len, 0);
	}
	if (gone != NULL)
		strlcpy(gone, r.gone, ST_WID_LEN + 1);
	dreply_free(&r);
	return err;
}

static int
w_update(struct fix *f, const char *wid, uint64_t mask,
    const struct st_widget *in, struct st_widget *out, char *gone)
{
	struct st_widget_update_req q = { wid, mask, *in };

	return w_request(f, PROTO_ST_WIDGET_UPDATE, &q, out, gone);
}

static int
w_simple(struct fix *f, uint16_t type, const char *wid, struct st_widget *out,
    char *gone)
{
	return w_request(f, type, &(struct st_id_req){ wid }, out, gone);
}

static int
w_get(struct fix *f, const char *wid, struct st_widget *out)
{
	return w_simple(f, PROTO_ST_WIDGET_GET, wid, out, NULL);
}

/* The widgets, an array of n (free each, then the array). */
static uint32_t
w_list(struct fix *f, struct st_widget **ws)
{
	struct st_widgets l;

	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_LIST, NULL, &l), 0);
	assert_true(l.n <= ST_WIDGETS_MAX);
	*ws = l.widgets != NULL ? l.widgets : calloc(1, sizeof(**ws));
	assert_non_null(*ws);
	return l.n;
}

static void
default_widget(struct fix *f, struct st_widget *w)
{
	struct st_widget *ws;
	uint32_t n, i;

	n = w_list(f, &ws);
	assert_true(n >= 1);
	assert_string_equal(ws[0].id, ST_DEFAULT_WIDGET);
	*w = ws[0];
	for (i = 1; i < n; i++)
		st_widget_free(&ws[i]);
	free(ws);
}

static int
wid_valid(const char *s)
{
	return strncmp(s, "wid_", 4) == 0 && st_id_valid(s + 4);
}

/* ------------------------------------------------ visitors */

struct wsopen {
	int result;
	struct st_widget w;
	int resumed, contact;
	char conv_id[ST_ID_HEX + 1];
	uint32_t n;
	char roles[16][ST_ROLE_MAX + 1];
	char *contents[16];
	char names[16][4 * ST_MSG_NAME_MAX + 1];
	int more;
	uint8_t handoff;
	char handoff_name[4 * ST_MSG_NAME_MAX + 1];
	uint8_t staffed, earlier;
	int wrote;
};

static void
wsopen_free(struct wsopen *o)
{
	uint32_t i;

	st_widget_free(&o->w);
	for (i = 0; i < o->n && i < 16; i++)
		free(o->contents[i]);
	memset(o, 0, sizeof(*o));
}

static void
dec_pairs(struct pdec *d, uint32_t *n, char roles[16][ST_ROLE_MAX + 1],
    char *contents[16])
{
	uint32_t i;

	*n = pdec_u32(d);
	assert_true(*n <= 16);
	for (i = 0; i < *n; i++) {
		pdec_strbuf(d, roles[i], ST_ROLE_MAX + 1);
		contents[i] = pdec_strdup(d, ST_CONTENT_MAX);
		assert_non_null(contents[i]);
		assert_int_equal(pdec_u32(d), 0);	/* no attachments */
	}
}

/*
 * ST_WS_OPEN's history: (role, content, name, id, feedback) items; names
 * kept in names (the id is 32 hex, the feedback none: checked here).
 */
static void
dec_triples(struct pdec *d, uint32_t *n, char roles[16][ST_ROLE_MAX + 1],
    char *contents[16], char names[16][4 * ST_MSG_NAME_MAX + 1])
{
	char id[ST_ID_HEX + 1], status[32];
	uint32_t i;

	*n = pdec_u32(d);
	assert_true(*n <= 16);
	for (i = 0; i < *n; i++) {
		pdec_strbuf(d, roles[i], ST_ROLE_MAX + 1);
		contents[i] = pdec_strdup(d, ST_CONTENT_MAX);
		assert_non_null(contents[i]);
		pdec_strbuf(d, names[i], 4 * ST_MSG_NAME_MAX + 1);
		pdec_strbuf(d, id, sizeof(id));
		assert_true(st_id_valid(id));
		assert_int_equal(pdec_u8(d), ST_FEEDBACK_NONE);
		assert_int_equal(pdec_u32(d), 0);	/* no attachments */
		/* The status a cut reply shows by; these were whole. */
		pdec_strbuf(d, status, sizeof(status));
		assert_string_equal(status, "complete");
		pdec_strbuf(d, status, sizeof(status));	/* no client id */
		assert_string_equal(status, "");
		pdec_strbuf(d, status, sizeof(status));	/* no cited passages */
		assert_string_equal(status, "");
	}
}

/* A begin reply's agent: the default one, every field empty or unset. */
static void
dec_default_agent(struct pdec *d)
{
	struct st_agent a;

	assert_int_equal(pdec_agent(d, &a), 0);
	assert_string_equal(a.id, "");
	assert_string_equal(a.api_key, "");
	assert_int_equal(a.temperature_milli, ST_AGENT_UNSET);
	st_agent_free(&a);
}

/* An ST_WS_OPEN payload; hash lengths as given, to test bad ones. */
static void
ws_open_payload(struct penc *e, const char *wid, const char *origin,
    const uint8_t *token, size_t tlen, const uint8_t *fresh, size_t flen,
    uint64_t idle, uint32_t hmax)
{
	penc_init(e);
	penc_str(e, wid);
	penc_str(e, origin);
	penc_bytes(e, token, tlen);
	penc_bytes(e, fresh, flen);
	penc_u64(e, idle);
	penc_u32(e, hmax);
	penc_u32(e, 0);		/* no rate hits (test_ws_open_counts) */
	penc_u8(e, 0);		/* so no history_hit */
}

/*
 * An ST_WS_BEGIN payload: a one-minute window, history_max 10, and
 * create (as a worker sends it until its visitor's session is stored)
 * unless begin_nocreate is set.
 */
static int begin_nocreate;
/* ws_begin_full leaves an OK turn open (else it ends it, as its reply would). */
static int begin_keeps_turn;

static void
ws_begin_payload(struct penc *e, const char *wid, const uint8_t *h,
    size_t hlen, const char *content, const char *key, uint32_t rate_max,
    uint64_t idle)
{
	/* By hand: the tests send a token of any length (the layout's not). */
	penc_init(e);
	penc_str(e, wid);
	penc_bytes(e, h, hlen);
	penc_str(e, content);
	penc_str(e, key);
	penc_u32(e, MIN);
	penc_u32(e, rate_max);
	penc_u32(e, 10);
	penc_u64(e, idle);
	penc_u8(e, !begin_nocreate);
	penc_visitor(e, &(struct st_visitor){ 0 });	/* told nothing */
	penc_u32(e, 0);					/* no attachments */
	penc_str(e, "");				/* no client id */
	penc_str(e, "");				/* no Origin */
}

static int
ws_open(struct fix *f, const char *wid, const char *origin,
    const uint8_t *token, const uint8_t *fresh, uint64_t idle,
    uint32_t hmax, struct wsopen *o)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	int err;

	memset(o, 0, sizeof(*o));
	ws_open_payload(&e, wid, origin, token,
	    token != NULL ? ST_TOKEN_HASH_LEN : 0, fresh, ST_TOKEN_HASH_LEN,
	    idle, hmax);
	if ((err = request(f, PROTO_ST_WS_OPEN, &e, &r)) == 0) {
		o->wrote = r.wrote;
		pdec_init(&d, r.enc.buf, r.enc.len);
		o->result = pdec_u8(&d);
		if (o->result == ST_WS_OK) {
			assert_int_equal(pdec_widget(&d, &o->w), 0);
			o->resumed = pdec_u8(&d);
			o->contact = pdec_u8(&d);
			pdec_strbuf(&d, o->conv_id, sizeof(o->conv_id));
			dec_triples(&d, &o->n, o->roles, o->contents,
			    o->names);
			o->more = pdec_u8(&d);
			o->handoff = pdec_u8(&d);
			pdec_strbuf(&d, o->handoff_name,
			    sizeof(o->handoff_name));
			o->staffed = pdec_u8(&d);
			o->earlier = pdec_u8(&d);
		}
		assert_int_equal(pdec_done(&d), 0);
	}
	dreply_free(&r);
	return err;
}

/*
 * Opens a new visitor's socket on wid with token byte tb: OK, not
 * resumed, and nothing stored (its first message or contact stores it).
 */
static void
ws_new(struct fix *f, const char *wid, uint8_t tb)
{
	uint8_t h[ST_TOKEN_HASH_LEN];
	struct wsopen o;

	hash(h, tb);
	assert_int_equal(ws_open(f, wid, "", NULL, h, 0, 20, &o), 0);
	assert_int_equal(o.result, ST_WS_OK);
	assert_int_equal(o.resumed, 0);
	assert_int_equal(o.wrote, 0);
	wsopen_free(&o);
}

struct wsbegin {
	int result;
	uint64_t retry;
	int created;
	struct st_conv conv;
	uint32_t n;
	char roles[16][ST_ROLE_MAX + 1];
	char *contents[16];
	int verified;		/* a verified visitor's session */
	int handoff;		/* its conversation's (ST_HANDOFF_*) */
	int wrote, touched;
};

static void
wsbegin_free(struct wsbegin *b)
{
	uint32_t i;

	st_conv_free(&b->conv);
	for (i = 0; i < b->n && i < 16; i++)
		free(b->contents[i]);
	memset(b, 0, sizeof(*b));
}

static int
ws_begin_full(struct fix *f, const char *wid, uint8_t tb, const char *content,
    uint32_t rate_max, uint64_t idle, struct wsbegin *b)
{
	char id[ST_ID_HEX + 1], lang[ST_VISITOR_LANG_MAX + 1];
	char msg[ST_ID_HEX + 1];
	uint8_t h[ST_TOKEN_HASH_LEN];
	struct penc e;
	struct dreply r;
	struct pdec d;
	int err;

	memset(b, 0, sizeof(*b));
	hash(h, tb);
	ws_begin_payload(&e, wid, h, sizeof(h), content, "ws:1.2.3.4",
	    rate_max, idle);
	if ((err = request(f, PROTO_ST_WS_BEGIN, &e, &r)) == 0) {
		b->wrote = r.wrote;
		b->touched = r.touched;
		pdec_init(&d, r.enc.buf, r.enc.len);
		b->result = pdec_u8(&d);
		b->retry = pdec_u64(&d);
		if (b->result == ST_WS_OK) {
			assert_int_equal(b->retry, 0);
			dec_default_agent(&d);
			b->created = pdec_u8(&d);
			fix_dec_begin_conv(&d, id, lang);
			dec_pairs(&d, &b->n, b->roles, b->contents);
			b->verified = pdec_u8(&d);
			/* The user message's id: its socket skips its event. */
			pdec_strbuf(&d, msg, sizeof(msg));
			assert_true(st_id_valid(msg));
			/* Its conversation's handoff state. */
			b->handoff = pdec_u8(&d);
			assert_non_null(st_handoff_name(b->handoff));
		}
		assert_int_equal(pdec_done(&d), 0);
		/* Only an OK turn writes, so only it may be answered early. */
		assert_int_equal(b->wrote, b->result == ST_WS_OK);
	}
	dreply_free(&r);
	/* The reply names the conversation; the tests read it whole. */
	if (err == 0 && b->result == ST_WS_OK) {
		fix_conv_get(f, id, &b->conv);
		if (!begin_keeps_turn)
			fix_turns_end(f);	/* as its reply would */
	}
	return err;
}

/* The result of a turn with no rate limit, freed. */
static int
ws_say(struct fix *f, const char *wid, uint8_t tb, const char *content)
{
	struct wsbegin b;
	int res;

	assert_int_equal(ws_begin_full(f, wid, tb, content, 0, 0, &b), 0);
	res = b.result;
	wsbegin_free(&b);
	return res;
}

/* ws_say() without create: a socket whose session was stored. */
static int
ws_say_stored(struct fix *f, const char *wid, uint8_t tb, const char *content)
{
	int res;

	begin_nocreate = 1;
	res = ws_say(f, wid, tb, content);
	begin_nocreate = 0;
	return res;
}
/* contact_submit's rate limit: none unless a test sets one. */
static const char *contact_rate_key = "";
static uint32_t contact_rate_max;
/* contact_submit and identify_signed without create: a stored session's. */
static int contact_nocreate;

static int
contact_submit(struct fix *f, const char *wid, uint8_t tb, const char *name,
    const char *email, const char *phone, int *result, struct st_contact *c)
{
	struct st_contact_submit_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN, .name = name, .email = email,
	    .phone = phone, .rate_key = contact_rate_key, .window_ms = MIN,
	    .rate_max = contact_rate_max, .create = !contact_nocreate };
	struct st_contact_submit_rep rep;
	struct dreply r;
	int err;

	hash(q.token, tb);
	if ((err = request_st(f, PROTO_ST_CONTACT_SUBMIT, &q, &r)) == 0) {
		assert_int_equal(st_rep_decode(PROTO_ST_CONTACT_SUBMIT,
		    r.enc.buf, r.enc.len, &rep), 0);
		*result = rep.result;
		/* The contact is the caller's now. */
		if (*result == ST_WS_OK)
			*c = rep.contact;
		if (*result == ST_WS_LIMITED)
			assert_true(rep.retry_ms > 0);
	}
	dreply_free(&r);
	return err;
}

/* Submits and returns the contact's id in id. */
static void
submit_ok(struct fix *f, const char *wid, uint8_t tb, const char *name,
    const char *email, const char *phone, char id[ST_ID_HEX + 1])
{
	struct st_contact c;
	int result;

	assert_int_equal(contact_submit(f, wid, tb, name, email, phone,
	    &result, &c), 0);
	assert_int_equal(result, ST_WS_OK);
	assert_true(st_id_valid(c.id));
	strlcpy(id, c.id, ST_ID_HEX + 1);
	st_contact_free(&c);
}

struct clist {
	uint64_t total;
	uint32_t n;
	struct st_contact c[ST_LIST_MAX];
	char next[ST_CURSOR_MAX + 1];
};

static int
dec_contact(struct pdec *d, void *c)
{
	return pdec_contact(d, c);
}

static int
contact_list(struct fix *f, uint32_t limit, const char *cursor,
    struct clist *l)
{
	memset(l, 0, sizeof(*l));
	return request_list(f, PROTO_ST_CONTACT_LIST, limit, cursor,
	    &l->total, &l->n, l->c, sizeof(l->c[0]), dec_contact, l->next);
}

static void
clist_free(struct clist *l)
{
	uint32_t i;

	for (i = 0; i < l->n; i++)
		st_contact_free(&l->c[i]);
}

struct cfull {
	struct st_contact c;
	uint32_t n;
	struct st_conv convs[8];
	int unverified[8];
	char sub_name[8][64], sub_email[8][ST_EMAIL_MAX + 1];
	char sub_phone[8][ST_PHONE_MAX + 1];
	uint64_t total;
	char next[ST_CURSOR_MAX + 1];
};

/* ST_CONTACT_GET's page of limit after cursor into g: 0, or the error. */
static int
contact_page(struct fix *f, const char *id, uint32_t limit,
    const char *cursor, struct cfull *g)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	uint32_t i;
	int err;

	memset(g, 0, sizeof(*g));
	penc_init(&e);
	penc_str(&e, id);
	penc_u32(&e, limit);
	penc_str(&e, cursor);
	if ((err = request(f, PROTO_ST_CONTACT_GET, &e, &r)) == 0) {
		pdec_init(&d, r.enc.buf, r.enc.len);
		assert_int_equal(pdec_contact(&d, &g->c), 0);
		g->n = pdec_u32(&d);
		assert_true(g->n <= 8);
		for (i = 0; i < g->n; i++)
			assert_int_equal(pdec_conv(&d, &g->convs[i]), 0);
		for (i = 0; i < g->n; i++) {
			g->unverified[i] = pdec_u8(&d);
			pdec_strbuf(&d, g->sub_name[i], sizeof(g->sub_name[i]));
			pdec_strbuf(&d, g->sub_email[i],
			    sizeof(g->sub_email[i]));
			pdec_strbuf(&d, g->sub_phone[i],
			    sizeof(g->sub_phone[i]));
		}
		g->total = pdec_u64(&d);
		pdec_strbuf(&d, g->next, sizeof(g->next));
		assert_int_equal(pdec_done(&d), 0);
	}
	dreply_free(&r);
	return err;
}

/* The contact and every one of its conversations, one page. */
static int
contact_get(struct fix *f, const char *id, struct cfull *g)
{
	int err;

	if ((err = contact_page(f, id, ST_LIST_MAX, "", g)) == 0) {
		assert_int_equal(g->total, g->n);
		assert_string_equal(g->next, "");
	}
	return err;
}

static void
cfull_free(struct cfull *g)
{
	uint32_t i;

	st_contact_free(&g->c);
	for (i = 0; i < g->n; i++)
		st_conv_free(&g->convs[i]);
}

/* ------------------------------------------------ sweep */

/* One store_wsess_sweep() of at most max sessions, committed. */
static void
sweep_once(struct fix *f, uint32_t max, struct store_sweep *o)
{
	struct store_txn t;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_wsess_sweep(&t, max, 0, o), 0);
	assert_int_equal(store_commit(&t), 0);
}

/* Sweeps in steps of 64 until nothing is left: the sessions removed. */
static uint32_t
sweep_all(struct fix *f)
{
	struct store_sweep o;
	uint32_t n = 0;

	do {
		sweep_once(f, 64, &o);
		n += o.gone + o.expired;
	} while (o.more);
	return n;
}

/* ------------------------------------------------ tests: widgets */

/*
 * One begin's read of widget id (store_chat_widget_take) in a write txn
 * of its own: its result, the agent's prompt in prompt ("" for none).
 */
static int
take(struct fix *f, const char *id, char *prompt, size_t n)
{
	char org[ST_WHO_ORG_MAX + 1];
	struct store_txn t;
	struct st_agent own;
	const struct st_agent *a;
	uint64_t retry;
	int result;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_chat_widget_take(&t, id, &result, &retry, &own,
	    &a, org), 0);
	assert_int_equal(store_commit(&t), 0);
	snprintf(prompt, n, "%s", a->system_prompt != NULL ? a->system_prompt :
	    "");
	st_agent_free(&own);
	return result;
}

/* Today's bounds as a report reads them, of widget (internal id, or ""). */
static struct st_report_rep
today_of(struct fix *f, const char *widget)
{
	struct st_report_rep rep;
	struct store_txn t;

	memset(&rep, 0, sizeof(rep));
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(daily_today(&t, ST_WHO_ORG_DEFAULT, widget, fake_now,
	    &rep), 0);
	assert_int_equal(store_commit(&t), 0);
	return rep;
}

/* Records decoded since the last call. */
static uint64_t
decodes_since(struct fix *f, uint64_t *last)
{
	uint64_t d, p, n;

	store_costs(f->st, &d, &p);
	n = d - *last;
	*last = d;
	return n;
}

/*
 * A chat begin's read of its widget and agent is kept in memory and read
 * again after any write to them: the widget's prompt changed, the widget
 * turned off, its agent's prompt changed, a nested txn that turned it
 * off undone (what the txn read meanwhile is not kept past its undo).
 * A kept read decodes nothing; its daily cap still counts every time.
 */
static void
test_begin_cache(void **state)
{
	struct fix *f = *state;
	struct st_widget w, in, out;
	struct st_agent ain, agent, aout;
	const struct st_agent *lent;
	struct store_txn t, c;
	char prompt[64], org[ST_WHO_ORG_MAX + 1];
	uint64_t last = 0, retry;
	int result, off;

	w_new(f, "Cached", &w);
	assert_int_equal(take(f, w.id, prompt, sizeof(prompt)), ST_WS_OK);
	(void)decodes_since(f, &last);
	assert_int_equal(take(f, w.id, prompt, sizeof(prompt)), ST_WS_OK);
	assert_int_equal(decodes_since(f, &last), 0);

	st_widget_defaults(&in);
	in.system_prompt = strdup("Be brief.");
	assert_int_equal(w_update(f, w.widget_id, ST_WF_SYSTEM_PROMPT, &in,
	    &out, NULL), 0);
	st_widget_free(&out);
	assert_int_equal(take(f, w.id, prompt, sizeof(prompt)), ST_WS_OK);
	assert_string_equal(prompt, "Be brief.");

	in.enabled = 0;
	assert_int_equal(w_update(f, w.widget_id, ST_WF_ENABLED, &in, &out,
	    NULL), 0);
	st_widget_free(&out);
	assert_int_equal(take(f, w.id, prompt, sizeof(prompt)),
	    ST_WS_NO_WIDGET);
	in.enabled = 1;
	assert_int_equal(w_update(f, w.widget_id, ST_WF_ENABLED, &in, &out,
	    NULL), 0);
	st_widget_free(&out);
	assert_int_equal(take(f, w.id, prompt, sizeof(prompt)), ST_WS_OK);

	/* Its agent's prompt, the widget's own cleared. */
	st_agent_defaults(&ain);
	ain.name = strdup("Helper");
	ain.system_prompt = strdup("You help.");
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_agent_create(&t, ST_WHO_ORG_DEFAULT, &ain,
	    &agent), 0);
	assert_int_equal(store_commit(&t), 0);
	free(in.system_prompt);
	in.system_prompt = strdup("");
	strlcpy(in.agent_id, agent.id, sizeof(in.agent_id));
	assert_int_equal(w_update(f, w.widget_id, ST_WF_SYSTEM_PROMPT |
	    ST_WF_AGENT_ID, &in, &out, NULL), 0);
	st_widget_free(&out);
	assert_int_equal(take(f, w.id, prompt, sizeof(prompt)), ST_WS_OK);
	assert_string_equal(prompt, "You help.");
	free(ain.system_prompt);
	ain.system_prompt = strdup("You help, briefly.");
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_agent_update(&t, ST_WHO_ORG_DEFAULT, agent.id,
	    ST_AF_SYSTEM_PROMPT, &ain, &aout), 0);
	assert_int_equal(store_commit(&t), 0);
	st_agent_free(&aout);
	assert_int_equal(take(f, w.id, prompt, sizeof(prompt)), ST_WS_OK);
	assert_string_equal(prompt, "You help, briefly.");

	/* Off in a nested txn, read there, undone: on again. */
	in.enabled = 0;
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_begin_child(&t, &c), 0);
	assert_int_equal(store_widget_update(&c, ST_WHO_ORG_DEFAULT,
	    w.widget_id, ST_WF_ENABLED, &in, &out, &off), 0);
	st_widget_free(&out);
	assert_int_equal(store_chat_widget_take(&c, w.id, &result, &retry,
	    &aout, &lent, org), 0);
	assert_int_equal(result, ST_WS_NO_WIDGET);
	st_agent_free(&aout);
	store_abort(&c);
	assert_int_equal(store_chat_widget_take(&t, w.id, &result, &retry,
	    &aout, &lent, org), 0);
	assert_int_equal(result, ST_WS_OK);
	st_agent_free(&aout);
	assert_int_equal(store_commit(&t), 0);

	/* A kept read counts against the daily cap all the same. */
	in.daily_cap = 1;
	assert_int_equal(w_update(f, w.widget_id, ST_WF_DAILY_CAP, &in, &out,
	    NULL), 0);
	st_widget_free(&out);
	fake_now += 86400000;		/* a new day: nothing counted yet */
	assert_int_equal(take(f, w.id, prompt, sizeof(prompt)), ST_WS_OK);
	(void)decodes_since(f, &last);
	assert_int_equal(take(f, w.id, prompt, sizeof(prompt)), ST_WS_CAPPED);
	assert_int_equal(decodes_since(f, &last), 0);
	st_agent_free(&agent);
	st_agent_free(&ain);
	st_widget_free(&in);
	st_widget_free(&w);
}

/*
 * One begin's read of id: the sources its agent searches (at most 4
 * copied into ids), how many; its agent's organisation in org.
 */
static uint32_t
take_sources(struct fix *f, const char *id, char ids[4][64],
    char org[ST_WHO_ORG_MAX + 1])
{
	char worg[ST_WHO_ORG_MAX + 1];
	struct store_txn t;
	struct st_agent own;
	const struct st_agent *a;
	uint64_t retry;
	uint32_t i, n;
	int result;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_chat_widget_take(&t, id, &result, &retry, &own,
	    &a, worg), 0);
	assert_int_equal(result, ST_WS_OK);
	n = a->nknowledge_sources;
	for (i = 0; i < n && i < 4; i++)
		strlcpy(ids[i], a->knowledge_sources[i], 64);
	strlcpy(org, a->org, ST_WHO_ORG_MAX + 1);
	assert_int_equal(store_commit(&t), 0);
	st_agent_free(&own);
	return n;
}

/* Source in (its type, url, question) made in org: its id into id. */
static void
source_new(struct fix *f, const char *org, struct st_kbsource *in,
    char id[64])
{
	struct st_kbsource out;
	struct store_txn t;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_kbsource_create(&t, org, in, &out), 0);
	assert_int_equal(store_commit(&t), 0);
	strlcpy(id, out.id, 64);
	st_kbsource_free(&out);
}

/* A question and its answer of org, its id into id. */
static void
qa_new(struct fix *f, const char *org, const char *q, char id[64])
{
	struct st_kbsource in;

	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_QA;
	in.name = (char *)"";
	in.url = (char *)"";
	in.question = (char *)q;
	in.answer = (char *)"The answer.";
	source_new(f, org, &in, id);
}

/*
 * The default agent searches its organisation's sources that have
 * chunks (a question and answer, indexed when made), never another's:
 * none while it has none; a new one seen by the next begin (the begins'
 * cache read again), a widget's or a free name's.
 */
static void
test_default_agent_sources(void **state)
{
	struct fix *f = *state;
	struct st_widget w;
	char ids[4][64], mine[64], theirs[64], org[ST_WHO_ORG_MAX + 1];

	w_new(f, "Plain", &w);
	assert_int_equal(take_sources(f, w.id, ids, org), 0);
	assert_string_equal(org, ST_WHO_ORG_DEFAULT);
	qa_new(f, "acme", "Their question?", theirs);
	assert_int_equal(take_sources(f, w.id, ids, org), 0);
	qa_new(f, ST_WHO_ORG_DEFAULT, "Our question?", mine);
	assert_int_equal(take_sources(f, w.id, ids, org), 1);
	assert_string_equal(ids[0], mine);
	assert_int_equal(take_sources(f, "a-free-name", ids, org), 1);
	assert_string_equal(ids[0], mine);
	assert_string_equal(org, ST_WHO_ORG_DEFAULT);
	st_widget_free(&w);
}

/* A crawl source of the default organisation: its id into id. */
static void
crawl_new(struct fix *f, char id[64])
{
	struct st_kbsource in;

	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_CRAWL;
	in.name = (char *)"";
	in.url = (char *)"https://shop.example/docs/";
	source_new(f, ST_WHO_ORG_DEFAULT, &in, id);
}

/* The due source's sync begun (ST_KB_DUE, as the fetcher asks): its id. */
static uint64_t
sync_begin(struct fix *f)
{
	struct st_kb_due_req q = { 1, 60000, NULL, 0 };
	struct store_txn t;
	struct st_kb_jobs l;
	uint64_t id;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_kb_due(&t, &q, &l), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(l.n, 1);
	id = l.jobs[0].s.sync_id;
	st_rep_free(PROTO_ST_KB_DUE, &l);
	return id;
}

/* Page url of source id in sync sync_id, n pieces: the source's chunks. */
static uint32_t
crawl_page(struct fix *f, const char *id, uint64_t sync_id, const char *url,
    uint32_t n)
{
	struct st_kb_piece pieces[4];
	struct st_kb_page_put_req q;
	struct st_kb_page_put_rep rep;
	struct store_txn t;
	uint32_t i;

	memset(&q, 0, sizeof(q));
	strlcpy(q.source_id, id, sizeof(q.source_id));
	q.sync_id = sync_id;
	q.page.url = (char *)url;
	q.page.title = (char *)"A page";
	q.page.etag = (char *)"";
	q.page.code = 200;
	for (i = 0; i < n && i < 4; i++) {
		pieces[i].title = (char *)"A page";
		pieces[i].headings = (char *)"";
		pieces[i].text = (char *)"Kettles boil water fast.";
	}
	q.pieces = pieces;
	q.n = i;
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_kb_page_put(&t, &q, &rep), 0);
	assert_int_equal(store_commit(&t), 0);
	return rep.chunks;
}

/* Source id due now (ST_KB_SYNC, as an owner asks). */
static void
crawl_resync(struct fix *f, const char *id)
{
	struct st_kbsource out;
	struct store_txn t;

	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_kb_sync(&t, ST_WHO_ORG_DEFAULT, id, &out), 0);
	assert_int_equal(store_commit(&t), 0);
	st_kbsource_free(&out);
}

/* The end of sync sync_id of source id, all well. */
static void
crawl_done(struct fix *f, const char *id, uint64_t sync_id)
{
	struct st_kb_sync_done_req q;
	struct store_txn t;
	uint8_t more;

	memset(&q, 0, sizeof(q));
	strlcpy(q.source_id, id, sizeof(q.source_id));
	q.sync_id = sync_id;
	q.ok = 1;
	q.error = (char *)"";
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(store_kb_sync_done(&t, &q, &more), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(more, 0);
}

/*
 * A crawl's progress (its sync begun, each page's counts, its end)
 * leaves the begins' cache as it was: a begin after each reads no
 * record (each read again before: its widget and its organisation's
 * sources). Its first chunks are seen by the next begin, and so is its
 * last chunk gone (a sync that saw no page).
 */
static void
test_default_agent_crawl(void **state)
{
	struct fix *f = *state;
	struct st_widget w;
	char ids[4][64], src[64], org[ST_WHO_ORG_MAX + 1], url[64];
	uint64_t last = 0, sync, missed;
	uint32_t i;

	w_new(f, "Plain", &w);
	crawl_new(f, src);
	assert_int_equal(take_sources(f, w.id, ids, org), 0);
	sync = sync_begin(f);
	(void)decodes_since(f, &last);
	assert_int_equal(take_sources(f, w.id, ids, org), 0);
	assert_int_equal(decodes_since(f, &last), 0);
	/* A page without text: still no chunks, nothing to see. */
	assert_int_equal(crawl_page(f, src, sync, "https://shop.example/", 0),
	    0);
	(void)decodes_since(f, &last);
	assert_int_equal(take_sources(f, w.id, ids, org), 0);
	assert_int_equal(decodes_since(f, &last), 0);

	/* Its first chunks: the next begin reads them. */
	assert_int_equal(crawl_page(f, src, sync, "https://shop.example/a",
	    2), 2);
	(void)decodes_since(f, &last);
	assert_int_equal(take_sources(f, w.id, ids, org), 1);
	assert_string_equal(ids[0], src);
	missed = decodes_since(f, &last);
	assert_true(missed >= 2);	/* its widget, its source */

	/* More pages, then the end: each begin reads nothing. */
	for (i = 0; i < 10; i++) {
		snprintf(url, sizeof(url), "https://shop.example/p%u", i);
		assert_int_equal(crawl_page(f, src, sync, url, 1), 3 + i);
		(void)decodes_since(f, &last);
		assert_int_equal(take_sources(f, w.id, ids, org), 1);
		assert_int_equal(decodes_since(f, &last), 0);
	}
	crawl_done(f, src, sync);
	(void)decodes_since(f, &last);
	assert_int_equal(take_sources(f, w.id, ids, org), 1);
	assert_int_equal(decodes_since(f, &last), 0);

	/* Synced again and no page seen: its last chunks gone, seen. */
	fake_now += 1000;
	crawl_resync(f, src);
	sync = sync_begin(f);
	crawl_done(f, src, sync);
	assert_int_equal(take_sources(f, w.id, ids, org), 0);
	st_widget_free(&w);
}

static void
test_default_widget(void **state)
{
	struct fix *f = *state;
	struct st_widget d, again;
	char gone[ST_WID_LEN + 1];

	default_widget(f, &d);
	assert_true(wid_valid(d.widget_id));
	/* A friendly title and greeting (issue 24), not "Default". */
	assert_string_equal(d.name, "Chat with us");
	assert_string_equal(d.greeting, "Hi! How can we help you today?");
	assert_int_equal(d.enabled, 1);
	assert_int_equal(d.norigins, 0);
	assert_int_equal(d.daily_cap, 0);
	assert_null(st_widget_invalid(&d));

	/* Made once: a restart keeps its public id. */
	fix_reopen(f);
	default_widget(f, &again);
	assert_string_equal(again.widget_id, d.widget_id);
	st_widget_free(&again);

	assert_int_equal(w_get(f, d.widget_id, &again), 0);
	assert_string_equal(again.id, ST_DEFAULT_WIDGET);
	st_widget_free(&again);
	/* The internal id is not a public one. */
	assert_int_equal(w_get(f, ST_DEFAULT_WIDGET, &again),
	    PROTO_E_NOT_FOUND);

	assert_int_equal(w_simple(f, PROTO_ST_WIDGET_DELETE, d.widget_id,
	    NULL, gone), PROTO_E_INVALID);
	assert_string_equal(gone, "");
	st_widget_free(&d);
}

static void
test_widget_create_get_list(void **state)
{
	struct fix *f = *state;
	struct st_widget in, a, b, g, *ws;
	struct penc e;
	struct dreply r;
	uint32_t n;

	st_widget_defaults(&in);
	strlcpy(in.primary_color, "blue", sizeof(in.primary_color));
	penc_init(&e);
	penc_widget(&e, &in);
	assert_int_equal(request(f, PROTO_ST_WIDGET_CREATE, &e, &r),
	    PROTO_E_INVALID);
	assert_string_equal(r.errmsg, "primary_color: must be #rrggbb");
	dreply_free(&r);

	strlcpy(in.primary_color, "#112233", sizeof(in.primary_color));
	/* Ids and times in the request are ignored. */
	strlcpy(in.id, "mine", sizeof(in.id));
	strlcpy(in.widget_id, "wid_bogus", sizeof(in.widget_id));
	in.created_at = 1;
	in.name = strdup("Support");
	in.daily_cap = 7;
	fake_now += 10;
	assert_int_equal(w_create(f, &in, &a), 0);
	assert_true(st_id_valid(a.id));
	assert_true(wid_valid(a.widget_id));
	assert_string_equal(a.name, "Support");
	assert_string_equal(a.primary_color, "#112233");
	assert_int_equal(a.daily_cap, 7);
	assert_int_equal(a.created_at, fake_now);
	assert_int_equal(a.updated_at, fake_now);
	fake_now += 10;
	assert_int_equal(w_create(f, &in, &b), 0);
	assert_string_not_equal(a.id, b.id);
	assert_string_not_equal(a.widget_id, b.widget_id);
	st_widget_free(&in);

	assert_int_equal(w_get(f, a.widget_id, &g), 0);
	assert_string_equal(g.id, a.id);
	assert_string_equal(g.name, "Support");
	st_widget_free(&g);
	assert_int_equal(w_get(f, "wid_bogus", &g), PROTO_E_NOT_FOUND);
	assert_int_equal(w_get(f, "", &g), PROTO_E_NOT_FOUND);

	/* Oldest first, the default first (its clock was the real one). */
	n = w_list(f, &ws);
	assert_int_equal(n, 3);
	assert_string_equal(ws[0].id, ST_DEFAULT_WIDGET);
	assert_string_equal(ws[1].id, a.id);
	assert_string_equal(ws[2].id, b.id);
	store_widgets_free(ws, n);
	st_widget_free(&a);
	st_widget_free(&b);
}

static void
test_widget_update(void **state)
{
	struct fix *f = *state;
	struct st_widget a, in, out;
	struct penc e;
	struct dreply r;
	char gone[ST_WID_LEN + 1];

	w_new(f, "One", &a);
	st_widget_defaults(&in);
	in.name = strdup("Two");
	in.greeting = strdup("ignored: not in the mask");
	in.daily_cap = 99;
	fake_now += 5;
	assert_int_equal(w_update(f, a.widget_id, ST_WF_NAME | ST_WF_DAILY_CAP,
	    &in, &out, gone), 0);
	assert_string_equal(out.name, "Two");
	assert_string_equal(out.greeting, "");
	assert_int_equal(out.daily_cap, 99);
	assert_string_equal(out.widget_id, a.widget_id);
	assert_int_equal(out.created_at, a.created_at);
	assert_int_equal(out.updated_at, fake_now);
	assert_string_equal(gone, "");
	st_widget_free(&out);

	/* The merged widget is checked as a whole. */
	in.contact_mode = ST_CONTACT_REQUIRED;
	penc_init(&e);
	penc_str(&e, a.widget_id);
	penc_u64(&e, ST_WF_CONTACT_MODE);
	penc_widget(&e, &in);
	assert_int_equal(request(f, PROTO_ST_WIDGET_UPDATE, &e, &r),
	    PROTO_E_INVALID);
	assert_string_equal(r.errmsg,
	    "contact_info_mode: required needs a field to collect");
	dreply_free(&r);
	in.collect_email = 1;
	assert_int_equal(w_update(f, a.widget_id,
	    ST_WF_CONTACT_MODE | ST_WF_COLLECT_EMAIL, &in, &out, gone), 0);
	assert_int_equal(out.contact_mode, ST_CONTACT_REQUIRED);
	assert_string_equal(out.name, "Two");
	st_widget_free(&out);

	/* Origins replace the list. */
	in.norigins = 1;
	in.origins = calloc(1, sizeof(*in.origins));
	in.origins[0] = strdup("https://shop.example");
	assert_int_equal(w_update(f, a.widget_id, ST_WF_ORIGINS, &in, &out,
	    gone), 0);
	assert_int_equal(out.norigins, 1);
	assert_string_equal(out.origins[0], "https://shop.example");
	st_widget_free(&out);

	assert_int_equal(w_update(f, a.widget_id, ST_WF_ALL + 1, &in, &out, gone),
	    PROTO_E_INVALID);
	assert_int_equal(w_update(f, "wid_nope", ST_WF_NAME, &in, &out, gone),
	    PROTO_E_NOT_FOUND);

	/* Disabling: the old id is gone; enabling again is not news. */
	in.enabled = 0;
	assert_int_equal(w_update(f, a.widget_id, ST_WF_ENABLED, &in, &out,
	    gone), 0);
	assert_int_equal(out.enabled, 0);
	assert_string_equal(gone, a.widget_id);
	st_widget_free(&out);
	assert_int_equal(w_update(f, a.widget_id, ST_WF_ENABLED, &in, &out,
	    gone), 0);
	assert_string_equal(gone, "");
	st_widget_free(&out);
	in.enabled = 1;
	assert_int_equal(w_update(f, a.widget_id, ST_WF_ENABLED, &in, &out,
	    gone), 0);
	assert_string_equal(gone, "");
	st_widget_free(&out);
	st_widget_free(&in);
	st_widget_free(&a);
}

/*
 * Issue 26: the identity secret is made and removed by its own requests,
 * shown by ST_WIDGET_SECRET_SET only (every other reply says "*"), and
 * identity_required needs one.
 */
static void
test_widget_secret(void **state)
{
	struct fix *f = *state;
	struct st_widget a, g, in, *ws;
	struct st_secret_rep s1, s2;
	uint32_t n, i;

	w_new(f, "Secret", &a);
	assert_string_equal(a.identity_secret, "");
	st_widget_defaults(&in);
	in.identity_required = 1;
	assert_int_equal(w_update(f, a.widget_id, ST_WF_IDENTITY_REQUIRED, &in,
	    NULL, NULL), PROTO_E_INVALID);
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_SECRET_SET,
	    &(struct st_id_req){ a.widget_id }, &s1), 0);
	assert_true(st_secret_valid(s1.secret));
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_SECRET_SET,
	    &(struct st_id_req){ a.widget_id }, &s2), 0);
	assert_string_not_equal(s1.secret, s2.secret);
	/* Hidden in every widget reply. */
	assert_int_equal(w_update(f, a.widget_id, ST_WF_IDENTITY_REQUIRED, &in,
	    &g, NULL), 0);
	assert_string_equal(g.identity_secret, ST_SECRET_HIDDEN);
	assert_int_equal(g.identity_required, 1);
	st_widget_free(&g);
	assert_int_equal(w_get(f, a.widget_id, &g), 0);
	assert_string_equal(g.identity_secret, ST_SECRET_HIDDEN);
	st_widget_free(&g);
	n = w_list(f, &ws);
	for (i = 0; i < n; i++) {
		assert_true(strcmp(ws[i].identity_secret, "") == 0 ||
		    strcmp(ws[i].identity_secret, ST_SECRET_HIDDEN) == 0);
		st_widget_free(&ws[i]);
	}
	free(ws);
	/* A create naming a secret is refused. */
	strlcpy(in.identity_secret, s2.secret, sizeof(in.identity_secret));
	in.identity_required = 0;
	assert_int_equal(w_create(f, &in, NULL), PROTO_E_INVALID);
	/* Removed: required goes off with it. */
	assert_int_equal(w_simple(f, PROTO_ST_WIDGET_SECRET_DEL, a.widget_id,
	    &g, NULL), 0);
	assert_string_equal(g.identity_secret, "");
	assert_int_equal(g.identity_required, 0);
	st_widget_free(&g);
	st_widget_free(&in);
	st_widget_free(&a);
}

static void
test_widget_reset_id(void **state)
{
	struct fix *f = *state;
	struct st_widget a, b, g;
	struct wsopen o;
	uint8_t h[ST_TOKEN_HASH_LEN];
	char gone[ST_WID_LEN + 1];

	w_new(f, "R", &a);
	ws_new(f, a.widget_id, 1);
	assert_int_equal(w_simple(f, PROTO_ST_WIDGET_RESET_ID, a.widget_id,
	    &b, gone), 0);
	assert_string_equal(gone, a.widget_id);
	assert_string_equal(b.id, a.id);
	assert_true(wid_valid(b.widget_id));
	assert_string_not_equal(b.widget_id, a.widget_id);

	/* The old public id is unknown at once, everywhere. */
	assert_int_equal(w_get(f, a.widget_id, &g), PROTO_E_NOT_FOUND);
	hash(h, 2);
	assert_int_equal(ws_open(f, a.widget_id, "", NULL, h, 0, 10, &o), 0);
	assert_int_equal(o.result, ST_WS_NO_WIDGET);
	assert_int_equal(o.wrote, 0);
	assert_int_equal(ws_say(f, a.widget_id, 1, "hi"), ST_WS_NO_WIDGET);
	/* The new one works, and the session made before still does. */
	assert_int_equal(w_get(f, b.widget_id, &g), 0);
	st_widget_free(&g);
	assert_int_equal(ws_say(f, b.widget_id, 1, "hi"), ST_WS_OK);
	assert_int_equal(w_simple(f, PROTO_ST_WIDGET_RESET_ID, "wid_nope",
	    &g, gone), PROTO_E_NOT_FOUND);
	st_widget_free(&a);
	st_widget_free(&b);
}

static void
test_widget_delete(void **state)
{
	struct fix *f = *state;
	struct st_widget a, b, g, *ws;
	struct wsopen o;
	uint8_t h[ST_TOKEN_HASH_LEN];
	char gone[ST_WID_LEN + 1];
	uint32_t n;

	w_new(f, "A", &a);
	w_new(f, "B", &b);
	ws_new(f, a.widget_id, 1);
	ws_new(f, a.widget_id, 2);
	ws_new(f, b.widget_id, 3);
	/* Only the visitors who spoke are stored. */
	assert_int_equal(ws_say(f, a.widget_id, 1, "hello"), ST_WS_OK);
	assert_int_equal(ws_say(f, b.widget_id, 3, "hi"), ST_WS_OK);
	assert_int_equal(db_entries(f, "wsessions"), 2);
	assert_int_equal(db_entries(f, "daily"), 2);

	assert_int_equal(w_simple(f, PROTO_ST_WIDGET_DELETE, a.widget_id,
	    NULL, gone), 0);
	assert_string_equal(gone, a.widget_id);
	assert_int_equal(w_get(f, a.widget_id, &g), PROTO_E_NOT_FOUND);
	assert_int_equal(w_simple(f, PROTO_ST_WIDGET_DELETE, a.widget_id,
	    NULL, gone), PROTO_E_NOT_FOUND);
	/* Its counters went; its session is unusable, left to the sweep. */
	assert_int_equal(db_entries(f, "daily"), 1);
	assert_int_equal(db_entries(f, "wsess_gone"), 1);
	assert_int_equal(ws_say_stored(f, a.widget_id, 1, "x"),
	    ST_WS_NO_WIDGET);
	assert_int_equal(db_entries(f, "wsessions"), 2);
	assert_int_equal(sweep_all(f), 1);
	/* Its sessions went, through their index; B's stay. */
	assert_int_equal(db_entries(f, "wsessions"), 1);
	assert_int_equal(db_entries(f, "widget_wsess"), 1);
	assert_int_equal(db_entries(f, "wsess_expiry"), 1);
	assert_int_equal(db_entries(f, "wsess_gone"), 0);
	/* Its conversation stays. */
	assert_int_equal(db_entries(f, "convs"), 2);
	assert_int_equal(ws_say(f, b.widget_id, 3, "still here"), ST_WS_OK);
	/* Its tokens name nothing now, even for another widget. */
	hash(h, 9);
	assert_int_equal(ws_open(f, b.widget_id, "", (uint8_t[32]){ 1, 1, 1,
	    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	    1, 1, 1, 1, 1, 1, 1 }, h, 0, 10, &o), 0);
	assert_int_equal(o.result, ST_WS_OK);
	assert_int_equal(o.resumed, 0);
	wsopen_free(&o);

	n = w_list(f, &ws);
	assert_int_equal(n, 2);
	assert_string_equal(ws[1].id, b.id);
	store_widgets_free(ws, n);
	st_widget_free(&a);
	st_widget_free(&b);
}

/* ------------------------------------------------ tests: sessions */

/*
 * A long conversation resumes with its newest messages within
 * ST_WS_HISTORY_BYTES, marked "more", and storaged stops reading there.
 */
static void
test_ws_open_history_capped(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct wsopen o;
	uint8_t h1[ST_TOKEN_HASH_LEN], h2[ST_TOKEN_HASH_LEN];
	char *big;
	size_t total = 0, len = 20 * 1024;
	uint32_t i;

	w_new(f, "W", &a);
	hash(h1, 1);
	hash(h2, 2);
	ws_new(f, a.widget_id, 1);
	assert_non_null(big = malloc(len + 1));
	/* 40 x 20 KiB: 800 KiB, three times the cap. */
	for (i = 0; i < 40; i++) {
		memset(big, 'a' + i % 26, len);
		snprintf(big, len, "m%02u ", i);
		big[4] = 'x';
		big[len] = '\0';
		assert_int_equal(ws_say(f, a.widget_id, 1, big), ST_WS_OK);
	}
	free(big);
	assert_int_equal(ws_open(f, a.widget_id, "", h1, h2, 0,
	    ST_HISTORY_MAX, &o), 0);
	assert_int_equal(o.resumed, 1);
	assert_int_equal(o.more, 1);
	assert_true(o.n >= 10 && o.n < 16);
	for (i = 0; i < o.n; i++)
		total += strlen(o.contents[i]);
	assert_true(total <= ST_WS_HISTORY_BYTES);
	/* The newest, oldest first. */
	assert_memory_equal(o.contents[o.n - 1], "m39 ", 4);
	assert_memory_equal(o.contents[0], "m", 1);
	assert_int_equal(atoi(o.contents[0] + 1), 40 - (int)o.n);
	wsopen_free(&o);
	st_widget_free(&a);
}

static void
test_ws_open(void **state)
{
	struct fix *f = *state;
	struct st_widget a, in, out;
	struct wsopen o;
	uint8_t h1[ST_TOKEN_HASH_LEN], h2[ST_TOKEN_HASH_LEN];
	uint8_t h3[ST_TOKEN_HASH_LEN];
	char cid[ST_ID_HEX + 1];

	w_new(f, "W", &a);
	hash(h1, 1);
	hash(h2, 2);
	hash(h3, 3);
	assert_int_equal(ws_open(f, "wid_unknown", "", NULL, h1, 0, 10, &o),
	    0);
	assert_int_equal(o.result, ST_WS_NO_WIDGET);

	/* A new visitor: nothing is stored. */
	assert_int_equal(ws_open(f, a.widget_id, "https://any.example", NULL,
	    h1, 0, 10, &o), 0);
	assert_int_equal(o.result, ST_WS_OK);
	assert_int_equal(o.wrote, 0);
	assert_int_equal(db_entries(f, "wsessions"), 0);
	assert_int_equal(o.resumed, 0);
	assert_int_equal(o.contact, 0);
	assert_string_equal(o.conv_id, "");
	assert_int_equal(o.n, 0);
	assert_string_equal(o.w.id, a.id);
	wsopen_free(&o);

	/* Its token names nothing until it is used. */
	assert_int_equal(ws_open(f, a.widget_id, "", h1, h2, 0, 10, &o), 0);
	assert_int_equal(o.resumed, 0);
	wsopen_free(&o);
	/* Stored by its first contact submission: resumed, no conversation. */
	submit_ok(f, a.widget_id, 1, "Ann", "", "", cid);
	assert_int_equal(db_entries(f, "wsessions"), 1);
	assert_int_equal(ws_open(f, a.widget_id, "", h1, h2, 0, 10, &o), 0);
	assert_int_equal(o.result, ST_WS_OK);
	assert_int_equal(o.resumed, 1);
	assert_string_equal(o.conv_id, "");
	wsopen_free(&o);

	/* After a turn: the conversation and its history. */
	assert_int_equal(ws_say(f, a.widget_id, 1, "first"), ST_WS_OK);
	assert_int_equal(ws_say(f, a.widget_id, 1, "second"), ST_WS_OK);
	assert_int_equal(ws_open(f, a.widget_id, "", h1, h2, 0, 1, &o), 0);
	assert_int_equal(o.resumed, 1);
	assert_true(st_id_valid(o.conv_id));
	assert_int_equal(o.n, 1);
	assert_string_equal(o.roles[0], "user");
	assert_string_equal(o.contents[0], "second");
	wsopen_free(&o);
	assert_int_equal(ws_open(f, a.widget_id, "", h1, h2, 0,
	    ST_HISTORY_MAX, &o), 0);
	assert_int_equal(o.n, 2);
	assert_string_equal(o.contents[0], "first");
	assert_int_equal(o.more, 0);
	wsopen_free(&o);
	/* The count cap leaves the older one out: more. */
	assert_int_equal(ws_open(f, a.widget_id, "", h1, h2, 0, 1, &o), 0);
	assert_int_equal(o.more, 1);
	wsopen_free(&o);
	/* 0 ("all that fit") could pass ST_HISTORY_MAX: refused. */
	assert_int_equal(ws_open(f, a.widget_id, "", h1, h2, 0, 0, &o),
	    PROTO_E_INVALID);

	/* Idle past idle_ms: a new session under the new hash. */
	fake_now += 1000;
	assert_int_equal(ws_open(f, a.widget_id, "", h1, h2, 999, 10, &o), 0);
	assert_int_equal(o.result, ST_WS_OK);
	assert_int_equal(o.resumed, 0);
	assert_string_equal(o.conv_id, "");
	wsopen_free(&o);
	assert_int_equal(ws_say_stored(f, a.widget_id, 1, "old token"),
	    ST_WS_NO_SESSION);
	assert_int_equal(ws_say(f, a.widget_id, 2, "new token"), ST_WS_OK);
	/* A new_hash in use is refused. */
	assert_int_equal(ws_open(f, a.widget_id, "", NULL, h2, 0, 10, &o),
	    PROTO_E_INVALID);

	/* Origins and enabled. */
	st_widget_defaults(&in);
	in.norigins = 1;
	in.origins = calloc(1, sizeof(*in.origins));
	in.origins[0] = strdup("https://shop.example");
	assert_int_equal(w_update(f, a.widget_id, ST_WF_ORIGINS, &in, &out,
	    NULL), 0);
	st_widget_free(&out);
	assert_int_equal(ws_open(f, a.widget_id, "https://evil.example", h2,
	    h3, 0, 10, &o), 0);
	assert_int_equal(o.result, ST_WS_ORIGIN);
	assert_int_equal(o.wrote, 0);
	assert_int_equal(ws_open(f, a.widget_id, "", h2, h3, 0, 10, &o), 0);
	assert_int_equal(o.result, ST_WS_ORIGIN);
	assert_int_equal(ws_open(f, a.widget_id, "https://SHOP.example:443",
	    h2, h3, 0, 10, &o), 0);
	assert_int_equal(o.result, ST_WS_OK);
	assert_int_equal(o.resumed, 1);
	wsopen_free(&o);
	in.enabled = 0;
	assert_int_equal(w_update(f, a.widget_id, ST_WF_ENABLED, &in, &out,
	    NULL), 0);
	st_widget_free(&out);
	assert_int_equal(ws_open(f, a.widget_id, "https://shop.example", h2,
	    h3, 0, 10, &o), 0);
	assert_int_equal(o.result, ST_WS_NO_WIDGET);
	assert_int_equal(ws_say(f, a.widget_id, 2, "off"), ST_WS_NO_WIDGET);
	st_widget_free(&in);
	st_widget_free(&a);
}

/* ------------------------------------------------ tests: the turn */

static void
test_ws_begin(void **state)
{
	struct fix *f = *state;
	struct st_widget a, in, out;
	struct st_contact c;
	struct wsbegin b;
	char cid[ST_ID_HEX + 1];
	int result;

	w_new(f, "W", &a);
	assert_int_equal(ws_say(f, "wid_none", 1, "x"), ST_WS_NO_WIDGET);
	assert_int_equal(ws_say_stored(f, a.widget_id, 1, "x"),
	    ST_WS_NO_SESSION);
	ws_new(f, a.widget_id, 1);

	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "hello", 0, 0, &b),
	    0);
	assert_int_equal(b.result, ST_WS_OK);
	assert_int_equal(b.touched, 1);
	assert_int_equal(b.created, 1);
	assert_string_equal(b.conv.widget, a.id);
	/* A session name the HTTP API's sessionId cannot give. */
	assert_int_equal(b.conv.session[0], '~');
	assert_true(st_id_valid(b.conv.session + 1));
	assert_string_equal(b.conv.contact_id, "");
	assert_int_equal(b.n, 1);
	assert_string_equal(b.roles[0], "user");
	assert_string_equal(b.contents[0], "hello");
	strlcpy(cid, b.conv.id, sizeof(cid));
	wsbegin_free(&b);
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "again", 0, 0, &b),
	    0);
	assert_int_equal(b.created, 0);
	assert_string_equal(b.conv.id, cid);
	assert_int_equal(b.n, 2);
	wsbegin_free(&b);

	/* Expired by the clock: the session is unknown to a turn. */
	fake_now += 5000;
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "late", 0, 4999,
	    &b), 0);
	assert_int_equal(b.result, ST_WS_NO_SESSION);
	assert_int_equal(b.touched, 1);
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "late", 0, 5000,
	    &b), 0);
	assert_int_equal(b.result, ST_WS_OK);
	wsbegin_free(&b);
	/* The turn touched it: active again from now. */
	fake_now += 5000;
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "later", 0, 5000,
	    &b), 0);
	assert_int_equal(b.result, ST_WS_OK);
	wsbegin_free(&b);

	/* The rate limit, as ST_CHAT_BEGIN counts it. */
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "r1", 1, 0, &b), 0);
	assert_int_equal(b.result, ST_WS_OK);
	wsbegin_free(&b);
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "r2", 1, 0, &b), 0);
	assert_int_equal(b.result, ST_WS_LIMITED);
	assert_int_equal(b.retry, MIN);
	assert_int_equal(b.wrote, 0);
	fake_mono += MIN;
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "r3", 1, 0, &b), 0);
	assert_int_equal(b.result, ST_WS_OK);
	assert_int_equal(b.n, 6);	/* "r2" was never stored */
	assert_string_equal(b.contents[4], "r1");
	wsbegin_free(&b);

	/* Contact required: refused until the session has one. */
	st_widget_defaults(&in);
	in.contact_mode = ST_CONTACT_REQUIRED;
	in.collect_email = 1;
	assert_int_equal(w_update(f, a.widget_id,
	    ST_WF_CONTACT_MODE | ST_WF_COLLECT_EMAIL, &in, &out, NULL), 0);
	st_widget_free(&out);
	st_widget_free(&in);
	assert_int_equal(ws_say(f, a.widget_id, 1, "c"), ST_WS_CONTACT);
	/* Only what it asks for counts: a name alone is refused, as "". */
	assert_int_equal(contact_submit(f, a.widget_id, 1, "Jo", "", "",
	    &result, &c), PROTO_E_INVALID);
	assert_int_equal(ws_say(f, a.widget_id, 1, "c"), ST_WS_CONTACT);
	/* A new visitor's refused one stores no session. */
	assert_int_equal(contact_submit(f, a.widget_id, 9, "Jo", "",
	    "+1 555 000 1234", &result, &c), PROTO_E_INVALID);
	assert_int_equal(ws_say_stored(f, a.widget_id, 9, "c"),
	    ST_WS_NO_SESSION);
	/* With the email: saved, the name and phone it does not ask left. */
	assert_int_equal(contact_submit(f, a.widget_id, 1, "Jo",
	    "v@example.com", "+1 555 000 1234", &result, &c), 0);
	assert_int_equal(result, ST_WS_OK);
	assert_string_equal(c.email, "v@example.com");
	assert_string_equal(c.name, "");
	assert_string_equal(c.phone, "");
	strlcpy(cid, c.id, sizeof(cid));
	st_contact_free(&c);
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "now", 0, 0, &b), 0);
	assert_int_equal(b.result, ST_WS_OK);
	assert_string_equal(b.conv.contact_id, cid);
	wsbegin_free(&b);
	/* Once it may chat, one with none of them is still refused. */
	assert_int_equal(contact_submit(f, a.widget_id, 1, "Jo", "", "",
	    &result, &c), PROTO_E_INVALID);
	st_widget_free(&a);
}

/*
 * Widget wid changed (in's fields of mask), then visitor 1's message:
 * its result.
 */
static int
changed_said(struct fix *f, const char *wid, uint64_t mask,
    const struct st_widget *in, const char *content)
{
	struct st_widget out;

	assert_int_equal(w_update(f, wid, mask, in, &out, NULL), 0);
	st_widget_free(&out);
	return ws_say(f, wid, 1, content);
}

/*
 * A WebSocket begin reads its widget from the begins' cache (widgetstore.c's
 * takes, kept while the widgets stay as they were): each change made after
 * the widget was read is seen by the next message.
 */
static void
test_ws_begin_cache_sees_changes(void **state)
{
	struct fix *f = *state;
	struct st_widget a, b, in;
	char gone[ST_WID_LEN + 1];

	w_new(f, "Kept", &a);
	ws_new(f, a.widget_id, 1);
	assert_int_equal(ws_say(f, a.widget_id, 1, "one"), ST_WS_OK);
	assert_int_equal(ws_say(f, a.widget_id, 1, "two"), ST_WS_OK);
	/* Disabled: refused; enabled again: answered. */
	st_widget_defaults(&in);
	in.enabled = 0;
	assert_int_equal(changed_said(f, a.widget_id, ST_WF_ENABLED, &in,
	    "off"), ST_WS_NO_WIDGET);
	in.enabled = 1;
	assert_int_equal(changed_said(f, a.widget_id, ST_WF_ENABLED, &in,
	    "on"), ST_WS_OK);
	/* A daily cap below today's count: capped at once. */
	in.daily_cap = 1;
	assert_int_equal(changed_said(f, a.widget_id, ST_WF_DAILY_CAP, &in,
	    "more"), ST_WS_CAPPED);
	in.daily_cap = 0;
	assert_int_equal(changed_said(f, a.widget_id, ST_WF_DAILY_CAP, &in,
	    "uncapped"), ST_WS_OK);
	/* A new public id: the old one is unknown at once. */
	assert_int_equal(w_simple(f, PROTO_ST_WIDGET_RESET_ID, a.widget_id,
	    &b, gone), 0);
	assert_int_equal(ws_say(f, a.widget_id, 1, "old id"),
	    ST_WS_NO_WIDGET);
	assert_int_equal(ws_say(f, b.widget_id, 1, "new id"), ST_WS_OK);
	st_widget_free(&b);
	st_widget_free(&in);
	st_widget_free(&a);
}

/*
 * One turn at a time in a conversation (store_turn_holds): a message of
 * the session (its other tab) while its reply is to come is refused,
 * TURN_OPEN, nothing written nor counted in the daily cap; its reply
 * stored, the next goes on. Another visitor's is not held.
 */

/* A widget a of daily cap cap, and two visitor sessions of it (1 and 2). */
static void
capped_widget(struct fix *f, const char *name, uint32_t cap,
    struct st_widget *a)
{
	struct st_widget in, out;

	w_new(f, name, a);
	st_widget_defaults(&in);
	in.daily_cap = cap;
	assert_int_equal(w_update(f, a->widget_id, ST_WF_DAILY_CAP, &in, &out,
	    NULL), 0);
	st_widget_free(&out);
	st_widget_free(&in);
	ws_new(f, a->widget_id, 1);
	ws_new(f, a->widget_id, 2);
}
static void
test_ws_begin_turn_open(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	char conv[ST_ID_HEX + 1];
	struct wsbegin b;
	struct dreply r;
	struct penc e;

	capped_widget(f, "T", 3, &a);
	begin_keeps_turn = 1;
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "one", 0, 0, &b),
	    0);
	assert_int_equal(b.result, ST_WS_OK);
	strlcpy(conv, b.conv.id, sizeof(conv));
	wsbegin_free(&b);
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "two", 0, 0, &b),
	    0);
	assert_int_equal(b.result, ST_WS_TURN_OPEN);
	assert_int_equal(b.retry, 0);
	assert_int_equal(b.wrote, 0);
	wsbegin_free(&b);
	assert_int_equal(ws_say(f, a.widget_id, 2, "hi"), ST_WS_OK);

	/* Its reply stored: the next goes on, the third counted. */
	append_payload(&e, conv, "assistant", "an answer", "", 1, 2);
	assert_int_equal(request(f, PROTO_ST_MSG_APPEND, &e, &r), 0);
	dreply_free(&r);
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "two", 0, 0, &b),
	    0);
	assert_int_equal(b.result, ST_WS_OK);
	assert_string_equal(b.conv.id, conv);
	assert_int_equal(b.n, 3);
	assert_string_equal(b.contents[0], "one");
	assert_string_equal(b.contents[1], "an answer");
	assert_string_equal(b.contents[2], "two");
	wsbegin_free(&b);
	begin_keeps_turn = 0;
	fix_turns_end(f);
	/* The refused one was not counted: the cap is reached only now. */
	assert_int_equal(ws_say(f, a.widget_id, 1, "four"), ST_WS_CAPPED);
	st_widget_free(&a);
}

static void
test_ws_begin_capped(void **state)
{
	struct fix *f = *state;
	struct st_widget a, in, out;
	struct wsbegin b;
	uint64_t day;

	/* Noon UTC, so the day's end is known. */
	day = fake_now / DAY_MS;
	fake_now = day * DAY_MS + DAY_MS / 2;
	capped_widget(f, "C", 2, &a);
	assert_int_equal(ws_say(f, a.widget_id, 1, "one"), ST_WS_OK);
	assert_int_equal(ws_say(f, a.widget_id, 2, "two"), ST_WS_OK);
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "three", 0, 0, &b),
	    0);
	assert_int_equal(b.result, ST_WS_CAPPED);
	assert_int_equal(b.retry, DAY_MS / 2);
	assert_int_equal(b.wrote, 0);

	/* The count is in LMDB: a restart keeps it. */
	fix_reopen(f);
	fake_now += 1000;
	assert_int_equal(ws_begin_full(f, a.widget_id, 2, "four", 0, 0, &b),
	    0);
	assert_int_equal(b.result, ST_WS_CAPPED);
	assert_int_equal(b.retry, DAY_MS / 2 - 1000);
	/* Another widget has its own count. */
	{
		struct st_widget d;

		default_widget(f, &d);
		ws_new(f, d.widget_id, 3);
		assert_int_equal(ws_say(f, d.widget_id, 3, "free"), ST_WS_OK);
		st_widget_free(&d);
	}
	/* The next UTC day starts afresh. */
	fake_now = (day + 1) * DAY_MS;
	assert_int_equal(ws_say(f, a.widget_id, 1, "tomorrow"), ST_WS_OK);
	assert_int_equal(ws_say(f, a.widget_id, 1, "again"), ST_WS_OK);
	assert_int_equal(ws_say(f, a.widget_id, 1, "over"), ST_WS_CAPPED);
	/* A cap of 0 lifts it. */
	st_widget_defaults(&in);
	assert_int_equal(w_update(f, a.widget_id, ST_WF_DAILY_CAP, &in, &out,
	    NULL), 0);
	st_widget_free(&out);
	st_widget_free(&in);
	assert_int_equal(ws_say(f, a.widget_id, 1, "uncapped"), ST_WS_OK);
	st_widget_free(&a);
}

/*
 * ST_CHAT_BEGIN (the HTTP chat) on widget w: its result byte, with
 * *retry and *wrote; an OK turn's reply is read to its end.
 */
/* ST_SESSION_HISTORY of widget w's "http-session": its first byte. */
static int
http_history(struct fix *f, const char *w)
{
	struct penc e;
	struct dreply r;
	int found;

	penc_init(&e);
	penc_str(&e, w);
	penc_str(&e, "http-session");
	penc_u32(&e, 0);
	assert_int_equal(request(f, PROTO_ST_SESSION_HISTORY, &e, &r), 0);
	found = r.enc.len > 0 ? r.enc.buf[0] : -1;
	/* Disabled: that byte alone. */
	if (found == ST_HISTORY_DISABLED)
		assert_int_equal(r.enc.len, 1);
	dreply_free(&r);
	return found;
}

static int
http_say(struct fix *f, const char *w, const char *content, uint64_t *retry,
    int *wrote)
{
	const struct st_chat_begin_req q = { .widget = w,
	    .session = "http-session", .content = content, .rate_key = "",
	    .history_max = 30 };
	char id[ST_ID_HEX + 1], lang[ST_VISITOR_LANG_MAX + 1];
	struct st_conv conv;
	struct dreply r;
	struct pdec d;
	uint32_t n, i;
	int result;

	assert_int_equal(request_st(f, PROTO_ST_CHAT_BEGIN, &q, &r), 0);
	*wrote = r.wrote;
	pdec_init(&d, r.enc.buf, r.enc.len);
	result = pdec_u8(&d);
	*retry = pdec_u64(&d);
	if (result == ST_CHAT_OK) {
		dec_default_agent(&d);
		(void)pdec_u8(&d);
		fix_dec_begin_conv(&d, id, lang);
		fix_conv_get(f, id, &conv);
		assert_string_equal(conv.widget, w);
		assert_string_equal(conv.last_message, content);
		st_conv_free(&conv);
		n = pdec_u32(&d);
		for (i = 0; i < n; i++) {
			free(pdec_strdup(&d, ST_CONTENT_MAX));
			free(pdec_strdup(&d, ST_CONTENT_MAX));
			assert_int_equal(pdec_u32(&d), 0);	/* no files */
		}
		pdec_strbuf(&d, id, sizeof(id));	/* the question's */
		assert_true(st_id_valid(id));
		assert_int_equal(pdec_u8(&d), ST_HANDOFF_AI);
		fix_turns_end(f);	/* as its reply would */
	}
	assert_int_equal(pdec_done(&d), 0);
	dreply_free(&r);
	return result;
}

/* The HTTP chat obeys the default widget: its switch and its daily cap. */
static void
test_chat_begin_widget(void **state)
{
	struct fix *f = *state;
	struct st_widget d, in, out;
	struct st_report_rep rep;
	uint64_t day, retry;
	int wrote;

	day = fake_now / DAY_MS;
	fake_now = day * DAY_MS + DAY_MS / 2;
	default_widget(f, &d);
	assert_int_equal(http_say(f, ST_DEFAULT_WIDGET, "one", &retry,
	    &wrote), ST_CHAT_OK);
	assert_int_equal(wrote, 1);
	assert_int_equal(retry, 0);

	/* Cap 3: one turn counted above, one by the WebSocket, one more. */
	st_widget_defaults(&in);
	in.daily_cap = 3;
	assert_int_equal(w_update(f, d.widget_id, ST_WF_DAILY_CAP, &in, &out,
	    NULL), 0);
	st_widget_free(&out);
	ws_new(f, d.widget_id, 1);
	assert_int_equal(ws_say(f, d.widget_id, 1, "two"), ST_WS_OK);
	assert_int_equal(http_say(f, ST_DEFAULT_WIDGET, "three", &retry,
	    &wrote), ST_CHAT_OK);
	assert_int_equal(http_say(f, ST_DEFAULT_WIDGET, "four", &retry,
	    &wrote), ST_CHAT_CAPPED);
	assert_int_equal(retry, DAY_MS / 2);
	assert_int_equal(wrote, 0);
	assert_int_equal(ws_say(f, d.widget_id, 1, "five"), ST_WS_CAPPED);
	/* What a report reads of it: the cap and the three counted. */
	rep = today_of(f, d.id);
	assert_int_equal(rep.cap, 3);
	assert_int_equal(rep.messages, 3);
	assert_int_equal(rep.day_end, (day + 1) * DAY_MS);
	assert_int_equal(rep.budget, 0);
	assert_int_equal(rep.turns, 0);
	rep = today_of(f, "");
	assert_int_equal(rep.cap, 0);
	assert_int_equal(rep.messages, 0);
	assert_int_equal(today_of(f, "no-such-widget").messages, 0);
	/* A name that is no widget is not held by any cap. */
	assert_int_equal(http_say(f, "w", "free", &retry, &wrote), ST_CHAT_OK);
	assert_int_equal(db_entries(f, "daily"), 1);

	/* Disabled: refused, nothing stored, whatever the cap says. */
	in.enabled = 0;
	in.daily_cap = 0;
	assert_int_equal(w_update(f, d.widget_id,
	    ST_WF_ENABLED | ST_WF_DAILY_CAP, &in, &out, NULL), 0);
	st_widget_free(&out);
	assert_int_equal(http_say(f, ST_DEFAULT_WIDGET, "off", &retry,
	    &wrote), ST_CHAT_DISABLED);
	assert_int_equal(retry, 0);
	assert_int_equal(wrote, 0);
	/* Nor is its history read (a free name's is). */
	assert_int_equal(http_history(f, ST_DEFAULT_WIDGET),
	    ST_HISTORY_DISABLED);
	assert_int_equal(http_history(f, "w"), ST_HISTORY_FOUND);
	in.enabled = 1;
	assert_int_equal(w_update(f, d.widget_id, ST_WF_ENABLED, &in, &out,
	    NULL), 0);
	st_widget_free(&out);
	assert_int_equal(http_history(f, ST_DEFAULT_WIDGET), ST_HISTORY_FOUND);
	assert_int_equal(http_say(f, ST_DEFAULT_WIDGET, "on", &retry, &wrote),
	    ST_CHAT_OK);
	/* One conversation each: default's HTTP session, the visitor, "w". */
	assert_int_equal(db_entries(f, "convs"), 3);
	st_widget_free(&in);
	st_widget_free(&d);
}

/* ------------------------------------------------ tests: contacts */

static void
test_contact_submit(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_contact c;
	struct cfull g;
	struct penc e;
	struct dreply r;
	uint8_t h[ST_TOKEN_HASH_LEN];
	char id1[ST_ID_HEX + 1], id2[ST_ID_HEX + 1], id3[ST_ID_HEX + 1];
	char id[ST_ID_HEX + 1];
	int result;

	w_new(f, "W", &a);
	assert_int_equal(contact_submit(f, "wid_none", 1, "N", "", "",
	    &result, &c), 0);
	assert_int_equal(result, ST_WS_NO_WIDGET);
	/* Another widget's session is not this one's. */
	assert_int_equal(ws_say(f, a.widget_id, 7, "mine"), ST_WS_OK);
	{
		struct st_widget d;

		default_widget(f, &d);
		assert_int_equal(contact_submit(f, d.widget_id, 7, "N", "",
		    "", &result, &c), 0);
		assert_int_equal(result, ST_WS_NO_SESSION);
		st_widget_free(&d);
	}
	ws_new(f, a.widget_id, 1);

	/* Invalid fields, naming the field. */
	hash(h, 1);
	penc_init(&e);
	penc_str(&e, a.widget_id);
	penc_bytes(&e, h, sizeof(h));
	penc_str(&e, "");
	penc_str(&e, "not-an-email");
	penc_str(&e, "");
	/* The rate fields are always there (rate_max 0: not counted). */
	assert_int_equal(request(f, PROTO_ST_CONTACT_SUBMIT, &e, &r),
	    PROTO_E_INVALID);
	assert_string_equal(r.errmsg, "malformed request");
	dreply_free(&r);
	assert_int_equal(request_st(f, PROTO_ST_CONTACT_SUBMIT,
	    &(struct st_contact_submit_req){ .widget_id = a.widget_id,
	    .token_len = ST_TOKEN_HASH_LEN, .email = "not-an-email" }, &r),
	    PROTO_E_INVALID);
	assert_string_equal(r.errmsg, "email: not a valid address");
	dreply_free(&r);
	assert_int_equal(contact_submit(f, a.widget_id, 1, "", "", "",
	    &result, &c), PROTO_E_INVALID);
	assert_int_equal(contact_submit(f, a.widget_id, 1, "", "", "12",
	    &result, &c), PROTO_E_INVALID);

	/* None matches: a new contact, email lowercased, phone normalised. */
	assert_int_equal(contact_submit(f, a.widget_id, 1, "Ada",
	    "Ada@Example.COM", "+1 (555) 000-1111", &result, &c), 0);
	assert_int_equal(result, ST_WS_OK);
	assert_string_equal(c.name, "Ada");
	assert_string_equal(c.email, "ada@example.com");
	assert_string_equal(c.phone, "+15550001111");
	assert_int_equal(c.created_at, fake_now);
	strlcpy(id1, c.id, sizeof(id1));
	st_contact_free(&c);

	/* Both match the same contact: it. */
	ws_new(f, a.widget_id, 2);
	fake_now += 10;
	submit_ok(f, a.widget_id, 2, "", "ada@example.com", "+15550001111",
	    id);
	assert_string_equal(id, id1);
	/* Only the email matches: it, and it keeps its phone. */
	submit_ok(f, a.widget_id, 2, "", "ADA@example.com", "5559998888", id);
	assert_string_equal(id, id1);
	/* Only the phone matches. */
	submit_ok(f, a.widget_id, 2, "Someone", "", "+1.555.000.1111", id);
	assert_string_equal(id, id1);
	assert_int_equal(contact_get(f, id1, &g), 0);
	assert_string_equal(g.c.name, "Ada");	/* had one: kept */
	assert_string_equal(g.c.phone, "+15550001111");
	cfull_free(&g);

	/* A phone-only contact gains the email it lacked. */
	ws_new(f, a.widget_id, 3);
	submit_ok(f, a.widget_id, 3, "", "", "2223334444", id2);
	assert_string_not_equal(id2, id1);
	fake_now += 10;
	submit_ok(f, a.widget_id, 3, "Bob", "bob@example.com", "2223334444",
	    id);
	assert_string_equal(id, id2);
	assert_int_equal(contact_get(f, id2, &g), 0);
	assert_string_equal(g.c.name, "Bob");
	assert_string_equal(g.c.email, "bob@example.com");
	assert_int_equal(g.c.updated_at, fake_now);
	cfull_free(&g);
	/* Only the email matches now through the new index entry. */
	submit_ok(f, a.widget_id, 3, "", "bob@example.com", "", id);
	assert_string_equal(id, id2);

	/* They match different contacts: the email's. */
	ws_new(f, a.widget_id, 4);
	submit_ok(f, a.widget_id, 4, "", "bob@example.com", "+15550001111",
	    id);
	assert_string_equal(id, id2);
	/* The phone stays with its contact. */
	assert_int_equal(contact_get(f, id2, &g), 0);
	assert_string_equal(g.c.phone, "2223334444");
	cfull_free(&g);
	assert_int_equal(contact_get(f, id1, &g), 0);
	assert_string_equal(g.c.phone, "+15550001111");
	cfull_free(&g);

	/* Name only: new. */
	submit_ok(f, a.widget_id, 4, "Carol", "", "", id3);
	assert_string_not_equal(id3, id1);
	assert_string_not_equal(id3, id2);
	st_widget_free(&a);
}

static void
test_contact_links(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct wsopen o;
	struct wsbegin b;
	struct cfull g;
	struct thread t;
	struct penc e;
	struct dreply r;
	struct pdec d;
	uint8_t h[ST_TOKEN_HASH_LEN], h9[ST_TOKEN_HASH_LEN];
	char id[ST_ID_HEX + 1], other[ST_ID_HEX + 1];
	char conv1[ST_ID_HEX + 1], conv2[ST_ID_HEX + 1];

	w_new(f, "W", &a);
	ws_new(f, a.widget_id, 1);
	ws_new(f, a.widget_id, 2);
	/* Session 1 talks first, then leaves its contact. */
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "q1", 0, 0, &b), 0);
	strlcpy(conv1, b.conv.id, sizeof(conv1));
	assert_string_equal(b.conv.contact_id, "");
	wsbegin_free(&b);
	submit_ok(f, a.widget_id, 1, "Dee", "dee@example.com", "", id);
	/* The existing conversation was linked. */
	penc_init(&e);
	penc_str(&e, conv1);
	penc_u32(&e, 0);
	assert_int_equal(request(f, PROTO_ST_CONV_GET, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	memset(&t, 0, sizeof(t));
	thread_decode(&d, &t);
	assert_string_equal(t.conv.contact_id, id);
	thread_free(&t);
	dreply_free(&r);
	/* The session says so when it comes back. */
	hash(h, 1);
	hash(h9, 9);
	assert_int_equal(ws_open(f, a.widget_id, "", h, h9, 0, 10, &o), 0);
	assert_int_equal(o.resumed, 1);
	assert_int_equal(o.contact, 1);
	assert_string_equal(o.conv_id, conv1);
	wsopen_free(&o);

	/* Session 2 gives the contact first; its conversation is born linked. */
	fake_now += 100;
	submit_ok(f, a.widget_id, 2, "", "DEE@example.com", "", other);
	assert_string_equal(other, id);
	assert_int_equal(ws_begin_full(f, a.widget_id, 2, "q2", 0, 0, &b), 0);
	strlcpy(conv2, b.conv.id, sizeof(conv2));
	assert_string_equal(b.conv.contact_id, id);
	wsbegin_free(&b);

	/* Both conversations, newest activity first. */
	assert_int_equal(contact_get(f, id, &g), 0);
	assert_string_equal(g.c.email, "dee@example.com");
	assert_int_equal(g.n, 2);
	assert_string_equal(g.convs[0].id, conv2);
	assert_string_equal(g.convs[1].id, conv1);
	cfull_free(&g);
	fake_now += 100;
	assert_int_equal(ws_say(f, a.widget_id, 1, "q1 again"), ST_WS_OK);
	assert_int_equal(contact_get(f, id, &g), 0);
	assert_string_equal(g.convs[0].id, conv1);
	cfull_free(&g);

	/* Session 1 names someone else: its conversation moves over. */
	submit_ok(f, a.widget_id, 1, "", "eve@example.com", "", other);
	assert_string_not_equal(other, id);
	assert_int_equal(contact_get(f, id, &g), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.convs[0].id, conv2);
	cfull_free(&g);
	assert_int_equal(contact_get(f, other, &g), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.convs[0].id, conv1);
	assert_string_equal(g.convs[0].contact_id, other);
	cfull_free(&g);

	assert_int_equal(contact_get(f, "00000000000000000000000000000000",
	    &g), PROTO_E_NOT_FOUND);
	assert_int_equal(contact_get(f, "nope", &g), PROTO_E_INVALID);
	st_widget_free(&a);
}

/*
 * ST_CONTACT_GET pages the contact's conversations, newest activity first
 * (a tie by id, highest first): limit, a cursor that goes on after its
 * place (its conversation gone since too), total all of them; a bad
 * limit or cursor is invalid.
 */
static void
test_contact_pages(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct wsbegin b;
	struct cfull g, all;
	char id[ST_ID_HEX + 1], other[ST_ID_HEX + 1];
	char cursor[ST_CURSOR_MAX + 1], first[ST_CURSOR_MAX + 1];
	char mine[4][ST_ID_HEX + 1];	/* session i's conversation */
	uint32_t i, n = 0;

	w_new(f, "W", &a);
	for (i = 1; i <= 3; i++) {
		ws_new(f, a.widget_id, i);
		/* Sessions 2 and 3 at the same time: a tie. */
		if (i != 3)
			fake_now += 100;
		submit_ok(f, a.widget_id, i, "", "pam@example.com", "", other);
		if (i == 1)
			strlcpy(id, other, sizeof(id));
		assert_string_equal(other, id);
		assert_int_equal(ws_begin_full(f, a.widget_id, i, "q", 0, 0,
		    &b), 0);
		strlcpy(mine[i], b.conv.id, sizeof(mine[i]));
		wsbegin_free(&b);
	}
	assert_int_equal(contact_get(f, id, &all), 0);
	assert_int_equal(all.n, 3);
	assert_true(all.convs[0].updated_at == all.convs[1].updated_at);
	assert_true(strcmp(all.convs[0].id, all.convs[1].id) > 0);
	assert_true(all.convs[1].updated_at > all.convs[2].updated_at);

	/* One a page: each once, in order, total 3, the last page ends. */
	cursor[0] = '\0';
	do {
		assert_int_equal(contact_page(f, id, 1, cursor, &g), 0);
		assert_int_equal(g.total, 3);
		assert_int_equal(g.n, 1);
		assert_string_equal(g.convs[0].id, all.convs[n].id);
		assert_true(n < 3);
		if (n++ == 0)
			strlcpy(first, g.next, sizeof(first));
		strlcpy(cursor, g.next, sizeof(cursor));
		assert_true(cursor[0] == '\0' || st_contact_cursor_valid(cursor));
		cfull_free(&g);
	} while (cursor[0] != '\0');
	assert_int_equal(n, 3);
	assert_int_equal(contact_page(f, id, 2, first, &g), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.next, "");
	cfull_free(&g);

	/* The first page's conversation moves to another contact: its cursor
	 * still goes on after its place. */
	for (i = 1; i < 3 && strcmp(mine[i], all.convs[0].id) != 0; i++)
		;
	assert_string_equal(mine[i], all.convs[0].id);
	submit_ok(f, a.widget_id, i, "", "sam@example.com", "", other);
	assert_string_not_equal(other, id);
	assert_int_equal(contact_page(f, id, 1, first, &g), 0);
	assert_int_equal(g.total, 2);
	assert_string_equal(g.convs[0].id, all.convs[1].id);
	strlcpy(cursor, g.next, sizeof(cursor));
	cfull_free(&g);
	assert_int_equal(contact_page(f, id, 1, cursor, &g), 0);
	assert_string_equal(g.convs[0].id, all.convs[2].id);
	assert_string_equal(g.next, "");
	cfull_free(&g);

	assert_int_equal(contact_page(f, id, 0, "", &g), PROTO_E_INVALID);
	assert_int_equal(contact_page(f, id, ST_LIST_MAX + 1, "", &g),
	    PROTO_E_INVALID);
	assert_int_equal(contact_page(f, id, 1, "zz", &g), PROTO_E_INVALID);
	first[3] = 'G';
	assert_int_equal(contact_page(f, id, 1, first, &g), PROTO_E_INVALID);
	cfull_free(&all);
	st_widget_free(&a);
}

/*
 * Naming a contact one did not make: the contact stays as it is, the
 * conversation is linked unverified with what was submitted; a session
 * stores at most ST_CONTACT_SUBMITS_MAX submissions; submissions count
 * in the per-client limit.
 */
static void
test_contact_claims(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_contact c;
	struct wsbegin b;
	struct cfull g;
	struct clist l;
	char ada[ST_ID_HEX + 1], id[ST_ID_HEX + 1];
	char conv1[ST_ID_HEX + 1], conv2[ST_ID_HEX + 1], conv3[ST_ID_HEX + 1];
	uint64_t total;
	int result, i;

	w_new(f, "W", &a);
	ws_new(f, a.widget_id, 1);
	ws_new(f, a.widget_id, 2);
	ws_new(f, a.widget_id, 3);
	submit_ok(f, a.widget_id, 1, "Ada", "ada@example.com", "", ada);
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "q1", 0, 0, &b), 0);
	strlcpy(conv1, b.conv.id, sizeof(conv1));
	wsbegin_free(&b);

	/* Session 2 claims Ada's email before its first message. */
	fake_now += 100;
	submit_ok(f, a.widget_id, 2, "<b>Mallory</b>", "ADA@example.com",
	    "+1 555 123 4567", id);
	assert_string_equal(id, ada);
	assert_int_equal(ws_begin_full(f, a.widget_id, 2, "q2", 0, 0, &b), 0);
	strlcpy(conv2, b.conv.id, sizeof(conv2));
	assert_string_equal(b.conv.contact_id, ada);
	wsbegin_free(&b);
	/* Session 3 talks first, then claims Ada by email. */
	assert_int_equal(ws_begin_full(f, a.widget_id, 3, "q3", 0, 0, &b), 0);
	strlcpy(conv3, b.conv.id, sizeof(conv3));
	wsbegin_free(&b);
	submit_ok(f, a.widget_id, 3, "Eve", "ada@example.com", "", id);
	assert_string_equal(id, ada);

	assert_int_equal(contact_get(f, ada, &g), 0);
	/* Unchanged: no phone, the name, the update time. */
	assert_string_equal(g.c.name, "Ada");
	assert_string_equal(g.c.email, "ada@example.com");
	assert_string_equal(g.c.phone, "");
	assert_int_equal(g.c.updated_at, g.c.created_at);
	assert_int_equal(g.n, 3);
	for (i = 0; i < 3; i++) {
		if (strcmp(g.convs[i].id, conv1) == 0) {
			assert_int_equal(g.unverified[i], 0);
			assert_string_equal(g.sub_email[i], "");
		} else if (strcmp(g.convs[i].id, conv2) == 0) {
			assert_int_equal(g.unverified[i], 1);
			assert_string_equal(g.sub_name[i], "<b>Mallory</b>");
			assert_string_equal(g.sub_email[i], "ada@example.com");
			assert_string_equal(g.sub_phone[i], "+15551234567");
		} else {
			assert_string_equal(g.convs[i].id, conv3);
			assert_int_equal(g.unverified[i], 1);
			assert_string_equal(g.sub_name[i], "Eve");
		}
	}
	cfull_free(&g);
	/* The phone Mallory gave is nobody's: it names no contact. */
	submit_ok(f, a.widget_id, 1, "", "", "+15551234567", id);
	assert_string_not_equal(id, ada);

	/* Session 3 names itself anew: its conversation moves, verified. */
	submit_ok(f, a.widget_id, 3, "Eve", "eve@example.com", "", id);
	assert_int_equal(contact_get(f, id, &g), 0);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.convs[0].id, conv3);
	assert_int_equal(g.unverified[0], 0);
	cfull_free(&g);
	/* Its third: then no more, and nothing stored. */
	submit_ok(f, a.widget_id, 3, "", "eve3@example.com", "", id);
	assert_int_equal(contact_list(f, 1, "", &l), 0);
	total = l.total;
	clist_free(&l);
	assert_int_equal(contact_submit(f, a.widget_id, 3, "",
	    "eve4@example.com", "", &result, &c), 0);
	assert_int_equal(result, ST_WS_TOO_MANY);
	assert_int_equal(contact_list(f, 1, "", &l), 0);
	assert_int_equal(l.total, total);
	clist_free(&l);

	/* The per-client limit counts submissions. */
	ws_new(f, a.widget_id, 4);
	contact_rate_key = "ip:claims";
	contact_rate_max = 1;
	submit_ok(f, a.widget_id, 4, "", "four@example.com", "", id);
	assert_int_equal(contact_submit(f, a.widget_id, 4, "",
	    "five@example.com", "", &result, &c), 0);
	assert_int_equal(result, ST_WS_LIMITED);
	contact_rate_key = "";
	contact_rate_max = 0;
	st_widget_free(&a);
}

static void
test_contact_list(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct clist l;
	char ids[5][ST_ID_HEX + 1], email[64], cursor[ST_CURSOR_MAX + 1];
	int i, seen = 0;

	w_new(f, "W", &a);
	assert_int_equal(contact_list(f, 10, "", &l), 0);
	assert_int_equal(l.total, 0);
	assert_int_equal(l.n, 0);
	assert_string_equal(l.next, "");
	for (i = 0; i < 5; i++) {
		fake_now += 1000;
		ws_new(f, a.widget_id, (uint8_t)(10 + i));
		snprintf(email, sizeof(email), "p%d@example.com", i);
		submit_ok(f, a.widget_id, (uint8_t)(10 + i), "", email, "",
		    ids[i]);
	}
	/* Newest first, two at a time. */
	cursor[0] = '\0';
	do {
		assert_int_equal(contact_list(f, 2, cursor, &l), 0);
		assert_int_equal(l.total, 5);
		for (i = 0; i < (int)l.n; i++, seen++)
			assert_string_equal(l.c[i].id, ids[4 - seen]);
		strlcpy(cursor, l.next, sizeof(cursor));
		clist_free(&l);
	} while (cursor[0] != '\0');
	assert_int_equal(seen, 5);

	assert_int_equal(contact_list(f, 5, "", &l), 0);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.next, "");
	clist_free(&l);
	assert_int_equal(contact_list(f, 0, "", &l), PROTO_E_INVALID);
	assert_int_equal(contact_list(f, 201, "", &l), PROTO_E_INVALID);
	assert_int_equal(contact_list(f, 2, "zz", &l), PROTO_E_INVALID);
	st_widget_free(&a);
}

/* ------------------------------------------------ tests: records */

/* Rewrites every conversation as a version 1 record (no contact_id). */
static void
convs_to_v1(struct fix *f)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v, nv;
	uint8_t *buf, kbuf[16];

	store_close(f->st);
	f->st = NULL;
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 32), 0);
	assert_int_equal(mdb_env_open(env, f->dir, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "convs", 0, &dbi), 0);
	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
		buf = malloc(v.mv_size);
		assert_non_null(buf);
		memcpy(buf, v.mv_data, v.mv_size);
		assert_int_equal(buf[0], 3);
		/*
		 * An empty contact_id and handoff ai are the last 5 bytes:
		 * 0, 0, 0, 0, 0.
		 */
		assert_int_equal(buf[v.mv_size - 5], 0);
		assert_int_equal(buf[v.mv_size - 1], 0);
		buf[0] = 1;
		nv.mv_size = v.mv_size - 5;
		nv.mv_data = buf;
		/* k points into the page the put changes: a copy of it. */
		assert_int_equal(k.mv_size, sizeof(kbuf));
		memcpy(kbuf, k.mv_data, sizeof(kbuf));
		k.mv_data = kbuf;
		assert_int_equal(mdb_cursor_put(cur, &k, &nv, MDB_CURRENT), 0);
		free(buf);
	}
	mdb_cursor_close(cur);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);
}

static void
test_conv_v1_records(void **state)
{
	struct fix *f = *state;
	struct penc e;
	struct dreply r;
	struct pdec d;
	struct st_conv c;
	struct thread t;
	int created;

	penc_init(&e);
	penc_str(&e, "w");
	penc_str(&e, "s");
	assert_int_equal(request(f, PROTO_ST_CONV_OPEN, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	assert_int_equal(pdec_u8(&d), 1);
	assert_int_equal(pdec_conv(&d, &c), 0);
	dreply_free(&r);
	append_payload(&e, c.id, "user", "before", "", 0, 0);
	assert_int_equal(request(f, PROTO_ST_MSG_APPEND, &e, &r), 0);
	dreply_free(&r);
	convs_to_v5(f);
	db_to_older(f, "convs", 5, 4 + 4);
	db_cut(f, "convs", 4, ORG_TAIL_LEN, org_default_tail);
	convs_to_v1(f);

	/* Read as they were, with no contact. */
	penc_init(&e);
	penc_str(&e, c.id);
	penc_u32(&e, 0);
	assert_int_equal(request(f, PROTO_ST_CONV_GET, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	memset(&t, 0, sizeof(t));
	thread_decode(&d, &t);
	assert_string_equal(t.conv.id, c.id);
	assert_string_equal(t.conv.contact_id, "");
	assert_string_equal(t.conv.last_message, "before");
	assert_int_equal(t.conv.message_count, 1);
	thread_is(&t, 1, "before");
	thread_free(&t);
	dreply_free(&r);

	/* Written again (as version 3) by the next change. */
	append_payload(&e, c.id, "user", "after", "", 0, 0);
	assert_int_equal(request(f, PROTO_ST_MSG_APPEND, &e, &r), 0);
	dreply_free(&r);
	penc_init(&e);
	penc_str(&e, "w");
	penc_str(&e, "s");
	assert_int_equal(request(f, PROTO_ST_CONV_OPEN, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	created = pdec_u8(&d);
	assert_int_equal(created, 0);
	st_conv_free(&c);
	assert_int_equal(pdec_conv(&d, &c), 0);
	assert_int_equal(c.message_count, 2);
	dreply_free(&r);
	st_conv_free(&c);
}

/*
 * Widgets of format 1 (before agents and handoff) read as "", 0, "", and
 * (before organisations) as the default organisation's.
 */
static void
test_widget_v1_records(void **state)
{
	struct fix *f = *state;
	struct st_widget a, g, in;

	w_new(f, "Old", &a);
	db_layout_to(f, "widgets", &st_widget_layout, 6);
	assert_int_equal(db_version(f, "widgets", a.id, strlen(a.id)), 6);
	db_cut(f, "widgets", 6, sizeof(WIDGET_V6_TAIL) - 1,
	    (const uint8_t *)WIDGET_V6_TAIL);
	assert_int_equal(db_version(f, "widgets", a.id, strlen(a.id)), 5);
	assert_int_equal(w_simple(f, PROTO_ST_WIDGET_GET, a.widget_id, &g,
	    NULL), 0);
	/* Format 5's read issue 26's defaults. */
	assert_int_equal(g.nstarters, 0);
	assert_int_equal(g.proactive_delay_s, ST_PROACTIVE_DELAY_DEF);
	assert_int_equal(g.feedback_enabled, 1);
	assert_int_equal(g.rating_enabled, 0);
	assert_string_equal(g.identity_secret, "");
	st_widget_free(&g);
	db_cut(f, "widgets", 5, 12, NULL);	/* no hours, no away message */
	db_cut(f, "widgets", 4, 4, NULL);	/* retention_days 0 */
	db_cut(f, "widgets", 3, ORG_TAIL_LEN, org_default_tail);
	db_to_older(f, "widgets", 2, 4 + 1 + 4);
	assert_int_equal(db_version(f, "widgets", a.id, strlen(a.id)), 1);
	assert_int_equal(w_simple(f, PROTO_ST_WIDGET_GET, a.widget_id, &g,
	    NULL), 0);
	assert_string_equal(g.name, "Old");
	assert_string_equal(g.org, "default");
	assert_string_equal(g.agent_id, "");
	assert_int_equal(g.handoff_enabled, 0);
	assert_string_equal(g.handoff_label, "");
	/* Format 5's: no business hours, the default away message. */
	assert_string_equal(g.timezone, "");
	assert_int_equal(g.nhours, 0);
	assert_string_equal(g.away_message, "");
	st_widget_free(&g);

	/* Away mode's fields merged in; a zone no file has is refused. */
	st_widget_defaults(&in);
	strlcpy(in.timezone, "Europe/Paris", sizeof(in.timezone));
	in.nhours = 1;
	in.hours[0] = (struct st_hours){ 4, 540, 1020 };
	in.away_message = strdup("Back Monday");
	assert_int_equal(w_update(f, a.widget_id, ST_WF_HOURS |
	    ST_WF_AWAY_MESSAGE, &in, &g, NULL), 0);
	assert_string_equal(g.timezone, "Europe/Paris");
	assert_int_equal(g.nhours, 1);
	assert_int_equal(g.hours[0].end, 1020);
	assert_string_equal(g.away_message, "Back Monday");
	assert_string_equal(g.name, "Old");
	st_widget_free(&g);
	strlcpy(in.timezone, "Nowhere/Town", sizeof(in.timezone));
	assert_int_equal(w_update(f, a.widget_id, ST_WF_HOURS, &in, NULL,
	    NULL), PROTO_E_INVALID);
	st_widget_free(&in);
	assert_int_equal(w_simple(f, PROTO_ST_WIDGET_GET, a.widget_id, &g,
	    NULL), 0);
	assert_string_equal(g.timezone, "Europe/Paris");
	st_widget_free(&g);

	/* Written again as format 3 by the next change, with the new fields. */
	st_widget_defaults(&in);
	in.handoff_enabled = 1;
	in.handoff_label = strdup("A person, please");
	strlcpy(in.agent_id, "default", sizeof(in.agent_id));
	assert_int_equal(w_update(f, a.widget_id, ST_WF_HANDOFF_ENABLED |
	    ST_WF_HANDOFF_LABEL | ST_WF_AGENT_ID, &in, &g, NULL), 0);
	assert_int_equal(g.handoff_enabled, 1);
	assert_string_equal(g.handoff_label, "A person, please");
	/* "default" is stored as "". */
	assert_string_equal(g.agent_id, "");
	assert_string_equal(g.name, "Old");
	st_widget_free(&g);
	st_widget_free(&in);
	/* Each handoff field on its own: the other is kept. */
	st_widget_defaults(&in);
	in.handoff_label = strdup("Ask us");
	assert_int_equal(w_update(f, a.widget_id, ST_WF_HANDOFF_LABEL, &in,
	    &g, NULL), 0);
	assert_int_equal(g.handoff_enabled, 1);
	assert_string_equal(g.handoff_label, "Ask us");
	st_widget_free(&g);
	st_widget_free(&in);
	st_widget_defaults(&in);
	in.handoff_enabled = 0;
	assert_int_equal(w_update(f, a.widget_id, ST_WF_HANDOFF_ENABLED, &in,
	    &g, NULL), 0);
	assert_int_equal(g.handoff_enabled, 0);
	assert_string_equal(g.handoff_label, "Ask us");
	st_widget_free(&g);
	st_widget_free(&in);
	assert_int_equal(db_version(f, "widgets", a.id, strlen(a.id)),
	    rl_version(&st_widget_layout));
	st_widget_free(&a);
}

/*
 * Messages of format 1 (before names) read with name and author "", and
 * conversations of format 2 (before handoff) in state ai, unassigned.
 */
static void
test_msg_v1_records(void **state)
{
	struct fix *f = *state;
	struct penc e;
	struct dreply r;
	struct pdec d;
	struct st_conv c;
	struct thread t;
	uint8_t cid[16];

	penc_init(&e);
	penc_str(&e, "w");
	penc_str(&e, "s");
	assert_int_equal(request(f, PROTO_ST_CONV_OPEN, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	assert_int_equal(pdec_u8(&d), 1);
	assert_int_equal(pdec_conv(&d, &c), 0);
	dreply_free(&r);
	append_payload(&e, c.id, "user", "one", "", 0, 0);
	assert_int_equal(request(f, PROTO_ST_MSG_APPEND, &e, &r), 0);
	dreply_free(&r);
	append_payload(&e, c.id, "assistant", "two", "", 0, 0);
	assert_int_equal(request(f, PROTO_ST_MSG_APPEND, &e, &r), 0);
	dreply_free(&r);
	proto_hex_decode(c.id, cid, sizeof(cid));
	assert_int_equal(db_version(f, "convs", cid, sizeof(cid)),
	    rl_version(&st_conv_layout));
	db_to_older(f, "msgs", 10, 1);		/* no tool origin */
	db_to_older(f, "msgs", 9, 4);		/* no cited passages */
	db_to_older(f, "msgs", 8, 4);		/* no client id */
	db_to_older(f, "msgs", 7, 4);		/* no attachments */
	db_to_older(f, "msgs", 6, 4 + 4);	/* no arguments, duration */
	db_to_older(f, "msgs", 5, 4 + 1);	/* no sources, no knowledge */
	db_to_older(f, "msgs", 4, 1);
	db_to_older(f, "msgs", 3, 4);
	db_to_older(f, "msgs", 2, 4);
	convs_to_v5(f);
	db_to_older(f, "convs", 5, 4 + 4);
	db_cut(f, "convs", 4, ORG_TAIL_LEN, org_default_tail);
	db_to_older(f, "convs", 3, 1);
	assert_int_equal(db_version(f, "convs", cid, sizeof(cid)), 2);

	penc_init(&e);
	penc_str(&e, c.id);
	penc_u32(&e, 0);
	assert_int_equal(request(f, PROTO_ST_CONV_GET, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	memset(&t, 0, sizeof(t));
	thread_decode(&d, &t);
	assert_int_equal(t.conv.handoff, ST_HANDOFF_AI);
	thread_is(&t, 2, "one", "two");
	assert_string_equal(t.msgs[0].name, "");
	assert_string_equal(t.msgs[0].author, "");
	assert_string_equal(t.msgs[1].role, "assistant");
	assert_string_equal(t.conv.assignee, "");
	assert_string_equal(t.conv.assignee_name, "");
	thread_free(&t);
	dreply_free(&r);

	/* New messages are format 3 beside them; an agent's keeps its role. */
	append_payload(&e, c.id, "agent", "three", "", 0, 0);
	assert_int_equal(request(f, PROTO_ST_MSG_APPEND, &e, &r), 0);
	dreply_free(&r);
	penc_init(&e);
	penc_str(&e, c.id);
	penc_u32(&e, 0);
	assert_int_equal(request(f, PROTO_ST_CONV_GET, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	memset(&t, 0, sizeof(t));
	thread_decode(&d, &t);
	thread_is(&t, 3, "one", "two", "three");
	assert_string_equal(t.msgs[2].role, "agent");
	thread_free(&t);
	dreply_free(&r);
	assert_int_equal(db_version(f, "convs", cid, sizeof(cid)),
	    rl_version(&st_conv_layout));
	st_conv_free(&c);
}

/* A conversation as CONV_GET reads it (no messages kept). */
static void
conv_read(struct fix *f, const char *id, struct st_conv *c)
{
	struct penc e;
	struct dreply r;
	struct pdec d;

	penc_init(&e);
	penc_str(&e, id);
	penc_u32(&e, 1);
	assert_int_equal(request(f, PROTO_ST_CONV_GET, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	assert_int_equal(pdec_conv(&d, c), 0);
	dreply_free(&r);
}

/*
 * Issue 24's fields: a turn's visitor message and what the widget told
 * are kept (format 6), a turn telling nothing keeps them, the name is
 * made from the session; a format 5 record reads them as "" and 0.
 */
static void
test_conv_visitor_records(void **state)
{
	struct fix *f = *state;
	struct st_visitor v = { .page_url = "https://a.example/p",
	    .time_zone = "Europe/Paris" };
	struct st_conv c, g;
	struct penc e;
	struct dreply r;
	struct pdec d;
	char name[ST_VISITOR_NAME_MAX + 1];
	int i;

	for (i = 0; i < 2; i++) {
		/* The second turn tells nothing: what was told stays. */
		const struct st_chat_begin_req q = { .widget = "default",
		    .session = "visitor-s", .content = i == 0 ?
		    "first words" : "second words", .rate_key = "",
		    .history_max = 30, .visitor = i == 0 ? v :
		    (struct st_visitor){ 0 } };

		assert_int_equal(request_st(f, PROTO_ST_CHAT_BEGIN, &q, &r),
		    0);
		pdec_init(&d, r.enc.buf, r.enc.len);
		assert_int_equal(pdec_u8(&d), ST_CHAT_OK);
		dreply_free(&r);
		fix_turns_end(f);	/* as its reply would */
	}
	/* Found through the list, read whole. */
	penc_init(&e);
	penc_u32(&e, 1);
	penc_str(&e, "");
	assert_int_equal(request(f, PROTO_ST_CONV_LIST, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	pdec_u64(&d);
	assert_int_equal(pdec_u32(&d), 1);
	assert_int_equal(pdec_conv(&d, &c), 0);
	dreply_free(&r);
	/* A list's row: named, its details left to the thread. */
	st_visitor_name_gen("visitor-s", name, sizeof(name));
	assert_string_equal(c.visitor_name, name);
	assert_string_equal(c.last_visitor, "second words");
	assert_string_equal(c.visitor.page_url, "");
	conv_read(f, c.id, &g);
	assert_string_equal(g.last_visitor, "second words");
	assert_true(g.visitor_at >= g.created_at);
	assert_string_equal(g.visitor.page_url, "https://a.example/p");
	assert_string_equal(g.visitor.time_zone, "Europe/Paris");
	assert_string_equal(g.visitor.referrer, "");
	assert_string_equal(g.visitor_name, name);
	assert_int_equal(g.unread, 0);	/* nobody asks */
	st_conv_free(&g);
	/* Format 5: the new fields read empty; the name is still made. */
	convs_to_v5(f);
	conv_read(f, c.id, &g);
	assert_string_equal(g.last_visitor, "");
	assert_true(g.visitor_at == 0);
	assert_string_equal(g.visitor.page_url, "");
	assert_string_equal(g.visitor_name, name);
	assert_string_equal(g.last_message, c.last_message);
	st_conv_free(&g);
	st_conv_free(&c);
}

/* ------------------------------------------------ tests: bad input */

static void
test_bad_payloads(void **state)
{
	struct fix *f = *state;
	static const uint16_t types[] = {
		PROTO_ST_WIDGET_CREATE, PROTO_ST_WIDGET_UPDATE,
		PROTO_ST_WIDGET_GET, PROTO_ST_WIDGET_LIST,
		PROTO_ST_WIDGET_DELETE, PROTO_ST_WIDGET_RESET_ID,
		PROTO_ST_WS_OPEN, PROTO_ST_WS_BEGIN, PROTO_ST_CONTACT_SUBMIT,
		PROTO_ST_CONTACT_LIST, PROTO_ST_CONTACT_GET,
	};
	uint8_t junk[5] = { 0, 0, 0, 9, 1 }, h[ST_TOKEN_HASH_LEN];
	struct st_widget d;
	struct penc e;
	struct dreply r;
	size_t i, cut;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(request_raw(f, types[i], junk, sizeof(junk)),
		    PROTO_E_INVALID);
		if (types[i] != PROTO_ST_WIDGET_LIST)
			assert_int_equal(request_raw(f, types[i], NULL, 0),
			    PROTO_E_INVALID);
	}
	assert_int_equal(request_raw(f, PROTO_ST_EV_WIDGET_GONE, NULL, 0),
	    PROTO_E_UNSUPPORTED);

	/* Every cut of a good WS_BEGIN is invalid, never a crash. */
	default_widget(f, &d);
	ws_new(f, d.widget_id, 1);
	hash(h, 1);
	ws_begin_payload(&e, d.widget_id, h, sizeof(h), "hi", "k", 0, 0);
	for (cut = 0; cut < e.len; cut++)
		assert_int_equal(request_raw(f, PROTO_ST_WS_BEGIN, e.buf, cut),
		    PROTO_E_INVALID);
	assert_int_equal(request_raw(f, PROTO_ST_WS_BEGIN, e.buf, e.len), 0);
	penc_free(&e);

	/* A short token hash; an empty content; a limit without a key. */
	ws_begin_payload(&e, d.widget_id, h, 31, "hi", "k", 0, 0);
	assert_int_equal(request_err(f, PROTO_ST_WS_BEGIN, &e),
	    PROTO_E_INVALID);
	ws_begin_payload(&e, d.widget_id, h, sizeof(h), "", "k", 0, 0);
	assert_int_equal(request(f, PROTO_ST_WS_BEGIN, &e, &r),
	    PROTO_E_INVALID);
	assert_string_equal(r.errmsg, "content must be 1 to 65536 bytes");
	dreply_free(&r);
	ws_begin_payload(&e, d.widget_id, h, sizeof(h), "hi", "", 5, 0);
	assert_int_equal(request_err(f, PROTO_ST_WS_BEGIN, &e),
	    PROTO_E_INVALID);

	/* WS_OPEN: a token hash of 0 or 32 bytes, new_hash of 32. */
	ws_open_payload(&e, d.widget_id, "", h, 5, h, sizeof(h), 0, 10);
	assert_int_equal(request_err(f, PROTO_ST_WS_OPEN, &e),
	    PROTO_E_INVALID);
	ws_open_payload(&e, d.widget_id, "", NULL, 0, NULL, 0, 0, 10);
	assert_int_equal(request_err(f, PROTO_ST_WS_OPEN, &e),
	    PROTO_E_INVALID);
	ws_open_payload(&e, d.widget_id, "", NULL, 0, h, sizeof(h), 0, 201);
	assert_int_equal(request_err(f, PROTO_ST_WS_OPEN, &e),
	    PROTO_E_INVALID);
	st_widget_free(&d);
}

/* Widgets past ST_WIDGETS_MAX are refused. */
static void
test_widget_limit(void **state)
{
	struct fix *f = *state;
	struct st_widget in, out;
	int i;

	st_widget_defaults(&in);
	for (i = 1; i < ST_WIDGETS_MAX; i++) {
		assert_int_equal(w_create(f, &in, &out), 0);
		st_widget_free(&out);
	}
	assert_int_equal(w_create(f, &in, &out), PROTO_E_INVALID);
	st_widget_free(&in);
}

/* ------------------------------------------------ tests: lazy sessions, sweep */

/* A new visitor is stored by its first message only, counted per widget. */
static void
test_lazy_sessions(void **state)
{
	struct fix *f = *state;
	struct st_widget a, b;
	struct st_contact c;
	struct wsbegin wb;
	struct wsopen o;
	uint8_t h[ST_TOKEN_HASH_LEN];
	int i, result;

	w_new(f, "L", &a);
	w_new(f, "M", &b);
	/* A thousand sockets opened and dropped store nothing. */
	for (i = 0; i < 1000; i++) {
		hash(h, (uint8_t)i);
		h[1] = (uint8_t)(i >> 8);
		assert_int_equal(ws_open(f, a.widget_id, "", NULL, h, 0, 10, &o),
		    0);
		assert_int_equal(o.result, ST_WS_OK);
		assert_int_equal(o.resumed, 0);
		assert_int_equal(o.wrote, 0);
		wsopen_free(&o);
	}
	assert_int_equal(db_entries(f, "wsessions"), 0);
	assert_int_equal(db_entries(f, "wsess_expiry"), 0);

	/* The first message stores it, once; the next ones use it. */
	store_wsess_settings(f->st, 0, 2);
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "first", 0, 0, &wb),
	    0);
	assert_int_equal(wb.result, ST_WS_OK);
	assert_int_equal(wb.created, 1);
	wsbegin_free(&wb);
	assert_int_equal(ws_say(f, a.widget_id, 1, "second"), ST_WS_OK);
	assert_int_equal(ws_say(f, a.widget_id, 2, "another"), ST_WS_OK);
	/* The widget's third new session this minute is refused, unstored. */
	assert_int_equal(ws_begin_full(f, a.widget_id, 3, "third", 0, 0, &wb),
	    0);
	assert_int_equal(wb.result, ST_WS_BUSY);
	assert_int_equal(wb.retry, MIN);
	wsbegin_free(&wb);
	assert_int_equal(contact_submit(f, a.widget_id, 3, "Tim", "", "",
	    &result, &c), 0);
	assert_int_equal(result, ST_WS_BUSY);
	/* Stored visitors go on; another widget has its own count. */
	assert_int_equal(ws_say(f, a.widget_id, 1, "third"), ST_WS_OK);
	assert_int_equal(ws_say(f, b.widget_id, 4, "other"), ST_WS_OK);
	assert_int_equal(db_entries(f, "wsessions"), 3);
	assert_int_equal(db_entries(f, "wsess_expiry"), 3);
	assert_int_equal(db_entries(f, "convs"), 3);
	/* A minute later it may grow again (db_entries reopened: set again). */
	store_wsess_settings(f->st, 0, 2);
	fake_mono += MIN;
	assert_int_equal(ws_say(f, a.widget_id, 3, "now"), ST_WS_OK);
	/* 0: no limit. */
	store_wsess_settings(f->st, 0, 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(ws_say(f, a.widget_id, (uint8_t)(20 + i), "x"),
		    ST_WS_OK);
	/* A contact submission stores a new visitor's session too. */
	assert_int_equal(contact_submit(f, a.widget_id, 40, "Kim", "", "",
	    &result, &c), 0);
	assert_int_equal(result, ST_WS_OK);
	st_contact_free(&c);
	hash(h, 40);
	assert_int_equal(ws_open(f, a.widget_id, "", h, h, 0, 10, &o), 0);
	assert_int_equal(o.resumed, 1);
	assert_int_equal(o.contact, 1);
	wsopen_free(&o);
	assert_int_equal(db_entries(f, "wsessions"), 10);
	assert_int_equal(db_entries(f, "wsess_expiry"), 10);
	st_widget_free(&a);
	st_widget_free(&b);
}

/* Expired sessions go in bounded steps, oldest first; touched ones stay. */
static void
test_sweep_expired(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct store_sweep o;
	struct wsbegin wb;
	uint32_t total = 0, steps = 0;
	int i;

	w_new(f, "E", &a);
	for (i = 0; i < 10; i++) {
		assert_int_equal(ws_begin_full(f, a.widget_id, (uint8_t)(1 + i),
		    "hi", 0, 1000, &wb), 0);
		assert_int_equal(wb.result, ST_WS_OK);
		wsbegin_free(&wb);
	}
	/* Not yet expired: nothing to do. */
	sweep_once(f, 64, &o);
	assert_int_equal(o.expired, 0);
	assert_int_equal(o.more, 0);
	/* Session 1 is used again: its expiry moves, its old entry goes. */
	fake_now += 600;
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "again", 0, 1000,
	    &wb), 0);
	assert_int_equal(wb.result, ST_WS_OK);
	wsbegin_free(&wb);
	assert_int_equal(db_entries(f, "wsess_expiry"), 10);
	fake_now += 401;
	/* Nine expired, three at a time. */
	do {
		sweep_once(f, 3, &o);
		assert_true(o.expired <= 3);
		total += o.expired;
		steps++;
	} while (o.more);
	assert_int_equal(total, 9);
	assert_true(steps >= 3 && steps <= 4);
	assert_int_equal(db_entries(f, "wsessions"), 1);
	assert_int_equal(db_entries(f, "widget_wsess"), 1);
	assert_int_equal(db_entries(f, "wsess_expiry"), 1);
	/* The swept tokens name nothing; the touched one still works. */
	assert_int_equal(ws_say_stored(f, a.widget_id, 2, "gone"),
	    ST_WS_NO_SESSION);
	assert_int_equal(ws_begin_full(f, a.widget_id, 1, "still", 0, 1000,
	    &wb), 0);
	assert_int_equal(wb.result, ST_WS_OK);
	wsbegin_free(&wb);
	/* Its conversations stay. */
	assert_int_equal(db_entries(f, "convs"), 10);
	fake_now += 1001;
	assert_int_equal(sweep_all(f), 1);
	assert_int_equal(db_entries(f, "wsessions"), 0);
	assert_int_equal(db_entries(f, "wsess_expiry"), 0);
	st_widget_free(&a);
}

/* A deleted widget's sessions go in steps; none comes back. */
static void
test_sweep_widget_delete(void **state)
{
	struct fix *f = *state;
	struct st_widget a, d;
	struct store_sweep o;
	struct wsopen op;
	uint8_t h[ST_TOKEN_HASH_LEN];
	char gone[ST_WID_LEN + 1];
	uint32_t total = 0, steps = 0;
	int i;

	store_wsess_settings(f->st, 0, 0);
	w_new(f, "Big", &a);
	default_widget(f, &d);
	for (i = 0; i < 200; i++)
		assert_int_equal(ws_say(f, a.widget_id, (uint8_t)i, "x"),
		    ST_WS_OK);
	assert_int_equal(ws_say(f, d.widget_id, 250, "stay"), ST_WS_OK);
	assert_int_equal(w_simple(f, PROTO_ST_WIDGET_DELETE, a.widget_id,
	    NULL, gone), 0);
	/* The delete itself touched none of them. */
	assert_int_equal(db_entries(f, "wsessions"), 201);
	do {
		sweep_once(f, 64, &o);
		assert_true(o.gone <= 64);
		total += o.gone;
		steps++;
	} while (o.more);
	assert_int_equal(total, 200);
	assert_true(steps >= 4 && steps <= 5);
	assert_int_equal(db_entries(f, "wsessions"), 1);
	assert_int_equal(db_entries(f, "widget_wsess"), 1);
	assert_int_equal(db_entries(f, "wsess_expiry"), 1);
	assert_int_equal(db_entries(f, "wsess_gone"), 0);
	/* Its tokens resume nothing, on any widget. */
	hash(h, 5);
	assert_int_equal(ws_open(f, d.widget_id, "", h, h, 0, 10, &op), 0);
	assert_int_equal(op.resumed, 0);
	wsopen_free(&op);
	assert_int_equal(ws_say_stored(f, d.widget_id, 5, "x"),
	    ST_WS_NO_SESSION);
	assert_int_equal(ws_say_stored(f, d.widget_id, 250, "x"), ST_WS_OK);
	st_widget_free(&a);
	st_widget_free(&d);
}

/*
 * Rewrites, behind the store's back, every "~" + 32 hex of dbi's values
 * (keys too when keys is set) as the 32 hex digits alone: the layout of
 * a data directory from before visitor sessions had their own namespace.
 * How many it changed.
 */
static int
strip_marks(MDB_txn *txn, MDB_dbi dbi, int keys)
{
	static const uint8_t mark[5] = { 0, 0, 0, 33, '~' };
	uint8_t kb[64][512], vb[4096], *p;
	size_t klen[64], i, j, n = 0;
	MDB_cursor *cur;
	MDB_val k, v, nk, nv;
	int changed = 0;

	/* The keys first: a cursor's place moves with each put. */
	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	while (mdb_cursor_get(cur, &k, &v, n == 0 ? MDB_FIRST : MDB_NEXT) == 0) {
		assert_true(n < 64 && k.mv_size <= sizeof(kb[0]));
		memcpy(kb[n], k.mv_data, k.mv_size);
		klen[n++] = k.mv_size;
	}
	mdb_cursor_close(cur);
	for (j = 0; j < n; j++) {
		k = (MDB_val){ klen[j], kb[j] };
		assert_int_equal(mdb_get(txn, dbi, &k, &v), 0);
		assert_true(v.mv_size <= sizeof(vb));
		memcpy(vb, v.mv_data, v.mv_size);
		nv = (MDB_val){ v.mv_size, vb };
		for (i = 0; i + sizeof(mark) <= nv.mv_size; i++) {
			if (memcmp(vb + i, mark, sizeof(mark)) != 0)
				continue;
			vb[i + 3] = 32;
			memmove(vb + i + 4, vb + i + 5, nv.mv_size - i - 5);
			nv.mv_size--;
		}
		nk = k;
		p = keys ? memchr(kb[j], '~', klen[j]) : NULL;
		if (p != NULL && p > kb[j] && p[-1] == '\0') {
			uint8_t *copy = malloc(klen[j]);

			assert_non_null(copy);
			memcpy(copy, kb[j], klen[j]);
			memmove(copy + (p - kb[j]), p + 1,
			    klen[j] - (size_t)(p - kb[j]) - 1);
			nk = (MDB_val){ klen[j] - 1, copy };
		}
		if (nk.mv_size == k.mv_size && nv.mv_size == v.mv_size)
			continue;
		assert_int_equal(mdb_del(txn, dbi, &k, NULL), 0);
		assert_int_equal(mdb_put(txn, dbi, &nk, &nv, 0), 0);
		if (nk.mv_data != k.mv_data)
			free(nk.mv_data);
		changed++;
	}
	return changed;
}

/*
 * A data directory from before the namespace: each visitor session and
 * its conversation renamed "~" + digits once, at start; each session
 * still finds its conversation.
 */
static void
test_wsess_namespace(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi ws, convs, sess, meta;
	MDB_val k;
	static const char nk[] = "wsess_namespace";
	size_t nconvs;
	int i;

	w_new(f, "Old", &a);
	for (i = 0; i < 3; i++)
		assert_int_equal(ws_say(f, a.widget_id, (uint8_t)i, "x"),
		    ST_WS_OK);
	nconvs = db_entries(f, "convs");
	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "wsessions", 0, &ws), 0);
	assert_int_equal(mdb_dbi_open(txn, "convs", 0, &convs), 0);
	assert_int_equal(mdb_dbi_open(txn, "sessions", 0, &sess), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	assert_int_equal(strip_marks(txn, ws, 0), 3);
	assert_int_equal(strip_marks(txn, convs, 0), 3);
	assert_int_equal(strip_marks(txn, sess, 1), 3);
	k.mv_data = (void *)nk;
	k.mv_size = sizeof(nk) - 1;
	assert_int_equal(mdb_del(txn, meta, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);

	/* Renamed at the reopen: each has its mark again. */
	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "wsessions", 0, &ws), 0);
	assert_int_equal(mdb_dbi_open(txn, "convs", 0, &convs), 0);
	assert_int_equal(strip_marks(txn, ws, 0), 3);
	assert_int_equal(strip_marks(txn, convs, 0), 3);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	fix_reopen(f);
	/* Each old session chats on in its own conversation. */
	for (i = 0; i < 3; i++)
		assert_int_equal(ws_say_stored(f, a.widget_id, (uint8_t)i,
		    "again"), ST_WS_OK);
	assert_int_equal(db_entries(f, "convs"), nconvs);
	assert_int_equal(db_entries(f, "sessions"), nconvs);
	st_widget_free(&a);
}

/*
 * An ST_WS_OPEN request, encoded from its layout: the token of byte tb
 * (0: none), rate hits h (the upgrade's, a resume's), the history read
 * charged to hit history_hit (0: none).
 */
static void
ws_open_enc(struct penc *e, const char *wid, uint8_t tb,
    struct st_rate_hit *h, uint32_t n, uint8_t history_hit)
{
	struct st_ws_open_req q = { .widget_id = wid, .origin = "",
	    .token_len = tb != 0 ? ST_TOKEN_HASH_LEN : 0,
	    .new_hash_len = ST_TOKEN_HASH_LEN, .history_max = 10,
	    .hits = h, .nhits = n, .history_hit = history_hit };

	hash(q.token, tb);
	hash(q.new_hash, 200);
	penc_init(e);
	assert_int_equal(st_req_encode(e, PROTO_ST_WS_OPEN, &q), 0);
}

/*
 * ws_open_enc's request sent: the reply's result, and when LIMITED
 * which and retry.
 */
static int
ws_open_charged(struct fix *f, const char *wid, uint8_t tb,
    struct st_rate_hit *h, uint32_t n, uint8_t history_hit,
    uint8_t *which, uint64_t *retry)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	int result;

	ws_open_enc(&e, wid, tb, h, n, history_hit);
	assert_int_equal(request(f, PROTO_ST_WS_OPEN, &e, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	result = pdec_u8(&d);
	if (result == ST_WS_LIMITED) {
		assert_int_equal(r.wrote, 0);
		*which = pdec_u8(&d);
		*retry = pdec_u64(&d);
		assert_int_equal(pdec_done(&d), 0);
	}
	dreply_free(&r);
	return result;
}

/* ws_open_charged of a new visitor's socket: no token, nothing charged. */
static int
ws_open_hits(struct fix *f, const char *wid, struct st_rate_hit *h,
    uint32_t n, uint8_t *which, uint64_t *retry)
{
	return ws_open_charged(f, wid, 0, h, n, 0, which, retry);
}

/*
 * The counts ST_WS_OPEN carries: each in turn, a limited one answers
 * LIMITED with its place and wait, and the ones after it are not counted.
 */
static void
test_ws_open_counts(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_rate_hit h[3] = {
		{ "ws:192.0.2.1", MIN, 1 }, { "resume:192.0.2.1", MIN, 1 },
		{ "x", MIN, 1 },
	};
	uint64_t retry = 0;
	uint8_t which = 9;

	w_new(f, "Counted", &a);
	/* Both within their limits: opened. */
	assert_int_equal(ws_open_hits(f, a.widget_id, h, 2, &which, &retry),
	    ST_WS_OK);
	/* The first says no: LIMITED, 0; the second is not counted. */
	assert_int_equal(ws_open_hits(f, a.widget_id, h, 2, &which, &retry),
	    ST_WS_LIMITED);
	assert_int_equal(which, 0);
	assert_true(retry > 0 && retry <= MIN);
	/* The first under a new key: the second's count says no. */
	strlcpy(h[0].key, "ws:192.0.2.2", sizeof(h[0].key));
	assert_int_equal(ws_open_hits(f, a.widget_id, h, 2, &which, &retry),
	    ST_WS_LIMITED);
	assert_int_equal(which, 1);
	/* No limit (max 0) counts nothing; more than two hits: invalid. */
	h[0].max = 0;
	h[1].max = 0;
	assert_int_equal(ws_open_hits(f, a.widget_id, h, 2, &which, &retry),
	    ST_WS_OK);
	{
		struct penc e;
		uint8_t fresh[ST_TOKEN_HASH_LEN];

		hash(fresh, 201);
		ws_open_payload(&e, a.widget_id, "", NULL, 0, fresh,
		    sizeof(fresh), 0, 10);
		e.len -= 5;	/* "no hits", no history_hit off, three on */
		penc_u32(&e, 3);
		pl_enc(&e, &pl_rate_hit, &h[0]);
		pl_enc(&e, &pl_rate_hit, &h[1]);
		pl_enc(&e, &pl_rate_hit, &h[2]);
		penc_u8(&e, 0);
		assert_int_equal(request_err(f, PROTO_ST_WS_OPEN, &e),
		    PROTO_E_INVALID);
	}
	st_widget_free(&a);
}

/*
 * A resume's hit charged the history it reads (history_hit): 1 before
 * the read, then the KiB of records read beyond it, so its max is a
 * budget of history replayed; a new visitor's open (nothing read) costs
 * its 1; a hit whose limit is off (max 0) is charged nothing; a
 * history_hit naming no hit is invalid.
 */
static void
test_ws_open_history_charged(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_rate_hit h[1] = { { "resume:192.0.2.9", MIN, 4 } };
	uint64_t retry = 0;
	uint8_t which = 9;
	char text[2600];

	w_new(f, "Charged", &a);
	ws_new(f, a.widget_id, 7);
	memset(text, 'k', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	/* Its history: a record of 2,599 bytes of text and its rows, 3 KiB. */
	assert_int_equal(ws_say(f, a.widget_id, 7, text), ST_WS_OK);
	/* 1 + 2: 3 of the budget's 4. */
	assert_int_equal(ws_open_charged(f, a.widget_id, 7, h, 1, 1, &which,
	    &retry), ST_WS_OK);
	/* 3 + 1 is within 4: resumed, and charged to 6. */
	assert_int_equal(ws_open_charged(f, a.widget_id, 7, h, 1, 1, &which,
	    &retry), ST_WS_OK);
	/* Spent: refused before anything is read. */
	assert_int_equal(ws_open_charged(f, a.widget_id, 7, h, 1, 1, &which,
	    &retry), ST_WS_LIMITED);
	assert_int_equal(which, 0);
	assert_true(retry > 0 && retry <= MIN);
	/* Another client: nothing read for a new visitor, 1 each, 4 pass. */
	strlcpy(h[0].key, "resume:192.0.2.10", sizeof(h[0].key));
	for (int i = 0; i < 4; i++)
		assert_int_equal(ws_open_charged(f, a.widget_id, 0, h, 1, 1,
		    &which, &retry), ST_WS_OK);
	assert_int_equal(ws_open_charged(f, a.widget_id, 0, h, 1, 1, &which,
	    &retry), ST_WS_LIMITED);
	/* No limit: the resume goes, and nothing is counted or charged. */
	h[0] = (struct st_rate_hit){ "", 0, 0 };
	assert_int_equal(ws_open_charged(f, a.widget_id, 7, h, 1, 1, &which,
	    &retry), ST_WS_OK);
	/* history_hit past the hits: invalid. */
	{
		struct penc e;

		ws_open_enc(&e, a.widget_id, 0, NULL, 0, 1);
		assert_int_equal(request_err(f, PROTO_ST_WS_OPEN, &e),
		    PROTO_E_INVALID);
	}
	st_widget_free(&a);
}

/*
 * A visitor session's bytes as storaged stores them: format 2 (the rows
 * of recordtab.h's ST_WSESS_ROWS), its id ('~' and 32 hex digits), its
 * widget's internal id, made and last active (now), no contact, and its
 * expiry (idle for the default). The same bytes under version 1 (as
 * format 1 wrote them once it had the expiry) read the same: the session
 * goes on, and its use moves its expiry. A message within a minute of
 * the last stored activity leaves the session as it is (wsess.c's
 * touch_due); one a minute later moves it.
 */
static void
test_wsess_bytes(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	uint8_t h[ST_TOKEN_HASH_LEN], buf[512], again[512];
	char s[ST_WIDGET_MAX + 1];
	struct pdec d;
	size_t n;

	store_wsess_settings(f->st, 0, 0);
	w_new(f, "Bytes", &a);
	assert_int_equal(ws_say(f, a.widget_id, 5, "x"), ST_WS_OK);
	hash(h, 5);
	n = db_value(f, "wsessions", h, sizeof(h), buf, sizeof(buf));
	assert_true(n > 1);
	assert_int_equal(buf[0], 2);
	pdec_init(&d, buf + 1, n - 1);
	pdec_strbuf(&d, s, sizeof(s));
	assert_int_equal(strlen(s), 33);
	assert_int_equal(s[0], '~');
	pdec_strbuf(&d, s, sizeof(s));
	assert_string_equal(s, a.id);
	assert_int_equal(pdec_u64(&d), fake_now);
	assert_int_equal(pdec_u64(&d), fake_now);
	pdec_strbuf(&d, s, sizeof(s));
	assert_string_equal(s, "");
	assert_int_equal(pdec_u64(&d), fake_now + ST_SESSION_IDLE_MS);
	assert_int_equal(pdec_done(&d), 0);

	buf[0] = 1;
	db_write(f, "wsessions", h, sizeof(h), buf, n);
	fake_now += 59999;
	assert_int_equal(ws_say_stored(f, a.widget_id, 5, "y"), ST_WS_OK);
	assert_int_equal(db_value(f, "wsessions", h, sizeof(h), again,
	    sizeof(again)), n);
	assert_memory_equal(again, buf, n);	/* not written again */
	fake_now += 1;
	assert_int_equal(ws_say_stored(f, a.widget_id, 5, "z"), ST_WS_OK);
	assert_int_equal(db_value(f, "wsessions", h, sizeof(h), buf,
	    sizeof(buf)), n);
	assert_int_equal(buf[0], 2);
	pdec_init(&d, buf + 1, n - 1);
	pdec_strbuf(&d, s, sizeof(s));
	pdec_strbuf(&d, s, sizeof(s));
	pdec_u64(&d);
	assert_int_equal(pdec_u64(&d), fake_now);	/* active now */
	pdec_strbuf(&d, s, sizeof(s));
	assert_int_equal(pdec_u64(&d), fake_now + ST_SESSION_IDLE_MS);
	assert_int_equal(db_entries(f, "wsess_expiry"), 1);
	st_widget_free(&a);
}

/* A data directory from before the index: backfilled in steps, then swept. */
static void
test_sweep_backfill(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct store_sweep o;
	struct wsbegin wb;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi ws, wexp, meta;
	MDB_val k, v;
	static const char bk[] = "wsess_backfill";
	uint8_t rec[256], h[ST_TOKEN_HASH_LEN];
	uint32_t total = 0;
	int i;

	store_wsess_settings(f->st, 0, 0);
	w_new(f, "Old", &a);
	for (i = 0; i < 100; i++)
		assert_int_equal(ws_say(f, a.widget_id, (uint8_t)i, "x"),
		    ST_WS_OK);
	/* Back to the old layout: records without expires_at, no index. */
	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "wsessions", 0, &ws), 0);
	assert_int_equal(mdb_dbi_open(txn, "wsess_expiry", 0, &wexp), 0);
	assert_int_equal(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	for (i = 0; i < 100; i++) {
		hash(h, (uint8_t)i);
		k.mv_data = h;
		k.mv_size = sizeof(h);
		assert_int_equal(mdb_get(txn, ws, &k, &v), 0);
		assert_true(v.mv_size > 8 && v.mv_size <= sizeof(rec));
		memcpy(rec, v.mv_data, v.mv_size - 8);
		rec[0] = 1;	/* format 1, which ended there */
		v.mv_data = rec;
		v.mv_size -= 8;
		assert_int_equal(mdb_put(txn, ws, &k, &v, 0), 0);
	}
	assert_int_equal(mdb_drop(txn, wexp, 0), 0);
	k.mv_data = (void *)bk;
	k.mv_size = sizeof(bk) - 1;
	assert_int_equal(mdb_del(txn, meta, &k, NULL), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);
	store_wsess_settings(f->st, 0, 0);

	/* They still work before they are indexed; one used is indexed. */
	fake_now += 10;
	assert_int_equal(ws_say_stored(f, a.widget_id, 7, "old"), ST_WS_OK);
	assert_int_equal(db_entries(f, "wsess_expiry"), 1);
	store_wsess_settings(f->st, 0, 0);
	/* Indexed in steps of 30 (the one just used already is). */
	do {
		sweep_once(f, 30, &o);
		assert_true(o.indexed <= 30);
		assert_int_equal(o.expired, 0);
		total += o.indexed;
	} while (o.more);
	assert_int_equal(total, 99);
	assert_int_equal(db_entries(f, "wsess_expiry"), 100);
	/* Done once: a reopen starts no second backfill. */
	sweep_once(f, 30, &o);
	assert_int_equal(o.indexed, 0);
	assert_int_equal(o.more, 0);
	/* Idle past the default 30 days: all swept. */
	fake_now += ST_SESSION_IDLE_MS + 1;
	assert_int_equal(sweep_all(f), 100);
	assert_int_equal(db_entries(f, "wsessions"), 0);
	assert_int_equal(ws_begin_full(f, a.widget_id, 7, "back", 0, 0, &wb), 0);
	assert_int_equal(wb.result, ST_WS_OK);
	assert_int_equal(wb.created, 1);	/* a new visitor again */
	wsbegin_free(&wb);
	st_widget_free(&a);
}

/*
 * A batch runs its requests in its own txn; one that fails after it wrote
 * (here: deleting a widget whose order entry went missing behind the
 * store's back) makes dispatch run the batch again, each write nested.
 * The others stand, the failed one left nothing, and the rate counts of
 * the first run are not counted again.
 */
static void
test_batch_rerun(void **state)
{
	struct fix *f = *state;
	struct st_widget a, d, got;
	struct dreply r[3];
	struct dbatch b;
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi order;
	uint8_t h1[ST_TOKEN_HASH_LEN], h2[ST_TOKEN_HASH_LEN];
	struct penc e[3];
	static const uint16_t type[3] = { PROTO_ST_WS_BEGIN,
	    PROTO_ST_WIDGET_DELETE, PROTO_ST_WS_BEGIN };
	int i;

	w_new(f, "Visited", &a);
	w_new(f, "Doomed", &d);
	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "widget_order", 0, &order), 0);
	assert_int_equal(mdb_drop(txn, order, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);

	/* Two first messages, each counted once against a limit of 2. */
	hash(h1, 1);
	hash(h2, 2);
	ws_begin_payload(&e[0], a.widget_id, h1, sizeof(h1), "one",
	    "ws:9.9.9.9", 2, 0);
	penc_init(&e[1]);
	penc_str(&e[1], d.widget_id);
	ws_begin_payload(&e[2], a.widget_id, h2, sizeof(h2), "two",
	    "ws:9.9.9.9", 2, 0);
	/* As storaged's loop runs a batch (server_batch). */
	assert_int_equal(dispatch_begin(f->st, f->rl, &b, 1), 0);
	for (i = 0; i < 3; i++)
		dispatch_run(&b, type[i], e[i].buf, e[i].len, &r[i]);
	assert_int_equal(dispatch_rerun(&b), 1);
	for (i = 0; i < 3; i++) {
		dreply_free(&r[i]);
		dispatch_run(&b, type[i], e[i].buf, e[i].len, &r[i]);
		penc_free(&e[i]);
	}
	assert_int_equal(dispatch_rerun(&b), 0);
	assert_int_equal(dispatch_end(&b), 0);

	assert_int_equal(r[0].err, 0);
	assert_int_equal(r[0].enc.buf[0], ST_WS_OK);
	assert_int_equal(r[1].err, PROTO_E_INTERNAL);
	assert_int_equal(r[2].err, 0);
	assert_int_equal(r[2].enc.buf[0], ST_WS_OK);
	for (i = 0; i < 3; i++)
		dreply_free(&r[i]);

	/* Both sessions were stored; the widget is still there. */
	fix_turns_end(f);	/* as their replies would */
	assert_int_equal(ws_say_stored(f, a.widget_id, 1, "again"), ST_WS_OK);
	assert_int_equal(w_get(f, d.widget_id, &got), 0);
	st_widget_free(&got);
	/* The limit of 2 was reached by the batch, not before. */
	hash(h1, 3);
	ws_begin_payload(&e[0], a.widget_id, h1, sizeof(h1), "three",
	    "ws:9.9.9.9", 2, 0);
	assert_int_equal(request(f, PROTO_ST_WS_BEGIN, &e[0], &r[0]), 0);
	assert_int_equal(r[0].enc.buf[0], ST_WS_LIMITED);
	dreply_free(&r[0]);
	st_widget_free(&a);
	st_widget_free(&d);
}

/* ------------------------------------------------ feedback (issue 26) */

/* An assistant message appended to conversation conv: its id into id. */
static void
fb_answer(struct fix *f, const char *conv, char id[ST_ID_HEX + 1])
{
	struct st_msg_stored ms;
	struct dreply r;
	struct penc e;

	append_payload(&e, conv, "assistant", "an answer", "", 1, 2);
	assert_int_equal(request(f, PROTO_ST_MSG_APPEND, &e, &r), 0);
	assert_int_equal(st_rep_decode(PROTO_ST_MSG_APPEND, r.enc.buf,
	    r.enc.len, &ms), 0);
	strlcpy(id, ms.id, ST_ID_HEX + 1);
	st_rep_free(PROTO_ST_MSG_APPEND, &ms);
	dreply_free(&r);
}

/* The id of conversation conv's first message. */
static void
first_msg_id(struct fix *f, const char *conv, char id[ST_ID_HEX + 1])
{
	struct st_conv_msgs h;

	assert_int_equal(request_dec(f, PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ conv, 0 }, &h), 0);
	assert_true(h.n >= 1);
	strlcpy(id, h.msgs[0].id, ST_ID_HEX + 1);
	st_rep_free(PROTO_ST_CONV_GET, &h);
}

/* ST_WS_FEEDBACK of session tb: its result (changed into *changed). */
static int
fb_thumb(struct fix *f, const char *wid, uint8_t tb, const char *conv,
    const char *msg, uint8_t value, int *changed)
{
	struct st_ws_feedback_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN, .conv_id = conv, .msg_id = msg,
	    .value = value };
	struct st_ws_feedback_rep rep;

	hash(q.token, tb);
	assert_int_equal(request_dec(f, PROTO_ST_WS_FEEDBACK, &q, &rep), 0);
	if (changed != NULL)
		*changed = rep.changed;
	return rep.result;
}

/* The default organisation's summary rows, as the install key asks. */
static void
fb_summary(struct fix *f, struct st_fb_summary *s)
{
	struct st_who who = { .kind = ST_WHO_KEY, .id = "install",
	    .org = "default", .role = ST_ROLE_OWNER };
	struct dreply r;
	struct dbatch b;

	dispatch_begin(f->st, f->rl, &b, 0);
	b.who = &who;
	dispatch_run(&b, PROTO_ST_FEEDBACK_SUMMARY, NULL, 0, &r);
	assert_int_equal(dispatch_end(&b), 0);
	assert_int_equal(r.err, 0);
	assert_int_equal(st_rep_decode(PROTO_ST_FEEDBACK_SUMMARY, r.enc.buf,
	    r.enc.len, s), 0);
	dreply_free(&r);
}

/* The summary's one row is (up, down, ratings, rating_sum); or none. */
static void
fb_counts_are(struct fix *f, uint32_t up, uint32_t down, uint32_t n,
    uint32_t sum)
{
	struct st_fb_summary s;

	fb_summary(f, &s);
	assert_int_equal(s.total.up, up);
	assert_int_equal(s.total.down, down);
	assert_int_equal(s.total.ratings, n);
	assert_int_equal(s.total.rating_sum, sum);
	if (up + down + n == 0) {
		assert_int_equal(s.nw, 0);
		assert_int_equal(s.na, 0);
	} else {
		assert_int_equal(s.nw, 1);
		assert_int_equal(s.na, 1);
		assert_int_equal(s.widgets[0].up, up);
		assert_int_equal(s.widgets[0].down, down);
		assert_int_equal(s.widgets[0].ratings, n);
		assert_int_equal(s.widgets[0].rating_sum, sum);
		assert_string_equal(s.widgets[0].name, "Fb");
		assert_string_equal(s.agents[0].id, "");
		assert_int_equal(s.agents[0].up, up);
		assert_int_equal(s.agents[0].rating_sum, sum);
	}
	st_rep_free(PROTO_ST_FEEDBACK_SUMMARY, &s);
}

/* A feedback_counts row put as storaged writes one: up, down, ratings, sum. */
static void
fb_row_put(MDB_txn *txn, MDB_dbi dbi, const char *key, size_t klen,
    uint32_t up, uint32_t down, uint32_t ratings, uint32_t sum)
{
	MDB_val k = { klen, (void *)key }, v;
	struct penc e;

	penc_init(&e);
	penc_u8(&e, ST_RECORD_VERSION);
	penc_u32(&e, up);
	penc_u32(&e, down);
	penc_u32(&e, ratings);
	penc_u32(&e, sum);
	v.mv_size = e.len;
	v.mv_data = e.buf;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	penc_free(&e);
}

/*
 * An organisation's (widget, agent) rows are many more than its widgets
 * and agents: 60 widgets by 40 agents (2,400 rows, past the 2,000 the
 * summary once carried, cutting the rest without a word) are summed
 * whole, per widget, per agent and in total, most rated first. Widget i
 * agent j's row: i + 1 up, j down, one rating of 3. Then a list past
 * ST_FB_LIST_MAX.
 */
static void
test_feedback_many(void **state)
{
	struct fix *f = *state;
	struct st_fb_summary s;
	char key[96], agent[ST_ID_HEX + 1];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	int i, j;

	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "feedback_counts", 0, &dbi), 0);
	for (i = 0; i < 60; i++)
		for (j = 0; j < 40; j++) {
			fb_row_put(txn, dbi, key, (size_t)snprintf(key,
			    sizeof(key), "default%cw%02d%c%032x", 0, i, 0, j),
			    (uint32_t)i + 1, (uint32_t)j, 1, 3);
		}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);

	fb_summary(f, &s);
	assert_int_equal(s.cut, 0);
	assert_int_equal(s.total.up, 40 * 1830);
	assert_int_equal(s.total.down, 60 * 780);
	assert_int_equal(s.total.ratings, 2400);
	assert_int_equal(s.total.rating_sum, 7200);
	assert_int_equal(s.nw, 60);
	assert_int_equal(s.na, 40);
	for (i = 0; i < 60; i++) {	/* widget 59 rated most */
		snprintf(key, sizeof(key), "w%02d", 59 - i);
		assert_string_equal(s.widgets[i].id, key);
		assert_string_equal(s.widgets[i].name, "");
		assert_int_equal(s.widgets[i].up, 40 * (60 - i));
		assert_int_equal(s.widgets[i].down, 780);
		assert_int_equal(s.widgets[i].ratings, 40);
	}
	for (j = 0; j < 40; j++) {	/* agent 39 rated most */
		snprintf(agent, sizeof(agent), "%032x", 39 - j);
		assert_string_equal(s.agents[j].id, agent);
		assert_int_equal(s.agents[j].up, 1830);
		assert_int_equal(s.agents[j].down, 60 * (39 - j));
		assert_int_equal(s.agents[j].rating_sum, 180);
	}
	st_rep_free(PROTO_ST_FEEDBACK_SUMMARY, &s);

	/*
	 * 5,001 widgets more, one thumb up each under the default agent:
	 * the widgets cut at ST_FB_LIST_MAX, the least rated left out, the
	 * total still counting them; the default agent rated most.
	 */
	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "feedback_counts", 0, &dbi), 0);
	for (i = 0; i < 5001; i++) {
		fb_row_put(txn, dbi, key, (size_t)snprintf(key, sizeof(key),
		    "default%cx%04d%c", 0, i, 0), 1, 0, 0, 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);
	fb_summary(f, &s);
	assert_int_equal(s.cut, 1);
	assert_int_equal(s.nw, ST_FB_LIST_MAX);
	assert_string_equal(s.widgets[0].id, "w59");
	assert_string_equal(s.widgets[59].id, "w00");
	assert_string_equal(s.widgets[60].id, "x0000");
	assert_string_equal(s.widgets[ST_FB_LIST_MAX - 1].id, "x4939");
	assert_int_equal(s.total.up, 40 * 1830 + 5001);
	assert_int_equal(s.na, 41);
	assert_string_equal(s.agents[0].id, "");
	assert_int_equal(s.agents[0].up, 5001);
	st_rep_free(PROTO_ST_FEEDBACK_SUMMARY, &s);
}

/*
 * Thumbs and ratings: only the session's own conversation's assistant
 * messages, a change counted once, taken back, replaced; the counts
 * exact, and gone with the conversation.
 */
static void
test_feedback(void **state)
{
	struct fix *f = *state;
	struct st_ws_rating_req rq = { .token_len = ST_TOKEN_HASH_LEN,
	    .conv_id = "", .score = 4, .comment = "good" };
	struct st_ws_rating_rep rr;
	struct st_ws_feedback_req fq = { .token_len = ST_TOKEN_HASH_LEN,
	    .conv_id = "", .value = ST_FEEDBACK_UP };
	struct wsbegin a, b;
	struct st_widget w, in, off;
	char m1[ST_ID_HEX + 1], m2[ST_ID_HEX + 1], wid[ST_WID_LEN + 1];
	char mine[ST_ID_HEX + 1];
	int changed;

	st_widget_defaults(&in);
	in.name = strdup("Fb");
	in.rating_enabled = 1;
	assert_int_equal(w_create(f, &in, &w), 0);
	st_widget_free(&in);
	assert_int_equal(ws_begin_full(f, w.widget_id, 1, "hi", 0, 0, &a), 0);
	assert_int_equal(ws_begin_full(f, w.widget_id, 2, "yo", 0, 0, &b), 0);
	fb_answer(f, a.conv.id, m1);
	fb_answer(f, b.conv.id, m2);
	fb_counts_are(f, 0, 0, 0, 0);

	/* Up, up again (no change), down, taken back. */
	assert_int_equal(fb_thumb(f, w.widget_id, 1, a.conv.id, m1,
	    ST_FEEDBACK_UP, &changed), ST_WS_OK);
	assert_int_equal(changed, 1);
	assert_int_equal(fb_thumb(f, w.widget_id, 1, "", m1, ST_FEEDBACK_UP,
	    &changed), ST_WS_OK);
	assert_int_equal(changed, 0);
	fb_counts_are(f, 1, 0, 0, 0);
	assert_int_equal(fb_thumb(f, w.widget_id, 1, a.conv.id, m1,
	    ST_FEEDBACK_DOWN, NULL), ST_WS_OK);
	fb_counts_are(f, 0, 1, 0, 0);
	assert_int_equal(fb_thumb(f, w.widget_id, 1, a.conv.id, m1,
	    ST_FEEDBACK_NONE, NULL), ST_WS_OK);
	fb_counts_are(f, 0, 0, 0, 0);

	/* Another session's conversation, or its message from one's own. */
	assert_int_equal(fb_thumb(f, w.widget_id, 2, a.conv.id, m1,
	    ST_FEEDBACK_UP, NULL), ST_WS_NO_CONV);
	assert_int_equal(fb_thumb(f, w.widget_id, 2, b.conv.id, m1,
	    ST_FEEDBACK_UP, NULL), ST_WS_NO_MSG);
	/* A visitor's own message, an unknown session. */
	first_msg_id(f, a.conv.id, mine);
	assert_int_equal(fb_thumb(f, w.widget_id, 1, a.conv.id, mine,
	    ST_FEEDBACK_UP, NULL), ST_WS_NO_MSG);
	assert_int_equal(fb_thumb(f, w.widget_id, 9, a.conv.id, m1,
	    ST_FEEDBACK_UP, NULL), ST_WS_NO_SESSION);
	fb_counts_are(f, 0, 0, 0, 0);

	/* Ratings: the last counts; out of bounds is invalid. */
	assert_int_equal(fb_thumb(f, w.widget_id, 2, b.conv.id, m2,
	    ST_FEEDBACK_UP, NULL), ST_WS_OK);
	rq.widget_id = w.widget_id;
	hash(rq.token, 1);
	assert_int_equal(request_dec(f, PROTO_ST_WS_RATING, &rq, &rr), 0);
	assert_int_equal(rr.result, ST_WS_OK);
	fb_counts_are(f, 1, 0, 1, 4);
	rq.score = 2;
	assert_int_equal(request_dec(f, PROTO_ST_WS_RATING, &rq, &rr), 0);
	fb_counts_are(f, 1, 0, 1, 2);
	rq.score = 6;
	assert_int_equal(request_st_err(f, PROTO_ST_WS_RATING, &rq),
	    PROTO_E_INVALID);
	rq.score = 0;
	assert_int_equal(request_st_err(f, PROTO_ST_WS_RATING, &rq),
	    PROTO_E_INVALID);
	/* A widget without ratings (the default) or thumbs refuses them. */
	w_new(f, "Off", &off);
	assert_int_equal(ws_say(f, off.widget_id, 3, "hello"), ST_WS_OK);
	rq.widget_id = off.widget_id;
	hash(rq.token, 3);
	rq.score = 5;
	assert_int_equal(request_st_err(f, PROTO_ST_WS_RATING, &rq),
	    PROTO_E_INVALID);
	st_widget_defaults(&in);
	in.feedback_enabled = 0;
	strlcpy(wid, off.widget_id, sizeof(wid));
	st_widget_free(&off);
	assert_int_equal(w_update(f, wid, ST_WF_FEEDBACK, &in, &off, NULL), 0);
	st_widget_free(&in);
	fq.widget_id = off.widget_id;
	fq.msg_id = m1;
	hash(fq.token, 3);
	assert_int_equal(request_st_err(f, PROTO_ST_WS_FEEDBACK, &fq),
	    PROTO_E_INVALID);
	fb_counts_are(f, 1, 0, 1, 2);

	/* A deleted conversation's part goes; the other's stays. */
	assert_int_equal(request_st_err(f, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ a.conv.id }), 0);
	fb_counts_are(f, 1, 0, 0, 0);
	assert_int_equal(request_st_err(f, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ b.conv.id }), 0);
	fb_counts_are(f, 0, 0, 0, 0);
	assert_int_equal(db_entries(f, "feedback_counts"), 0);
	wsbegin_free(&a);
	wsbegin_free(&b);
	st_widget_free(&w);
	st_widget_free(&off);
}

/* ------------------------------------------------ identity (issue 26) */

/* hex = HMAC-SHA256 of msg keyed with secret, as a page's server signs. */
static void
sign(const char *secret, const char *msg, char hex[ST_SECRET_HEX + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_non_null(HMAC(EVP_sha256(), secret, ST_SECRET_HEX,
	    (const unsigned char *)msg, strlen(msg), mac, &n));
	proto_hex_encode(mac, n, hex);
}

/* Session tb's identify of ext on wid, signed with secret: *rep. */
static void
identify_signed(struct fix *f, const char *wid, const char *secret,
    uint8_t tb, const char *ext, struct st_ws_identify_rep *rep)
{
	struct st_ws_identify_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN, .external_id = ext, .name = "",
	    .email = "", .create = !contact_nocreate };
	char hex[ST_SECRET_HEX + 1];

	sign(secret, ext, hex);
	q.hash = hex;
	hash(q.token, tb);
	assert_int_equal(request_dec(f, PROTO_ST_WS_IDENTIFY, &q, rep), 0);
}

/* Session tb's verified identify of ext on wid (secret): its contact id. */
static void
identify_ok(struct fix *f, const char *wid, const char *secret, uint8_t tb,
    const char *ext, char id[ST_ID_HEX + 1])
{
	struct st_ws_identify_rep rep;

	identify_signed(f, wid, secret, tb, ext, &rep);
	assert_int_equal(rep.result, ST_WS_OK);
	assert_int_equal(rep.verified, 1);
	strlcpy(id, rep.contact_id, ST_ID_HEX + 1);
}

/* ST_CHAT_BEGIN's result for session of widget w (internal id). */
static int
http_new(struct fix *f, const char *w, const char *session)
{
	const struct st_chat_begin_req q = { .widget = w, .session = session,
	    .content = "hi", .rate_key = "", .history_max = 30 };
	struct dreply r;
	struct pdec d;
	int result;

	assert_int_equal(request_st(f, PROTO_ST_CHAT_BEGIN, &q, &r), 0);
	pdec_init(&d, r.enc.buf, r.enc.len);
	result = pdec_u8(&d);
	dreply_free(&r);
	return result;
}

/* Session tb's verified identify of ext on wid (secret): its result. */
static int
identify_result(struct fix *f, const char *wid, const char *secret,
    uint8_t tb, const char *ext)
{
	struct st_ws_identify_rep rep;
	int result;

	identify_signed(f, wid, secret, tb, ext, &rep);
	result = rep.result;
	st_rep_free(PROTO_ST_WS_IDENTIFY, &rep);
	return result;
}

/*
 * A widget's new sessions a minute, spent, stay spent however many
 * clients' windows fill the rate table after (the fixture's 1000 twice
 * over): a client's key never makes room by dropping a global budget.
 */
static void
test_new_sessions_budget_kept(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	uint64_t retry;
	char key[64];
	int i;

	w_new(f, "Kept", &a);
	store_wsess_settings(f->st, 0, 2);
	assert_int_equal(ws_say(f, a.widget_id, 1, "hi"), ST_WS_OK);
	assert_int_equal(ws_say(f, a.widget_id, 2, "hi"), ST_WS_OK);
	assert_int_equal(ws_say(f, a.widget_id, 3, "hi"), ST_WS_BUSY);
	fake_mono += 1000;
	log_set_level(LOG_LEVEL_FATAL);
	for (i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "ws:2001:db8:%x::", i);
		assert_int_equal(ratelimit_hit(f->rl, key, strlen(key), MIN,
		    10, &retry), 0);
	}
	log_set_level(LOG_LEVEL_WARN);
	assert_true(ratelimit_stats(f->rl).evicted >= 1000);
	assert_int_equal(ws_say(f, a.widget_id, 4, "hi"), ST_WS_BUSY);
	/* Its minute over, it takes new visitors again. */
	fake_mono += MIN;
	assert_int_equal(ws_say(f, a.widget_id, 4, "hi"), ST_WS_OK);
	st_widget_free(&a);
}

/*
 * WIDGET_NEW_SESSIONS_PER_MINUTE is one count per widget whichever way
 * its sessions start: the default widget's HTTP chat sessions and its
 * WebSocket visitors' (a message, a contact submission, an identify)
 * together, and a widget's under a reset public id as under the old one.
 */
static void
test_new_sessions_one_budget(void **state)
{
	struct fix *f = *state;
	struct st_widget d, a, b;
	struct st_secret_rep sec;
	struct st_contact c;
	char gone[ST_WID_LEN + 1];
	int result;

	default_widget(f, &d);
	store_wsess_settings(f->st, 0, 2);
	/* Spent over HTTP: the default widget's visitors start none. */
	assert_int_equal(http_new(f, ST_DEFAULT_WIDGET, "budget-1"),
	    ST_CHAT_OK);
	assert_int_equal(http_new(f, ST_DEFAULT_WIDGET, "budget-2"),
	    ST_CHAT_OK);
	assert_int_equal(http_new(f, ST_DEFAULT_WIDGET, "budget-3"),
	    ST_CHAT_BUSY);
	assert_int_equal(ws_say(f, d.widget_id, 1, "hi"), ST_WS_BUSY);
	assert_int_equal(contact_submit(f, d.widget_id, 1, "Tim", "", "",
	    &result, &c), 0);
	assert_int_equal(result, ST_WS_BUSY);
	/* A minute later, spent over the WebSocket: HTTP starts none. */
	fake_mono += MIN;
	assert_int_equal(ws_say(f, d.widget_id, 2, "hi"), ST_WS_OK);
	assert_int_equal(ws_say(f, d.widget_id, 3, "hi"), ST_WS_OK);
	assert_int_equal(http_new(f, ST_DEFAULT_WIDGET, "budget-4"),
	    ST_CHAT_BUSY);
	/* Sessions already made go on. */
	assert_int_equal(http_new(f, ST_DEFAULT_WIDGET, "budget-1"),
	    ST_CHAT_OK);
	assert_int_equal(ws_say(f, d.widget_id, 2, "again"), ST_WS_OK);

	/* Another widget: its own count, which a new public id keeps. */
	w_new(f, "Budget", &a);
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_SECRET_SET,
	    &(struct st_id_req){ a.widget_id }, &sec), 0);
	assert_int_equal(ws_say(f, a.widget_id, 4, "hi"), ST_WS_OK);
	assert_int_equal(identify_result(f, a.widget_id, sec.secret, 5,
	    "user-5"), ST_WS_OK);
	assert_int_equal(w_simple(f, PROTO_ST_WIDGET_RESET_ID, a.widget_id,
	    &b, gone), 0);
	assert_int_equal(ws_say(f, b.widget_id, 6, "hi"), ST_WS_BUSY);
	assert_int_equal(contact_submit(f, b.widget_id, 6, "Ann", "", "",
	    &result, &c), 0);
	assert_int_equal(result, ST_WS_BUSY);
	/*
	 * An identify that would make a session: BUSY, nothing kept (counted
	 * after making it, its batch's txn could not undo it alone: error).
	 */
	assert_int_equal(identify_result(f, b.widget_id, sec.secret, 7,
	    "user-7"), ST_WS_BUSY);
	assert_int_equal(ws_say_stored(f, b.widget_id, 7, "hi"),
	    ST_WS_NO_SESSION);
	/* A minute later it is made. */
	fake_mono += MIN;
	assert_int_equal(identify_result(f, b.widget_id, sec.secret, 7,
	    "user-7"), ST_WS_OK);
	assert_int_equal(ws_say_stored(f, b.widget_id, 7, "hi"), ST_WS_OK);
	st_rep_free(PROTO_ST_WIDGET_SECRET_SET, &sec);
	st_widget_free(&d);
	st_widget_free(&a);
	st_widget_free(&b);
}

/*
 * A verified session's contact submission fills what its contact lacks,
 * but never an email or phone another contact holds: that contact keeps
 * it, and a later submission of it still finds that contact.
 */
/* Contact id's email is email, verified or not. */
static void
contact_email_is(struct fix *f, const char *id, const char *email,
    int verified)
{
	struct st_contact_get_rep g;

	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_GET,
	    &(struct st_id_page_req){ id, ST_LIST_MAX, "" }, &g), 0);
	assert_string_equal(g.contact.email, email);
	assert_int_equal(g.contact.email_verified, verified);
	st_rep_free(PROTO_ST_CONTACT_GET, &g);
}

/*
 * q (its widget's) identifies session tb as ext, verified, with email
 * signed or not; its contact's id in id.
 */
static void
identify_email(struct fix *f, struct st_ws_identify_req *q,
    const char *secret, uint8_t tb, const char *ext, const char *email,
    int signed_email, char id[ST_ID_HEX + 1])
{
	struct st_ws_identify_rep rep;
	char idsig[ST_SECRET_HEX + 1], esig[ST_SECRET_HEX + 1];
	char what[ST_EMAIL_MAX + sizeof(ST_EMAIL_HASH_PREFIX)];

	ws_new(f, q->widget_id, tb);
	hash(q->token, tb);
	sign(secret, ext, idsig);
	snprintf(what, sizeof(what), "%s%s", ST_EMAIL_HASH_PREFIX, email);
	sign(secret, what, esig);
	q->external_id = ext;
	q->email = email;
	q->hash = idsig;
	q->email_hash = signed_email ? esig : "";
	assert_int_equal(request_dec(f, PROTO_ST_WS_IDENTIFY, q, &rep), 0);
	assert_int_equal(rep.result, ST_WS_OK);
	assert_int_equal(rep.verified, 1);
	assert_int_equal(rep.email_verified, signed_email);
	strlcpy(id, rep.contact_id, ST_ID_HEX + 1);
}

/*
 * An identify's email is verified only by a signature of its own (of
 * "email:" and the email), and only with the id's: the id's signature
 * of a bare email, another email's, or an unverified id verify none.
 * The contact records its email verified when the email it holds is
 * one the site signed.
 */
static void
test_identify_email(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_secret_rep sec;
	struct st_ws_identify_rep rep;
	char idsig[ST_SECRET_HEX + 1], esig[ST_SECRET_HEX + 1],
	    bare[ST_SECRET_HEX + 1], other[ST_SECRET_HEX + 1],
	    vid[ST_ID_HEX + 1];
	struct st_ws_identify_req q = { .token_len = ST_TOKEN_HASH_LEN,
	    .external_id = "user-7", .name = "", .email = "ada@example.com",
	    .hash = idsig, .create = 1 };
	struct {
		uint8_t tb;
		const char *hash, *email_hash;
		int verified, email_verified;
	} cases[] = {
		{ 11, idsig, esig, 1, 1 },
		{ 12, idsig, "", 1, 0 },
		{ 13, idsig, bare, 1, 0 },
		{ 14, idsig, other, 1, 0 },
		{ 15, other, esig, 0, 0 },
	};
	size_t i;

	w_new(f, "Mails", &a);
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_SECRET_SET,
	    &(struct st_id_req){ a.widget_id }, &sec), 0);
	sign(sec.secret, "user-7", idsig);
	sign(sec.secret, ST_EMAIL_HASH_PREFIX "ada@example.com", esig);
	sign(sec.secret, "ada@example.com", bare);
	sign(sec.secret, ST_EMAIL_HASH_PREFIX "eve@example.com", other);
	q.widget_id = a.widget_id;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ws_new(f, a.widget_id, cases[i].tb);
		hash(q.token, cases[i].tb);
		q.hash = cases[i].hash;
		q.email_hash = cases[i].email_hash;
		assert_int_equal(request_dec(f, PROTO_ST_WS_IDENTIFY, &q,
		    &rep), 0);
		assert_int_equal(rep.result, ST_WS_OK);
		assert_int_equal(rep.verified, cases[i].verified);
		assert_int_equal(rep.email_verified, cases[i].email_verified);
		if (i == 0)
			strlcpy(vid, rep.contact_id, sizeof(vid));
	}
	/* The contact keeps the signed email as verified, later ones aside. */
	contact_email_is(f, vid, "ada@example.com", 1);

	/* Given unsigned first: not verified until the site signs it. */
	identify_email(f, &q, sec.secret, 21, "user-8", "Bob@Example.com", 0,
	    vid);
	contact_email_is(f, vid, "bob@example.com", 0);
	identify_email(f, &q, sec.secret, 22, "user-8", "Bob@Example.com", 1,
	    vid);
	contact_email_is(f, vid, "bob@example.com", 1);
	/* Another email signed later does not replace, nor verify, the one held. */
	identify_email(f, &q, sec.secret, 23, "user-9", "cy@example.com", 0,
	    vid);
	identify_email(f, &q, sec.secret, 24, "user-9", "dee@example.com", 1,
	    vid);
	contact_email_is(f, vid, "cy@example.com", 0);
	st_widget_free(&a);
}

static void
test_identify_submit(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_secret_rep sec;
	struct st_contact c;
	char other[ST_ID_HEX + 1], vid[ST_ID_HEX + 1];
	int result;

	w_new(f, "Ident", &a);
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_SECRET_SET,
	    &(struct st_id_req){ a.widget_id }, &sec), 0);
	ws_new(f, a.widget_id, 1);
	assert_int_equal(contact_submit(f, a.widget_id, 1, "Other",
	    "other@example.com", "+15551234567", &result, &c), 0);
	assert_int_equal(result, ST_WS_OK);
	strlcpy(other, c.id, sizeof(other));
	st_contact_free(&c);

	identify_ok(f, a.widget_id, sec.secret, 2, "user-42", vid);
	assert_string_not_equal(vid, other);
	/* The phone is the other contact's: it stays there. */
	assert_int_equal(contact_submit(f, a.widget_id, 2, "", "",
	    "+15551234567", &result, &c), 0);
	assert_int_equal(result, ST_WS_OK);
	assert_string_equal(c.id, vid);
	assert_string_equal(c.phone, "");
	st_contact_free(&c);
	/* An email nobody holds is filled in. */
	assert_int_equal(contact_submit(f, a.widget_id, 2, "", "v@example.com",
	    "", &result, &c), 0);
	assert_string_equal(c.id, vid);
	assert_string_equal(c.email, "v@example.com");
	st_contact_free(&c);
	/* Another visitor giving the phone still finds its contact. */
	ws_new(f, a.widget_id, 3);
	assert_int_equal(contact_submit(f, a.widget_id, 3, "", "",
	    "+15551234567", &result, &c), 0);
	assert_int_equal(result, ST_WS_OK);
	assert_string_equal(c.id, other);
	st_contact_free(&c);
	st_widget_free(&a);
}

/*
 * A session that only named a verified contact's email on the contact
 * form is not that contact's verified session: its own identify as
 * another user verifies (not "taken"), and makes that user's contact.
 */
static void
test_identify_named_by_form(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_secret_rep sec;
	struct st_contact c;
	char v1[ST_ID_HEX + 1], v2[ST_ID_HEX + 1];
	int result;

	w_new(f, "Named", &a);
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_SECRET_SET,
	    &(struct st_id_req){ a.widget_id }, &sec), 0);
	identify_ok(f, a.widget_id, sec.secret, 1, "user-1", v1);
	assert_int_equal(contact_submit(f, a.widget_id, 1, "", "v1@example.com",
	    "", &result, &c), 0);
	assert_string_equal(c.id, v1);
	st_contact_free(&c);
	/* Another visitor types user-1's email: an unverified link. */
	ws_new(f, a.widget_id, 4);
	assert_int_equal(contact_submit(f, a.widget_id, 4, "", "v1@example.com",
	    "", &result, &c), 0);
	assert_int_equal(result, ST_WS_OK);
	assert_string_equal(c.id, v1);
	st_contact_free(&c);
	/* Its own identify is its own. */
	identify_ok(f, a.widget_id, sec.secret, 4, "user-2", v2);
	assert_string_not_equal(v2, v1);
	st_widget_free(&a);
}

/* Whether session tb's claim (its record's bytes) holds s. */
static int
claim_holds(struct fix *f, uint8_t tb, const char *s)
{
	uint8_t h[ST_TOKEN_HASH_LEN], buf[1024];
	size_t n;

	hash(h, tb);
	n = db_value(f, "wsess_claims", h, sizeof(h), buf, sizeof(buf));
	return memmem(buf, n, s, strlen(s)) != NULL;
}

/* Session tb's "New conversation": its next message opens another. */
static void
ws_conv_new(struct fix *f, const char *wid, uint8_t tb)
{
	struct st_ws_session_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN };
	struct st_ws_conv_new_rep rep;

	hash(q.token, tb);
	assert_int_equal(request_dec(f, PROTO_ST_WS_CONV_NEW, &q, &rep), 0);
	assert_int_equal(rep.result, ST_WS_OK);
}

/* Contact id's count of links (contact_links), not 0. */
static uint64_t
links_counted(struct fix *f, const char *id)
{
	uint8_t k[ST_ID_HEX / 2], v[16];
	uint64_t n = 0;
	int i;

	assert_int_equal(proto_hex_decode(id, k, sizeof(k)), 0);
	assert_int_equal(db_value(f, "contact_links", k, sizeof(k), v,
	    sizeof(v)), 9);
	assert_int_equal(v[0], ST_RECORD_VERSION);
	for (i = 1; i < 9; i++)
		n = n << 8 | v[i];
	return n;
}

/* Session tb's next message, in a conversation it opens: its contact id. */
static void
ws_say_new(struct fix *f, const char *wid, uint8_t tb,
    char contact[ST_ID_HEX + 1], char conv[ST_ID_HEX + 1])
{
	struct wsbegin b;

	assert_int_equal(ws_begin_full(f, wid, tb, "q", 0, 0, &b), 0);
	assert_int_equal(b.result, ST_WS_OK);
	assert_int_equal(b.created, 1);
	strlcpy(contact, b.conv.contact_id, ST_ID_HEX + 1);
	if (conv != NULL)
		strlcpy(conv, b.conv.id, ST_ID_HEX + 1);
	wsbegin_free(&b);
}

/*
 * A contact holds at most ST_CONTACT_LINKS_MAX conversations linked by
 * visitors who are not its verified identity, counted in contact_links:
 * past it a visitor's new conversation and a submission's conversation
 * are not linked (the submission stored as ever), the verified
 * identity's still are; a conversation deleted makes room; the count is
 * made again at open for a data directory of before it.
 */
static void
test_contact_links_bound(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_secret_rep sec;
	struct st_contact c;
	struct st_conv conv;
	struct cfull g;
	char vid[ST_ID_HEX + 1], got[ST_ID_HEX + 1];
	char old1[ST_ID_HEX + 1], old2[ST_ID_HEX + 1], third[ST_ID_HEX + 1];
	uint32_t i;
	int result;

	w_new(f, "Bound", &a);
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_SECRET_SET,
	    &(struct st_id_req){ a.widget_id }, &sec), 0);
	/* The verified identity's contact and its first conversation. */
	identify_ok(f, a.widget_id, sec.secret, 1, "user-1", vid);
	submit_ok(f, a.widget_id, 1, "", "v1@example.com", "", got);
	assert_string_equal(got, vid);
	ws_say_new(f, a.widget_id, 1, got, NULL);
	assert_string_equal(got, vid);
	assert_int_equal(links_counted(f, vid), 1);

	/* A visitor types its email, then opens conversations to the bound. */
	ws_new(f, a.widget_id, 2);
	submit_ok(f, a.widget_id, 2, "", "v1@example.com", "", got);
	assert_string_equal(got, vid);
	for (i = 1; i < ST_CONTACT_LINKS_MAX; i++) {
		if (i > 1)
			ws_conv_new(f, a.widget_id, 2);
		ws_say_new(f, a.widget_id, 2, got, i == 1 ? old1 :
		    i == 2 ? old2 : NULL);
		assert_string_equal(got, vid);
	}
	assert_int_equal(links_counted(f, vid), ST_CONTACT_LINKS_MAX);
	/* Full: the visitor's next conversation is stored, not linked. */
	ws_conv_new(f, a.widget_id, 2);
	ws_say_new(f, a.widget_id, 2, got, NULL);
	assert_string_equal(got, "");
	/* Nor is another visitor's, whose submission is stored as ever. */
	ws_say_new(f, a.widget_id, 3, got, third);
	assert_string_equal(got, "");
	assert_int_equal(contact_submit(f, a.widget_id, 3, "Mallory",
	    "V1@example.com", "", &result, &c), 0);
	assert_int_equal(result, ST_WS_OK);
	assert_string_equal(c.id, vid);
	st_contact_free(&c);
	assert_true(claim_holds(f, 3, "Mallory"));
	fix_conv_get(f, third, &conv);
	assert_string_equal(conv.contact_id, "");
	st_conv_free(&conv);
	assert_int_equal(links_counted(f, vid), ST_CONTACT_LINKS_MAX);
	/* The verified identity's new conversation is linked. */
	ws_conv_new(f, a.widget_id, 1);
	ws_say_new(f, a.widget_id, 1, got, NULL);
	assert_string_equal(got, vid);
	assert_int_equal(links_counted(f, vid), ST_CONTACT_LINKS_MAX + 1);
	assert_int_equal(contact_page(f, vid, 1, "", &g), 0);
	assert_int_equal(g.total, ST_CONTACT_LINKS_MAX + 1);
	cfull_free(&g);

	/* Two conversations deleted: room for one more. */
	assert_int_equal(request_st_err(f, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ old1 }), 0);
	assert_int_equal(request_st_err(f, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ old2 }), 0);
	assert_int_equal(links_counted(f, vid), ST_CONTACT_LINKS_MAX - 1);
	ws_conv_new(f, a.widget_id, 2);
	ws_say_new(f, a.widget_id, 2, got, third);
	assert_string_equal(got, vid);
	fix_conv_get(f, third, &conv);
	assert_string_equal(conv.contact_id, vid);
	st_conv_free(&conv);
	ws_conv_new(f, a.widget_id, 2);
	ws_say_new(f, a.widget_id, 2, got, NULL);
	assert_string_equal(got, "");

	/* A data directory of before the count: made again at open. */
	fix_index_unfilled(f, "contact_links", "contact_links_counted");
	assert_int_equal(links_counted(f, vid), ST_CONTACT_LINKS_MAX);
	ws_conv_new(f, a.widget_id, 2);
	ws_say_new(f, a.widget_id, 2, got, NULL);
	assert_string_equal(got, "");
	st_widget_free(&a);
}

/* ST_CONTACT_ERASE of contact id (erase: all): done in the request. */
static void
contact_delete(struct fix *f, const char *id, int erase)
{
	struct st_u8_rep done;

	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_ERASE,
	    &(struct st_contact_erase_req){ id, (uint8_t)erase }, &done), 0);
	assert_int_equal(done.v, 1);
}

/*
 * A contact deleted without erase: the claims of the sessions whose last
 * submission went to it (the one that made it, one that named it, one
 * an identify moved to another contact since) keep none of what they
 * submitted, in their records' bytes, and the rest of the claim stays
 * (the count, the verified identify); another contact's sessions keep
 * theirs. A claim of format 2 (before it said where its submission went)
 * is the session's contact's.
 */
static void
test_contact_delete_claims(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_secret_rep sec;
	struct st_contact c;
	uint8_t h[ST_TOKEN_HASH_LEN], buf[1024];
	char zed[ST_ID_HEX + 1], ivy[ST_ID_HEX + 1], old[ST_ID_HEX + 1];
	char vid[ST_ID_HEX + 1], id[ST_ID_HEX + 1];
	uint8_t tb;
	size_t n;
	int result;

	w_new(f, "Claims", &a);
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_SECRET_SET,
	    &(struct st_id_req){ a.widget_id }, &sec), 0);
	for (tb = 1; tb <= 5; tb++)
		ws_new(f, a.widget_id, tb);
	/* 1 makes Zed, 2 names it, 4 is another contact's. */
	submit_ok(f, a.widget_id, 1, "Zed Quux", "zed@example.com",
	    "+1 555 000 1111", zed);
	submit_ok(f, a.widget_id, 2, "Mallory", "ZED@example.com", "", id);
	assert_string_equal(id, zed);
	submit_ok(f, a.widget_id, 4, "Kim", "kim@example.com", "", id);
	/* 3 makes Ivy, then its verified identify is another contact. */
	submit_ok(f, a.widget_id, 3, "Ivy Lane", "ivy@example.com", "", ivy);
	identify_ok(f, a.widget_id, sec.secret, 3, "user-3", vid);
	assert_string_not_equal(vid, ivy);
	assert_true(claim_holds(f, 1, "zed@example.com"));
	assert_true(claim_holds(f, 2, "Mallory"));
	assert_true(claim_holds(f, 3, "ivy@example.com"));

	contact_delete(f, zed, 0);
	for (tb = 1; tb <= 2; tb++) {
		assert_false(claim_holds(f, tb, "zed@example.com"));
		assert_false(claim_holds(f, tb, "Zed Quux"));
		assert_false(claim_holds(f, tb, "+15550001111"));
		assert_false(claim_holds(f, tb, "Mallory"));
	}
	assert_true(claim_holds(f, 4, "kim@example.com"));
	assert_true(claim_holds(f, 4, "Kim"));
	assert_true(claim_holds(f, 3, "ivy@example.com"));

	/* Ivy: session 3 names its verified contact, its claim went to Ivy. */
	contact_delete(f, ivy, 0);
	assert_false(claim_holds(f, 3, "ivy@example.com"));
	assert_false(claim_holds(f, 3, "Ivy Lane"));
	/* Still user-3's verified session: a submission is its contact's. */
	submit_ok(f, a.widget_id, 3, "", "new3@example.com", "", id);
	assert_string_equal(id, vid);
	/* Session 1's count stays: two more, then no more. */
	submit_ok(f, a.widget_id, 1, "", "one@example.com", "", id);
	submit_ok(f, a.widget_id, 1, "", "two@example.com", "", id);
	assert_int_equal(contact_submit(f, a.widget_id, 1, "",
	    "three@example.com", "", &result, &c), 0);
	assert_int_equal(result, ST_WS_TOO_MANY);

	/* A format 2 claim: its last str (to, the contact's id) was not. */
	submit_ok(f, a.widget_id, 5, "Old Format", "old@example.com", "", old);
	hash(h, 5);
	n = db_value(f, "wsess_claims", h, sizeof(h), buf, sizeof(buf));
	assert_int_equal(buf[0], 3);
	assert_true(n > 4 + ST_ID_HEX);
	assert_memory_equal(buf + n - 4 - ST_ID_HEX, "\0\0\0\40", 4);
	assert_memory_equal(buf + n - ST_ID_HEX, old, ST_ID_HEX);
	buf[0] = 2;
	db_write(f, "wsess_claims", h, sizeof(h), buf, n - 4 - ST_ID_HEX);
	assert_true(claim_holds(f, 5, "old@example.com"));
	contact_delete(f, old, 0);
	assert_false(claim_holds(f, 5, "old@example.com"));
	assert_false(claim_holds(f, 5, "Old Format"));
	assert_int_equal(db_version(f, "wsess_claims", h, sizeof(h)), 3);
	assert_true(claim_holds(f, 4, "kim@example.com"));
	st_widget_free(&a);
}

/*
 * A session idle past storaged's span is gone for an identify and a
 * contact submission as it is for a message (ST_WS_BEGIN): NO_SESSION,
 * not verified, nothing stored.
 */
static void
test_expired_identify_submit(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_secret_rep sec;
	struct st_contact c;
	struct st_ws_identify_req q = { .token_len = ST_TOKEN_HASH_LEN,
	    .external_id = "late-user", .name = "", .email = "",
	    .email_hash = "" };
	struct st_ws_identify_rep rep;
	char sig[ST_SECRET_HEX + 1], id[ST_ID_HEX + 1];
	int result;

	w_new(f, "Idle", &a);
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_SECRET_SET,
	    &(struct st_id_req){ a.widget_id }, &sec), 0);
	identify_ok(f, a.widget_id, sec.secret, 1, "late-user", id);
	ws_new(f, a.widget_id, 2);
	assert_int_equal(contact_submit(f, a.widget_id, 2, "Early", "", "",
	    &result, &c), 0);
	assert_int_equal(result, ST_WS_OK);
	st_contact_free(&c);

	fake_now += ST_SESSION_IDLE_MS + 1;
	sign(sec.secret, "late-user", sig);
	q.widget_id = a.widget_id;
	q.hash = sig;
	hash(q.token, 2);
	assert_int_equal(request_dec(f, PROTO_ST_WS_IDENTIFY, &q, &rep), 0);
	assert_int_equal(rep.result, ST_WS_NO_SESSION);
	assert_int_equal(rep.verified, 0);
	assert_string_equal(rep.contact_id, "");
	st_rep_free(PROTO_ST_WS_IDENTIFY, &rep);
	assert_int_equal(contact_submit(f, a.widget_id, 1, "Late",
	    "late@example.com", "", &result, &c), 0);
	assert_int_equal(result, ST_WS_NO_SESSION);
	/* As a message of either finds it. */
	assert_int_equal(ws_say_stored(f, a.widget_id, 1, "hi"),
	    ST_WS_NO_SESSION);
	assert_int_equal(ws_say_stored(f, a.widget_id, 2, "hi"),
	    ST_WS_NO_SESSION);
	/* Nothing was stored: the one contact of each, as before. */
	contact_email_is(f, id, "", 0);
	st_widget_free(&a);
}

/*
 * A socket's stored session gone (expired and swept here; its contact
 * erased likewise): its contact submission and its identify, sent
 * without create, are NO_SESSION with nothing written nor counted in
 * the new sessions, as its message is; they brought the token back as a
 * new session before. With create (a new visitor), one is made as ever.
 */
static void
test_gone_session_not_made(void **state)
{
	struct fix *f = *state;
	struct st_widget a;
	struct st_secret_rep sec;
	struct st_contact c;
	char other[ST_SECRET_HEX + 1];
	size_t contacts, claims;
	int result;

	w_new(f, "Gone", &a);
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_SECRET_SET,
	    &(struct st_id_req){ a.widget_id }, &sec), 0);
	memset(other, 'a', ST_SECRET_HEX);
	other[ST_SECRET_HEX] = '\0';
	ws_new(f, a.widget_id, 1);
	assert_int_equal(ws_say(f, a.widget_id, 1, "hi"), ST_WS_OK);
	assert_int_equal(contact_submit(f, a.widget_id, 1, "Ann",
	    "ann@example.com", "", &result, &c), 0);
	assert_int_equal(result, ST_WS_OK);
	st_contact_free(&c);
	fake_now += ST_SESSION_IDLE_MS + 1;
	assert_int_equal(sweep_all(f), 1);
	assert_int_equal(db_entries(f, "wsessions"), 0);
	contacts = db_entries(f, "contacts");
	claims = db_entries(f, "wsess_claims");

	/*
	 * One new session a minute (set after db_entries, which reopens the
	 * store): none of the refused requests spends it.
	 */
	fake_mono += MIN;
	store_wsess_settings(f->st, 0, 1);
	contact_nocreate = 1;
	assert_int_equal(contact_submit(f, a.widget_id, 1, "Again",
	    "again@example.com", "", &result, &c), 0);
	assert_int_equal(result, ST_WS_NO_SESSION);
	assert_int_equal(identify_result(f, a.widget_id, sec.secret, 1,
	    "user-1"), ST_WS_NO_SESSION);
	/* Checked before the hash: an unverified one is told so too. */
	assert_int_equal(identify_result(f, a.widget_id, other, 1,
	    "user-1"), ST_WS_NO_SESSION);
	/* A token never stored, sent as a stored session's: the same. */
	assert_int_equal(contact_submit(f, a.widget_id, 2, "Two",
	    "two@example.com", "", &result, &c), 0);
	assert_int_equal(result, ST_WS_NO_SESSION);
	assert_int_equal(identify_result(f, a.widget_id, sec.secret, 2,
	    "user-2"), ST_WS_NO_SESSION);
	contact_nocreate = 0;
	assert_int_equal(ws_say_stored(f, a.widget_id, 1, "hi"),
	    ST_WS_NO_SESSION);

	/* With create: a new visitor's, made and counted, as before. */
	assert_int_equal(contact_submit(f, a.widget_id, 3, "Three",
	    "three@example.com", "", &result, &c), 0);
	assert_int_equal(result, ST_WS_OK);
	st_contact_free(&c);
	assert_int_equal(identify_result(f, a.widget_id, sec.secret, 4,
	    "user-4"), ST_WS_BUSY);
	fake_mono += MIN;
	assert_int_equal(identify_result(f, a.widget_id, sec.secret, 4,
	    "user-4"), ST_WS_OK);
	assert_int_equal(ws_say_stored(f, a.widget_id, 3, "hi"), ST_WS_OK);
	assert_int_equal(ws_say_stored(f, a.widget_id, 4, "hi"), ST_WS_OK);
	/* Sessions 3 and 4 alone, the one new contact 3's. */
	assert_int_equal(db_entries(f, "wsessions"), 2);
	assert_int_equal(db_entries(f, "wsess_expiry"), 2);
	assert_int_equal(db_entries(f, "contacts"), contacts + 2);
	assert_int_equal(db_entries(f, "wsess_claims"), claims + 2);
	st_rep_free(PROTO_ST_WIDGET_SECRET_SET, &sec);
	st_widget_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, fix_teardown)
		T(test_default_widget),
		T(test_begin_cache),
		T(test_default_agent_sources),
		T(test_default_agent_crawl),
		T(test_feedback),
		T(test_feedback_many),
		T(test_identify_email),
		T(test_identify_submit),
		T(test_identify_named_by_form),
		T(test_contact_links_bound),
		T(test_contact_delete_claims),
		T(test_expired_identify_submit),
		T(test_gone_session_not_made),
		T(test_widget_create_get_list),
		T(test_widget_update),
		T(test_widget_reset_id),
		T(test_widget_secret),
		T(test_widget_delete),
		T(test_ws_open),
		T(test_ws_open_counts),
		T(test_ws_open_history_charged),
		T(test_ws_open_history_capped),
		T(test_ws_begin),
		T(test_ws_begin_turn_open),
		T(test_ws_begin_capped),
		T(test_ws_begin_cache_sees_changes),
		T(test_batch_rerun),
		T(test_chat_begin_widget),
		T(test_contact_submit),
		T(test_contact_pages),
		T(test_contact_links),
		T(test_contact_claims),
		T(test_contact_list),
		T(test_conv_v1_records),
		T(test_widget_v1_records),
		T(test_msg_v1_records),
		T(test_conv_visitor_records),
		T(test_bad_payloads),
		T(test_widget_limit),
		T(test_lazy_sessions),
		T(test_new_sessions_one_budget),
		T(test_new_sessions_budget_kept),
		T(test_sweep_expired),
		T(test_sweep_widget_delete),
		T(test_wsess_bytes),
		T(test_sweep_backfill),
		T(test_wsess_namespace),
#undef T
	};

	log_init("test_widgetstore");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
