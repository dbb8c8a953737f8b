/*
 * Unit tests: the bytes of stored webhooks, deliveries and API keys, and
 * of the notifier's due jobs, written down. Their encoding (every
 * storaged message carrying one encodes it so), the LMDB value storaged
 * writes, and the formats before as they read: the bytes here were
 * taken from the hand-written codecs before the records had rows
 * (proto/record.h), so the rows must keep every one of them. A webhook's
 * format 2 adds its rotated secret and until when it signs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "hookmsg.h"
#include "keymsg.h"
#include "storeint.h"
#include "orgmsg.h"
#include "stmsgs.h"
#include "recbytes.h"
#include "test_fixture.h"
#include "test_who.h"

#define ORG_ID		"org_0123456789abcdef0123456789abcdef"
#define HOOK_ID		"wh_0123456789abcdef0123456789abcdef"
#define KEY_ID		"key_0123456789abcdef0123456789abcdef"
#define DLV_ID		"dlv_00000000000000ff"
#define SECRET	"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
#define URL		"https://hooks.example/in?a=1"

/* u64 1700000000000 and the next three ms. */
#define HEX_T0		"0000018bcfe56800"
#define HEX_T1		"0000018bcfe56801"
#define HEX_T2		"0000018bcfe56802"
#define HEX_T3		"0000018bcfe56803"
#define HEX_ZERO64	"0000000000000000"
#define HEX_DEFAULT	"00000007" "64656661756c74"
#define HEX_ORG_ID	"00000024" "6f72675f" \
	"3031323334353637383961626364656630313233343536373839616263646566"
#define HEX_HOOK_ID	"00000023" "77685f" \
	"3031323334353637383961626364656630313233343536373839616263646566"
#define HEX_KEY_ID	"00000024" "6b65795f" \
	"3031323334353637383961626364656630313233343536373839616263646566"
#define HEX_DLV_ID	"00000014" "646c765f" "30303030303030303030303030306666"
#define HEX_URL		"0000001c" \
	"68747470733a2f2f686f6f6b732e6578616d706c652f696e3f613d31"
#define HEX_SECRET	"00000032" "77687365635f" \
	"4d4445794d7a51314e6a63344f5746695932526c5a6a41784d6a4d304e5459334f" \
	"446c68596d4e6b5a57593d"
/* str "Deploy — “ci”". */
#define HEX_KEY_NAME	"00000013" "4465706c6f7920e2809420e2809c6369e2809d"
/* bytes 00 01 ... 1f: a key's hash. */
#define HEX_HASH	"00000020" \
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
/* str "bad gateway — “x”". */
#define HEX_ERROR	"00000017" "626164206761746577617920e2809420e2809c78e2809d"
/* bytes {"type":"webhook.test"}: the test delivery's payload. */
#define HEX_PING	"00000017" \
	"7b2274797065223a22776562686f6f6b2e74657374227d"

/* A full webhook, on the wire (its secret rotated: the one before, T3). */
static const char hook_full[] = HEX_HOOK_ID HEX_ORG_ID HEX_URL "00000013"
    "01" HEX_SECRET HEX_T0 HEX_T1 "00000003" HEX_T2 HEX_SECRET HEX_T3;
static const char hook_empty[] = "00000000" "00000000" "00000000"
    "00000000" "00" "00000000" HEX_ZERO64 HEX_ZERO64 "00000000" HEX_ZERO64
    "00000000" HEX_ZERO64;
/* A full delivery's fields but its payload. */
#define HEX_DLV_HEAD	HEX_DLV_ID HEX_HOOK_ID HEX_ORG_ID "00000002" "02" \
	"00000004" HEX_T0 HEX_T3 HEX_T1 "000001f6" HEX_ERROR "000004d2"
static const char dlv_full[] = HEX_DLV_HEAD "00000006" "0001feff7b7d";
static const char dlv_empty[] = "00000000" "00000000" "00000000"
    "00000000" "00" "00000000" HEX_ZERO64 HEX_ZERO64 HEX_ZERO64
    "00000000" "00000000" "00000000" "00000000";
static const char job_full[] = HEX_DLV_HEAD "00000006" "0001feff7b7d"
    HEX_URL HEX_SECRET HEX_SECRET;
static const char key_full[] = HEX_KEY_ID HEX_ORG_ID HEX_KEY_NAME "02"
    HEX_HASH HEX_T0 HEX_T1 HEX_T2;
static const char key_empty[] = "00000000" "00000000" "00000000" "00"
    "00000000" HEX_ZERO64 HEX_ZERO64 HEX_ZERO64;

static struct st_who OWNER;

/* A due job's codec (hookmsg.h), as the reply's list walks it. */
static void
job_enc(struct penc *e, const void *j)
{
	penc_hook_job(e, j);
}

static int
job_dec(struct pdec *d, void *j)
{
	return pdec_hook_job(d, j);
}

static void
job_free(void *j)
{
	st_hook_job_free(j);
}

static const struct playout pl_job = { "st_hook_job",
    sizeof(struct st_hook_job), NULL, 0, job_enc, job_dec, job_free, NULL };

static int
setup(void **state)
{
	OWNER = who_of(ST_WHO_KEY, "install", ST_ORG_DEFAULT, ST_ROLE_OWNER);
	return fix_setup(state, "/tmp/parley-recbytes-hook-XXXXXX", 0);
}

/* hex decodes as l's record into rec, every byte read. */
static void
decodes(const struct playout *l, const char *hex, void *rec)
{
	uint8_t buf[1024];
	struct pdec d;

	pdec_init(&d, buf, unhex(hex, buf, sizeof(buf)));
	assert_int_equal(l->dec(&d, rec), 0);
	assert_int_equal(pdec_done(&d), 0);
}

/* hex does not decode as l's record, which is left zeroed. */
static void
refused(const struct playout *l, const char *hex)
{
	uint8_t buf[1024], rec[1024] = { 0 };
	struct pdec d;
	size_t i;

	assert_true(l->size <= sizeof(rec));
	memset(rec, 0xa5, l->size);
	pdec_init(&d, buf, unhex(hex, buf, sizeof(buf)));
	assert_int_equal(l->dec(&d, rec), -1);
	for (i = 0; i < l->size; i++)
		assert_int_equal(rec[i], 0);
}

/* rec encodes as l's record to hex. */
static void
encodes(const struct playout *l, const void *rec, const char *hex)
{
	struct penc e;

	penc_init(&e);
	l->enc(&e, rec);
	assert_int_equal(e.err, 0);
	assert_bytes(e.buf, e.len, hex);
	penc_free(&e);
}

/* n bytes, all zero after a free. */
static void
assert_zeroed(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(b[i], 0);
}

/* ---------------------------------------------------------------- LMDB */

/* ------------------------------------------------------------- webhooks */

static void
full_hook(struct st_webhook *h)
{
	memset(h, 0, sizeof(*h));
	strlcpy(h->id, HOOK_ID, sizeof(h->id));
	strlcpy(h->org, ORG_ID, sizeof(h->org));
	h->url = strdup(URL);
	assert_non_null(h->url);
	h->events = 0x13;
	h->enabled = 1;
	strlcpy(h->secret, SECRET, sizeof(h->secret));
	h->created_at = T0;
	h->updated_at = T0 + 1;
	h->failures = 3;
	h->disabled_at = T0 + 2;
	strlcpy(h->old_secret, SECRET, sizeof(h->old_secret));
	h->old_until = T0 + 3;
}

/* h (its url long) encodes, and decodes as want says (0 or -1). */
static void
long_url(const struct st_webhook *h, int want)
{
	struct st_webhook g;
	struct penc e;
	struct pdec d;

	penc_init(&e);
	pl_webhook.enc(&e, h);
	assert_int_equal(e.err, 0);
	pdec_init(&d, e.buf, e.len);
	memset(&g, 0xa5, sizeof(g));
	assert_int_equal(pl_webhook.dec(&d, &g), want);
	if (want == 0)
		assert_string_equal(g.url, h->url);
	st_webhook_free(&g);
	assert_zeroed(&g, sizeof(g));
	penc_free(&e);
}

static void
test_hook_wire(void **state)
{
	struct st_webhook h, g;
	char url[ST_HOOK_URL_MAX + 2];

	memset(&h, 0, sizeof(h));
	encodes(&pl_webhook, &h, hook_empty);
	decodes(&pl_webhook, hook_empty, &g);
	assert_non_null(g.url);
	assert_string_equal(g.url, "");
	st_webhook_free(&g);

	full_hook(&h);
	encodes(&pl_webhook, &h, hook_full);
	decodes(&pl_webhook, hook_full, &g);
	assert_string_equal(g.id, HOOK_ID);
	assert_string_equal(g.org, ORG_ID);
	assert_string_equal(g.url, URL);
	assert_int_equal(g.events, 0x13);
	assert_int_equal(g.enabled, 1);
	assert_string_equal(g.secret, SECRET);
	assert_int_equal(g.created_at, T0);
	assert_int_equal(g.updated_at, T0 + 1);
	assert_int_equal(g.failures, 3);
	assert_int_equal(g.disabled_at, T0 + 2);
	assert_string_equal(g.old_secret, SECRET);
	assert_int_equal(g.old_until, T0 + 3);
	assert_null(st_webhook_invalid(&g));
	st_webhook_free(&g);
	/* Freed, its secret is gone with the rest. */
	assert_zeroed(&g, sizeof(g));

	/* A copy is deep, and encodes the same. */
	assert_int_equal(rl_copy(&st_webhook_layout, &g, &h), 0);
	assert_ptr_not_equal(g.url, h.url);
	encodes(&pl_webhook, &g, hook_full);
	st_webhook_free(&g);
	st_webhook_free(&h);

	/* A url of 2048 bytes reads; one more does not. */
	full_hook(&h);
	free(h.url);
	memset(url, 'a', ST_HOOK_URL_MAX + 1);
	url[ST_HOOK_URL_MAX + 1] = '\0';
	h.url = url;
	long_url(&h, -1);
	url[ST_HOOK_URL_MAX] = '\0';
	long_url(&h, 0);
	/* Cut short: refused, zeroed. */
	refused(&pl_webhook, HEX_HOOK_ID HEX_ORG_ID HEX_URL "00000013");
}

/* A webhook made through storaged, as stored; and one stored read back. */
static void
test_hook_lmdb(void **state)
{
	struct fix *f = *state;
	struct st_webhook in, out, g;
	char hex[1024], id[2 * ST_HOOK_ID_LEN + 1];

	memset(&in, 0, sizeof(in));
	in.url = URL;
	in.events = 0x13;
	in.enabled = 1;
	strlcpy(in.secret, SECRET, sizeof(in.secret));
	assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_CREATE, &in,
	    &out, NULL), 0);
	snprintf(hex, sizeof(hex), "02" "00000023%s" HEX_DEFAULT HEX_URL
	    "00000013" "01" HEX_SECRET HEX_T0 HEX_T0 "00000000" HEX_ZERO64
	    "00000000" HEX_ZERO64, hex_of(out.id, id));
	assert_stored(f, "webhooks", out.id, strlen(out.id), hex);
	/* The get's reply: no secret. */
	assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_GET,
	    &(struct st_id_req){ out.id }, &g, NULL), 0);
	assert_string_equal(g.secret, "");
	st_webhook_free(&g);

	/*
	 * A format-1 value stored by hand (as before opaque ids: its number
	 * its id) reads back, shown by its number's opaque id.
	 */
	snprintf(hex, sizeof(hex), "01" "00000023%s" HEX_DEFAULT HEX_URL
	    "00000011" "00" HEX_SECRET HEX_T1 HEX_T2 "00000005" HEX_T3,
	    hex_of(out.id, id));
	db_put_hex(f, "webhooks", out.id, strlen(out.id), hex);
	assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_GET,
	    &(struct st_id_req){ out.id }, &g, NULL), 0);
	assert_string_equal(g.url, URL);
	assert_int_equal(g.events, 0x11);
	assert_int_equal(g.enabled, 0);
	assert_int_equal(g.created_at, T0 + 1);
	assert_int_equal(g.updated_at, T0 + 2);
	assert_int_equal(g.failures, 5);
	assert_int_equal(g.disabled_at, T0 + 3);
	st_webhook_free(&g);
	st_webhook_free(&out);
}

/* ----------------------------------------------------------- deliveries */

static void
full_delivery(struct st_delivery *d)
{
	static const uint8_t payload[] = { 0x00, 0x01, 0xfe, 0xff, '{', '}' };

	memset(d, 0, sizeof(*d));
	strlcpy(d->id, DLV_ID, sizeof(d->id));
	strlcpy(d->hook, HOOK_ID, sizeof(d->hook));
	strlcpy(d->org, ORG_ID, sizeof(d->org));
	d->event = ST_HE_MESSAGE_CREATED;
	d->status = ST_DLV_FAILED;
	d->attempts = 4;
	d->created_at = T0;
	d->next_at = T0 + 3;
	d->updated_at = T0 + 1;
	d->code = 502;
	strlcpy(d->error, "bad gateway — “x”", sizeof(d->error));
	d->duration_ms = 1234;
	d->payload = malloc(sizeof(payload));
	assert_non_null(d->payload);
	memcpy(d->payload, payload, sizeof(payload));
	d->payload_len = sizeof(payload);
}

static void
assert_full_delivery(const struct st_delivery *g)
{
	assert_string_equal(g->id, DLV_ID);
	assert_string_equal(g->hook, HOOK_ID);
	assert_string_equal(g->org, ORG_ID);
	assert_int_equal(g->event, ST_HE_MESSAGE_CREATED);
	assert_int_equal(g->status, ST_DLV_FAILED);
	assert_int_equal(g->attempts, 4);
	assert_int_equal(g->created_at, T0);
	assert_int_equal(g->next_at, T0 + 3);
	assert_int_equal(g->updated_at, T0 + 1);
	assert_int_equal(g->code, 502);
	assert_string_equal(g->error, "bad gateway — “x”");
	assert_int_equal(g->duration_ms, 1234);
	assert_int_equal(g->payload_len, 6);
	assert_memory_equal(g->payload, "\x00\x01\xfe\xff{}", 6);
}

static void
test_delivery_wire(void **state)
{
	struct st_delivery d, g;

	memset(&d, 0, sizeof(d));
	encodes(&pl_delivery, &d, dlv_empty);
	decodes(&pl_delivery, dlv_empty, &g);
	/* No payload: NULL, none. */
	assert_null(g.payload);
	assert_int_equal(g.payload_len, 0);
	st_delivery_free(&g);

	full_delivery(&d);
	encodes(&pl_delivery, &d, dlv_full);
	decodes(&pl_delivery, dlv_full, &g);
	assert_full_delivery(&g);
	st_delivery_free(&g);
	assert_zeroed(&g, sizeof(g));
	st_delivery_free(&d);

	/* An error of 201 bytes, a payload cut short: refused, zeroed. */
	refused(&pl_delivery, HEX_DLV_ID HEX_HOOK_ID HEX_ORG_ID "00000002"
	    "02" "00000004" HEX_T0 HEX_T3 HEX_T1 "000001f6" "000000c9"
	    "6161616161616161616161616161616161616161616161616161616161616161"
	    "6161616161616161616161616161616161616161616161616161616161616161"
	    "6161616161616161616161616161616161616161616161616161616161616161"
	    "6161616161616161616161616161616161616161616161616161616161616161"
	    "6161616161616161616161616161616161616161616161616161616161616161"
	    "6161616161616161616161616161616161616161616161616161616161616161"
	    "616161616161616161" "000004d2" "00000000");
	refused(&pl_delivery, HEX_DLV_HEAD "00000007" "0001feff7b7d");
	/* A payload longer than any message is refused before it is read. */
	refused(&pl_delivery, HEX_DLV_HEAD "00800001" "00");
}

static void
test_job_wire(void **state)
{
	struct st_hook_job j, g;

	memset(&j, 0, sizeof(j));
	full_delivery(&j.d);
	j.url = strdup(URL);
	assert_non_null(j.url);
	strlcpy(j.secret, SECRET, sizeof(j.secret));
	strlcpy(j.old_secret, SECRET, sizeof(j.old_secret));
	encodes(&pl_job, &j, job_full);
	decodes(&pl_job, job_full, &g);
	assert_full_delivery(&g.d);
	assert_string_equal(g.url, URL);
	assert_string_equal(g.secret, SECRET);
	assert_string_equal(g.old_secret, SECRET);
	st_hook_job_free(&g);
	assert_zeroed(&g, sizeof(g));
	st_hook_job_free(&j);
	refused(&pl_job, HEX_DLV_HEAD "00000006" "0001feff7b7d" HEX_URL);
}

/*
 * A test delivery made through storaged, as stored (u64 seq -> format 1)
 * and as the notifier takes it: its job with the webhook's url and secret.
 */
static void
test_delivery_lmdb(void **state)
{
	struct fix *f = *state;
	struct st_webhook in, h;
	struct st_delivery d;
	struct st_hook_jobs j;
	struct penc e;
	struct store_txn t;
	uint8_t seq[8];
	uint64_t n = 0;
	char hex[4096], id[2 * ST_HOOK_ID_LEN + 1], head[2048];
	char did[2 * ST_DLV_ID_LEN + 1];

	memset(&in, 0, sizeof(in));
	in.url = URL;
	in.events = ST_HE_ALL;
	in.enabled = 1;
	strlcpy(in.secret, SECRET, sizeof(in.secret));
	assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_CREATE, &in,
	    &h, NULL), 0);
	fake_now = T0 + 1;
	assert_int_equal(request_who(f, &OWNER, PROTO_ST_HOOK_TEST,
	    &(struct st_id_req){ h.id }, &d, NULL), 0);
	/* Its id: the first delivery's number, opaque (seqid.c). */
	assert_int_equal(strlen(d.id), ST_DLV_ID_LEN);
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(store_seq_read(&t, ST_DLV_PREFIX, d.id, &n), 0);
	store_abort(&t);
	assert_true(n == 1);
	assert_null(d.payload);
	snprintf(head, sizeof(head), "00000024%s" "00000023%s" HEX_DEFAULT
	    "00000040" "00" "00000000" HEX_T1 HEX_T1 HEX_T1 "00000000"
	    "00000000" "00000000", hex_of(d.id, did), hex_of(h.id, id));
	snprintf(hex, sizeof(hex), "01%s" HEX_PING, head);
	proto_put_be64(seq, 1);
	assert_stored(f, "deliveries", seq, sizeof(seq), hex);
	/* Its reply: no payload. */
	penc_init(&e);
	pl_delivery.enc(&e, &d);
	snprintf(hex, sizeof(hex), "%s" "00000000", head);
	assert_bytes(e.buf, e.len, hex);
	penc_free(&e);
	st_delivery_free(&d);

	assert_int_equal(request_who(f, NULL, PROTO_ST_HOOK_DUE,
	    &(struct st_hook_due_req){ .max = 8, .lease_ms = 60000,
	    .per_hook = 8 }, &j, NULL), 0);
	assert_int_equal(j.n, 1);
	assert_int_equal(j.jobs[0].d.attempts, 0);
	penc_init(&e);
	pl_job.enc(&e, &j.jobs[0]);
	/* Leased: due again when the lease ends. */
	snprintf(hex, sizeof(hex), "00000024%s" "00000023%s" HEX_DEFAULT
	    "00000040" "00" "00000000" HEX_T1 "0000018bcfe65261" HEX_T1
	    "00000000" "00000000" "00000000" HEX_PING HEX_URL HEX_SECRET
	    "00000000", did, hex_of(h.id, id));
	assert_bytes(e.buf, e.len, hex);
	penc_free(&e);
	st_rep_free(PROTO_ST_HOOK_DUE, &j);

	/* A format-1 value stored by hand reads back. */
	snprintf(hex, sizeof(hex), "01" "00000014" "646c765f"
	    "30303030303030303030303030303031" "00000023%s" HEX_DEFAULT
	    "00000040" "02" "00000004" HEX_T1 HEX_T2 HEX_T3 "000001f6"
	    HEX_ERROR "000004d2" HEX_PING, hex_of(h.id, id));
	db_put_hex(f, "deliveries", seq, sizeof(seq), hex);
	{
		struct st_deliveries l;
		struct st_id_page_req q = { h.id, 10, "" };

		assert_int_equal(request_who(f, &OWNER,
		    PROTO_ST_HOOK_DELIVERIES, &q, &l, NULL), 0);
		assert_int_equal(l.n, 1);
		assert_int_equal(strlen(l.dlv[0].id), ST_DLV_ID_LEN);
		assert_int_equal(store_begin(f->st, &t, 1), 0);
		assert_int_equal(store_seq_read(&t, ST_DLV_PREFIX, l.dlv[0].id,
		    &n), 0);
		store_abort(&t);
		assert_true(n == 1);
		assert_int_equal(l.dlv[0].status, ST_DLV_FAILED);
		assert_int_equal(l.dlv[0].attempts, 4);
		assert_int_equal(l.dlv[0].next_at, T0 + 2);
		assert_int_equal(l.dlv[0].updated_at, T0 + 3);
		assert_int_equal(l.dlv[0].code, 502);
		assert_string_equal(l.dlv[0].error, "bad gateway — “x”");
		assert_int_equal(l.dlv[0].duration_ms, 1234);
		st_rep_free(PROTO_ST_HOOK_DELIVERIES, &l);
	}
	st_webhook_free(&h);
}

/* ------------------------------------------------------------- API keys */

static void
full_key(struct st_apikey *k)
{
	uint8_t i;

	memset(k, 0, sizeof(*k));
	strlcpy(k->id, KEY_ID, sizeof(k->id));
	strlcpy(k->org, ORG_ID, sizeof(k->org));
	k->name = strdup("Deploy — “ci”");
	assert_non_null(k->name);
	k->role = ST_ROLE_ADMIN;
	for (i = 0; i < ST_KEY_HASH_LEN; i++)
		k->hash[i] = i;
	k->hash_len = ST_KEY_HASH_LEN;
	k->created_at = T0;
	k->updated_at = T0 + 1;
	k->last_used_at = T0 + 2;
}

static void
test_key_wire(void **state)
{
	struct st_apikey k, g;
	uint8_t i;

	memset(&k, 0, sizeof(k));
	encodes(&pl_apikey, &k, key_empty);
	decodes(&pl_apikey, key_empty, &g);
	assert_int_equal(g.hash_len, 0);
	st_apikey_free(&g);

	full_key(&k);
	encodes(&pl_apikey, &k, key_full);
	decodes(&pl_apikey, key_full, &g);
	assert_string_equal(g.id, KEY_ID);
	assert_string_equal(g.org, ORG_ID);
	assert_string_equal(g.name, "Deploy — “ci”");
	assert_int_equal(g.role, ST_ROLE_ADMIN);
	assert_int_equal(g.hash_len, ST_KEY_HASH_LEN);
	for (i = 0; i < ST_KEY_HASH_LEN; i++)
		assert_int_equal(g.hash[i], i);
	assert_int_equal(g.created_at, T0);
	assert_int_equal(g.updated_at, T0 + 1);
	assert_int_equal(g.last_used_at, T0 + 2);
	assert_null(st_apikey_invalid(&g));
	st_apikey_free(&g);
	assert_zeroed(&g, sizeof(g));

	/* A copy is deep, and encodes the same. */
	assert_int_equal(rl_copy(&st_apikey_layout, &g, &k), 0);
	assert_ptr_not_equal(g.name, k.name);
	encodes(&pl_apikey, &g, key_full);
	st_apikey_free(&g);

	/* A hash of another length than 32 is sent as none. */
	k.hash_len = 5;
	encodes(&pl_apikey, &k, HEX_KEY_ID HEX_ORG_ID HEX_KEY_NAME "02"
	    "00000000" HEX_T0 HEX_T1 HEX_T2);
	st_apikey_free(&k);
	/* And read as an error. */
	refused(&pl_apikey, HEX_KEY_ID HEX_ORG_ID HEX_KEY_NAME "02"
	    "00000005" "0001020304" HEX_T0 HEX_T1 HEX_T2);
	refused(&pl_apikey, HEX_KEY_ID HEX_ORG_ID HEX_KEY_NAME "02"
	    "00000021" "000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f20" HEX_T0 HEX_T1 HEX_T2);
}

/* A key made through storaged, as stored; and one stored read back. */
static void
test_key_lmdb(void **state)
{
	struct fix *f = *state;
	struct st_key_create_req q = { .name = "Deploy — “ci”",
	    .role = ST_ROLE_ADMIN, .hash_len = ST_KEY_HASH_LEN };
	struct st_key_auth_req a = { .hash_len = ST_KEY_HASH_LEN };
	struct st_key_auth_rep ar;
	struct st_apikey out;
	struct st_apikeys l;
	char hex[1024], id[2 * ST_KEY_ID_LEN + 1];
	uint8_t i;

	for (i = 0; i < ST_KEY_HASH_LEN; i++)
		q.hash[i] = a.hash[i] = i;
	assert_int_equal(request_who(f, &OWNER, PROTO_ST_KEY_CREATE, &q,
	    &out, NULL), 0);
	/* A reply never carries the hash; the record keeps it. */
	assert_int_equal(out.hash_len, 0);
	snprintf(hex, sizeof(hex), "01" "00000024%s" HEX_DEFAULT HEX_KEY_NAME
	    "02" HEX_HASH HEX_T0 HEX_T0 HEX_ZERO64, hex_of(out.id, id));
	assert_stored(f, "apikeys", out.id, strlen(out.id), hex);

	/* A format-1 value stored by hand reads back. */
	snprintf(hex, sizeof(hex), "01" "00000024%s" HEX_DEFAULT
	    "00000003" "6f6c64" "03" HEX_HASH HEX_T0 HEX_T1 HEX_T2,
	    hex_of(out.id, id));
	db_put_hex(f, "apikeys", out.id, strlen(out.id), hex);
	assert_int_equal(request_who(f, &OWNER, PROTO_ST_KEY_LIST, NULL, &l,
	    NULL), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.keys[0].id, out.id);
	assert_string_equal(l.keys[0].name, "old");
	assert_int_equal(l.keys[0].role, ST_ROLE_OWNER);
	assert_int_equal(l.keys[0].hash_len, 0);
	assert_int_equal(l.keys[0].updated_at, T0 + 1);
	assert_int_equal(l.keys[0].last_used_at, T0 + 2);
	st_rep_free(PROTO_ST_KEY_LIST, &l);
	assert_int_equal(request_who(f, NULL, PROTO_ST_KEY_AUTH, &a, &ar,
	    NULL), 0);
	assert_int_equal(ar.found, 1);
	assert_string_equal(ar.k.id, out.id);
	assert_int_equal(ar.k.role, ST_ROLE_OWNER);
	st_apikey_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hook_wire),
		cmocka_unit_test(test_delivery_wire),
		cmocka_unit_test(test_job_wire),
		cmocka_unit_test(test_key_wire),
		cmocka_unit_test_setup_teardown(test_hook_lmdb, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_delivery_lmdb, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_key_lmdb, setup,
		    fix_teardown),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
