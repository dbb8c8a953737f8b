/*
 * Standard Webhooks signatures (workerd/notify/sign.c): the signature
 * the reference npm library makes, the specification's own example, what
 * changes it, malformed secrets and short outputs, new secrets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "notify.h"

/*
 * Made by the npm package standardwebhooks 1.1.1 (node 20.20.2):
 *	new Webhook(SECRET).sign(MSG_ID, new Date(TS * 1000), PAYLOAD)
 * The key is the bytes 0, 1, ... 31.
 */
#define SECRET	"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define MSG_ID	"msg_0123456789abcdef0123456789abcdef"
#define TS	1767225600ULL
#define PAYLOAD	"{\"type\":\"conversation.created\",\"timestamp\":" \
		"\"2026-01-01T00:00:00Z\",\"data\":{\"name\":\"Zo\xc3\xab\"}}"
#define SIG	"v1,On9CLg7SS25XohGdiQvur4VQhTABLF/YuRIXIbIFMJ8="

/* The specification's example (a 24-byte key), which 1.1.1 signs alike. */
#define SPEC_SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SPEC_ID		"msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SPEC_TS		1614265330ULL
#define SPEC_PAYLOAD	"{\"test\": 2432232314}"
#define SPEC_SIG	"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static const char *
sign(const char *secret, const char *id, uint64_t ts, const char *payload)
{
	static char out[NOTIFY_SIG_LEN + 1];

	assert_int_equal(notify_sign(secret, id, ts, payload, strlen(payload),
	    out, sizeof(out)), 0);
	return out;
}

static void
test_known_answer(void **state)
{
	assert_string_equal(sign(SECRET, MSG_ID, TS, PAYLOAD), SIG);
	assert_string_equal(sign(SPEC_SECRET, SPEC_ID, SPEC_TS, SPEC_PAYLOAD),
	    SPEC_SIG);
	/* The prefix is optional, as in the reference libraries. */
	assert_string_equal(sign(SECRET + 6, MSG_ID, TS, PAYLOAD), SIG);
	assert_int_equal(strlen(SIG), NOTIFY_SIG_LEN);
}

static void
test_differs(void **state)
{
	char sig[NOTIFY_SIG_LEN + 1];

	strcpy(sig, sign(SECRET, MSG_ID, TS, PAYLOAD));
	assert_string_not_equal(sign(SECRET,
	    "msg_0123456789abcdef0123456789abcdee", TS, PAYLOAD), sig);
	assert_string_not_equal(sign(SECRET, MSG_ID, TS + 1, PAYLOAD), sig);
	assert_string_not_equal(sign(
	    "whsec_AQECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", MSG_ID, TS,
	    PAYLOAD), sig);
	assert_string_not_equal(sign(SECRET, MSG_ID, TS, PAYLOAD " "), sig);
	assert_string_equal(sign(SECRET, MSG_ID, TS, PAYLOAD), sig);
	/* An empty body signs too ("<id>.<ts>."). */
	assert_int_equal(notify_sign(SECRET, MSG_ID, TS, NULL, 0, sig,
	    sizeof(sig)), 0);
	assert_memory_equal(sig, "v1,", 3);
}

static void
test_malformed_secret(void **state)
{
	static const char *bad[] = {
		NULL, "", "whsec_", "whsec",
		/* 23 bytes: too short; 65: too long */
		"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRY=",
		"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygp"
		"KissLS4vMDEyMzQ1Njc4OTo7PD0+P0A=",
		/* padding missing, misplaced, too long; bad characters */
		"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
		"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH=h8",
		"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH===",
		"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8-",
		"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh_=",
		"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd Hh8=",
		"WHSEC_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"whsec:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		/* unused bits not 0: not the canonical spelling */
		"whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",
	};
	uint8_t key[NOTIFY_KEY_MAX];
	char out[NOTIFY_SIG_LEN + 1];
	size_t i, len;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		len = 99;
		assert_int_equal(notify_secret_key(bad[i], key, &len), -1);
		assert_int_equal(len, 0);
		strcpy(out, "x");
		assert_int_equal(notify_sign(bad[i], MSG_ID, TS, "{}", 2, out,
		    sizeof(out)), -1);
		assert_string_equal(out, "");
	}
	/* 24 and 64 bytes are the bounds. */
	assert_int_equal(notify_secret_key(SPEC_SECRET, key, &len), 0);
	assert_int_equal(len, 24);
	assert_int_equal(notify_secret_key("whsec_AAECAwQFBgcICQoLDA0ODxAREhMU"
	    "FRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==",
	    key, &len), 0);
	assert_int_equal(len, 64);
	assert_int_equal(key[63], 63);
	assert_int_equal(notify_secret_key(SECRET, key, &len), 0);
	assert_int_equal(len, 32);
	assert_int_equal(key[0], 0);
	assert_int_equal(key[31], 31);
}

static void
test_out_too_small(void **state)
{
	char out[NOTIFY_SIG_LEN + 8];

	memset(out, 'x', sizeof(out));
	assert_int_equal(notify_sign(SECRET, MSG_ID, TS, PAYLOAD,
	    strlen(PAYLOAD), out, NOTIFY_SIG_LEN), -1);
	assert_int_equal(out[0], '\0');
	assert_int_equal(out[1], 'x');
	assert_int_equal(notify_sign(SECRET, MSG_ID, TS, PAYLOAD,
	    strlen(PAYLOAD), out, 0), -1);
	assert_int_equal(notify_sign(SECRET, NULL, TS, PAYLOAD,
	    strlen(PAYLOAD), out, sizeof(out)), -1);
	memset(out, 'x', sizeof(out));
	assert_int_equal(notify_sign(SECRET, MSG_ID, TS, PAYLOAD,
	    strlen(PAYLOAD), out, NOTIFY_SIG_LEN + 1), 0);
	assert_string_equal(out, SIG);
	assert_int_equal(out[NOTIFY_SIG_LEN + 1], 'x');
}

static void
test_secret_new(void **state)
{
	char a[NOTIFY_SECRET_LEN + 1], b[NOTIFY_SECRET_LEN + 1];
	char sig[NOTIFY_SIG_LEN + 1];
	uint8_t key[NOTIFY_KEY_MAX];
	size_t len;

	assert_int_equal(notify_secret_new(a), 0);
	assert_int_equal(notify_secret_new(b), 0);
	assert_int_equal(strlen(a), NOTIFY_SECRET_LEN);
	assert_memory_equal(a, "whsec_", 6);
	assert_string_not_equal(a, b);
	assert_int_equal(notify_secret_key(a, key, &len), 0);
	assert_int_equal(len, NOTIFY_SECRET_BYTES);
	assert_int_equal(notify_secret_key(b, key, &len), 0);
	assert_int_equal(len, NOTIFY_SECRET_BYTES);
	assert_int_equal(notify_sign(a, MSG_ID, TS, "{}", 2, sig,
	    sizeof(sig)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_differs),
		cmocka_unit_test(test_malformed_secret),
		cmocka_unit_test(test_out_too_small),
		cmocka_unit_test(test_secret_new),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
