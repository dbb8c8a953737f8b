/*
 * Knowledge gaps (proto/gapmsg.h): the visitors' questions the assistant
 * could not answer, noted in the transaction that shows it (an answer
 * stored, a thumb given, a person asked for), kept with their
 * conversation:
 *
 *	gaps      id[16] | seq u32 -> gap: the conversation's question
 *	          (its visitor's message seq)
 *	gap_time  org NUL | at u64 | id[16] | seq u32 -> (): the
 *	          organisation's gaps by when they were asked, the list's
 *
 * A gap's question is the visitor's last message before what showed the
 * gap that is not small talk: "thanks" or "can I talk to a person" after
 * a question leaves that question the gap. At most GAP_TALK_BACK small
 * talk messages are looked back past, and at most GAP_WALK_MAX messages
 * read back in all to find it (a turn's answer and tools sit between
 * them). Its terms are made once, here,
 * where the analyzer is (analyze.h, in its widget's language, gap_lang:
 * stemmed for those it has a stemmer for, English without one), as
 * 32-bit FNV-1a hashes.
 *
 * Small talk is no gap: a question none of whose terms is outside
 * small_talk's words (analysed the same way), or that has none ("hi",
 * "thanks!", "can a person help me?", "?"), asked the knowledge base
 * nothing, whatever showed it (a handoff after a greeting, a thumb on
 * "you're welcome").
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "gapstore.h"
#include "log.h"
#include "storeint.h"
#include "widgetstore.h"

#define GAP_KEY_LEN	MSG_KEY_LEN
#define TIME_KEY_MAX	(ST_ORG_ID_MAX + 1 + 8 + MSG_KEY_LEN)
#define GAP_WALK_MAX	64	/* messages read back to the question */
#define GAP_TALK_BACK	4	/* small talk messages looked back past */
#define DONT_KNOW_SCAN	400	/* bytes of an answer read for "I don't know" */
#define SMALL_TALK_MAX	256	/* small_talk's terms, at most */

/*
 * What an answer says when the assistant does not know, lower case (ASCII
 * letters lowered; the others as a model writes them at a sentence's
 * middle), the apostrophe straight: an answer holding one is a gap. In
 * English and the widget's other Latin-script languages, since the model
 * answers in the visitor's.
 */
static const char *const dont_know[] = {
	/* en */
	"i don't know", "i do not know", "i'm not sure", "i am not sure",
	"i don't have information", "i do not have information",
	"i don't have any information", "i do not have any information",
	"i couldn't find", "i could not find", "i can't find",
	"i cannot find", "i'm unable to answer", "i am unable to answer",
	"i'm not able to answer", "i don't have that information",
	/* de */
	"ich weiß es nicht", "ich weiß nicht", "ich bin mir nicht sicher",
	"ich habe keine informationen",
	/* fr */
	"je ne sais pas", "je ne suis pas sûr", "je n'ai pas d'information",
	"je n'ai pas trouvé",
	/* es */
	"no lo sé", "no estoy seguro", "no tengo información",
	"no encontré",
	/* it */
	"non lo so", "non sono sicuro", "non ho informazioni",
	/* nl */
	"ik weet het niet", "ik weet niet", "ik heb geen informatie",
	/* pt */
	"não sei", "não tenho certeza", "não tenho informações",
	/* pl */
	"nie wiem",
	/* tr */
	"bilmiyorum",
};

/*
 * Small talk's words: greetings, thanks, goodbyes, yes and no, and asking
 * for a person, in the widget's languages (a question's language is its
 * widget's, and analysing these in it makes their terms alike). Stopwords
 * ("can", "you", "me") need not be here: the analyzer drops them. No word
 * a question about the business would be made of alone: "can a person
 * look at my invoice?" keeps "look" and "invoice", a gap.
 */
static const char small_talk[] =
	/* en */
	"hi hello hey hiya howdy greetings good morning afternoon evening "
	"thanks thank thx ty cheers great cool nice ok okay fine yes yeah "
	"yep sure please bye goodbye "
	"person human people someone somebody anyone real live agent "
	"operator representative staff talk speak chat connect help need "
	"want "
	/* de */
	"hallo servus moin guten tag abend danke dankeschön vielen bitte "
	"tschüss wiedersehen mensch menschen jemand mitarbeiter sprechen "
	"reden hilfe "
	/* fr */
	"bonjour bonsoir salut merci beaucoup revoir personne humain "
	"conseiller parler aide "
	/* es */
	"hola buenos buenas días tardes noches gracias muchas adiós persona "
	"humano alguien agente hablar ayuda "
	/* it */
	"ciao salve buongiorno buonasera grazie mille arrivederci umano "
	"qualcuno operatore parlare aiuto "
	/* nl */
	"hoi dag goedemorgen dank bedankt doei mens medewerker iemand praten "
	"spreken hulp "
	/* pt */
	"olá oi bom dia obrigado obrigada tchau pessoa alguém atendente "
	"falar ajuda "
	/* pl */
	"cześć dzień dobry dziękuję osoba człowiek konsultant pomoc "
	/* tr */
	"merhaba selam teşekkürler teşekkür ederim sağol görüşürüz kişi insan "
	"temsilci yardım";

static size_t
time_key(uint8_t k[TIME_KEY_MAX], const char *org, uint64_t at,
    const uint8_t gkey[GAP_KEY_LEN])
{
	size_t olen = strlen(org);

	memcpy(k, org, olen + 1);
	proto_put_be64(k + olen + 1, at);
	if (gkey != NULL)
		memcpy(k + olen + 9, gkey, GAP_KEY_LEN);
	return olen + 9 + (gkey != NULL ? GAP_KEY_LEN : 0);
}

#define NDONT_KNOW	(sizeof(dont_know) / sizeof(dont_know[0]))
_Static_assert(NDONT_KNOW <= 64, "dont_know_pairs: a bit a phrase");

/*
 * The phrases by their first two bytes: bit k of dont_know_pairs[slot]
 * is dont_know[k], slot pair_slot of its first two (a slot may hold
 * phrases of other pairs too: each is compared whole; 256 slots, so
 * that few pairs of a text land on one of the phrases'). Built once;
 * every phrase is two bytes at least.
 */
static uint64_t dont_know_pairs[256];
/* 1 for a byte some phrase begins with: a place any other is passed. */
static uint8_t dont_know_first[256];
static pthread_once_t dont_know_once = PTHREAD_ONCE_INIT;

static size_t
pair_slot(char a, char b)
{
	return ((size_t)(unsigned char)a * 31 + (unsigned char)b) & 255;
}

static void
dont_know_index(void)
{
	size_t k;

	for (k = 0; k < NDONT_KNOW; k++) {
		dont_know_pairs[pair_slot(dont_know[k][0], dont_know[k][1])] |=
		    UINT64_C(1) << k;
		dont_know_first[(unsigned char)dont_know[k][0]] = 1;
	}
}

/*
 * The 8 bytes of w, all ASCII (no high bit), with 'A' to 'Z' lowered: a
 * byte plus 0x3f has its high bit from 'A' up, plus 0x25 from past 'Z'
 * up (no carry into the next: 0x7f + 0x3f < 0x100), and 0x80 >> 2 is
 * the 0x20 that lowers it.
 */
static uint64_t
lower8(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ULL;
	uint64_t upper = (w + ones * (0x80 - 'A')) &
	    ~(w + ones * (0x80 - 'Z' - 1)) & ones * 0x80;

	return w | upper >> 2;
}

/* Whether s (NUL-ended) begins with phrase. */
static int
begins_with(const char *s, const char *phrase)
{
	size_t n;

	for (n = 0; phrase[n] != '\0' && s[n] == phrase[n]; n++)
		;
	return phrase[n] == '\0';
}

/*
 * 1 when text says the assistant does not know (any case, ’ as '): its
 * first DONT_KNOW_SCAN bytes, where a model says it, lowered once and
 * read once, a phrase compared only where its first two bytes are, not
 * a strstr of the whole for each of the 39 phrases (an answer of 400
 * bytes: 12,300 instructions of strstr, then 6,400 for the read and as
 * many for the lowering, a byte at a time). ASCII is lowered eight
 * bytes a step (lower8), and a place whose byte begins no phrase is
 * passed at one look (dont_know_first): some 4,000 for both.
 */
static int
says_dont_know(const char *text)
{
	char buf[DONT_KNOW_SCAN + 1];
	const unsigned char *u = (const unsigned char *)text;
	/* What the lowering may read: a ’ takes 3 bytes to buf's 1. */
	size_t len = strnlen(text, 3 * DONT_KNOW_SCAN);
	uint64_t m, w;
	size_t i, j;

	for (i = j = 0; i < len && j < DONT_KNOW_SCAN;) {
		if (len - i >= 8 && DONT_KNOW_SCAN - j >= 8) {
			memcpy(&w, u + i, sizeof(w));
			if ((w & 0x8080808080808080ULL) == 0) {
				w = lower8(w);
				memcpy(buf + j, &w, sizeof(w));
				i += 8;
				j += 8;
				continue;
			}
		}
		if (u[i] == 0xe2 && u[i + 1] == 0x80 && u[i + 2] == 0x99) {
			buf[j++] = '\'';
			i += 3;
		} else {
			buf[j++] = (char)(u[i] >= 'A' && u[i] <= 'Z' ?
			    u[i] + 32 : u[i]);
			i++;
		}
	}
	buf[j] = '\0';
	(void)pthread_once(&dont_know_once, dont_know_index);
	/* Two bytes at least each: the last byte begins no phrase. */
	for (i = 0; i + 1 < j; i++) {
		if (!dont_know_first[(unsigned char)buf[i]])
			continue;
		for (m = dont_know_pairs[pair_slot(buf[i], buf[i + 1])];
		    m != 0; m &= m - 1)
			if (begins_with(buf + i,
			    dont_know[__builtin_ctzll(m)]))
				return 1;
	}
	return 0;
}

/* Collects a text's distinct term hashes, at most cap of them. */
struct terms {
	uint32_t h[SMALL_TALK_MAX];
	size_t n, cap;
};

/* 1 when ts holds h. */
static int
terms_have(const struct terms *ts, uint32_t h)
{
	size_t i;

	for (i = 0; i < ts->n; i++)
		if (ts->h[i] == h)
			return 1;
	return 0;
}

static int
term_take(void *arg, const char *term, size_t tlen, uint32_t pos)
{
	struct terms *ts = arg;
	uint32_t h = 2166136261u;
	size_t i;

	(void)pos;
	for (i = 0; i < tlen; i++)
		h = (h ^ (unsigned char)term[i]) * 16777619u;
	if (terms_have(ts, h))
		return 0;
	ts->h[ts->n++] = h;
	return ts->n == ts->cap;
}

/*
 * q's terms into out (8 hex digits each), analysed in lang (the widget's,
 * a BCP 47 tag; "" or one the analyzer lacks: English): how many of them
 * are not small talk's (0: q is small talk), -1 when the analyzer failed
 * (out holding the terms made before, maybe none).
 */
static int
terms_make(const char *q, const char *lang,
    char out[8 * ST_GAP_TERMS_MAX + 1])
{
	struct analyzer *an;
	struct terms ts = { .n = 0, .cap = ST_GAP_TERMS_MAX };
	struct terms talk = { .n = 0, .cap = SMALL_TALK_MAX };
	size_t i;
	int own = 0, failed;

	out[0] = '\0';
	if ((an = analyzer_new(lang)) == NULL)
		return -1;
	/* analyze's -1 is also ts filled up: no failure. */
	failed = analyze(an, q, strlen(q), 0, 4 * ST_GAP_TERMS_MAX,
	    term_take, &ts) < 0 && ts.n < ts.cap;
	if (!failed)
		(void)analyze(an, small_talk, sizeof(small_talk) - 1, 0,
		    SMALL_TALK_MAX, term_take, &talk);
	analyzer_free(an);
	for (i = 0; i < ts.n; i++) {
		snprintf(out + 8 * i, 9, "%08x", ts.h[i]);
		own += !terms_have(&talk, ts.h[i]);
	}
	return failed ? -1 : own;
}

/*
 * The visitor's last message of conversation cid before seq before
 * (UINT32_MAX: the last one) into m and its key: 0, 1 none within the
 * *budget messages left to read (each read taken off it), -1 (t failed).
 */
static int
question_find(struct store_txn *t, const uint8_t cid[ID_LEN],
    uint32_t before, int *budget, struct st_msg *m, uint8_t key[GAP_KEY_LEN])
{
	uint8_t probe[MSG_KEY_LEN];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc, found = 1;

	msg_key(probe, cid, before);
	if ((cur = txn_seek(t, t->st->msgs, probe, sizeof(probe), &k, &v,
	    &rc)) == NULL)
		return -1;
	rc = mdb_cursor_get(cur, &k, &v, rc == MDB_NOTFOUND ? MDB_LAST :
	    MDB_PREV);
	while (rc == 0 && *budget > 0 && k.mv_size == MSG_KEY_LEN &&
	    memcmp(k.mv_data, cid, ID_LEN) == 0) {
		(*budget)--;
		if (msg_rec_decode(t, &v, m) < 0)
			break;
		if (strcmp(m->role, "user") == 0) {
			memcpy(key, k.mv_data, GAP_KEY_LEN);
			found = 0;
			break;
		}
		st_msg_free(m);
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc != 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "find a gap's question");
	return t->err ? -1 : found;
}

/*
 * q kept within ST_GAP_QUESTION_MAX bytes: its first characters, and "…"
 * when it was cut (a character is at most 4 bytes). NULL out of memory.
 */
static char *
question_cut(const char *q)
{
	size_t n = st_utf8_prefix(q, ST_GAP_QUESTION_MAX / 4 - 1);
	char *s;

	if (q[n] == '\0')
		return strdup(q);
	if ((s = malloc(n + sizeof("\xe2\x80\xa6"))) == NULL)
		return NULL;
	memcpy(s, q, n);
	memcpy(s + n, "\xe2\x80\xa6", sizeof("\xe2\x80\xa6"));
	return s;
}

/*
 * The language a gap's terms are made in: its widget's (a widget that
 * speaks the visitor's, or one gone: English), the same for every
 * question of the widget, so one wording is one group whatever the
 * visitor's browser says.
 */
static const char *
gap_lang(struct store_txn *t, const struct st_conv *c)
{
	static char lang[sizeof(((struct st_widget *)0)->language)];
	struct st_widget w;

	lang[0] = '\0';
	if (widget_load(t, c->widget, &w) == 0) {
		strlcpy(lang, w.language, sizeof(lang));
		st_widget_free(&w);
	}
	return lang;
}

/*
 * A new gap of question m (key) in conversation c into g, its terms made
 * in language lang: as terms_make, how many of them are not small talk's.
 */
static int
gap_make(const struct st_conv *c, const uint8_t key[GAP_KEY_LEN],
    const struct st_msg *m, const char *lang, struct st_gap *g)
{
	const char *q = m->content != NULL ? m->content : "";

	proto_hex_encode(key, GAP_KEY_LEN, g->id);
	strlcpy(g->org, c->org[0] != '\0' ? c->org : ST_WHO_ORG_DEFAULT,
	    sizeof(g->org));
	strlcpy(g->conv_id, m->conv_id, sizeof(g->conv_id));
	strlcpy(g->widget, c->widget, sizeof(g->widget));
	strlcpy(g->agent, c->agent_id, sizeof(g->agent));
	g->at = m->created_at;
	g->question = question_cut(q);
	return terms_make(g->question != NULL ? g->question : "", lang,
	    g->terms);
}

/*
 * The gap of conversation c (cid) before message seq before (UINT32_MAX:
 * its last): that of the visitor's last message, or, when that is small
 * talk, of the one before it that is not, past at most GAP_TALK_BACK
 * small talk messages (GAP_WALK_MAX messages read in all). Into key and
 * g: 0 the gap stored under key; 1 a new one made, not saved (g to free
 * either way); 2 none (no visitor message, or small talk all the way
 * back); -1 t failed.
 */
static int
question_gap(struct store_txn *t, const uint8_t cid[ID_LEN],
    const struct st_conv *c, uint32_t before, uint8_t key[GAP_KEY_LEN],
    struct st_gap *g)
{
	const char *lang = NULL;
	struct st_msg m;
	int budget = GAP_WALK_MAX, talk, rc, own = -1;

	for (talk = 0; talk <= GAP_TALK_BACK; talk++) {
		memset(&m, 0, sizeof(m));
		if ((rc = question_find(t, cid, before, &budget, &m, key)) != 0)
			return rc < 0 ? -1 : 2;
		if ((rc = rec_load(t, t->st->gaps, key, GAP_KEY_LEN,
		    &st_gap_layout, g, "gap")) == 1) {
			if (lang == NULL)
				lang = gap_lang(t, c);
			own = gap_make(c, key, &m, lang, g);
		}
		st_msg_free(&m);
		if (rc == 1 && g->question == NULL)
			store_fail(t, PROTO_E_INTERNAL, "out of memory");
		/* A new one unless small talk (own 0): look further back. */
		if (rc <= 0 || t->err || own != 0)
			break;
		rl_free(&st_gap_layout, g);
		before = msg_key_seq(key);
	}
	if (t->err || rc < 0) {
		rl_free(&st_gap_layout, g);
		return -1;
	}
	return talk > GAP_TALK_BACK ? 2 : rc;
}

/* g saved under gkey, with its time index entry. */
static void
gap_save(struct store_txn *t, const uint8_t gkey[GAP_KEY_LEN],
    const struct st_gap *g)
{
	uint8_t tk[TIME_KEY_MAX];

	rec_put_rows(t, t->st->gaps, gkey, GAP_KEY_LEN, &st_gap_layout, g,
	    "put gap");
	db_mark(t, t->st->gap_time, tk, time_key(tk, g->org, g->at, gkey),
	    "put gap time");
}

/* g (under gkey) and its time index entry deleted. */
static void
gap_drop(struct store_txn *t, const uint8_t gkey[GAP_KEY_LEN],
    const struct st_gap *g)
{
	uint8_t tk[TIME_KEY_MAX];

	db_del(t, t->st->gaps, gkey, GAP_KEY_LEN, "delete gap");
	db_del_quiet(t, t->st->gap_time, tk, time_key(tk, g->org, g->at,
	    gkey), "delete gap time");
}

void
gap_mark(struct store_txn *t, const uint8_t cid[ID_LEN],
    const struct st_conv *c, uint32_t before, uint8_t reasons, int on)
{
	uint8_t gkey[GAP_KEY_LEN], was;
	struct st_gap g;
	int rc;

	if (t->err || reasons == 0)
		return;
	/* Taken off, the same question as made: a new gap is none to unmark. */
	if ((rc = question_gap(t, cid, c, before, gkey, &g)) < 0 || rc == 2)
		return;
	was = rc == 1 ? 0 : g.reasons;
	g.reasons = on ? was | reasons : was & (uint8_t)~reasons;
	if (g.reasons == was)
		;	/* nothing changes */
	else if (g.reasons == 0)
		gap_drop(t, gkey, &g);
	else
		gap_save(t, gkey, &g);
	rl_free(&st_gap_layout, &g);
}

void
gap_answered(struct store_txn *t, const uint8_t cid[ID_LEN],
    const struct st_conv *c, const struct st_msg *m, uint32_t seq)
{
	uint8_t reasons = 0;

	if (m->knowledge == ST_MSG_KB_NOT_FOUND)
		reasons |= ST_GAP_NOT_FOUND;
	if (m->content != NULL && says_dont_know(m->content))
		reasons |= ST_GAP_DONT_KNOW;
	gap_mark(t, cid, c, seq, reasons, 1);
}

/* ------------------------------------------------------------- requests */

/* The gap under the time index's key k (org's) into g: 0, 1 gone, -1. */
static int
gap_at(struct store_txn *t, const MDB_val *k, size_t plen, struct st_gap *g)
{
	if (k->mv_size != plen + 8 + GAP_KEY_LEN) {
		rec_corrupt(t, "gap time key");
		return -1;
	}
	return rec_load(t, t->st->gaps, (const uint8_t *)k->mv_data + plen +
	    8, GAP_KEY_LEN, &st_gap_layout, g, "gap");
}

/*
 * 1 when g is one q keeps (widget, q's as store_widget_filter_id reads
 * it; its agent: "default" is "").
 */
static int
gap_kept(const struct st_gap_list_req *q, const char *widget,
    const struct st_gap *g)
{
	const char *agent = strcmp(q->agent, ST_REPORT_DEFAULT_AGENT) == 0 ?
	    "" : q->agent;

	return (widget[0] == '\0' || strcmp(widget, g->widget) == 0) &&
	    (q->agent[0] == '\0' || strcmp(agent, g->agent) == 0);
}

int
store_gap_list(struct store_txn *t, const struct st_gap_list_req *q,
    struct st_gap_list_rep *out)
{
	const char *org = t->org != NULL ? t->org : ST_WHO_ORG_DEFAULT;
	uint8_t probe[TIME_KEY_MAX];
	char widget[ST_WIDGET_MAX + 1];
	size_t plen = strlen(org) + 1;
	uint32_t scan;
	struct st_gap g;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	memset(out, 0, sizeof(*out));
	if (t->err || store_widget_filter_id(t, q->widget, widget) < 0)
		return t->err;
	if (q->from >= q->to)
		return store_fail(t, PROTO_E_INVALID, "from must be before to");
	if (q->limit < 1 || q->limit > ST_GAP_LIST_MAX)
		return store_fail(t, PROTO_E_INVALID, "limit: 1 to 500");
	if ((out->gaps = calloc(q->limit, sizeof(*out->gaps))) == NULL)
		return store_fail(t, PROTO_E_INTERNAL, "out of memory");
	/* A filter's walk is bounded: the rest of the range is "more". */
	scan = q->limit * ST_GAP_SCAN_PER;
	/* From the newest key before to, back. */
	if ((cur = txn_seek(t, t->st->gap_time, probe, time_key(probe, org,
	    q->to, NULL), &k, &v, &rc)) == NULL)
		return t->err;
	rc = mdb_cursor_get(cur, &k, &v, rc == MDB_NOTFOUND ? MDB_LAST :
	    MDB_PREV);
	while (rc == 0 && k.mv_size > plen + 8 &&
	    memcmp(k.mv_data, probe, plen) == 0 &&
	    proto_get_be64((const uint8_t *)k.mv_data + plen) >= q->from) {
		if (scan-- == 0) {
			out->more = 1;
			break;
		}
		if ((rc = gap_at(t, &k, plen, &g)) < 0)
			break;
		if (rc == 0 && gap_kept(q, widget, &g)) {
			if (out->n == q->limit) {
				rl_free(&st_gap_layout, &g);
				out->more = 1;
				break;
			}
			out->gaps[out->n++] = g;
		} else
			rl_free(&st_gap_layout, &g);
		rc = mdb_cursor_get(cur, &k, &v, MDB_PREV);
	}
	mdb_cursor_close(cur);
	if (!t->err && rc > 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "list gaps");
	return t->err;
}

int
store_gap_delete(struct store_txn *t, const struct st_gap_delete_req *q,
    struct st_u64 *out)
{
	const char *org = t->org != NULL ? t->org : ST_WHO_ORG_DEFAULT;
	uint8_t gkey[GAP_KEY_LEN];
	struct st_gap g;
	uint32_t i;

	out->v = 0;
	for (i = 0; i < q->n && !t->err; i++) {
		if (strlen(q->ids[i].s) != ST_GAP_ID_HEX ||
		    proto_hex_decode(q->ids[i].s, gkey, sizeof(gkey)) < 0)
			continue;
		if (rec_load(t, t->st->gaps, gkey, GAP_KEY_LEN,
		    &st_gap_layout, &g, "gap") == 0 &&
		    strcmp(g.org, org) == 0) {
			gap_drop(t, gkey, &g);
			out->v++;
		}
		rl_free(&st_gap_layout, &g);
	}
	return t->err;
}

/* ------------------------------------------------------------- module */

/* A conversation deleted: its gaps go with it. */
static void
gap_conv_deleted(struct store_txn *t, const struct st_conv *c,
    const uint8_t id[ID_LEN])
{
	uint8_t gkey[GAP_KEY_LEN];
	struct st_gap g;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	(void)c;
	for (;;) {
		if ((cur = txn_seek(t, t->st->gaps, id, ID_LEN, &k, &v,
		    &rc)) == NULL)
			return;
		if (rc == 0 && (k.mv_size != GAP_KEY_LEN ||
		    memcmp(k.mv_data, id, ID_LEN) != 0))
			rc = MDB_NOTFOUND;
		if (rc == 0) {
			memcpy(gkey, k.mv_data, GAP_KEY_LEN);
			rc = rec_dec_rows(t, &v, &st_gap_layout, &g, "gap");
		}
		mdb_cursor_close(cur);
		if (rc != 0)
			break;
		gap_drop(t, gkey, &g);
		rl_free(&st_gap_layout, &g);
	}
	if (!t->err && rc > 0 && rc != MDB_NOTFOUND)
		txn_lmdb(t, rc, "delete a conversation's gaps");
}

const struct store_module gap_module = {
	.name = "gaps",
	.conv_deleted = gap_conv_deleted,
};
