/*
 * GET /v1/openapi.json: the embedded document is the generated file
 * (build/gen/openapi.json, scripts/openapi.mjs), it is served
 * with an ETag (304 on If-None-Match), every $ref resolves, every path
 * it lists is routed, and every route is listed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "admin.h"
#include "attach.h"
#include "site.h"
#include "static.h"
#include "test_client.h"

static json_t *doc;

static int
setup(void **state)
{
	json_error_t err;

	loop_init();
	worker_conf_defaults();
	doc = json_load_file("build/gen/openapi.json", JSON_REJECT_DUPLICATES,
	    &err);
	if (doc == NULL)
		fail_msg("build/gen/openapi.json: %s", err.text);
	return 0;
}

static int
teardown(void **state)
{
	json_decref(doc);
	return 0;
}

static void
test_served(void **state)
{
	struct tclient cl;
	struct tresp r;
	size_t off = 0;
	char etag[64], v[128], req[256];
	json_t *served;
	FILE *f;
	char *file;
	long n;

	assert_int_equal(tclient_open(&cl), 0);
	snprintf(req, sizeof(req), "GET /v1/openapi.json HTTP/1.1\r\n"
	    "Host: t\r\n\r\n");
	assert_int_equal(tclient_send(&cl, req, strlen(req)), 0);
	assert_true(tresp_wait(&cl, &off, &r, 2000));
	assert_int_equal(r.status, 200);
	assert_string_equal(tresp_header(&r, "Content-Type", v, sizeof(v)),
	    "application/json; charset=utf-8");
	assert_string_equal(tresp_header(&r, "Cache-Control", v, sizeof(v)),
	    "no-cache");
	assert_non_null(tresp_header(&r, "ETag", etag, sizeof(etag)));
	assert_string_equal(etag, openapi_etag());
	assert_int_equal(strlen(etag), 34);

	/* Byte for byte the file the build generated. */
	assert_non_null(f = fopen("build/gen/openapi.json", "rb"));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	assert_non_null(file = malloc((size_t)n));
	assert_int_equal(fread(file, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_int_equal(r.body_len, (size_t)n);
	assert_memory_equal(r.body, file, (size_t)n);
	free(file);
	served = json_loads(r.body, 0, NULL);
	assert_non_null(served);
	assert_string_equal(json_string_value(json_object_get(served,
	    "openapi")), "3.1.0");
	json_decref(served);
	tresp_free(&r);

	/* Revalidation. */
	snprintf(req, sizeof(req), "GET /v1/openapi.json HTTP/1.1\r\nHost: t"
	    "\r\nIf-None-Match: \"x\", %s\r\n\r\n", etag);
	assert_int_equal(tclient_send(&cl, req, strlen(req)), 0);
	assert_true(tresp_wait(&cl, &off, &r, 2000));
	assert_int_equal(r.status, 304);
	assert_string_equal(tresp_header(&r, "ETag", v, sizeof(v)), etag);
	tresp_free(&r);
	snprintf(req, sizeof(req), "GET /v1/openapi.json HTTP/1.1\r\nHost: t"
	    "\r\nIf-None-Match: W/%s\r\n\r\n", etag);
	assert_int_equal(tclient_send(&cl, req, strlen(req)), 0);
	assert_true(tresp_wait(&cl, &off, &r, 2000));
	assert_int_equal(r.status, 304);
	tresp_free(&r);
	snprintf(req, sizeof(req), "GET /v1/openapi.json HTTP/1.1\r\nHost: t"
	    "\r\nIf-None-Match: \"0000\"\r\n\r\n");
	assert_int_equal(tclient_send(&cl, req, strlen(req)), 0);
	assert_true(tresp_wait(&cl, &off, &r, 2000));
	assert_int_equal(r.status, 200);
	tresp_free(&r);
	tclient_close(&cl);
}

/* Every "$ref" in v points at something in the document. */
static void
check_refs(json_t *v, int *count)
{
	const char *k, *ref, *p;
	char part[128];
	json_t *x, *target;
	size_t i, n;

	if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			check_refs(x, count);
		return;
	}
	if (!json_is_object(v))
		return;
	json_object_foreach(v, k, x) {
		if (strcmp(k, "$ref") == 0) {
			ref = json_string_value(x);
			assert_non_null(ref);
			assert_true(strncmp(ref, "#/", 2) == 0);
			target = doc;
			for (p = ref + 2; *p != '\0'; p += n + (p[n] == '/')) {
				n = strcspn(p, "/");
				assert_true(n < sizeof(part));
				memcpy(part, p, n);
				part[n] = '\0';
				target = json_object_get(target, part);
				if (target == NULL)
					fail_msg("unresolved $ref %s", ref);
			}
			(*count)++;
		} else
			check_refs(x, count);
	}
}

static void
test_refs_and_schemas(void **state)
{
	static const char *want[] = {
		"ChatRequest", "ChatResponse", "StreamEvent", "StartEvent",
		"TokenEvent", "DoneEvent", "ErrorEvent", "Error", "Health",
		"ConversationList", "ConversationDetail", "Conversation",
		"Message", "History", "HistoryMessage", "ExportConversationRow",
		"ExportMessageRow", "DashboardLogin", "DashboardSession",
	};
	json_t *schemas, *s, *props, *req, *x, *sec;
	const char *k;
	size_t i;
	int count = 0;

	check_refs(doc, &count);
	assert_true(count > 40);
	schemas = json_object_get(json_object_get(doc, "components"),
	    "schemas");
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (json_object_get(schemas, want[i]) == NULL)
			fail_msg("no schema %s", want[i]);
	/* Every required property is described. */
	json_object_foreach(schemas, k, s) {
		props = json_object_get(s, "properties");
		req = json_object_get(s, "required");
		json_array_foreach(req, i, x)
			if (json_object_get(props, json_string_value(x)) ==
			    NULL)
				fail_msg("%s requires undescribed %s", k,
				    json_string_value(x));
	}
	sec = json_object_get(json_object_get(doc, "components"),
	    "securitySchemes");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(sec, "ApiKeyAuth"), "name")), "x-api-key");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(sec, "WidgetApiKeyAuth"), "name")),
	    "x-widget-api-key");
	assert_string_equal(json_string_value(json_object_get(
	    json_object_get(sec, "AdminApiKeyAuth"), "name")),
	    "x-admin-api-key");
	x = json_object_get(sec, "DashboardSessionAuth");
	assert_string_equal(json_string_value(json_object_get(x, "in")),
	    "cookie");
	assert_string_equal(json_string_value(json_object_get(x, "name")),
	    "parley_session");
}

static enum http_method
method_of(const char *m)
{
	if (strcmp(m, "get") == 0)
		return HTTP_GET;
	if (strcmp(m, "post") == 0)
		return HTTP_POST;
	if (strcmp(m, "patch") == 0)
		return HTTP_PATCH;
	if (strcmp(m, "put") == 0)
		return HTTP_PUT;
	if (strcmp(m, "delete") == 0)
		return HTTP_DELETE;
	if (strcmp(m, "options") == 0)
		return HTTP_OPTIONS;
	fail_msg("unexpected method %s", m);
	return HTTP_DELETE;
}

/* path with each {parameter} as "x", as a client would send it. */
static void
concrete_path(const char *path, char *out, size_t outsz)
{
	const char *p;
	size_t o;

	for (p = path, o = 0; *p != '\0' && o + 2 < outsz; p++) {
		if (*p == '{') {
			out[o++] = 'x';
			p += strcspn(p, "}");
			if (*p == '\0')
				break;
		} else
			out[o++] = *p;
	}
	out[o] = '\0';
}

/*
 * Every admin operation takes the key or the session cookie; those of
 * the routes flagged R_INSTALL (the router answers a session 403) the
 * key alone.
 */
static void
test_openapi_admin_security(void **state)
{
	json_t *paths, *item, *op, *sec;
	const char *path, *meth;
	struct route_match m;
	char concrete[256];
	int n = 0, install = 0, key_only;

	paths = json_object_get(doc, "paths");
	json_object_foreach(paths, path, item) {
		if (strncmp(path, "/v1/admin/", 10) != 0)
			continue;
		concrete_path(path, concrete, sizeof(concrete));
		json_object_foreach(item, meth, op) {
			if (strcmp(meth, "parameters") == 0)
				continue;
			assert_int_equal(router_match(method_of(meth),
			    concrete, &m), ROUTE_OK);
			key_only = (m.route->flags & R_INSTALL) != 0;
			sec = json_object_get(op, "security");
			if (json_array_size(sec) != (key_only ? 1u : 2u) ||
			    json_object_get(json_array_get(sec, 0),
			    "AdminApiKeyAuth") == NULL ||
			    (!key_only && json_object_get(json_array_get(sec,
			    1), "DashboardSessionAuth") == NULL))
				fail_msg("%s %s: security", meth, path);
			n++;
			install += key_only;
		}
	}
	assert_true(n >= 12);
	/* The organisations' five. */
	assert_true(install >= 5);
}

static void
test_paths_are_routed(void **state)
{
	static const struct {
		const char *method, *path;
	} routes[] = {
		{ "get", "/health" }, { "get", "/metrics" },
		{ "get", "/v1/openapi.json" },
		{ "post", "/v1/chat" }, { "post", "/v1/chat/stream" },
		{ "post", "/chat" }, { "get", "/v1/chat/history" },
		{ "get", "/v1/admin/conversations" },
		{ "get", "/v1/admin/conversations/{conversationId}" },
		{ "delete", "/v1/admin/conversations/{conversationId}" },
		{ "post", "/v1/admin/conversations/{conversationId}/handoff" },
		{ "post", "/v1/admin/conversations/{conversationId}/messages" },
		{ "post", "/v1/admin/conversations/{conversationId}/typing" },
		{ "get", "/v1/admin/events" },
		{ "get", "/v1/admin/export" },
		{ "get", "/login" }, { "get", "/dashboard" },
		{ "get", "/dashboard/" }, { "get", "/dashboard/login" },
		{ "get", "/dashboard/assets/{file}" },
		{ "post", "/dashboard/api/login" },
		{ "get", "/dashboard/api/session" },
		{ "post", "/dashboard/api/logout" },
		{ "get", "/widget/chat-widget.js" },
		{ "get", "/api/widget/embed.js" },
		{ "get", "/widget-test.html" }, { "get", "/headless-test.html" },
		{ "get", "/test-pages/{file}" },
		{ "get", "/v1/admin/widgets" }, { "post", "/v1/admin/widgets" },
		{ "get", "/v1/admin/widgets/{widget_id}" },
		{ "patch", "/v1/admin/widgets/{widget_id}" },
		{ "delete", "/v1/admin/widgets/{widget_id}" },
		{ "post", "/v1/admin/widgets/{widget_id}/reset-id" },
		{ "get", "/v1/admin/agents" }, { "post", "/v1/admin/agents" },
		{ "get", "/v1/admin/agents/{agent_id}" },
		{ "patch", "/v1/admin/agents/{agent_id}" },
		{ "delete", "/v1/admin/agents/{agent_id}" },
		{ "get", "/v1/admin/organizations" },
		{ "post", "/v1/admin/organizations" },
		{ "get", "/v1/admin/organizations/{org_id}" },
		{ "patch", "/v1/admin/organizations/{org_id}" },
		{ "delete", "/v1/admin/organizations/{org_id}" },
		{ "get", "/v1/admin/contacts" },
		{ "get", "/v1/admin/contacts/{contactId}" },
		{ "get", "/api/widget/{widget_id}/config" },
		{ "get", "/api/widget/{widget_id}/ws" },
		{ "post", "/api/widget/{widget_id}/attachments" },
		{ "put", "/api/widget/{widget_id}/attachments/{attachment_id}" },
		{ "get", "/api/widget/{widget_id}/attachments/{attachment_id}" },
		{ "post", "/v1/admin/conversations/{conversationId}/attachments" },
		{ "put", "/v1/admin/conversations/{conversationId}/attachments/"
		    "{attachment_id}" },
		{ "delete", "/v1/admin/conversations/{conversationId}/"
		    "attachments/{attachment_id}" },
		{ "options", "/api/widget/{widget_id}/config" },
		{ "options", "/api/widget/{widget_id}/attachments" },
		{ "options", "/api/widget/{widget_id}/attachments/"
		    "{attachment_id}" },
	};
	struct route_match m;
	json_t *paths, *item, *op, *resp;
	const char *path, *meth;
	char concrete[256];
	size_t i;

	paths = json_object_get(doc, "paths");
	json_object_foreach(paths, path, item) {
		concrete_path(path, concrete, sizeof(concrete));
		json_object_foreach(item, meth, op) {
			if (strcmp(meth, "parameters") == 0)
				continue;
			if (router_match(method_of(meth), concrete, &m) !=
			    ROUTE_OK)
				fail_msg("%s %s is not routed", meth, path);
			resp = json_object_get(op, "responses");
			/*
			 * A success: 200, 201 for what POST makes, 202 for
			 * what is queued (a webhook test), 204 for what
			 * answers nothing (a deletion, logout), 101 for the
			 * WebSocket upgrade, 301/302 for redirects.
			 */
			assert_true(json_object_get(resp, "200") != NULL ||
			    json_object_get(resp, "201") != NULL ||
			    json_object_get(resp, "202") != NULL ||
			    json_object_get(resp, "204") != NULL ||
			    json_object_get(resp, "101") != NULL ||
			    json_object_get(resp, "301") != NULL ||
			    json_object_get(resp, "302") != NULL);
			/*
			 * Every route answers a disallowed Origin with 403,
			 * except the widget bundle (and its parts and
			 * languages), which any site may load, the widget's
			 * CSP report, which any page sends, and a visitor's
			 * upload pieces, which any page may send with the
			 * session token (and their preflights).
			 */
			if (m.route->fn == static_bundle_get ||
			    m.route->fn == static_mod_get) {
				assert_null(json_object_get(resp, "403"));
				assert_non_null(json_object_get(json_object_get(
				    json_object_get(resp, "200"), "headers"),
				    "Access-Control-Allow-Origin"));
			} else if (m.route->fn != setup_report_post &&
			    !(m.route->fn == att_visitor_piece &&
			    strcmp(meth, "get") != 0) &&
			    !(m.route->fn == att_visitor_new &&
			    strcmp(meth, "options") == 0))
				/* (the widget's CSP report: any page's) */
				assert_non_null(json_object_get(resp, "403"));
			assert_non_null(json_object_get(op, "security"));
			/* x-organization-id naming none: 404. */
			if ((m.route->flags & R_ADMIN) &&
			    json_object_get(resp, "404") == NULL)
				fail_msg("%s %s: no 404", meth, path);
		}
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (json_object_get(json_object_get(paths, routes[i].path),
		    routes[i].method) == NULL)
			fail_msg("%s %s is not documented", routes[i].method,
			    routes[i].path);
}

/*
 * Every operation that takes a body lists 413: the router refuses a body
 * over its route's limit (router_body_max: ROUTE_BODY_SMALL when the route
 * sets none) before its handler runs. A body is what the route's limit is
 * for (a POST, PUT or PATCH of a route with body_max) or what the
 * operation describes (requestBody).
 */
static void
test_bodies_too_large(void **state)
{
	json_t *paths, *item, *op;
	const char *path, *meth;
	struct route_match m;
	char concrete[256];
	int n = 0;

	paths = json_object_get(doc, "paths");
	json_object_foreach(paths, path, item) {
		concrete_path(path, concrete, sizeof(concrete));
		json_object_foreach(item, meth, op) {
			if (strcmp(meth, "post") != 0 &&
			    strcmp(meth, "put") != 0 &&
			    strcmp(meth, "patch") != 0)
				continue;
			assert_int_equal(router_match(method_of(meth),
			    concrete, &m), ROUTE_OK);
			if (m.route->body_max == 0 &&
			    json_object_get(op, "requestBody") == NULL)
				continue;
			if (json_object_get(json_object_get(op, "responses"),
			    "413") == NULL)
				fail_msg("%s %s: no 413", meth, path);
			n++;
		}
	}
	/* The chat's, the admin API's records', the uploads'. */
	assert_true(n >= 40);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_served),
		cmocka_unit_test(test_refs_and_schemas),
		cmocka_unit_test(test_paths_are_routed),
		cmocka_unit_test(test_bodies_too_large),
		cmocka_unit_test(test_openapi_admin_security),
	};

	log_init("test_openapi");
	return cmocka_run_group_tests(tests, setup, teardown);
}
