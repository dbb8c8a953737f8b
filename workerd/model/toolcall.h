/*
 * The model's tool calls of one round, put together from a stream's
 * chunks (sse.h: choices[0].delta.tool_calls, the OpenAI shape that vLLM,
 * llama.cpp and Ollama speak too).
 *
 * Each delta names its call by "index"; the first for an index brings
 * its "id" and "function"."name", and every one may bring a piece of
 * "function"."arguments", a JSON text cut anywhere, which the pieces
 * make whole in order. A server that sends each call whole in one delta
 * is the same case. What a delta repeats (the same id or name again) is
 * taken; what contradicts it (another id or name for the same index) is
 * an error, as is anything out of shape or past a bound: the round is
 * then refused as a whole (the turn fails with the reason), never half
 * run. toolcalls_end checks the round is complete: every call named,
 * each name a function's name, its arguments one JSON object.
 *
 * Errors are sticky: the first one's reason is kept (tc->why), and every
 * later call returns -1 at once.
 */
#ifndef PARLEY_TOOLCALL_H
#define PARLEY_TOOLCALL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TOOLCALLS_MAX		8	/* calls in one round */
#define TOOLCALL_ID_MAX		64	/* bytes of a call's id */
#define TOOLCALL_NAME_MAX	64	/* bytes of a function's name */
#define TOOLCALL_ARGS_MAX	16384	/* bytes of a call's arguments */

struct tool_call {
	char id[TOOLCALL_ID_MAX + 1];		/* "" until a delta gives it */
	char name[TOOLCALL_NAME_MAX + 1];
	char *args;				/* malloc'd, NUL-ended */
	size_t args_len;
	/* toolcalls_end's: the arguments, an object; NULL: not one */
	json_t *parsed;
};

struct toolcalls {
	struct tool_call calls[TOOLCALLS_MAX];
	uint32_t n;		/* 1 + the highest index seen */
	int err;		/* sticky: why holds the reason */
	const char *why;	/* static text */
};

void toolcalls_init(struct toolcalls *);
void toolcalls_free(struct toolcalls *);
/*
 * One chunk's tool_calls (any JSON: an array of deltas) merged in: 0, or
 * -1 with the round refused (tc->why).
 */
int toolcalls_add(struct toolcalls *, const json_t *tool_calls);
/*
 * The round's end (a finish_reason of "tool_calls", or the stream's end
 * with calls begun): 0 when every call from index 0 to n - 1 has an id
 * and a function name of [A-Za-z0-9_-], its arguments kept in parsed
 * when they parse as one JSON object ("" as {}), else parsed NULL (the
 * call refused, not the round); else -1 (tc->why).
 */
int toolcalls_end(struct toolcalls *);

#endif
