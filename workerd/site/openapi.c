/*
 * GET /v1/openapi.json: the OpenAPI 3.1 document build/gen/openapi.json,
 * which the build generates (scripts/openapi.mjs: the hand-written
 * template workerd/site/openapi.json, the record schemas' row-backed
 * properties made from the rows of proto/'s headers) before it compiles
 * this file. It is embedded in the binary (the assembler's .incbin; paths
 * are relative to the repository root, where make and the fuzz builds
 * run), served as it is in the file, with a strong ETag made from its
 * content when it is first asked for. It is JSON by construction
 * (openapi.mjs writes it with JSON.stringify) and test_openapi parses
 * it: a worker no longer parses it at start, which was most of a
 * worker's start-up (60 of 70 million instructions, callgrind).
 */
#include <stdio.h>
#include <string.h>

#include "site.h"
#include "static.h"
#include "workerd.h"

__asm__(
    ".section .rodata\n"
    ".balign 16\n"
    ".global openapi_json_start\n"
    ".type openapi_json_start, @object\n"
    "openapi_json_start:\n"
    ".incbin \"build/gen/openapi.json\"\n"
    ".global openapi_json_end\n"
    ".type openapi_json_end, @object\n"
    "openapi_json_end:\n"
    ".byte 0\n"
    ".previous\n");

extern const char openapi_json_start[];
extern const char openapi_json_end[];

static char etag[STATIC_ETAG_LEN + 1];

static size_t
openapi_len(void)
{
	return (size_t)(openapi_json_end - openapi_json_start);
}

const char *
openapi_etag(void)
{
	if (etag[0] == '\0')
		static_etag_of(etag, openapi_json_start, openapi_len());
	return etag;
}

void
openapi_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	const char *tag = openapi_etag();
	char hdr[128];

	snprintf(hdr, sizeof(hdr), "ETag: %s\r\nCache-Control: no-cache\r\n",
	    tag);
	if (static_etag_match(http_header(req, "if-none-match"), tag)) {
		conn_send(c, 304, hdr, NULL, NULL, 0);
		return;
	}
	conn_send(c, 200, hdr, "application/json; charset=utf-8",
	    openapi_json_start, openapi_len());
}
