/*
 * libFuzzer target for the router's reading of a request's path
 * (router_match and router_body_max, workerd/router.c): every request's
 * path, any client's, split into segments and its parameters
 * percent-decoded. Byte 0 picks the method (of those the router knows, and
 * one it does not); the rest, to its first NUL and at most HTTP_MAX_URL
 * bytes (the request reader's bound), is the path. Properties are
 * checked, abort() otherwise: a route found takes the method and has a
 * parameter for each ":" segment of its pattern, each not empty, within
 * the match's buffer and without '\0' (no "%00" decoded); its pattern
 * filled with those parameters written back percent-encoded finds the same
 * route and parameters; a method refused names the ones the path takes;
 * otherwise nothing is matched; and router_body_max, asked twice (its
 * kept match) and after another path, gives the route's body limit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "workerd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_route: %s\n", what);
		abort();
	}
}

static size_t
limit_of(const struct route *r)
{
	return r->body_max != 0 ? r->body_max : ROUTE_BODY_SMALL;
}

/*
 * m's route's pattern with its parameters, every byte %-encoded (so no
 * route's fixed segment reads one), into out; -1 when past HTTP_MAX_URL.
 * upper: the hex digits' case.
 */
static int
fill(const struct route_match *m, char *out, size_t outsz, int upper)
{
	const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	const char *p = m->route->pattern, *q;
	size_t o = 0;
	int k = 0;

	while (*p != '\0') {
		if (p[0] == '/' && p[1] == ':') {
			check(k < m->nparams, "fewer parameters than the pattern");
			if (o + 1 >= outsz)
				return -1;
			out[o++] = '/';
			for (q = m->param[k++]; *q != '\0'; q++) {
				if (o + 3 >= outsz)
					return -1;
				out[o++] = '%';
				out[o++] = hex[(unsigned char)*q >> 4];
				out[o++] = hex[(unsigned char)*q & 15];
			}
			p = strchr(p + 1, '/');
			if (p == NULL)
				break;
			continue;
		}
		if (o + 1 >= outsz)
			return -1;
		out[o++] = *p++;
	}
	check(k == m->nparams, "more parameters than the pattern");
	out[o] = '\0';
	return o <= HTTP_MAX_URL ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum http_method methods[] = { HTTP_GET, HTTP_HEAD,
	    HTTP_POST, HTTP_PUT, HTTP_PATCH, HTTP_DELETE, HTTP_OPTIONS,
	    HTTP_TRACE };
	static struct route_match m, again;
	static char path[HTTP_MAX_URL + 1], filled[3 * HTTP_MAX_URL];
	struct http_request req;
	enum route_result r;
	size_t len, lim;
	int i, colons;
	const char *p;

	if (size < 1)
		return 0;
	len = size - 1 < HTTP_MAX_URL ? size - 1 : HTTP_MAX_URL;
	memcpy(path, data + 1, len);
	path[len] = '\0';
	memset(&req, 0, sizeof(req));
	req.method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	req.path = path;

	r = router_match(req.method, path, &m);
	switch (r) {
	case ROUTE_OK:
		check(m.route != NULL, "a match without its route");
		colons = 0;
		for (p = m.route->pattern; (p = strstr(p, "/:")) != NULL; p++)
			colons++;
		check(m.nparams == colons, "a parameter count not the pattern's");
		for (i = 0; i < m.nparams; i++) {
			check(m.param[i] >= m.buf &&
			    m.param[i] + strlen(m.param[i]) <
			    m.buf + sizeof(m.buf), "a parameter out of its buffer");
			check(m.param[i][0] != '\0', "an empty parameter");
		}
		lim = limit_of(m.route);
		if (fill(&m, filled, sizeof(filled), data[0] & 0x80) == 0) {
			check(router_match(req.method, filled, &again) ==
			    ROUTE_OK && again.route == m.route &&
			    again.nparams == m.nparams,
			    "its parameters written back find another route");
			for (i = 0; i < m.nparams; i++)
				check(strcmp(again.param[i], m.param[i]) == 0,
				    "a parameter written back reads otherwise");
		}
		break;
	case ROUTE_BAD_METHOD:
		check(m.route == NULL && m.nparams == 0 && m.allow[0] != '\0',
		    "a refused method without the methods allowed");
		lim = ROUTE_BODY_SMALL;
		break;
	case ROUTE_NOT_FOUND:
	case ROUTE_BAD_PATH:
		check(m.route == NULL && m.nparams == 0, "a refusal matched");
		lim = ROUTE_BODY_SMALL;
		break;
	default:
		check(0, "an answer of no kind");
		return 0;
	}
	check(router_body_max(&req) == lim, "a body limit not the route's");
	check(router_body_max(&req) == lim, "the kept match's limit differs");
	/* Another path kept in between, then this one again. */
	req.path = (char *)"/v1/chat";
	(void)router_body_max(&req);
	req.path = path;
	check(router_body_max(&req) == lim, "a limit differs after another");
	return 0;
}
