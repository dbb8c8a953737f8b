/*
 * Setup mistakes told (issue 24): the refusals a widget's visitors got,
 * counted by storaged (storaged/setupcounts.h), and what the owner sees of them.
 *
 *	setup_note()	a refusal (or an accepted config fetch) to storaged,
 *			answered by nobody: the chat, the config, the socket
 *			and the router call it as they refuse
 *	POST /api/widget/:wid/report?reason=csp	the widget's own word that
 *			the page's CSP blocked its socket (204)
 *	GET  /v1/admin/widgets/:wid/setup	the counts, the fix for each
 *			and the last origins seen
 *
 * Why the widget reports a CSP block itself: the server only sees a
 * config fetch with no socket after it, which is also a visitor who never
 * opened the chat (the socket opens with the panel). The widget knows:
 * the browser tells it (securitypolicyviolation, or a socket refused at
 * once), and the same CSP let it fetch the config over plain HTTP from
 * this origin, so a POST here gets through. Any page may send one (no
 * key): it only counts, in storaged's bounded table, at most
 * ST_SETUP_REPORTS_PER_MIN a minute per client, its origin (an http(s)
 * origin, else 400) listed apart from the sites the server saw itself.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "log.h"
#include "workerd.h"

/* The fix for each refusal, as the dashboard shows it. */
static const struct {
	const char *name;
	const char *fix;
} reasons[ST_SETUP_NREASONS] = {
	[ST_SETUP_KEY] = { "key", "The page's data-api-key is not this "
	    "server's WIDGET_API_KEY: copy the key again into the embed." },
	[ST_SETUP_CORS] = { "cors", "The page's origin is not in "
	    "CORS_ORIGIN: add it there (comma-separated) and reload Parley." },
	[ST_SETUP_ORIGIN] = { "origin", "The page's origin is not in this "
	    "widget's allowed origins: add it in the widget's settings." },
	[ST_SETUP_CSP] = { "csp", "The page's Content-Security-Policy "
	    "blocks the widget's WebSocket: add the CSP line below." },
	[ST_SETUP_DISABLED] = { "disabled", "The widget is disabled: "
	    "enable it in its settings." },
};

static void
note_done(const struct storec_result *r, void *arg)
{
	(void)arg;
	if (r->status == STOREC_ERROR)
		log_warnx("setup: ST_SETUP_NOTE: %s", r->message);
}

/* The note to storaged; rate_key "" uncounted (the server's own refusals). */
static void
note_send(unsigned reason, const char *widget_id, const char *origin,
    const char *rate_key)
{
	struct st_setup_note_req q;

	if (reason >= ST_SETUP_NREASONS)
		return;
	q.reason = (uint8_t)reason;
	q.rate_key = rate_key;
	q.widget_id = widget_id != NULL && widget_id_valid(widget_id) ?
	    widget_id : "";
	/* Cut to what storaged keeps: the table bounds it, not the client. */
	strlcpy(q.origin, origin != NULL ? origin : "", sizeof(q.origin));
	(void)storec_ask(NULL, PROTO_ST_SETUP_NOTE, &q, note_done, NULL, NULL);
}

void
setup_note(unsigned reason, const char *widget_id, const char *origin)
{
	note_send(reason, widget_id, origin, "");
}

/* POST /api/widget/:wid/report?reason=csp */
void
setup_report_post(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	static const char hdrs[] = "Cache-Control: no-store\r\n"
	    "Access-Control-Allow-Origin: *\r\n";
	const char *wid = m->nparams > 0 ? m->param[0] : "";
	const char *origin = http_header(req, "origin");
	char reason[8], key[ST_RATE_KEY_MAX + 1];

	if (!widget_id_valid(wid)) {
		conn_send_error(c, 404, hdrs, "Widget not found");
		return;
	}
	if (http_query_param(req->query, "reason", reason,
	    sizeof(reason)) != 1 || strcmp(reason, "csp") != 0) {
		conn_send_error(c, 400, hdrs, "Invalid report: reason must be csp");
		return;
	}
	if (origin == NULL || *origin == '\0') {
		conn_send_error(c, 400, hdrs, "Invalid report: the page's Origin "
		    "header is required");
		return;
	}
	if (strlen(origin) > ST_SETUP_ORIGIN_MAX || !st_origin_valid(origin)) {
		conn_send_error(c, 400, hdrs, "Invalid report: Origin must be "
		    "an http(s) origin of at most 100 bytes");
		return;
	}
	clientip_key(c, req, "rp:", key, sizeof(key));
	note_send(ST_SETUP_CSP, wid, origin, key);
	conn_send(c, 204, hdrs, NULL, NULL, 0);
}

static json_t *
refusal_json(unsigned reason, uint64_t n)
{
	return json_pack("{s:s, s:I, s:s}", "reason", reasons[reason].name,
	    "count", (json_int_t)n, "fix", reasons[reason].fix);
}

static json_t *
origin_json(const struct st_setup_origin *o)
{
	int err = 0;
	json_t *j = json_object();

	exprow_oset(j, "origin", exprow_text(o->origin), &err);
	exprow_oset(j, "last_seen", exprow_ms(o->last_at), &err);
	exprow_oset(j, "result", json_string(o->reason == ST_SETUP_SEEN ?
	    "accepted" : o->reason < ST_SETUP_NREASONS ?
	    reasons[o->reason].name : "refused"), &err);
	exprow_oset(j, "count", json_integer(o->count), &err);
	return exprow_odone(j, err);
}

/* ST_SETUP_GET's reply as the answer. */
static json_t *
setup_json(const void *rep, int *status)
{
	const struct st_setup_rep *s = rep;
	const uint64_t n[ST_SETUP_NREASONS] = {
		0, s->key, s->cors, s->origin, s->csp, s->disabled,
	};
	json_t *o = json_object(), *refusals = json_array(),
	    *origins = json_array(), *reports = json_array();
	unsigned i;
	int err = 0;

	(void)status;
	for (i = ST_SETUP_SEEN + 1; i < ST_SETUP_NREASONS; i++)
		if (refusals == NULL || json_array_append_new(refusals,
		    refusal_json(i, n[i])) < 0)
			err = 1;
	for (i = 0; i < s->norigins; i++)
		if (origins == NULL || json_array_append_new(origins,
		    origin_json(&s->origins[i])) < 0)
			err = 1;
	for (i = 0; i < s->nreports; i++)
		if (reports == NULL || json_array_append_new(reports,
		    origin_json(&s->reports[i])) < 0)
			err = 1;
	exprow_oset(o, "since", exprow_ms(s->since), &err);
	exprow_oset(o, "refusals", refusals, &err);
	exprow_oset(o, "origins", origins, &err);
	exprow_oset(o, "reported_origins", reports, &err);
	return exprow_odone(o, err);
}

static const struct storec_answer setup_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Widget not found" },
	{ 0, 0, NULL },
};

/* GET /v1/admin/widgets/:wid/setup */
ADMIN_ID_ROUTE(widgets_setup_get, admin_path_id(c, m, widget_id_valid,
    "Widget not found"), PROTO_ST_SETUP_GET, 200, setup_json, setup_errors, 0)
