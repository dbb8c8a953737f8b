/*
 * libFuzzer target for the streamed tool-call reader: the input's lines
 * are the data of a stream's chunks, each decoded (sse_chunk_parse) and
 * its tool_calls merged (toolcalls_add, toolcall.c), the round ended
 * (toolcalls_end) when calls began. Properties are checked, abort()
 * otherwise: the bounds (8 calls, ids and names, 16 KiB of arguments,
 * NUL-ended), a refusal with a reason that sticks, a round taken whole
 * (every call with an id, a name of [A-Za-z0-9_-], arguments one JSON
 * object), and the same lines read again the same way.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "toolcall.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_toolcall: %s\n", what);
		abort();
	}
}

/* The lines read into tc: toolcalls_end's result, or 1 when none began. */
static int
read_round(const uint8_t *data, size_t size, struct toolcalls *tc)
{
	const uint8_t *p = data, *end = data + size, *nl;
	struct sse_chunk c;
	int was;

	toolcalls_init(tc);
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		if (sse_chunk_parse((const char *)p, (size_t)(nl - p), &c) ==
		    0) {
			if (c.tools != NULL) {
				was = tc->err;
				if (toolcalls_add(tc, c.tools) == 0)
					check(!tc->err, "taken with an error");
				else
					check(tc->err && tc->why != NULL,
					    "refused without a reason");
				check(!was || tc->err, "an error forgotten");
			}
			sse_chunk_free(&c);
		}
		p = nl + 1;
	}
	if (tc->n == 0 && !tc->err)
		return 1;
	return toolcalls_end(tc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toolcalls a, b;
	uint32_t i;
	int ra, rb;

	ra = read_round(data, size, &a);
	check(a.n <= TOOLCALLS_MAX, "more calls than the bound");
	for (i = 0; i < TOOLCALLS_MAX; i++) {
		const struct tool_call *c = &a.calls[i];

		check(strlen(c->id) <= TOOLCALL_ID_MAX, "id bound");
		check(strlen(c->name) <= TOOLCALL_NAME_MAX, "name bound");
		check(c->args_len <= TOOLCALL_ARGS_MAX, "arguments bound");
		check(c->args == NULL || c->args[c->args_len] == '\0',
		    "arguments not NUL-ended");
		check(i < a.n || (c->id[0] == '\0' && c->name[0] == '\0' &&
		    c->args == NULL), "a call past n");
	}
	if (ra == 0)
		for (i = 0; i < a.n; i++) {
			check(a.calls[i].id[0] != '\0', "taken without an id");
			check(a.calls[i].name[0] != '\0' &&
			    strspn(a.calls[i].name, "abcdefghijklmnopqrstuvwxyz"
			    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
			    strlen(a.calls[i].name), "taken with a bad name");
			/* arguments not one object: parsed NULL, the
			 * call (not the round) refused */
			check(a.calls[i].parsed == NULL ||
			    json_is_object(a.calls[i].parsed),
			    "taken with arguments not an object");
			check(a.calls[i].parsed != NULL ||
			    a.calls[i].args_len > 0,
			    "empty arguments not taken as {}");
		}
	else if (ra < 0)
		check(a.err && a.why != NULL, "refused without a reason");
	rb = read_round(data, size, &b);
	check(ra == rb && a.n == b.n, "read twice, read otherwise");
	for (i = 0; i < a.n; i++)
		check(strcmp(a.calls[i].id, b.calls[i].id) == 0 &&
		    strcmp(a.calls[i].name, b.calls[i].name) == 0 &&
		    a.calls[i].args_len == b.calls[i].args_len,
		    "read twice, a call otherwise");
	toolcalls_free(&a);
	toolcalls_free(&b);
	return 0;
}
