/*
 * libFuzzer target for the chat API's request body (workerd/chat/chat.c):
 * a differential one. chat_parse_body reads the plain body without
 * jansson (body_fast) and falls back to chat_parse_body_json, which has
 * the last word; the two must agree. The first byte picks the request's
 * Content-Type (modulo the table below: JSON ones the API takes, others
 * it refuses, none); the rest is the body. abort() when the two answer
 * differently (enum chat_body, details) or, both accepting, read
 * differently (session, message, visitor, attachments); and when an
 * accepted input is not what chat.h promises (a valid session, a message
 * of valid UTF-8 without NUL within CHAT_MESSAGE_MAX UTF-16 units, empty
 * only with files).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the first byte picks: taken by proto_json_ctype, then refused. */
static const char *const ctypes[] = {
	"application/json",
	"application/json; charset=utf-8",
	"Application/JSON;charset=UTF-8",
	"application/json \t; charset=utf-8",
	"application/json\t",
	NULL,
	"",
	"text/plain",
	"text/plain; charset=utf-8",
	"application/jsonx",
	"application/json-patch+json",
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=x",
	" application/json",
};
#define NCTYPES	(sizeof(ctypes) / sizeof(ctypes[0]))

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_chatbody: %s\n", what);
		abort();
	}
}

/* Both NULL, or both the same string. */
static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* The two reads of an accepted body hold the same. */
static void
same_input(const struct chat_input *a, const struct chat_input *j)
{
	const struct st_visitor *va = &a->visitor, *vj = &j->visitor;
	uint32_t i;

	check(strcmp(a->session, j->session) == 0, "sessions differ");
	check(same_str(a->message, j->message), "messages differ");
	check(same_str(va->page_url, vj->page_url) &&
	    same_str(va->referrer, vj->referrer) &&
	    same_str(va->user_agent, vj->user_agent) &&
	    same_str(va->language, vj->language) &&
	    same_str(va->time_zone, vj->time_zone), "visitors differ");
	check(a->natts == j->natts, "attachment counts differ");
	for (i = 0; i < a->natts; i++)
		check(strcmp(a->ids[i], j->ids[i]) == 0,
		    "attachments differ");
}

/* An accepted input is what chat.h promises. */
static void
well_formed(const struct chat_input *in)
{
	size_t n, units;
	uint32_t i;

	check(chat_session_valid(in->session, strlen(in->session)),
	    "an invalid session");
	check(in->message != NULL, "no message");
	n = strlen(in->message);
	check(proto_utf8_valid(in->message, n), "a message not UTF-8");
	units = proto_utf16_units(in->message, n);
	check(units <= CHAT_MESSAGE_MAX, "a message too long");
	check(units >= 1 || in->natts > 0, "an empty message without files");
	check(in->natts <= ST_MSG_ATTS_MAX, "too many attachments");
	for (i = 0; i < in->natts; i++)
		check(in->atts[i].s == in->ids[i] &&
		    strncmp(in->ids[i], "att_", 4) == 0,
		    "an attachment not an upload id");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char da[CHAT_DETAILS_MAX], dj[CHAT_DETAILS_MAX];
	struct chat_input a, j;
	enum chat_body ra, rj;
	const char *ctype, *body;
	size_t len;

	if (size < 1)
		return 0;
	ctype = ctypes[data[0] % NCTYPES];
	body = (const char *)data + 1;
	len = size - 1;
	ra = chat_parse_body(ctype, body, len, &a, da, sizeof(da));
	rj = chat_parse_body_json(ctype, body, len, &j, dj, sizeof(dj));
	if (ra != rj || strcmp(da, dj) != 0)
		fprintf(stderr, "fuzz_chatbody: fast %d (%s), jansson %d (%s)\n",
		    ra, da, rj, dj);
	check(ra == rj, "the answers differ");
	check(strcmp(da, dj) == 0, "the details differ");
	if (ra == CHAT_BODY_OK) {
		same_input(&a, &j);
		well_formed(&j);
	} else
		check(da[0] != '\0', "a refusal without details");
	chat_input_free(&a);
	chat_input_free(&j);
	return 0;
}
