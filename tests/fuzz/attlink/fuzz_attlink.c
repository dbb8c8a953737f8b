/*
 * libFuzzer target for what a visitor sends about an attachment
 * (workerd/attach/attlink.c): a file's name as given (att_name_clean) and
 * a link's exp and sig as given (att_link_ok). The input is the name,
 * then, after a NUL, the exp and, after another, the sig. Properties are
 * checked, abort() otherwise: a cleaned name is 1 to ST_ATT_NAME_MAX
 * bytes of UTF-8 with no control, no quote, no slash or backslash; a
 * link is good only when its sig is the one att_sign makes for its exp,
 * and never once expired.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define ID	"att_0123456789abcdef0123456789abcdef"
#define NOW	1764000000000ull

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_attlink: %s\n", what);
		abort();
	}
}

/* The part of the input from *off to the next NUL (or the end), copied. */
static char *
part(const uint8_t *data, size_t size, size_t *off)
{
	size_t n = 0;
	char *s;

	while (*off + n < size && data[*off + n] != 0)
		n++;
	if ((s = malloc(n + 1)) == NULL)
		abort();
	memcpy(s, data + *off, n);
	s[n] = '\0';
	*off += n + (*off + n < size);
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[ST_ATT_NAME_MAX + 1], sig[ATT_SIG_HEX + 1];
	char *given, *exp, *gsig;
	size_t off = 0, i, n;
	unsigned long long e;
	int ok;

	given = part(data, size, &off);
	exp = part(data, size, &off);
	gsig = part(data, size, &off);
	att_name_clean(given, name, sizeof(name));
	n = strlen(name);
	check(n >= 1 && n <= ST_ATT_NAME_MAX, "a name's length");
	check(proto_utf8_valid(name, n), "a name not UTF-8");
	for (i = 0; i < n; i++)
		check((unsigned char)name[i] >= 0x20 && name[i] != 0x7f &&
		    name[i] != '"' && name[i] != '/' && name[i] != '\\',
		    "a name's byte");
	ok = att_link_ok(KEY, ID, exp, gsig, NOW);
	if (ok) {
		e = strtoull(exp, NULL, 10);
		check(e >= NOW, "an expired link good");
		check(att_sign(KEY, ID, e, sig) == 0 && strcmp(sig, gsig) == 0,
		    "a link good that is not signed");
	}
	/* Signed now, for its exp: good while it lasts. */
	if (exp[0] >= '1' && exp[0] <= '9' && strlen(exp) <= 19 &&
	    strspn(exp, "0123456789") == strlen(exp)) {
		e = strtoull(exp, NULL, 10);
		if (e >= NOW && att_sign(KEY, ID, e, sig) == 0)
			check(att_link_ok(KEY, ID, exp, sig, NOW) == 1,
			    "a signed link refused");
	}
	free(given);
	free(exp);
	free(gsig);
	return 0;
}
