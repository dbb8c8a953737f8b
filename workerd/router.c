/*
 * Method + path -> handler. Every route is listed here, in one table.
 *
 * Literal segments compare as sent; a ":name" segment matches one
 * non-empty segment and is handed over percent-decoded. One trailing
 * slash is ignored, as Express does. A path that no route knows is 404;
 * a known path with another method is 405 with Allow. GET routes answer
 * HEAD too (the response writer leaves the body out).
 *
 * CORS comes first, for every path: an Origin that CORS_ORIGIN does not
 * allow is refused with 403 before anything else; a preflight (OPTIONS
 * with Access-Control-Request-Method) to a known path is answered 204.
 * The exceptions are the routes flagged R_PUBLIC: the widget bundle
 * (GET/HEAD, both paths, and its parts and languages): it is public, any site loads it (a <script
 * crossorigin> or a module script sends Origin), and it answers every
 * Origin with "Access-Control-Allow-Origin: *" itself; a widget's public
 * config (GET, HEAD, OPTIONS) and the widget's WebSocket, which the
 * widget's own allowed_origins guard (widgets.c, wschat.c); the config
 * answers its preflight itself; a visitor's uploads and files
 * (attach/upload.c): storaged holds the uploads to the same
 * allowed_origins, and widgets.c answers their preflight as the
 * config's. The API the Open Chat Widget calls is what CORS_ORIGIN
 * guards.
 *
 * The dashboard and the admin API (flags R_DASH, R_ADMIN) are not checked
 * against CORS_ORIGIN when the Origin is the server's own (its host and
 * port are the request's Host): the dashboard calls them from there, a
 * browser sends Origin with its POSTs, and CORS_ORIGIN lists the sites
 * that embed the widget, not Parley itself.
 *
 * Every R_ADMIN route is authorised here before its handler runs (the
 * handlers check nothing): a request with a dashboard session cookie and
 * no x-admin-api-key runs it once storaged has said the session is valid
 * (and, unless GET/HEAD, x-csrf-token matched), with c->admin_session set
 * (dashauth_gate, dashauth.c); any other must carry the admin key
 * (admin_gate), else 401. Then router_run: a route flagged R_INSTALL
 * (organisations) is for the install key alone, 403 to a session; a
 * later route of the kind only sets the flag.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "admin.h"
#include "attach.h"
#include "chat.h"
#include "log.h"
#include "site.h"
#include "static.h"
#include "workerd.h"

static void router_health_get(struct conn *, struct http_request *,
    const struct route_match *);
static void router_ready_get(struct conn *, struct http_request *,
    const struct route_match *);

static const struct route routes[] = {
	{ M_GET,	"/health",			router_health_get, 0, 0,
	    0 },
	{ M_GET,	"/ready",			router_ready_get, 0, 0,
	    0 },
	{ M_GET,	"/metrics",			metrics_get, R_EXACT, 0, 0 },
	{ M_GET,	"/v1/openapi.json",		openapi_get, 0, 0, 0 },
	{ M_POST,	"/v1/chat",			chat_post_v1, 0,
	    ROUTE_BODY_CHAT, 0 },
	{ M_POST,	"/v1/chat/stream",		chat_post_stream, 0,
	    ROUTE_BODY_CHAT, 0 },
	{ M_POST,	"/chat",			chat_post_stream, 0,
	    ROUTE_BODY_CHAT, 0 },
	{ M_GET,	"/v1/chat/history",		chat_get_history, 0, 0,
	    0 },
	{ M_POST,	"/v1/chat/attachments",		att_chat_new, 0, 0, 0 },
	{ M_GET | M_PUT | M_DELETE, "/v1/chat/attachments/:att",
	    att_chat_piece, 0, ROUTE_BODY_PIECE, 0 },
	{ M_GET,	"/v1/admin/conversations",	admin_conv_list,
	    R_ADMIN, 0, ST_ROLE_AGENT },
	{ M_GET,	"/v1/admin/conversations/:id",	admin_conv_get,
	    R_ADMIN, 0, ST_ROLE_AGENT },
	{ M_DELETE,	"/v1/admin/conversations/:id",	admin_conv_delete,
	    R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_PATCH,	"/v1/admin/conversations/:id",	handoff_state_patch,
	    R_ADMIN, ROUTE_BODY_ADMIN, ST_ROLE_AGENT },
	{ M_POST,	"/v1/admin/conversations/:id/handoff", handoff_post,
	    R_ADMIN, 0, ST_ROLE_AGENT },
	{ M_POST,	"/v1/admin/conversations/:id/messages",
	    handoff_message_post, R_ADMIN, ROUTE_BODY_ADMIN, ST_ROLE_AGENT },
	{ M_POST,	"/v1/admin/conversations/:id/typing",
	    handoff_typing_post, R_ADMIN, 0, ST_ROLE_AGENT },
	{ M_POST,	"/v1/admin/conversations/:id/assign",
	    handoff_assign_post, R_ADMIN, 0, ST_ROLE_AGENT },
	{ M_POST,	"/v1/admin/conversations/:id/attachments",
	    att_admin_new, R_ADMIN, 0, ST_ROLE_AGENT },
	{ M_GET | M_PUT | M_DELETE,
	    "/v1/admin/conversations/:id/attachments/:att",
	    att_admin_piece, R_ADMIN, ROUTE_BODY_PIECE, ST_ROLE_AGENT },
	{ M_POST,	"/v1/admin/conversations/:id/read", admin_conv_read,
	    R_ADMIN, 0, ST_ROLE_AGENT },
	{ M_GET,	"/v1/admin/canned-replies",	canned_list, R_ADMIN, 0,
	    ST_ROLE_AGENT },
	{ M_GET,	"/v1/admin/feedback",	feedback_summary_get, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/reports",	reports_get, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/knowledge-gaps",	gaps_get, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/knowledge-gaps/resolve", gaps_resolve_post,
	    R_ADMIN, ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/reports.csv",	reports_csv_get, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/canned-replies",	canned_create, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/canned-replies/attachments", att_canned_new,
	    R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/canned-replies/attachments/:att",
	    att_canned_piece, R_ADMIN, 0, ST_ROLE_AGENT },
	{ M_PUT | M_DELETE, "/v1/admin/canned-replies/attachments/:att",
	    att_canned_piece, R_ADMIN, ROUTE_BODY_PIECE, ST_ROLE_ADMIN },
	{ M_PUT,	"/v1/admin/canned-replies/:canned_id",	canned_update, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_DELETE,	"/v1/admin/canned-replies/:canned_id",	canned_delete, R_ADMIN,
	    0, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/events",		events_get, R_ADMIN, 0,
	    ST_ROLE_AGENT },
	{ M_GET,	"/v1/admin/export",		audit_export_get, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/widgets",		widgets_list, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/widgets",		widgets_create, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/widgets/:wid",	widgets_get, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_PATCH,	"/v1/admin/widgets/:wid",	widgets_update, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_DELETE,	"/v1/admin/widgets/:wid",	widgets_delete, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/widgets/:wid/reset-id", widgets_reset_id,
	    R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/widgets/:wid/identity-secret",
	    widgets_secret_set, R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_DELETE,	"/v1/admin/widgets/:wid/identity-secret",
	    widgets_secret_delete, R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/widgets/:wid/setup",	widgets_setup_get,
	    R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/widgets/:wid/check-page", widgets_check_page,
	    R_ADMIN, ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/agents",		agents_list, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/agents",		agents_create, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/agents/:agent_id",	agents_get, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_PATCH,	"/v1/admin/agents/:agent_id",	agents_update, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_DELETE,	"/v1/admin/agents/:agent_id",	agents_delete, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/users",		users_list, R_ADMIN, 0,
	    ST_ROLE_OWNER },
	{ M_POST,	"/v1/admin/users",		users_invite, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_OWNER },
	{ M_PATCH,	"/v1/admin/users/:user_id",	users_update, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_OWNER },
	{ M_DELETE,	"/v1/admin/users/:user_id",	users_delete, R_ADMIN, 0,
	    ST_ROLE_OWNER },
	{ M_GET,	"/v1/admin/invitations",	invitations_list,
	    R_ADMIN, 0, ST_ROLE_OWNER },
	{ M_DELETE,	"/v1/admin/invitations/:invitation_id",
	    invitations_revoke, R_ADMIN, 0, ST_ROLE_OWNER },
	{ M_GET,	"/v1/admin/organizations",	orgs_list,
	    R_ADMIN | R_INSTALL, 0, ST_ROLE_OWNER },
	{ M_POST,	"/v1/admin/organizations",	orgs_create,
	    R_ADMIN | R_INSTALL, ROUTE_BODY_ADMIN, ST_ROLE_OWNER },
	{ M_GET,	"/v1/admin/organizations/:org_id", orgs_get,
	    R_ADMIN | R_INSTALL, 0, ST_ROLE_OWNER },
	{ M_PATCH,	"/v1/admin/organizations/:org_id", orgs_update,
	    R_ADMIN | R_INSTALL, ROUTE_BODY_ADMIN, ST_ROLE_OWNER },
	{ M_DELETE,	"/v1/admin/organizations/:org_id", orgs_delete,
	    R_ADMIN | R_INSTALL, 0, ST_ROLE_OWNER },
	{ M_GET,	"/v1/admin/api-keys",		apikeys_list, R_ADMIN, 0,
	    ST_ROLE_OWNER },
	{ M_POST,	"/v1/admin/api-keys",		apikeys_create, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_OWNER },
	{ M_GET,	"/v1/admin/api-keys/:key_id",	apikeys_get, R_ADMIN, 0,
	    ST_ROLE_OWNER },
	{ M_DELETE,	"/v1/admin/api-keys/:key_id",	apikeys_delete, R_ADMIN,
	    0, ST_ROLE_OWNER },
	{ M_GET,	"/v1/admin/knowledge/sources",	knowledge_sources_list,
	    R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/knowledge/sources",	knowledge_sources_create,
	    R_ADMIN, ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/knowledge/sources/:source_id",
	    knowledge_sources_get, R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_PATCH,	"/v1/admin/knowledge/sources/:source_id",
	    knowledge_sources_update, R_ADMIN, ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_DELETE,	"/v1/admin/knowledge/sources/:source_id",
	    knowledge_sources_delete, R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/knowledge/sources/:source_id/sync",
	    knowledge_sources_sync, R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/knowledge/sources/:source_id/pages",
	    knowledge_sources_pages, R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_PUT,	"/v1/admin/knowledge/sources/:source_id/file",
	    knowledge_sources_file, R_ADMIN, ROUTE_BODY_FILE, ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/knowledge/search",	knowledge_search,
	    R_ADMIN, ROUTE_BODY_ADMIN, ST_ROLE_AGENT },
	{ M_GET,	"/v1/admin/actions",		actions_list, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/actions",		actions_create, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/actions/:action_id",	actions_get, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_PATCH,	"/v1/admin/actions/:action_id",	actions_update, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_DELETE,	"/v1/admin/actions/:action_id",	actions_delete, R_ADMIN,
	    0, ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/actions/:action_id/test", actions_test,
	    R_ADMIN, ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/webhooks",		webhooks_list, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/webhooks",		webhooks_create, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/webhooks/:hook_id",	webhooks_get, R_ADMIN, 0,
	    ST_ROLE_ADMIN },
	{ M_PATCH,	"/v1/admin/webhooks/:hook_id",	webhooks_update, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_ADMIN },
	{ M_DELETE,	"/v1/admin/webhooks/:hook_id",	webhooks_delete, R_ADMIN,
	    0, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/webhooks/:hook_id/deliveries",
	    webhooks_deliveries, R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/webhooks/:hook_id/deliveries/:delivery_id/retry",
	    webhooks_retry, R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/webhooks/:hook_id/test", webhooks_test,
	    R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_POST,	"/v1/admin/webhooks/:hook_id/secret", webhooks_secret,
	    R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/profile",		profile_get, R_ADMIN, 0,
	    ST_ROLE_AGENT },
	{ M_PATCH,	"/v1/admin/profile",		profile_patch, R_ADMIN,
	    ROUTE_BODY_ADMIN, ST_ROLE_AGENT },
	{ M_POST,	"/v1/admin/profile/password",	profile_password_post,
	    R_ADMIN, ROUTE_BODY_ADMIN, ST_ROLE_AGENT },
	{ M_GET,	"/v1/admin/notifications",	notifications_get,
	    R_ADMIN, 0, ST_ROLE_AGENT },
	{ M_PUT,	"/v1/admin/notifications",	notifications_put,
	    R_ADMIN, ROUTE_BODY_ADMIN, ST_ROLE_AGENT },
	{ M_GET,	"/v1/admin/audit",		audit_get, R_ADMIN, 0,
	    ST_ROLE_OWNER },
	{ M_GET,	"/v1/admin/contacts",		widgets_contacts_list,
	    R_ADMIN, 0, ST_ROLE_AGENT },
	{ M_GET,	"/v1/admin/contacts/:id",	widgets_contact_get,
	    R_ADMIN, 0, ST_ROLE_AGENT },
	{ M_DELETE,	"/v1/admin/contacts/:id",	contacts_delete,
	    R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/contacts/:id/export", contacts_export,
	    R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_GET,	"/v1/admin/contacts/:id/erasure", contacts_erasure,
	    R_ADMIN, 0, ST_ROLE_ADMIN },
	{ M_GET | M_OPTIONS, "/api/widget/:wid/config", widgets_config_get,
	    R_PUBLIC, 0, 0 },
	{ M_GET,	"/api/widget/:wid/ws",		wschat_upgrade, R_PUBLIC, 0,
	    0 },
	{ M_POST,	"/api/widget/:wid/report",	setup_report_post,
	    R_PUBLIC, 0, 0 },
	{ M_POST | M_OPTIONS, "/api/widget/:wid/attachments",
	    att_visitor_new, R_PUBLIC, 0, 0 },
	{ M_GET | M_PUT | M_DELETE | M_OPTIONS,
	    "/api/widget/:wid/attachments/:att", att_visitor_piece, R_PUBLIC,
	    ROUTE_BODY_PIECE, 0 },
	{ M_GET,	"/widget/chat-widget.js",	static_bundle_get,
	    R_PUBLIC, 0, 0 },
	{ M_GET,	"/api/widget/embed.js",		static_bundle_get,
	    R_PUBLIC, 0, 0 },
	{ M_GET,	"/widget/parts/:file",		static_mod_get,
	    R_PUBLIC, 0, 0 },
	{ M_GET,	"/widget/lang/:file",		static_mod_get,
	    R_PUBLIC, 0, 0 },
	{ M_GET,	"/widget-test.html",		static_page_get, 0, 0,
	    0 },
	{ M_GET,	"/headless-test.html",		static_page_get, 0, 0,
	    0 },
	{ M_GET,	"/test-pages/:file",		static_asset_get, 0, 0,
	    0 },
	{ M_GET,	"/",				static_root_get, 0, 0, 0 },
	{ M_GET,	"/login",			dashpages_login_redirect,
	    R_DASH, 0, 0 },
	{ M_GET,	"/dashboard",			dashpages_index_get, R_DASH, 0,
	    0 },
	{ M_GET,	"/dashboard/login",		dashpages_login_page_get,
	    R_DASH, 0, 0 },
	{ M_GET,	"/dashboard/assets/:file",	dashpages_asset_get,
	    R_DASH, 0, 0 },
	{ M_POST,	"/dashboard/api/login",		dashauth_login_post,
	    R_DASH, 0, 0 },
	{ M_GET,	"/dashboard/api/session",	dashauth_session_get,
	    R_DASH, 0, 0 },
	{ M_GET,	"/dashboard/api/signed-in",	dashauth_signed_in_get,
	    R_DASH, 0, 0 },
	{ M_POST,	"/dashboard/api/logout",	dashauth_logout_post,
	    R_DASH, 0, 0 },
	{ M_POST,	"/dashboard/api/invitations/accept",
	    dashauth_accept_post, R_DASH, 0, 0 },
	{ M_POST,	"/dashboard/api/invitations/view",
	    dashauth_invite_view_post, R_DASH, 0, 0 },
	{ M_GET,	"/dashboard/invite",		dashpages_invite_page_get,
	    R_DASH, 0, 0 },
};

void
router_wire(void)
{
	static const struct conn_hooks hooks = {
		.dispatch = router_dispatch,
		.answered = metrics_http,
		.quitting = worker_quitting,
		.conns_changed = worker_conns_changed,
		.sreq_cancel = storec_cancel,
		.body_max = router_body_max,
		.head_refused = router_head_refused,
	};

	conn_hooks_set(&hooks);
}

/* Origin is scheme://<Host>: the request comes from a page of ours. */
static int
same_origin(const struct http_request *req)
{
	const char *o = http_header(req, "origin");
	const char *h = http_header(req, "host");

	if (o == NULL || h == NULL || *h == '\0' ||
	    (o = strstr(o, "://")) == NULL)
		return 0;
	return strcasecmp(o + 3, h) == 0;
}

static unsigned int
method_bit(enum http_method m)
{
	switch (m) {
	case HTTP_GET:
	case HTTP_HEAD:
		return M_GET;
	case HTTP_POST:
		return M_POST;
	case HTTP_PUT:
		return M_PUT;
	case HTTP_PATCH:
		return M_PATCH;
	case HTTP_DELETE:
		return M_DELETE;
	case HTTP_OPTIONS:
		return M_OPTIONS;
	default:
		return 0;
	}
}

static void
allow_string(unsigned int methods, char *out, size_t outsz)
{
	static const struct {
		unsigned int bit;
		const char *names;
	} tab[] = {
		{ M_GET, "GET, HEAD" },
		{ M_POST, "POST" },
		{ M_PUT, "PUT" },
		{ M_PATCH, "PATCH" },
		{ M_DELETE, "DELETE" },
		{ M_OPTIONS, "OPTIONS" },
	};
	size_t i;

	out[0] = '\0';
	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (!(methods & tab[i].bit))
			continue;
		if (out[0] != '\0')
			strlcat(out, ", ", outsz);
		strlcat(out, tab[i].names, outsz);
	}
}

/* Decodes seg[0..len) into out (room for len + 1). -1 on a bad escape or NUL. */
static int
pct_decode(const char *seg, size_t len, char *out)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < len; i++) {
		if (seg[i] != '%') {
			out[o++] = seg[i];
			continue;
		}
		if (i + 2 >= len)
			return -1;
		if ((hi = proto_hex_digit((unsigned char)seg[i + 1])) < 0 ||
		    (lo = proto_hex_digit((unsigned char)seg[i + 2])) < 0)
			return -1;
		if (hi == 0 && lo == 0)
			return -1;
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	return 0;
}

/*
 * 1 when path fits pattern (parameters decoded into m), 0 when not,
 * -1 when it fits but a parameter is badly encoded.
 */
static int
path_match(const char *pattern, const char *path, size_t pathlen,
    struct route_match *m)
{
	const char *p = pattern, *s = path, *pend = path + pathlen;
	const char *pe, *se;
	size_t used = 0, plen, slen;
	int bad = 0;

	m->nparams = 0;
	for (;;) {
		/* Both point at a '/' or at their end. */
		if (*p == '\0' || s == pend)
			return (*p == '\0' && s == pend) ? (bad ? -1 : 1) : 0;
		if (*p != '/' || *s != '/')
			return 0;
		p++;
		s++;
		pe = strchr(p, '/');
		if (pe == NULL)
			pe = p + strlen(p);
		se = memchr(s, '/', (size_t)(pend - s));
		if (se == NULL)
			se = pend;
		plen = (size_t)(pe - p);
		slen = (size_t)(se - s);
		if (plen > 0 && p[0] == ':') {
			if (slen == 0 || m->nparams == ROUTE_MAX_PARAMS ||
			    used + slen + 1 > sizeof(m->buf))
				return 0;
			m->param[m->nparams++] = m->buf + used;
			if (pct_decode(s, slen, m->buf + used) < 0)
				bad = 1;
			used += slen + 1;
		} else if (plen != slen || memcmp(p, s, plen) != 0)
			return 0;
		p = pe;
		s = se;
	}
}

enum route_result
router_match(enum http_method method, const char *path, struct route_match *m)
{
	const struct route *r;
	unsigned int want = method_bit(method), known = 0;
	size_t i, len;
	int bad = 0, rv;

	memset(m->param, 0, sizeof(m->param));
	m->route = NULL;
	m->nparams = 0;
	m->allow[0] = '\0';
	if (path == NULL || path[0] != '/')
		return ROUTE_NOT_FOUND;
	len = strlen(path);
	if (len > 1 && path[len - 1] == '/')
		len--;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		r = &routes[i];
		if ((r->flags & R_EXACT) && path[len] != '\0')
			continue;
		if ((rv = path_match(r->pattern, path, len, m)) == 0)
			continue;
		if (r->methods & want) {
			if (rv > 0) {
				m->route = r;
				return ROUTE_OK;
			}
			bad = 1;
		}
		known |= r->methods;
	}
	m->nparams = 0;
	if (bad)
		return ROUTE_BAD_PATH;
	if (known == 0)
		return ROUTE_NOT_FOUND;
	allow_string(known, m->allow, sizeof(m->allow));
	return ROUTE_BAD_METHOD;
}

/*
 * The last route router_body_max found for a method and path, when it
 * has no parameters (its match is the route alone): a request with a
 * body is matched at its head and again at its dispatch, and the next
 * request most often has the same (a chat turn's POST, some 1,200
 * instructions a match). A match depends on the method and path alone,
 * so one found is the one router_match would find.
 */
static struct {
	enum http_method method;
	const struct route *route;	/* NULL: none kept */
	char path[HTTP_MAX_URL + 1];
} kept;

static void
match_keep(enum http_method method, const char *path,
    const struct route_match *m)
{
	kept.route = NULL;
	if (m->nparams != 0 || strlcpy(kept.path, path, sizeof(kept.path)) >=
	    sizeof(kept.path))
		return;
	kept.method = method;
	kept.route = m->route;
}

/* Whether the kept match is of this method and path. */
static int
kept_is(enum http_method method, const char *path)
{
	return kept.route != NULL && kept.method == method && path != NULL &&
	    strcmp(kept.path, path) == 0;
}

/* router_match, or the kept match when it is of this method and path. */
static enum route_result
match_again(enum http_method method, const char *path, struct route_match *m)
{
	if (!kept_is(method, path))
		return router_match(method, path, m);
	memset(m->param, 0, sizeof(m->param));
	m->route = kept.route;
	m->nparams = 0;
	m->allow[0] = '\0';
	return ROUTE_OK;
}

size_t
router_body_max(const struct http_request *req)
{
	const struct route *r = kept.route;
	struct route_match m;

	if (!kept_is(req->method, req->path)) {
		if (router_match(req->method, req->path, &m) != ROUTE_OK)
			return ROUTE_BODY_SMALL;
		match_keep(req->method, req->path, &m);
		r = m.route;
	}
	if (r->body_max == 0)
		return ROUTE_BODY_SMALL;
	return r->body_max;
}

/* metrics.c counts each route apart: a route past its bound would be "other". */
_Static_assert(sizeof(routes) / sizeof(routes[0]) <= METRICS_ROUTES_MAX,
    "METRICS_ROUTES_MAX is below the number of routes");

size_t
router_nroutes(void)
{
	return sizeof(routes) / sizeof(routes[0]);
}

const struct route *
router_route(size_t i)
{
	return i < router_nroutes() ? &routes[i] : NULL;
}

int
router_head_refused(const struct http_request *req, int status, char *hdrs,
    size_t hdrsz)
{
	struct route_match m;
	const char *cors = NULL;
	enum route_result rr;

	rr = router_match(req->method, req->path, &m);
	if (rr == ROUTE_OK && (m.route->flags & R_PUBLIC))
		cors = "Access-Control-Allow-Origin: *\r\n"
		    "Access-Control-Expose-Headers: Retry-After\r\n";
	else if (!(rr == ROUTE_OK && (m.route->flags & (R_ADMIN | R_DASH)) &&
	    same_origin(req)) && cors_check(http_header(req, "origin"),
	    &cors) == CORS_DENIED)
		return 403;
	if (cors != NULL)
		strlcat(hdrs, cors, hdrsz);
	if (status == 429 || status == 503)
		strlcat(hdrs, "Retry-After: 1\r\n", hdrsz);
	return status;
}

/*
 * An Origin CORS_ORIGIN does not allow: 403. Counted (setup.c) for the
 * widget's own calls, the chat API's paths (their preflight too), never
 * for the rest.
 */
static void
cors_refused(struct conn *c, struct http_request *req)
{
	const char *p = req->path;

	if (strcmp(p, "/chat") == 0 || strcmp(p, "/chat/") == 0 ||
	    strncmp(p, "/v1/chat", 8) == 0)
		setup_note(ST_SETUP_CORS, NULL, http_header(req, "origin"));
	conn_send_error(c, 403, NULL, "Origin not allowed");
}

void
router_dispatch(struct conn *c, struct http_request *req)
{
	struct route_match m;
	char hdr[sizeof(m.allow) + 16];
	enum route_result rr;

	c->routed_us = proto_mono_us();
	c->admin_session = 0;
	c->session_expires = 0;
	/* Nobody until the gate says (an admin route's) who asks. */
	memset(&c->who, 0, sizeof(c->who));
	rr = match_again(req->method, req->path, &m);
	c->route_ix = rr == ROUTE_OK ? (int)(m.route - routes) : -1;
	/* R_PUBLIC: any Origin, no CORS headers (see the top of this file). */
	if (rr == ROUTE_OK && (m.route->flags & R_PUBLIC)) {
		m.route->fn(c, req, &m);
		return;
	}
	if (rr == ROUTE_OK && (m.route->flags & (R_ADMIN | R_DASH)) &&
	    same_origin(req))
		c->cors_hdrs = NULL;
	else if (cors_check(http_header(req, "origin"), &c->cors_hdrs) ==
	    CORS_DENIED) {
		cors_refused(c, req);
		return;
	}
	if (req->method == HTTP_OPTIONS &&
	    http_header(req, "access-control-request-method") != NULL &&
	    (rr == ROUTE_BAD_METHOD || rr == ROUTE_BAD_PATH)) {
		/* A CORS preflight: no route answers OPTIONS itself. */
		conn_send(c, 204, cors_preflight_headers, NULL, NULL, 0);
		return;
	}
	switch (rr) {
	case ROUTE_OK:
		/* An admin route is authorised here, never by its handler. */
		if ((m.route->flags & R_ADMIN) &&
		    (dashauth_gate(c, req, &m) || admin_gate(c, req, &m) != 0))
			break;
		router_run(c, req, &m);
		break;
	case ROUTE_NOT_FOUND:
		conn_send_error(c, 404, NULL, "Not found");
		break;
	case ROUTE_BAD_METHOD:
		snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", m.allow);
		conn_send_error(c, 405, hdr, "Method not allowed");
		break;
	case ROUTE_BAD_PATH:
		conn_send_error(c, 400, NULL, "Malformed URL");
		break;
	}
}

void
router_match_copy(struct route_match *dst, const struct route_match *src)
{
	int i;

	memcpy(dst, src, sizeof(*dst));
	for (i = 0; i < ROUTE_MAX_PARAMS; i++)
		if (src->param[i] != NULL)
			dst->param[i] = dst->buf + (src->param[i] - src->buf);
}

void
router_run(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	if ((m->route->flags & R_INSTALL) && c->who.kind != ST_WHO_KEY) {
		conn_send_error(c, 403, admin_headers,
		    "Only the install API key may do this");
		return;
	}
	if ((m->route->flags & R_ADMIN) && c->who.role < m->route->role) {
		conn_send_error(c, 403, admin_headers,
		    "Your role may not do this");
		return;
	}
	m->route->fn(c, req, m);
}

/*
 * Liveness: never waits on storaged. 503 once storaged said its data
 * directory was removed or replaced (storec_store_failed): it refuses
 * every write until restarted, which a load balancer or monitor must see.
 */
static void
router_health_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	static const char ok[] = "{\"status\":\"ok\"}";
	static const char failed[] = "{\"status\":\"error\",\"error\":"
	    "\"Storage failed: the data directory was removed or replaced; "
	    "restart parley-storaged\"}";

	if (storec_store_failed())
		conn_send(c, 503, "Cache-Control: no-store\r\n", NULL, failed,
		    sizeof(failed) - 1);
	else
		conn_send(c, 200, "Cache-Control: no-store\r\n", NULL, ok,
		    sizeof(ok) - 1);
}

/*
 * Readiness: 200 once this worker can store (its storaged connection is
 * up, and storaged has not said its data directory failed); 503 before,
 * while storaged is away, and while the worker quits. For a load
 * balancer's check; /health stays liveness.
 */
static void
router_ready_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	static const char ok[] = "{\"status\":\"ready\"}";
	const char *why = NULL;

	if (worker_quitting())
		why = "not ready: shutting down";
	else if (!storec_connected())
		why = "not ready: storage unavailable";
	else if (storec_store_failed())
		why = "not ready: storage failed";
	if (why != NULL)
		conn_send_error(c, 503, "Cache-Control: no-store\r\n", why);
	else
		conn_send(c, 200, "Cache-Control: no-store\r\n", NULL, ok,
		    sizeof(ok) - 1);
}
