/*
 * Unit tests: the bytes of stored canned replies, contacts, dashboard
 * users, invitations and mails, written down. Their encoding (every storaged message
 * carrying one encodes it so), the LMDB value storaged writes, and each
 * older format as it reads: the bytes here were taken from the
 * hand-written codecs before the records had rows (proto/record.h), so
 * the rows must keep every one of them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "inboxmsg.h"
#include "mailbox.h"
#include "mailmsg.h"
#include "stmsgs.h"
#include "storeint.h"
#include "usermsg.h"
#include "util.h"
#include "widgetmsg.h"
#include "recbytes.h"
#include "test_fixture.h"
#include "test_who.h"

#define CANNED_ID	"cr_0123456789abcdef0123456789abcdef"
#define CONTACT_ID	"0123456789abcdef0123456789abcdef"
#define USER_ID		"usr_0123456789abcdef0123456789abcdef"
#define ORG_ID		"org_0123456789abcdef0123456789abcdef"
#define MAIL_ID		"ml_0000000000000007"

/* u64 1700000000000, 1700000000001; and 0. */
#define HEX_T0		"0000018bcfe56800"
#define HEX_T1		"0000018bcfe56801"
#define HEX_Z64		"0000000000000000"
#define HEX_NONE	"00000000"	/* str "", u32 0 */
/* str ...: the samples' strings. */
#define HEX_ORG_ID	"00000024" "6f72675f" \
	"3031323334353637383961626364656630313233343536373839616263646566"
#define HEX_DEFAULT	"00000007" "64656661756c74"
#define HEX_CANNED_ID	"00000023" "63725f" \
	"3031323334353637383961626364656630313233343536373839616263646566"
#define HEX_SHORTCUT	"00000009" "67726565742d315f61"
#define HEX_CTEXT	"00000016" \
	"48656c6c6f20e2809420e2809c667269656e64e2809d"
#define HEX_CONTACT_ID	"00000020" \
	"3031323334353637383961626364656630313233343536373839616263646566"
#define HEX_NAME	"0000000f" "41646120e2809420e2809c4ce2809d"
#define HEX_EMAIL	"0000000f" "616461406578616d706c652e636f6d"
#define HEX_PHONE	"0000000c" "2b3135353531323334353637"
#define HEX_EXT		"00000006" "6578742d3432"
#define HEX_USER_ID	"00000024" "7573725f" \
	"3031323334353637383961626364656630313233343536373839616263646566"
#define HEX_SALT	"00000010" "11111111111111111111111111111111"
#define HEX_HASH	"00000020" "2222222222222222222222222222222222222222" \
	"222222222222222222222222"
#define HEX_FP		"00000020" "3333333333333333333333333333333333333333" \
	"333333333333333333333333"
#define HEX_Z16		"00000010" "00000000000000000000000000000000"
#define HEX_Z32		"00000020" "0000000000000000000000000000000000000000" \
	"000000000000000000000000"
#define HEX_MAIL_ID	"00000013" "6d6c5f30303030303030303030303030303037"
#define HEX_ERROR	"00000007" "74696d656f7574"
#define HEX_RCPT_A	"0000000d" "61406578616d706c652e636f6d"
#define HEX_RCPT_B	"0000000d" "62406578616d706c652e636f6d"

/* A canned reply: full (of CANNED_ID; no files), empty. */
static const char canned_full[] = HEX_CANNED_ID HEX_SHORTCUT HEX_CTEXT
    HEX_T0 HEX_T1 "00000000";
static const char canned_empty[] = HEX_NONE HEX_NONE HEX_NONE HEX_Z64
    HEX_Z64 "00000000";

/* A contact's fields from its name to its times, format 1's. */
#define HEX_CONTACT_BODY	HEX_NAME HEX_EMAIL HEX_PHONE HEX_T0 HEX_T1
/* Format 5: when it was announced (its webhook and mail). */
static const char contact_full[] = HEX_CONTACT_ID HEX_CONTACT_BODY
    HEX_ORG_ID HEX_EXT "01" "01" HEX_T1;
static const char contact_empty[] = HEX_NONE HEX_NONE HEX_NONE HEX_NONE
    HEX_Z64 HEX_Z64 HEX_NONE HEX_NONE "00" "00" HEX_Z64;

/*
 * A user's fields to its times, format 1's: owner of "default", agent
 * of ORG_ID.
 */
#define HEX_USER_BODY	HEX_USER_ID HEX_EMAIL HEX_NAME HEX_SALT HEX_HASH \
	HEX_FP "00" "00000002" HEX_DEFAULT "03" HEX_ORG_ID "01" HEX_T0 HEX_T1
/* Format 2: each membership's disabled flag (the second disabled). */
static const char user_full[] = HEX_USER_BODY "00000002" "00" "01";
static const char user_empty[] = HEX_NONE HEX_NONE HEX_NONE HEX_Z16 HEX_Z32
    HEX_Z32 "00" HEX_NONE HEX_Z64 HEX_Z64 HEX_NONE;

/* A mail to a@ and b@, of payload 01 02 03, its next_at hex (format 1). */
#define HEX_MAIL(next)	HEX_MAIL_ID HEX_MAIL_REST(next)
/* The same after its id. */
#define HEX_MAIL_REST(next)	HEX_ORG_ID "00000001" "00000002" \
	HEX_T0 next HEX_ERROR "00000002" HEX_RCPT_A HEX_RCPT_B \
	"00000003" "010203"
/* Format 2: held (a summary's count; 0 an event's own mail). */
static const char mail_full[] = HEX_MAIL(HEX_T1) "00000007";
static const char mail_empty[] = HEX_NONE HEX_NONE "00000000" "00000000"
    HEX_Z64 HEX_Z64 HEX_NONE HEX_NONE HEX_NONE "00000000";

static int
setup(void **state)
{
	log_set_level(LOG_LEVEL_ERROR);
	return fix_setup(state, "/tmp/parley-recbytes-people-XXXXXX", 0);
}

/* setup() with rate counters (a contact's submission counts). */
static int
setup_rl(void **state)
{
	log_set_level(LOG_LEVEL_ERROR);
	return fix_setup(state, "/tmp/parley-recbytes-people-XXXXXX", 1);
}

/* rec encoded by codec pl is hex, and decodes into back exactly. */
static void
assert_wire(const struct playout *pl, const void *rec, const char *hex,
    void *back)
{
	struct penc e;
	struct pdec d;

	penc_init(&e);
	pl->enc(&e, rec);
	assert_int_equal(e.err, 0);
	assert_bytes(e.buf, e.len, hex);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pl->dec(&d, back), 0);
	assert_int_equal(pdec_done(&d), 0);
	penc_free(&e);
}

/* ---------------------------------------------------------------- wire */

static void
full_canned(struct st_canned *c)
{
	memset(c, 0, sizeof(*c));
	strlcpy(c->id, CANNED_ID, sizeof(c->id));
	strlcpy(c->shortcut, "greet-1_a", sizeof(c->shortcut));
	c->text = strdup("Hello — “friend”");
	assert_non_null(c->text);
	c->created_at = T0;
	c->updated_at = T0 + 1;
}

static void
test_canned_wire(void **state)
{
	struct st_canned c, g;

	memset(&c, 0, sizeof(c));
	assert_wire(&pl_canned, &c, canned_empty, &g);
	assert_string_equal(g.text, "");
	st_canned_free(&g);
	full_canned(&c);
	assert_wire(&pl_canned, &c, canned_full, &g);
	assert_string_equal(g.id, CANNED_ID);
	assert_string_equal(g.shortcut, "greet-1_a");
	assert_string_equal(g.text, "Hello — “friend”");
	assert_int_equal(g.created_at, T0);
	assert_int_equal(g.updated_at, T0 + 1);
	st_canned_free(&g);
	st_canned_free(&c);
}

/* A contact of org with every field set. */
static void
full_contact(struct st_contact *c, const char *org)
{
	memset(c, 0, sizeof(*c));
	strlcpy(c->id, CONTACT_ID, sizeof(c->id));
	c->name = strdup("Ada — “L”");
	c->email = strdup("ada@example.com");
	c->phone = strdup("+15551234567");
	c->created_at = T0;
	c->updated_at = T0 + 1;
	strlcpy(c->org, org, sizeof(c->org));
	c->external_id = strdup("ext-42");
	c->verified = 1;
	c->email_verified = 1;
	c->announced_at = T0 + 1;
}

/* c is full_contact's but for its organisation, identity and times. */
static void
assert_contact_body(const struct st_contact *c)
{
	assert_string_equal(c->id, CONTACT_ID);
	assert_string_equal(c->name, "Ada — “L”");
	assert_string_equal(c->email, "ada@example.com");
	assert_string_equal(c->phone, "+15551234567");
	assert_int_equal(c->created_at, T0);
	assert_int_equal(c->updated_at, T0 + 1);
}

static void
test_contact_wire(void **state)
{
	struct st_contact c, g;

	memset(&c, 0, sizeof(c));
	assert_wire(&pl_contact, &c, contact_empty, &g);
	st_contact_free(&g);
	full_contact(&c, ORG_ID);
	assert_wire(&pl_contact, &c, contact_full, &g);
	assert_contact_body(&g);
	assert_string_equal(g.org, ORG_ID);
	assert_string_equal(g.external_id, "ext-42");
	assert_int_equal(g.verified, 1);
	assert_int_equal(g.email_verified, 1);
	assert_int_equal(g.announced_at, T0 + 1);
	st_contact_free(&g);
	st_contact_free(&c);
}

static void
full_user(struct st_user *u)
{
	memset(u, 0, sizeof(*u));
	strlcpy(u->id, USER_ID, sizeof(u->id));
	strlcpy(u->email, "ada@example.com", sizeof(u->email));
	u->name = strdup("Ada — “L”");
	memset(u->salt, 0x11, sizeof(u->salt));
	memset(u->hash, 0x22, sizeof(u->hash));
	memset(u->fp, 0x33, sizeof(u->fp));
	u->n = 2;
	u->mems = calloc(2, sizeof(*u->mems));
	assert_non_null(u->mems);
	strlcpy(u->mems[0].org, ST_ORG_DEFAULT, sizeof(u->mems[0].org));
	u->mems[0].role = ST_ROLE_OWNER;
	strlcpy(u->mems[1].org, ORG_ID, sizeof(u->mems[1].org));
	u->mems[1].role = ST_ROLE_AGENT;
	u->mems[1].disabled = 1;
	u->created_at = T0;
	u->updated_at = T0 + 1;
}

/* u is full_user's, its second membership disabled or not. */
static void
assert_user(const struct st_user *u, int disabled)
{
	uint8_t b[ST_USER_FP_LEN];

	assert_string_equal(u->id, USER_ID);
	assert_string_equal(u->email, "ada@example.com");
	assert_string_equal(u->name, "Ada — “L”");
	memset(b, 0x11, sizeof(b));
	assert_memory_equal(u->salt, b, sizeof(u->salt));
	memset(b, 0x22, sizeof(b));
	assert_memory_equal(u->hash, b, sizeof(u->hash));
	memset(b, 0x33, sizeof(b));
	assert_memory_equal(u->fp, b, sizeof(u->fp));
	assert_int_equal(u->disabled, 0);
	assert_int_equal(u->n, 2);
	assert_string_equal(u->mems[0].org, ST_ORG_DEFAULT);
	assert_int_equal(u->mems[0].role, ST_ROLE_OWNER);
	assert_int_equal(u->mems[0].disabled, 0);
	assert_string_equal(u->mems[1].org, ORG_ID);
	assert_int_equal(u->mems[1].role, ST_ROLE_AGENT);
	assert_int_equal(u->mems[1].disabled, disabled);
	assert_int_equal(u->created_at, T0);
	assert_int_equal(u->updated_at, T0 + 1);
}

static void
test_user_wire(void **state)
{
	struct st_user u, g;
	struct pdec d;
	uint8_t buf[512];

	memset(&u, 0, sizeof(u));
	assert_wire(&pl_user, &u, user_empty, &g);
	assert_int_equal(g.n, 0);
	st_user_free(&g);
	full_user(&u);
	assert_wire(&pl_user, &u, user_full, &g);
	assert_user(&g, 1);
	st_user_free(&g);
	st_user_free(&u);

	/* Disabled flags for another count of memberships: refused. */
	pdec_init(&d, buf, unhex(HEX_USER_BODY "00000001" "00", buf,
	    sizeof(buf)));
	assert_int_equal(pl_user.dec(&d, &g), -1);
	/* A flag neither 0 nor 1: refused. */
	pdec_init(&d, buf, unhex(HEX_USER_BODY "00000002" "00" "02", buf,
	    sizeof(buf)));
	assert_int_equal(pl_user.dec(&d, &g), -1);
	/* Salt of another length: refused. */
	pdec_init(&d, buf, unhex(HEX_USER_ID HEX_EMAIL HEX_NAME HEX_HASH
	    HEX_HASH HEX_FP "00" HEX_NONE HEX_T0 HEX_T1 HEX_NONE, buf,
	    sizeof(buf)));
	assert_int_equal(pl_user.dec(&d, &g), -1);
}

static void
full_mail(struct st_mail *m)
{
	memset(m, 0, sizeof(*m));
	strlcpy(m->id, MAIL_ID, sizeof(m->id));
	strlcpy(m->org, ORG_ID, sizeof(m->org));
	m->kind = ST_MAIL_HANDOFF;
	m->attempts = 2;
	m->created_at = T0;
	m->next_at = T0 + 1;
	strlcpy(m->error, "timeout", sizeof(m->error));
	m->nrcpt = 2;
	m->rcpt = calloc(2, sizeof(*m->rcpt));
	assert_non_null(m->rcpt);
	assert_non_null(m->rcpt[0] = strdup("a@example.com"));
	assert_non_null(m->rcpt[1] = strdup("b@example.com"));
	m->payload_len = 3;
	m->payload = malloc(3);
	assert_non_null(m->payload);
	memcpy(m->payload, "\x01\x02\x03", 3);
	m->held = 7;
}

/* m is full_mail's, of organisation org, due at next. */
static void
assert_mail(const struct st_mail *m, const char *org, uint64_t next)
{
	assert_string_equal(m->id, MAIL_ID);
	assert_string_equal(m->org, org);
	assert_int_equal(m->kind, ST_MAIL_HANDOFF);
	assert_int_equal(m->attempts, 2);
	assert_int_equal(m->created_at, T0);
	assert_int_equal(m->next_at, next);
	assert_string_equal(m->error, "timeout");
	assert_int_equal(m->nrcpt, 2);
	assert_string_equal(m->rcpt[0], "a@example.com");
	assert_string_equal(m->rcpt[1], "b@example.com");
	assert_int_equal(m->payload_len, 3);
	assert_memory_equal(m->payload, "\x01\x02\x03", 3);
}

static void
test_mail_wire(void **state)
{
	struct st_mail m, g;

	memset(&m, 0, sizeof(m));
	assert_wire(&pl_mail, &m, mail_empty, &g);
	assert_int_equal(g.nrcpt, 0);
	assert_null(g.payload);
	st_mail_free(&g);
	full_mail(&m);
	assert_wire(&pl_mail, &m, mail_full, &g);
	assert_mail(&g, ORG_ID, T0 + 1);
	assert_int_equal(g.held, 7);
	st_mail_free(&g);
	st_mail_free(&m);
}

/* ---------------------------------------------------------------- LMDB */

/* The key "org" NUL shortcut (a canned reply's): its length. */
static size_t
canned_key(uint8_t *k, const char *org, const char *shortcut)
{
	size_t o = strlen(org) + 1;

	memcpy(k, org, o);
	memcpy(k + o, shortcut, strlen(shortcut));
	return o + strlen(shortcut);
}

/*
 * A canned reply put through storaged is stored as format 2 (its files
 * last: none); one stored as format 1 lists as it was, without files.
 */
static void
test_canned_lmdb(void **state)
{
	struct fix *f = *state;
	struct st_who key = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	struct st_canned_put_req q = { .id = "", .shortcut = "greet-1_a",
	    .text = "Hello — “friend”" };
	struct st_canned out;
	struct st_canneds l;
	uint8_t k[64];
	char hex[1024], id[2 * ST_CANNED_ID_LEN + 1];

	assert_int_equal(request_who(f, &key, PROTO_ST_CANNED_PUT, &q, &out,
	    NULL), 0);
	snprintf(hex, sizeof(hex), "02" "00000023%s" HEX_SHORTCUT HEX_CTEXT
	    HEX_T0 HEX_T0 "00000000", hex_of(out.id, id));
	assert_stored(f, "canned", k, canned_key(k, ST_ORG_DEFAULT,
	    "greet-1_a"), hex);
	st_canned_free(&out);

	db_put_hex(f, "canned", k, canned_key(k, ST_ORG_DEFAULT, "greet-1_a"),
	    "01" HEX_CANNED_ID HEX_SHORTCUT HEX_CTEXT HEX_T0 HEX_T1);
	assert_int_equal(request_who(f, &key, PROTO_ST_CANNED_LIST, NULL, &l,
	    NULL), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].id, CANNED_ID);
	assert_string_equal(l.items[0].shortcut, "greet-1_a");
	assert_string_equal(l.items[0].text, "Hello — “friend”");
	assert_int_equal(l.items[0].created_at, T0);
	assert_int_equal(l.items[0].updated_at, T0 + 1);
	st_rep_free(PROTO_ST_CANNED_LIST, &l);
}

/* What storaged answers for the contact CONTACT_ID. */
static void
contact_get(struct fix *f, struct st_contact_get_rep *g)
{
	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_GET,
	    &(struct st_id_page_req){ CONTACT_ID, ST_LIST_MAX, "" }, g), 0);
	assert_contact_body(&g->contact);
}

/*
 * Contacts of each format storaged has written: format 1 (before
 * organisations) reads as the default one's, formats 1 and 2 with no
 * external id, unverified, formats 1 to 3 with no email verified.
 */
static void
test_contact_formats(void **state)
{
	struct fix *f = *state;
	static const struct {
		const char *hex;	/* the stored record */
		const char *ext;
		int verified, email_verified;
	} formats[] = {
		{ "01" HEX_CONTACT_ID HEX_CONTACT_BODY, "", 0, 0 },
		{ "02" HEX_CONTACT_ID HEX_CONTACT_BODY HEX_DEFAULT, "", 0, 0 },
		{ "03" HEX_CONTACT_ID HEX_CONTACT_BODY HEX_DEFAULT HEX_EXT "01",
		    "ext-42", 1, 0 },
		{ "04" HEX_CONTACT_ID HEX_CONTACT_BODY HEX_DEFAULT HEX_EXT "01"
		    "01", "ext-42", 1, 1 },
	};
	struct st_contact_get_rep g;
	uint8_t id[16];
	size_t i;

	assert_int_equal(proto_hex_decode(CONTACT_ID, id, sizeof(id)), 0);
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		db_put_hex(f, "contacts", id, sizeof(id), formats[i].hex);
		contact_get(f, &g);
		assert_string_equal(g.contact.org, ST_ORG_DEFAULT);
		assert_string_equal(g.contact.external_id, formats[i].ext);
		assert_int_equal(g.contact.verified, formats[i].verified);
		assert_int_equal(g.contact.email_verified,
		    formats[i].email_verified);
		st_rep_free(PROTO_ST_CONTACT_GET, &g);
	}
	/* Format 5 is none yet. */
	db_put_hex(f, "contacts", id, sizeof(id), "05" HEX_CONTACT_ID
	    HEX_CONTACT_BODY HEX_DEFAULT HEX_EXT "01" "01");
	assert_int_not_equal(request_dec(f, PROTO_ST_CONTACT_GET,
	    &(struct st_id_page_req){ CONTACT_ID, ST_LIST_MAX, "" }, &g), 0);
}

/* A contact submitted from a new visitor session is stored as format 4. */
static void
test_contact_lmdb(void **state)
{
	struct fix *f = *state;
	struct st_widget w;
	struct st_contact_submit_req q = { .token_len = ST_TOKEN_HASH_LEN,
	    .name = "Ada — “L”", .email = "ada@example.com",
	    .phone = "+15551234567", .rate_key = "", .create = 1 };
	struct st_contact_submit_rep rep;
	struct st_ws_open_req open = { .origin = "",
	    .new_hash_len = ST_TOKEN_HASH_LEN, .idle_ms = 60000,
	    .history_max = 10 };
	struct penc e;
	struct dreply r;
	uint8_t id[16];
	char hex[1024], hid[2 * ST_ID_HEX + 1];

	fix_widget_new(f, "w", &w);
	/* ST_WS_OPEN: a fresh visitor's session of token 0xab... */
	memset(q.token, 0xab, sizeof(q.token));
	memcpy(open.new_hash, q.token, sizeof(open.new_hash));
	open.widget_id = w.widget_id;
	penc_init(&e);
	assert_int_equal(st_req_encode(&e, PROTO_ST_WS_OPEN, &open), 0);
	assert_int_equal(request(f, PROTO_ST_WS_OPEN, &e, &r), 0);
	dreply_free(&r);
	q.widget_id = w.widget_id;
	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_SUBMIT, &q, &rep), 0);
	assert_int_equal(rep.result, ST_WS_OK);
	snprintf(hex, sizeof(hex), "05" "00000020%s" HEX_CONTACT_BODY,
	    hex_of(rep.contact.id, hid));
	/*
	 * Both times are now's; a new contact is unverified, its email too,
	 * and not announced (the session has no conversation yet).
	 */
	memcpy(hex + strlen(hex) - 16, HEX_T0, 16);
	strlcat(hex, HEX_DEFAULT HEX_NONE "00" "00" HEX_Z64, sizeof(hex));
	assert_int_equal(proto_hex_decode(rep.contact.id, id, sizeof(id)), 0);
	assert_stored(f, "contacts", id, sizeof(id), hex);
	st_rep_free(PROTO_ST_CONTACT_SUBMIT, &rep);
	st_widget_free(&w);
}

/* who asks as the owner of the default organisation. */
static struct st_who
owner(void)
{
	return who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT, ST_ROLE_OWNER);
}

/*
 * A user added through storaged is stored as format 2; a format 1 user
 * reads with every membership enabled, and is written as format 2 when
 * a membership changes.
 */
static void
test_user_lmdb(void **state)
{
	struct fix *f = *state;
	struct st_who ctl = who_of(ST_WHO_CTL, "uid 0", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER), own = owner();
	struct st_user_set_req q;
	struct st_user_set_rep rep;
	struct st_user_auth_rep a;
	struct st_user_update_rep ur;
	struct st_members l;
	struct st_user_update_req u = { USER_ID, ST_UF_ROLE, ST_ROLE_ADMIN,
	    0 };
	uint8_t k[8 + ST_USER_ID_MAX + 8];
	char hex[1024], id[2 * ST_USER_ID_MAX + 1];
	int i;

	memset(&q, 0, sizeof(q));
	q.mode = ST_USER_SET_ADD;
	q.email = "Ada@Example.com";
	q.name = "Ada — “L”";
	q.role = ST_ROLE_OWNER;
	memset(q.salt, 0x11, sizeof(q.salt));
	q.salt_len = ST_PW_SALT_LEN;
	memset(q.hash, 0x22, sizeof(q.hash));
	q.hash_len = ST_PW_HASH_LEN;
	assert_int_equal(request_who(f, &ctl, PROTO_ST_USER_SET, &q, &rep,
	    NULL), 0);
	assert_int_equal(rep.result, 0);
	snprintf(hex, sizeof(hex), "02" "00000024%s" HEX_EMAIL HEX_NAME
	    HEX_SALT HEX_HASH HEX_Z32 "00" "00000001" HEX_DEFAULT "03" HEX_T0
	    HEX_T0 "00000001" "00", hex_of(rep.m.id, id));
	assert_stored(f, "users", rep.m.id, strlen(rep.m.id), hex);
	st_rep_free(PROTO_ST_USER_SET, &rep);

	/* Format 1, with its indexes: by email, order, member. */
	db_put_hex(f, "users", USER_ID, strlen(USER_ID), "01" HEX_USER_BODY);
	db_put_hex(f, "user_email", "bob@example.com", 15, hex_of(USER_ID, id));
	proto_put_be64(k, T0 + 1);
	memcpy(k + 8, USER_ID, strlen(USER_ID));
	db_put_hex(f, "user_order", k, 8 + strlen(USER_ID), "01");
	memcpy(k, "default", 8);
	memcpy(k + 8, USER_ID, strlen(USER_ID));
	db_put_hex(f, "org_users", k, 8 + strlen(USER_ID), "01");
	assert_int_equal(request_who(f, NULL, PROTO_ST_USER_AUTH,
	    &(struct st_user_auth_req){ "bob@example.com" }, &a, NULL), 0);
	assert_int_equal(a.found, 1);
	assert_string_equal(a.s.id, USER_ID);
	assert_int_equal(a.s.salt_len, ST_PW_SALT_LEN);
	assert_int_equal(a.s.salt[0], 0x11);
	assert_int_equal(a.s.hash[31], 0x22);
	assert_int_equal(a.s.disabled, 0);
	assert_int_equal(request_who(f, &own, PROTO_ST_USER_LIST, NULL, &l,
	    NULL), 0);
	assert_int_equal(l.n, 2);
	i = strcmp(l.m[0].id, USER_ID) == 0 ? 0 : 1;
	assert_string_equal(l.m[i].id, USER_ID);
	assert_string_equal(l.m[i].email, "ada@example.com");
	assert_int_equal(l.m[i].role, ST_ROLE_OWNER);
	assert_int_equal(l.m[i].disabled, 0);
	st_rep_free(PROTO_ST_USER_LIST, &l);

	/* Its role in "default" changed: format 2, the flags written. */
	fake_now = T0 + 5;
	assert_int_equal(request_who(f, &own, PROTO_ST_USER_UPDATE, &u, &ur,
	    NULL), 0);
	assert_int_equal(ur.result, 0);
	st_rep_free(PROTO_ST_USER_UPDATE, &ur);
	assert_stored(f, "users", USER_ID, strlen(USER_ID), "02" HEX_USER_ID
	    HEX_EMAIL HEX_NAME HEX_SALT HEX_HASH HEX_FP "00" "00000002"
	    HEX_DEFAULT "02" HEX_ORG_ID "01" HEX_T0 "0000018bcfe56805"
	    "00000002" "00" "00");
}

/*
 * The mail's two recipients, members of its organisation who chose its
 * kind: it is handed out to those alone (mailbox.c's rcpt_recheck).
 */
static void
mail_members(struct fix *f)
{
	const char *emails[] = { "a@example.com", "b@example.com" };
	char id[ST_USER_ID_MAX + 1];
	struct st_who w;
	struct st_notify rep;
	uint8_t okey[8 + sizeof(ORG_ID) - 1];
	size_t i;

	/* Its organisation, "Acme", as test_recbytes.c stores one. */
	db_put_hex(f, "orgs", ORG_ID, strlen(ORG_ID), "01" HEX_ORG_ID
	    "00000004" "41636d65" HEX_T0 HEX_T0);
	proto_put_be64(okey, T0);
	memcpy(okey + 8, ORG_ID, strlen(ORG_ID));
	db_write(f, "org_order", okey, sizeof(okey), "", 0);
	for (i = 0; i < 2; i++) {
		who_user_new(f, ORG_ID, emails[i], "Someone", id);
		w = who_of(ST_WHO_SESSION, "0123456789abcdef", ORG_ID,
		    ST_ROLE_AGENT);
		strlcpy(w.user, id, sizeof(w.user));
		assert_int_equal(request_who(f, &w, PROTO_ST_NOTIFY_SET,
		    &(struct st_notify){ ST_MAIL_HANDOFF }, &rep, NULL), 0);
	}
}

/*
 * A mail stored as format 1 is due as it was (held 0: an event's own
 * mail), and leased it is written again as format 2, its next_at the
 * lease's end.
 */
static void
test_mail_lmdb(void **state)
{
	struct fix *f = *state;
	struct st_mails m;
	struct store_txn t;
	uint8_t k[16];
	uint64_t seq = 0;
	char shown[ST_MAIL_ID_LEN + 1], hid[2 * ST_MAIL_ID_LEN + 1];
	char hex[2048];

	fake_now = T0 + 9;
	mail_members(f);
	proto_put_be64(k, 7);
	db_put_hex(f, "mails", k, 8, "01" HEX_MAIL(HEX_T1));
	proto_put_be64(k, T0 + 1);
	proto_put_be64(k + 8, 7);
	db_put_hex(f, "mail_due", k, 16, "01");
	store_mail_settings(f->st, 1);
	assert_int_equal(request_who(f, NULL, PROTO_ST_MAIL_DUE,
	    &(struct st_mail_due_req){ 16, 60000 }, &m, NULL), 0);
	assert_int_equal(m.n, 1);
	/*
	 * Stored with its number as its id (before opaque ids): shown, and
	 * stored again, by its number's opaque id (seqid.c).
	 */
	strlcpy(shown, m.mails[0].id, sizeof(shown));
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(store_seq_read(&t, ST_MAIL_PREFIX, shown, &seq), 0);
	store_abort(&t);
	assert_true(seq == 7);
	strlcpy(m.mails[0].id, MAIL_ID, sizeof(m.mails[0].id));
	assert_mail(&m.mails[0], ORG_ID, T0 + 9 + 60000);
	assert_int_equal(m.mails[0].held, 0);
	st_rep_free(PROTO_ST_MAIL_DUE, &m);
	proto_put_be64(k, 7);
	snprintf(hex, sizeof(hex), "02" "00000023%s"
	    HEX_MAIL_REST("0000018bcfe65269") "00000000", hex_of(shown, hid));
	assert_stored(f, "mails", k, 8, hex);
}

/*
 * An invitation put through storaged is stored as format 2 (its claimed
 * flag last); one of format 1 (no flag) lists as it was.
 */
static void
test_invite_lmdb(void **state)
{
	struct fix *f = *state;
	struct st_who key = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT,
	    ST_ROLE_OWNER);
	struct st_user_invite_req q;
	struct st_user_invite_rep rep;
	struct st_invites l;
	uint8_t hash[ST_INVITE_HASH_LEN], old[ST_INVITE_HASH_LEN];
	uint32_t i;

	memset(&q, 0, sizeof(q));
	q.email = "ada@example.com";
	q.role = ST_ROLE_ADMIN;
	memset(q.token_hash, 0xab, sizeof(q.token_hash));
	q.token_hash_len = sizeof(q.token_hash);
	memcpy(hash, q.token_hash, sizeof(hash));
	assert_int_equal(request_who(f, &key, PROTO_ST_USER_INVITE, &q, &rep,
	    NULL), 0);
	assert_int_equal(rep.result, 0);
	/* Expires 7 days after T0. */
	assert_stored(f, "invites", hash, sizeof(hash), "02" HEX_DEFAULT
	    HEX_EMAIL "02" "0000018bf3f1ec00" HEX_T0 "00");

	memset(old, 0xcd, sizeof(old));
	db_put_hex(f, "invites", old, sizeof(old), "01" HEX_DEFAULT
	    "0000000d" "62406578616d706c652e636f6d" "01" HEX_T1 HEX_T0);
	assert_int_equal(request_who(f, &key, PROTO_ST_INVITE_LIST, NULL, &l,
	    NULL), 0);
	assert_int_equal(l.n, 2);
	for (i = 0; i < l.n; i++)
		if (strcmp(l.v[i].email, "b@example.com") == 0)
			break;
	assert_true(i < l.n);
	assert_string_equal(l.v[i].id, "inv_cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
	assert_int_equal(l.v[i].role, ST_ROLE_AGENT);
	assert_int_equal(l.v[i].created_at, T0);
	assert_int_equal(l.v[i].expires_at, T0 + 1);
	st_rep_free(PROTO_ST_INVITE_LIST, &l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canned_wire),
		cmocka_unit_test(test_contact_wire),
		cmocka_unit_test(test_user_wire),
		cmocka_unit_test(test_mail_wire),
		cmocka_unit_test_setup_teardown(test_canned_lmdb, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_contact_formats, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_contact_lmdb, setup_rl,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_user_lmdb, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_invite_lmdb, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_mail_lmdb, setup,
		    fix_teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
