/*
 * Arbitrary bytes as a storaged request, through the dispatcher and a real
 * LMDB environment (a temporary directory made once per run).
 *
 * data[0]: low 4 bits pick the type (0x20 + n, or 0x30 + n with bit
 * 0x20, or 0x40 + n (issue 15's) with bits 0x20 and 0x10 both: every
 * request and unknown ones); with those two bits and low bits 0xf,
 * data[1] is the type instead (any: the later messages, the outboxes'
 * and away mode's among them) and the payload starts after it; bit 0x80
 * prefixes the payload
 * with something known so requests reach past their lookup (the id of a
 * known conversation for APPEND and GET, its widget and session for
 * CHAT_BEGIN and SESSION_HISTORY, a known widget's public id for the
 * widget requests and WS_OPEN, that and its session's token hash for
 * WS_BEGIN and CONTACT_SUBMIT, a known contact's id for CONTACT_GET, a
 * known owner session's token hash for the DASH requests (not
 * DASH_ATTEMPT, 0x3c, which takes a rate key), the known
 * conversation's id for CONV_DELETE and MSG_PAGE (MSG_PAGES: it alone,
 * a count of 1 first), HANDOFF_SET, AGENT_MSG
 * and TYPING, a known agent's id for AGENT_UPDATE, _GET and _DELETE, the
 * last webhook, action and API key an input made (follow_made; the
 * store's first webhook, action and key until then) for their requests
 * by id, the first organisation's knowledge source for KB_SOURCE_UPDATE, _GET,
 * _DELETE, KB_SYNC and KB_PAGES, the known canned reply's file for
 * ATT_ADMIN_READ, the second organisation and the known action for
 * ACTION_TOOLS, the
 * known widget and token hash for WS_REQUEST_HUMAN, WS_FEEDBACK and
 * WS_RATING); bit 0x40 runs the request twice in one batch; bit 0x10
 * moves the rate counters' clock a minute on (each input moves it 1 ms).
 * For a type whose payload starts with who asks (the message table's
 * who), the next byte picks who among those storaged's server lets ask
 * it (who_pick: the known user's dashboard session as owner or agent,
 * the install's key, an organisation's key, parleyctl, the public, and
 * the key and an owner's session of a second organisation the harness
 * made). The rest of the
 * input is the payload. The rate table is small, so it fills and evicts.
 * A request that deletes, disables or renames the known widget is
 * followed by putting it back, so later inputs still reach it; one that
 * deletes the known conversation, by making a new one.
 *
 * Every reply must decode exactly as its layout in the message table
 * says (stmsgs.h), carry no secret the admin API never shows, and no
 * widget, agent, webhook or delivery, action, API key, knowledge source,
 * contact, knowledge gap, conversation or attachment of another
 * organisation than who asked, nor any word only the other
 * organisation's records hold (check_marks); what the second
 * organisation asks must leave the first's records as they were
 * (first_unchanged); the first types' replies hold what the store
 * promises (valid ids, bounded lists, results that go together).
 * The store lives across inputs (so its write-ahead log fills and
 * checkpoints, and requests meet what earlier ones stored), and is made
 * anew when its map is half full (store_renew_when_full).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actionmsg.h"
#include "agentmsg.h"
#include "attmsg.h"
#include "ctlmsg.h"
#include "dashmsg.h"
#include "dispatch.h"
#include "gapmsg.h"
#include "hookmsg.h"
#include "inboxmsg.h"
#include "kbmsg.h"
#include "keymsg.h"
#include "log.h"
#include "msgtab.h"
#include "orgmsg.h"
#include "proto.h"
#include "reportmsg.h"
#include "stmsgs.h"
#include "store.h"
#include "storemsg.h"
#include "widgetmsg.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* make test's replay (tests/fuzz/replay.c): its group pass. */
int fuzz_replay_group(const uint8_t *data, size_t size);
void fuzz_replay_fresh(int group);

/* The store's map: 256 MiB, started again at half full. */
#ifndef FUZZ_MAP_MB
#define FUZZ_MAP_MB	256
#endif

static struct store *st;
static struct ratelimit *rl;
static long long mono = 1000;
static char dir[64];
static char known[ST_ID_HEX + 1];
static char known_wid[ST_WID_LEN + 1];
static char known_contact[ST_ID_HEX + 1];
static char known_agent[ST_ID_HEX + 1];
/*
 * The last webhook, action and API key an input made (the first webhook
 * and key: store_make's; "" none yet).
 */
static char known_hook[ST_HOOK_ID_LEN + 1];
static char known_action[ST_ACTION_ID_LEN + 1];
static char known_key[ST_KEY_ID_LEN + 1];
/* The first organisation's knowledge source (a question and answer). */
static char known_source[ST_KB_SOURCE_ID_LEN + 1];
/* A file of the default organisation's canned reply (known_canned_att). */
static char known_att[ST_ATT_ID_LEN + 1];
/* Who asks, for a type whose payload starts with it (who_pick). */
static struct st_who whos[8];
static size_t nwhos;
/*
 * Text that only one organisation's records hold (check_marks): the
 * first's in its known user's, agent's, contact's, canned reply's and
 * API key's names, its widget's, a webhook's address, a knowledge
 * source's question and answer, a visitor's message and an invitation;
 * the second's in records of the same kinds (other_org_make).
 */
#define MARK_FIRST	"zqv7firstorg3mk"
#define MARK_OTHER	"zqv7otherorg3mk"
/* The second organisation's widget (its public id) and its visitor. */
static char other_wid[ST_WID_LEN + 1];
static const uint8_t other_hash[ST_TOKEN_HASH_LEN] = { 0x6b, 0x6b, 0x6b };
static const uint8_t known_hash[ST_TOKEN_HASH_LEN] = {
	0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
	0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
	0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
	0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
};

/*
 * Runs one request as who (NULL: nobody); aborts unless it succeeds. The
 * reply is for r.
 */
static void
must_as(const struct st_who *who, uint16_t type, struct penc *e,
    struct dreply *r)
{
	if (e->err)
		abort();
	dispatch_one_as(st, rl, who, type, e->buf, e->len, r);
	penc_free(e);
	if (r->err != 0) {
		fprintf(stderr, "fuzz_dispatch: the harness's own %s failed: "
		    "%d %s\n", proto_msg_name(type), r->err,
		    r->errmsg ? r->errmsg : "");
		abort();
	}
}

static void
must(uint16_t type, struct penc *e, struct dreply *r)
{
	must_as(NULL, type, e, r);
}

/*
 * Widget wid enabled (as who), reachable from any origin, no cap nor
 * contact needed, with a visitor of token hash h who said text.
 */
static void
widget_visited(const struct st_who *who, const char *wid, const uint8_t *h,
    const char *text)
{
	struct st_widget w;
	struct penc e;
	struct dreply r;

	st_widget_defaults(&w);
	penc_init(&e);
	penc_str(&e, wid);
	penc_u64(&e, ST_WF_ENABLED | ST_WF_ORIGINS | ST_WF_DAILY_CAP |
	    ST_WF_CONTACT_MODE);
	penc_widget(&e, &w);
	must_as(who, PROTO_ST_WIDGET_UPDATE, &e, &r);
	dreply_free(&r);
	penc_init(&e);
	penc_str(&e, wid);
	penc_str(&e, "");
	penc_bytes(&e, h, ST_TOKEN_HASH_LEN);
	penc_bytes(&e, h, ST_TOKEN_HASH_LEN);
	penc_u64(&e, 0);
	penc_u32(&e, 1);
	penc_u32(&e, 0);
	dispatch_one(st, rl, PROTO_ST_WS_OPEN, e.buf, e.len, &r);
	penc_free(&e);
	dreply_free(&r);
	/* Stored by its first message (ST_WS_OPEN stores none). */
	penc_init(&e);
	penc_str(&e, wid);
	penc_bytes(&e, h, ST_TOKEN_HASH_LEN);
	penc_str(&e, text);
	penc_str(&e, "");
	penc_u32(&e, 60000);
	penc_u32(&e, 0);
	penc_u32(&e, 1);
	penc_u64(&e, 0);
	penc_u8(&e, 1);
	dispatch_one(st, rl, PROTO_ST_WS_BEGIN, e.buf, e.len, &r);
	penc_free(&e);
	dreply_free(&r);
}

/* A new widget named name, made as who: its public id in wid. */
static void
widget_make(const struct st_who *who, const char *name, char *wid)
{
	struct st_widget w;
	struct penc e;
	struct dreply r;
	struct pdec d;

	st_widget_defaults(&w);
	if ((w.name = strdup(name)) == NULL)
		abort();
	penc_init(&e);
	penc_widget(&e, &w);
	st_widget_free(&w);
	must_as(who, PROTO_ST_WIDGET_CREATE, &e, &r);
	pdec_init(&d, r.enc.buf, r.enc.len);
	if (pdec_widget(&d, &w) < 0)
		abort();
	strlcpy(wid, w.widget_id, ST_WID_LEN + 1);
	st_widget_free(&w);
	dreply_free(&r);
}

/* The known widget (made when missing), enabled, with its session. */
static void
known_widget(void)
{
	struct penc e;
	struct dreply r;

	penc_init(&e);
	penc_str(&e, known_wid);
	dispatch_one(st, rl, PROTO_ST_WIDGET_GET, e.buf, e.len, &r);
	penc_free(&e);
	if (r.err == PROTO_E_NOT_FOUND)
		widget_make(NULL, MARK_FIRST, known_wid);
	else if (r.err != 0)
		abort();
	dreply_free(&r);
	widget_visited(NULL, known_wid, known_hash, MARK_FIRST);
}

static long long
fake_mono(void)
{
	return mono;
}

/* Closes the store and removes its directory. */
static void
store_remove(void)
{
	static const char *const files[] = { "data.mdb", "lock.mdb", "wal.log" };
	char p[128];
	size_t i;

	store_close(st);
	st = NULL;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void
cleanup(void)
{
	ratelimit_free(rl);
	store_remove();
}

/* The known conversation, of widget and session "fuzz": made when missing. */
static void
known_conv(void)
{
	struct penc e;
	struct dreply r;
	struct pdec d;
	struct st_conv c;

	penc_init(&e);
	penc_str(&e, "fuzz");
	penc_str(&e, "fuzz");
	must(PROTO_ST_CONV_OPEN, &e, &r);
	pdec_init(&d, r.enc.buf, r.enc.len);
	pdec_u8(&d);
	if (pdec_conv(&d, &c) < 0)
		abort();
	strlcpy(known, c.id, sizeof(known));
	st_conv_free(&c);
	dreply_free(&r);
}

/*
 * A webhook, action or API key a request just made: the known one from
 * now on, so that the 0x80 prefix names it (their ids are random).
 */
static void
follow_made(uint16_t type, const struct dreply *r)
{
	union st_any rep;

	if (type != PROTO_ST_HOOK_CREATE && type != PROTO_ST_ACTION_CREATE &&
	    type != PROTO_ST_KEY_CREATE)
		return;
	if (st_rep_decode(type, r->enc.buf, r->enc.len, &rep) < 0)
		abort();
	if (type == PROTO_ST_HOOK_CREATE)
		strlcpy(known_hook, rep.hook.id, sizeof(known_hook));
	else if (type == PROTO_ST_ACTION_CREATE)
		strlcpy(known_action, rep.act.id, sizeof(known_action));
	else
		strlcpy(known_key, rep.key.id, sizeof(known_key));
	st_rep_free(type, &rep);
}

/* A new agent named name, made as who: its id in id. */
static void
agent_make(const struct st_who *who, const char *name, char *id)
{
	struct st_agent a;
	struct penc e;
	struct dreply r;
	struct pdec d;

	st_agent_defaults(&a);
	if ((a.name = strdup(name)) == NULL)
		abort();
	penc_init(&e);
	penc_agent(&e, &a);
	st_agent_free(&a);
	must_as(who, PROTO_ST_AGENT_CREATE, &e, &r);
	pdec_init(&d, r.enc.buf, r.enc.len);
	if (pdec_agent(&d, &a) < 0)
		abort();
	strlcpy(id, a.id, ST_ID_HEX + 1);
	st_agent_free(&a);
	dreply_free(&r);
}

/* The known agent, when missing (deleted, or not made yet). */
static void
known_agent_make(void)
{
	struct penc e;
	struct dreply r;

	penc_init(&e);
	penc_str(&e, known_agent);
	dispatch_one(st, rl, PROTO_ST_AGENT_GET, e.buf, e.len, &r);
	penc_free(&e);
	if (r.err != 0)
		agent_make(NULL, MARK_FIRST, known_agent);
	dreply_free(&r);
}

/*
 * The known user (the first owner, as DASHBOARD_PASSWORD makes it) and
 * who may ask: that user's dashboard session, as owner and as agent (the
 * role is who asks's, as the worker's router checked it), the install's
 * key, an organisation's key, parleyctl, and the public; and the key of
 * a second organisation (made here), so that what one organisation asks
 * meets another's records (check_orgs). Its owner's session, whos[7],
 * comes with its records (other_org_make).
 */
static void
whos_make(void)
{
	struct st_user_boot_req boot = { "fuzz@example.com", MARK_FIRST, { 1 },
	    ST_PW_SALT_LEN, { 2 }, ST_PW_HASH_LEN, { 3 }, ST_USER_FP_LEN };
	struct st_user_auth_req auth = { "fuzz@example.com" };
	struct st_user_auth_rep u;
	struct st_org o;
	struct penc e;
	struct dreply r;
	struct pdec d;

	penc_init(&e);
	st_req_encode(&e, PROTO_ST_USER_BOOT, &boot);
	must(PROTO_ST_USER_BOOT, &e, &r);
	dreply_free(&r);
	penc_init(&e);
	st_req_encode(&e, PROTO_ST_USER_AUTH, &auth);
	must(PROTO_ST_USER_AUTH, &e, &r);
	if (st_rep_decode(PROTO_ST_USER_AUTH, r.enc.buf, r.enc.len, &u) < 0 ||
	    !u.found)
		abort();
	dreply_free(&r);
	memset(whos, 0, sizeof(whos));
	whos[0] = (struct st_who){ ST_WHO_SESSION, "5a5a5a5a5a5a5a5a",
	    ST_WHO_ORG_DEFAULT, ST_ROLE_OWNER, "" };
	whos[1] = whos[0];
	whos[1].role = ST_ROLE_AGENT;
	strlcpy(whos[0].user, u.s.id, sizeof(whos[0].user));
	strlcpy(whos[1].user, u.s.id, sizeof(whos[1].user));
	st_rep_free(PROTO_ST_USER_AUTH, &u);
	whos[2] = (struct st_who){ ST_WHO_KEY, "install", ST_WHO_ORG_DEFAULT,
	    ST_ROLE_OWNER, "" };
	whos[3] = (struct st_who){ ST_WHO_ORGKEY, "key_fuzz",
	    ST_WHO_ORG_DEFAULT, ST_ROLE_ADMIN, "" };
	whos[4] = (struct st_who){ ST_WHO_CTL, "uid 0", ST_WHO_ORG_DEFAULT,
	    ST_ROLE_OWNER, "" };
	whos[5] = (struct st_who){ ST_WHO_PUBLIC, "", "", ST_ROLE_NONE, "" };
	memset(&o, 0, sizeof(o));
	o.name = "Other";
	penc_init(&e);
	penc_org(&e, &o);
	must_as(&whos[2], PROTO_ST_ORG_CREATE, &e, &r);
	pdec_init(&d, r.enc.buf, r.enc.len);
	if (pdec_org(&d, &o) < 0)
		abort();
	whos[6] = (struct st_who){ ST_WHO_ORGKEY, "key_other", "",
	    ST_ROLE_ADMIN, "" };
	strlcpy(whos[6].org, o.id, sizeof(whos[6].org));
	st_org_free(&o);
	dreply_free(&r);
	nwhos = 7;
}

/*
 * Who asks a type whose payload starts with it, picked by byte sel among
 * those storaged's server lets through (server.c, server_who_bad: the
 * public only for WIDGET_GET, the install's key or parleyctl only for
 * PROTO_WHO_INSTALL, parleyctl only for parleyctl's types and the others
 * only for the other processes'); NULL when none may.
 */
static const struct st_who *
who_pick(uint16_t type, uint8_t sel)
{
	const struct proto_msg *m = proto_msg(type);
	const struct st_who *ok[sizeof(whos) / sizeof(whos[0])];
	size_t i, n = 0;
	int ctl, other;

	ctl = proto_may_send(PROTO_PEER_CTL, type, PROTO_PEER_STORAGED);
	other = proto_may_send(PROTO_PEER_WORKERD, type, PROTO_PEER_STORAGED) ||
	    proto_may_send(PROTO_PEER_MASTERD, type, PROTO_PEER_STORAGED) ||
	    proto_may_send(PROTO_PEER_FETCHER, type, PROTO_PEER_STORAGED);
	for (i = 0; i < nwhos; i++) {
		const struct st_who *w = &whos[i];

		if (w->kind == ST_WHO_CTL ? !ctl : !other)
			continue;
		if (w->kind == ST_WHO_PUBLIC && type != PROTO_ST_WIDGET_GET)
			continue;
		if (m->who == PROTO_WHO_INSTALL && w->kind != ST_WHO_KEY &&
		    w->kind != ST_WHO_CTL)
			continue;
		ok[n++] = w;
	}
	return n > 0 ? ok[sel % n] : NULL;
}

/*
 * A one-byte file the known user uploaded for a canned reply of the
 * default organisation, and the reply naming it: a file a person of that
 * organisation may read (ST_ATT_ADMIN_READ), and one of another may not.
 */
static void
known_canned_att(void)
{
	struct st_att_new_req n = { "", { 0 }, 0, 0, "", "fuzz.txt", 1, "",
	    0, 0, 0, "" };
	struct st_att_put_req u;
	struct st_canned_put_req c = { NULL, "fuzz", MARK_FIRST, 1, 1, NULL };
	struct st_str id;
	union st_any rep;
	struct penc e;
	struct dreply r;

	penc_init(&e);
	st_req_encode(&e, PROTO_ST_ATT_ADMIN_NEW, &n);
	must_as(&whos[0], PROTO_ST_ATT_ADMIN_NEW, &e, &r);
	if (st_rep_decode(PROTO_ST_ATT_ADMIN_NEW, r.enc.buf, r.enc.len,
	    &rep) < 0 || rep.an.result != ST_ATT_OK)
		abort();
	strlcpy(known_att, rep.an.id, sizeof(known_att));
	st_rep_free(PROTO_ST_ATT_ADMIN_NEW, &rep);
	dreply_free(&r);
	memset(&u, 0, sizeof(u));
	u.id = known_att;
	u.widget_id = "";
	u.type = ATTACH_TEXT;
	u.scan = ST_ATT_CLEAN;
	memset(u.hash, 0x5a, sizeof(u.hash));
	u.hash_len = ST_ATT_HASH_LEN;
	u.data.p = (const uint8_t *)"x";
	u.data.len = 1;
	penc_init(&e);
	st_req_encode(&e, PROTO_ST_ATT_ADMIN_PUT, &u);
	must_as(&whos[0], PROTO_ST_ATT_ADMIN_PUT, &e, &r);
	dreply_free(&r);
	id.s = known_att;
	c.atts = &id;
	penc_init(&e);
	st_req_encode(&e, PROTO_ST_CANNED_PUT, &c);
	must_as(&whos[0], PROTO_ST_CANNED_PUT, &e, &r);
	dreply_free(&r);
}

/*
 * The contact a visitor of widget wid (token hash h) gave, named name:
 * its id in id.
 */
static void
contact_submit(const char *wid, const uint8_t *h, const char *name, char *id)
{
	struct penc e;
	struct dreply r;
	struct pdec d;

	penc_init(&e);
	penc_str(&e, wid);
	penc_bytes(&e, h, ST_TOKEN_HASH_LEN);
	penc_str(&e, name);
	penc_str(&e, "fuzz@example.com");
	penc_str(&e, "+1 555 000 1234");
	penc_str(&e, "");
	penc_u32(&e, 0);
	penc_u32(&e, 0);
	penc_str(&e, "");	/* origin: none (the widget has no origins) */
	penc_u8(&e, 1);		/* create: a new visitor's */
	must(PROTO_ST_CONTACT_SUBMIT, &e, &r);
	pdec_init(&d, r.enc.buf, r.enc.len);
	if (pdec_u8(&d) != ST_WS_OK)
		abort();
	pdec_strbuf(&d, id, ST_ID_HEX + 1);
	if (d.err)
		abort();
	dreply_free(&r);
}

/* An invitation of email into who's organisation, its token hash all t. */
static void
invite_make(const struct st_who *who, const char *email, uint8_t t)
{
	struct st_user_invite_req q = { email, ST_ROLE_OWNER, { 0 },
	    ST_INVITE_HASH_LEN };
	struct st_user_invite_rep u;
	struct penc e;
	struct dreply r;

	memset(q.token_hash, t, sizeof(q.token_hash));
	penc_init(&e);
	st_req_encode(&e, PROTO_ST_USER_INVITE, &q);
	must_as(who, PROTO_ST_USER_INVITE, &e, &r);
	if (st_rep_decode(PROTO_ST_USER_INVITE, r.enc.buf, r.enc.len,
	    &u) < 0 || u.result != 0)
		abort();
	st_rep_free(PROTO_ST_USER_INVITE, &u);
	dreply_free(&r);
}

/* A record of type's made as who from rec; the known one when follow. */
static void
made_as(const struct st_who *who, uint16_t type, const void *rec, int follow)
{
	struct penc e;
	struct dreply r;

	penc_init(&e);
	st_req_encode(&e, type, rec);
	must_as(who, type, &e, &r);
	if (follow)
		follow_made(type, &r);
	dreply_free(&r);
}

/*
 * A webhook and an API key made as who, holding mark, the key's hash all
 * h; the known ones when follow (follow_made).
 */
static void
hook_and_key_make(const struct st_who *who, const char *mark, uint8_t h,
    int follow)
{
	struct st_webhook w;
	struct st_key_create_req k = { .name = mark, .role = ST_ROLE_AGENT,
	    .hash_len = ST_KEY_HASH_LEN };
	char url[64];

	memset(&w, 0, sizeof(w));
	snprintf(url, sizeof(url), "https://hooks.example/%s", mark);
	w.url = url;
	w.events = ST_HE_ALL;
	w.enabled = 1;
	strlcpy(w.secret, "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
	    sizeof(w.secret));
	made_as(who, PROTO_ST_HOOK_CREATE, &w, follow);
	memset(k.hash, h, sizeof(k.hash));
	made_as(who, PROTO_ST_KEY_CREATE, &k, follow);
}

/*
 * An action made as who, its name and description mark; the known one
 * when follow (follow_made).
 */
static void
action_make(const struct st_who *who, const char *mark, int follow)
{
	struct st_action a;

	memset(&a, 0, sizeof(a));
	strlcpy(a.name, mark, sizeof(a.name));
	a.description = (char *)mark;
	a.parameters = "{\"type\":\"object\"}";
	a.method = ST_METHOD_GET;
	a.url = "https://actions.example/lookup";
	a.body = "";
	a.headers = "";
	a.timeout_ms = 5000;
	a.max_response_bytes = 4096;
	a.enabled = 1;
	made_as(who, PROTO_ST_ACTION_CREATE, &a, follow);
}

/* A question-and-answer knowledge source made as who: its id in id. */
static void
source_make(const struct st_who *who, const char *mark, char *id)
{
	struct st_kbsource in, out;
	struct penc e;
	struct dreply r;

	memset(&in, 0, sizeof(in));
	in.source_type = ST_KB_QA;
	in.question = (char *)mark;
	in.answer = (char *)mark;
	penc_init(&e);
	st_req_encode(&e, PROTO_ST_KB_SOURCE_CREATE, &in);
	must_as(who, PROTO_ST_KB_SOURCE_CREATE, &e, &r);
	if (st_rep_decode(PROTO_ST_KB_SOURCE_CREATE, r.enc.buf, r.enc.len,
	    &out) < 0)
		abort();
	strlcpy(id, out.id, ST_KB_SOURCE_ID_LEN + 1);
	st_rep_free(PROTO_ST_KB_SOURCE_CREATE, &out);
	dreply_free(&r);
}

/*
 * The second organisation's records, each holding MARK_OTHER where the
 * first's hold MARK_FIRST: an owner (invited and accepted: whos[7] is
 * their dashboard session), a pending invitation, a widget with a
 * visitor's message and contact, an agent, a webhook, an API key, an
 * action, a knowledge source and a canned reply. whos[6], its key, is
 * made by whos_make.
 */
static void
other_org_make(void)
{
	struct st_who boss = { ST_WHO_KEY, "install", "", ST_ROLE_OWNER, "" };
	struct st_invite_accept_req a = { { 0 }, ST_INVITE_HASH_LEN,
	    MARK_OTHER, { 1 }, ST_PW_SALT_LEN, { 2 }, ST_PW_HASH_LEN, "" };
	struct st_canned_put_req c = { NULL, "other", MARK_OTHER, 0, 0, NULL };
	struct st_invite_accept_rep u;
	char id[ST_KB_SOURCE_ID_LEN + 1];
	struct penc e;
	struct dreply r;

	strlcpy(boss.org, whos[6].org, sizeof(boss.org));
	invite_make(&boss, MARK_OTHER "@example.com", 0x72);
	memset(a.token_hash, 0x72, sizeof(a.token_hash));
	penc_init(&e);
	st_req_encode(&e, PROTO_ST_INVITE_ACCEPT, &a);
	must(PROTO_ST_INVITE_ACCEPT, &e, &r);
	if (st_rep_decode(PROTO_ST_INVITE_ACCEPT, r.enc.buf, r.enc.len,
	    &u) < 0 || u.result != 0)
		abort();
	whos[7] = (struct st_who){ ST_WHO_SESSION, "6b6b6b6b6b6b6b6b", "",
	    ST_ROLE_OWNER, "" };
	strlcpy(whos[7].org, whos[6].org, sizeof(whos[7].org));
	strlcpy(whos[7].user, u.d.user, sizeof(whos[7].user));
	st_rep_free(PROTO_ST_INVITE_ACCEPT, &u);
	dreply_free(&r);
	nwhos = sizeof(whos) / sizeof(whos[0]);
	invite_make(&boss, "pending." MARK_OTHER "@example.com", 0x73);
	widget_make(&whos[6], MARK_OTHER, other_wid);
	widget_visited(&whos[6], other_wid, other_hash, MARK_OTHER);
	contact_submit(other_wid, other_hash, MARK_OTHER, id);
	agent_make(&whos[6], MARK_OTHER, id);
	hook_and_key_make(&whos[7], MARK_OTHER, 0x75, 0);
	action_make(&whos[7], MARK_OTHER, 0);
	source_make(&whos[7], MARK_OTHER, id);
	penc_init(&e);
	st_req_encode(&e, PROTO_ST_CANNED_PUT, &c);
	must_as(&whos[7], PROTO_ST_CANNED_PUT, &e, &r);
	dreply_free(&r);
}

/*
 * A new store in a new temporary directory, with the known widget,
 * conversation, agent, contact, canned reply's file, invitation, webhook,
 * API key, action and knowledge source in it, and the second
 * organisation's records (other_org_make).
 */
static void
store_make(void)
{
	strlcpy(dir, "/tmp/parley-fuzz-XXXXXX", sizeof(dir));
	if (mkdtemp(dir) == NULL ||
	    (st = store_open(dir, FUZZ_MAP_MB, STORE_F_NOSYNC)) == NULL)
		abort();
	known_wid[0] = known[0] = known_agent[0] = '\0';
	known_hook[0] = known_action[0] = known_key[0] = '\0';
	known_conv();
	known_widget();
	known_agent_make();
	whos_make();
	known_canned_att();
	contact_submit(known_wid, known_hash, MARK_FIRST, known_contact);
	invite_make(&whos[0], MARK_FIRST "@example.com", 0x71);
	/* The known ones until an input makes another (follow_made). */
	hook_and_key_make(&whos[0], MARK_FIRST, 0x74, 1);
	action_make(&whos[0], MARK_FIRST, 1);
	source_make(&whos[0], MARK_FIRST, known_source);
	other_org_make();
}

/*
 * Half the map used (checked every 64 inputs): the store starts again.
 * The inputs mostly add (a long run filled the map after some 3 million),
 * and a full map, though answered as it should be ("storage error"),
 * would fail the harness's own requests. The stats are LMDB's last
 * commit, a checkpoint's; the transaction open since then takes map pages
 * they do not show, which storaged bounds by checkpointing sooner as the
 * map's room shrinks (store.c, wal_due_set: before it, runs whose log
 * filled slowly hit the map's end at about 5 million inputs with the last
 * commit at 24 KiB).
 */
static void
store_renew_when_full(void)
{
	static unsigned long inputs;
	struct store_txn t;
	struct st_stats s;
	int full;

	if (++inputs % 64 != 0)
		return;
	store_begin(st, &t, 1);
	full = store_stats(&t, &s) == 0 && s.map_size > 0 &&
	    (s.last_pgno + 1) * 4096 > s.map_size / 2;
	(void)store_commit(&t);
	if (!full)
		return;
	fprintf(stderr, "fuzz_dispatch: the store's map is half full after "
	    "%lu inputs: a new store\n", inputs);
	store_remove();
	store_make();
}

/* The rate table, on the harness's clock. */
static void
rates_make(void)
{
	/* Past the first bucket array (64), so it grows, then fills. */
	if ((rl = ratelimit_new(200)) == NULL)
		abort();
	ratelimit_set_clock(rl, fake_mono);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_init("fuzz_dispatch");
	/* FUZZ_DISPATCH_LOG=1: storaged's warnings, to see why a run stopped. */
	log_set_level(getenv("FUZZ_DISPATCH_LOG") ? LOG_LEVEL_WARN :
	    LOG_LEVEL_FATAL);
	rates_make();
	store_make();
	atexit(cleanup);
	return 0;
}

/*
 * The replies' checks. Each reply is decoded by its layout in the message
 * table (st_rep_decode: the field order is written there only), then its
 * struct is checked for what the store promises about it.
 */

/* A conversation as stored: its ids, its times, its handoff state. */
static void
check_conv(const struct st_conv *c)
{
	if (!st_id_valid(c->id) || c->widget[0] == '\0' ||
	    c->session[0] == '\0' || c->updated_at < c->created_at ||
	    c->handoff > ST_HANDOFF_MAX)
		abort();
}

static void
check_convs(const struct st_conv *c, uint32_t n, uint32_t max)
{
	uint32_t i;

	if (n > max)
		abort();
	for (i = 0; i < n; i++)
		check_conv(&c[i]);
}

/* Messages as stored; a history never holds failed turns. */
static void
check_msgs(const struct st_msg *m, uint32_t n, uint32_t max, int history)
{
	uint32_t i;

	if (n > max)
		abort();
	for (i = 0; i < n; i++)
		if (!st_id_valid(m[i].id) || !st_id_valid(m[i].conv_id) ||
		    (history && strcmp(m[i].status, "failed") == 0))
			abort();
}

/* Counted (no retry), or limited (most: its highest kind) with a retry. */
static void
check_verdict(const struct st_rate_verdict *v, uint8_t most)
{
	if (v->limited > most || (v->limited && (v->retry_ms < 1 ||
	    v->retry_ms > UINT32_MAX)) || (!v->limited && v->retry_ms != 0))
		abort();
}

/*
 * What a begin (ST_CHAT_BEGIN, ST_WS_BEGIN) answers with a turn to go
 * on: its agent, the conversation's id, and the history the model gets:
 * none when a person answers, else ending with the visitor's message.
 */
static void
check_begin_ok(const struct st_begin_ok *ok, int human)
{
	/* Its agent: valid, or the default one (id ""). */
	if ((ok->agent.id[0] != '\0' && st_agent_invalid(&ok->agent) != NULL) ||
	    ok->created > 1 || !st_id_valid(ok->conv_id))
		abort();
	if (human) {
		if (ok->nhistory != 0)
			abort();
		return;
	}
	if (ok->nhistory < 1 || ok->nhistory > ST_HISTORY_MAX ||
	    strcmp(ok->history[ok->nhistory - 1].role, "user") != 0)
		abort();
}

/* ST_CHAT_*: only OK and HUMAN go on; a refusal stored nothing. */
static void
check_chat(const struct st_begin_rep *rep)
{
	switch (rep->result) {
	case ST_CHAT_OK:
	case ST_CHAT_HUMAN:
		if (rep->retry_ms != 0)
			abort();
		check_begin_ok(&rep->ok, rep->result == ST_CHAT_HUMAN);
		break;
	case ST_CHAT_LIMITED:
	case ST_CHAT_BUSY:
		if (rep->retry_ms < 1 || rep->retry_ms > UINT32_MAX)
			abort();
		break;
	case ST_CHAT_DISABLED:
	case ST_CHAT_IDENTITY:
	case ST_CHAT_TURN_OPEN:
		if (rep->retry_ms != 0)
			abort();
		break;
	case ST_CHAT_CAPPED:
		if (rep->retry_ms < 1 || rep->retry_ms > 86400000u)
			abort();
		break;
	default:
		abort();
	}
}

static void
check_ws_begin(const struct st_begin_rep *rep, const struct dreply *r)
{
	uint8_t res = rep->result;

	if ((res > ST_WS_HUMAN && res != ST_WS_IDENTITY &&
	    res != ST_WS_TURN_OPEN) ||
	    res == ST_WS_ORIGIN || res == ST_WS_TOO_MANY)
		abort();
	if ((res == ST_WS_LIMITED || res == ST_WS_CAPPED ||
	    res == ST_WS_BUSY) ? rep->retry_ms < 1 : rep->retry_ms != 0)
		abort();
	/* Only an OK turn wrote: only it may be answered early. */
	if (r->wrote != (res == ST_WS_OK || res == ST_WS_HUMAN))
		abort();
	if (r->late != (res == ST_WS_HUMAN))
		abort();
	if (res == ST_WS_OK || res == ST_WS_HUMAN)
		check_begin_ok(&rep->ok, res == ST_WS_HUMAN);
}

/* A widget as stored: what was stored was checked. */
static void
check_widget(const struct st_widget *w)
{
	if (st_widget_invalid(w) != NULL || w->id[0] == '\0' ||
	    strncmp(w->widget_id, ST_WID_PREFIX, 4) != 0 ||
	    !st_id_valid(w->widget_id + 4) || w->updated_at < w->created_at)
		abort();
}

/* A contact: some way to reach them, an email that is one. */
static void
check_contact(const struct st_contact *c)
{
	if (!st_id_valid(c->id) || (c->name[0] == '\0' &&
	    c->email[0] == '\0' && c->phone[0] == '\0') ||
	    (c->email[0] != '\0' && !st_email_valid(c->email)))
		abort();
}

/* An agent: stored, valid, and never with its key. */
static void
check_agent(const struct st_agent *a)
{
	if (!st_id_valid(a->id) || st_agent_invalid(a) != NULL ||
	    a->api_key[0] != '\0' || a->api_key_set > 1 ||
	    a->updated_at < a->created_at)
		abort();
}

/* ST_WS_OPEN: a refusal wrote nothing; an open session its widget. */
static void
check_ws_open(const struct st_ws_open_rep *o, const struct dreply *r)
{
	if (o->result > ST_WS_LIMITED || o->result == ST_WS_NO_SESSION ||
	    o->result == ST_WS_CONTACT)
		abort();
	if (o->result == ST_WS_LIMITED) {
		if (o->limited.which >= ST_WS_OPEN_HITS_MAX || r->wrote)
			abort();
		return;
	}
	if (o->result != ST_WS_OK) {
		if (r->wrote)
			abort();
		return;
	}
	check_widget(&o->ok.widget);
	if (o->ok.resumed > 1 || o->ok.contact_submitted > 1 ||
	    o->ok.nhistory > ST_HISTORY_MAX || o->ok.more > 1 ||
	    o->ok.handoff > ST_HANDOFF_HUMAN || o->ok.staffed > 1)
		abort();
}

/* The first types' replies (0x20 to 0x4f), each as the store promises. */
static void
check_rep(uint16_t type, const void *p, const struct dreply *r)
{
	const union st_any *rep = p;
	uint32_t i;

	switch (type) {
	case PROTO_ST_PING:
	case PROTO_ST_WIDGET_DELETE:
	case PROTO_ST_DASH_LOGOUT:
	case PROTO_ST_CONV_DELETE:
	case PROTO_ST_STATS:
	case PROTO_ST_TYPING:
	case PROTO_ST_CANNED_DELETE:
		break;
	case PROTO_ST_CONV_OPEN: {
		const struct st_conv_open_rep *o = p;

		if (o->created > 1)
			abort();
		check_conv(&o->conv);
		break;
	}
	case PROTO_ST_MSG_APPEND:
		/* The stored message's id alone (st_msg_stored). */
		if (!st_id_valid(rep->stored.id))
			abort();
		break;
	case PROTO_ST_CONV_LIST:
	case PROTO_ST_CONV_QUERY:
		check_convs(rep->page.convs, rep->page.n, ST_LIST_MAX);
		break;
	case PROTO_ST_CONV_GET:
		check_conv(&rep->cm.conv);
		check_msgs(rep->cm.msgs, rep->cm.n, UINT32_MAX, 0);
		if (rep->cm.truncated > 1)
			abort();
		break;
	case PROTO_ST_CHAT_BEGIN:
		check_chat(&rep->begin);
		break;
	case PROTO_ST_WS_BEGIN:
		check_ws_begin(&rep->begin, r);
		break;
	case PROTO_ST_RATE_HIT:
		check_verdict(p, 1);
		break;
	case PROTO_ST_DASH_LOGIN: {
		const struct st_dash_login_rep *lr = p;

		/* The browser's known-device cookie, whole. */
		if (strlen(lr->device) != ST_DASH_DEVICE_LEN)
			abort();
		break;
	}
	case PROTO_ST_DASH_ATTEMPT:
		/* Or 2: the failed-login budget is spent. */
		check_verdict(p, 2);
		break;
	case PROTO_ST_DASH_SALT: {
		const struct st_dash_salt_rep *sr = p;

		if (sr->salt_len != ST_DASH_SALT_LEN)
			abort();
		break;
	}
	case PROTO_ST_SESSION_HISTORY: {
		const struct st_session_history_rep *h = p;

		if (h->found > ST_HISTORY_DISABLED)
			abort();
		if (h->found != ST_HISTORY_FOUND)
			break;
		check_conv(&h->h.conv);
		check_msgs(h->h.msgs, h->h.n, UINT32_MAX, 1);
		break;
	}
	case PROTO_ST_WIDGET_CREATE:
	case PROTO_ST_WIDGET_UPDATE:
	case PROTO_ST_WIDGET_GET:
	case PROTO_ST_WIDGET_RESET_ID:
		check_widget(&rep->widget);
		break;
	case PROTO_ST_WIDGET_LIST: {
		const struct st_widgets *ws = p;

		if (ws->n > ST_WIDGETS_MAX)
			abort();
		for (i = 0; i < ws->n; i++)
			check_widget(&ws->widgets[i]);
		break;
	}
	case PROTO_ST_WS_OPEN:
		check_ws_open(&rep->wsopenr, r);
		break;
	case PROTO_ST_CONTACT_SUBMIT: {
		uint8_t res = rep->csr.result;

		if (res != ST_WS_OK && res != ST_WS_NO_WIDGET &&
		    res != ST_WS_NO_SESSION && res != ST_WS_LIMITED &&
		    res != ST_WS_TOO_MANY && res != ST_WS_BUSY &&
		    res != ST_WS_IDENTITY)
			abort();
		if (res == ST_WS_OK)
			check_contact(&rep->csr.contact);
		else if (res != ST_WS_LIMITED && r->wrote)
			abort();
		break;
	}
	case PROTO_ST_CONTACT_LIST: {
		const struct st_contact_page *cp = p;

		if (cp->n > ST_LIST_MAX)
			abort();
		for (i = 0; i < cp->n; i++)
			check_contact(&cp->contacts[i]);
		break;
	}
	case PROTO_ST_CONTACT_GET:
		check_contact(&rep->cg.contact);
		check_convs(rep->cg.convs, rep->cg.n, ST_LIST_MAX);
		for (i = 0; i < rep->cg.n; i++)
			if (rep->cg.links[i].unverified > 1)
				abort();
		break;
	case PROTO_ST_DASH_CHECK:
		if (rep->dc.valid > 1 || (rep->dc.valid &&
		    strlen(rep->dc.s.csrf) != ST_DASH_CSRF_LEN))
			abort();
		break;
	case PROTO_ST_MSG_PAGE: {
		const struct st_msg_page_rep *mp = p;

		check_msgs(mp->msgs, mp->n, ST_LIST_MAX, 0);
		break;
	}
	case PROTO_ST_MSG_PAGES: {
		const struct st_msg_pages_rep *mp = p;

		check_msgs(mp->msgs, mp->n, ST_LIST_MAX, 0);
		if (mp->next_conv > ST_LIST_MAX)
			abort();
		break;
	}
	case PROTO_ST_PURGE: {
		const struct st_purge_rep *pr = p;

		if (pr->more > 1)
			abort();
		break;
	}
	case PROTO_ST_AGENT_CREATE:
	case PROTO_ST_AGENT_UPDATE:
	case PROTO_ST_AGENT_GET: {
		const struct st_agent *a = p;

		check_agent(a);
		break;
	}
	case PROTO_ST_AGENT_LIST: {
		const struct st_agents *as = p;

		if (as->n > ST_AGENTS_MAX)
			abort();
		for (i = 0; i < as->n; i++)
			check_agent(&as->agents[i]);
		break;
	}
	case PROTO_ST_AGENT_DELETE: {
		const struct st_agent_delete_rep *ad = p;

		/* In use: not deleted, and by which widgets. */
		if (ad->in_use != (ad->n > 0) || ad->n > ST_WIDGETS_MAX)
			abort();
		break;
	}
	case PROTO_ST_HANDOFF_SET: {
		const struct st_handoff_set_rep *hs = p;

		if (hs->changed > 1)
			abort();
		check_conv(&hs->conv);
		break;
	}
	case PROTO_ST_AGENT_MSG:
		if (strcmp(rep->mc.msg.role, "agent") != 0 ||
		    rep->mc.msg.name[0] == '\0' ||
		    rep->mc.msg.content[0] == '\0')
			abort();
		check_msgs(&rep->mc.msg, 1, 1, 0);
		check_conv(&rep->mc.conv);
		break;
	case PROTO_ST_WS_REQUEST_HUMAN: {
		const struct st_request_human_rep *rh = p;

		if ((rh->result != ST_WS_OK && rh->result != ST_WS_NO_WIDGET &&
		    rh->result != ST_WS_NO_SESSION &&
		    rh->result != ST_WS_NO_CONV) ||
		    rh->changed > (rh->result == ST_WS_OK))
			abort();
		if (rh->result == ST_WS_OK)
			check_conv(&rh->conv);
		break;
	}
	case PROTO_ST_HANDOFF_LIST: {
		const struct st_conv_page *cs = p;

		check_convs(cs->convs, cs->n, ST_HANDOFF_LIST_MAX);
		if (cs->total < cs->n)
			abort();
		for (i = 0; i < cs->n; i++)
			if (cs->convs[i].handoff == ST_HANDOFF_AI)
				abort();
		break;
	}
	default:
		abort();	/* no storaged operation: it must have failed */
	}
}

/*
 * A secret a reply must not carry: NULL or "" (scrubbed, as storaged
 * sends it).
 */
static int
text_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/*
 * What storaged never sends back to the admin API: an agent's model key,
 * an action's header values (their names, header_names, go), a
 * webhook's secret but in its create's and rotation's replies, the one a
 * rotation left in any, an API key's hash. The
 * turn's own reads (ST_ACTION_TOOLS, the chat begin's agent) are not
 * these types.
 */
static void
check_secrets(uint16_t type, const void *p)
{
	const struct st_agents *as = p;
	const struct st_actions *acs = p;
	const struct st_webhooks *hs = p;
	const struct st_apikeys *ks = p;
	uint32_t i;

	switch (type) {
	case PROTO_ST_AGENT_CREATE:
	case PROTO_ST_AGENT_UPDATE:
	case PROTO_ST_AGENT_GET:
		if (!text_empty(((const struct st_agent *)p)->api_key))
			abort();
		break;
	case PROTO_ST_AGENT_LIST:
		for (i = 0; i < as->n; i++)
			if (!text_empty(as->agents[i].api_key))
				abort();
		break;
	case PROTO_ST_ACTION_CREATE:
	case PROTO_ST_ACTION_UPDATE:
	case PROTO_ST_ACTION_GET:
		if (!text_empty(((const struct st_action *)p)->headers))
			abort();
		break;
	case PROTO_ST_ACTION_LIST:
		for (i = 0; i < acs->n; i++)
			if (!text_empty(acs->actions[i].headers))
				abort();
		break;
	case PROTO_ST_HOOK_UPDATE:
	case PROTO_ST_HOOK_GET:
		if (!text_empty(((const struct st_webhook *)p)->secret))
			abort();
		/* FALLTHROUGH */
	case PROTO_ST_HOOK_CREATE:
	case PROTO_ST_HOOK_SECRET:
		if (!text_empty(((const struct st_webhook *)p)->old_secret))
			abort();
		break;
	case PROTO_ST_HOOK_LIST:
		for (i = 0; i < hs->n; i++)
			if (!text_empty(hs->hooks[i].secret) ||
			    !text_empty(hs->hooks[i].old_secret))
				abort();
		break;
	case PROTO_ST_KEY_CREATE:
		if (((const struct st_apikey *)p)->hash_len != 0)
			abort();
		break;
	case PROTO_ST_KEY_LIST:
		for (i = 0; i < ks->n; i++)
			if (ks->keys[i].hash_len != 0)
				abort();
		break;
	}
}

/*
 * Someone acting in one organisation: a dashboard session, an
 * organisation's key, the install's key acting for one (not nobody,
 * parleyctl or the public, who see every organisation's or none).
 */
static int
of_an_org(const struct st_who *who)
{
	return who != NULL && who->kind != ST_WHO_PUBLIC &&
	    who->kind != ST_WHO_CTL;
}

/* Someone of the second organisation (whos[6] and whos[7]). */
static int
of_other_org(const struct st_who *who)
{
	return of_an_org(who) && strcmp(who->org, whos[6].org) == 0;
}

/*
 * A record's organisation is org, or it aborts ("" reads as the default
 * one's: a record stored before there were others).
 */
static void
in_org(const char *rec_org, const char *org)
{
	if (strcmp(rec_org[0] != '\0' ? rec_org : ST_ORG_DEFAULT, org) != 0)
		abort();
}

/*
 * An organisation's records only: what someone of an organisation asked
 * (a dashboard session, an organisation's key, the install's key acting
 * for one) brings back widgets, agents, webhooks and their deliveries,
 * actions, API keys, knowledge sources, contacts, knowledge gaps,
 * conversations and files of that organisation alone; another's is
 * absent.
 */
static void
check_orgs(uint16_t type, const struct st_who *who, const void *p)
{
	const struct st_widgets *ws = p;
	const struct st_agents *as = p;
	const struct st_webhooks *hs = p;
	const struct st_actions *acs = p;
	const struct st_apikeys *ks = p;
	const struct st_kb_source_list *ss = p;
	const struct st_contact_page *cp = p;
	const struct st_gap_list_rep *gs = p;
	const struct st_conv_page *cs = p;
	const struct st_deliveries *ds = p;
	const struct st_handoff_set_rep *hs2 = p;
	const union st_any *rep = p;
	uint32_t i;

	if (!of_an_org(who))
		return;
	switch (type) {
	case PROTO_ST_WIDGET_CREATE:
	case PROTO_ST_WIDGET_UPDATE:
	case PROTO_ST_WIDGET_GET:
	case PROTO_ST_WIDGET_RESET_ID:
		in_org(((const struct st_widget *)p)->org, who->org);
		break;
	case PROTO_ST_WIDGET_LIST:
		for (i = 0; i < ws->n; i++)
			in_org(ws->widgets[i].org, who->org);
		break;
	case PROTO_ST_AGENT_CREATE:
	case PROTO_ST_AGENT_UPDATE:
	case PROTO_ST_AGENT_GET:
		in_org(((const struct st_agent *)p)->org, who->org);
		break;
	case PROTO_ST_AGENT_LIST:
		for (i = 0; i < as->n; i++)
			in_org(as->agents[i].org, who->org);
		break;
	case PROTO_ST_HOOK_CREATE:
	case PROTO_ST_HOOK_UPDATE:
	case PROTO_ST_HOOK_GET:
	case PROTO_ST_HOOK_SECRET:
		in_org(((const struct st_webhook *)p)->org, who->org);
		break;
	case PROTO_ST_HOOK_LIST:
		for (i = 0; i < hs->n; i++)
			in_org(hs->hooks[i].org, who->org);
		break;
	case PROTO_ST_HOOK_RETRY:
	case PROTO_ST_HOOK_TEST:
		in_org(((const struct st_delivery *)p)->org, who->org);
		break;
	case PROTO_ST_HOOK_DELIVERIES:
		for (i = 0; i < ds->n; i++)
			in_org(ds->dlv[i].org, who->org);
		break;
	case PROTO_ST_ACTION_CREATE:
	case PROTO_ST_ACTION_UPDATE:
	case PROTO_ST_ACTION_GET:
		in_org(((const struct st_action *)p)->org, who->org);
		break;
	case PROTO_ST_ACTION_LIST:
		for (i = 0; i < acs->n; i++)
			in_org(acs->actions[i].org, who->org);
		break;
	case PROTO_ST_KEY_CREATE:
		in_org(((const struct st_apikey *)p)->org, who->org);
		break;
	case PROTO_ST_KEY_LIST:
		for (i = 0; i < ks->n; i++)
			in_org(ks->keys[i].org, who->org);
		break;
	case PROTO_ST_KB_SOURCE_CREATE:
	case PROTO_ST_KB_SOURCE_UPDATE:
	case PROTO_ST_KB_SOURCE_GET:
		in_org(((const struct st_kbsource *)p)->org, who->org);
		break;
	case PROTO_ST_KB_SOURCE_LIST:
		for (i = 0; i < ss->n; i++)
			in_org(ss->sources[i].org, who->org);
		break;
	case PROTO_ST_CONTACT_LIST:
		for (i = 0; i < cp->n; i++)
			in_org(cp->contacts[i].org, who->org);
		break;
	case PROTO_ST_CONTACT_GET:
		in_org(rep->cg.contact.org, who->org);
		for (i = 0; i < rep->cg.n; i++)
			in_org(rep->cg.convs[i].org, who->org);
		break;
	case PROTO_ST_CONV_LIST:
	case PROTO_ST_CONV_QUERY:
		for (i = 0; i < rep->page.n; i++)
			in_org(rep->page.convs[i].org, who->org);
		break;
	case PROTO_ST_CONV_GET:
		in_org(rep->cm.conv.org, who->org);
		break;
	case PROTO_ST_HANDOFF_SET:
	case PROTO_ST_CONV_STATE:
		in_org(hs2->conv.org, who->org);
		break;
	case PROTO_ST_HANDOFF_LIST:
		for (i = 0; i < cs->n; i++)
			in_org(cs->convs[i].org, who->org);
		break;
	case PROTO_ST_AGENT_MSG:
		in_org(rep->mc.conv.org, who->org);
		break;
	case PROTO_ST_ATT_ADMIN_READ:
		if (rep->ar.result == ST_ATT_OK)
			in_org(rep->ar.att.org, who->org);
		break;
	case PROTO_ST_GAP_LIST:
		for (i = 0; i < gs->n; i++)
			in_org(gs->gaps[i].org, who->org);
		break;
	}
}

/*
 * Whether buf holds mark. Compared a byte at a time, never by memmem:
 * libFuzzer learns what memmem is asked for and would write the mark
 * into another organisation's records itself.
 */
static int
holds(const uint8_t *buf, size_t len, const char *mark)
{
	size_t i, j, n = strlen(mark);

	for (i = 0; i + n <= len; i++) {
		for (j = 0; j < n && buf[i + j] == (uint8_t)mark[j]; j++)
			;
		if (j == n)
			return 1;
	}
	return 0;
}

/*
 * Another organisation's text in no reply: what someone of the first or
 * the second organisation asked brings back nothing of the other's
 * records (check_orgs by the records' organisation; this by their
 * content, in every type, members, invitations and messages too).
 */
static void
check_marks(uint16_t type, const struct st_who *who, const struct dreply *r)
{
	const char *theirs;

	if (!of_an_org(who))
		return;
	theirs = of_other_org(who) ? MARK_FIRST : MARK_OTHER;
	if (holds(r->enc.buf, r->enc.len, theirs)) {
		fprintf(stderr, "fuzz_dispatch: %s answered to %s of %s holds "
		    "%s\n", proto_msg_name(type), who->id, who->org, theirs);
		abort();
	}
}

/*
 * The first organisation's records as its owner reads them (first_read):
 * every list of a whole kind that takes no page, the known contact, the
 * known conversation with its messages, and its reports' counts. What
 * the second organisation asks must leave them as they were
 * (first_unchanged).
 */
static const uint16_t first_reads[] = { PROTO_ST_WIDGET_LIST,
    PROTO_ST_AGENT_LIST, PROTO_ST_KEY_LIST, PROTO_ST_HOOK_LIST,
    PROTO_ST_KB_SOURCE_LIST, PROTO_ST_ACTION_LIST, PROTO_ST_CANNED_LIST,
    PROTO_ST_USER_LIST, PROTO_ST_INVITE_LIST, PROTO_ST_CONTACT_GET,
    PROTO_ST_CONV_GET, PROTO_ST_REPORT_GET };
#define NFIRST_READS	(sizeof(first_reads) / sizeof(first_reads[0]))

/* Each of first_reads' answers (its error, then its bytes) in out[]. */
static void
first_read(struct penc out[NFIRST_READS])
{
	struct st_conv_get_req cg = { known, 20 };
	struct st_id_page_req cid = { known_contact, ST_LIST_MAX, "" };
	/* The store's clock is the wall clock: 200 days either side. */
	uint64_t now = store_now(st);
	struct st_report_get_req rg = { now - ST_REPORT_SPAN_MAX / 2,
	    now + ST_REPORT_SPAN_MAX / 2, "", "" };
	struct penc e;
	struct dreply r;
	size_t i;

	for (i = 0; i < NFIRST_READS; i++) {
		penc_init(&e);
		if (first_reads[i] == PROTO_ST_CONTACT_GET)
			st_req_encode(&e, first_reads[i], &cid);
		else if (first_reads[i] == PROTO_ST_CONV_GET)
			st_req_encode(&e, first_reads[i], &cg);
		else if (first_reads[i] == PROTO_ST_REPORT_GET)
			st_req_encode(&e, first_reads[i], &rg);
		dispatch_one_as(st, rl, &whos[0], first_reads[i], e.buf, e.len,
		    &r);
		penc_free(&e);
		penc_init(&out[i]);
		penc_u32(&out[i], (uint32_t)r.err);
		if (r.err == 0 && r.enc.len > 0)
			penc_raw(&out[i], r.enc.buf, r.enc.len);
		dreply_free(&r);
	}
}

/* The first organisation's records read as before; before[] freed. */
static void
first_unchanged(uint16_t type, const struct st_who *who,
    struct penc before[NFIRST_READS])
{
	struct penc after[NFIRST_READS];
	size_t i;

	first_read(after);
	for (i = 0; i < NFIRST_READS; i++) {
		if (after[i].len != before[i].len ||
		    memcmp(after[i].buf, before[i].buf, after[i].len) != 0) {
			fprintf(stderr, "fuzz_dispatch: %s as %s of %s changed "
			    "what %s answers the first organisation\n",
			    proto_msg_name(type), who->id, who->org,
			    proto_msg_name(first_reads[i]));
			abort();
		}
		penc_free(&before[i]);
		penc_free(&after[i]);
	}
}

/*
 * An error is a known code with its message; a reply decodes exactly by
 * its layout, carries no secret it must not (check_secrets) nor another
 * organisation's record than who asked (check_orgs), and the first
 * types' are checked further (check_rep).
 */
static void
check_reply(uint16_t type, const struct st_who *who, const struct dreply *r)
{
	union st_any rep;

	/* Never PROTO_E_NOT_PRIMARY: the store is no standby. */
	if (r->err != 0) {
		if (r->errmsg == NULL || r->err < PROTO_E_INTERNAL ||
		    (r->err > PROTO_E_NO_ORG && r->err != PROTO_E_EXISTS &&
		    r->err != PROTO_E_FULL))
			abort();
		return;
	}
	if (r->enc.err || r->enc.len > PROTO_MAX_PAYLOAD)
		abort();
	if (st_rep_decode(type, r->enc.buf, r->enc.len, &rep) < 0)
		abort();
	check_secrets(type, &rep);
	check_orgs(type, who, &rep);
	check_marks(type, who, r);
	/* Past the first 48 types (data[1]'s): the layout's decode alone. */
	if (type >= PROTO_ST_PING && type < PROTO_ST_PING + 0x30)
		check_rep(type, &rep, r);
	st_rep_free(type, &rep);
}

/*
 * A turn's tools (ST_ACTION_TOOLS: the worker asks for the conversation's
 * organisation, named in the request, not by who asks): that
 * organisation's actions alone.
 */
static void
check_tools(uint16_t type, const struct penc *e, const struct dreply *r)
{
	struct st_action_tools_req q;
	struct st_actions l;
	uint32_t i;

	if (type != PROTO_ST_ACTION_TOOLS || r->err != 0)
		return;
	if (st_req_decode(type, e->buf, e->len, &q) < 0 ||
	    st_rep_decode(type, r->enc.buf, r->enc.len, &l) < 0)
		abort();
	for (i = 0; i < l.n; i++)
		in_org(l.actions[i].org, q.org);
	st_rep_free(type, &l);
	st_req_free(type, &q);
}

/*
 * The request type an input picks (the head comment): replay.c's group,
 * so each type's inputs also run alone on a new store.
 */
int
fuzz_replay_group(const uint8_t *data, size_t size)
{
	if (size < 1)
		return -1;
	if ((data[0] & 0x3f) == 0x3f && size > 1)
		return data[1];
	return PROTO_ST_PING + (data[0] & 0x0f) + ((data[0] & 0x20) ? 0x10 : 0) +
	    ((data[0] & 0x30) == 0x30 ? 0x10 : 0);
}

/* A new store and rate table, as at the start. */
void
fuzz_replay_fresh(int group)
{
	(void)group;
	store_remove();
	store_make();
	ratelimit_free(rl);
	rates_make();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbatch b;
	struct dreply r[2];
	struct penc e, before[NFIRST_READS];
	struct st_widget w;
	struct pdec d;
	const struct proto_msg *m;
	const struct st_who *who = NULL;
	uint16_t type;
	size_t skip = 1;
	int i, twice, other, gone = 0, gone_conv = 0, gone_agent = 0;

	if (size < 1)
		return 0;
	store_renew_when_full();
	type = (uint16_t)fuzz_replay_group(data, size);
	if ((data[0] & 0x3f) == 0x3f && size > 1)
		skip = 2;
	/* A type led by who asks: the next byte picks who (who_pick). */
	if ((m = proto_msg(type)) != NULL && m->who) {
		if ((who = who_pick(type, size > skip ? data[skip] : 0)) == NULL)
			return 0;
		skip++;
	}
	twice = (data[0] & 0x40) != 0;
	mono += (data[0] & 0x10) ? 60000 : 1;
	penc_init(&e);
	if (!(data[0] & 0x80))
		;
	else if (type == PROTO_ST_CHAT_BEGIN ||
	    type == PROTO_ST_SESSION_HISTORY) {
		penc_str(&e, "fuzz");
		penc_str(&e, "fuzz");
	} else if (type == PROTO_ST_WS_BEGIN ||
	    type == PROTO_ST_CONTACT_SUBMIT ||
	    type == PROTO_ST_WS_REQUEST_HUMAN ||
	    type == PROTO_ST_WS_FEEDBACK || type == PROTO_ST_WS_RATING) {
		penc_str(&e, known_wid);
		penc_bytes(&e, known_hash, sizeof(known_hash));
	} else if (type >= PROTO_ST_DASH_LOGIN && type <= PROTO_ST_DASH_LOGOUT)
		penc_bytes(&e, known_hash, sizeof(known_hash));
	else if (type >= PROTO_ST_WIDGET_CREATE && type <= PROTO_ST_WS_OPEN)
		penc_str(&e, known_wid);
	else if (type == PROTO_ST_CONTACT_GET)
		penc_str(&e, known_contact);
	else if (type == PROTO_ST_AGENT_UPDATE || type == PROTO_ST_AGENT_GET ||
	    type == PROTO_ST_AGENT_DELETE)
		penc_str(&e, known_agent);
	else if (type == PROTO_ST_HOOK_UPDATE || type == PROTO_ST_HOOK_GET ||
	    type == PROTO_ST_HOOK_DELETE || type == PROTO_ST_HOOK_DELIVERIES ||
	    type == PROTO_ST_HOOK_RETRY || type == PROTO_ST_HOOK_TEST)
		penc_str(&e, known_hook);
	else if (type == PROTO_ST_ACTION_UPDATE ||
	    type == PROTO_ST_ACTION_GET || type == PROTO_ST_ACTION_DELETE)
		penc_str(&e, known_action);
	else if (type == PROTO_ST_KEY_DELETE)
		penc_str(&e, known_key);
	else if (type == PROTO_ST_KB_SOURCE_UPDATE ||
	    type == PROTO_ST_KB_SOURCE_GET || type == PROTO_ST_KB_SOURCE_DELETE ||
	    type == PROTO_ST_KB_SYNC || type == PROTO_ST_KB_PAGES)
		penc_str(&e, known_source);
	else if (type == PROTO_ST_ATT_ADMIN_READ)
		penc_str(&e, known_att);
	else if (type == PROTO_ST_MSG_PAGES) {
		penc_u32(&e, 1);
		penc_str(&e, known);
	}
	else if (type == PROTO_ST_ACTION_TOOLS) {
		/* The second organisation's turn naming the known action. */
		penc_str(&e, whos[6].org);
		penc_u32(&e, 1);
		penc_str(&e, known_action);
	}
	else
		penc_str(&e, known);
	/* proto's penc_raw() of 0 bytes into an empty encoder is NULL + 0 (UB). */
	if (size > skip)
		penc_raw(&e, data + skip, size - skip);
	if (e.err) {
		penc_free(&e);
		return 0;
	}

	/*
	 * The second organisation writes: the first's records stay as they
	 * are. (A read runs in a read-only transaction: nothing to compare.)
	 */
	other = of_other_org(who) && dispatch_is_write(type);
	if (other)
		first_read(before);
	dispatch_begin(st, rl, &b, dispatch_is_write(type));
	b.who = who;
	for (i = 0; i <= twice; i++)
		dispatch_run(&b, type, e.buf, e.len, &r[i]);
	if (dispatch_rerun(&b))
		for (i = 0; i <= twice; i++) {
			dreply_free(&r[i]);
			dispatch_run(&b, type, e.buf, e.len, &r[i]);
		}
	if (dispatch_end(&b) < 0)
		for (i = 0; i <= twice; i++)
			dreply_commit_failed(&r[i]);
	for (i = 0; i <= twice; i++) {
		check_reply(type, who, &r[i]);
		check_tools(type, &e, &r[i]);
		/* Whichever it named, the known one may be gone. */
		if (r[i].err == 0 && (type == PROTO_ST_CONV_DELETE ||
		    type == PROTO_ST_PURGE))
			gone_conv = 1;
		if (r[i].err == 0 && type == PROTO_ST_AGENT_DELETE)
			gone_agent = 1;
		if (r[i].err == 0)
			follow_made(type, &r[i]);
		if (r[i].err == 0 && strcmp(r[i].gone, known_wid) == 0) {
			gone = 1;
			/* A new public id: follow it. */
			if (type == PROTO_ST_WIDGET_RESET_ID) {
				pdec_init(&d, r[i].enc.buf, r[i].enc.len);
				if (pdec_widget(&d, &w) < 0)
					abort();
				strlcpy(known_wid, w.widget_id,
				    sizeof(known_wid));
				st_widget_free(&w);
			}
		}
		dreply_free(&r[i]);
	}
	if (other)
		first_unchanged(type, who, before);
	/* The known widget went away or was disabled: put it back. */
	if (gone)
		known_widget();
	if (gone_conv)
		known_conv();
	if (gone_agent)
		known_agent_make();
	/* As the server's loop does after each batch. */
	ratelimit_sweep(rl, 8);
	penc_free(&e);
	return 0;
}
