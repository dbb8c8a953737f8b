/*
 * The admin API: GET /v1/admin/conversations[?limit=&cursor=&widget=&q=
 * &assignee=mine|unassigned|<user id>&knowledge=not_found],
 * GET and DELETE /v1/admin/conversations/:id, POST
 * /v1/admin/conversations/:id/read (issue 24: 204; a key has no user to
 * remember it for: 204 and nothing written), authorised by
 * x-admin-api-key or the dashboard's session (docs/dashboard.md).
 *
 * Answers keep the Open Chat Widget shapes (_id, _creationTime, ...) and
 * add our own fields (widgetId, messageCount, contactId, status, token
 * counts). The helpers below (answers, JSON bodies, lists) are shared with
 * entity.c, widgets.c, agents.c, handoff.c and the other admin endpoints.
 * A request to storaged is its struct (stmsgs.h), encoded by the message
 * table (admin_ask); its reply is decoded by the table in admin_answer,
 * the one place a malformed one becomes a 500, and the JSON is made from
 * the decoded struct.
 * The key is checked by apikey_check() (lib/settings.c), as the chat
 * key is: SHA-256 digests compared with CRYPTO_memcmp, so neither the
 * content nor the length of the configured key shows in the timing. A
 * key that is not the install's but has the shape of an organisation's
 * ("pk_" + 64 hex, apikeys.c) is looked up in storaged by its SHA-256
 * on every request (admin_gate): no cache, so a deleted key stops at
 * once on every worker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "agentmsg.h"
#include "attach.h"
#include "exportrows.h"
#include "keymsg.h"
#include "log.h"
#include "sha256.h"
#include "workerd.h"

const char admin_headers[] = "Cache-Control: no-store\r\n";

static struct apikey admin_key;

/* Its length was checked with the other settings (settings_load). */
void
admin_init(const char *key)
{
	apikey_init(&admin_key, key);
}

int
admin_auth(const char *given)
{
	return apikey_check(&admin_key, given);
}

/* JavaScript white space from p[*i] on skipped. */
static void
skip_js_space(const unsigned char *p, size_t len, size_t *i)
{
	size_t k;

	while ((k = proto_js_space_len(p + *i, len - *i)) > 0)
		*i += k;
}

/* A digit's value in radix 16 and below, -1 for none. */
static int
digit_of(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/*
 * Number()'s other integer forms from p[i], past their "0x", "0b" or
 * "0o": digits of radix, then white space to the end. No sign, no
 * fraction (JavaScript reads "-0x10" and "0x1.5" as NaN).
 */
static int
radix_int(const unsigned char *p, size_t len, size_t i, int radix,
    uint32_t max, uint32_t *n)
{
	uint64_t m = 0;
	size_t start = i;
	int d;

	for (; (d = digit_of(p[i])) >= 0 && d < radix; i++)
		if ((m = m * (uint64_t)radix + (uint64_t)d) > max)
			return -1;
	skip_js_space(p, len, &i);
	if (i == start || i != len || m == 0)
		return -1;
	*n = (uint32_t)m;
	return 0;
}

int
admin_query_int(const char *v, uint32_t max, uint32_t *n)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t len = strlen(v), i = 0;
	uint64_t m = 0;		/* the digits to the last one not 0 */
	long zeros = 0;		/* 0s after them, not yet in m */
	long scale = 0, e = 0;	/* the value: m * 10^(zeros + scale + e) */
	int neg = 0, eneg = 0, digits = 0, frac = 0;

	skip_js_space(p, len, &i);
	if (p[i] == '0' && (p[i + 1] | 0x20) == 'x')
		return radix_int(p, len, i + 2, 16, max, n);
	if (p[i] == '0' && (p[i + 1] | 0x20) == 'b')
		return radix_int(p, len, i + 2, 2, max, n);
	if (p[i] == '0' && (p[i + 1] | 0x20) == 'o')
		return radix_int(p, len, i + 2, 8, max, n);
	if (p[i] == '+' || p[i] == '-')
		neg = p[i++] == '-';
	for (;; i++) {
		if (p[i] == '.' && !frac) {
			frac = 1;
			continue;
		}
		if (p[i] < '0' || p[i] > '9')
			break;
		digits++;
		scale -= frac;
		if (p[i] == '0') {
			zeros++;
			continue;
		}
		/* Past max m stays past it: too big, or not an integer. */
		for (; zeros > 0 && m <= max; zeros--)
			m *= 10;
		if (m > max || (m = m * 10 + (uint64_t)(p[i] - '0')) > max)
			return -1;
	}
	if (digits == 0)
		return -1;
	if (p[i] == 'e' || p[i] == 'E') {
		i++;
		if (p[i] == '+' || p[i] == '-')
			eneg = p[i++] == '-';
		if (p[i] < '0' || p[i] > '9')
			return -1;
		for (; p[i] >= '0' && p[i] <= '9'; i++)
			if (e < 1000000)
				e = e * 10 + (p[i] - '0');
	}
	skip_js_space(p, len, &i);
	if (i != len || m == 0 || neg)
		return -1;	/* not a number, 0, or below it */
	e = zeros + scale + (eneg ? -e : e);
	/* m ends in a digit not 0: below 10^0 it is a fraction. */
	for (; e > 0 && m <= max; e--)
		m *= 10;
	if (e < 0 || m > max)
		return -1;
	*n = (uint32_t)m;
	return 0;
}

int
admin_list_query(const char *query, uint32_t *limit, char *cursor,
    size_t cursorsz)
{
	char v[16];
	int r;

	*limit = ADMIN_LIMIT_DEFAULT;
	cursor[0] = '\0';
	if (query == NULL)
		return 0;
	if ((r = http_query_param(query, "limit", v, sizeof(v))) < 0)
		return -1;
	/* As the reference's zod: "2.0", "1e1", "+5", " 5" are numbers too. */
	if (r > 0 && admin_query_int(v, ST_LIST_MAX, limit) < 0)
		return -1;
	if (http_query_param(query, "cursor", cursor, cursorsz) < 0)
		return -1;
	return 0;
}

/* A widget's internal id: 1-64 of [A-Za-z0-9_-]. */
int
admin_widget_valid(const char *s)
{
	size_t n;

	for (n = 0; s[n] != '\0'; n++)
		if (!((s[n] >= 'a' && s[n] <= 'z') ||
		    (s[n] >= 'A' && s[n] <= 'Z') ||
		    (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '-'))
			return 0;
	return n >= 1 && n <= ST_WIDGET_MAX;
}

/* ?assignee=mine|unassigned|<user id> into q: 0 (absent too), or -1. */
static int
assignee_query(const char *query, struct admin_conv_q *q)
{
	int r;

	if ((r = http_query_param(query, "assignee", q->assignee,
	    sizeof(q->assignee))) <= 0)
		return r < 0 ? -1 : 0;
	if (strcmp(q->assignee, "mine") == 0) {
		/* Who asks's user: admin_conv_list fills it in. */
		q->mine = 1;
		q->assigned = ST_ASSIGNED_TO;
		q->assignee[0] = '\0';
	} else if (strcmp(q->assignee, "unassigned") == 0) {
		q->assigned = ST_ASSIGNED_NONE;
		q->assignee[0] = '\0';
	} else if (st_user_id_valid(q->assignee))
		q->assigned = ST_ASSIGNED_TO;
	else
		return -1;
	return 0;
}

int
admin_conv_query(const char *query, struct admin_conv_q *q)
{
	char v[16];
	int r;

	q->widget[0] = '\0';
	q->q[0] = '\0';
	q->handoff_open = 0;
	q->assigned = ST_ASSIGNED_ANY;
	q->mine = 0;
	q->assignee[0] = '\0';
	q->gaps = 0;
	q->state = 0;
	if (admin_list_query(query, &q->limit, q->cursor,
	    sizeof(q->cursor)) < 0)
		return -1;
	if (query == NULL)
		return 0;
	/*
	 * handoff=open: the conversations a person is wanted in, alone: no
	 * other filter (each one is refused rather than ignored).
	 */
	if ((r = http_query_flag(query, "handoff", "open")) < 0)
		return -1;
	if (r > 0) {
		q->handoff_open = 1;
		return http_query_param(query, "widget",
		    NULL, 0) != 0 || http_query_param(query, "q", NULL, 0) !=
		    0 || http_query_param(query, "assignee", NULL, 0) != 0 ||
		    http_query_param(query, "state", NULL, 0) != 0 ||
		    http_query_param(query, "knowledge", NULL, 0) != 0 ? -1 : 0;
	}
	/* Present means 1-64 characters: "widget=" is not "every widget". */
	if ((r = http_query_param(query, "widget", q->widget,
	    sizeof(q->widget))) < 0 || (r > 0 && !admin_widget_valid(q->widget)))
		return -1;
	if ((r = http_query_param(query, "q", q->q, sizeof(q->q))) < 0 ||
	    (r > 0 && (q->q[0] == '\0' ||
	    !proto_utf8_valid(q->q, strlen(q->q)))))
		return -1;
	/* knowledge=not_found: those with an answer nothing was found for. */
	if ((r = http_query_flag(query, "knowledge", "not_found")) < 0)
		return -1;
	q->gaps = r > 0;
	/* state=open|snoozed|resolved: that folder. */
	if ((r = http_query_param(query, "state", v, sizeof(v))) < 0 ||
	    (r > 0 && st_conv_state_parse(v) < 0))
		return -1;
	q->state = r > 0 ? 1 + st_conv_state_parse(v) : 0;
	return assignee_query(query, q);
}

/* ---------------------------------------------------------------- JSON */

json_t *
admin_conv_json(const struct st_conv *c)
{
	char session[EXPROW_SESSION_LEN + 1];
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	exprow_session(c->session, session);
	exprow_oset(o, "_id", exprow_text(c->id), &err);
	exprow_oset(o, "_creationTime", exprow_ms(c->created_at), &err);
	exprow_oset(o, "sessionId", exprow_text(session), &err);
	exprow_oset(o, "createdAt", exprow_ms(c->created_at), &err);
	exprow_oset(o, "updatedAt", exprow_ms(c->updated_at), &err);
	if (c->message_count > 0)
		exprow_oset(o, "lastMessage", exprow_text(c->last_message), &err);
	exprow_oset(o, "widgetId", exprow_text(c->widget), &err);
	exprow_oset(o, "messageCount", json_integer(c->message_count), &err);
	exprow_oset(o, "contactId", c->contact_id[0] != '\0' ?
	    exprow_text(c->contact_id) : json_null(), &err);
	exprow_oset(o, "handoff", exprow_text(st_handoff_name(c->handoff) !=
	    NULL ? st_handoff_name(c->handoff) : "ai"), &err);
	/* Who answers it: the user and its name when assigned. */
	exprow_oset(o, "assignee", c->assignee[0] != '\0' ?
	    json_pack("{s:o, s:o}", "id", exprow_text(c->assignee), "name",
	    exprow_text(c->assignee_name)) : json_null(), &err);
	/* Who took over, while a person answers: {id (null: a key), name}. */
	exprow_oset(o, "answered_by", c->handoff == ST_HANDOFF_HUMAN &&
	    c->human_by_name[0] != '\0' ? json_pack("{s:o, s:o}", "id",
	    c->human_by[0] != '\0' ? exprow_text(c->human_by) : json_null(),
	    "name", exprow_text(c->human_by_name)) : json_null(), &err);
	/* Who put it in the queue, while it waits there (null: before kept). */
	exprow_oset(o, "waiting_by", c->handoff == ST_HANDOFF_WAITING &&
	    c->waiting_by != ST_WAITING_NONE ?
	    exprow_text(st_waiting_by_name(c->waiting_by)) : json_null(),
	    &err);
	/* The inbox (issue 24): storaged names the visitor, and says unread. */
	exprow_oset(o, "visitorName", exprow_text(c->visitor_name), &err);
	exprow_oset(o, "lastVisitorMessage", exprow_text(c->last_visitor),
	    &err);
	exprow_oset(o, "unread", json_boolean(c->unread), &err);
	/* Its state; when snoozed, until when; when resolved, by whom, when. */
	exprow_oset(o, "state", exprow_text(st_conv_state_name(c->conv_state)
	    != NULL ? st_conv_state_name(c->conv_state) : "open"), &err);
	exprow_oset(o, "snoozed_until", c->conv_state == ST_STATE_SNOOZED ?
	    exprow_ms(c->snoozed_until) : json_null(), &err);
	exprow_oset(o, "resolved_by", c->conv_state == ST_STATE_RESOLVED &&
	    c->resolved_by != ST_RESOLVED_NONE ?
	    exprow_text(st_resolved_by_name(c->resolved_by)) : json_null(),
	    &err);
	exprow_oset(o, "resolved_at", c->conv_state == ST_STATE_RESOLVED ?
	    exprow_ms(c->resolved_at) : json_null(), &err);
	/* When a person was first asked for in it. */
	exprow_oset(o, "handoff_requested_at", c->asked_at != 0 ?
	    exprow_ms(c->asked_at) : json_null(), &err);
	/* The visitor's rating (issue 26): {score, comment, ratedAt}, or null. */
	exprow_oset(o, "rating", c->rating != 0 ? json_pack("{s:i, s:o, s:o}",
	    "score", (int)c->rating, "comment",
	    exprow_text(c->rating_comment), "ratedAt",
	    exprow_ms(c->rated_at)) : json_null(), &err);
	return exprow_odone(o, err);
}

/* What the widget told of the visitor (NULL: ""), its latest. */
static json_t *
visitor_json(const struct st_visitor *v)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o}",
	    "pageUrl", exprow_text(v->page_url),
	    "referrer", exprow_text(v->referrer),
	    "userAgent", exprow_text(v->user_agent),
	    "language", exprow_text(v->language),
	    "timeZone", exprow_text(v->time_zone));
}

json_t *
admin_cited_json(const struct st_msg *m)
{
	json_t *a;

	if (m->cited == NULL || m->cited[0] == '\0' ||
	    (a = json_loads(m->cited, 0, NULL)) == NULL)
		return NULL;
	if (!json_is_array(a) || json_array_size(a) == 0) {
		json_decref(a);
		return NULL;
	}
	return a;
}

json_t *
admin_msg_json(const struct st_msg *m)
{
	json_t *o, *c;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	exprow_oset(o, "_id", exprow_text(m->id), &err);
	exprow_oset(o, "_creationTime", exprow_ms(m->created_at), &err);
	exprow_oset(o, "conversationId", exprow_text(m->conv_id), &err);
	exprow_oset(o, "role", exprow_text(m->role), &err);
	exprow_oset(o, "content", exprow_text(m->content), &err);
	exprow_oset(o, "createdAt", exprow_ms(m->created_at), &err);
	exprow_oset(o, "status", exprow_text(m->status), &err);
	exprow_oset(o, "promptTokens", json_integer(m->prompt_tokens), &err);
	exprow_oset(o, "completionTokens", json_integer(m->completion_tokens),
	    &err);
	/* A person's messages: the name shown, the author (a key's: null). */
	if (strcmp(m->role, "agent") == 0) {
		exprow_oset(o, "name", exprow_text(m->name), &err);
		exprow_oset(o, "authorId", m->author[0] != '\0' ?
		    exprow_text(m->author) : json_null(), &err);
	}
	/*
	 * A tool the model called: which, with what, how long, and whose
	 * (the owner's "action", or "page": one the visitor's page named).
	 */
	if (strcmp(m->role, "tool") == 0) {
		exprow_oset(o, "name", exprow_text(m->name), &err);
		exprow_oset(o, "origin", exprow_text(st_tool_origin_name(
		    m->tool_origin)), &err);
		exprow_oset(o, "arguments", exprow_text(m->arguments != NULL ?
		    m->arguments : ""), &err);
		exprow_oset(o, "duration_ms", json_integer(m->duration_ms),
		    &err);
	}
	/* An answer's thumb from the visitor (issue 26): "up", "down", null. */
	if (strcmp(m->role, "assistant") == 0) {
		exprow_oset(o, "feedback", st_feedback_name(m->feedback) !=
		    NULL ? json_string(st_feedback_name(m->feedback)) :
		    json_null(), &err);
		/* The knowledge sources it cites; what its search found. */
		exprow_oset(o, "sources", exprow_list(m->sources, m->nsources),
		    &err);
		/* The passages it cites, as the visitor saw them ([] none). */
		exprow_oset(o, "citations", (c = admin_cited_json(m)) != NULL ?
		    c : json_array(), &err);
		exprow_oset(o, "knowledge", exprow_text(st_msg_knowledge_name(
		    m->knowledge)), &err);
	}
	/* A visitor's or a person's files, as the dashboard opens them. */
	if (m->natts > 0)
		exprow_oset(o, "attachments", att_json(m->atts, m->natts, NULL,
		    m->conv_id, 0), &err);
	return exprow_odone(o, err);
}

json_t *
admin_items_json(const void *items, uint32_t n, size_t size,
    admin_json_fn item)
{
	const unsigned char *p = items;
	json_t *arr;
	uint32_t i;
	int status;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_array_append_new(arr, item(p + (size_t)i * size,
		    &status)) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

json_t *
admin_page_json(const char *key, json_t *items, uint64_t total,
    const char *next_cursor)
{
	json_t *root;
	int err = 0;

	if ((root = json_object()) == NULL) {
		json_decref(items);
		return NULL;
	}
	exprow_oset(root, key, items, &err);
	exprow_oset(root, "total", json_integer((json_int_t)total), &err);
	exprow_oset(root, "nextCursor", next_cursor[0] != '\0' ?
	    exprow_text(next_cursor) : json_null(), &err);
	return exprow_odone(root, err);
}

json_t *
admin_conv_item(const void *conv, int *status)
{
	return admin_conv_json(conv);
}

static json_t *
msg_item(const void *msg, int *status)
{
	return admin_msg_json(msg);
}

json_t *
admin_conv_page_json(const void *rep, int *status)
{
	const struct st_conv_page *p = rep;

	return admin_page_json("conversations",
	    ADMIN_ITEMS_JSON(p->convs, p->n, admin_conv_item), p->total,
	    p->next_cursor);
}

json_t *
admin_conv_get_json(const void *rep, int *status)
{
	const struct st_conv_msgs *cm = rep;
	json_t *root, *conv;
	int err = 0;

	if ((root = json_object()) == NULL)
		return NULL;
	if ((conv = admin_conv_json(&cm->conv)) != NULL)
		exprow_oset(conv, "visitor", visitor_json(&cm->conv.visitor),
		    &err);
	exprow_oset(root, "conversation", conv, &err);
	exprow_oset(root, "messages", ADMIN_ITEMS_JSON(cm->msgs, cm->n,
	    msg_item), &err);
	/* Only when storaged could not send the whole thread. */
	if (cm->truncated)
		exprow_oset(root, "truncated", json_true(), &err);
	return exprow_odone(root, err);
}

/* ------------------------------------------------------------ handlers */

const char *
admin_request_org(const struct http_request *req, char *buf)
{
	const char *org = http_header(req, "x-organization-id");

	if (org != NULL && *org != '\0')
		return org;
	switch (http_query_param(req->query, "organization_id", buf,
	    ADMIN_ORG_BUF)) {
	case 1:
		return buf;
	case -1:
	case -2:
		/*
		 * A bad escape anywhere is the route's own 400, unless the
		 * query names an organisation (twice, too): then never the
		 * default one.
		 */
		if (strstr(req->query, "organization_id=") == NULL)
			return NULL;
		strlcpy(buf, "-", ADMIN_ORG_BUF);
		return buf;
	}
	return NULL;
}

/* The install key: who asks acts in the organisation the request names. */
static int
gate_install(struct conn *c, struct http_request *req)
{
	char buf[ADMIN_ORG_BUF];
	const char *org = admin_request_org(req, buf);

	c->who.kind = ST_WHO_KEY;
	strlcpy(c->who.id, "install", sizeof(c->who.id));
	c->who.role = ST_ROLE_OWNER;
	if (org == NULL || *org == '\0')
		org = ST_ORG_DEFAULT;
	/* One that cannot exist is answered as one that does not. */
	if (!st_org_id_valid(org)) {
		conn_send_error(c, 404, admin_headers,
		    "Organization not found");
		return 1;
	}
	strlcpy(c->who.org, org, sizeof(c->who.org));
	return 0;
}

/* An organisation's key being looked up: what runs once it is found. */
struct keygate {
	struct conn *c;
	struct http_request *req;	/* c->req: valid while c is busy */
	struct route_match m;		/* a copy (router_match_copy) */
};

static struct conn *
keygate_end(struct keygate *g)
{
	struct conn *c = g->c;

	conn_let_go(c);
	return c;
}

/*
 * ST_KEY_AUTH -> found, the key's id, organisation and role: who asks,
 * in the key's own organisation only (another's x-organization-id is
 * one it cannot see: 404), then the route.
 */
static void
keygate_done(const struct storec_result *r, void *arg)
{
	struct keygate *g = arg;
	struct conn *c = keygate_end(g);
	struct st_key_auth_rep rep;
	char buf[ADMIN_ORG_BUF];
	const char *org;

	if (r->status != STOREC_OK) {
		admin_answer(c, r, PROTO_ST_KEY_AUTH, 200, NULL, NULL);
		goto out;
	}
	if (storec_decode(r, PROTO_ST_KEY_AUTH, &rep) < 0 || rep.found > 1 ||
	    (rep.found && (rep.k.role < ST_ROLE_AGENT ||
	    rep.k.role > ST_ROLE_OWNER))) {
		log_warnx("admin: ST_KEY_AUTH: a reply that is wrong");
		conn_send_error(c, 500, admin_headers, "Internal server error");
		goto out;
	}
	if (!rep.found) {
		conn_send_error(c, 401, admin_headers, "Unauthorized");
		goto out;
	}
	org = admin_request_org(g->req, buf);
	if (org != NULL && *org != '\0' && strcmp(org, rep.k.org) != 0) {
		conn_send_error(c, 404, admin_headers,
		    "Organization not found");
		goto out;
	}
	c->who.kind = ST_WHO_ORGKEY;
	strlcpy(c->who.id, rep.k.id, sizeof(c->who.id));
	strlcpy(c->who.org, rep.k.org, sizeof(c->who.org));
	c->who.role = rep.k.role;
	router_run(c, g->req, &g->m);
out:
	free(g);
}

/*
 * An organisation's key: storaged finds it by the SHA-256 of the secret
 * (never sent, never logged), on every request: a deleted key fails on
 * every worker at once. 1: answered or under way.
 */
static int
gate_orgkey(struct conn *c, struct http_request *req,
    const struct route_match *m, const char *secret)
{
	struct st_key_auth_req q = { .hash_len = sizeof(q.hash) };
	struct keygate *g;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		log_warn("admin: api key");
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return 1;
	}
	g->c = c;
	g->req = req;
	router_match_copy(&g->m, m);
	proto_sha256(secret, strlen(secret), q.hash);
	conn_hold(c, g, free);
	if (storec_ask(NULL, PROTO_ST_KEY_AUTH, &q, keygate_done, g,
	    &c->sreq) < 0) {
		keygate_end(g);
		free(g);
		conn_send_error(c, 503, admin_headers, "Storage unavailable");
	}
	OPENSSL_cleanse(&q, sizeof(q));
	return 1;
}

const char *
admin_who_org(const struct st_who *w)
{
	return w->org[0] != '\0' ? w->org : ST_WHO_ORG_DEFAULT;
}

int
admin_gate(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	const char *key = http_header(req, "x-admin-api-key");
	int r;

	/* The router already checked a dashboard session (dashauth.c). */
	if (c->admin_session)
		return 0;
	if ((r = admin_auth(key)) == 0)
		return gate_install(c, req);
	if (key != NULL && st_key_secret_shape(key))
		return gate_orgkey(c, req, m, key);
	if (r == 503)
		conn_send_error(c, 503, admin_headers,
		    "ADMIN_API_KEY is not configured on this deployment");
	else
		conn_send_error(c, 401, admin_headers, "Unauthorized");
	return 1;
}

/* A cursor storaged does not recognise is the client's fault. */
const struct storec_answer admin_list_errors[] = {
	{ PROTO_E_INVALID, 400, "Invalid query parameters" },
	{ 0, 0, NULL },
};

static const struct storec_answer get_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Conversation not found" },
	{ PROTO_E_INVALID, 400, "Invalid conversationId" },
	{ 0, 0, NULL },
};

static const struct storec_answer delete_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Conversation not found" },
	{ PROTO_E_INVALID, 400, "Invalid conversationId" },
	{ 0, 0, NULL },
};

const char *
admin_timed_headers(const struct conn *c, char *buf, size_t bufsz)
{
	uint64_t now = proto_mono_us(), us;

	us = now > c->routed_us ? now - c->routed_us : 0;
	(void)snprintf(buf, bufsz, "%sServer-Timing: app;dur=%llu.%03llu\r\n",
	    admin_headers, (unsigned long long)(us / 1000),
	    (unsigned long long)(us % 1000));
	return buf;
}

void
admin_send_json(struct conn *c, int status, json_t *v)
{
	char hdrs[ADMIN_TIMED_HEADERS_MAX];

	if (v == NULL)
		conn_send_error(c, 500, admin_headers, "Internal server error");
	else
		conn_send_json(c, status, admin_timed_headers(c, hdrs,
		    sizeof(hdrs)), v);
}

void
admin_bad_query(struct conn *c)
{
	conn_send_error(c, 400, admin_headers, "Invalid query parameters");
}

/*
 * The role fields (a member's, an invitation's, an API key's) read
 * through here alike: a NUL inside the name is refused, never cut at,
 * as every other text a handler takes.
 */
uint8_t
admin_role_value(json_t *v)
{
	const char *s = exprow_plain(v);

	return s != NULL ? st_role_parse(s) : ST_ROLE_NONE;
}

const char *
admin_take_text(json_t *v, char **dst, int nullable)
{
	const char *s;
	char *copy;

	if (nullable && json_is_null(v))
		s = "";
	else if (!json_is_string(v))
		return nullable ? "must be a string or null" :
		    "must be a string";
	else {
		s = json_string_value(v);
		if (strlen(s) != json_string_length(v))
			return "must not contain NUL characters";
	}
	if ((copy = strdup(s)) == NULL)
		return "";
	if (*dst != NULL)
		explicit_bzero(*dst, strlen(*dst));	/* maybe a key */
	free(*dst);
	*dst = copy;
	return NULL;
}

const char *
admin_body_other(json_t *root, const char *const *allowed)
{
	const char *k, *const *a;
	json_t *v;

	json_object_foreach(root, k, v) {
		for (a = allowed; *a != NULL && strcmp(*a, k) != 0; a++)
			;
		if (*a == NULL)
			return k;
	}
	return NULL;
}

json_t *
admin_json_parse(struct http_request *req, const char **why)
{
	json_error_t jerr;
	json_t *root;
	const char *body = req->body != NULL ? req->body : "";
	size_t len = req->body_len;

	if (!proto_json_ctype(http_header(req, "content-type"))) {
		*why = "Content-Type must be application/json";
		return NULL;
	}
	body = proto_bom_skip(body, &len);
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	/* A number JSON allows but no field takes is told apart. */
	if (root == NULL)
		*why = json_error_code(&jerr) == json_error_numeric_overflow ?
		    "Invalid JSON body: a number out of range" :
		    "Invalid JSON body";
	return root;
}

json_t *
admin_json_body(struct conn *c, struct http_request *req)
{
	const char *why;
	json_t *root;

	if ((root = admin_json_parse(req, &why)) == NULL)
		conn_send_error(c, 400, admin_headers, why);
	return root;
}

int
admin_said_invalid(struct conn *c, const struct storec_result *r,
    const char *fallback)
{
	const char *msg = r->message != NULL && r->message[0] != '\0' ?
	    r->message : fallback;

	if (r->status != STOREC_ERROR || r->code != PROTO_E_INVALID ||
	    msg == NULL)
		return 0;
	conn_send_error(c, 400, admin_headers, msg);
	return 1;
}

/* 1 when own answers code its own way. */
static int
own_answers(const struct storec_answer *own, uint32_t code)
{
	for (; own != NULL && own->status != 0; own++)
		if (own->code == code)
			return 1;
	return 0;
}

/*
 * storaged's error (r not STOREC_OK) answered: 1; 0 when r is OK. A
 * bound on what it keeps reached (`full`: an organisation's knowledge
 * base quota) is 507 with storaged's words, unless own says otherwise.
 */
static int
admin_failed(struct conn *c, const struct storec_result *r,
    const struct storec_answer *own)
{
	const char *msg;
	int status;

	if (r->status == STOREC_OK)
		return 0;
	if (r->status == STOREC_ERROR && r->code == PROTO_E_FULL &&
	    !own_answers(own, PROTO_E_FULL) && r->message != NULL &&
	    r->message[0] != '\0') {
		conn_send_error(c, 507, admin_headers, r->message);
		return 1;
	}
	status = storec_http_error(r, own, "admin", &msg);
	if (status == 503 && storec_full_text(r) != NULL)
		msg = storec_full_text(r);
	conn_send_error(c, status, admin_headers, msg);
	return 1;
}

json_t *
admin_reply_json(const struct storec_result *r, uint16_t type,
    admin_json_fn fn, int *status)
{
	union st_any rep;
	json_t *v;

	if (storec_decode(r, type, &rep) < 0)
		return NULL;
	if ((v = fn(&rep, status)) == NULL)
		log_warnx("admin: %s: cannot make the answer",
		    proto_msg_name(type));
	st_rep_free(type, &rep);
	return v;
}

/*
 * Success answers with a body carry Server-Timing: the time from routing
 * to the answer queued (make bench reads it).
 */
void
admin_answer(struct conn *c, const struct storec_result *r, uint16_t type,
    int status, admin_json_fn fn, const struct storec_answer *own)
{
	union st_any none;
	json_t *v;

	if (admin_failed(c, r, own))
		return;
	if (fn != NULL) {
		v = admin_reply_json(r, type, fn, &status);
		admin_send_json(c, status, v);
		return;
	}
	/* An empty reply, exactly: a stray byte is a reply that is wrong. */
	if (storec_decode(r, type, &none) == 0) {
		st_rep_free(type, &none);
		conn_send(c, status, admin_headers, NULL, NULL, 0);
		return;
	}
	conn_send_error(c, 500, admin_headers, "Internal server error");
}

static const struct admin_reply conv_listed = {
	PROTO_ST_CONV_QUERY, 200, admin_conv_page_json, admin_list_errors, 0
};
static const struct admin_reply conv_deleted = {
	PROTO_ST_CONV_DELETE, 204, NULL, delete_errors, 0
};
static const struct admin_reply conv_got = {
	PROTO_ST_CONV_GET, 200, admin_conv_get_json, get_errors, 0
};
static const struct admin_reply conv_read = {
	PROTO_ST_CONV_READ, 204, NULL, get_errors, 0
};

int
admin_user_only(struct conn *c, const char *what)
{
	char msg[128];

	if (c->admin_session && c->who.user[0] != '\0')
		return 0;
	snprintf(msg, sizeof(msg), "%s a dashboard user's own: sign in to the "
	    "dashboard", what);
	conn_send_error(c, 403, admin_headers, msg);
	return -1;
}

void
admin_ask(struct conn *c, uint16_t type, const void *req, storec_cb cb,
    const char *headers)
{
	if (storec_ask(&c->who, type, req, cb, c, &c->sreq) < 0)
		conn_send_error(c, 503, headers, "Storage unavailable");
}

int
admin_ask_held(struct conn *c, void *ctx, void (*free_ctx)(void *),
    uint16_t type, const void *req, storec_cb cb)
{
	conn_hold(c, ctx, free_ctx);
	if (storec_ask(&c->who, type, req, cb, c, &c->sreq) == 0)
		return 0;
	free_ctx(conn_take(c));
	conn_send_error(c, 503, admin_headers, "Storage unavailable");
	return -1;
}

void
admin_reply_answer(struct conn *c, const struct storec_result *r,
    const struct admin_reply *how)
{
	if (how->invalid_text && admin_said_invalid(c, r, NULL))
		return;
	admin_answer(c, r, how->type, how->status, how->fn, how->own);
}

/* admin_ask_reply's answer: the reply's description where it left it. */
static void
reply_done(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;

	admin_reply_answer(c, r, c->hctx);
}

void
admin_ask_reply(struct conn *c, const void *req, const struct admin_reply *how)
{
	c->hctx = (void *)how;
	admin_ask(c, how->type, req, reply_done, admin_headers);
}

void
admin_ask_id(struct conn *c, const char *id, const struct admin_reply *how)
{
	struct st_id_req q = { .id = id };

	if (id != NULL)
		admin_ask_reply(c, &q, how);
}

void
admin_view_get(struct conn *c, struct http_request *req,
    const struct admin_view *v)
{
	char cursor[ST_CURSOR_MAX + 1];
	struct st_page_req page;

	if (!v->paged) {
		admin_ask_reply(c, NULL, &v->reply);
		return;
	}
	if (admin_list_query(req->query, &page.limit, cursor,
	    sizeof(cursor)) < 0) {
		admin_bad_query(c);
		return;
	}
	page.cursor = cursor;
	admin_ask_reply(c, &page, &v->reply);
}

const char *
admin_path_id(struct conn *c, const struct route_match *m,
    int (*valid)(const char *), const char *not_found)
{
	const char *id = m->nparams > 0 ? m->param[0] : "";

	if (!valid(id)) {
		conn_send_error(c, 404, admin_headers, not_found);
		return NULL;
	}
	return id;
}

const char *
admin_id_param(struct conn *c, struct http_request *req,
    const struct route_match *m, const char *invalid)
{
	const char *id = m->nparams > 0 ? m->param[0] : "";

	if (strlen(id) != ST_ID_HEX || !st_id_valid(id)) {
		conn_send_error(c, 400, admin_headers, invalid);
		return NULL;
	}
	return id;
}

/* Always ST_CONV_QUERY: it is ST_CONV_LIST when widget and q are "". */
void
admin_conv_list(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct admin_conv_q q;
	struct st_conv_query_req cq;

	if (admin_conv_query(req->query, &q) < 0) {
		admin_bad_query(c);
		return;
	}
	if (q.handoff_open) {
		handoff_list(c, q.limit, q.cursor);
		return;
	}
	/* A key has no person to be: only a dashboard session has "mine". */
	if (q.mine && c->who.kind != ST_WHO_SESSION) {
		conn_send_error(c, 400, admin_headers,
		    "assignee=mine needs a dashboard session");
		return;
	}
	if (q.mine)
		strlcpy(q.assignee, c->who.user, sizeof(q.assignee));
	cq.limit = q.limit;
	cq.cursor = q.cursor;
	cq.widget = q.widget;
	cq.q = q.q;
	cq.assigned = (uint8_t)q.assigned;
	cq.assignee = q.assignee;
	cq.gaps = (uint8_t)q.gaps;
	cq.state = (uint8_t)q.state;
	cq.order = ST_ORDER_ACTIVITY;
	admin_ask_reply(c, &cq, &conv_listed);
}

/* A request of type naming the route's conversation alone. */
static void
conv_id_ask(struct conn *c, struct http_request *req,
    const struct route_match *m, const struct admin_reply *how)
{
	admin_ask_id(c, admin_id_param(c, req, m, "Invalid conversationId"),
	    how);
}

void
admin_conv_delete(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	conv_id_ask(c, req, m, &conv_deleted);
}

void
admin_conv_read(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	conv_id_ask(c, req, m, &conv_read);
}

void
admin_conv_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_conv_get_req get;

	get.max_messages = ADMIN_MAX_MESSAGES;
	if ((get.conv_id = admin_id_param(c, req, m,
	    "Invalid conversationId")) != NULL)
		admin_ask_reply(c, &get, &conv_got);
}
