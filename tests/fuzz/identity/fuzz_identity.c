/*
 * libFuzzer target for the identity check (proto/identity.c:
 * st_identity_ok, st_identity_expiring_ok, st_identity_email_ok), which
 * storaged runs on what a visitor's identify frame carries: an external
 * id, an email, an expires and their hashes, any bytes a page (or whoever
 * holds its socket) sends. Byte 0 picks the widget's secret (bits 0-1:
 * three valid ones, one of upper-case hex) and storaged's clock (bits
 * 2-7); the rest, split at NUL bytes, is the id, the hash, the email and
 * expires in decimal. Properties are checked, abort() otherwise: a hash
 * given passes only when it is the lower-case hex HMAC-SHA256 of its
 * form's message (the id; "exp:" expires ":" the id; "email:" the email)
 * under a valid secret; the right hash passes, within the bounds (the
 * id's form refuses an id that starts with either prefix; expires within
 * ST_IDENTITY_EXPIRES_MAX and not past the clock by more than
 * ST_IDENTITY_SKEW_S), and with a digit changed or in upper case does
 * not; and a hash made for one form never passes for another: an id's
 * for an expiring identity or an email, an email's for an id (the email
 * with its prefix or without), an expiring one's for the id its message
 * spells.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "util.h"
#include "widgetmsg.h"

#define FIELD_MAX	2048	/* past the 1 KiB message identity.c signs */
#define NOW_BASE	UINT64_C(1700000000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_identity: %s\n", what);
		abort();
	}
}

/* The lower-case hex HMAC-SHA256 of prefix + value under secret. */
static void
mac_hex(const char *secret, const char *prefix, const char *value,
    char out[ST_SECRET_HEX + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t plen = strlen(prefix), vlen = strlen(value);
	unsigned char *msg = malloc(plen + vlen + 1);

	if (msg == NULL)
		abort();
	memcpy(msg, prefix, plen);
	memcpy(msg + plen, value, vlen);
	if (HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, plen + vlen,
	    mac, &n) == NULL || n != 32)
		abort();
	proto_hex_encode(mac, n, out);
	free(msg);
}

/* The next NUL-ended field of the input at *p, at most FIELD_MAX bytes. */
static void
field(const uint8_t **p, const uint8_t *end, char *out)
{
	size_t n = 0;

	while (*p < end && **p != '\0' && n < FIELD_MAX)
		out[n++] = (char)*(*p)++;
	out[n] = '\0';
	while (*p < end && **p != '\0')
		(*p)++;
	if (*p < end)
		(*p)++;
}

static int
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* hash with its first hex digit changed, and in upper case. */
static void
check_altered(int (*ok)(const char *, const char *, const char *),
    const char *secret, const char *v, const char *hash, const char *what)
{
	char h[ST_SECRET_HEX + 1];
	size_t i;
	int letters = 0;

	strcpy(h, hash);
	h[0] = h[0] == '0' ? '1' : '0';
	check(!ok(secret, v, h), what);
	strcpy(h, hash);
	for (i = 0; h[i] != '\0'; i++)
		if (h[i] >= 'a' && h[i] <= 'f') {
			h[i] = (char)(h[i] - 'a' + 'A');
			letters = 1;
		}
	check(!letters || !ok(secret, v, h), what);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const secrets[] = {
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	    "abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdefabcd",
	    "ABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCDEFABCD",
	};
	static char id[FIELD_MAX + 1], hash[FIELD_MAX + 1], email[FIELD_MAX + 1],
	    exps[FIELD_MAX + 1], msg[2 * FIELD_MAX];
	char h_id[ST_SECRET_HEX + 1], h_exp[ST_SECRET_HEX + 1],
	    h_mail[ST_SECRET_HEX + 1], prefix[48];
	const uint8_t *p = data + 1, *end = data + size;
	const char *secret;
	uint64_t now, expires;
	int valid, fits, ok;

	if (size < 1)
		return 0;
	secret = secrets[data[0] & 3];
	valid = (data[0] & 3) != 3;
	now = NOW_BASE + (uint64_t)(data[0] >> 2) * 40;
	field(&p, end, id);
	field(&p, end, hash);
	field(&p, end, email);
	field(&p, end, exps);
	expires = strtoull(exps, NULL, 10);
	snprintf(prefix, sizeof(prefix), "%s%" PRIu64 ":", ST_EXP_HASH_PREFIX,
	    expires);

	/* The hash given: it passes only as the HMAC of its form's message. */
	mac_hex(secret, "", id, h_id);
	mac_hex(secret, prefix, id, h_exp);
	mac_hex(secret, ST_EMAIL_HASH_PREFIX, email, h_mail);
	if (st_identity_ok(secret, id, hash))
		check(valid && strcmp(hash, h_id) == 0, "a wrong id's hash passed");
	if (st_identity_expiring_ok(secret, id, expires, now, hash))
		check(valid && strcmp(hash, expires == 0 ? h_id : h_exp) == 0,
		    "a wrong expiring hash passed");
	if (st_identity_email_ok(secret, email, hash))
		check(valid && strcmp(hash, h_mail) == 0,
		    "a wrong email's hash passed");

	/* The id's form: its right hash, altered, and for no other form. */
	fits = strlen(id) < 1024;
	ok = st_identity_ok(secret, id, h_id);
	check(ok == (valid && fits && !starts(id, ST_EXP_HASH_PREFIX) &&
	    !starts(id, ST_EMAIL_HASH_PREFIX)), "the id's right hash judged wrong");
	check_altered(st_identity_ok, secret, id, h_id, "an altered id hash passed");
	check(expires == 0 || !st_identity_expiring_ok(secret, id, expires, now,
	    h_id), "an id's hash passed as an expiring one");
	check(!st_identity_email_ok(secret, id, h_id),
	    "an id's hash passed as its email's");

	/* The expiring form. */
	if (expires != 0) {
		fits = strlen(prefix) + strlen(id) < 1024;
		ok = st_identity_expiring_ok(secret, id, expires, now, h_exp);
		check(ok == (valid && fits && expires <=
		    ST_IDENTITY_EXPIRES_MAX && expires + ST_IDENTITY_SKEW_S >=
		    now), "the expiring right hash judged wrong");
		snprintf(msg, sizeof(msg), "%s%s", prefix, id);
		check(!st_identity_ok(secret, msg, h_exp),
		    "an expiring hash passed as the id its message spells");
		check(!st_identity_ok(secret, id, h_exp),
		    "an expiring hash passed as its id's");
	}

	/* The email's form. */
	fits = strlen(ST_EMAIL_HASH_PREFIX) + strlen(email) < 1024;
	ok = st_identity_email_ok(secret, email, h_mail);
	check(ok == (valid && fits && email[0] != '\0'),
	    "the email's right hash judged wrong");
	check_altered(st_identity_email_ok, secret, email, h_mail,
	    "an altered email hash passed");
	check(!st_identity_ok(secret, email, h_mail),
	    "an email's hash passed as an id");
	snprintf(msg, sizeof(msg), "%s%s", ST_EMAIL_HASH_PREFIX, email);
	check(!st_identity_ok(secret, msg, h_mail),
	    "an email's hash passed as the id its message spells");

	return 0;
}
