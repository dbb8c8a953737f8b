/* Unit tests: widget and contact records, their checks and codecs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"
#include "storemsg.h"
#include "widgetmsg.h"

/* A widget with every field set to something other than its default. */
static void
full_widget(struct st_widget *w)
{
	st_widget_defaults(w);
	strlcpy(w->id, "0123456789abcdef0123456789abcdef", sizeof(w->id));
	strlcpy(w->widget_id, "wid_0123456789abcdef0123456789abcdef",
	    sizeof(w->widget_id));
	w->name = strdup("Sales — “help”");
	w->greeting = strdup("Hello!");
	strlcpy(w->primary_color, "#A0b1C2", sizeof(w->primary_color));
	strlcpy(w->text_color, "#000000", sizeof(w->text_color));
	w->position = ST_POS_BOTTOM_LEFT;
	w->contact_mode = ST_CONTACT_REQUIRED;
	w->collect_email = 1;
	w->enabled = 0;
	w->norigins = 2;
	w->origins = calloc(2, sizeof(*w->origins));
	assert_non_null(w->origins);
	w->origins[0] = strdup("https://example.com");
	w->origins[1] = strdup("http://localhost:3000");
	w->daily_cap = 500;
	w->system_prompt = strdup("Be brief.");
	w->model = strdup("gpt-4o-mini");
	w->created_at = 1700000000000ull;
	w->updated_at = 1700000000001ull;
	strlcpy(w->agent_id, "fedcba9876543210fedcba9876543210",
	    sizeof(w->agent_id));
	w->handoff_enabled = 1;
	w->handoff_label = strdup("Ask a human");
	assert_non_null(w->handoff_label);
	assert_non_null(w->name);
	assert_non_null(w->origins[1]);
	assert_non_null(w->model);
}

static void
assert_widget_equal(const struct st_widget *a, const struct st_widget *b)
{
	uint32_t i;

	assert_string_equal(a->id, b->id);
	assert_string_equal(a->widget_id, b->widget_id);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->greeting, b->greeting);
	assert_string_equal(a->primary_color, b->primary_color);
	assert_string_equal(a->text_color, b->text_color);
	assert_int_equal(a->position, b->position);
	assert_int_equal(a->contact_mode, b->contact_mode);
	assert_int_equal(a->collect_name, b->collect_name);
	assert_int_equal(a->collect_email, b->collect_email);
	assert_int_equal(a->collect_phone, b->collect_phone);
	assert_int_equal(a->enabled, b->enabled);
	assert_int_equal(a->norigins, b->norigins);
	for (i = 0; i < a->norigins; i++)
		assert_string_equal(a->origins[i], b->origins[i]);
	assert_int_equal(a->daily_cap, b->daily_cap);
	assert_string_equal(a->system_prompt, b->system_prompt);
	assert_string_equal(a->model, b->model);
	assert_int_equal(a->created_at, b->created_at);
	assert_int_equal(a->updated_at, b->updated_at);
	assert_string_equal(a->agent_id, b->agent_id);
	assert_int_equal(a->handoff_enabled, b->handoff_enabled);
	assert_string_equal(a->handoff_label, b->handoff_label);
}

/* w encoded into e (for the caller to free), decoded into g exactly. */
static void
widget_roundtrip(const struct st_widget *w, struct penc *e,
    struct st_widget *g)
{
	struct pdec d;

	penc_init(e);
	penc_widget(e, w);
	assert_int_equal(e->err, 0);
	pdec_init(&d, e->buf, e->len);
	assert_int_equal(pdec_widget(&d, g), 0);
	assert_int_equal(pdec_done(&d), 0);
}

static void
test_defaults(void **state)
{
	struct st_widget w, g;
	struct penc e;

	st_widget_defaults(&w);
	assert_string_equal(w.primary_color, ST_DEFAULT_COLOR);
	assert_string_equal(w.text_color, ST_DEFAULT_TEXT_COLOR);
	assert_int_equal(w.enabled, 1);
	assert_int_equal(w.norigins, 0);
	assert_int_equal(w.daily_cap, 0);
	assert_int_equal(w.contact_mode, ST_CONTACT_NONE);
	assert_int_equal(w.position, ST_POS_BOTTOM_RIGHT);
	assert_null(st_widget_invalid(&w));
	/* NULL strings encode as "" and come back as "". */
	widget_roundtrip(&w, &e, &g);
	assert_string_equal(g.name, "");
	assert_string_equal(g.model, "");
	assert_int_equal(g.enabled, 1);
	st_widget_free(&g);
	penc_free(&e);
	st_widget_free(&w);
}

static void
test_widget_roundtrip(void **state)
{
	struct st_widget w, g, c;
	struct penc e;
	struct pdec d;
	size_t cut;

	full_widget(&w);
	assert_null(st_widget_invalid(&w));
	widget_roundtrip(&w, &e, &g);
	assert_widget_equal(&w, &g);
	st_widget_free(&g);

	/* Every truncation fails, and frees what it had. */
	for (cut = 0; cut < e.len; cut++) {
		pdec_init(&d, e.buf, cut);
		assert_int_equal(pdec_widget(&d, &g), -1);
		assert_null(g.name);
		assert_null(g.origins);
	}
	/* A trailing byte is left over. */
	penc_u8(&e, 0);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_widget(&d, &g), 0);
	assert_int_equal(pdec_done(&d), -1);
	st_widget_free(&g);
	penc_free(&e);

	assert_int_equal(st_widget_copy(&c, &w), 0);
	assert_widget_equal(&w, &c);
	assert_ptr_not_equal(c.name, w.name);
	assert_ptr_not_equal(c.origins, w.origins);
	st_widget_free(&c);
	st_widget_free(&w);
	/* Freed and zeroed: a second free does nothing. */
	st_widget_free(&w);
}

static void
test_widget_decode_bounds(void **state)
{
	struct st_widget g;
	struct penc e;
	struct pdec d;
	char *big;

	/* An origin count the payload cannot hold fails before allocating. */
	penc_init(&e);
	penc_str(&e, "id");
	penc_str(&e, "wid_x");
	penc_str(&e, "");
	penc_str(&e, "");
	penc_str(&e, "#000000");
	penc_str(&e, "#ffffff");
	penc_u8(&e, 0);
	penc_u8(&e, 0);
	penc_u8(&e, 0);
	penc_u8(&e, 0);
	penc_u8(&e, 0);
	penc_u8(&e, 1);
	penc_u32(&e, 0xffffffffu);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_widget(&d, &g), -1);
	penc_free(&e);

	/* A colour too long for its field. */
	penc_init(&e);
	penc_str(&e, "id");
	penc_str(&e, "wid_x");
	penc_str(&e, "");
	penc_str(&e, "");
	penc_str(&e, "#0000000");
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_widget(&d, &g), -1);
	penc_free(&e);

	/* A name over 4 bytes per character decodes no further. */
	big = malloc(4 * ST_NAME_MAX + 2);
	assert_non_null(big);
	memset(big, 'n', 4 * ST_NAME_MAX + 1);
	big[4 * ST_NAME_MAX + 1] = '\0';
	penc_init(&e);
	penc_str(&e, "id");
	penc_str(&e, "wid_x");
	penc_str(&e, big);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_widget(&d, &g), -1);
	penc_free(&e);
	free(big);
}

static void
test_widget_invalid(void **state)
{
	struct st_widget w;
	char *s;
	uint32_t i;

	st_widget_defaults(&w);
#define BAD(prefix) do {						\
	const char *m_ = st_widget_invalid(&w);				\
	assert_non_null(m_);						\
	assert_memory_equal(m_, prefix, strlen(prefix));		\
} while (0)

	strlcpy(w.primary_color, "red", sizeof(w.primary_color));
	BAD("primary_color: must be #rrggbb");
	strlcpy(w.primary_color, "#12345g", sizeof(w.primary_color));
	BAD("primary_color:");
	strlcpy(w.primary_color, "#123456", sizeof(w.primary_color));
	strlcpy(w.text_color, "123456", sizeof(w.text_color));
	BAD("text_color:");
	strlcpy(w.text_color, "#abcdef", sizeof(w.text_color));
	assert_null(st_widget_invalid(&w));

	w.position = 2;
	BAD("position:");
	w.position = 1;
	w.contact_mode = 3;
	BAD("contact_info_mode: must be none, optional or required");
	w.contact_mode = ST_CONTACT_REQUIRED;
	BAD("contact_info_mode: required");
	w.collect_phone = 1;
	assert_null(st_widget_invalid(&w));
	w.collect_name = 2;
	BAD("collect_name:");
	w.collect_name = 0;
	w.enabled = 7;
	BAD("enabled:");
	w.enabled = 1;

	/* Lengths count characters: 100 of "é" (200 bytes) pass, 101 fail. */
	s = malloc(2 * 101 + 1);
	assert_non_null(s);
	for (i = 0; i < 100; i++)
		memcpy(s + 2 * i, "\xc3\xa9", 2);
	s[200] = '\0';
	w.name = s;
	assert_null(st_widget_invalid(&w));
	memcpy(s + 200, "x", 2);
	BAD("name:");
	s[0] = (char)0xc0;	/* not UTF-8 */
	s[1] = (char)0x80;
	s[200] = '\0';
	BAD("name:");
	free(w.name);
	w.name = NULL;

	w.greeting = strdup("\xed\xa0\x80");	/* a surrogate */
	BAD("greeting:");
	free(w.greeting);
	w.greeting = NULL;

	w.model = strdup("gpt 4");
	BAD("model:");
	free(w.model);
	w.model = strdup("openai/gpt-4o-mini:free_v1.2");
	assert_null(st_widget_invalid(&w));
	free(w.model);
	w.model = NULL;

	w.system_prompt = malloc(ST_PROMPT_MAX + 2);
	assert_non_null(w.system_prompt);
	memset(w.system_prompt, 'p', ST_PROMPT_MAX);
	w.system_prompt[ST_PROMPT_MAX] = '\0';
	assert_null(st_widget_invalid(&w));
	w.system_prompt[ST_PROMPT_MAX] = 'p';
	w.system_prompt[ST_PROMPT_MAX + 1] = '\0';
	BAD("system_prompt:");
	free(w.system_prompt);
	w.system_prompt = NULL;

	/* A number's range is its row's, least too: 0 and 26 say 1 to 25. */
	w.attachment_max_mb = 0;
	assert_string_equal(st_widget_invalid(&w),
	    "attachment_max_mb: must be an integer from 1 to 25");
	w.attachment_max_mb = ST_ATTACH_MB_MAX + 1;
	assert_string_equal(st_widget_invalid(&w),
	    "attachment_max_mb: must be an integer from 1 to 25");
	w.attachment_max_mb = 1;
	assert_null(st_widget_invalid(&w));
	w.attachment_max_mb = ST_ATTACH_MB_MAX;
	assert_null(st_widget_invalid(&w));
	w.proactive_delay_s = ST_PROACTIVE_DELAY_MAX + 1;
	assert_string_equal(st_widget_invalid(&w),
	    "proactive_delay_s: must be an integer from 0 to 600");
	w.proactive_delay_s = 0;
	assert_null(st_widget_invalid(&w));

	w.norigins = ST_ORIGINS_MAX + 1;
	w.origins = calloc(w.norigins, sizeof(*w.origins));
	assert_non_null(w.origins);
	for (i = 0; i < w.norigins; i++)
		w.origins[i] = strdup("https://a.example");
	BAD("allowed_origins: at most 32");
	free(w.origins[--w.norigins]);
	assert_null(st_widget_invalid(&w));
	free(w.origins[0]);
	w.origins[0] = strdup("https://a.example/path");
	BAD("allowed_origins:");
	st_widget_free(&w);
#undef BAD
}

static void
test_origins(void **state)
{
	static const char *good[] = {
		"http://localhost", "https://example.com",
		"http://localhost:3000", "HTTPS://Example.COM:8443",
		"http://127.0.0.1:1", "http://[::1]:8080", "https://a-b.c.d",
	};
	static const char *bad[] = {
		"", "example.com", "ftp://example.com", "https://",
		"https://example.com/", "https://example.com:0",
		"https://example.com:65536", "https://example.com:",
		"https://exa mple.com", "https://example.com?x",
		"https://user@example.com", "null", "https://-bad.com",
		"http://[]", "https://example.com:1234567",
	};
	struct st_widget w;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(st_origin_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(st_origin_valid(bad[i]));
	assert_false(st_origin_valid(NULL));

	st_widget_defaults(&w);
	/* None listed: anything, even no Origin at all. */
	assert_true(st_origin_allowed(&w, NULL));
	assert_true(st_origin_allowed(&w, ""));
	assert_true(st_origin_allowed(&w, "https://evil.example"));
	w.norigins = 2;
	w.origins = calloc(2, sizeof(*w.origins));
	assert_non_null(w.origins);
	w.origins[0] = strdup("https://Example.com");
	w.origins[1] = strdup("http://localhost:3000");
	assert_true(st_origin_allowed(&w, "https://example.com"));
	assert_true(st_origin_allowed(&w, "HTTPS://EXAMPLE.COM:443"));
	assert_true(st_origin_allowed(&w, "http://localhost:3000"));
	assert_false(st_origin_allowed(&w, "http://example.com"));
	assert_false(st_origin_allowed(&w, "https://example.com:8443"));
	assert_false(st_origin_allowed(&w, "https://example.co"));
	assert_false(st_origin_allowed(&w, "https://sub.example.com"));
	assert_false(st_origin_allowed(&w, "http://localhost"));
	assert_false(st_origin_allowed(&w, NULL));
	assert_false(st_origin_allowed(&w, ""));
	assert_false(st_origin_allowed(&w, "null"));
	st_widget_free(&w);
}

static void
test_email_phone(void **state)
{
	static const char *good[] = {
		"a@b.co", "First.Last+tag@mail.example.org",
	};
	static const char *bad[] = {
		"", NULL, "plain", "@b.co", "a@b", "a@.co", "a@b.", "a@b..co",
		"a b@c.co", "a@b@c.co", "a@b.co\n",
	};
	/* out: what a phone normalises to; NULL when it does not. */
	static const struct {
		const char *in, *out;
	} phones[] = {
		{ "+1 (555) 123-4567", "+15551234567" },
		{ "555.123.4567", "5551234567" },
		{ "1234567", "1234567" },
		{ "123456", NULL },
		{ "1234567890123456", NULL },
		{ "123456789012345", "123456789012345" },
		{ "555-CALL-NOW", NULL },
		{ "12+34567", NULL },
		{ "++1234567", NULL },
		{ "", NULL },
		{ NULL, NULL },
	};
	char out[ST_PHONE_MAX + 1];
	char *longmail;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(st_email_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(st_email_valid(bad[i]));
	longmail = malloc(ST_EMAIL_MAX + 2);
	assert_non_null(longmail);
	memset(longmail, 'a', ST_EMAIL_MAX + 1);
	memcpy(longmail + 10, "@b.co", 5);
	longmail[ST_EMAIL_MAX + 1] = '\0';
	assert_false(st_email_valid(longmail));
	free(longmail);

	for (i = 0; i < sizeof(phones) / sizeof(phones[0]); i++) {
		if (phones[i].out == NULL) {
			assert_int_equal(st_phone_norm(phones[i].in, out,
			    sizeof(out)), -1);
			continue;
		}
		assert_int_equal(st_phone_norm(phones[i].in, out,
		    sizeof(out)), 0);
		assert_string_equal(out, phones[i].out);
	}
	/* Too small a buffer fails rather than cuts. */
	assert_int_equal(st_phone_norm("1234567", out, 7), -1);
	assert_int_equal(st_phone_norm("1234567", out, 8), 0);
}

static void
test_contact_roundtrip(void **state)
{
	struct st_contact c, g;
	struct penc e;
	struct pdec d;
	size_t cut;

	memset(&c, 0, sizeof(c));
	strlcpy(c.id, "00112233445566778899aabbccddeeff", sizeof(c.id));
	c.name = strdup("Ada");
	c.email = strdup("ada@example.com");
	c.phone = strdup("+15551234567");
	c.created_at = 5;
	c.updated_at = 6;
	penc_init(&e);
	penc_contact(&e, &c);
	assert_int_equal(e.err, 0);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_contact(&d, &g), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(g.id, c.id);
	assert_string_equal(g.name, "Ada");
	assert_string_equal(g.email, "ada@example.com");
	assert_string_equal(g.phone, "+15551234567");
	assert_int_equal(g.created_at, 5);
	assert_int_equal(g.updated_at, 6);
	st_contact_free(&g);
	for (cut = 0; cut < e.len; cut++) {
		pdec_init(&d, e.buf, cut);
		assert_int_equal(pdec_contact(&d, &g), -1);
		assert_null(g.name);
	}
	penc_free(&e);
	st_contact_free(&c);
}

static void
test_conv_contact(void **state)
{
	struct st_conv c, g;
	struct penc e;
	struct pdec d;
	size_t cut;

	memset(&c, 0, sizeof(c));
	strlcpy(c.id, "00112233445566778899aabbccddeeff", sizeof(c.id));
	strlcpy(c.widget, "default", sizeof(c.widget));
	strlcpy(c.session, "s", sizeof(c.session));
	strlcpy(c.contact_id, "ffeeddccbbaa99887766554433221100",
	    sizeof(c.contact_id));
	c.last_message = strdup("hi");
	penc_init(&e);
	penc_conv(&e, &c);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_conv(&d, &g), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(g.contact_id, c.contact_id);
	assert_string_equal(g.last_message, "hi");
	st_conv_free(&g);
	/* contact_id is the last field: without it, the conv is short. */
	for (cut = 0; cut < e.len; cut++) {
		pdec_init(&d, e.buf, cut);
		assert_int_equal(pdec_conv(&d, &g), -1);
	}
	penc_free(&e);
	st_conv_free(&c);
}

/* A widget's identity secret, and the HMAC-SHA256 of "user-42" under it. */
static const char secret[] = "0123456789abcdef0123456789abcdef"
    "0123456789abcdef0123456789abcdef";
static const char mac[] = "a63cb3bd204a755b540eda8a223d431f"
    "92f5aa347b397df1401e3901fdf6e659";

/*
 * An identify's expiring form: "exp:" + expires + ":" + id signed, taken
 * until expires and ST_IDENTITY_SKEW_S after it by storaged's clock; no
 * hash of one form passes for the other.
 */
static void
test_identity_expiring_ok(void **state)
{
	const char *exp_mac = "63feb4b49af3c6b60ce1717842fa9924"
	    "4ab956022da4ddd14d15274005ad9d54";	/* "exp:1767225600:user-42" */
	const char *max_mac = "f92418c9d7e86ebc323ef8a9495da863"
	    "d68aea3349d53f24819d198658d3c45f";	/* "exp:1099511627776:user-42" */
	const uint64_t exp = 1767225600;

	/* Before its expiry, at it, and within the skew after it. */
	assert_int_equal(st_identity_expiring_ok(secret, "user-42", exp,
	    exp - 86400, exp_mac), 1);
	assert_int_equal(st_identity_expiring_ok(secret, "user-42", exp,
	    exp, exp_mac), 1);
	assert_int_equal(st_identity_expiring_ok(secret, "user-42", exp,
	    exp + ST_IDENTITY_SKEW_S, exp_mac), 1);
	/* Past it by more: never. */
	assert_int_equal(st_identity_expiring_ok(secret, "user-42", exp,
	    exp + ST_IDENTITY_SKEW_S + 1, exp_mac), 0);
	/* Another expires, id or secret than the signed ones. */
	assert_int_equal(st_identity_expiring_ok(secret, "user-42", exp + 1,
	    exp, exp_mac), 0);
	assert_int_equal(st_identity_expiring_ok(secret, "user-43", exp,
	    exp, exp_mac), 0);
	assert_int_equal(st_identity_expiring_ok("", "user-42", exp,
	    exp, exp_mac), 0);
	/* Neither form's hash passes for the other's. */
	assert_int_equal(st_identity_expiring_ok(secret, "user-42", exp,
	    exp, mac), 0);
	assert_int_equal(st_identity_expiring_ok(secret, "user-42", 0,
	    exp, exp_mac), 0);
	assert_int_equal(st_identity_ok(secret, "user-42", exp_mac), 0);
	/* expires 0: the plain form, whatever the clock. */
	assert_int_equal(st_identity_expiring_ok(secret, "user-42", 0,
	    exp, mac), 1);
	/* An id of "exp:..." would sign an expiring id: never, plainly. */
	assert_int_equal(st_identity_ok(secret, "exp:1767225600:user-42",
	    exp_mac), 0);
	/* The bound itself is taken; past it, nothing. */
	assert_int_equal(st_identity_expiring_ok(secret, "user-42",
	    ST_IDENTITY_EXPIRES_MAX, exp, max_mac), 1);
	assert_int_equal(st_identity_expiring_ok(secret, "user-42",
	    ST_IDENTITY_EXPIRES_MAX + 1, exp, max_mac), 0);
}

/* issue 26: an identify's HMAC, checked against the secret as it is. */
static void
test_identity_ok(void **state)
{
	const char *email_mac = "7a323998eb3fe4593a55c3948b3d9eb4"
	    "7204cb9a03fd860983abb1743097b566";	/* of "email:ada@example.com" */
	const char *bare_mac = "35388a70fac9997cbb89e65a85aaf69e"
	    "5e6637bc6572addbf8d5ba60415f2ef6";	/* of "ada@example.com" */

	assert_int_equal(st_identity_ok(secret, "user-42", mac), 1);
	assert_int_equal(st_identity_ok(secret, "user-43", mac), 0);
	assert_int_equal(st_identity_ok("", "user-42", mac), 0);
	assert_int_equal(st_identity_ok(secret, "user-42", ""), 0);
	assert_int_equal(st_identity_ok(secret, "user-42",
	    "A63CB3BD204A755B540EDA8A223D431F"
	    "92F5AA347B397DF1401E3901FDF6E659"), 0);
	assert_int_equal(st_identity_ok("0123", "user-42", mac), 0);
	/* An email's is of "email:" and the email, never of it bare. */
	assert_int_equal(st_identity_email_ok(secret, "ada@example.com",
	    email_mac), 1);
	assert_int_equal(st_identity_email_ok(secret, "ada@example.com",
	    bare_mac), 0);
	assert_int_equal(st_identity_ok(secret, "ada@example.com", bare_mac),
	    1);
	assert_int_equal(st_identity_email_ok(secret, "eve@example.com",
	    email_mac), 0);
	/*
	 * An id of "email:" and an address would sign that address: never
	 * verified, whatever its hash (here the email's own, which is the
	 * id's HMAC too).
	 */
	assert_int_equal(st_identity_ok(secret, "email:ada@example.com",
	    email_mac), 0);
	assert_int_equal(st_identity_email_ok("", "ada@example.com",
	    email_mac), 0);
	assert_int_equal(st_identity_email_ok(secret, "", ""), 0);
	assert_int_equal(st_secret_valid(secret), 1);
	assert_int_equal(st_secret_valid("0123"), 0);
	assert_int_equal(st_widget_lang_valid(""), 1);
	assert_int_equal(st_widget_lang_valid("ja"), 1);
	assert_int_equal(st_widget_lang_valid("jp"), 0);
}

static void
test_enums(void **state)
{
	assert_string_equal(st_position_name(ST_POS_BOTTOM_RIGHT),
	    "bottom_right");
	assert_string_equal(st_position_name(ST_POS_BOTTOM_LEFT),
	    "bottom_left");
	assert_null(st_position_name(2));
	assert_null(st_position_name(-1));
	assert_int_equal(st_position_parse("bottom_left"), ST_POS_BOTTOM_LEFT);
	assert_int_equal(st_position_parse("top"), -1);
	assert_int_equal(st_position_parse(NULL), -1);
	assert_string_equal(st_contact_mode_name(ST_CONTACT_OPTIONAL),
	    "optional");
	assert_null(st_contact_mode_name(3));
	assert_int_equal(st_contact_mode_parse("none"), ST_CONTACT_NONE);
	assert_int_equal(st_contact_mode_parse("required"),
	    ST_CONTACT_REQUIRED);
	assert_int_equal(st_contact_mode_parse("Required"), -1);
	assert_string_equal(proto_msg_name(PROTO_ST_WS_BEGIN), "ST_WS_BEGIN");
	assert_string_equal(proto_msg_name(PROTO_ST_EV_WIDGET_GONE),
	    "ST_EV_WIDGET_GONE");
	assert_string_equal(proto_msg_name(PROTO_ST_CONTACT_GET),
	    "ST_CONTACT_GET");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_widget_roundtrip),
		cmocka_unit_test(test_widget_decode_bounds),
		cmocka_unit_test(test_widget_invalid),
		cmocka_unit_test(test_origins),
		cmocka_unit_test(test_email_phone),
		cmocka_unit_test(test_contact_roundtrip),
		cmocka_unit_test(test_conv_contact),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_identity_ok),
		cmocka_unit_test(test_identity_expiring_ok),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
