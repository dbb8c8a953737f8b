/*
 * CORS: the decision for each Origin, the header lines, and what the
 * router answers (403 JSON, 204 preflight, headers on real answers).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_client.h"

static int
setup(void **state)
{
	loop_init();
	worker_conf_defaults();
	return 0;
}

static int
teardown(void **state)
{
	cors_shutdown();
	settings_free(&wsettings);
	storec_shutdown();
	return 0;
}

static void
test_any(void **state)
{
	const char *h;

	test_cors_origin("*");
	assert_int_equal(cors_check(NULL, &h), CORS_NO_ORIGIN);
	assert_null(h);
	assert_int_equal(cors_check("https://anything.example", &h),
	    CORS_ALLOWED);
	assert_string_equal(h, "Access-Control-Allow-Origin: *\r\n"
	    "Access-Control-Expose-Headers: Retry-After\r\n");
	assert_int_equal(cors_check("null", &h), CORS_ALLOWED);
}

static void
test_list(void **state)
{
	const char *h;

	test_cors_origin("https://a.com, http://localhost:3000");
	assert_int_equal(cors_check(NULL, &h), CORS_NO_ORIGIN);
	assert_string_equal(h, "Vary: Origin\r\n");
	assert_int_equal(cors_check("https://a.com", &h), CORS_ALLOWED);
	assert_string_equal(h, "Access-Control-Allow-Origin: https://a.com\r\n"
	    "Vary: Origin\r\nAccess-Control-Expose-Headers: Retry-After\r\n");
	assert_int_equal(cors_check("HTTPS://A.COM", &h), CORS_ALLOWED);
	/* The configured spelling goes out, never the client's bytes. */
	assert_non_null(strstr(h, "Allow-Origin: https://a.com\r\n"));
	assert_int_equal(cors_check("http://localhost:3000", &h),
	    CORS_ALLOWED);
	assert_int_equal(cors_check("http://localhost:3001", &h), CORS_DENIED);
	assert_int_equal(cors_check("http://localhost", &h), CORS_DENIED);
	assert_int_equal(cors_check("https://a.com.evil.com", &h),
	    CORS_DENIED);
	assert_int_equal(cors_check("https://a.com/", &h), CORS_DENIED);
	assert_int_equal(cors_check("http://a.com", &h), CORS_DENIED);
	assert_int_equal(cors_check("", &h), CORS_DENIED);
	assert_int_equal(cors_check("null", &h), CORS_DENIED);
	assert_string_equal(h, "Vary: Origin\r\n");
}

static void
request(const char *req, struct tresp *r)
{
	struct tclient cl;
	size_t off = 0;

	assert_int_equal(tclient_open(&cl), 0);
	assert_int_equal(tclient_send(&cl, req, strlen(req)), 0);
	assert_true(tresp_wait(&cl, &off, r, 2000));
	tclient_close(&cl);
}

static void
test_router(void **state)
{
	struct tresp r;
	char v[256];

	test_cors_origin("https://a.com");

	/* Disallowed origin: 403 JSON, for any path. */
	request("GET /health HTTP/1.1\r\nHost: t\r\nOrigin: https://b.com"
	    "\r\n\r\n", &r);
	assert_int_equal(r.status, 403);
	assert_string_equal(r.body, "{\"error\":\"Origin not allowed\"}");
	assert_non_null(strstr(r.head, "application/json"));
	assert_null(strstr(r.head, "Access-Control-Allow-Origin"));
	tresp_free(&r);
	request("OPTIONS /v1/chat HTTP/1.1\r\nHost: t\r\nOrigin: https://b.com"
	    "\r\nAccess-Control-Request-Method: POST\r\n\r\n", &r);
	assert_int_equal(r.status, 403);
	tresp_free(&r);

	/* Allowed: the origin and Vary on the answer. */
	request("GET /health HTTP/1.1\r\nHost: t\r\nOrigin: https://a.com"
	    "\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(tresp_header(&r, "Access-Control-Allow-Origin",
	    v, sizeof(v)), "https://a.com");
	assert_string_equal(tresp_header(&r, "Vary", v, sizeof(v)), "Origin");
	/* The handler's own headers follow. */
	assert_string_equal(tresp_header(&r, "Cache-Control", v, sizeof(v)),
	    "no-store");
	tresp_free(&r);

	/* Errors carry them too, so the page can read the error. */
	request("GET /nope HTTP/1.1\r\nHost: t\r\nOrigin: https://a.com"
	    "\r\n\r\n", &r);
	assert_int_equal(r.status, 404);
	assert_non_null(tresp_header(&r, "Access-Control-Allow-Origin", v,
	    sizeof(v)));
	tresp_free(&r);

	/* Preflight. */
	request("OPTIONS /v1/chat/stream HTTP/1.1\r\nHost: t\r\n"
	    "Origin: https://a.com\r\nAccess-Control-Request-Method: POST\r\n"
	    "Access-Control-Request-Headers: content-type,x-widget-api-key"
	    "\r\n\r\n", &r);
	assert_int_equal(r.status, 204);
	assert_int_equal(r.body_len, 0);
	assert_string_equal(tresp_header(&r, "Access-Control-Allow-Origin",
	    v, sizeof(v)), "https://a.com");
	assert_string_equal(tresp_header(&r, "Access-Control-Allow-Methods",
	    v, sizeof(v)), "GET, POST, PUT, PATCH, DELETE, OPTIONS");
	assert_string_equal(tresp_header(&r, "Access-Control-Allow-Headers",
	    v, sizeof(v)), "Content-Type, Content-Range, x-api-key, "
	    "x-widget-api-key, x-admin-api-key, x-organization-id");
	assert_string_equal(tresp_header(&r, "Access-Control-Max-Age", v,
	    sizeof(v)), "600");
	assert_null(strstr(r.head, "Content-Length"));
	tresp_free(&r);

	/* OPTIONS that is not a preflight: 405 as before. */
	request("OPTIONS /v1/chat HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(tresp_header(&r, "Allow", v, sizeof(v)), "POST");
	tresp_free(&r);
	/* A preflight to a path that does not exist: 404. */
	request("OPTIONS /nope HTTP/1.1\r\nHost: t\r\nOrigin: https://a.com\r\n"
	    "Access-Control-Request-Method: GET\r\n\r\n", &r);
	assert_int_equal(r.status, 404);
	tresp_free(&r);

	/* No Origin (curl, servers): served, no Allow-Origin. */
	request("GET /health HTTP/1.1\r\nHost: t\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_null(strstr(r.head, "Access-Control-Allow-Origin"));
	assert_string_equal(tresp_header(&r, "Vary", v, sizeof(v)), "Origin");
	tresp_free(&r);

	/* "*": any origin, the literal star. */
	test_cors_origin("*");
	request("GET /health HTTP/1.1\r\nHost: t\r\nOrigin: https://b.com"
	    "\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(tresp_header(&r, "Access-Control-Allow-Origin",
	    v, sizeof(v)), "*");
	assert_null(tresp_header(&r, "Vary", v, sizeof(v)));
	tresp_free(&r);

	/* Admin is under the same rule. */
	test_cors_origin("https://a.com");
	request("GET /v1/admin/conversations HTTP/1.1\r\nHost: t\r\n"
	    "Origin: https://b.com\r\n\r\n", &r);
	assert_int_equal(r.status, 403);
	tresp_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_router),
	};

	log_init("test_cors");
	return cmocka_run_group_tests(tests, setup, teardown);
}
