/*
 * An email notification as written (workerd/notify/mailfmt.c): the
 * headers (one Subject line whatever the visitor wrote: CR and LF
 * become spaces, so "Bcc:" in a message is text, not a header; RFC 2047
 * encoded words for UTF-8, each within 75 characters, decoding back,
 * and for a visitor's own encoded word, which decodes to its text),
 * the two base64 parts (the visitor's <script> escaped in the HTML, as
 * is in the text), the dashboard link (naming the conversation's
 * organisation), a long text cut whole, and what
 * cannot be written; a summary of the events past the organisation's
 * bound (their count and since when, the dashboard's list of their
 * kind, no event).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <string.h>

#include <openssl/evp.h>

#include "agentmsg.h"
#include "mailmsg.h"
#include "notify.h"
#include "workerd.h"

#define CONV	"00112233445566778899aabbccddeeff"
#define ORG	"org_0123456789abcdef0123456789abcdef"

static void
event_of(struct st_event *ev, const char *last)
{
	memset(ev, 0, sizeof(*ev));
	ev->kind = ST_EV_HANDOFF;
	ev->state = ST_HANDOFF_WAITING;
	strlcpy(ev->conv.id, CONV, sizeof(ev->conv.id));
	strlcpy(ev->conv.org, ORG, sizeof(ev->conv.org));
	ev->conv.last_message = (char *)last;
}

/* The mail in says, composed (a copy). */
static char *
compose_in(const struct notify_mail_in *in)
{
	struct buf b;
	char *s;

	buf_init(&b);
	assert_int_equal(notify_mail_compose(&b, in), 0);
	s = strndup(b.data, b.len);
	buf_free(&b);
	return s;
}

static char *
compose(uint32_t kind, const struct st_event *ev, const char *to)
{
	struct notify_mail_in in = { "ml_0000000000000007", kind, ev,
	    "parley@example.com", to, "https://chat.example.com//",
	    1795478400123ull, 0, 0, NULL };	/* Tue, 24 Nov 2026 00:00 UTC */

	return compose_in(&in);
}

/* The header block (up to the blank line), a copy. */
static char *
head_of(const char *m)
{
	const char *e = strstr(m, "\r\n\r\n");

	assert_non_null(e);
	return strndup(m, (size_t)(e - m) + 2);
}

/* The part of type, its base64 decoded (a copy). */
static char *
part_of(const char *m, const char *type)
{
	char want[64], *b64, *out;
	const char *p, *e;
	size_t i, n = 0;
	int len;

	snprintf(want, sizeof(want), "Content-Type: %s; charset=utf-8", type);
	assert_non_null(p = strstr(m, want));
	assert_non_null(p = strstr(p, "\r\n\r\n"));
	p += 4;
	assert_non_null(e = strstr(p, "\r\n--=_parley_"));
	b64 = calloc(1, (size_t)(e - p) + 1);
	for (i = 0; p + i < e; i++)
		if (p[i] != '\r' && p[i] != '\n')
			b64[n++] = p[i];
	out = calloc(1, n + 1);
	len = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)b64,
	    (int)n);
	assert_true(len >= 0);
	while (n > 0 && b64[n - 1] == '=') {	/* padding decodes as NULs */
		n--;
		len--;
	}
	out[len] = '\0';
	free(b64);
	return out;
}

static void
test_headers_and_escaping(void **state)
{
	struct st_event ev;
	char *m, *head, *text, *html;
	const char *p;
	int lines = 0;

	event_of(&ev, "Help <script>alert(1)</script>\r\nBcc: evil@example.net");
	m = compose(ST_MAIL_HANDOFF, &ev, NULL);
	head = head_of(m);
	assert_non_null(strstr(head, "From: Parley <parley@example.com>\r\n"));
	assert_non_null(strstr(head, "To: undisclosed-recipients:;\r\n"));
	assert_non_null(strstr(head, "\r\nSubject: A visitor asks for a "
	    "person: Help <script>alert(1)</script>  Bcc: evil@example.net"
	    "\r\n"));
	assert_non_null(strstr(head, "Date: Tue, 24 Nov 2026 00:00:00 "
	    "+0000\r\n"));
	assert_non_null(strstr(head,
	    "Message-ID: <ml_0000000000000007@example.com>\r\n"));
	assert_non_null(strstr(head, "MIME-Version: 1.0\r\n"));
	assert_non_null(strstr(head, "Content-Type: multipart/alternative; "
	    "boundary=\"=_parley_ml_0000000000000007\"\r\n"));
	/* No line of the head starts with Bcc: it is the subject's text. */
	for (p = head; *p != '\0'; p = strstr(p, "\r\n") + 2) {
		assert_true(strncmp(p, "Bcc:", 4) != 0);
		lines++;
	}
	assert_int_equal(lines, 8);
	text = part_of(m, "text/plain");
	html = part_of(m, "text/html");
	assert_non_null(strstr(text, "Help <script>alert(1)</script>"));
	assert_non_null(strstr(text, "Open the conversation: "
	    "https://chat.example.com/dashboard/?organization_id=" ORG
	    "#/conversations/" CONV "\n"));
	assert_non_null(strstr(html,
	    "Help &lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_null(strstr(html, "<script"));
	assert_non_null(strstr(html, "<a href=\"https://chat.example.com/"
	    "dashboard/?organization_id=" ORG "#/conversations/" CONV "\">"));
	/* The end of the multipart. */
	assert_non_null(strstr(m, "\r\n--=_parley_ml_0000000000000007--\r\n"));
	free(text);
	free(html);
	free(head);
	free(m);
}

/*
 * Each line of head holding an encoded word is at most 76 characters
 * (RFC 2047 section 2), the first, behind "Subject:", too.
 */
static void
word_lines_short(const char *head)
{
	const char *line = head, *end;

	while ((end = strstr(line, "\r\n")) != NULL) {
		if (memmem(line, (size_t)(end - line), "=?", 2) != NULL)
			assert_true(end - line <= 76);
		line = end + 2;
	}
}

/* The subject's encoded words, decoded and joined. */
static void
words_decoded(const char *head, char *out, size_t outsz)
{
	const char *p = strstr(head, "Subject:"), *e, *pad;
	unsigned char dec[128];
	int n;

	word_lines_short(head);
	out[0] = '\0';
	while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
		p += 10;
		e = strstr(p, "?=");
		assert_true(e - p + 12 <= 75);
		n = EVP_DecodeBlock(dec, (const unsigned char *)p, (int)(e - p));
		for (pad = e; pad > p && pad[-1] == '='; pad--)
			n--;
		dec[n] = '\0';
		strlcat(out, (char *)dec, outsz);
		p = e;
		/* The next word on a folded line, or the subject's end. */
		if (strncmp(p, "?=\r\n =?", 7) != 0)
			break;
	}
}

static void
test_utf8_subject(void **state)
{
	struct st_event ev;
	struct st_contact k = { .name = "Zo\xc3\xab <b>Bold</b> \xe6\x97\xa5"
	    "\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe5\x90\x8d\xe5\x89\x8d",
	    .email = "zoe@example.org", .phone = "" };
	char *m, *head, *html, dec[256];

	event_of(&ev, "");
	ev.kind = ST_EV_CONTACT;
	ev.contact = k;
	m = compose(ST_MAIL_CONTACT, &ev, "a@example.com");
	head = head_of(m);
	assert_non_null(strstr(head, "To: a@example.com\r\n"));
	assert_non_null(strstr(head, "Subject: =?UTF-8?B?"));
	words_decoded(head, dec, sizeof(dec));
	assert_string_equal(dec, "New contact: Zo\xc3\xab <b>Bold</b> "
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe5\x90\x8d"
	    "\xe5\x89\x8d");
	html = part_of(m, "text/html");
	assert_non_null(strstr(html, "Zo\xc3\xab &lt;b&gt;Bold&lt;/b&gt;"));
	assert_non_null(strstr(html, "zoe@example.org"));
	assert_null(strstr(html, "Phone"));
	free(html);
	free(head);
	free(m);
}

static void
test_long_text_cut_whole(void **state)
{
	struct st_event ev;
	char long_text[400], *m, *head, dec[512];
	size_t i;

	/* "é" 200 times: cut at 80 bytes, whole characters, then "…". */
	for (i = 0; i < 199; i++)
		memcpy(long_text + 2 * i, "\xc3\xa9", 2);
	long_text[398] = '\0';
	event_of(&ev, long_text);
	m = compose(ST_MAIL_HANDOFF, &ev, NULL);
	head = head_of(m);
	words_decoded(head, dec, sizeof(dec));
	assert_int_equal(strlen(dec), strlen("A visitor asks for a person: ") +
	    80 + 3);
	assert_string_equal(dec + strlen(dec) - 3, "\xe2\x80\xa6");
	free(head);
	free(m);
}

/*
 * A visitor's ASCII text holding an encoded word of its own ("\r\nBcc:
 * evil@example.net" in base64): once written as it was, a reader decoded
 * it into a line break. Now the subject is encoded words, which decode
 * to the visitor's text as typed.
 */
static void
test_visitor_encoded_word(void **state)
{
	static const char word[] =
	    "=?UTF-8?B?DQpCY2M6IGV2aWxAZXhhbXBsZS5uZXQ=?=";
	struct st_event ev;
	char *m, *head, dec[256];

	event_of(&ev, word);
	m = compose(ST_MAIL_HANDOFF, &ev, NULL);
	head = head_of(m);
	assert_null(strstr(head, "person: =?UTF-8?B?DQpC"));
	assert_non_null(strstr(head, "Subject: =?UTF-8?B?"));
	words_decoded(head, dec, sizeof(dec));
	assert_string_equal(dec, "A visitor asks for a person: =?UTF-8?B?"
	    "DQpCY2M6IGV2aWxAZXhhbXBsZS5uZXQ=?=");
	free(head);
	free(m);
}

/* A summary: held events of kind since 1 minute before Date, no event. */
static char *
summary(uint32_t kind, uint32_t held)
{
	struct notify_mail_in in = { "ml_0000000000000009", kind, NULL,
	    "parley@example.com", NULL, "https://chat.example.com/",
	    1795478400123ull, held, 1795478340000ull, ORG };

	return compose_in(&in);
}

static void
test_summary(void **state)
{
	char *m = summary(ST_MAIL_CONTACT, 12), *text, *html;

	assert_non_null(strstr(m, "\r\nSubject: 12 more new contacts since "
	    "2026-11-23 23:59 UTC\r\n"));
	text = part_of(m, "text/plain");
	html = part_of(m, "text/html");
	assert_non_null(strstr(text, "12 more visitors left their contact "
	    "details since 2026-11-23 23:59 UTC."));
	assert_non_null(strstr(text, "Open the contacts: https://chat."
	    "example.com/dashboard/?organization_id=" ORG "#/contacts\n"));
	assert_non_null(strstr(html, "<a href=\"https://chat.example.com/"
	    "dashboard/?organization_id=" ORG "#/contacts\">"));
	free(text);
	free(html);
	free(m);
	m = summary(ST_MAIL_HANDOFF, 1);
	assert_non_null(strstr(m, "\r\nSubject: 1 more visitor asked for a "
	    "person since 2026-11-23 23:59 UTC\r\n"));
	text = part_of(m, "text/plain");
	assert_non_null(strstr(text, "#/conversations\n"));
	free(text);
	free(m);
}

static void
test_cannot_write(void **state)
{
	struct st_event ev;
	struct notify_mail_in in = { "ml_0000000000000001", ST_MAIL_HANDOFF,
	    &ev, "no-at-sign", NULL, "https://x", 0, 0, 0, NULL };
	char link[160];
	struct buf b;

	event_of(&ev, "x");
	buf_init(&b);
	assert_int_equal(notify_mail_compose(&b, &in), -1);
	buf_free(&b);
	assert_int_equal(notify_mail_link("https://a.example/", ORG, CONV,
	    link, sizeof(link)), 0);
	assert_string_equal(link, "https://a.example/dashboard/?organization_id="
	    ORG "#/conversations/" CONV);
	/* No organisation known: the dashboard's own choice. */
	assert_int_equal(notify_mail_link("https://a.example/", "", CONV, link,
	    sizeof(link)), 0);
	assert_string_equal(link, "https://a.example/dashboard#/conversations/"
	    CONV);
	assert_int_equal(notify_mail_link("https://a.example", ORG, CONV, link,
	    20), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_headers_and_escaping),
		cmocka_unit_test(test_utf8_subject),
		cmocka_unit_test(test_long_text_cut_whole),
		cmocka_unit_test(test_visitor_encoded_word),
		cmocka_unit_test(test_cannot_write),
		cmocka_unit_test(test_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
