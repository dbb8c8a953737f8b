/*
 * Encodings of storaged's records, shared by storaged and its clients:
 * the conversation's and the message's rows (record.h), a visitor, who
 * asks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agentmsg.h"
#include "msgcodec.h"
#include "orgmsg.h"
#include "storemsg.h"

#define CONV_ROW(...)	RF_ROW(struct st_conv, __VA_ARGS__)
#define MSG_ROW(...)	RF_ROW(struct st_msg, __VA_ARGS__)

/*
 * What a conversation's and a message's readers refused before they had
 * rows, and still do (rl_invalid would refuse more: a stored string that
 * is not UTF-8 among them).
 */
static int
conv_refused(const void *rec)
{
	const struct st_conv *c = rec;

	return c->unread > 1 || c->rating > ST_RATING_MAX ||
	    c->conv_state > ST_CONV_STATE_MAX ||
	    c->resolved_by > ST_RESOLVED_BY_MAX || c->handed_off > 1 ||
	    c->reported > 1 || c->waiting_by > ST_WAITING_BY_MAX;
}

static int
msg_refused(const void *rec)
{
	const struct st_msg *m = rec;

	return m->feedback > ST_FEEDBACK_MAX || m->knowledge > ST_MSG_KB_MAX ||
	    m->tool_origin > ST_TOOL_ORIGIN_MAX;
}

RL_LAYOUT(st_conv_layout, "conversation", struct st_conv,
    ST_CONV_ROWS(CONV_ROW), conv_refused);

RL_LAYOUT(st_msg_layout, "message", struct st_msg,
    ST_MSG_ROWS(MSG_ROW), msg_refused);

_Static_assert(ST_FEEDBACK_MAX == ST_FEEDBACK_DOWN, "the last thumb");

int
st_client_id_valid(const char *s)
{
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-");

	return n >= 1 && n <= ST_CLIENT_ID_MAX && s[n] == '\0';
}

void
st_msgs_free(struct st_msg *m, uint32_t n)
{
	rl_free_all(&st_msg_layout, m, n);
}

void
st_convs_free(struct st_conv *c, uint32_t n)
{
	rl_free_all(&st_conv_layout, c, n);
}

static const char *const conv_states[] = { "open", "snoozed", "resolved" };
static const char *const resolvers[] = { "none", "assistant", "person" };
static const char *const waiters[] = { "none", "visitor", "assistant",
    "person" };

RL_ENUM_FUNCS(conv_state, conv_states, ST_CONV_STATE_MAX + 1)

RL_ENUM_FUNCS(resolved_by, resolvers, ST_RESOLVED_BY_MAX + 1)

RL_ENUM_FUNCS(waiting_by, waiters, ST_WAITING_BY_MAX + 1)

static const char *const tool_origins[] = { "action", "page" };

RL_ENUM_FUNCS(tool_origin, tool_origins, ST_TOOL_ORIGIN_MAX + 1)

int
st_waiting_asked(int by)
{
	return by == ST_WAITING_VISITOR || by == ST_WAITING_ASSISTANT;
}

const char *
st_feedback_name(uint8_t v)
{
	return v == ST_FEEDBACK_UP ? "up" : v == ST_FEEDBACK_DOWN ? "down" :
	    NULL;
}

const char *
st_msg_knowledge_name(uint8_t v)
{
	static const char *const names[] = { "none", "found", "not_found" };

	return v <= ST_MSG_KB_MAX ? names[v] : NULL;
}

int
st_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < ST_ID_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[ST_ID_HEX] == '\0';
}

int
st_prefixed_id_valid(const char *s, const char *prefix)
{
	size_t p = strlen(prefix);

	return strncmp(s, prefix, p) == 0 && st_id_valid(s + p);
}

int
st_web_url_valid(const char *u)
{
	const char *p;

	if (strncasecmp(u, "https://", 8) == 0)
		p = u + 8;
	else if (strncasecmp(u, "http://", 7) == 0)
		p = u + 7;
	else
		return 0;
	if (*p == '\0' || *p == '/')
		return 0;
	for (; *u != '\0'; u++)
		if ((unsigned char)*u <= 0x20 || (unsigned char)*u >= 0x7f)
			return 0;
	return 1;
}

/*
 * A run of ASCII is taken eight bytes a step (proto_ascii_len), within
 * the string's length: a message's preview, its first 500 characters,
 * was walked a byte at a time each time one was stored.
 */
size_t
st_utf8_prefix(const char *s, size_t max_chars)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), i = 0, chars = 0, k;

	while (i < len && chars < max_chars) {
		if (u[i] < 0x80) {
			k = proto_ascii_len(u + i, len - i);
			if (k > max_chars - chars)
				k = max_chars - chars;
			i += k;
			chars += k;
		} else {
			i++;
			chars++;
		}
		/* Skip continuation bytes so a character is never cut. */
		while ((u[i] & 0xc0) == 0x80)
			i++;
	}
	return i;
}

/* ------------------------------------------------------------ visitors */

/* The members of struct st_visitor in wire order, with their bounds. */
#define VISITOR_FIELDS(V)						\
	{ &(V)->page_url, ST_VISITOR_URL_MAX },				\
	{ &(V)->referrer, ST_VISITOR_URL_MAX },				\
	{ &(V)->user_agent, ST_VISITOR_UA_MAX },			\
	{ &(V)->language, ST_VISITOR_LANG_MAX },			\
	{ &(V)->time_zone, ST_VISITOR_TZ_MAX }
struct vfield {
	char **p;
	size_t max;
};
#define NVFIELDS	5

void
st_visitor_free(struct st_visitor *v)
{
	struct vfield f[NVFIELDS] = { VISITOR_FIELDS(v) };
	size_t i;

	if (v->block != NULL)
		free(v->block);
	else
		for (i = 0; i < NVFIELDS; i++)
			free(*f[i].p);
	memset(v, 0, sizeof(*v));
}

/*
 * The five strings s (n[i] bytes each, no NUL) copied into one new
 * allocation, v->block, each member pointing to its own, NUL-terminated:
 * a conversation's read was five mallocs and five frees for them, some
 * 1.7 reads a turn. -1 out of memory (v as it was).
 */
static int
visitor_fill(struct st_visitor *v, const char *const s[NVFIELDS],
    const size_t n[NVFIELDS])
{
	struct vfield f[NVFIELDS] = { VISITOR_FIELDS(v) };
	size_t i, sz = 0;
	char *at;

	for (i = 0; i < NVFIELDS; i++)
		sz += n[i] + 1;
	if ((at = malloc(sz)) == NULL)
		return -1;
	v->block = at;
	for (i = 0; i < NVFIELDS; i++) {
		memcpy(at, s[i], n[i]);
		at[n[i]] = '\0';
		*f[i].p = at;
		at += n[i] + 1;
	}
	return 0;
}

void
penc_visitor(struct penc *e, const struct st_visitor *v)
{
	penc_str(e, v->page_url);
	penc_str(e, v->referrer);
	penc_str(e, v->user_agent);
	penc_str(e, v->language);
	penc_str(e, v->time_zone);
}

int
pdec_visitor(struct pdec *d, struct st_visitor *v)
{
	struct vfield f[NVFIELDS] = { VISITOR_FIELDS(v) };
	const char *s[NVFIELDS];
	size_t n[NVFIELDS], i;

	memset(v, 0, sizeof(*v));
	/* Each checked as pdec_strdup checks it, then copied at once. */
	for (i = 0; i < NVFIELDS; i++)
		s[i] = (const char *)pdec_str(d, f[i].max, &n[i]);
	if (d->err || visitor_fill(v, s, n) < 0) {
		d->err = 1;
		return -1;
	}
	return 0;
}

/* The conversation's own kind VISITOR (storemsg.h): rec a struct st_conv. */
static void
visitor_enc(struct penc *e, const void *rec, const struct rfield *f)
{
	penc_visitor(e, &((const struct st_conv *)rec)->visitor);
}

static void
visitor_dec(struct pdec *d, void *rec, const struct rfield *f)
{
	(void)pdec_visitor(d, &((struct st_conv *)rec)->visitor);
}

static void
visitor_free(void *rec, const struct rfield *f)
{
	st_visitor_free(&((struct st_conv *)rec)->visitor);
}

static int
visitor_copy(void *dst, const void *src, const struct rfield *f)
{
	return st_visitor_copy(&((struct st_conv *)dst)->visitor,
	    &((const struct st_conv *)src)->visitor);
}

const struct rcodec st_conv_visitor_codec = {
	"VISITOR", visitor_enc, visitor_dec, visitor_free, visitor_copy,
};

/*
 * The kind ATTS (storemsg.h) of a message and a canned reply: each
 * attachment as pl_msg_att (stmsgs.c) says, so the stored records and
 * the replies that carry attachments share one field order. Its members
 * (RF_DECL_ATTS) are row f's: the count at f->off, the array last.
 */
static uint32_t *
atts_n(const void *rec, const struct rfield *f)
{
	return (uint32_t *)(void *)((char *)(uintptr_t)rec + f->off);
}

static struct st_msg_att **
atts_a(const void *rec, const struct rfield *f)
{
	return (struct st_msg_att **)(void *)((char *)(uintptr_t)rec +
	    f->off + f->size - sizeof(struct st_msg_att *));
}

static void
atts_enc(struct penc *e, const void *rec, const struct rfield *f)
{
	uint32_t n = *atts_n(rec, f), i;
	const struct st_msg_att *a = *atts_a(rec, f);

	penc_u32(e, n);
	for (i = 0; i < n; i++)
		pl_enc(e, &pl_msg_att, &a[i]);
}

static void
atts_dec(struct pdec *d, void *rec, const struct rfield *f)
{
	struct st_msg_att *a;
	uint32_t n, i;

	n = pdec_u32(d);
	if (d->err || n == 0)
		return;
	if (n > ST_MSG_ATTS_MAX || (a = calloc(n, sizeof(*a))) == NULL) {
		d->err = 1;
		return;
	}
	*atts_a(rec, f) = a;
	*atts_n(rec, f) = n;
	for (i = 0; i < n && !d->err; i++)
		if (pl_dec(d, &pl_msg_att, &a[i]) == 0 &&
		    (a[i].type == ATTACH_NONE || a[i].type >= ATTACH_NTYPES ||
		    !st_prefixed_id_valid(a[i].id, "att_")))
			d->err = 1;
}

static void
atts_free(void *rec, const struct rfield *f)
{
	free(*atts_a(rec, f));
	*atts_a(rec, f) = NULL;
	*atts_n(rec, f) = 0;
}

static int
atts_copy(void *dst, const void *src, const struct rfield *f)
{
	uint32_t n = *atts_n(src, f);

	*atts_a(dst, f) = NULL;
	*atts_n(dst, f) = 0;
	if (n == 0)
		return 0;
	if ((*atts_a(dst, f) = calloc(n, sizeof(struct st_msg_att))) == NULL)
		return -1;
	memcpy(*atts_a(dst, f), *atts_a(src, f), n * sizeof(struct st_msg_att));
	*atts_n(dst, f) = n;
	return 0;
}

const struct rcodec st_msg_atts_codec = {
	"ATTS", atts_enc, atts_dec, atts_free, atts_copy,
};

static const char *
vstr(const char *s)
{
	return s != NULL ? s : "";
}

int
st_visitor_same(const struct st_visitor *a, const struct st_visitor *b)
{
	return strcmp(vstr(a->page_url), vstr(b->page_url)) == 0 &&
	    strcmp(vstr(a->referrer), vstr(b->referrer)) == 0 &&
	    strcmp(vstr(a->user_agent), vstr(b->user_agent)) == 0 &&
	    strcmp(vstr(a->language), vstr(b->language)) == 0 &&
	    strcmp(vstr(a->time_zone), vstr(b->time_zone)) == 0;
}

int
st_visitor_copy(struct st_visitor *dst, const struct st_visitor *src)
{
	struct st_visitor n;
	const struct st_visitor *s = src;
	const char *from[NVFIELDS] = { vstr(s->page_url), vstr(s->referrer),
	    vstr(s->user_agent), vstr(s->language), vstr(s->time_zone) };
	size_t len[NVFIELDS], i;

	memset(&n, 0, sizeof(n));
	for (i = 0; i < NVFIELDS; i++)
		len[i] = strlen(from[i]);
	if (visitor_fill(&n, from, len) < 0)
		return -1;
	st_visitor_free(dst);
	*dst = n;
	return 0;
}

/* An http(s) URL of printable ASCII (browsers send them escaped). */
static int
url_ok(const char *s)
{
	size_t i;

	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return 0;
	return 1;
}

/* Printable ASCII, spaces allowed (a user agent). */
static int
text_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < ' ' || *s >= 0x7f)
			return 0;
	return 1;
}

/* Letters, digits and the characters of extra (a language, a zone). */
static int
token_ok(const char *s, const char *extra)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return 0;
	return 1;
}

void
st_visitor_clean(struct st_visitor *v)
{
	struct vfield f[NVFIELDS] = { VISITOR_FIELDS(v) };
	size_t i;
	char *s, *hash;
	int ok;

	for (i = 0; i < NVFIELDS; i++) {
		if ((s = *f[i].p) == NULL)
			continue;
		/* The page without its fragment (a referrer has none). */
		if (i == 0 && (hash = strchr(s, '#')) != NULL)
			*hash = '\0';
		ok = strlen(s) <= f[i].max;
		if (ok && s[0] != '\0')
			ok = i < 2 ? url_ok(s) : i == 2 ? text_ok(s) :
			    i == 3 ? token_ok(s, "-") : token_ok(s, "_+-/");
		if (!ok) {
			if (v->block == NULL)
				free(s);
			*f[i].p = NULL;
		}
	}
}

/*
 * FNV-1a (64 bits) of the session picks a word from each list and a
 * number from 1 to 99: 32 x 32 x 99 names, enough that two visitors
 * of a day's inbox rarely share one; a name, never an identifier.
 */
void
st_visitor_name_gen(const char *session, char *buf, size_t bufsz)
{
	static const char *const adj[32] = {
		"Amber", "Azure", "Brave", "Bright", "Calm", "Clever",
		"Coral", "Crimson", "Dapper", "Eager", "Gentle", "Golden",
		"Happy", "Indigo", "Jolly", "Kind", "Lively", "Lucky",
		"Mellow", "Misty", "Noble", "Olive", "Plucky", "Quiet",
		"Rosy", "Silver", "Sunny", "Swift", "Teal", "Velvet",
		"Witty", "Zesty",
	};
	static const char *const animal[32] = {
		"Badger", "Beaver", "Bison", "Crane", "Dolphin", "Falcon",
		"Ferret", "Finch", "Fox", "Gecko", "Heron", "Ibis",
		"Koala", "Lemur", "Lynx", "Marten", "Moose", "Narwhal",
		"Ocelot", "Otter", "Owl", "Panda", "Puffin", "Quokka",
		"Raven", "Robin", "Seal", "Stork", "Tapir", "Walrus",
		"Wombat", "Yak",
	};
	uint64_t h = proto_fnv1a(PROTO_FNV_START, session, strlen(session));
	/* A word's bytes read at most: 7 the longest now. */
	enum { WORD_MAX = 12 };
	char name[2 * WORD_MAX + 4];
	unsigned int n;
	size_t a, len;

	/*
	 * "%s %s %u" by hand: snprintf was two of a turn's costlier calls,
	 * then four strlcat, each walking buf again byte by byte (libbsd's),
	 * some 500 instructions a name. Made in name, then buf takes what
	 * fits, as the appends left it.
	 */
	n = (unsigned int)((h >> 10) % 99) + 1;
	if ((a = strlen(adj[h & 31])) > WORD_MAX)
		a = WORD_MAX;
	memcpy(name, adj[h & 31], a);
	name[a] = ' ';
	if ((len = strlen(animal[(h >> 5) & 31])) > WORD_MAX)
		len = WORD_MAX;
	memcpy(name + a + 1, animal[(h >> 5) & 31], len);
	len += a + 1;
	name[len++] = ' ';
	if (n >= 10)
		name[len++] = (char)('0' + n / 10);
	name[len++] = (char)('0' + n % 10);
	if (bufsz == 0)
		return;
	if (len > bufsz - 1)
		len = bufsz - 1;
	memcpy(buf, name, len);
	buf[len] = '\0';
}

/* ------------------------------------------------------------ who asks */

void
penc_who(struct penc *e, const struct st_who *w)
{
	penc_u8(e, w->kind);
	penc_str(e, w->id);
	penc_str(e, w->org);
	penc_u8(e, w->role);
	penc_str(e, w->user);
}

int
pdec_who(struct pdec *d, struct st_who *w)
{
	w->kind = pdec_u8(d);
	pdec_strbuf(d, w->id, sizeof(w->id));
	pdec_strbuf(d, w->org, sizeof(w->org));
	w->role = pdec_u8(d);
	pdec_strbuf(d, w->user, sizeof(w->user));
	if (d->err)
		return -1;
	if (w->org[0] == '\0')
		strlcpy(w->org, ST_ORG_DEFAULT, sizeof(w->org));
	if (w->kind > ST_WHO_MAX || w->role > ST_ROLE_OWNER ||
	    !st_org_id_valid(w->org))
		d->err = 1;
	return d->err ? -1 : 0;
}

const char *
st_who_name(const struct st_who *w, char *buf, size_t bufsz)
{
	static const char *const kinds[] = { "public", "key", "session",
	    "parleyctl", "orgkey" };

	snprintf(buf, bufsz, "%s:%s@%s", w->kind <= ST_WHO_MAX ?
	    kinds[w->kind] : "?", w->id, w->org);
	return buf;
}

static const char *const role_names[] = { NULL, "agent", "admin", "owner" };

const char *
st_role_name(uint8_t role)
{
	return role <= ST_ROLE_OWNER ? role_names[role] : NULL;
}

uint8_t
st_role_parse(const char *name)
{
	uint8_t r;

	for (r = ST_ROLE_AGENT; r <= ST_ROLE_OWNER; r++)
		if (strcmp(name, role_names[r]) == 0)
			return r;
	return ST_ROLE_NONE;
}
