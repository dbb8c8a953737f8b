/*
 * The SMTP server's answers to RCPT TO as the mailer reads them
 * (workerd/notify/mailer.c, rcpt_answers_read): the input is a
 * conversation, lines split at '\n', a line starting with '>' one curl
 * sent (the rest of it), any other one the server's. Properties, abort()
 * otherwise: no RCPT TO past ST_MAIL_RCPT_MAX gets a code, a code is 0
 * or a reply's (100 to 599) and only for one asked, at most one code
 * per RCPT TO asked, and the refusal is a NUL-ended line of a 4xx or 5xx
 * code with no CR or LF.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "notify.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(const struct rcpt_answers *a, uint32_t sent, uint32_t replies)
{
	uint32_t i, coded = 0;
	size_t n;

	if (a->nasked != sent)
		abort();
	for (i = 0; i < ST_MAIL_RCPT_MAX; i++) {
		if (a->code[i] == 0)
			continue;
		if (a->code[i] < 100 || a->code[i] > 599 || i >= a->nasked)
			abort();
		coded++;
	}
	if (coded > replies || coded > a->nasked)
		abort();
	n = strnlen(a->refusal, sizeof(a->refusal));
	if (n == sizeof(a->refusal) || memchr(a->refusal, '\r', n) != NULL ||
	    memchr(a->refusal, '\n', n) != NULL)
		abort();
	if (n > 0 && (n < 3 || a->refusal[0] < '4' || a->refusal[0] > '5'))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct rcpt_answers a;
	const char *p = (const char *)data, *end = p + len, *nl;
	uint32_t sent = 0, replies = 0;
	size_t n;
	char *line;

	memset(&a, 0, sizeof(a));
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		/* A copy of its own: a read past the line is ASan's to see. */
		if ((line = malloc(n > 0 ? n : 1)) == NULL)
			abort();
		memcpy(line, p, n);
		if (n > 0 && line[0] == '>') {
			sent += n >= 6 && strncasecmp(line + 1, "RCPT ", 5) == 0;
			rcpt_answers_read(&a, 1, line + 1, n - 1);
		} else {
			replies++;
			rcpt_answers_read(&a, 0, line, n);
		}
		free(line);
		p += n;
	}
	check(&a, sent, replies);
	return 0;
}
