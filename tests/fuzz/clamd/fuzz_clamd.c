/*
 * libFuzzer target for what the attachment scanner reads
 * (workerd/attach/clamd.c, lib/clamdaddr.c): any bytes as clamd's reply
 * to INSTREAM, and as a PARLEY_CLAMD value. Checked, abort() otherwise:
 * the result is one of the four; a name exactly when infected, a reason
 * exactly when unavailable or too large, both NUL-ended within their
 * bounds and printable ASCII (a reply's bytes never reach a log raw);
 * clean only for "stream: OK", too large only for clamd's size-limit
 * line, infected only for "stream: ... FOUND" (each with NULs, CRs and
 * newlines at the end ignored); the same reply read the same twice. An
 * address taken reads again from its own text to the same address; one
 * refused has a reason and leaves the address zeroed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clamd.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_clamd: %s\n", what);
		abort();
	}
}

/* NUL-ended within n bytes, printable ASCII before it. */
static int
printable(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] != '\0'; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return i < n;
}

/* NUL-ended within n bytes, no control character before it. */
static int
no_controls(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n && s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return i < n;
}

static int
trimmed_is(const uint8_t *d, size_t len, const char *lit)
{
	while (len > 0 && (d[len - 1] == '\0' || d[len - 1] == '\n' ||
	    d[len - 1] == '\r'))
		len--;
	return len == strlen(lit) && memcmp(d, lit, len) == 0;
}

static void
reply(const uint8_t *data, size_t size)
{
	struct clamd_verdict v, v2;

	clamd_reply_parse(data, size, &v);
	check(v.result >= CLAMD_UNAVAILABLE && v.result <= CLAMD_TOO_LARGE,
	    "result out of range");
	check(printable(v.name, sizeof(v.name)), "name not printable");
	check(printable(v.why, sizeof(v.why)), "why not printable");
	check((v.result == CLAMD_INFECTED) == (v.name[0] != '\0'),
	    "a name exactly when infected");
	check((v.result == CLAMD_UNAVAILABLE || v.result == CLAMD_TOO_LARGE) ==
	    (v.why[0] != '\0'), "a reason exactly when no verdict");
	check((v.result == CLAMD_CLEAN) == trimmed_is(data, size,
	    "stream: OK"), "clean");
	check((v.result == CLAMD_TOO_LARGE) == trimmed_is(data, size,
	    "INSTREAM size limit exceeded. ERROR"), "too large");
	if (v.result == CLAMD_INFECTED)
		check(size > 14 && memcmp(data, "stream: ", 8) == 0 &&
		    memmem(data, size, " FOUND", 6) != NULL, "infected");
	clamd_reply_parse(data, size, &v2);
	check(memcmp(&v, &v2, sizeof(v)) == 0, "not the same twice");
}

static void
address(const uint8_t *data, size_t size)
{
	struct clamd_addr a, b;
	const char *why;
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		return;
	memcpy(s, data, size);
	s[size] = '\0';
	if (clamd_addr_parse(s, &a, &why) == 0) {
		check(why == NULL, "a reason for an address taken");
		check(no_controls(a.text, sizeof(a.text)), "text");
		check(clamd_addr_parse(a.text, &b, &why) == 0,
		    "its text refused");
		check(memcmp(&a, &b, sizeof(a)) == 0, "its text another");
	} else {
		check(why != NULL, "refused without a reason");
		check(proto_zeroed(&a, sizeof(a)), "refused, not zeroed");
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	reply(data, size);
	address(data, size);
	return 0;
}
