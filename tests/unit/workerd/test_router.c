/* The router: matches, 404, 405 with Allow, HEAD, parameters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "chat.h"
#include "site.h"
#include "static.h"
#include "workerd.h"

static struct route_match m;

static void
test_exact_and_head(void **state)
{
	assert_int_equal(router_match(HTTP_GET, "/health", &m), ROUTE_OK);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(router_match(HTTP_HEAD, "/health", &m), ROUTE_OK);
	/* One trailing slash is ignored, as Express does. */
	assert_int_equal(router_match(HTTP_GET, "/health/", &m), ROUTE_OK);
	assert_int_equal(router_match(HTTP_GET, "/v1/admin/conversations", &m),
	    ROUTE_OK);
	assert_int_equal(router_match(HTTP_GET, "/v1/admin/conversations/", &m),
	    ROUTE_OK);
	assert_int_equal(m.nparams, 0);
}

static void
test_not_found(void **state)
{
	const char *paths[] = {
		"/healthz", "/health//", "/healt", "/HEALTH", "//health",
		"/v1/admin", "/v1/admin/conversations/a/b", "health", "",
		"*", "/v1/admin/conversations//", "/health/x",
	};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(router_match(HTTP_GET, paths[i], &m),
		    ROUTE_NOT_FOUND);
		/* The method does not matter for an unknown path. */
		assert_int_equal(router_match(HTTP_DELETE, paths[i], &m),
		    ROUTE_NOT_FOUND);
	}
	assert_int_equal(router_match(HTTP_GET, NULL, &m), ROUTE_NOT_FOUND);
	/* "/" is a route of its own (the links, or the dashboard): GET only. */
	assert_int_equal(router_match(HTTP_GET, "/", &m), ROUTE_OK);
	assert_string_equal(m.route->pattern, "/");
	assert_int_equal(router_match(HTTP_DELETE, "/", &m), ROUTE_BAD_METHOD);
}

static void
test_method_not_allowed(void **state)
{
	enum http_method ms[] = { HTTP_POST, HTTP_PUT, HTTP_PATCH,
	    HTTP_DELETE, HTTP_OPTIONS, HTTP_PROPFIND };
	size_t i;

	for (i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		assert_int_equal(router_match(ms[i], "/health", &m),
		    ROUTE_BAD_METHOD);
		assert_string_equal(m.allow, "GET, HEAD");
		/* DELETE deletes the conversation, PATCH sets its state */
		if (ms[i] == HTTP_DELETE || ms[i] == HTTP_PATCH)
			continue;
		assert_int_equal(router_match(ms[i],
		    "/v1/admin/conversations/0123", &m), ROUTE_BAD_METHOD);
		assert_string_equal(m.allow, "GET, HEAD, PATCH, DELETE");
	}
}

static void
test_params(void **state)
{
	const char *id = "0123456789abcdef0123456789abcdef";
	char path[128];

	snprintf(path, sizeof(path), "/v1/admin/conversations/%s", id);
	assert_int_equal(router_match(HTTP_GET, path, &m), ROUTE_OK);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.param[0], id);
	assert_ptr_equal(m.route->fn, admin_conv_get);

	/* Percent-decoded, like Express's req.params. */
	assert_int_equal(router_match(HTTP_GET,
	    "/v1/admin/conversations/a%20b%2Fc", &m), ROUTE_OK);
	assert_string_equal(m.param[0], "a b/c");
	assert_int_equal(router_match(HTTP_GET,
	    "/v1/admin/conversations/x/", &m), ROUTE_OK);
	assert_string_equal(m.param[0], "x");

	/* Bad escapes and NUL are refused, not passed on. */
	assert_int_equal(router_match(HTTP_GET,
	    "/v1/admin/conversations/%zz", &m), ROUTE_BAD_PATH);
	assert_int_equal(router_match(HTTP_GET,
	    "/v1/admin/conversations/ab%2", &m), ROUTE_BAD_PATH);
	assert_int_equal(router_match(HTTP_GET,
	    "/v1/admin/conversations/%00", &m), ROUTE_BAD_PATH);
	/* Other methods on such a path are still 405. */
	assert_int_equal(router_match(HTTP_POST,
	    "/v1/admin/conversations/%zz", &m), ROUTE_BAD_METHOD);
}

static void
test_long_param(void **state)
{
	char path[HTTP_MAX_URL + 1];
	size_t pre = strlen("/v1/admin/conversations/");

	memcpy(path, "/v1/admin/conversations/", pre);
	memset(path + pre, 'a', sizeof(path) - pre - 1);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(router_match(HTTP_GET, path, &m), ROUTE_OK);
	assert_int_equal(strlen(m.param[0]), sizeof(path) - pre - 1);
}

static void
test_chat_routes(void **state)
{
	assert_int_equal(router_match(HTTP_POST, "/v1/chat", &m), ROUTE_OK);
	assert_ptr_equal(m.route->fn, chat_post_v1);
	assert_int_equal(router_match(HTTP_POST, "/v1/chat/stream", &m),
	    ROUTE_OK);
	assert_ptr_equal(m.route->fn, chat_post_stream);
	assert_int_equal(router_match(HTTP_POST, "/chat", &m), ROUTE_OK);
	assert_ptr_equal(m.route->fn, chat_post_stream);
	assert_int_equal(router_match(HTTP_GET, "/v1/chat/history", &m),
	    ROUTE_OK);
	assert_ptr_equal(m.route->fn, chat_get_history);
	assert_int_equal(router_match(HTTP_GET, "/v1/openapi.json", &m),
	    ROUTE_OK);
	assert_ptr_equal(m.route->fn, openapi_get);
	assert_int_equal(router_match(HTTP_GET, "/v1/chat", &m),
	    ROUTE_BAD_METHOD);
	assert_string_equal(m.allow, "POST");
	assert_int_equal(router_match(HTTP_POST, "/v1/chat/history", &m),
	    ROUTE_BAD_METHOD);
	assert_string_equal(m.allow, "GET, HEAD");
	assert_int_equal(router_match(HTTP_POST, "/v1/chat/streams", &m),
	    ROUTE_NOT_FOUND);
}

/*
 * A request's body limit is its route's, the route matched again or the
 * one kept from the request before (of the same method and path).
 */
static size_t
limit_of(enum http_method method, const char *path)
{
	if (router_match(method, path, &m) != ROUTE_OK ||
	    m.route->body_max == 0)
		return ROUTE_BODY_SMALL;
	return m.route->body_max;
}

static void
test_body_max(void **state)
{
	static const struct {
		enum http_method method;
		const char *path;
	} reqs[] = {
		{ HTTP_POST, "/v1/chat/stream" },
		{ HTTP_POST, "/v1/chat/stream" },	/* the kept one */
		{ HTTP_POST, "/v1/chat" },
		{ HTTP_POST, "/v1/chat/stream/" },
		{ HTTP_PUT, "/v1/chat/stream" },	/* no such route */
		{ HTTP_POST, "/v1/chat/stream" },
		{ HTTP_PUT, "/v1/chat/attachments/abc" },	/* a parameter */
		{ HTTP_PUT, "/v1/chat/attachments/abc" },
		{ HTTP_POST, "/v1/chat/attachments" },
		{ HTTP_POST, "/nowhere" },
		{ HTTP_POST, "/v1/chat/stream" },
	};
	struct http_request req;
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		memset(&req, 0, sizeof(req));
		req.method = reqs[i].method;
		req.path = (char *)reqs[i].path;
		assert_int_equal(router_body_max(&req),
		    limit_of(reqs[i].method, reqs[i].path));
	}
}

static void
test_static_routes(void **state)
{
	static const char *bundle[] = { "/widget/chat-widget.js",
	    "/api/widget/embed.js" };
	size_t i;

	for (i = 0; i < 2; i++) {
		assert_int_equal(router_match(HTTP_GET, bundle[i], &m),
		    ROUTE_OK);
		assert_ptr_equal(m.route->fn, static_bundle_get);
		assert_int_equal(router_match(HTTP_HEAD, bundle[i], &m),
		    ROUTE_OK);
		assert_int_equal(router_match(HTTP_POST, bundle[i], &m),
		    ROUTE_BAD_METHOD);
		assert_string_equal(m.allow, "GET, HEAD");
	}
	assert_int_equal(router_match(HTTP_GET, "/widget-test.html", &m),
	    ROUTE_OK);
	assert_ptr_equal(m.route->fn, static_page_get);
	assert_int_equal(router_match(HTTP_GET, "/headless-test.html", &m),
	    ROUTE_OK);
	assert_ptr_equal(m.route->fn, static_page_get);
	assert_int_equal(router_match(HTTP_GET, "/test-pages/widget-test.js",
	    &m), ROUTE_OK);
	assert_ptr_equal(m.route->fn, static_asset_get);
	assert_string_equal(m.param[0], "widget-test.js");
	/* One segment only; the name is the handler's to look up. */
	assert_int_equal(router_match(HTTP_GET, "/test-pages/a/b.js", &m),
	    ROUTE_NOT_FOUND);
	assert_int_equal(router_match(HTTP_GET, "/test-pages/", &m),
	    ROUTE_NOT_FOUND);
	assert_int_equal(router_match(HTTP_GET, "/widget/chat-widget.jsx", &m),
	    ROUTE_NOT_FOUND);
	assert_int_equal(router_match(HTTP_GET, "/widget", &m),
	    ROUTE_NOT_FOUND);
	assert_int_equal(router_match(HTTP_GET, "/api/widget/embed", &m),
	    ROUTE_NOT_FOUND);
}

/*
 * The routes any Origin may use are flagged R_PUBLIC, and docs/api.md's
 * list of CORS exemptions ("Origins (CORS)") names each of them.
 */
static void
test_public_routes(void **state)
{
	static const char *want[] = {
		"/api/widget/:wid/config", "/api/widget/:wid/ws",
		"/api/widget/:wid/report", "/api/widget/:wid/attachments",
		"/api/widget/:wid/attachments/:att",
		"/widget/chat-widget.js", "/api/widget/embed.js",
		"/widget/parts/:file", "/widget/lang/:file",
	};
	static char doc[256 * 1024];
	const struct route *r;
	const char *para;
	FILE *f;
	size_t i, j, n, npublic = 0;

	for (i = 0; (r = router_route(i)) != NULL; i++) {
		if (!(r->flags & R_PUBLIC))
			continue;
		npublic++;
		for (j = 0; j < sizeof(want) / sizeof(want[0]); j++)
			if (strcmp(r->pattern, want[j]) == 0)
				break;
		assert_true(j < sizeof(want) / sizeof(want[0]));
		assert_false(r->flags & (R_ADMIN | R_DASH));
	}
	assert_int_equal(npublic, sizeof(want) / sizeof(want[0]));

	assert_non_null(f = fopen("docs/api.md", "rb"));
	n = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[n] = '\0';
	assert_non_null(para = strstr(doc, "`R_PUBLIC` in"));
	for (j = 0; j < sizeof(want) / sizeof(want[0]); j++)
		assert_non_null(strstr(para, want[j]));
}

/*
 * Every admin route names the lowest role it needs (an agent at least:
 * no admin route is for anyone signed in); the install-only ones are the
 * owner's; the others name none.
 */
static void
test_admin_roles(void **state)
{
	const struct route *r;
	size_t i, nadmin = 0;

	for (i = 0; (r = router_route(i)) != NULL; i++) {
		if (!(r->flags & R_ADMIN)) {
			assert_int_equal(r->role, ST_ROLE_NONE);
			continue;
		}
		nadmin++;
		assert_true(r->role >= ST_ROLE_AGENT);
		assert_true(r->role <= ST_ROLE_OWNER);
		if (r->flags & R_INSTALL)
			assert_int_equal(r->role, ST_ROLE_OWNER);
	}
	assert_true(nadmin > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_and_head),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_method_not_allowed),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_long_param),
		cmocka_unit_test(test_chat_routes),
		cmocka_unit_test(test_body_max),
		cmocka_unit_test(test_static_routes),
		cmocka_unit_test(test_public_routes),
		cmocka_unit_test(test_admin_roles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
