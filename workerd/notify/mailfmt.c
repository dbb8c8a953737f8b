/*
 * An email notification as sent (issue 23, item 4): the RFC 5322
 * message the notifier hands to the SMTP server for one mail. Pure: no
 * I/O, no clock but the caller's. Everything a visitor wrote (their
 * messages, a contact's name, email and phone) is untrusted here:
 *
 * - in a header (the Subject) it is cut to one line, control characters
 *   (CR, LF among them) turned into spaces, so it can never end the
 *   header or add another; with any byte past ASCII, or a "=?" (a mail
 *   reader would decode the visitor's own encoded word: CR, LF, any
 *   byte), the whole subject is RFC 2047 "B"-encoded words (UTF-8), each
 *   line of them at most 76 characters, folded, whose text is never
 *   decoded again;
 * - in the HTML part, every & < > " ' is escaped;
 * - both parts are UTF-8 in base64 (lines of 76), so no line of the
 *   body is longer than SMTP allows and no byte of it is read as MIME.
 *
 * The multipart boundary holds "=_", which base64 never writes. A
 * summary mail (storaged held the events of its kind past the
 * organisation's bound: mailbox.c) tells their count and since when, and
 * links the dashboard's contacts or conversations: it names no visitor.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "agentmsg.h"
#include "mailmsg.h"
#include "notify.h"
#include "workerd.h"

#define SUBJECT_TEXT_MAX	80	/* bytes of a visitor's text in a subject */
#define BODY_TEXT_MAX		2000	/* bytes of a visitor's text in a body */
#define B64_LINE		57	/* input bytes of one 76-character line */
/*
 * Input bytes of one encoded word: 52 of base64, a word of 64, and the
 * first line "Subject: " and its word 73, under RFC 2047's 76.
 */
#define WORD_BYTES		39

/* ---------------------------------------------------------------- text */

/*
 * s cut to at most max bytes (not inside a UTF-8 character) into out
 * (max + 4 bytes), "…" added when cut; control characters as spaces,
 * but for line breaks when lines (a body's text).
 */
static void
textcut(const char *s, size_t max, char *out, int lines)
{
	size_t n = proto_utf8_cut(s, strlen(s), max), i;

	for (i = 0; i < n; i++)
		out[i] = iscntrl((unsigned char)s[i]) &&
		    !(lines && s[i] == '\n') ? ' ' : s[i];
	out[i] = '\0';
	if (n < strlen(s))
		memcpy(out + i, "\xe2\x80\xa6", 4);
}

/* One line of s for a header or a field (textcut without line breaks). */
static void
oneline(const char *s, size_t max, char *out)
{
	textcut(s, max, out, 0);
}

static int
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

void
notify_html_escape(struct buf *out, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&':
			buf_adds(out, "&amp;");
			break;
		case '<':
			buf_adds(out, "&lt;");
			break;
		case '>':
			buf_adds(out, "&gt;");
			break;
		case '"':
			buf_adds(out, "&quot;");
			break;
		case '\'':
			buf_adds(out, "&#39;");
			break;
		case '\n':
			buf_adds(out, "<br>\n");
			break;
		default:
			buf_add(out, s, 1);
		}
}

/* The bytes of p as base64, in lines of 76 ended by CRLF. */
static void
base64_lines(struct buf *out, const void *p, size_t len)
{
	unsigned char line[80];
	const unsigned char *in = p;
	size_t n;
	int w;

	while (len > 0) {
		n = len < B64_LINE ? len : B64_LINE;
		w = EVP_EncodeBlock(line, in, (int)n);
		buf_add(out, line, (size_t)w);
		buf_adds(out, "\r\n");
		in += n;
		len -= n;
	}
}

void
notify_subject(struct buf *out, const char *subject)
{
	unsigned char word[64];
	size_t len = strlen(subject), n;
	int w;

	buf_adds(out, "Subject:");
	if (!has_8bit(subject) && strstr(subject, "=?") == NULL) {
		buf_addf(out, " %s\r\n", subject);
		return;
	}
	/* Encoded words of whole UTF-8 characters, one per folded line. */
	while (len > 0) {
		n = len < WORD_BYTES ? len : WORD_BYTES;
		while (n < len && n > 1 &&
		    ((unsigned char)subject[n] & 0xc0) == 0x80)
			n--;
		w = EVP_EncodeBlock(word, (const unsigned char *)subject,
		    (int)n);
		buf_adds(out, " =?UTF-8?B?");
		buf_add(out, word, (size_t)w);
		buf_adds(out, "?=");
		subject += n;
		len -= n;
		if (len > 0)
			buf_adds(out, "\r\n");
	}
	buf_adds(out, "\r\n");
}

/* ------------------------------------------------------------- content */

/* What a mail says: its subject, a line of what happened, the text. */
struct content {
	char subject[160];
	const char *what;	/* static, or whatbuf */
	const char *label;	/* static: what `text` is */
	char text[BODY_TEXT_MAX + 4];
	const struct st_contact *contact;	/* ST_MAIL_CONTACT */
	const char *open;	/* static: the link's words */
	char whatbuf[256];
};

static void
content_of(uint32_t kind, const struct st_event *ev, struct content *c)
{
	char cut[SUBJECT_TEXT_MAX + 4];
	const char *who, *said;

	memset(c, 0, sizeof(*c));
	c->open = "Open the conversation";
	switch (kind) {
	case ST_MAIL_HANDOFF:
		/* The visitor's words, not the assistant's answer after them. */
		said = ev->conv.last_visitor != NULL &&
		    ev->conv.last_visitor[0] != '\0' ? ev->conv.last_visitor :
		    ev->conv.last_message != NULL ? ev->conv.last_message : "";
		c->what = "A visitor asked to talk to a person.";
		c->label = "Their last message";
		oneline(said, SUBJECT_TEXT_MAX, cut);
		snprintf(c->subject, sizeof(c->subject),
		    "A visitor asks for a person: %s", cut);
		textcut(said, BODY_TEXT_MAX, c->text, 1);
		break;
	case ST_MAIL_WAITING:
		c->what = "A visitor wrote in a conversation a person "
		    "answers, and nobody has answered for 2 minutes.";
		c->label = "Their message";
		oneline(ev->msg.content != NULL ? ev->msg.content : "",
		    SUBJECT_TEXT_MAX, cut);
		snprintf(c->subject, sizeof(c->subject),
		    "A visitor is waiting: %s", cut);
		textcut(ev->msg.content != NULL ? ev->msg.content : "",
		    BODY_TEXT_MAX, c->text, 1);
		break;
	default:
		c->what = "A visitor left their contact details.";
		c->label = NULL;
		c->contact = &ev->contact;
		who = ev->contact.name != NULL && ev->contact.name[0] != '\0' ?
		    ev->contact.name : ev->contact.email != NULL ?
		    ev->contact.email : "";
		oneline(who, SUBJECT_TEXT_MAX, cut);
		snprintf(c->subject, sizeof(c->subject), "New contact: %s",
		    cut);
		break;
	}
}

/* "2026-11-24 00:00 UTC" for ms since the epoch. */
static void
utc_minute(uint64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, 32, "%04d-%02d-%02d %02d:%02d UTC", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min);
}

/*
 * A summary's content: in->held more events of its kind since in->since,
 * told as a count (they were past the organisation's bound: mailbox.c).
 */
static void
summary_of(const struct notify_mail_in *in, struct content *c)
{
	int contact = in->kind == ST_MAIL_CONTACT, one = in->held == 1;
	char since[32];

	memset(c, 0, sizeof(*c));
	utc_minute(in->since, since);
	snprintf(c->subject, sizeof(c->subject), contact ?
	    "%u more new contact%s since %s" :
	    "%u more visitor%s asked for a person since %s", in->held,
	    one ? "" : "s", since);
	snprintf(c->whatbuf, sizeof(c->whatbuf), "%u more %s since %s. So "
	    "many came at once that they were not emailed one by one: see "
	    "them all in the dashboard.", in->held, contact ?
	    (one ? "visitor left their contact details" :
	    "visitors left their contact details") :
	    (one ? "visitor asked to talk to a person" :
	    "visitors asked to talk to a person"), since);
	c->what = c->whatbuf;
	c->open = contact ? "Open the contacts" : "Open the conversations";
}

/* The contact's fields as "Name: x" lines (text) or rows (html). */
static void
contact_lines(struct buf *out, const struct st_contact *k, int html)
{
	const char *names[] = { "Name", "Email", "Phone" };
	const char *vals[3];
	char v[BODY_TEXT_MAX + 4];
	size_t i;

	vals[0] = k->name;
	vals[1] = k->email;
	vals[2] = k->phone;
	for (i = 0; i < 3; i++) {
		if (vals[i] == NULL || vals[i][0] == '\0')
			continue;
		oneline(vals[i], BODY_TEXT_MAX, v);
		if (!html) {
			buf_addf(out, "%s: %s\n", names[i], v);
			continue;
		}
		buf_addf(out, "<p><b>%s:</b> ", names[i]);
		notify_html_escape(out, v);
		buf_adds(out, "</p>\n");
	}
}

static void
text_part(struct buf *out, const struct content *c, const char *link)
{
	buf_addf(out, "%s\n\n", c->what);
	if (c->label != NULL)
		buf_addf(out, "%s:\n%s\n\n", c->label, c->text);
	if (c->contact != NULL) {
		contact_lines(out, c->contact, 0);
		buf_adds(out, "\n");
	}
	buf_addf(out, "%s: %s\n", c->open, link);
}

static void
html_part(struct buf *out, const struct content *c, const char *link)
{
	buf_adds(out, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "</head><body>\n<p>");
	notify_html_escape(out, c->what);
	buf_adds(out, "</p>\n");
	if (c->label != NULL) {
		buf_addf(out, "<p><b>%s:</b></p>\n<blockquote>", c->label);
		notify_html_escape(out, c->text);
		buf_adds(out, "</blockquote>\n");
	}
	if (c->contact != NULL)
		contact_lines(out, c->contact, 1);
	buf_adds(out, "<p><a href=\"");
	notify_html_escape(out, link);
	buf_addf(out, "\">%s</a></p>\n</body></html>\n", c->open);
}

/* One part: its headers, then body in base64. */
static void
part(struct buf *out, const char *boundary, const char *type,
    const struct buf *body)
{
	buf_addf(out, "--%s\r\nContent-Type: %s; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", boundary, type);
	base64_lines(out, body->data, body->len);
}

/* ------------------------------------------------------------- message */

/* "Mon, 23 Nov 2026 22:35:00 +0000" for ms since the epoch. */
static void
rfc5322_date(uint64_t ms, char out[40])
{
	static const char *days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char *months[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/*
 * The dashboard's route (after "#/": route then id) in org ("": none
 * named): 0, or -1 (too long for out).
 */
static int
dash_link(const char *base, const char *org, const char *route,
    const char *id, char *out, size_t outsz)
{
	size_t n = strlen(base);
	int w;

	while (n > 0 && base[n - 1] == '/')
		n--;
	/* The dashboard acts in the organisation the link names. */
	if (org[0] != '\0')
		w = snprintf(out, outsz, "%.*s/dashboard/?organization_id=%s"
		    "#/%s%s", (int)n, base, org, route, id);
	else
		w = snprintf(out, outsz, "%.*s/dashboard#/%s%s", (int)n, base,
		    route, id);
	return w < 0 || (size_t)w >= outsz ? -1 : 0;
}

int
notify_mail_link(const char *base, const char *org, const char *conv,
    char *out, size_t outsz)
{
	return dash_link(base, org, "conversations/", conv, out, outsz);
}

/* in's content and link (its conversation's, or a summary's list). */
static int
content_link(const struct notify_mail_in *in, struct content *c, char *link,
    size_t linksz)
{
	if (in->held > 0) {
		summary_of(in, c);
		return dash_link(in->public_url, in->org != NULL ? in->org :
		    "", in->kind == ST_MAIL_CONTACT ? "contacts" :
		    "conversations", "", link, linksz);
	}
	content_of(in->kind, in->ev, c);
	return notify_mail_link(in->public_url, in->ev->conv.org,
	    in->ev->conv.id, link, linksz);
}

int
notify_mail_compose(struct buf *out, const struct notify_mail_in *in)
{
	char date[40], boundary[64];
	char link[URLPOL_URL_MAX + ST_WHO_ORG_MAX + 96];
	const char *domain = strchr(in->from, '@');
	struct content c;
	struct buf text, html;

	if (domain == NULL || content_link(in, &c, link, sizeof(link)) < 0)
		return -1;
	rfc5322_date(in->now_ms, date);
	snprintf(boundary, sizeof(boundary), "=_parley_%s", in->id);
	buf_addf(out, "From: Parley <%s>\r\n", in->from);
	buf_addf(out, "To: %s\r\n", in->to != NULL ? in->to :
	    "undisclosed-recipients:;");
	notify_subject(out, c.subject);
	buf_addf(out, "Date: %s\r\nMessage-ID: <%s%s>\r\n", date, in->id,
	    domain);
	buf_adds(out, "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n");
	buf_addf(out, "Content-Type: multipart/alternative; "
	    "boundary=\"%s\"\r\n\r\n", boundary);
	buf_init(&text);
	buf_init(&html);
	text_part(&text, &c, link);
	html_part(&html, &c, link);
	part(out, boundary, "text/plain", &text);
	part(out, boundary, "text/html", &html);
	buf_addf(out, "--%s--\r\n", boundary);
	if (text.err || html.err)
		out->err = 1;
	buf_free(&text);
	buf_free(&html);
	return out->err ? -1 : 0;
}
