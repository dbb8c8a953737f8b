/*
 * The knowledge base's records (see kbmsg.h): their layouts, names and
 * checks, shared by both sides of the socket.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/sha.h>

#include "agentmsg.h"
#include "kbmsg.h"
#include "sha256.h"
#include "util.h"
#include "widgetmsg.h"

#define KBCHUNK_ROW(...)	RF_ROW(struct st_kbchunk, __VA_ARGS__)

RL_LAYOUT(st_kbchunk_layout, "kbchunk", struct st_kbchunk,
    ST_KBCHUNK_ROWS(KBCHUNK_ROW), NULL);

void
st_kb_hit_clear(struct st_kb_hit *h)
{
	free(h->url);
	free(h->title);
	free(h->headings);
	free(h->text);
	memset(h, 0, sizeof(*h));
}

/* ------------------------------------------------------------ sources */

#define KBSOURCE_ROW(...)	RF_ROW(struct st_kbsource, __VA_ARGS__)

RL_LAYOUT(st_kbsource_layout, "kbsource", struct st_kbsource,
    ST_KBSOURCE_ROWS(KBSOURCE_ROW), NULL);

static const char *const type_names[] = { "crawl", "file", "qa" };
static const char *const status_names[] = { "syncing", "ready", "failed" };

RL_ENUM_FUNCS(source_type, type_names, ST_KB_TYPE_MAX + 1)

RL_ENUM_FUNCS(sync_status, status_names, ST_KB_STATUS_MAX + 1)

int
st_kbsource_id_valid(const char *s)
{
	return st_prefixed_id_valid(s, ST_KB_SOURCE_PREFIX);
}

/* Whether URL u (http:// or https://) holds "user[:password]@". */
static int
url_userinfo(const char *u)
{
	const char *p = strstr(u, "://");

	p = p != NULL ? p + 3 : u;
	return memchr(p, '@', strcspn(p, "/?#")) != NULL;
}

/* Strings NULL in a struct read as "". */
#define S(p)	((p) != NULL ? (p) : "")

static int
blank(const char *s)
{
	for (; *s != '\0'; s++)
		if (!isspace((unsigned char)*s))
			return 0;
	return 1;
}

const char *
st_kbsource_invalid(const struct st_kbsource *s)
{
	const char *why;

	if ((why = rl_invalid(&st_kbsource_layout, s)) != NULL)
		return why;
	if (!st_widget_lang_valid(s->lang))
		return "language: must be \"\" or one of en es pt fr de it nl "
		    "pl tr ar ja zh";
	switch (s->source_type) {
	case ST_KB_CRAWL:
		if (!st_web_url_valid(S(s->url)))
			return "url: must be an http:// or https:// URL of at "
			    "most 2048 bytes";
		/* It is logged, listed and shown: no password in it. */
		if (url_userinfo(S(s->url)))
			return "url: must not hold a user name or password";
		break;
	case ST_KB_FILE:
		if (blank(S(s->url)))
			return "url: the file's name is required";
		break;
	case ST_KB_QA:
		if (blank(S(s->question)))
			return "question: required for a qa source";
		if (blank(S(s->answer)))
			return "answer: required for a qa source";
		break;
	}
	return NULL;
}

/* --------------------------------------------------------------- pages */

#define KBPAGE_ROW(...)	RF_ROW(struct st_kbpage, __VA_ARGS__)

RL_LAYOUT(st_kbpage_layout, "kbpage", struct st_kbpage,
    ST_KBPAGE_ROWS(KBPAGE_ROW), NULL);

/* ---------------------------------------------------------------- files */

int
st_kb_file_type_ok(const char *t)
{
	static const char *const types[] = { "text/html", "text/markdown",
	    "text/plain", "application/pdf" };
	size_t i, n;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = strlen(types[i]);
		if (strncasecmp(t, types[i], n) == 0 &&
		    (t[n] == '\0' || t[n] == ';' || t[n] == ' '))
			return 1;
	}
	return 0;
}

/* -------------------------------------------------------- vector spaces */

void
st_kb_space_id(const char *base_url, const char *model,
    char out[ST_KB_SPACE_HEX + 1])
{
	unsigned char h[SHA256_DIGEST_LENGTH];
	char *s = NULL;
	int n;

	if ((n = asprintf(&s, "%s\n%s", base_url, model)) < 0) {
		/* Out of memory: an id no space has, so nothing is mixed. */
		memset(out, 'x', ST_KB_SPACE_HEX);
		out[ST_KB_SPACE_HEX] = '\0';
		return;
	}
	proto_sha256(s, (size_t)n, h);
	free(s);
	proto_hex_encode(h, ST_KB_SPACE_HEX / 2, out);
}

int
st_agent_space(const struct st_agent *a, char out[ST_KB_SPACE_HEX + 1])
{
	out[0] = '\0';
	if (a->embedding_model == NULL || a->embedding_model[0] == '\0')
		return 0;
	st_kb_space_id(a->base_url != NULL ? a->base_url : "",
	    a->embedding_model, out);
	return 1;
}

int
st_kb_spaces_have(const char *spaces, const char *id)
{
	size_t n = strlen(id);
	const char *p, *nl;

	for (p = spaces; p != NULL && (nl = strchr(p, '\n')) != NULL;
	    p = nl + 1)
		if ((size_t)(nl - p) == n && strncmp(p, id, n) == 0)
			return 1;
	return 0;
}
