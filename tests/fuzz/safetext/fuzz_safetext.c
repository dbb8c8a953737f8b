/*
 * libFuzzer target for the cleaning of a model server's error message
 * (upstream_safe_text, workerd/model/upstream.c) before it is logged,
 * stored and shown: the error's text is whatever the server (or whoever
 * sits on its path) sends. The deployment's key (OPENAI_API_KEY) is
 * set once; byte 0 picks the transfer's own key (none, or one of three
 * of [A-Za-z0-9._-], none of the masks' characters); the rest, NULs
 * and all, is the text. Properties are checked, abort() otherwise: a
 * NUL-ended copy of at most 200 bytes, without a control byte (below
 * 0x20, 0x7f), valid UTF-8 when the text is; neither key in it in any
 * case; every "sk-" in it followed by "***" (or the cut), every "://"
 * followed by user info only as "***@"; a text with none of those
 * (keys, "sk-", "://") comes out as it went in, controls made spaces,
 * cut (valid UTF-8: at a character's start no more than 3 bytes short
 * of 200); the same text cleans the same twice.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loop.h"
#include "upstream.h"
#include "util.h"
#include "workerd.h"

#define DEPLOY_KEY	"sk-Deployment-0123456789abcdef"
#define SHOWN_MAX	200	/* upstream.c's UP_ERRMSG_MAX */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_safetext: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char key[] = DEPLOY_KEY;

	(void)argc;
	(void)argv;
	wsettings.openai_key = key;
	loop_init();
	check(upstream_init() == 0, "upstream_init");
	return 0;
}

/* Whether len bytes of s hold needle, in any case. */
static int
holds(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; n > 0 && i + n <= len; i++)
		if (strncasecmp(s + i, needle, n) == 0)
			return 1;
	return 0;
}

/* A byte a URL's user info may hold (upstream.c's userinfo_at). */
static int
userinfo_byte(char c)
{
	return (unsigned char)c >= 0x21 && strchr("/?# \"'<>", c) == NULL;
}

/* Every "sk-" followed by "***"; every "://" user info by "***@". */
static void
check_masks(const char *out)
{
	const char *p;
	size_t j;

	for (p = out; (p = strcasestr(p, "sk-")) != NULL; p += 3)
		check(strncmp(p + 3, "***", strlen(p + 3) < 3 ? strlen(p + 3) :
		    3) == 0, "an sk- key shown");
	for (p = out; (p = strstr(p, "://")) != NULL; p += 3) {
		for (j = 3; p[j] != '\0' && p[j] != '@' && userinfo_byte(p[j]);
		    j++)
			;
		check(p[j] != '@' || j == 3 || (j == 6 &&
		    strncmp(p + 3, "***", 3) == 0), "a URL's user info shown");
	}
}

/*
 * A text with nothing to mask: itself, controls made spaces, cut (at a
 * character's start when it is UTF-8; the callers' texts are, as
 * jansson read them).
 */
static void
check_plain(const char *s, size_t len, const char *out)
{
	size_t n = strlen(out), i;

	check(n <= len && (n == len || n + 3 >= SHOWN_MAX ||
	    !proto_utf8_valid(s, len)), "a plain text cut short");
	for (i = 0; i < n; i++)
		check(out[i] == ((unsigned char)s[i] < 0x20 || s[i] == 0x7f ?
		    ' ' : s[i]), "a plain text changed");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { NULL, "tenant-KEY.0042",
	    "x", "abc_DEF-123.456-ghi" };
	const char *key, *s = (const char *)data + 1;
	size_t len, n, i;
	char *out, *again;

	if (size < 1)
		return 0;
	key = keys[data[0] & 3];
	len = size - 1;
	out = upstream_safe_text(key, s, len);
	again = upstream_safe_text(key, s, len);
	check(out != NULL && again != NULL, "out of memory");
	check(strcmp(out, again) == 0, "the same text, cleaned otherwise");
	n = strlen(out);
	check(n <= SHOWN_MAX, "longer than 200 bytes");
	for (i = 0; i < n; i++)
		check((unsigned char)out[i] >= 0x20 && out[i] != 0x7f,
		    "a control byte shown");
	check(!proto_utf8_valid(s, len) || proto_utf8_valid(out, n),
	    "valid UTF-8 made invalid");
	check(!holds(out, n, DEPLOY_KEY), "the deployment's key shown");
	check(key == NULL || !holds(out, n, key), "the transfer's key shown");
	check_masks(out);
	if (!holds(s, len, "sk-") && !holds(s, len, "://") &&
	    (key == NULL || !holds(s, len, key)))
		check_plain(s, len, out);
	free(out);
	free(again);
	return 0;
}
