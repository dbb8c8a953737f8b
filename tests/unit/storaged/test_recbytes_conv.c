/*
 * Unit tests: the bytes of stored conversations and messages, written
 * down. Their encoding (every storaged message carrying one encodes it
 * so), the LMDB values storaged writes, and each older format as it
 * reads and as the next change rewrites it: the bytes here were taken
 * from the hand-written codecs (penc_conv, penc_msg and their pads)
 * before the records had rows (proto/record.h), so the rows must keep
 * every one of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "stmsgs.h"
#include "storemsg.h"
#include "recbytes.h"
#include "test_fixture.h"

#define CONV_ID		"0123456789abcdef0123456789abcdef"
#define MSG_ID		"456789abcdef0123456789abcdef0123"
#define CONTACT_ID	"c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0"
#define FB_AGENT	"fbfbfbfbfbfbfbfbfbfbfbfbfbfbfbfb"
#define ORG_ID		"org_0123456789abcdef0123456789abcdef"
#define USER_ID		"usr_0123456789abcdef0123456789abcdef"

/* An empty str (or a u32 0), a u64 0. */
#define Z	"00000000"
#define Z8	"0000000000000000"
/* str CONV_ID */
#define HEX_CONV_ID	"00000020" \
	"3031323334353637383961626364656630313233343536373839616263646566"
/* A full conversation's fields after its id, by the format that added them. */
#define HEX_CONV_V1	"000000057769642d31" "00000006736573732d31" \
	"0000018bcfe56800" "0000018bcfe56801" "00000003" \
	"0000000c48c3a920e28094206c617374"
#define HEX_CONV_V2	"00000020" \
	"6330633063306330633063306330633063306330633063306330633063306330"
#define HEX_CONV_V3	"02"
/* str "default" */
#define HEX_DEFAULT	"0000000764656661756c74"
#define HEX_CONV_V4	"00000024" "6f72675f" \
	"3031323334353637383961626364656630313233343536373839616263646566"
#define HEX_CONV_V5	"00000024" "7573725f" \
	"3031323334353637383961626364656630313233343536373839616263646566" \
	"000000045a6fc3ab"
/* Up to the visitor's name, which (with unread) is never stored. */
#define HEX_CONV_V6	"000000084869207468657265" "0000018bcfe56802" \
	"0000001368747470733a2f2f612e6578616d706c652f70" \
	"0000001268747470733a2f2f622e6578616d706c652f" \
	"0000000655412f312e30" "0000000566722d4652" \
	"0000000c4575726f70652f5061726973"
#define HEX_CONV_NAME	"0000000e416d626572204f74746572203432" "01"
#define HEX_CONV_V7	"05" "00000010477265617420e28094207468616e6b73" \
	"0000018bcfe56803" "00000007" "00000002" "00000020" \
	"6662666266626662666266626662666266626662666266626662666266626662"
/*
 * Its state, snooze, resolution, hand-over and the assistant's due time;
 * the reports' agent, counts, times and reported.
 */
#define HEX_CONV_V8	"02" "0000018bcfe56806" "02" "0000018bcfe56807" "01" \
	"0000018bcfe56808" "00000020" \
	"6161616161616161616161616161616161616161616161616161616161616161" \
	"00000003" "00000002" "0000000b" "00000016" "0000018bcfe56809" \
	"0000018bcfe5680a" "01"
/* A conversation's with none of them (counts as given), not reported. */
#define HEX_CONV_V8_COUNTS(MSGS, ANSWERS, REPORTED) \
	"00" Z8 "00" Z8 "00" Z8 Z MSGS ANSWERS Z Z Z8 Z8 REPORTED
#define HEX_CONV_V8_NONE	HEX_CONV_V8_COUNTS(Z, Z, "00")
/* Who took over: USER_ID, "Ana". */
#define HEX_CONV_V9	"00000024" "7573725f" \
	"3031323334353637383961626364656630313233343536373839616263646566" \
	"00000003416e61"
#define HEX_CONV_V9_NONE	Z Z
/* Who put it in waiting_human: the visitor. */
#define HEX_CONV_V10		"01"
#define HEX_CONV_V10_NONE	"00"
/* The formats written down: conversations', messages'. */
#define CONV_FORMATS		10
#define MSG_FORMATS		10

/* A full message's fields, by the format that added them. */
#define HEX_MSG_V1	"00000020" \
	"3435363738396162636465663031323334353637383961626364656630313233" \
	HEX_CONV_ID "000000056167656e74" "00000008636f6d706c657465" \
	"0000018bcfe56804" "0000000b" "00000016" \
	"0000001348656c6c6f20e2809420e2809c796f75e2809d"
#define HEX_MSG_V2	"000000045a6fc3ab"
#define HEX_MSG_V3	"00000024" "7573725f" \
	"3031323334353637383961626364656630313233343536373839616263646566"
#define HEX_MSG_V4	"01"
/* One source, "ks_0123456789abcdef0123456789abcdef"; knowledge found. */
#define HEX_MSG_V5	"00000001" "00000023" \
	"6b735f3031323334353637383961626364656630313233343536373839616263646566" "01"
/* A tool's arguments, {"id":7}, and its duration, 12 ms. */
#define HEX_MSG_V6	"00000008" "7b226964223a377d" "0000000c"
/* One attachment: its id, a PNG (1) of 1000 bytes, "fork.png", no key. */
#define HEX_MSG_V7	"00000001" "00000024" "6174745f" \
	"3031323334353637383961626364656630313233343536373839616263646566" \
	"01" "000003e8" "00000008" "666f726b2e706e67" "00000000"
/* The widget's id of it: "c-1". */
#define HEX_MSG_V8	"00000003" "632d31"
/* The passages an answer cites: [{"n":1}]. */
#define HEX_MSG_V9	"00000009" "5b7b226e223a317d5d"
/* Whose tool: the page's (1). */
#define HEX_MSG_V10	"01"

/* A full conversation on the wire. */
static const char conv_full[] = HEX_CONV_ID HEX_CONV_V1 HEX_CONV_V2
    HEX_CONV_V3 HEX_CONV_V4 HEX_CONV_V5 HEX_CONV_V6 HEX_CONV_NAME
    HEX_CONV_V7 HEX_CONV_V8 HEX_CONV_V9 HEX_CONV_V10;
/* A zeroed one: every string empty, every number 0. */
static const char conv_empty[] = Z Z Z Z8 Z8 Z Z Z "00" Z Z Z Z Z8
    Z Z Z Z Z Z "00" "00" Z Z8 Z Z Z HEX_CONV_V8_NONE HEX_CONV_V9_NONE
    HEX_CONV_V10_NONE;
static const char msg_full[] = HEX_MSG_V1 HEX_MSG_V2 HEX_MSG_V3
    HEX_MSG_V4 HEX_MSG_V5 HEX_MSG_V6 HEX_MSG_V7 HEX_MSG_V8 HEX_MSG_V9
    HEX_MSG_V10;
static const char msg_empty[] = Z Z Z Z Z8 Z Z Z Z Z "00" Z "00" Z Z Z Z Z
    "00";

static int
setup(void **state)
{
	log_set_level(LOG_LEVEL_ERROR);
	return fix_setup(state, "/tmp/parley-recbytes-conv-XXXXXX", 0);
}

static char *
sdup(const char *s)
{
	char *p = strdup(s);

	assert_non_null(p);
	return p;
}

/* A conversation with every field set. */
static void
full_conv(struct st_conv *c)
{
	memset(c, 0, sizeof(*c));
	strlcpy(c->id, CONV_ID, sizeof(c->id));
	strlcpy(c->widget, "wid-1", sizeof(c->widget));
	strlcpy(c->session, "sess-1", sizeof(c->session));
	c->created_at = T0;
	c->updated_at = T0 + 1;
	c->message_count = 3;
	c->last_message = sdup("Hé — last");
	strlcpy(c->contact_id, CONTACT_ID, sizeof(c->contact_id));
	c->handoff = 2;
	strlcpy(c->org, ORG_ID, sizeof(c->org));
	strlcpy(c->assignee, USER_ID, sizeof(c->assignee));
	strlcpy(c->assignee_name, "Zoë", sizeof(c->assignee_name));
	c->last_visitor = sdup("Hi there");
	c->visitor_at = T0 + 2;
	c->visitor.page_url = sdup("https://a.example/p");
	c->visitor.referrer = sdup("https://b.example/");
	c->visitor.user_agent = sdup("UA/1.0");
	c->visitor.language = sdup("fr-FR");
	c->visitor.time_zone = sdup("Europe/Paris");
	strlcpy(c->visitor_name, "Amber Otter 42", sizeof(c->visitor_name));
	c->unread = 1;
	c->rating = 5;
	c->rating_comment = sdup("Great — thanks");
	c->rated_at = T0 + 3;
	c->fb_up = 7;
	c->fb_down = 2;
	strlcpy(c->fb_agent, FB_AGENT, sizeof(c->fb_agent));
	c->conv_state = ST_STATE_RESOLVED;
	c->snoozed_until = T0 + 6;
	c->resolved_by = ST_RESOLVED_PERSON;
	c->resolved_at = T0 + 7;
	c->handed_off = 1;
	c->resolve_due = T0 + 8;
	memset(c->agent_id, 'a', ST_ID_HEX);
	c->visitor_msgs = 3;
	c->answers = 2;
	c->prompt_tokens = 11;
	c->completion_tokens = 22;
	c->asked_at = T0 + 9;
	c->person_at = T0 + 10;
	c->reported = 1;
	strlcpy(c->human_by, USER_ID, sizeof(c->human_by));
	strlcpy(c->human_by_name, "Ana", sizeof(c->human_by_name));
	c->waiting_by = ST_WAITING_VISITOR;
}

/* s is want, NULL read as "". */
static void
assert_str(const char *s, const char *want)
{
	assert_string_equal(s != NULL ? s : "", want);
}

/*
 * c holds full_conv's fields of format version (id and widget aside),
 * the newer ones at their defaults; org as given, the visitor's name and
 * unread as given.
 */
static void
assert_conv_as(const struct st_conv *c, int version, const char *org,
    const char *name, int unread)
{
	assert_string_equal(c->session, "sess-1");
	assert_int_equal(c->created_at, T0);
	assert_int_equal(c->updated_at, T0 + 1);
	assert_int_equal(c->message_count, 3);
	assert_str(c->last_message, "Hé — last");
	assert_string_equal(c->contact_id, version >= 2 ? CONTACT_ID : "");
	assert_int_equal(c->handoff, version >= 3 ? 2 : 0);
	assert_string_equal(c->org, org);
	assert_string_equal(c->assignee, version >= 5 ? USER_ID : "");
	assert_string_equal(c->assignee_name, version >= 5 ? "Zoë" : "");
	assert_str(c->last_visitor, version >= 6 ? "Hi there" : "");
	assert_int_equal(c->visitor_at, version >= 6 ? T0 + 2 : 0);
	assert_str(c->visitor.page_url, version >= 6 ?
	    "https://a.example/p" : "");
	assert_str(c->visitor.referrer, version >= 6 ?
	    "https://b.example/" : "");
	assert_str(c->visitor.user_agent, version >= 6 ? "UA/1.0" : "");
	assert_str(c->visitor.language, version >= 6 ? "fr-FR" : "");
	assert_str(c->visitor.time_zone, version >= 6 ? "Europe/Paris" : "");
	assert_string_equal(c->visitor_name, name);
	assert_int_equal(c->unread, unread);
	assert_int_equal(c->rating, version >= 7 ? 5 : 0);
	assert_str(c->rating_comment, version >= 7 ? "Great — thanks" : "");
	assert_int_equal(c->rated_at, version >= 7 ? T0 + 3 : 0);
	assert_int_equal(c->fb_up, version >= 7 ? 7 : 0);
	assert_int_equal(c->fb_down, version >= 7 ? 2 : 0);
	assert_string_equal(c->fb_agent, version >= 7 ? FB_AGENT : "");
	assert_int_equal(c->conv_state, version >= 8 ? ST_STATE_RESOLVED : 0);
	assert_int_equal(c->snoozed_until, version >= 8 ? T0 + 6 : 0);
	assert_int_equal(c->resolved_by, version >= 8 ? ST_RESOLVED_PERSON : 0);
	assert_int_equal(c->resolved_at, version >= 8 ? T0 + 7 : 0);
	assert_int_equal(c->handed_off, version >= 8 ? 1 : 0);
	assert_int_equal(c->resolve_due, version >= 8 ? T0 + 8 : 0);
	assert_string_equal(c->agent_id, version >= 8 ?
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" : "");
	assert_int_equal(c->visitor_msgs, version >= 8 ? 3 : 0);
	assert_int_equal(c->answers, version >= 8 ? 2 : 0);
	assert_int_equal(c->prompt_tokens, version >= 8 ? 11 : 0);
	assert_int_equal(c->completion_tokens, version >= 8 ? 22 : 0);
	assert_int_equal(c->asked_at, version >= 8 ? T0 + 9 : 0);
	assert_int_equal(c->person_at, version >= 8 ? T0 + 10 : 0);
	assert_int_equal(c->reported, version >= 8 ? 1 : 0);
	assert_string_equal(c->human_by, version >= 9 ? USER_ID : "");
	assert_string_equal(c->human_by_name, version >= 9 ? "Ana" : "");
	assert_int_equal(c->waiting_by, version >= 10 ? ST_WAITING_VISITOR :
	    ST_WAITING_NONE);
}

static void
full_msg(struct st_msg *m)
{
	memset(m, 0, sizeof(*m));
	strlcpy(m->id, MSG_ID, sizeof(m->id));
	strlcpy(m->conv_id, CONV_ID, sizeof(m->conv_id));
	strlcpy(m->role, "agent", sizeof(m->role));
	strlcpy(m->status, "complete", sizeof(m->status));
	m->created_at = T0 + 4;
	m->prompt_tokens = 11;
	m->completion_tokens = 22;
	m->content = sdup("Hello — “you”");
	strlcpy(m->name, "Zoë", sizeof(m->name));
	strlcpy(m->author, USER_ID, sizeof(m->author));
	m->feedback = ST_FEEDBACK_UP;
	m->nsources = 1;
	assert_non_null(m->sources = calloc(1, sizeof(*m->sources)));
	m->sources[0] = sdup("ks_0123456789abcdef0123456789abcdef");
	m->knowledge = ST_MSG_KB_FOUND;
	m->arguments = sdup("{\"id\":7}");
	m->duration_ms = 12;
	m->natts = 1;
	assert_non_null(m->atts = calloc(1, sizeof(*m->atts)));
	strlcpy(m->atts[0].id, "att_0123456789abcdef0123456789abcdef",
	    sizeof(m->atts[0].id));
	m->atts[0].type = ATTACH_PNG;
	m->atts[0].size = 1000;
	strlcpy(m->atts[0].name, "fork.png", sizeof(m->atts[0].name));
	strlcpy(m->client_id, "c-1", sizeof(m->client_id));
	m->cited = sdup("[{\"n\":1}]");
	m->tool_origin = ST_TOOL_FROM_PAGE;
}

/* m holds full_msg's fields of format version, the newer ones empty. */
static void
assert_msg_as(const struct st_msg *m, int version)
{
	assert_string_equal(m->id, MSG_ID);
	assert_string_equal(m->conv_id, CONV_ID);
	assert_string_equal(m->role, "agent");
	assert_string_equal(m->status, "complete");
	assert_int_equal(m->created_at, T0 + 4);
	assert_int_equal(m->prompt_tokens, 11);
	assert_int_equal(m->completion_tokens, 22);
	assert_str(m->content, "Hello — “you”");
	assert_string_equal(m->name, version >= 2 ? "Zoë" : "");
	assert_string_equal(m->author, version >= 3 ? USER_ID : "");
	assert_int_equal(m->feedback, version >= 4 ? ST_FEEDBACK_UP : 0);
	assert_int_equal(m->nsources, version >= 5 ? 1 : 0);
	if (version >= 5)
		assert_string_equal(m->sources[0], "ks_0123456789abcdef0123456789abcdef");
	assert_int_equal(m->knowledge, version >= 5 ? ST_MSG_KB_FOUND : 0);
	assert_str(m->arguments, version >= 6 ? "{\"id\":7}" : "");
	assert_int_equal(m->duration_ms, version >= 6 ? 12 : 0);
	assert_int_equal(m->natts, version >= 7 ? 1 : 0);
	if (version >= 7) {
		assert_string_equal(m->atts[0].id,
		    "att_0123456789abcdef0123456789abcdef");
		assert_int_equal(m->atts[0].type, ATTACH_PNG);
		assert_int_equal(m->atts[0].size, 1000);
		assert_string_equal(m->atts[0].name, "fork.png");
	}
	assert_string_equal(m->client_id, version >= 8 ? "c-1" : "");
	/* An older record reads with no cited passages. */
	assert_str(m->cited, version >= 9 ? "[{\"n\":1}]" : "");
	/* An older record reads as the owner's tool. */
	assert_int_equal(m->tool_origin, version >= 10 ? ST_TOOL_FROM_PAGE :
	    ST_TOOL_FROM_ACTION);
}

/* hex, decoded by pdec_conv: 0, or -1 (c then zeroed). */
static int
conv_from_hex(const char *hex, struct st_conv *c)
{
	uint8_t buf[2048];
	struct pdec d;
	int rc;

	pdec_init(&d, buf, unhex(hex, buf, sizeof(buf)));
	if ((rc = pdec_conv(&d, c)) == 0)
		assert_int_equal(pdec_done(&d), 0);
	return rc;
}

static void
test_conv_wire(void **state)
{
	struct st_conv c, g;
	struct penc e;

	(void)state;
	full_conv(&c);
	penc_init(&e);
	penc_conv(&e, &c);
	assert_int_equal(e.err, 0);
	assert_bytes(e.buf, e.len, conv_full);
	penc_free(&e);
	st_conv_free(&c);
	assert_int_equal(conv_from_hex(conv_full, &g), 0);
	assert_string_equal(g.id, CONV_ID);
	assert_string_equal(g.widget, "wid-1");
	assert_conv_as(&g, CONV_FORMATS, ORG_ID, "Amber Otter 42", 1);
	st_conv_free(&g);

	memset(&c, 0, sizeof(c));
	penc_init(&e);
	penc_conv(&e, &c);
	assert_bytes(e.buf, e.len, conv_empty);
	penc_free(&e);
	assert_int_equal(conv_from_hex(conv_empty, &g), 0);
	assert_string_equal(g.id, "");
	assert_int_equal(g.message_count, 0);
	st_conv_free(&g);
}

/* Out of their bounds, a conversation does not decode. */
static void
test_conv_wire_bad(void **state)
{
	struct st_conv g;

	(void)state;
	/* unread 2 */
	assert_int_equal(conv_from_hex(HEX_CONV_ID HEX_CONV_V1 HEX_CONV_V2
	    HEX_CONV_V3 HEX_CONV_V4 HEX_CONV_V5 HEX_CONV_V6
	    "0000000e416d626572204f74746572203432" "02" HEX_CONV_V7
	    HEX_CONV_V8 HEX_CONV_V9 HEX_CONV_V10, &g), -1);
	assert_null(g.last_message);
	/* rating 6 */
	assert_int_equal(conv_from_hex(HEX_CONV_ID HEX_CONV_V1 HEX_CONV_V2
	    HEX_CONV_V3 HEX_CONV_V4 HEX_CONV_V5 HEX_CONV_V6 HEX_CONV_NAME "06"
	    "00000010477265617420e28094207468616e6b73" "0000018bcfe56803"
	    "00000007" "00000002" Z HEX_CONV_V8 HEX_CONV_V9 HEX_CONV_V10, &g),
	    -1);
	/* state 3, resolved_by 3 */
	assert_int_equal(conv_from_hex(HEX_CONV_ID HEX_CONV_V1 HEX_CONV_V2
	    HEX_CONV_V3 HEX_CONV_V4 HEX_CONV_V5 HEX_CONV_V6 HEX_CONV_NAME
	    HEX_CONV_V7 "03" Z8 "00" Z8 "00" Z8, &g), -1);
	assert_int_equal(conv_from_hex(HEX_CONV_ID HEX_CONV_V1 HEX_CONV_V2
	    HEX_CONV_V3 HEX_CONV_V4 HEX_CONV_V5 HEX_CONV_V6 HEX_CONV_NAME
	    HEX_CONV_V7 "00" Z8 "03" Z8 "00" Z8, &g), -1);
	/* an id longer than its buffer */
	assert_int_equal(conv_from_hex("00000021" "3031323334353637383961"
	    "626364656630313233343536373839616263646566" "66" HEX_CONV_V1
	    HEX_CONV_V2 HEX_CONV_V3 HEX_CONV_V4 HEX_CONV_V5 HEX_CONV_V6
	    HEX_CONV_NAME HEX_CONV_V7 HEX_CONV_V8 HEX_CONV_V9 HEX_CONV_V10,
	    &g), -1);
	/* waiting_by 4 */
	assert_int_equal(conv_from_hex(HEX_CONV_ID HEX_CONV_V1 HEX_CONV_V2
	    HEX_CONV_V3 HEX_CONV_V4 HEX_CONV_V5 HEX_CONV_V6 HEX_CONV_NAME
	    HEX_CONV_V7 HEX_CONV_V8 HEX_CONV_V9 "04", &g), -1);
	/* short: format 6 on the wire */
	assert_int_equal(conv_from_hex(HEX_CONV_ID HEX_CONV_V1 HEX_CONV_V2
	    HEX_CONV_V3 HEX_CONV_V4 HEX_CONV_V5 HEX_CONV_V6 HEX_CONV_NAME, &g),
	    -1);
}

static void
test_msg_wire(void **state)
{
	struct st_msg m, g;
	struct penc e;
	struct pdec d;
	uint8_t buf[1024];

	(void)state;
	full_msg(&m);
	penc_init(&e);
	penc_msg(&e, &m);
	assert_int_equal(e.err, 0);
	assert_bytes(e.buf, e.len, msg_full);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_msg(&d, &g), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_msg_as(&g, 10);
	st_msg_free(&g);
	penc_free(&e);
	st_msg_free(&m);

	memset(&m, 0, sizeof(m));
	penc_init(&e);
	penc_msg(&e, &m);
	assert_bytes(e.buf, e.len, msg_empty);
	penc_free(&e);

	/* feedback 3 does not decode */
	pdec_init(&d, buf, unhex(HEX_MSG_V1 HEX_MSG_V2 HEX_MSG_V3 "03", buf,
	    sizeof(buf)));
	assert_int_equal(pdec_msg(&d, &g), -1);
	assert_null(g.content);
}

/* ---------------------------------------------------------------- LMDB */

/* A stored value's bytes at most, as these tests read them. */
#define VAL_MAX	2048

/* db's first value (and its key into key, 64 bytes) into buf: its length. */
static size_t
db_first(struct fix *f, const char *db, uint8_t *key, size_t *klen,
    uint8_t *buf)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n;

	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, db, 0, &dbi), 0);
	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	assert_int_equal(mdb_cursor_get(cur, &k, &v, MDB_FIRST), 0);
	assert_true(v.mv_size <= VAL_MAX && k.mv_size <= 64);
	memcpy(buf, v.mv_data, v.mv_size);
	memcpy(key, k.mv_data, k.mv_size);
	*klen = k.mv_size;
	n = v.mv_size;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	fix_reopen(f);
	return n;
}

/* A message's key: the conversation's 16 bytes, then u32 seq. */
static void
msg_key_of(const char *conv_hex, uint32_t seq, uint8_t k[ST_ID_HEX / 2 + 4])
{
	proto_hex_decode(conv_hex, k, ST_ID_HEX / 2);
	proto_put_be32(k + ST_ID_HEX / 2, seq);
}

/*
 * A conversation opened, then a visitor's message: the values storaged
 * writes, conversation format 10, message format 9.
 */
static void
test_conv_lmdb(void **state)
{
	struct fix *f = *state;
	struct st_conv_open_rep o;
	struct st_msg_stored ms;
	uint8_t val[VAL_MAX], key[64], id[ST_ID_HEX / 2];
	char hex[4096], h1[2 * ST_ID_HEX + 1], h2[2 * ST_ID_HEX + 1];
	size_t n, klen;

	assert_int_equal(request_dec(f, PROTO_ST_CONV_OPEN,
	    &(struct st_conv_open_req){ "w", "sess-1" }, &o), 0);
	assert_int_equal(o.created, 1);
	n = db_first(f, "convs", key, &klen, val);
	assert_int_equal(klen, ST_ID_HEX / 2);
	proto_hex_decode(o.conv.id, id, sizeof(id));
	assert_memory_equal(key, id, sizeof(id));
	snprintf(hex, sizeof(hex), "0a" "00000020%s" "0000000177"
	    "00000006736573732d31" "0000018bcfe56800" "0000018bcfe56800"
	    Z Z Z "00" HEX_DEFAULT Z Z Z Z8 Z Z Z Z Z Z "00"
	    "00" Z Z8 Z Z Z HEX_CONV_V8_COUNTS(Z, Z, "01") HEX_CONV_V9_NONE
	    HEX_CONV_V10_NONE, hex_of(o.conv.id, h1));
	assert_bytes(val, n, hex);

	fake_now = T0 + 1;
	assert_int_equal(request_dec(f, PROTO_ST_MSG_APPEND,
	    &(struct st_msg_append_req){ o.conv.id, "user", "Hé",
	    "complete", 3, 4, NULL, 0, 0, NULL, 0, NULL, NULL }, &ms), 0);
	n = db_value(f, "convs", id, sizeof(id), val, sizeof(val));
	snprintf(hex, sizeof(hex), "0a" "00000020%s" "0000000177"
	    "00000006736573732d31" "0000018bcfe56800" "0000018bcfe56801"
	    "00000001" "0000000348c3a9" Z "00" HEX_DEFAULT Z Z
	    "0000000348c3a9" "0000018bcfe56801" Z Z Z Z Z Z "00" "00" Z Z8 Z
	    Z Z HEX_CONV_V8_COUNTS("00000001", Z, "01") HEX_CONV_V9_NONE
	    HEX_CONV_V10_NONE, h1);
	assert_bytes(val, n, hex);
	n = db_first(f, "msgs", key, &klen, val);
	assert_int_equal(klen, ST_ID_HEX / 2 + 4);
	assert_memory_equal(key, id, sizeof(id));
	snprintf(hex, sizeof(hex), "0a" "00000020%s" "00000020%s"
	    "0000000475736572" "00000008636f6d706c657465" "0000018bcfe56801"
	    "00000003" "00000004" "0000000348c3a9" Z Z "00" Z "00" Z Z Z Z Z
	    "00",
	    hex_of(ms.id, h2), h1);
	assert_bytes(val, n, hex);
	st_rep_free(PROTO_ST_MSG_APPEND, &ms);
	st_rep_free(PROTO_ST_CONV_OPEN, &o);
}

/* Conversation id of format v: CONV_ID with its first hex digit v. */
static void
conv_id_v(int v, char id[ST_ID_HEX + 1])
{
	strlcpy(id, CONV_ID, ST_ID_HEX + 1);
	id[0] = "0123456789abcdef"[v];
}

/*
 * The full conversation of format v, its version byte first, as hex; of
 * the default organisation from format 4 (who asks sees no other's).
 */
static void
conv_hex_v(int v, const char *id, char *hex, size_t size)
{
	char h[2 * ST_ID_HEX + 1];
	const char *body[] = { HEX_CONV_V1, HEX_CONV_V2, HEX_CONV_V3,
	    HEX_DEFAULT, HEX_CONV_V5, HEX_CONV_V6 Z "00", HEX_CONV_V7,
	    HEX_CONV_V8, HEX_CONV_V9, HEX_CONV_V10 };
	int i;

	snprintf(hex, size, "%02x" "00000020%s", v, hex_of(id, h));
	for (i = 0; i < v; i++)
		strlcat(hex, body[i], size);
}

/* What storaged answers for conversation id: its messages too. */
static void
conv_get(struct fix *f, const char *id, struct st_conv_msgs *g)
{
	assert_int_equal(request_dec(f, PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ id, 0 }, g), 0);
	assert_string_equal(g->conv.id, id);
	assert_string_equal(g->conv.widget, "wid-1");
}

/*
 * Conversations of each format storaged has written (1 to CONV_FORMATS):
 * each reads with its newer fields empty, formats 1 to 3 (before
 * organisations) as the default one's; and messages of formats 1 to
 * MSG_FORMATS, each read with its newer fields empty.
 */
static void
test_conv_formats(void **state)
{
	struct fix *f = *state;
	struct st_conv_msgs g;
	char id[ST_ID_HEX + 1], hex[4096], name[ST_VISITOR_NAME_MAX + 1];
	uint8_t k[ST_ID_HEX / 2 + 4];
	const char *mbody[] = { HEX_MSG_V1, HEX_MSG_V2, HEX_MSG_V3,
	    HEX_MSG_V4, HEX_MSG_V5, HEX_MSG_V6, HEX_MSG_V7, HEX_MSG_V8,
	    HEX_MSG_V9, HEX_MSG_V10 };
	int v, i;

	for (v = 1; v <= CONV_FORMATS; v++) {
		conv_id_v(v, id);
		conv_hex_v(v, id, hex, sizeof(hex));
		proto_hex_decode(id, k, ST_ID_HEX / 2);
		db_put_hex(f, "convs", k, ST_ID_HEX / 2, hex);
	}
	/* Their assignee a member: a removed one's reads as nobody's. */
	db_write(f, "org_users", "default\0" USER_ID, sizeof("default") +
	    strlen(USER_ID), &(uint8_t){ ST_RECORD_VERSION }, 1);
	/* Conversation 7's messages, one of each format. */
	conv_id_v(7, id);
	for (v = 1; v <= MSG_FORMATS; v++) {
		snprintf(hex, sizeof(hex), "%02x", v);
		for (i = 0; i < v; i++)
			strlcat(hex, mbody[i], sizeof(hex));
		msg_key_of(id, (uint32_t)v, k);
		db_put_hex(f, "msgs", k, sizeof(k), hex);
	}

	for (v = 1; v <= CONV_FORMATS; v++) {
		conv_id_v(v, id);
		conv_get(f, id, &g);
		/* Named when answered: none stored. */
		st_visitor_name_gen("sess-1", name, sizeof(name));
		assert_conv_as(&g.conv, v, "default", name, 0);
		if (v == 7) {
			assert_int_equal(g.n, MSG_FORMATS);
			for (i = 0; i < MSG_FORMATS; i++)
				assert_msg_as(&g.msgs[i], i + 1);
		} else
			assert_int_equal(g.n, 0);
		st_rep_free(PROTO_ST_CONV_GET, &g);
	}
}

/*
 * A format 1 conversation, changed by a message, is written in the
 * newest format.
 */
static void
test_conv_v1_rewritten(void **state)
{
	struct fix *f = *state;
	struct st_msg_stored ms;
	struct st_conv_msgs g;
	char id[ST_ID_HEX + 1], hex[4096], h[2 * ST_ID_HEX + 1];
	uint8_t k[ST_ID_HEX / 2], val[VAL_MAX];
	size_t n;

	conv_id_v(1, id);
	conv_hex_v(1, id, hex, sizeof(hex));
	proto_hex_decode(id, k, sizeof(k));
	db_put_hex(f, "convs", k, sizeof(k), hex);
	fake_now = T0 + 5;
	assert_int_equal(request_dec(f, PROTO_ST_MSG_APPEND,
	    &(struct st_msg_append_req){ id, "assistant", "ok", "complete",
	    0, 0, NULL, 0, 0, NULL, 0, NULL, NULL }, &ms), 0);
	/*
	 * The reply is the stored message's id alone (st_msg_stored): the
	 * message is the conversation's one; the count is in the bytes below.
	 */
	assert_int_equal(strlen(ms.id), ST_ID_HEX);
	conv_get(f, id, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.msgs[0].id, ms.id);
	assert_string_equal(g.msgs[0].role, "assistant");
	assert_string_equal(g.msgs[0].content, "ok");
	assert_string_equal(g.msgs[0].conv_id, id);
	st_rep_free(PROTO_ST_CONV_GET, &g);
	st_rep_free(PROTO_ST_MSG_APPEND, &ms);
	n = db_value(f, "convs", k, sizeof(k), val, sizeof(val));
	snprintf(hex, sizeof(hex), "0a" "00000020%s" "000000057769642d31"
	    "00000006736573732d31" "0000018bcfe56800" "0000018bcfe56805"
	    "00000004" "000000026f6b" Z "00" HEX_DEFAULT Z Z Z
	    Z8 Z Z Z Z Z Z "00" "00" Z Z8 Z Z Z
	    HEX_CONV_V8_COUNTS(Z, "00000001", "00") HEX_CONV_V9_NONE
	    HEX_CONV_V10_NONE, hex_of(id, h));
	assert_bytes(val, n, hex);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conv_wire),
		cmocka_unit_test(test_conv_wire_bad),
		cmocka_unit_test(test_msg_wire),
		cmocka_unit_test_setup_teardown(test_conv_lmdb, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_conv_formats, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_conv_v1_rewritten, setup,
		    fix_teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
