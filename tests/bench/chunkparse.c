/*
 * What the worker's reading of one chat.completion.chunk costs: a
 * stream of chunks shaped as OpenAI sends them (the members every chunk
 * repeats, then a token's content; a role chunk first, a finish and a
 * usage chunk last) read with one sse_prefix as upstream.c reads a
 * stream, `streams` times over. Prints the chunks read and the content's
 * bytes; count its instructions with callgrind and divide:
 *
 *   make build/release/bench/chunkparse
 *   valgrind --tool=callgrind --callgrind-out-file=/tmp/cp.out \
 *       build/release/bench/chunkparse 100
 *
 * Never asserts (test_sse and test_fastjson do).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

#define TOKENS	200	/* content chunks a stream, the role chunk among them */

static const char *const words[] = {
	" the", " model", "'s", " answer", ",", " one", " token", " at",
	" a", " time", ".", "\\n\\n", " \\\"quoted\\\"", " caf\\u00e9",
};

/* The stream's chunks, made once: the count is of their reading. */
static char *chunk[TOKENS + 2];
static size_t chunk_len[TOKENS + 2];

static void
make_chunks(void)
{
	const char *head = "{\"id\":\"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\","
	    "\"object\":\"chat.completion.chunk\",\"created\":1741569952,"
	    "\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\","
	    "\"system_fingerprint\":\"fp_eb9dce56a8\",\"choices\":";
	char buf[1024];
	int i, n;

	for (i = 0; i < TOKENS + 2; i++) {
		if (i == 0)
			n = snprintf(buf, sizeof(buf), "%s[{\"index\":0,"
			    "\"delta\":{\"role\":\"assistant\",\"content\":"
			    "\"\",\"refusal\":null},\"logprobs\":null,"
			    "\"finish_reason\":null}],\"usage\":null}", head);
		else if (i < TOKENS)
			n = snprintf(buf, sizeof(buf), "%s[{\"index\":0,"
			    "\"delta\":{\"content\":\"%s\"},\"logprobs\":"
			    "null,\"finish_reason\":null}],\"usage\":null}",
			    head, words[i % (sizeof(words) / sizeof(words[0]))]);
		else if (i == TOKENS)
			n = snprintf(buf, sizeof(buf), "%s[{\"index\":0,"
			    "\"delta\":{},\"logprobs\":null,\"finish_reason\":"
			    "\"stop\"}],\"usage\":null}", head);
		else
			n = snprintf(buf, sizeof(buf), "%s[],\"usage\":{"
			    "\"prompt_tokens\":1117,\"completion_tokens\":"
			    "%d,\"total_tokens\":%d,\"prompt_tokens_details\":"
			    "{\"cached_tokens\":0,\"audio_tokens\":0}}}", head,
			    TOKENS, 1117 + TOKENS);
		if ((chunk[i] = strdup(buf)) == NULL)
			exit(1);
		chunk_len[i] = (size_t)n;
	}
}

int
main(int argc, char **argv)
{
	struct sse_prefix pf;
	struct sse_chunk c;
	long streams = argc > 1 ? atol(argv[1]) : 100, st, chunks = 0;
	size_t bytes = 0;
	int i;

	make_chunks();
	for (st = 0; st < streams; st++) {
		memset(&pf, 0, sizeof(pf));
		for (i = 0; i < TOKENS + 2; i++) {
			if (sse_chunk_parse_in(&pf, chunk[i], chunk_len[i],
			    &c) < 0) {
				fprintf(stderr, "chunk %d refused\n", i);
				return 1;
			}
			bytes += c.content_len;
			chunks++;
			sse_chunk_free(&c);
		}
		sse_prefix_free(&pf);
	}
	printf("%ld chunks, %zu bytes of content\n", chunks, bytes);
	return 0;
}
