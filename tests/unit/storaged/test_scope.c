/*
 * Every record belongs to one organisation and who asks sees only its
 * own (issue 22): each store op run through the dispatcher as the server
 * runs it, with who asks set (b->who), in organisations "default", A and
 * B. Another organisation's record is `not found` exactly like an unknown
 * id; lists hold only one's own; records written before organisations
 * (older format bytes, written behind the store's back) read as the
 * default organisation's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lmdb.h>

#include "agentmsg.h"
#include "log.h"
#include "orgmsg.h"
#include "stmsgs.h"
#include "test_fixture.h"
#include "orgstore.h"
#include "presence.h"
#include "usermsg.h"
#include "widgetmsg.h"
#include "wsess.h"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-scope-XXXXXX", 1);
}

/* ----------------------------------------------------------- who asks */

/*
 * Runs one request as who asks (kind, in org; NULL org: nobody's
 * request, b->who NULL) the way server.c's slot_run does. The error
 * code, or 0 with the reply in *r (for dreply_free either way).
 */
static int
ask_as(struct fix *f, uint8_t kind, const char *org, uint16_t type,
    const void *req, struct dreply *r)
{
	struct st_who who;
	struct penc e;

	memset(&who, 0, sizeof(who));
	who.kind = kind;
	strlcpy(who.id, kind == ST_WHO_KEY ? "install" : "", sizeof(who.id));
	strlcpy(who.org, org != NULL ? org : "", sizeof(who.org));
	who.role = kind == ST_WHO_PUBLIC ? ST_ROLE_NONE : ST_ROLE_OWNER;
	penc_init(&e);
	assert_int_equal(st_req_encode(&e, type, req), 0);
	dispatch_one_as(f->st, f->rl,
	    org != NULL || kind == ST_WHO_PUBLIC ? &who : NULL, type, e.buf,
	    e.len, r);
	penc_free(&e);
	return r->err;
}

/* ask_as() by the install key in org, the reply decoded into rep. */
static int
ask(struct fix *f, const char *org, uint16_t type, const void *req,
    void *rep)
{
	struct dreply r;
	int err;

	if ((err = ask_as(f, ST_WHO_KEY, org, type, req, &r)) == 0 &&
	    rep != NULL)
		assert_int_equal(st_rep_decode(type, r.enc.buf, r.enc.len,
		    rep), 0);
	dreply_free(&r);
	return err;
}

/* A new organisation's id into id. */
static void
org_new(struct fix *f, const char *name, char id[ST_ORG_ID_MAX + 1])
{
	struct st_org in, out;

	memset(&in, 0, sizeof(in));
	in.name = strdup(name);
	assert_int_equal(request_dec(f, PROTO_ST_ORG_CREATE, &in, &out), 0);
	strlcpy(id, out.id, ST_ORG_ID_MAX + 1);
	st_org_free(&in);
	st_org_free(&out);
}

/* A widget of org named name (agent: its agent_id, NULL for none). */
static void
widget_new(struct fix *f, const char *org, const char *name,
    const char *agent, struct st_widget *out)
{
	struct st_widget in;

	st_widget_defaults(&in);
	in.name = strdup(name);
	/* A request's org is not the store's to believe. */
	strlcpy(in.org, "default", sizeof(in.org));
	if (agent != NULL)
		strlcpy(in.agent_id, agent, sizeof(in.agent_id));
	assert_int_equal(ask(f, org, PROTO_ST_WIDGET_CREATE, &in, out), 0);
	st_widget_free(&in);
}

static void
agent_new(struct fix *f, const char *org, const char *name,
    struct st_agent *out)
{
	struct st_agent in;

	st_agent_defaults(&in);
	in.name = strdup(name);
	assert_int_equal(ask(f, org, PROTO_ST_AGENT_CREATE, &in, out), 0);
	st_agent_free(&in);
}

static void
widgets_free(struct st_widgets *l)
{
	st_rep_free(PROTO_ST_WIDGET_LIST, l);
}

/* ------------------------------------------------------------ widgets */

/* Create stamps who asks's organisation; lists hold one's own, in order. */
static void
test_widget_create_list(void **state)
{
	struct fix *f = *state;
	char a[ST_ORG_ID_MAX + 1], b[ST_ORG_ID_MAX + 1];
	struct st_widget a1, a2, d1;
	struct st_widgets l;

	org_new(f, "A", a);
	org_new(f, "B", b);
	widget_new(f, a, "a1", NULL, &a1);
	fake_now += 1000;
	widget_new(f, a, "a2", NULL, &a2);
	widget_new(f, "default", "d1", NULL, &d1);
	assert_string_equal(a1.org, a);
	assert_string_equal(d1.org, "default");

	/* A: its two, oldest first; no default widget. */
	assert_int_equal(ask(f, a, PROTO_ST_WIDGET_LIST, NULL, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.widgets[0].id, a1.id);
	assert_string_equal(l.widgets[1].id, a2.id);
	widgets_free(&l);
	/* B starts with none at all. */
	assert_int_equal(ask(f, b, PROTO_ST_WIDGET_LIST, NULL, &l), 0);
	assert_int_equal(l.n, 0);
	widgets_free(&l);
	/* default: the default widget first, then its own. */
	assert_int_equal(ask(f, "default", PROTO_ST_WIDGET_LIST, NULL, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.widgets[0].id, ST_DEFAULT_WIDGET);
	assert_string_equal(l.widgets[0].org, "default");
	assert_string_equal(l.widgets[1].id, d1.id);
	widgets_free(&l);
	/* No who (storaged's own callers): all of them. */
	assert_int_equal(request_dec(f, PROTO_ST_WIDGET_LIST, NULL, &l), 0);
	assert_int_equal(l.n, 4);
	widgets_free(&l);
	st_widget_free(&a1);
	st_widget_free(&a2);
	st_widget_free(&d1);
}

/* Another organisation's widget is `not found` to every request on it. */
static void
test_widget_other_org(void **state)
{
	struct fix *f = *state;
	char a[ST_ORG_ID_MAX + 1], b[ST_ORG_ID_MAX + 1];
	struct st_widget w, g, in;
	struct st_widget_update_req u;
	struct st_id_req q;
	struct dreply r;
	static const uint16_t ids[] = {
		PROTO_ST_WIDGET_GET, PROTO_ST_WIDGET_DELETE,
		PROTO_ST_WIDGET_RESET_ID,
	};
	size_t i;

	org_new(f, "A", a);
	org_new(f, "B", b);
	widget_new(f, a, "Alpha", NULL, &w);
	q.id = w.widget_id;
	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		assert_int_equal(ask_as(f, ST_WHO_KEY, b, ids[i], &q, &r),
		    PROTO_E_NOT_FOUND);
		assert_string_equal(r.errmsg, "no such widget");
		/* Nothing stopped working. */
		assert_string_equal(r.gone, "");
		dreply_free(&r);
		assert_int_equal(ask(f, "default", ids[i], &q, NULL),
		    PROTO_E_NOT_FOUND);
	}
	st_widget_defaults(&in);
	in.name = strdup("Taken");
	u = (struct st_widget_update_req){ w.widget_id, ST_WF_NAME, in };
	assert_int_equal(ask(f, b, PROTO_ST_WIDGET_UPDATE, &u, NULL),
	    PROTO_E_NOT_FOUND);
	st_widget_free(&in);
	/* A still has it, unchanged, and its public id still works. */
	assert_int_equal(ask(f, a, PROTO_ST_WIDGET_GET, &q, &g), 0);
	assert_string_equal(g.name, "Alpha");
	assert_string_equal(g.widget_id, w.widget_id);
	st_widget_free(&g);
	/* The public config is nobody's: any organisation's widget. */
	assert_int_equal(ask_as(f, ST_WHO_PUBLIC, NULL, PROTO_ST_WIDGET_GET,
	    &q, &r), 0);
	dreply_free(&r);
	/* A deletes it. */
	assert_int_equal(ask(f, a, PROTO_ST_WIDGET_DELETE, &q, NULL), 0);
	st_widget_free(&w);
}

/* The default widget cannot be seen from another organisation. */
static void
test_default_widget_scoped(void **state)
{
	struct fix *f = *state;
	char b[ST_ORG_ID_MAX + 1];
	struct st_widgets l;
	struct st_widget g;
	struct st_id_req q;

	org_new(f, "B", b);
	assert_int_equal(ask(f, "default", PROTO_ST_WIDGET_LIST, NULL, &l), 0);
	assert_int_equal(l.n, 1);
	q.id = l.widgets[0].widget_id;
	assert_int_equal(ask(f, b, PROTO_ST_WIDGET_GET, &q, NULL),
	    PROTO_E_NOT_FOUND);
	assert_int_equal(ask(f, b, PROTO_ST_WIDGET_RESET_ID, &q, NULL),
	    PROTO_E_NOT_FOUND);
	assert_int_equal(ask(f, "default", PROTO_ST_WIDGET_GET, &q, &g), 0);
	st_widget_free(&g);
	widgets_free(&l);
}

/* ------------------------------------------------------------- agents */

static void
test_agent_scoped(void **state)
{
	struct fix *f = *state;
	char a[ST_ORG_ID_MAX + 1], b[ST_ORG_ID_MAX + 1];
	struct st_agent ag, g, in;
	struct st_agent_update_req u;
	struct st_agent_delete_rep dr;
	struct st_agents l;
	struct st_id_req q;

	org_new(f, "A", a);
	org_new(f, "B", b);
	agent_new(f, a, "Ada", &ag);
	assert_string_equal(ag.org, a);
	q.id = ag.id;
	assert_int_equal(ask(f, b, PROTO_ST_AGENT_GET, &q, NULL),
	    PROTO_E_NOT_FOUND);
	assert_int_equal(ask(f, b, PROTO_ST_AGENT_DELETE, &q, NULL),
	    PROTO_E_NOT_FOUND);
	st_agent_defaults(&in);
	in.name = strdup("Taken");
	u = (struct st_agent_update_req){ ag.id, ST_AF_NAME, in };
	assert_int_equal(ask(f, b, PROTO_ST_AGENT_UPDATE, &u, NULL),
	    PROTO_E_NOT_FOUND);
	st_agent_free(&in);
	assert_int_equal(ask(f, b, PROTO_ST_AGENT_LIST, NULL, &l), 0);
	assert_int_equal(l.n, 0);
	st_rep_free(PROTO_ST_AGENT_LIST, &l);
	assert_int_equal(ask(f, a, PROTO_ST_AGENT_LIST, NULL, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.agents[0].name, "Ada");
	st_rep_free(PROTO_ST_AGENT_LIST, &l);
	assert_int_equal(ask(f, a, PROTO_ST_AGENT_GET, &q, &g), 0);
	assert_string_equal(g.name, "Ada");
	st_agent_free(&g);
	memset(&dr, 0, sizeof(dr));
	assert_int_equal(ask(f, a, PROTO_ST_AGENT_DELETE, &q, &dr), 0);
	assert_int_equal(dr.in_use, 0);
	st_rep_free(PROTO_ST_AGENT_DELETE, &dr);
	st_agent_free(&ag);
}

/* A widget names only its own organisation's agents (or the default). */
static void
test_widget_agent_own_org(void **state)
{
	struct fix *f = *state;
	char a[ST_ORG_ID_MAX + 1], b[ST_ORG_ID_MAX + 1];
	struct st_agent ag;
	struct st_widget in, w, bw;
	struct st_widget_update_req u;
	struct dreply r;

	org_new(f, "A", a);
	org_new(f, "B", b);
	agent_new(f, a, "Ada", &ag);
	st_widget_defaults(&in);
	strlcpy(in.agent_id, ag.id, sizeof(in.agent_id));
	assert_int_equal(ask_as(f, ST_WHO_KEY, b, PROTO_ST_WIDGET_CREATE, &in,
	    &r), PROTO_E_INVALID);
	assert_string_equal(r.errmsg, "agent_id: no such agent");
	dreply_free(&r);
	/* Nor by an update. */
	widget_new(f, b, "Bee", "default", &bw);
	u = (struct st_widget_update_req){ bw.widget_id, ST_WF_AGENT_ID, in };
	assert_int_equal(ask_as(f, ST_WHO_KEY, b, PROTO_ST_WIDGET_UPDATE, &u,
	    &r), PROTO_E_INVALID);
	assert_string_equal(r.errmsg, "agent_id: no such agent");
	dreply_free(&r);
	/* A's own widget may. */
	widget_new(f, a, "Alpha", ag.id, &w);
	assert_string_equal(w.agent_id, ag.id);
	st_widget_free(&in);
	st_widget_free(&w);
	st_widget_free(&bw);
	st_agent_free(&ag);
}

/* ---------------------------------------------------------- migration */

/* Agents of format 1 (before organisations) read as the default one's. */
static void
test_agent_v1_records(void **state)
{
	struct fix *f = *state;
	char b[ST_ORG_ID_MAX + 1];
	struct st_agent ag, g;
	struct st_id_req q;

	org_new(f, "B", b);
	agent_new(f, "default", "Old", &ag);
	assert_int_equal(db_version(f, "agents", ag.id, strlen(ag.id)), 9);
	db_to_older(f, "agents", 9, 1);	/* no vision */
	/* no contact tool (0), no window (a day: u32 86400) */
	db_cut(f, "agents", 8, 1 + 4, (const uint8_t *)"\0\0\x01\x51\x80");
	db_to_older(f, "agents", 7, 4 + 1 + 1);	/* no action_ids, tools */
	db_to_older(f, "agents", 6, 4);	/* no embedding_model */
	db_to_older(f, "agents", 5, 1);	/* no rewrite_follow_ups */
	db_to_older(f, "agents", 4, 5);	/* no knowledge sources, not only */
	db_to_older(f, "agents", 3, 1);	/* answer_in_visitor_language 0 */
	db_cut(f, "agents", 2, 4 + 7, (const uint8_t *)"\0\0\0\7default");
	assert_int_equal(db_version(f, "agents", ag.id, strlen(ag.id)), 1);
	q.id = ag.id;
	assert_int_equal(ask(f, "default", PROTO_ST_AGENT_GET, &q, &g), 0);
	assert_string_equal(g.name, "Old");
	assert_string_equal(g.org, "default");
	st_agent_free(&g);
	assert_int_equal(ask(f, b, PROTO_ST_AGENT_GET, &q, NULL),
	    PROTO_E_NOT_FOUND);
	st_agent_free(&ag);
}

/* Widgets of format 2 (before organisations) read as the default one's. */
static void
test_widget_v2_records(void **state)
{
	struct fix *f = *state;
	char b[ST_ORG_ID_MAX + 1];
	struct st_widget w, g;
	struct st_widgets l;
	struct st_id_req q;

	org_new(f, "B", b);
	widget_new(f, "default", "Old", NULL, &w);
	db_layout_to(f, "widgets", &st_widget_layout, 6);
	db_cut(f, "widgets", 6, sizeof(WIDGET_V6_TAIL) - 1,
	    (const uint8_t *)WIDGET_V6_TAIL);	/* issue 26's defaults */
	db_cut(f, "widgets", 5, 12, NULL);	/* no hours, no away message */
	db_cut(f, "widgets", 4, 4, NULL);	/* retention_days 0 */
	db_cut(f, "widgets", 3, 4 + 7, (const uint8_t *)"\0\0\0\7default");
	assert_int_equal(db_version(f, "widgets", w.id, strlen(w.id)), 2);
	q.id = w.widget_id;
	assert_int_equal(ask(f, "default", PROTO_ST_WIDGET_GET, &q, &g), 0);
	assert_string_equal(g.org, "default");
	st_widget_free(&g);
	assert_int_equal(ask(f, b, PROTO_ST_WIDGET_GET, &q, NULL),
	    PROTO_E_NOT_FOUND);
	assert_int_equal(ask(f, b, PROTO_ST_WIDGET_LIST, NULL, &l), 0);
	assert_int_equal(l.n, 0);
	widgets_free(&l);
	assert_int_equal(ask(f, "default", PROTO_ST_WIDGET_LIST, NULL, &l), 0);
	assert_int_equal(l.n, 2);
	widgets_free(&l);
	st_widget_free(&w);
}


/* ------------------------------------------------------ presence */

/* ST_WIDGET_AVAIL of w (a visitor's request): its staffed, or -1 on an error. */
static int
staffed(struct fix *f, const struct st_widget *w)
{
	struct st_widget_avail_rep rep;
	struct st_id_req q = { w->widget_id };
	struct dreply r;
	int v = -1;

	if (ask_as(f, ST_WHO_KEY, NULL, PROTO_ST_WIDGET_AVAIL, &q, &r) == 0) {
		assert_int_equal(st_rep_decode(PROTO_ST_WIDGET_AVAIL,
		    r.enc.buf, r.enc.len, &rep), 0);
		assert_string_equal(rep.widget.widget_id, w->widget_id);
		v = rep.staffed;
		st_rep_free(PROTO_ST_WIDGET_AVAIL, &rep);
	}
	dreply_free(&r);
	return v;
}

/*
 * Away mode's presence (presence.c): an organisation is staffed while
 * one of its dashboard sessions was seen within the window (a start
 * counts as seen); only a dashboard session may say so, for its own
 * organisation; nothing of it reaches LMDB.
 */
static void
test_presence(void **state)
{
	struct fix *f = *state;
	char b[ST_ORG_ID_MAX + 1];
	struct st_widget wa, wb;
	struct st_id_req none = { "wid_00000000000000000000000000000000" };
	struct dreply r;

	org_new(f, "B", b);
	widget_new(f, "default", "A", NULL, &wa);
	widget_new(f, b, "B", NULL, &wb);
	store_presence_settings(f->st, 60000);
	assert_int_equal(staffed(f, &wa), 1);
	assert_int_equal(staffed(f, &wb), 1);
	fake_now += 60001;
	assert_int_equal(staffed(f, &wa), 0);
	assert_int_equal(staffed(f, &wb), 0);
	/* A key (or parleyctl) is no one at a dashboard. */
	assert_int_equal(ask_as(f, ST_WHO_KEY, "default",
	    PROTO_ST_PRESENCE_SEEN, NULL, &r), PROTO_E_INVALID);
	dreply_free(&r);
	assert_int_equal(ask_as(f, ST_WHO_SESSION, b, PROTO_ST_PRESENCE_SEEN,
	    NULL, &r), 0);
	assert_int_equal(r.enc.len, 0);
	assert_false(r.wrote);
	dreply_free(&r);
	assert_int_equal(staffed(f, &wa), 0);
	assert_int_equal(staffed(f, &wb), 1);
	fake_now += 60000;
	assert_int_equal(staffed(f, &wb), 1);
	fake_now += 1;
	assert_int_equal(staffed(f, &wb), 0);
	assert_int_equal(ask_as(f, ST_WHO_KEY, NULL, PROTO_ST_WIDGET_AVAIL,
	    &none, &r), PROTO_E_NOT_FOUND);
	dreply_free(&r);
	st_widget_free(&wa);
	st_widget_free(&wb);
}

/* ------------------------------------------------------ conversations */

/* A conversation of widget (internal id) and session, made by nobody. */
static void
conv_new(struct fix *f, const char *widget, const char *session,
    struct st_conv *out)
{
	struct st_conv_open_rep rep;

	assert_int_equal(request_dec(f, PROTO_ST_CONV_OPEN,
	    &(struct st_conv_open_req){ widget, session }, &rep), 0);
	*out = rep.conv;
}

/* who in org's conversations: total, and whether id is among them. */
static uint64_t
conv_list(struct fix *f, const char *org, const char *widget,
    const char *id, int *has)
{
	struct st_conv_page pg;
	uint64_t total;
	uint32_t i;

	if (widget == NULL)
		assert_int_equal(ask(f, org, PROTO_ST_CONV_LIST,
		    &(struct st_page_req){ 200, "" }, &pg), 0);
	else
		assert_int_equal(ask(f, org, PROTO_ST_CONV_QUERY,
		    &(struct st_conv_query_req){ 200, "", widget, "",
		    ST_ASSIGNED_ANY, "", 0, 0, ST_ORDER_ACTIVITY }, &pg),
		    0);
	*has = 0;
	for (i = 0; i < pg.n; i++) {
		assert_string_equal(pg.convs[i].org, org);
		if (strcmp(pg.convs[i].id, id) == 0)
			*has = 1;
	}
	assert_int_equal(pg.n, pg.total);
	total = pg.total;
	st_rep_free(PROTO_ST_CONV_LIST, &pg);
	return total;
}

/*
 * A conversation is its widget's organisation's, and stays so when the
 * widget goes; another organisation's is `not found` to every request
 * naming it, and lists, totals and queries hold only one's own.
 */
static void
test_conv_scoped(void **state)
{
	struct fix *f = *state;
	char a[ST_ORG_ID_MAX + 1], b[ST_ORG_ID_MAX + 1];
	struct st_widget wa, wb;
	struct st_conv ca, ca2, cb, cd;
	struct st_conv_msgs g;
	struct st_msg_pages_rep mp;
	struct penc e;
	int has;

	org_new(f, "A", a);
	org_new(f, "B", b);
	widget_new(f, a, "Alpha", NULL, &wa);
	widget_new(f, b, "Bee", NULL, &wb);
	conv_new(f, wa.id, "sa1", &ca);
	conv_new(f, wa.id, "sa2", &ca2);
	conv_new(f, wb.id, "sb", &cb);
	/* A name no widget holds (the HTTP chat's): the default one's. */
	conv_new(f, "free-name", "sd", &cd);
	assert_string_equal(ca.org, a);
	assert_string_equal(cb.org, b);
	assert_string_equal(cd.org, "default");

	/* One by one. */
	assert_int_equal(ask(f, b, PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ ca.id, 10 }, NULL), PROTO_E_NOT_FOUND);
	assert_int_equal(ask(f, b, PROTO_ST_MSG_PAGE,
	    &(struct st_msg_page_req){ ca.id, 0, 10 }, NULL),
	    PROTO_E_NOT_FOUND);
	/* Several at once: another organisation's has none. */
	append_payload(&e, ca.id, "user", "A's", "", 0, 0);
	assert_int_equal(request_err(f, PROTO_ST_MSG_APPEND, &e), 0);
	append_payload(&e, cb.id, "user", "B's", "", 0, 0);
	assert_int_equal(request_err(f, PROTO_ST_MSG_APPEND, &e), 0);
	assert_int_equal(ask(f, b, PROTO_ST_MSG_PAGES,
	    &(struct st_msg_pages_req){ (struct st_str[]){ { ca.id },
	    { cb.id } }, 2, 0, 10 }, &mp), 0);
	assert_int_equal(mp.n, 1);
	assert_string_equal(mp.msgs[0].content, "B's");
	assert_int_equal(mp.next_conv, 2);
	st_rep_free(PROTO_ST_MSG_PAGES, &mp);
	assert_int_equal(ask(f, "default", PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ ca.id }, NULL), PROTO_E_NOT_FOUND);
	assert_int_equal(ask(f, b, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ ca.id }, NULL), PROTO_E_NOT_FOUND);
	assert_int_equal(ask(f, a, PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ ca.id, 10 }, &g), 0);
	assert_string_equal(g.conv.id, ca.id);
	st_rep_free(PROTO_ST_CONV_GET, &g);

	/* Lists and their totals: one's own. */
	assert_int_equal(conv_list(f, a, NULL, ca.id, &has), 2);
	assert_true(has);
	assert_int_equal(conv_list(f, b, NULL, cb.id, &has), 1);
	assert_true(has);
	assert_int_equal(conv_list(f, "default", NULL, cd.id, &has), 1);
	assert_true(has);
	/* A query by another organisation's widget: nothing. */
	assert_int_equal(conv_list(f, b, wa.id, ca.id, &has), 0);
	assert_int_equal(conv_list(f, a, wa.id, ca.id, &has), 2);
	assert_true(has);
	assert_int_equal(conv_list(f, a, "free-name", cd.id, &has), 0);

	/* Its widget deleted, a conversation stays its organisation's. */
	assert_int_equal(ask(f, a, PROTO_ST_WIDGET_DELETE,
	    &(struct st_id_req){ wa.widget_id }, NULL), 0);
	assert_int_equal(conv_list(f, a, NULL, ca.id, &has), 2);
	assert_true(has);
	assert_int_equal(conv_list(f, a, wa.id, ca.id, &has), 2);
	assert_int_equal(conv_list(f, b, wa.id, ca.id, &has), 0);
	assert_int_equal(ask(f, b, PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ ca.id, 10 }, NULL), PROTO_E_NOT_FOUND);
	/* A deletes one; the totals follow. */
	assert_int_equal(ask(f, a, PROTO_ST_CONV_DELETE,
	    &(struct st_id_req){ ca.id }, NULL), 0);
	assert_int_equal(conv_list(f, a, NULL, ca2.id, &has), 1);
	assert_true(has);
	assert_int_equal(conv_list(f, b, NULL, cb.id, &has), 1);
	st_conv_free(&ca);
	st_conv_free(&ca2);
	st_conv_free(&cb);
	st_conv_free(&cd);
	st_widget_free(&wa);
	st_widget_free(&wb);
}

/*
 * Conversations of format 3 (before organisations) read as the default
 * one's, and a data directory without the per-organisation index gets it
 * built at open.
 */
static void
test_conv_v3_records(void **state)
{
	struct fix *f = *state;
	char b[ST_ORG_ID_MAX + 1];
	struct st_conv c;
	int has;

	org_new(f, "B", b);
	conv_new(f, "default", "old", &c);
	convs_to_v5(f);
	db_to_older(f, "convs", 5, 4 + 4);
	db_cut(f, "convs", 4, 4 + 7, (const uint8_t *)"\0\0\0\7default");
	/* Emptied behind the store's back: the next open builds them. */
	db_empty(f, "conv_activity", "conv_counts");
	assert_int_equal(db_entries(f, "conv_activity"), 1);
	assert_int_equal(db_entries(f, "conv_counts"), 1);
	assert_int_equal(conv_list(f, "default", NULL, c.id, &has), 1);
	assert_true(has);
	assert_int_equal(conv_list(f, b, NULL, c.id, &has), 0);
	assert_int_equal(ask(f, b, PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ c.id, 10 }, NULL), PROTO_E_NOT_FOUND);
	st_conv_free(&c);
}

/* ----------------------------------------------------------- contacts */

/* A visitor's contact through the widget of public id wid (token tb). */
static void
contact_new(struct fix *f, const char *wid, uint8_t tb, const char *email,
    struct st_contact *out)
{
	struct st_contact_submit_req q = { .widget_id = wid,
	    .token_len = ST_TOKEN_HASH_LEN, .name = "Jo", .email = email,
	    .phone = "", .rate_key = "", .window_ms = 60000, .rate_max = 0,
	    .create = 1 };
	struct st_contact_submit_rep rep;

	memset(q.token, tb, ST_TOKEN_HASH_LEN);
	assert_int_equal(request_dec(f, PROTO_ST_CONTACT_SUBMIT, &q, &rep),
	    0);
	assert_int_equal(rep.result, ST_WS_OK);
	*out = rep.contact;
}

/* org's contacts: their total; *has when id is among them. */
static uint64_t
contact_list(struct fix *f, const char *org, const char *id, int *has)
{
	struct st_contact_page pg;
	uint64_t total;
	uint32_t i;

	assert_int_equal(ask(f, org, PROTO_ST_CONTACT_LIST,
	    &(struct st_page_req){ 200, "" }, &pg), 0);
	*has = 0;
	for (i = 0; i < pg.n; i++) {
		assert_string_equal(pg.contacts[i].org, org);
		if (strcmp(pg.contacts[i].id, id) == 0)
			*has = 1;
	}
	assert_int_equal(pg.n, pg.total);
	total = pg.total;
	st_rep_free(PROTO_ST_CONTACT_LIST, &pg);
	return total;
}

/*
 * A contact is the organisation's of the widget it came through: the
 * same email in two organisations is two contacts; another's is `not
 * found`, and lists hold one's own.
 */
static void
test_contact_scoped(void **state)
{
	struct fix *f = *state;
	char a[ST_ORG_ID_MAX + 1], b[ST_ORG_ID_MAX + 1];
	struct st_widget wa, wb;
	struct st_contact ca, ca2, cb;
	int has;

	org_new(f, "A", a);
	org_new(f, "B", b);
	widget_new(f, a, "Alpha", NULL, &wa);
	widget_new(f, b, "Bee", NULL, &wb);
	contact_new(f, wa.widget_id, 1, "jo@example.com", &ca);
	contact_new(f, wb.widget_id, 2, "jo@example.com", &cb);
	/* The same email again in A: A's contact. */
	contact_new(f, wa.widget_id, 3, "jo@example.com", &ca2);
	assert_string_equal(ca.org, a);
	assert_string_equal(cb.org, b);
	assert_string_not_equal(ca.id, cb.id);
	assert_string_equal(ca2.id, ca.id);

	assert_int_equal(ask(f, b, PROTO_ST_CONTACT_GET,
	    &(struct st_id_page_req){ ca.id, ST_LIST_MAX, "" }, NULL), PROTO_E_NOT_FOUND);
	assert_int_equal(ask(f, "default", PROTO_ST_CONTACT_GET,
	    &(struct st_id_page_req){ ca.id, ST_LIST_MAX, "" }, NULL), PROTO_E_NOT_FOUND);
	assert_int_equal(contact_list(f, a, ca.id, &has), 1);
	assert_true(has);
	assert_int_equal(contact_list(f, b, cb.id, &has), 1);
	assert_true(has);
	assert_int_equal(contact_list(f, "default", ca.id, &has), 0);
	st_contact_free(&ca);
	st_contact_free(&ca2);
	st_contact_free(&cb);
	st_widget_free(&wa);
	st_widget_free(&wb);
}

/* org's first page of contacts (limit, after cursor): the records decoded. */
static uint64_t
contact_page(struct fix *f, const char *org, uint32_t limit,
    const char *cursor, struct st_contact_page *pg)
{
	uint64_t d0, d1, puts;

	store_costs(f->st, &d0, &puts);
	assert_int_equal(ask(f, org, PROTO_ST_CONTACT_LIST,
	    &(struct st_page_req){ limit, cursor }, pg), 0);
	store_costs(f->st, &d1, &puts);
	return d1 - d0;
}

/*
 * An organisation's contacts are listed from its own index (contact_org)
 * with its own count: a page reads the same records however many the
 * others hold; emptied behind the store's back, both are made again at
 * open.
 */
static void
test_contact_org_index(void **state)
{
	struct fix *f = *state;
	char a[ST_ORG_ID_MAX + 1], b[ST_ORG_ID_MAX + 1], email[64];
	char next[ST_CURSOR_MAX + 1];
	struct st_widget wa, wb;
	struct st_contact c, ids[3];
	struct st_contact_page pg;
	uint64_t alone;
	int i;

	org_new(f, "A", a);
	org_new(f, "B", b);
	widget_new(f, a, "Alpha", NULL, &wa);
	widget_new(f, b, "Bee", NULL, &wb);
	for (i = 0; i < 3; i++) {
		fake_now += 1000;
		snprintf(email, sizeof(email), "a%d@example.com", i);
		contact_new(f, wa.widget_id, (uint8_t)(10 + i), email, &ids[i]);
		fake_now += 1000;
		snprintf(email, sizeof(email), "b%d@example.com", i);
		contact_new(f, wb.widget_id, (uint8_t)(20 + i), email, &c);
		st_contact_free(&c);
	}
	alone = contact_page(f, a, 200, "", &pg);
	assert_int_equal(pg.total, 3);
	st_rep_free(PROTO_ST_CONTACT_LIST, &pg);
	for (i = 0; i < 30; i++) {
		snprintf(email, sizeof(email), "more%d@example.com", i);
		contact_new(f, wb.widget_id, (uint8_t)(100 + i), email, &c);
		st_contact_free(&c);
	}
	/* Newest first, two a page, the count the organisation's. */
	assert_int_equal(contact_page(f, a, 200, "", &pg), alone);
	st_rep_free(PROTO_ST_CONTACT_LIST, &pg);
	contact_page(f, a, 2, "", &pg);
	assert_int_equal(pg.total, 3);
	assert_int_equal(pg.n, 2);
	assert_string_equal(pg.contacts[0].id, ids[2].id);
	assert_string_equal(pg.contacts[1].id, ids[1].id);
	assert_string_not_equal(pg.next_cursor, "");
	strlcpy(next, pg.next_cursor, sizeof(next));
	st_rep_free(PROTO_ST_CONTACT_LIST, &pg);
	contact_page(f, a, 2, next, &pg);
	assert_int_equal(pg.n, 1);
	assert_string_equal(pg.contacts[0].id, ids[0].id);
	assert_string_equal(pg.next_cursor, "");
	st_rep_free(PROTO_ST_CONTACT_LIST, &pg);

	db_empty(f, "contact_org", "contact_counts");
	assert_int_equal(db_entries(f, "contact_org"), 36);
	assert_int_equal(db_entries(f, "contact_counts"), 2);
	contact_page(f, b, 200, "", &pg);
	assert_int_equal(pg.total, 33);
	assert_int_equal(pg.n, 33);
	st_rep_free(PROTO_ST_CONTACT_LIST, &pg);
	contact_page(f, a, 200, "", &pg);
	assert_int_equal(pg.total, 3);
	assert_string_equal(pg.contacts[2].id, ids[0].id);
	st_rep_free(PROTO_ST_CONTACT_LIST, &pg);
	for (i = 0; i < 3; i++)
		st_contact_free(&ids[i]);
	st_widget_free(&wa);
	st_widget_free(&wb);
}

/* ----------------------------------------------------------- handoffs */

/* A conversation of widget (internal id) waiting for a person: its id. */
static void
waiting_new(struct fix *f, const char *org, const char *widget,
    const char *session, char id[ST_ID_HEX + 1])
{
	struct st_handoff_set_rep rep;
	struct st_conv c;

	conv_new(f, widget, session, &c);
	fake_now += 1000;
	assert_int_equal(ask(f, org, PROTO_ST_HANDOFF_SET,
	    &(struct st_handoff_set_req){ c.id, ST_HANDOFF_WAITING, "", 0 },
	    &rep), 0);
	assert_int_equal(rep.changed, 1);
	strlcpy(id, c.id, ST_ID_HEX + 1);
	st_conv_free(&rep.conv);
	st_conv_free(&c);
}

/* org's handoff list is ids (n, oldest first): the records it decoded. */
static uint64_t
handoffs_are(struct fix *f, const char *org, char ids[][ST_ID_HEX + 1],
    uint32_t n)
{
	struct st_conv_page l;
	uint64_t d0, d1, puts;
	uint32_t i;

	store_costs(f->st, &d0, &puts);
	assert_int_equal(ask(f, org, PROTO_ST_HANDOFF_LIST,
	    &(struct st_page_req){ 200, "" }, &l), 0);
	store_costs(f->st, &d1, &puts);
	assert_int_equal(l.n, n);
	for (i = 0; i < n; i++) {
		assert_string_equal(l.convs[i].id, ids[i]);
		assert_string_equal(l.convs[i].org, org);
	}
	st_rep_free(PROTO_ST_HANDOFF_LIST, &l);
	return d1 - d0;
}

/*
 * The handoff index is keyed by organisation: a list reads its own
 * conversations however many the others have waiting; an older data
 * directory's keys (without the organisation) are moved at open.
 */
static void
test_handoff_org_index(void **state)
{
	struct fix *f = *state;
	char a[ST_ORG_ID_MAX + 1], b[ST_ORG_ID_MAX + 1];
	char as[2][ST_ID_HEX + 1], bs[3][ST_ID_HEX + 1], other[ST_ID_HEX + 1];
	char sess[16];
	struct st_widget wa, wb;
	uint64_t alone;
	MDB_env *env;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_dbi dbi;
	MDB_val k, v, ok, ov;
	uint8_t old[64][25], version = ST_RECORD_VERSION;
	size_t nold = 0, i;
	int rc;

	org_new(f, "A", a);
	org_new(f, "B", b);
	widget_new(f, a, "Alpha", NULL, &wa);
	widget_new(f, b, "Bee", NULL, &wb);
	waiting_new(f, b, wb.id, "b0", bs[0]);
	waiting_new(f, a, wa.id, "a0", as[0]);
	waiting_new(f, b, wb.id, "b1", bs[1]);
	waiting_new(f, a, wa.id, "a1", as[1]);
	waiting_new(f, b, wb.id, "b2", bs[2]);
	alone = handoffs_are(f, a, as, 2);
	for (i = 0; i < 20; i++) {
		snprintf(sess, sizeof(sess), "more%zu", i);
		waiting_new(f, b, wb.id, sess, other);
	}
	assert_int_equal(handoffs_are(f, a, as, 2), alone);

	/* Keyed as before organisations, behind the store's back. */
	env_open(f, &env);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "conv_handoff", 0, &dbi), 0);
	assert_int_equal(mdb_cursor_open(txn, dbi, &cur), 0);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		assert_true(k.mv_size > 25 && nold < 64);
		memcpy(old[nold++], (uint8_t *)k.mv_data + k.mv_size - 25, 25);
	}
	mdb_cursor_close(cur);
	assert_int_equal(mdb_drop(txn, dbi, 0), 0);
	for (i = 0; i < nold; i++) {
		ok.mv_size = 25;
		ok.mv_data = old[i];
		ov.mv_size = 1;
		ov.mv_data = &version;
		assert_int_equal(mdb_put(txn, dbi, &ok, &ov, 0), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fix_reopen(f);

	assert_int_equal(db_entries(f, "conv_handoff"), 25);
	assert_int_equal(handoffs_are(f, a, as, 2), alone);
	st_widget_free(&wa);
	st_widget_free(&wb);
}

/* ---------------------------------------------------- deleting an org */

/* An API key of org (hash bytes hb). */
static void
key_new(struct fix *f, const char *org, uint8_t hb)
{
	struct st_key_create_req q = { .name = "k", .role = ST_ROLE_ADMIN,
	    .hash_len = ST_KEY_HASH_LEN };
	struct st_apikey k;

	memset(q.hash, hb, sizeof(q.hash));
	assert_int_equal(ask(f, org, PROTO_ST_KEY_CREATE, &q, &k), 0);
	st_apikey_free(&k);
}

/* An invitation into org (token hash bytes hb) of email. */
static void
invite_new(struct fix *f, const char *org, const char *email, uint8_t hb)
{
	struct st_user_invite_req q = { .email = email,
	    .role = ST_ROLE_AGENT, .token_hash_len = ST_INVITE_HASH_LEN };
	struct st_user_invite_rep rep;

	memset(q.token_hash, hb, sizeof(q.token_hash));
	assert_int_equal(ask(f, org, PROTO_ST_USER_INVITE, &q, &rep), 0);
	assert_int_equal(rep.result, 0);
}

/*
 * The invitation of token hash bytes hb accepted, anonymously (as NULL:
 * a new account) or by the signed-in account as: the user's id, with a
 * session (hb).
 */
static void
join(struct fix *f, uint8_t hb, const char *as, char id[ST_USER_ID_MAX + 1])
{
	struct st_invite_accept_req q = { .token_hash_len = ST_INVITE_HASH_LEN,
	    .name = "N", .salt_len = ST_PW_SALT_LEN,
	    .hash_len = ST_PW_HASH_LEN };
	struct st_dash_login_req l = { .token_hash_len = ST_DASH_HASH_LEN,
	    .csrf = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef", .expires_at = UINT64_MAX / 2 };
	struct st_invite_accept_rep rep;
	struct dreply r;

	memset(q.token_hash, hb, sizeof(q.token_hash));
	q.user = as;
	assert_int_equal(request_dec(f, PROTO_ST_INVITE_ACCEPT, &q, &rep), 0);
	assert_int_equal(rep.result, as == NULL ? 0 : 2);
	strlcpy(id, rep.d.user, ST_USER_ID_MAX + 1);
	memset(l.token_hash, hb, sizeof(l.token_hash));
	strlcpy(l.user, id, sizeof(l.user));
	assert_int_equal(request_st(f, PROTO_ST_DASH_LOGIN, &l, &r), 0);
	dreply_free(&r);
}

/* org's audit entries, as ST_AUDIT_LIST counts them. */
static uint64_t
audit_total(struct fix *f, const char *org)
{
	struct st_audit_page pg;
	uint64_t n;

	assert_int_equal(ask(f, org, PROTO_ST_AUDIT_LIST,
	    &(struct st_page_req){ 1, "" }, &pg), 0);
	n = pg.total;
	st_rep_free(PROTO_ST_AUDIT_LIST, &pg);
	return n;
}

/*
 * Deleting an organisation: its record goes at once (requests in it are
 * `no such organisation`), everything it owns in the sweep's small
 * batches (API keys, audit entries, memberships and invitations too: a
 * user of it alone goes with its sessions), and then nothing of it is
 * left in any database; the default organisation's records stay.
 */
static void
test_org_delete_sweep(void **state)
{
	struct fix *f = *state;
	char a[ST_ORG_ID_MAX + 1];
	struct st_org_update_req budget;
	struct st_org og;
	struct st_widget w, w2;
	struct st_agent ag;
	struct st_conv c, c2, d;
	struct st_contact ct;
	struct store_sweep o;
	struct store_txn t;
	struct dreply r;
	char solo[ST_USER_ID_MAX + 1], both[ST_USER_ID_MAX + 1];
	char joined[ST_USER_ID_MAX + 1];
	uint64_t kept;
	uint32_t n, steps = 0;
	int more = 1;

	org_new(f, "A", a);
	/* A daily turn budget: its turns counted for it too. */
	budget = (struct st_org_update_req){ .id = a,
	    .mask = ST_OF_DAILY_TURNS };
	budget.o.daily_turns = 100;
	assert_int_equal(request_dec(f, PROTO_ST_ORG_UPDATE, &budget, &og),
	    0);
	st_org_free(&og);
	agent_new(f, a, "Ada", &ag);
	widget_new(f, a, "Alpha", ag.id, &w);
	widget_new(f, a, "Alpha 2", NULL, &w2);
	conv_new(f, w.id, "s1", &c);
	conv_new(f, w2.id, "s2", &c2);
	/* A visitor turn on each: their day counts and the organisation's. */
	fix_ws_turn(f, w.widget_id, 31, "hello");
	fix_ws_turn(f, w2.widget_id, 32, "hello");
	assert_int_equal(db_entries(f, "daily"), 3);
	contact_new(f, w.widget_id, 1, "gone@example.com", &ct);
	conv_new(f, "free-name", "sd", &d);
	/* Its keys; one of the default organisation's. */
	key_new(f, a, 1);
	key_new(f, a, 2);
	key_new(f, a, 3);
	key_new(f, "default", 4);
	/*
	 * People: solo is in A alone (deleted with it, and its session);
	 * both is in the default organisation too (kept, one membership
	 * less, its two sessions kept); invitations of each organisation
	 * are pending.
	 */
	invite_new(f, a, "solo@example.com", 11);
	join(f, 11, NULL, solo);
	invite_new(f, "default", "both@example.com", 12);
	join(f, 12, NULL, both);
	invite_new(f, a, "both@example.com", 13);
	join(f, 13, both, joined);
	assert_string_equal(joined, both);
	invite_new(f, a, "later@example.com", 14);
	invite_new(f, a, "later2@example.com", 15);
	invite_new(f, "default", "stays@example.com", 16);
	assert_int_equal(db_entries(f, "users"), 2);
	assert_int_equal(db_entries(f, "org_users"), 3);
	assert_int_equal(db_entries(f, "dsess_user"), 3);
	assert_int_equal(db_entries(f, "invites"), 3);
	assert_true(audit_total(f, a) > 5);
	kept = audit_total(f, "default");
	assert_true(kept > 0);
	assert_int_equal(db_entries(f, "audit_counts"), 2);
	assert_int_equal(request_st(f, PROTO_ST_ORG_DELETE,
	    &(struct st_id_req){ a }, &r), 0);
	dreply_free(&r);
	/* Nothing of it is reachable at once. */
	assert_int_equal(ask(f, a, PROTO_ST_WIDGET_LIST, NULL, NULL),
	    PROTO_E_NO_ORG);
	assert_int_equal(ask(f, a, PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ c.id, 10 }, NULL), PROTO_E_NO_ORG);
	assert_int_equal(db_entries(f, "org_gone"), 1);

	/* The sweep, two records a step. */
	while (more && steps < 100) {
		store_begin(f->st, &t, 0);
		assert_int_equal(store_org_sweep(&t, 2, 0, &n, &more), 0);
		assert_true(n <= 2);
		assert_int_equal(store_commit(&t), 0);
		steps++;
	}
	assert_false(more);
	assert_true(steps > 3);
	/*
	 * Then the sessions of its widgets, as any deleted widget's, and its
	 * conversations' messages, as any deleted conversation's.
	 */
	do {
		store_begin(f->st, &t, 0);
		assert_int_equal(store_wsess_sweep(&t, 100, UINT64_MAX, &o), 0);
		assert_int_equal(store_commit(&t), 0);
	} while (o.more);
	do {
		store_begin(f->st, &t, 0);
		assert_int_equal(store_msgs_gone_sweep(&t, 100, 0, &n, &more),
		    0);
		assert_int_equal(store_commit(&t), 0);
	} while (more && ++steps < 200);

	assert_int_equal(db_entries(f, "org_gone"), 0);
	assert_int_equal(db_entries(f, "orgs"), 1);
	assert_int_equal(db_entries(f, "widgets"), 1);	/* the default one */
	assert_int_equal(db_entries(f, "widget_order"), 1);
	assert_int_equal(db_entries(f, "widget_ids"), 1);
	assert_int_equal(db_entries(f, "agents"), 0);
	assert_int_equal(db_entries(f, "agent_order"), 0);
	assert_int_equal(db_entries(f, "convs"), 1);	/* the default one's */
	assert_int_equal(db_entries(f, "msgs"), 0);
	assert_int_equal(db_entries(f, "sessions"), 1);
	assert_int_equal(db_entries(f, "conv_activity"), 1);
	assert_int_equal(db_entries(f, "conv_counts"), 1);
	assert_int_equal(db_entries(f, "contacts"), 0);
	assert_int_equal(db_entries(f, "contact_email"), 0);
	assert_int_equal(db_entries(f, "contact_created"), 0);
	assert_int_equal(db_entries(f, "contact_org"), 0);
	assert_int_equal(db_entries(f, "contact_counts"), 0);
	assert_int_equal(db_entries(f, "contact_convs"), 0);
	assert_int_equal(db_entries(f, "widget_org"), 1);
	assert_int_equal(db_entries(f, "agent_org"), 0);
	assert_int_equal(db_entries(f, "wsessions"), 0);
	assert_int_equal(db_entries(f, "wsess_claims"), 0);
	assert_int_equal(db_entries(f, "wsess_gone"), 0);
	assert_int_equal(db_entries(f, "daily"), 0);
	/* Its keys, audit entries, memberships and invitations too. */
	assert_int_equal(db_entries(f, "apikeys"), 1);
	assert_int_equal(db_entries(f, "apikey_order"), 1);
	assert_int_equal(db_entries(f, "apikey_hash"), 1);
	assert_int_equal(db_entries(f, "apikey_org"), 1);
	assert_int_equal(db_entries(f, "audit"), kept);
	assert_int_equal(db_entries(f, "audit_org"), kept);
	assert_int_equal(db_entries(f, "audit_counts"), 1);
	assert_int_equal(audit_total(f, "default"), kept);
	assert_int_equal(db_entries(f, "users"), 1);
	assert_int_equal(db_entries(f, "user_order"), 1);
	assert_int_equal(db_entries(f, "user_email"), 1);
	assert_int_equal(db_entries(f, "org_users"), 1);
	assert_int_equal(db_entries(f, "invites"), 1);
	/* solo's session gone, both's two kept. */
	assert_int_equal(db_entries(f, "dsess_user"), 2);
	assert_int_equal(db_entries(f, "dsessions"), 2);
	{
		struct st_members l;

		assert_int_equal(ask(f, "default", PROTO_ST_USER_LIST, NULL,
		    &l), 0);
		assert_int_equal(l.n, 1);
		assert_string_equal(l.m[0].id, both);
		st_rep_free(PROTO_ST_USER_LIST, &l);
	}
	assert_int_equal(ask(f, "default", PROTO_ST_CONV_GET,
	    &(struct st_conv_get_req){ d.id, 10 }, NULL), 0);
	st_conv_free(&c);
	st_conv_free(&c2);
	st_conv_free(&d);
	st_contact_free(&ct);
	st_widget_free(&w);
	st_widget_free(&w2);
	st_agent_free(&ag);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, setup, fix_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_widget_create_list),
		T(test_widget_other_org),
		T(test_default_widget_scoped),
		T(test_agent_scoped),
		T(test_widget_agent_own_org),
		T(test_agent_v1_records),
		T(test_widget_v2_records),
		T(test_presence),
		T(test_conv_scoped),
		T(test_conv_v3_records),
		T(test_contact_scoped),
		T(test_contact_org_index),
		T(test_handoff_org_index),
		T(test_org_delete_sweep),
	};

	log_init("test_scope");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
