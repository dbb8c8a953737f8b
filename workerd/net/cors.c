/*
 * CORS, applied to every request by the router (CORS_ORIGIN).
 *
 * A request without Origin (curl, a server) passes and gets no CORS
 * headers. A request whose Origin is allowed gets
 * Access-Control-Allow-Origin: "*" when CORS_ORIGIN holds "*", otherwise
 * the configured origin itself with Vary: Origin. Any other Origin is
 * refused with 403 {"error":"Origin not allowed"}. The header lines are
 * built once here, from the configuration, so nothing the client sent is
 * ever echoed into a header.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "workerd.h"

const char cors_preflight_headers[] =
    "Access-Control-Allow-Methods: GET, POST, PUT, PATCH, DELETE, "
    "OPTIONS\r\n"
    "Access-Control-Allow-Headers: Content-Type, Content-Range, x-api-key, "
    "x-widget-api-key, x-admin-api-key, x-organization-id\r\n"
    "Access-Control-Max-Age: 600\r\n";

#define EXPOSE	"Access-Control-Expose-Headers: Retry-After\r\n"

static const char hdr_any[] = "Access-Control-Allow-Origin: *\r\n" EXPOSE;
static const char hdr_vary[] = "Vary: Origin\r\n";

static int any;
static char **origins;		/* lower-cased, as configured */
static char **hdrs;		/* the header lines for each */
static size_t norigins;

static void
cors_clear(void)
{
	size_t i;

	for (i = 0; i < norigins; i++) {
		free(origins[i]);
		free(hdrs[i]);
	}
	free(origins);
	free(hdrs);
	origins = hdrs = NULL;
	norigins = 0;
	any = 0;
}

void
cors_init(const struct settings *st)
{
	size_t i;

	cors_clear();
	any = st->cors_any;
	if (st->ncors == 0)
		return;
	if ((origins = calloc(st->ncors, sizeof(*origins))) == NULL ||
	    (hdrs = calloc(st->ncors, sizeof(*hdrs))) == NULL)
		fatal("cors");
	for (i = 0; i < st->ncors; i++) {
		if ((origins[i] = strdup(st->cors[i])) == NULL ||
		    asprintf(&hdrs[i], "Access-Control-Allow-Origin: %s\r\n"
		    "Vary: Origin\r\n" EXPOSE, origins[i]) < 0)
			fatal("cors");
		norigins++;
	}
}

void
cors_shutdown(void)
{
	cors_clear();
}

enum cors_verdict
cors_check(const char *origin, const char **headers)
{
	size_t i;

	/* The answer depends on Origin unless every origin is allowed. */
	*headers = any ? NULL : hdr_vary;
	if (origin == NULL)
		return CORS_NO_ORIGIN;
	if (any) {
		*headers = hdr_any;
		return CORS_ALLOWED;
	}
	/*
	 * Browsers send scheme and host in lower case; compare without
	 * case all the same.
	 */
	for (i = 0; i < norigins; i++) {
		if (strcasecmp(origin, origins[i]) == 0) {
			*headers = hdrs[i];
			return CORS_ALLOWED;
		}
	}
	return CORS_DENIED;
}
