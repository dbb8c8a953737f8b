/*
 * Attachments (storaged/attstore.c) through the dispatcher: a visitor's
 * upload through a widget that takes its kind, piece by piece, in order
 * (a piece elsewhere told where the upload stands; a kind the widget does
 * not take refused and deleted); another session's token owns nothing;
 * equal pieces kept once and counted, freed with their last holder; the
 * organisation's quota; a person's upload named by their reply, read
 * back, and deleted with its conversation; an upload no message named
 * swept when its hour is over; a rewritten first piece (stripping)
 * starting the file again; a client's KiB a minute; the tables hold no
 * entry left behind; the PDFs to read served round by round across
 * clients; a widget's allowed_origins holding for its uploads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include <openssl/sha.h>

#include "attmsg.h"
#include "inboxmsg.h"
#include "stmsgs.h"
#include "storaged.h"
#include "wsess.h"
#include "test_fixture.h"
#include "test_who.h"

#define PIECE	ST_ATT_PIECE

static uint8_t bytes_a[PIECE], bytes_b[PIECE];
static struct st_widget W;	/* takes images and text, 1 MiB */

static int
setup(void **state)
{
	struct st_widget_update_req u;
	struct st_widget in, out;
	struct fix *f;
	int rc;

	if ((rc = fix_setup(state, "/tmp/parley-attstore-XXXXXX", 1)) != 0)
		return rc;
	f = *state;
	memset(bytes_a, 'a', sizeof(bytes_a));
	memset(bytes_b, 'b', sizeof(bytes_b));
	fix_widget_new(f, "Shop", &W);
	st_widget_defaults(&in);
	in.attachment_types[0] = strdup("image");
	in.attachment_types[1] = strdup("text");
	in.nattachment_types = 2;
	in.attachment_max_mb = 1;
	u = (struct st_widget_update_req){ W.widget_id,
	    ST_WF_ATTACH_TYPES | ST_WF_ATTACH_MAX_MB, in };
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_UPDATE, &u, &out), 0);
	st_widget_free(&out);
	st_widget_free(&u.w);
	return 0;
}

static int
teardown(void **state)
{
	st_widget_free(&W);
	return fix_teardown(state);
}

/* A visitor token's hash: its byte b. */
static void
token(uint8_t h[ST_TOKEN_HASH_LEN], uint8_t b)
{
	memset(h, b, ST_TOKEN_HASH_LEN);
}

/* A visitor (token byte tb) starts an upload of size: the reply. */
static void
att_new(struct fix *f, uint8_t tb, uint32_t size, uint64_t quota,
    struct st_att_new_rep *rep)
{
	struct st_att_new_req q = { .widget_id = W.widget_id,
	    .token_len = ST_TOKEN_HASH_LEN, .conv_id = "", .name = "photo.png",
	    .size = size, .rate_key = "att:1.2.3.4", .window_ms = 60000,
	    .rate_kib = 0, .quota = quota };

	token(q.token, tb);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &q, rep), 0);
}

/* Its piece at offset of data (len), first of type t: the reply. */
static void
att_put(struct fix *f, uint8_t tb, const char *id, uint32_t offset,
    const uint8_t *data, uint32_t len, uint8_t t, uint64_t quota,
    struct st_att_put_rep *rep)
{
	struct st_att_put_req q = { .id = id, .widget_id = W.widget_id,
	    .token_len = ST_TOKEN_HASH_LEN, .offset = offset, .type = t,
	    .hash_len = ST_ATT_HASH_LEN, .data = { data, len },
	    .quota = quota };

	token(q.token, tb);
	SHA256(data, len, q.hash);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_PUT, &q, rep), 0);
}

/* The least quota whose visitors' part (ST_ATT_VISITORS_PART) is part. */
static uint64_t
visitors_quota(uint64_t part)
{
	uint64_t q = part / 9 * 10;

	while (ST_ATT_VISITORS_PART(q) < part)
		q++;
	assert_int_equal(ST_ATT_VISITORS_PART(q), part);
	return q;
}

/* An upload of two pieces (a, then 100 bytes of b) by tb: its id. */
static void
upload2(struct fix *f, uint8_t tb, char id[ST_ATT_ID_LEN + 1])
{
	struct st_att_new_rep n;
	struct st_att_put_rep p;

	att_new(f, tb, PIECE + 100, 0, &n);
	assert_int_equal(n.result, ST_ATT_OK);
	strlcpy(id, n.id, ST_ATT_ID_LEN + 1);
	att_put(f, tb, id, 0, bytes_a, PIECE, ATTACH_PNG, 0, &p);
	assert_int_equal(p.result, ST_ATT_OK);
	assert_int_equal(p.whole, 0);
	att_put(f, tb, id, PIECE, bytes_b, 100, 0, 0, &p);
	assert_int_equal(p.result, ST_ATT_OK);
	assert_int_equal(p.whole, 1);
	assert_int_equal(p.att.size, PIECE + 100);
	assert_int_equal(p.att.type, ATTACH_PNG);
	assert_string_equal(p.att.name, "photo.png");
	assert_int_equal(strlen(p.att.key), ST_ATT_KEY_HEX);
}

static void
test_upload_rules(void **state)
{
	struct fix *f = *state;
	struct st_att_new_rep n;
	struct st_att_put_rep p;
	char id[ST_ATT_ID_LEN + 1];

	/* Over the widget's 1 MiB: refused, its limit said. */
	att_new(f, 1, ST_ATT_MB + 1, 0, &n);
	assert_int_equal(n.result, ST_ATT_TOO_BIG);
	assert_int_equal(n.max, ST_ATT_MB);
	att_new(f, 1, 2 * PIECE, 0, &n);
	assert_int_equal(n.result, ST_ATT_OK);
	strlcpy(id, n.id, sizeof(id));
	/* The second piece first: where it stands is said, nothing kept. */
	att_put(f, 1, id, PIECE, bytes_b, PIECE, 0, 0, &p);
	assert_int_equal(p.result, ST_ATT_ORDER);
	assert_int_equal(p.received, 0);
	/* Another session's token: no such upload. */
	att_put(f, 2, id, 0, bytes_a, PIECE, ATTACH_PNG, 0, &p);
	assert_int_equal(p.result, ST_ATT_NO_UPLOAD);
	/* A PDF, which the widget does not take: refused and deleted. */
	att_put(f, 1, id, 0, bytes_a, PIECE, ATTACH_PDF, 0, &p);
	assert_int_equal(p.result, ST_ATT_TYPE);
	att_put(f, 1, id, 0, bytes_a, PIECE, ATTACH_PNG, 0, &p);
	assert_int_equal(p.result, ST_ATT_NO_UPLOAD);
	assert_int_equal(db_entries(f, "atts"), 0);
	assert_int_equal(db_entries(f, "att_chunks"), 0);
	assert_int_equal(db_entries(f, "att_due"), 0);
	/* A piece before the last must be whole: the request is refused. */
	att_new(f, 1, 2 * PIECE, 0, &n);
	{
		struct st_att_put_req q = { .id = n.id,
		    .widget_id = W.widget_id, .token_len = ST_TOKEN_HASH_LEN,
		    .offset = 0, .type = ATTACH_PNG,
		    .hash_len = ST_ATT_HASH_LEN, .data = { bytes_a, 10 } };

		token(q.token, 1);
		assert_int_equal(request_st_err(f, PROTO_ST_ATT_PUT, &q),
		    PROTO_E_INVALID);
	}
	/*
	 * A SIZE (Content-Range's, which the worker reads the last piece
	 * from) other than the upload's: refused, so a last piece cannot
	 * pass for another one and skip the scan; the upload stays where
	 * it stood, and the right SIZE ends it.
	 */
	att_new(f, 1, 100, 0, &n);
	assert_int_equal(n.result, ST_ATT_OK);
	strlcpy(id, n.id, sizeof(id));
	{
		struct st_att_put_req q = { .id = id,
		    .widget_id = W.widget_id, .token_len = ST_TOKEN_HASH_LEN,
		    .offset = 0, .type = ATTACH_PNG,
		    .hash_len = ST_ATT_HASH_LEN, .data = { bytes_a, 100 },
		    .size = 101 };

		token(q.token, 1);
		SHA256(q.data.p, q.data.len, q.hash);
		assert_int_equal(request_st_err(f, PROTO_ST_ATT_PUT, &q),
		    PROTO_E_INVALID);
		q.size = 100;
		assert_int_equal(request_dec(f, PROTO_ST_ATT_PUT, &q, &p), 0);
		assert_int_equal(p.result, ST_ATT_OK);
		assert_int_equal(p.whole, 1);
	}
}

/*
 * A widget's allowed_origins hold for its uploads as for its config and
 * its socket: a request from a page they do not name (its Origin) is
 * ST_ATT_ORIGIN, nothing stored, its pieces and its DELETE too, before
 * the upload is looked up; one they name (any case), and one with no
 * Origin (no browser's page), go on. No origins: any page.
 */
static void
test_upload_origin(void **state)
{
	struct fix *f = *state;
	struct st_widget_update_req u;
	struct st_widget in, out;
	struct st_att_new_rep n;
	struct st_att_put_rep p;
	struct st_att_new_req nq = { .widget_id = W.widget_id,
	    .token_len = ST_TOKEN_HASH_LEN, .conv_id = "", .name = "photo.png",
	    .size = 100, .rate_key = "att:1.2.3.4", .window_ms = 60000,
	    .origin = "https://elsewhere.example" };
	struct st_att_put_req pq = { .widget_id = W.widget_id,
	    .token_len = ST_TOKEN_HASH_LEN, .offset = 0, .type = ATTACH_PNG,
	    .hash_len = ST_ATT_HASH_LEN, .data = { bytes_a, 100 },
	    .origin = "https://elsewhere.example" };
	char id[ST_ATT_ID_LEN + 1];

	token(nq.token, 1);
	token(pq.token, 1);
	SHA256(pq.data.p, pq.data.len, pq.hash);
	/* A widget that names no page: any page may upload. */
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_OK);
	st_widget_defaults(&in);
	in.norigins = 1;
	in.origins = calloc(1, sizeof(*in.origins));
	in.origins[0] = strdup("https://shop.example");
	u = (struct st_widget_update_req){ W.widget_id, ST_WF_ORIGINS, in };
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_UPDATE, &u, &out), 0);
	st_widget_free(&out);
	st_widget_free(&u.w);
	/* An upload begun before: another page's piece, or DELETE, refused. */
	pq.id = n.id;
	assert_int_equal(request_dec(f, PROTO_ST_ATT_PUT, &pq, &p), 0);
	assert_int_equal(p.result, ST_ATT_ORIGIN);
	assert_int_equal(p.received, 0);
	pq.drop = 1;
	assert_int_equal(request_dec(f, PROTO_ST_ATT_PUT, &pq, &p), 0);
	assert_int_equal(p.result, ST_ATT_ORIGIN);
	assert_int_equal(db_entries(f, "atts"), 1);
	assert_int_equal(db_entries(f, "att_chunks"), 0);
	/* Its own page's piece (the origin in any case): kept. */
	pq.drop = 0;
	pq.origin = "HTTPS://Shop.Example";
	assert_int_equal(request_dec(f, PROTO_ST_ATT_PUT, &pq, &p), 0);
	assert_int_equal(p.result, ST_ATT_OK);
	assert_int_equal(p.whole, 1);
	st_rep_free(PROTO_ST_ATT_PUT, &p);
	/* A new upload from another page, "null", a bad one: refused. */
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_ORIGIN);
	nq.origin = "null";
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_ORIGIN);
	nq.origin = "https://shop.example.evil.example";
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_ORIGIN);
	assert_int_equal(db_entries(f, "atts"), 1);
	assert_int_equal(db_entries(f, "att_due"), 1);
	/* The widget's page, and a client with no Origin: taken. */
	nq.origin = "https://shop.example";
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_OK);
	nq.origin = "";
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_OK);
	strlcpy(id, n.id, sizeof(id));
	pq.id = id;
	pq.origin = NULL;
	assert_int_equal(request_dec(f, PROTO_ST_ATT_PUT, &pq, &p), 0);
	assert_int_equal(p.result, ST_ATT_OK);
	st_rep_free(PROTO_ST_ATT_PUT, &p);
	assert_int_equal(db_entries(f, "atts"), 3);
}

/*
 * A last piece that names the pieces before it (prior: what the worker
 * scanned or stripped) ends the upload only on those: a chain of fewer
 * pieces (the worker read the upload before the piece before landed)
 * or of other bytes is where the upload stands, nothing kept; the
 * chain of the pieces stored ends it.
 */
static void
test_last_piece_prior(void **state)
{
	struct fix *f = *state;
	struct st_att_new_rep n;
	struct st_att_put_rep p;
	uint8_t h[ST_ATT_HASH_LEN];
	struct st_att_put_req q = { .widget_id = W.widget_id,
	    .token_len = ST_TOKEN_HASH_LEN, .offset = PIECE,
	    .hash_len = ST_ATT_HASH_LEN, .data = { bytes_b, 100 },
	    .prior_len = ST_ATT_HASH_LEN };

	att_new(f, 1, PIECE + 100, 0, &n);
	assert_int_equal(n.result, ST_ATT_OK);
	att_put(f, 1, n.id, 0, bytes_a, PIECE, ATTACH_PNG, 0, &p);
	assert_int_equal(p.result, ST_ATT_OK);
	q.id = n.id;
	token(q.token, 1);
	SHA256(q.data.p, q.data.len, q.hash);
	/* No piece read (the chain's start): refused, the upload as it was. */
	assert_int_equal(request_dec(f, PROTO_ST_ATT_PUT, &q, &p), 0);
	assert_int_equal(p.result, ST_ATT_ORDER);
	assert_int_equal(p.received, PIECE);
	/* Other bytes than those stored: refused. */
	SHA256(bytes_b, PIECE, h);
	st_att_chain(q.prior, h);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_PUT, &q, &p), 0);
	assert_int_equal(p.result, ST_ATT_ORDER);
	assert_int_equal(p.whole, 0);
	/* The stored first piece: whole. */
	memset(q.prior, 0, sizeof(q.prior));
	SHA256(bytes_a, PIECE, h);
	st_att_chain(q.prior, h);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_PUT, &q, &p), 0);
	assert_int_equal(p.result, ST_ATT_OK);
	assert_int_equal(p.whole, 1);
}

static void
test_dedup_quota_sweep(void **state)
{
	struct fix *f = *state;
	struct st_att_new_rep n;
	struct st_att_put_rep p;
	char a[ST_ATT_ID_LEN + 1], b[ST_ATT_ID_LEN + 1];

	/* Two equal files: their two pieces kept once each. */
	upload2(f, 1, a);
	upload2(f, 2, b);
	assert_int_equal(db_entries(f, "atts"), 2);
	assert_int_equal(db_entries(f, "att_chunks"), 2);
	/*
	 * The quota counts each piece once: a third of the same fits in
	 * visitors' PIECE + 100 bytes, a new one of 100 bytes does not.
	 */
	att_new(f, 3, 100, visitors_quota(PIECE + 100), &n);
	assert_int_equal(n.result, ST_ATT_FULL);
	att_new(f, 3, 50, visitors_quota(PIECE + 150), &n);
	assert_int_equal(n.result, ST_ATT_OK);
	att_put(f, 3, n.id, 0, bytes_a, 50, ATTACH_TEXT,
	    visitors_quota(PIECE + 120), &p);
	assert_int_equal(p.result, ST_ATT_FULL);	/* deleted as refused */
	/* An hour on, uploads no message named are swept, pieces and all. */
	fake_now += ST_ATT_PENDING_MS + 1;
	fix_sweep_all(f);
	assert_int_equal(db_entries(f, "atts"), 0);
	assert_int_equal(db_entries(f, "att_chunks"), 0);
	assert_int_equal(db_entries(f, "att_refs"), 0);
	assert_int_equal(db_entries(f, "att_due"), 0);
}

/* Named PDF id's text (ST_ATT_READ_TEXT) is want: where it stands. */
static uint8_t
text_is(struct fix *f, const char *id, const char *want)
{
	struct st_att_read_req rq = { id, 0, ST_ATT_READ_TEXT, NULL };
	struct st_att_read_rep r;
	uint8_t status;

	assert_int_equal(request_dec(f, PROTO_ST_ATT_READ, &rq, &r), 0);
	assert_int_equal(r.result, ST_ATT_OK);
	assert_string_equal(r.text, want);
	status = r.text_status;
	st_rep_free(PROTO_ST_ATT_READ, &r);
	return status;
}

/*
 * A PDF's text "" is not read yet, read without text, or given up: its
 * text_status tells them apart; a record from before it was kept (no
 * outcome, a text) reads as its text says.
 */
static void
pdf_text_status(struct fix *f, const char *id)
{
	struct st_att_text_req tq = { id, "", 0 };
	uint8_t k[16];

	assert_int_equal(text_is(f, id, ""), ST_ATT_TEXT_PENDING);
	proto_hex_decode(id + 4, k, sizeof(k));
	db_write(f, "att_text", k, sizeof(k), "old words", 9);
	assert_int_equal(text_is(f, id, "old words"), ST_ATT_TEXT_READY);
	db_write(f, "att_text", k, sizeof(k), "", 0);
	assert_int_equal(text_is(f, id, ""), ST_ATT_TEXT_FAILED);
	assert_int_equal(request_st_err(f, PROTO_ST_ATT_TEXT_PUT, &tq), 0);
	assert_int_equal(text_is(f, id, ""), ST_ATT_TEXT_READY);
	tq.failed = 1;
	assert_int_equal(request_st_err(f, PROTO_ST_ATT_TEXT_PUT, &tq), 0);
	assert_int_equal(text_is(f, id, ""), ST_ATT_TEXT_FAILED);
}

static void
test_person_reply_deleted(void **state)
{
	struct fix *f = *state;
	struct st_att_new_req q = { .widget_id = "", .conv_id = "",
	    .name = "fix.pdf", .size = 300, .rate_key = "" };
	struct st_att_put_req pq = { .widget_id = "", .offset = 0,
	    .type = ATTACH_PDF, .hash_len = ST_ATT_HASH_LEN,
	    .data = { bytes_b, 300 } };
	struct st_att_read_req rq = { "", 0, 0, NULL };
	struct st_str ids[1];
	struct st_agent_msg_req am = { .content = "", .name = "Ana",
	    .atts = ids, .natts = 1 };
	char conv[ST_ID_HEX + 1], other[ST_ID_HEX + 1];
	char id[ST_ATT_ID_LEN + 1];
	struct st_att_new_rep n;
	struct st_att_put_rep p;
	struct st_att_read_rep r;
	struct st_msg_conv mc;
	int i;

	fix_conv_new(f, "s1", conv);
	q.conv_id = conv;
	assert_int_equal(request_dec(f, PROTO_ST_ATT_ADMIN_NEW, &q, &n), 0);
	assert_int_equal(n.result, ST_ATT_OK);
	assert_int_equal(n.max, ST_ATT_MAX);
	strlcpy(id, n.id, sizeof(id));
	pq.id = id;
	SHA256(bytes_b, 300, pq.hash);
	pq.scan = ST_ATT_CLEAN;
	/* Another conversation's path, or the canned replies': none. */
	fix_conv_new(f, "s2", other);
	for (i = 0; i < 2; i++) {
		pq.conv_id = i == 0 ? other : "";
		assert_int_equal(request_dec(f, PROTO_ST_ATT_ADMIN_PUT, &pq,
		    &p), 0);
		assert_int_equal(p.result, ST_ATT_NO_UPLOAD);
		st_rep_free(PROTO_ST_ATT_ADMIN_PUT, &p);
	}
	pq.conv_id = conv;
	assert_int_equal(request_dec(f, PROTO_ST_ATT_ADMIN_PUT, &pq, &p), 0);
	assert_int_equal(p.whole, 1);
	/* Not named yet: nobody reads it. */
	rq.id = id;
	assert_int_equal(request_dec(f, PROTO_ST_ATT_READ, &rq, &r), 0);
	assert_int_equal(r.result, ST_ATT_NO_UPLOAD);
	st_rep_free(PROTO_ST_ATT_READ, &r);
	/* Named by the reply: the message carries it, and it reads back. */
	ids[0].s = id;
	am.conv_id = conv;
	assert_int_equal(request_dec(f, PROTO_ST_AGENT_MSG, &am, &mc), 0);
	assert_int_equal(mc.msg.natts, 1);
	assert_string_equal(mc.msg.atts[0].id, id);
	assert_int_equal(mc.msg.atts[0].type, ATTACH_PDF);
	st_rep_free(PROTO_ST_AGENT_MSG, &mc);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_READ, &rq, &r), 0);
	assert_int_equal(r.result, ST_ATT_OK);
	assert_string_equal(r.att.conv_id, conv);
	assert_int_equal(r.att.scan, ST_ATT_CLEAN);
	assert_int_equal(r.data.len, 300);
	assert_memory_equal(r.data.p, bytes_b, 300);
	st_rep_free(PROTO_ST_ATT_READ, &r);
	pdf_text_status(f, id);
	/* Named once only. */
	assert_int_equal(request_st_err(f, PROTO_ST_AGENT_MSG, &am),
	    PROTO_E_INVALID);
	/* Its conversation deleted: the file, its piece, its entries go. */
	assert_int_equal(request_st_err(f, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ conv }), 0);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_READ, &rq, &r), 0);
	assert_int_equal(r.result, ST_ATT_NO_UPLOAD);
	st_rep_free(PROTO_ST_ATT_READ, &r);
	assert_int_equal(db_entries(f, "atts"), 0);
	assert_int_equal(db_entries(f, "att_chunks"), 0);
	assert_int_equal(db_entries(f, "att_conv"), 0);
}

/* A person's whole upload of 10 bytes (byte b) to conv: its id. */
static void
person_upload(struct fix *f, const char *conv, uint8_t b,
    char id[ST_ATT_ID_LEN + 1])
{
	struct st_att_new_req q = { .widget_id = "", .conv_id = conv,
	    .name = "n.txt", .size = 10, .rate_key = "" };
	struct st_att_put_req pq = { .widget_id = "", .offset = 0,
	    .type = ATTACH_TEXT, .hash_len = ST_ATT_HASH_LEN };
	uint8_t data[10];
	struct st_att_new_rep n;
	struct st_att_put_rep p;

	memset(data, b, sizeof(data));
	assert_int_equal(request_dec(f, PROTO_ST_ATT_ADMIN_NEW, &q, &n), 0);
	assert_int_equal(n.result, ST_ATT_OK);
	strlcpy(id, n.id, ST_ATT_ID_LEN + 1);
	pq.id = id;
	pq.conv_id = conv;
	pq.data.p = data;
	pq.data.len = sizeof(data);
	SHA256(data, sizeof(data), pq.hash);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_ADMIN_PUT, &pq, &p), 0);
	assert_int_equal(p.whole, 1);
}

/*
 * A conversation holds ST_ATT_PER_CONV_MAX files: a message naming more
 * is refused whole, nothing of it named; at most ST_MSG_ATTS_MAX a
 * message.
 */
static void
test_files_per_conversation(void **state)
{
	struct fix *f = *state;
	char conv[ST_ID_HEX + 1], ids[ST_MSG_ATTS_MAX + 1][ST_ATT_ID_LEN + 1];
	struct st_str names[ST_MSG_ATTS_MAX + 1];
	struct st_agent_msg_req am = { .content = "", .name = "Ana",
	    .atts = names };
	struct st_msg_conv mc;
	uint32_t i, m;

	fix_conv_new(f, "s-many", conv);
	am.conv_id = conv;
	for (m = 0; m < ST_ATT_PER_CONV_MAX / ST_MSG_ATTS_MAX; m++) {
		for (i = 0; i < ST_MSG_ATTS_MAX; i++) {
			person_upload(f, conv, (uint8_t)(m * 8 + i), ids[i]);
			names[i].s = ids[i];
		}
		am.natts = ST_MSG_ATTS_MAX;
		assert_int_equal(request_dec(f, PROTO_ST_AGENT_MSG, &am, &mc),
		    0);
		st_rep_free(PROTO_ST_AGENT_MSG, &mc);
	}
	assert_int_equal(db_entries(f, "att_conv"), ST_ATT_PER_CONV_MAX);
	/* One more: refused, and the upload stays unnamed. */
	person_upload(f, conv, 0xee, ids[0]);
	names[0].s = ids[0];
	am.natts = 1;
	assert_int_equal(request_st_err(f, PROTO_ST_AGENT_MSG, &am),
	    PROTO_E_INVALID);
	assert_int_equal(db_entries(f, "att_conv"), ST_ATT_PER_CONV_MAX);
	/* Six in one message: refused by its layout's bound. */
	fix_conv_new(f, "s-six", conv);
	for (i = 0; i < ST_MSG_ATTS_MAX + 1; i++) {
		person_upload(f, conv, (uint8_t)(0x80 + i), ids[i]);
		names[i].s = ids[i];
	}
	am.natts = ST_MSG_ATTS_MAX + 1;
	{
		struct penc e;

		penc_init(&e);
		assert_int_not_equal(st_req_encode(&e, PROTO_ST_AGENT_MSG,
		    &am), 0);
		penc_free(&e);
	}
}

static void
test_rewrite_and_rate(void **state)
{
	struct fix *f = *state;
	struct st_att_new_rep n;
	struct st_att_put_rep p;
	struct st_att_put_req q = { .widget_id = W.widget_id,
	    .token_len = ST_TOKEN_HASH_LEN, .offset = 0, .type = ATTACH_PNG,
	    .hash_len = ST_ATT_HASH_LEN, .data = { bytes_b, 500 },
	    .reset = 1, .size = 500 };
	struct st_att_new_req nq = { .widget_id = W.widget_id,
	    .token_len = ST_TOKEN_HASH_LEN, .conv_id = "", .name = "a.png",
	    .size = 1000, .rate_key = "att:9.9.9.9", .window_ms = 60000,
	    .rate_kib = 600 };

	/* The first piece of a file made smaller, once the rest had come. */
	att_new(f, 4, PIECE + 100, 0, &n);
	att_put(f, 4, n.id, 0, bytes_a, PIECE, ATTACH_PNG, 0, &p);
	assert_int_equal(p.result, ST_ATT_OK);
	q.id = n.id;
	token(q.token, 4);
	SHA256(bytes_b, 500, q.hash);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_PUT, &q, &p), 0);
	assert_int_equal(p.result, ST_ATT_OK);
	assert_int_equal(p.whole, 1);
	assert_int_equal(p.att.size, 500);
	assert_int_equal(db_entries(f, "att_chunks"), 1);
	/*
	 * 600 KiB a minute, each upload a piece's worth at least: a
	 * 1,000-byte file twice, then refused.
	 */
	token(nq.token, 5);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_OK);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_OK);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_RATE);
	assert_true(n.retry_ms > 0);
}

/*
 * PARLEY_ATTACH_RATE_MB past 4096 counts whole: 5000 MiB a minute are
 * 200 uploads of the largest file (the widget's limit raised to it), then
 * refused (the request carried
 * bytes in 32 bits, and 5000 MiB counted as 4096: 163).
 */
static void
test_rate_past_4g(void **state)
{
	struct fix *f = *state;
	struct st_att_new_rep n;
	struct st_att_new_req nq = { .widget_id = W.widget_id,
	    .token_len = ST_TOKEN_HASH_LEN, .conv_id = "", .name = "a.png",
	    .size = ST_ATT_MAX, .rate_key = "att:9.9.9.6",
	    .window_ms = 60000, .rate_kib = 5000 * 1024 };
	struct st_widget_update_req u;
	struct st_widget out;
	uint32_t i, files = 5000 / ST_ATTACH_MB_MAX;

	st_widget_defaults(&u.w);
	u = (struct st_widget_update_req){ W.widget_id, ST_WF_ATTACH_MAX_MB,
	    u.w };
	u.w.attachment_max_mb = ST_ATTACH_MB_MAX;
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_UPDATE, &u, &out), 0);
	st_widget_free(&out);
	st_widget_free(&u.w);
	token(nq.token, 7);
	for (i = 0; i < files; i++) {
		assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
		assert_int_equal(n.result, ST_ATT_OK);
	}
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_RATE);
}

/*
 * One client's share of the organisation's quota a day: a quarter of
 * it, or the largest file when that is more (40 MiB: 25 MiB, twenty-five
 * 1 MiB files), its uploads counted as they begin whether or not a message names
 * them; then refused for the rest of the day while another client
 * uploads. Without a quota, no share.
 */
static void
test_client_share(void **state)
{
	struct fix *f = *state;
	struct st_att_new_rep n;
	struct st_att_new_req nq = { .widget_id = W.widget_id,
	    .token_len = ST_TOKEN_HASH_LEN, .conv_id = "", .name = "a.png",
	    .size = ST_ATT_MB, .rate_key = "att:9.9.9.8",
	    .window_ms = 60000, .rate_kib = 1000 * 1024,
	    .quota = 40ull * ST_ATT_MB };
	int i;

	token(nq.token, 6);
	for (i = 0; i < 25; i++) {
		assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
		assert_int_equal(n.result, ST_ATT_OK);
	}
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_RATE);
	assert_true(n.retry_ms > 60000 && n.retry_ms <= ST_ATT_SHARE_WINDOW_MS);
	/* Another client has its own share. */
	nq.rate_key = "att:9.9.9.7";
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_OK);
	/* No quota: no share (the minute's bytes alone). */
	nq.rate_key = "att:9.9.9.8";
	nq.quota = 0;
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_OK);
}

/*
 * The share is a day's, not an hour's: uploads spread over the hours
 * (each hour's named by a message, kept for good) stop at a quarter of the
 * quota in the day, and start again once the day is over. An hour's share
 * let one address fill the quota in four hours.
 */
static void
test_client_share_day(void **state)
{
	struct fix *f = *state;
	struct st_att_new_rep n;
	struct st_att_new_req nq = { .widget_id = W.widget_id,
	    .token_len = ST_TOKEN_HASH_LEN, .conv_id = "", .name = "a.png",
	    .size = ST_ATT_MB, .rate_key = "att:2001:db8:1::",
	    .window_ms = 60000, .rate_kib = 1000 * 1024,
	    .quota = 40ull * ST_ATT_MB };
	int h, i;

	token(nq.token, 8);
	/* 10 MiB, then 10, then 5 an hour later each: 25 MiB. */
	for (h = 0; h < 3; h++) {
		for (i = 0; i < (h < 2 ? 10 : 5); i++) {
			assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq,
			    &n), 0);
			assert_int_equal(n.result, ST_ATT_OK);
		}
		fake_mono += ST_ATT_PENDING_MS + 1;
	}
	/* Spent for the rest of the day, hour after hour. */
	for (h = 0; h < 3; h++) {
		assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
		assert_int_equal(n.result, ST_ATT_RATE);
		assert_true(n.retry_ms > ST_ATT_PENDING_MS &&
		    n.retry_ms <= ST_ATT_SHARE_WINDOW_MS);
		fake_mono += ST_ATT_PENDING_MS;
	}
	fake_mono = M0 + ST_ATT_SHARE_WINDOW_MS;
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &nq, &n), 0);
	assert_int_equal(n.result, ST_ATT_OK);
}

/* The install's key, of the default organisation. */
static const struct st_who KEY = { .kind = ST_WHO_KEY, .id = "install",
    .org = ST_ORG_DEFAULT, .role = ST_ROLE_OWNER };

/* A canned reply put by the key: the error code (0: *c, to free). */
static int
canned_put(struct fix *f, const struct st_canned_put_req *q,
    struct st_canned *c)
{
	return request_who(f, &KEY, PROTO_ST_CANNED_PUT, q, c, NULL);
}

/* A file of a canned reply read: by a person (admin), else a visitor. */
static uint8_t
canned_read(struct fix *f, const char *id, int admin, size_t *len)
{
	struct st_att_read_req rq = { id, 0, 0, NULL };
	uint16_t type = admin ? PROTO_ST_ATT_ADMIN_READ : PROTO_ST_ATT_READ;
	struct st_att_read_rep r;
	struct dreply d;
	uint8_t result, first = 0;

	/* The piece points into the reply: read before it is let go. */
	assert_int_equal(request_st(f, type, &rq, &d), 0);
	assert_int_equal(st_rep_decode(type, d.enc.buf, d.enc.len, &r), 0);
	result = r.result;
	*len = result == ST_ATT_OK ? r.data.len : 0;
	if (*len > 0)
		first = r.data.p[0];
	st_rep_free(type, &r);
	dreply_free(&d);
	return result == ST_ATT_OK ? first : 0xff;
}

/* The bytes org's attachments count against its quota (once it had one). */
static uint64_t
org_usage(struct fix *f, const char *org)
{
	uint8_t b[8];

	assert_int_equal(db_value(f, "att_usage", org, strlen(org), b,
	    sizeof(b)), 8);
	return proto_get_be64(b);
}

/* Visitor tb's whole upload of one piece, its bytes all b, against quota. */
static uint8_t
visitor_piece(struct fix *f, uint8_t tb, uint8_t b, uint64_t quota)
{
	struct st_att_new_rep n;
	struct st_att_put_rep p;
	static uint8_t data[PIECE];

	memset(data, b, sizeof(data));
	att_new(f, tb, PIECE, quota, &n);
	if (n.result != ST_ATT_OK)
		return n.result;
	att_put(f, tb, n.id, 0, data, PIECE, ATTACH_PNG, quota, &p);
	return p.result;
}

/* A person's upload of 10 bytes (byte b) against quota: its result. */
static uint8_t
person_try(struct fix *f, uint8_t b, uint64_t quota)
{
	struct st_att_new_req q = { .widget_id = "", .conv_id = "",
	    .name = "n.txt", .size = 10, .rate_key = "", .quota = quota };
	struct st_att_put_req pq = { .widget_id = "", .offset = 0,
	    .type = ATTACH_TEXT, .hash_len = ST_ATT_HASH_LEN, .conv_id = "",
	    .quota = quota };
	struct st_att_new_rep n;
	struct st_att_put_rep p;
	uint8_t data[10];

	memset(data, b, sizeof(data));
	assert_int_equal(request_dec(f, PROTO_ST_ATT_ADMIN_NEW, &q, &n), 0);
	if (n.result != ST_ATT_OK)
		return n.result;
	pq.id = n.id;
	pq.data.p = data;
	pq.data.len = sizeof(data);
	SHA256(data, sizeof(data), pq.hash);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_ADMIN_PUT, &pq, &p), 0);
	return p.result;
}

/*
 * Visitors, however many, fill nine tenths of the quota at most (10
 * pieces: 9, the tenth refused as it begins and as its piece comes): the
 * rest is the staff's, whose uploads go on to the whole quota.
 */
static void
test_staff_headroom(void **state)
{
	struct fix *f = *state;
	uint64_t quota = 10ull * PIECE;
	struct st_att_new_rep n;
	int i;

	for (i = 0; i < 9; i++)
		assert_int_equal(visitor_piece(f, (uint8_t)(10 + i),
		    (uint8_t)i, quota), ST_ATT_OK);
	assert_int_equal(org_usage(f, ST_ORG_DEFAULT), 9ull * PIECE);
	assert_int_equal(visitor_piece(f, 30, 30, quota), ST_ATT_FULL);
	/* Begun under the visitors' part, its piece past it: refused. */
	att_new(f, 31, 10, 10ull * PIECE + 100, &n);
	assert_int_equal(n.result, ST_ATT_OK);
	{
		struct st_att_put_rep p;

		att_put(f, 31, n.id, 0, bytes_b, 10, ATTACH_PNG, quota, &p);
		assert_int_equal(p.result, ST_ATT_FULL);
	}
	/* The staff's go on, to the whole quota and no further. */
	for (i = 0; i < 3; i++)
		assert_int_equal(person_try(f, (uint8_t)(0x40 + i), quota),
		    ST_ATT_OK);
	assert_int_equal(person_try(f, 0x50, 9ull * PIECE + 30), ST_ATT_FULL);
}

/*
 * A canned reply keeps a person's upload (never swept); a reply that
 * names it gets a copy (a new id, the same piece held twice) which goes
 * with its conversation while the canned reply's stays; a put without
 * attachments keeps the files, one with [] or a deletion frees them.
 */
static void
test_canned_files(void **state)
{
	struct fix *f = *state;
	char conv[ST_ID_HEX + 1], up[ST_ATT_ID_LEN + 1], copy[ST_ATT_ID_LEN + 1];
	char cid[ST_CANNED_ID_LEN + 1];
	struct st_str ids[1] = { { up } };
	struct st_canned_put_req cq = { .id = "", .shortcut = "fork",
	    .text = "Here is how", .set_atts = 1, .atts = ids, .natts = 1 };
	struct st_agent_msg_req am = { .content = "", .name = "Ana",
	    .atts = ids, .natts = 1 };
	struct st_canned c;
	struct st_msg_conv mc;
	size_t len;

	person_upload(f, "", 7, up);	/* for no conversation */
	assert_int_equal(canned_put(f, &cq, &c), 0);
	assert_int_equal(c.natts, 1);
	assert_string_equal(c.atts[0].id, up);
	assert_int_equal(c.atts[0].type, ATTACH_TEXT);
	strlcpy(cid, c.id, sizeof(cid));
	cq.id = cid;
	st_canned_free(&c);
	assert_int_equal(db_entries(f, "att_due"), 0);
	assert_int_equal(canned_read(f, up, 1, &len), 7);
	assert_int_equal(len, 10);
	assert_int_equal(canned_read(f, up, 0, &len), 0xff);
	/* Named by a person's reply: a copy, the piece held twice. */
	fix_conv_new(f, "s1", conv);
	am.conv_id = conv;
	assert_int_equal(request_dec(f, PROTO_ST_AGENT_MSG, &am, &mc), 0);
	assert_int_equal(mc.msg.natts, 1);
	assert_string_not_equal(mc.msg.atts[0].id, up);
	strlcpy(copy, mc.msg.atts[0].id, sizeof(copy));
	st_rep_free(PROTO_ST_AGENT_MSG, &mc);
	assert_int_equal(canned_read(f, copy, 0, &len), 7);
	assert_int_equal(db_entries(f, "atts"), 2);
	assert_int_equal(db_entries(f, "att_chunks"), 1);
	/* Its conversation deleted: the canned reply's file stays. */
	assert_int_equal(request_st_err(f, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ conv }), 0);
	assert_int_equal(db_entries(f, "atts"), 1);
	assert_int_equal(canned_read(f, up, 1, &len), 7);
	/* A put without attachments keeps them; with none, they go. */
	cq.set_atts = 0;
	assert_int_equal(canned_put(f, &cq, &c), 0);
	assert_int_equal(c.natts, 1);
	st_canned_free(&c);
	cq.set_atts = 1;
	cq.natts = 0;
	assert_int_equal(canned_put(f, &cq, &c), 0);
	assert_int_equal(c.natts, 0);
	st_canned_free(&c);
	assert_int_equal(db_entries(f, "atts"), 0);
	assert_int_equal(db_entries(f, "att_chunks"), 0);
	/* Its bytes given back to the quota with it (a copy held them too). */
	assert_int_equal(org_usage(f, ST_ORG_DEFAULT), 0);
	/*
	 * A piece whose count a copy zeroed (as storaged did before): its
	 * last holder's deletion still gives its bytes back.
	 */
	person_upload(f, "", 9, up);
	assert_int_equal(org_usage(f, ST_ORG_DEFAULT), 10);
	{
		uint8_t k[sizeof(ST_ORG_DEFAULT) + ST_ATT_HASH_LEN], data[10],
		    rv[8] = { 0, 0, 0, 1, 0, 0, 0, 0 };

		memcpy(k, ST_ORG_DEFAULT, sizeof(ST_ORG_DEFAULT));
		memset(data, 9, sizeof(data));
		SHA256(data, sizeof(data), k + sizeof(ST_ORG_DEFAULT));
		db_write(f, "att_refs", k, sizeof(k), rv, sizeof(rv));
	}
	assert_int_equal(request_st_err(f, PROTO_ST_ATT_ADMIN_PUT,
	    &(struct st_att_put_req){ .id = up, .widget_id = "", .drop = 1 }),
	    0);
	assert_int_equal(db_entries(f, "att_chunks"), 0);
	assert_int_equal(org_usage(f, ST_ORG_DEFAULT), 0);
	/* Another file; the reply deleted takes it. */
	person_upload(f, "", 8, up);
	cq.natts = 1;
	assert_int_equal(canned_put(f, &cq, &c), 0);
	st_canned_free(&c);
	assert_int_equal(db_entries(f, "atts"), 1);
	assert_int_equal(request_who(f, &KEY, PROTO_ST_CANNED_DELETE,
	    &(struct st_id_req){ cq.id }, NULL, NULL), 0);
	assert_int_equal(db_entries(f, "atts"), 0);
	assert_int_equal(db_entries(f, "att_chunks"), 0);
	/* Not a whole upload of a person: refused, nothing kept. */
	ids[0].s = "att_00000000000000000000000000000000";
	cq.id = "";
	assert_int_equal(canned_put(f, &cq, &c), PROTO_E_INVALID);
}

/*
 * The chat API's uploads go through its widget (ST_DEFAULT_WIDGET) only
 * when asked as the API's (api: the worker checked the key): its kinds
 * (none here) refuse; the internal id named as a visitor's widget is no
 * widget.
 */
static void
test_api_widget(void **state)
{
	struct fix *f = *state;
	struct st_att_new_req q = { .widget_id = "", .api = 1,
	    .token_len = ST_TOKEN_HASH_LEN, .conv_id = "", .name = "a.png",
	    .size = 10, .rate_key = "att:1.2.3.4", .window_ms = 60000 };
	struct st_att_new_rep n;

	token(q.token, 7);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &q, &n), 0);
	assert_int_equal(n.result, ST_ATT_OFF);
	q.api = 0;
	q.widget_id = ST_DEFAULT_WIDGET;
	assert_int_equal(request_dec(f, PROTO_ST_ATT_NEW, &q, &n), 0);
	assert_int_equal(n.result, ST_ATT_NO_WIDGET);
	assert_int_equal(db_entries(f, "atts"), 0);
}

/*
 * Files never take the map the conversations need: an upload, or a piece,
 * that would take the map's use past four-fifths is refused as full (a
 * 4 MiB map here, 3.2 MiB for files), and a conversation is stored after.
 * The use is the last checkpoint's, which a small map makes come often.
 */
static void
test_map_part(void **state)
{
	struct fix *f = *state;
	struct st_att_new_rep n;
	struct st_att_put_rep p;
	struct st_conv c;
	struct store_txn t;
	static uint8_t piece[PIECE];
	int i, k, whole = 0, full = 0, created;

	fix_reopen_map(f, 4);
	for (k = 0; k < 8 && !full; k++) {
		att_new(f, 1, ST_ATT_MB, 0, &n);
		if (n.result == ST_ATT_FULL) {
			full = 1;
			break;
		}
		assert_int_equal(n.result, ST_ATT_OK);
		for (i = 0; i < 4; i++) {
			/* Each piece its own bytes: none kept once for two. */
			memset(piece, 1 + k * 4 + i, sizeof(piece));
			att_put(f, 1, n.id, i * PIECE, piece, PIECE,
			    i == 0 ? ATTACH_PNG : 0, 0, &p);
			if (p.result == ST_ATT_FULL) {
				full = 1;
				break;
			}
			assert_int_equal(p.result, ST_ATT_OK);
		}
		whole += !full;
	}
	assert_true(full);
	assert_in_range(whole, 1, 3);
	store_begin(f->st, &t, 0);
	assert_int_equal(store_conv_open(&t, "default", "after", &c,
	    &created), 0);
	assert_int_equal(store_commit(&t), 0);
	st_conv_free(&c);
}

/* Widget W takes PDFs too. */
static void
takes_pdfs(struct fix *f)
{
	struct st_widget_update_req u;
	struct st_widget in, out;

	st_widget_defaults(&in);
	in.attachment_types[0] = strdup("pdf");
	in.nattachment_types = 1;
	u = (struct st_widget_update_req){ W.widget_id, ST_WF_ATTACH_TYPES,
	    in };
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_UPDATE, &u, &out), 0);
	st_widget_free(&out);
	st_widget_free(&u.w);
}

/* A PDF of two pieces from client (each piece naming it): its id. */
static void
pdf2(struct fix *f, const char *client, char id[ST_ATT_ID_LEN + 1])
{
	struct st_att_put_req q = { .widget_id = W.widget_id,
	    .token_len = ST_TOKEN_HASH_LEN, .type = ATTACH_PDF,
	    .hash_len = ST_ATT_HASH_LEN, .data = { bytes_a, PIECE },
	    .rate_key = client };
	struct st_att_new_rep n;
	struct st_att_put_rep p;

	att_new(f, 9, PIECE + 100, 0, &n);
	assert_int_equal(n.result, ST_ATT_OK);
	strlcpy(id, n.id, ST_ATT_ID_LEN + 1);
	q.id = id;
	token(q.token, 9);
	SHA256(bytes_a, PIECE, q.hash);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_PUT, &q, &p), 0);
	assert_int_equal(p.result, ST_ATT_OK);
	q.offset = PIECE;
	q.type = 0;
	q.data = (struct st_kb_bytes){ bytes_b, 100 };
	SHA256(bytes_b, 100, q.hash);
	assert_int_equal(request_dec(f, PROTO_ST_ATT_PUT, &q, &p), 0);
	assert_int_equal(p.whole, 1);
}

/*
 * The next PDF ST_ATT_EXTRACT_DUE gives: want ("" none). Its lease's
 * attempt.
 */
static uint8_t
due_is(struct fix *f, const char *want)
{
	struct st_att_due_rep d;

	assert_int_equal(request_dec(f, PROTO_ST_ATT_EXTRACT_DUE, NULL, &d),
	    0);
	assert_int_equal(d.result, want[0] != '\0' ? ST_ATT_OK :
	    ST_ATT_NO_UPLOAD);
	assert_string_equal(d.id, want);
	return d.attempt;
}

/*
 * The PDFs to read go round by round across clients (each piece names
 * its client; its last queues the file): one client's three, then
 * another's one, are read first, other, second, third; no lane is left
 * once the queue is empty. A data directory's att_extract (before
 * att_queue) is moved in at open.
 */
static void
test_extract_turns(void **state)
{
	struct fix *f = *state;
	char a[3][ST_ATT_ID_LEN + 1], b[ST_ATT_ID_LEN + 1];
	char c[ST_ATT_ID_LEN + 1];
	uint8_t k[16];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	MDB_val kv, vv = { 0, "" };
	int i;

	takes_pdfs(f);
	/*
	 * A millisecond apart: a round's PDFs go in the order they came, and
	 * two of one millisecond by their random ids.
	 */
	for (i = 0; i < 3; i++) {
		pdf2(f, "att:10.0.0.1", a[i]);
		fake_now++;
	}
	pdf2(f, "att:10.0.0.2", b);
	assert_int_equal(db_entries(f, "att_lanes"), 2);
	due_is(f, a[0]);
	due_is(f, b);
	due_is(f, a[1]);
	due_is(f, a[2]);
	due_is(f, "");
	assert_int_equal(db_entries(f, "att_lanes"), 0);

	/* One queued by the version before: in att_extract alone. */
	pdf2(f, "att:10.0.0.3", c);
	db_empty(f, "att_queue", "att_lanes");
	proto_hex_decode(c + 4, k, sizeof(k));
	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "att_extract", 0, &dbi), 0);
	kv = (MDB_val){ sizeof(k), k };
	assert_int_equal(mdb_put(txn, dbi, &kv, &vv, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);
	assert_int_equal(db_entries(f, "att_extract"), 0);
	due_is(f, c);
	due_is(f, "");
}

/*
 * A PDF handed out is leased: its text kept ends the lease; not kept in
 * time (the fetcher died reading it), it is handed out again, the lease
 * outliving a reopen, and after ST_ATT_EXTRACT_TRIES it keeps an empty
 * text, handed out no more.
 */
static void
test_extract_lease(void **state)
{
	struct fix *f = *state;
	struct st_att_text_req tq;
	char a[ST_ATT_ID_LEN + 1], b[ST_ATT_ID_LEN + 1];
	int i;

	takes_pdfs(f);
	pdf2(f, "att:10.0.0.1", a);
	fake_now++;
	pdf2(f, "att:10.0.0.2", b);
	assert_int_equal(due_is(f, a), 1);
	assert_int_equal(due_is(f, b), 1);
	tq = (struct st_att_text_req){ b, "read", 0 };
	assert_int_equal(request_st_err(f, PROTO_ST_ATT_TEXT_PUT, &tq), 0);
	assert_int_equal(db_entries(f, "att_leases"), 1);
	due_is(f, "");
	fake_now += ST_ATT_LEASE_MS - 1;
	due_is(f, "");
	fix_reopen(f);
	for (i = 2; i <= ST_ATT_EXTRACT_TRIES; i++) {
		fake_now += ST_ATT_LEASE_MS;
		assert_int_equal(due_is(f, a), i);
		due_is(f, "");
	}
	assert_int_equal(db_entries(f, "att_text"), 1);	/* b's */
	/* Given up: a keeps an empty text, as a file poppler cannot read. */
	fake_now += ST_ATT_LEASE_MS;
	due_is(f, "");
	assert_int_equal(db_entries(f, "att_text"), 2);
	assert_int_equal(db_entries(f, "att_leases"), 0);
	assert_int_equal(db_entries(f, "att_queue"), 0);
	assert_int_equal(db_entries(f, "att_lanes"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_upload_rules, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_upload_origin, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_last_piece_prior, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dedup_quota_sweep, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_person_reply_deleted,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rewrite_and_rate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rate_past_4g, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_client_share, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_client_share_day, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_staff_headroom, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_files_per_conversation,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_api_widget, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_canned_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_map_part, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_extract_turns, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_extract_lease, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
