/*
 * The export rows and the JSON helpers (exportrows.h). The HTTP export
 * and parleyctl both write through here; an integration test compares
 * their output byte for byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "agentmsg.h"
#include "exportrows.h"
#include "sha256.h"

static const char conv_header[] = "id,widgetId,sessionId,contactId,"
    "createdAt,updatedAt,messageCount,lastMessage,handoff,rating,"
    "ratingComment,state,snoozedUntil,resolvedBy,resolvedAt\r\n";
static const char msg_header[] = "id,conversationId,role,status,content,"
    "createdAt,promptTokens,completionTokens,name,feedback,sources,"
    "knowledge,arguments,durationMs,origin\r\n";

static void
adds(struct penc *e, const char *s)
{
	penc_raw(e, s, strlen(s));
}

/* ------------------------------------------------------------ JSON */

void
exprow_session(const char *session, char out[EXPROW_SESSION_LEN + 1])
{
	unsigned char d[SHA256_DIGEST_LENGTH];

	proto_sha256(session, strlen(session), d);
	memcpy(out, "sha256:", 7);
	proto_hex_encode(d, (EXPROW_SESSION_LEN - 7) / 2, out + 7);
}

const char *
exprow_plain(const json_t *v)
{
	const char *s = json_string_value(v);

	return s != NULL && strlen(s) == json_string_length(v) ? s : NULL;
}

json_t *
exprow_text(const char *s)
{
	const unsigned char *p;
	size_t len, n, o = 0;
	char *fixed;
	json_t *v;

	if (s == NULL)
		s = "";
	if ((v = json_string(s)) != NULL)
		return v;
	/* Not UTF-8: keep what is, mark the rest with U+FFFD. */
	len = strlen(s);
	if ((fixed = malloc(len * 3 + 1)) == NULL)
		return NULL;
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		/* A NUL is never a continuation byte: reading stops at it. */
		if ((n = proto_utf8_seq_len(p, 4)) == 0) {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		} else {
			memcpy(fixed + o, p, n);
			o += n;
		}
	}
	v = json_stringn(fixed, o);
	free(fixed);
	return v;
}

void
exprow_oset(json_t *o, const char *k, json_t *v, int *err)
{
	if (v == NULL || json_object_set_new(o, k, v) < 0)
		*err = 1;
}

json_t *
exprow_odone(json_t *o, int err)
{
	if (err) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
exprow_ms(uint64_t ms)
{
	return json_integer((json_int_t)ms);
}

char *
exprow_dumps(json_t *v, int err)
{
	char *s;

	if ((v = exprow_odone(v, err)) == NULL)
		return NULL;
	/* Not JSON_ENSURE_ASCII: UTF-8 as it is; newlines come escaped. */
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	return s;
}

int
exprow_line(struct penc *e, json_t *v, int err)
{
	char *s;

	if ((s = exprow_dumps(v, err)) == NULL)
		return -1;
	adds(e, s);
	adds(e, "\n");
	free(s);
	return e->err ? -1 : 0;
}

/* ------------------------------------------------------------ rows */

/* What a spreadsheet may read as the start of a formula. */
#define CSV_FORMULA	"=+-@\t\r"
/* Where a spreadsheet may start a new cell: its separators, line ends. */
#define CSV_SPLIT	",;\t\r\n"

/*
 * Whether the n bytes at p are a space a spreadsheet may trim before a
 * formula, as it trims " ": U+00A0, U+1680, U+2000 to U+200A, U+2028,
 * U+2029, U+202F, U+205F, U+3000 and the byte order mark.
 */
static int
csv_space(const unsigned char *p, size_t n)
{
	if (n == 2)
		return p[0] == 0xc2 && p[1] == 0xa0;
	if (n != 3)
		return 0;
	if (p[0] == 0xe2 && p[1] == 0x80)
		return p[2] <= 0x8a || p[2] == 0xa8 || p[2] == 0xa9 ||
		    p[2] == 0xaf;
	return (p[0] == 0xe1 && p[1] == 0x9a && p[2] == 0x80) ||
	    (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0x9f) ||
	    (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80) ||
	    (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf);
}

/*
 * One RFC 4180 field, quoted when it holds a separator (, or ;), a quote
 * or a line end. Formula guard: a spreadsheet that splits the text
 * anywhere it may (a comma, a semicolon, a TAB, a line end) must find no
 * cell that starts with = + - @ TAB or CR, so such a byte at the start of
 * the field, or after one of those splits (and any quotes or spaces,
 * csv_space's too, after it), gets a ' before it. Bytes that are not
 * UTF-8 become U+FFFD, as in the JSON answers.
 */
void
exprow_csv_field(struct penc *e, const char *s)
{
	const unsigned char *p;
	size_t n;
	int quote, at_start = 1;

	quote = strpbrk(s, ",;\"\r\n") != NULL;
	if (quote)
		adds(e, "\"");
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		n = 1;
		if (at_start && strchr(CSV_FORMULA, *p) != NULL)
			adds(e, "'");
		if (*p == '"')
			adds(e, "\"\"");
		else if ((n = proto_utf8_seq_len(p, 4)) == 0) {
			penc_raw(e, "\xef\xbf\xbd", 3);
			n = 1;
		} else
			penc_raw(e, p, n);
		at_start = strchr(CSV_SPLIT, *p) != NULL ||
		    (at_start && (*p == '"' || *p == ' ' || csv_space(p, n)));
	}
	if (quote)
		adds(e, "\"");
}

const char *
exprow_header(enum export_format fmt, enum export_rows rows)
{
	if (fmt != EXPORT_CSV)
		return "";	/* JSON Lines names the fields in every row */
	return rows == EXPORT_CONVS ? conv_header : msg_header;
}

/* One column of a row: its JSON key and its value. */
struct col {
	const char *key;
	/* COL_ID: "" is null; COL_OPT: a number, 0 is null ("" in CSV) */
	enum { COL_TEXT, COL_ID, COL_NUM, COL_OPT } kind;
	const char *s;		/* COL_TEXT, COL_ID; NULL is "" */
	uint64_t n;		/* COL_NUM */
};

/* The columns as a JSON line, or as a CSV record (CRLF). */
static int
row(struct penc *e, enum export_format fmt, const struct col *c, size_t n)
{
	char num[24];
	json_t *o, *v;
	size_t i;
	int err = 0;

	if (fmt == EXPORT_JSONL) {
		if ((o = json_object()) == NULL)
			return -1;
		for (i = 0; i < n; i++) {
			if (c[i].kind == COL_NUM ||
			    (c[i].kind == COL_OPT && c[i].n != 0))
				v = json_integer((json_int_t)c[i].n);
			else if (c[i].kind == COL_OPT)
				v = json_null();
			else if (c[i].kind == COL_ID &&
			    (c[i].s == NULL || c[i].s[0] == '\0'))
				v = json_null();
			else
				v = exprow_text(c[i].s);
			exprow_oset(o, c[i].key, v, &err);
		}
		return exprow_line(e, o, err);
	}
	for (i = 0; i < n; i++) {
		if (i > 0)
			adds(e, ",");
		if (c[i].kind == COL_OPT && c[i].n == 0)
			;
		else if (c[i].kind == COL_NUM || c[i].kind == COL_OPT) {
			snprintf(num, sizeof(num), "%llu",
			    (unsigned long long)c[i].n);
			adds(e, num);
		} else
			exprow_csv_field(e, c[i].s != NULL ? c[i].s : "");
	}
	adds(e, "\r\n");
	return e->err ? -1 : 0;
}

/* The columns are the header's, in its order. */
int
exprow_conv(struct penc *e, enum export_format fmt, const struct st_conv *cv)
{
	char session[EXPROW_SESSION_LEN + 1];
	const struct col c[] = {
		{ "id", COL_TEXT, cv->id, 0 },
		{ "widgetId", COL_TEXT, cv->widget, 0 },
		{ "sessionId", COL_TEXT, session, 0 },
		{ "contactId", COL_ID, cv->contact_id, 0 },
		{ "createdAt", COL_NUM, NULL, cv->created_at },
		{ "updatedAt", COL_NUM, NULL, cv->updated_at },
		{ "messageCount", COL_NUM, NULL, cv->message_count },
		{ "lastMessage", COL_TEXT, cv->last_message, 0 },
		{ "handoff", COL_TEXT, st_handoff_name(cv->handoff), 0 },
		/* The visitor's 1-5 rating and its comment (issue 26). */
		{ "rating", COL_OPT, NULL, cv->rating },
		{ "ratingComment", COL_ID, cv->rating != 0 ?
		    cv->rating_comment : NULL, 0 },
		/* Open, snoozed until, resolved by whom and when. */
		{ "state", COL_TEXT, st_conv_state_name(cv->conv_state), 0 },
		{ "snoozedUntil", COL_OPT, NULL,
		    cv->conv_state == ST_STATE_SNOOZED ? cv->snoozed_until : 0 },
		{ "resolvedBy", COL_ID, cv->conv_state == ST_STATE_RESOLVED &&
		    cv->resolved_by != ST_RESOLVED_NONE ?
		    st_resolved_by_name(cv->resolved_by) : NULL, 0 },
		{ "resolvedAt", COL_OPT, NULL,
		    cv->conv_state == ST_STATE_RESOLVED ? cv->resolved_at : 0 },
	};

	exprow_session(cv->session, session);
	return row(e, fmt, c, sizeof(c) / sizeof(c[0]));
}

json_t *
exprow_list(char *const *s, uint32_t n)
{
	json_t *a = json_array();
	uint32_t i;

	for (i = 0; a != NULL && i < n; i++)
		if (json_array_append_new(a, exprow_text(s[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

int
exprow_msg(struct penc *e, enum export_format fmt, const struct st_msg *m)
{
	char sources[ST_MSG_SOURCES_MAX * (ST_MSG_SOURCE_ID_LEN + 1) + 1];
	uint32_t i;
	int is_answer = strcmp(m->role, "assistant") == 0;
	int is_tool = strcmp(m->role, "tool") == 0;

	/* The sources an answer cites, separated by spaces. */
	sources[0] = '\0';
	for (i = 0; i < m->nsources && i < ST_MSG_SOURCES_MAX; i++)
		snprintf(sources + strlen(sources), sizeof(sources) -
		    strlen(sources), "%s%.*s", i ? " " : "",
		    ST_MSG_SOURCE_ID_LEN, m->sources[i]);
	const struct col c[] = {
		{ "id", COL_TEXT, m->id, 0 },
		{ "conversationId", COL_TEXT, m->conv_id, 0 },
		{ "role", COL_TEXT, m->role, 0 },
		{ "status", COL_TEXT, m->status, 0 },
		{ "content", COL_TEXT, m->content, 0 },
		{ "createdAt", COL_NUM, NULL, m->created_at },
		{ "promptTokens", COL_NUM, NULL, m->prompt_tokens },
		{ "completionTokens", COL_NUM, NULL, m->completion_tokens },
		{ "name", COL_ID, m->name, 0 },	/* a person's; else null */
		/* The visitor's thumb on an answer: "up", "down"; else null. */
		{ "feedback", COL_ID, st_feedback_name(m->feedback), 0 },
		/* An answer's knowledge sources and search; else null. */
		{ "sources", COL_ID, sources, 0 },
		{ "knowledge", COL_ID, is_answer ?
		    st_msg_knowledge_name(m->knowledge) : NULL, 0 },
		/* A tool's: the model's arguments, the call's time. */
		{ "arguments", COL_ID, m->arguments, 0 },
		{ "durationMs", COL_OPT, NULL, m->duration_ms },
		/*
		 * A tool's: whose it was, "action" (the owner's) or "page"
		 * (one the visitor's page registered); last, so that the
		 * columns before it stay where they were.
		 */
		{ "origin", COL_ID, is_tool ?
		    st_tool_origin_name(m->tool_origin) : NULL, 0 },
	};

	return row(e, fmt, c, sizeof(c) / sizeof(c[0]));
}

uint32_t
exprow_pages_next(uint32_t n, uint32_t *from, uint32_t next_conv,
    uint32_t next_from)
{
	if (next_conv >= n)
		return n;
	if (next_conv == 0 && next_from <= *from) {
		*from = 0;
		return 1;
	}
	*from = next_from;
	return next_conv;
}
