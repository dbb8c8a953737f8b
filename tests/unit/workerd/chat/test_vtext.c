/*
 * The server's words to a visitor in each widget language (vtext.c):
 * every text there, in every language, whole UTF-8 with its placeholder
 * where one belongs; the language picked from the widget and the
 * browser's Accept-Language; a wait filled in and cut at a character.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "util.h"
#include "vtext.h"
#include "widgetmsg.h"

#define DE	4		/* ST_LANG_* of "de", "fr", "ja", "zh" */
#define FR	3
#define JA	10
#define ZH	11

static int
has_wait(enum vtext_id id)
{
	return id == VT_TOO_MANY_MESSAGES || id == VT_TOO_MANY_REQUESTS ||
	    id == VT_TOO_MUCH_FEEDBACK;
}

static void
test_every_text(void **state)
{
	const char *t;
	int lang, id;

	(void)state;
	for (lang = 0; lang < ST_LANGS; lang++)
		for (id = 0; id < VT_COUNT; id++) {
			t = vtext(lang, id);
			assert_non_null(t);
			assert_true(t[0] != '\0');
			assert_true(proto_utf8_chars(t, strlen(t)) > 0);
			assert_int_equal(strstr(t, "{seconds}") != NULL,
			    has_wait(id));
			assert_non_null(vtext_code(id));
			/* Another language's own words, not English again. */
			if (lang != ST_LANG_EN && id != VT_AWAY)
				assert_string_not_equal(t,
				    vtext(ST_LANG_EN, id));
		}
	/* The English the protocol documents. */
	assert_string_equal(vtext(ST_LANG_EN, VT_FIRST),
	    "Please send a message first.");
	assert_string_equal(vtext(ST_LANG_EN, VT_CONV_NOT_FOUND),
	    "Conversation not found");
	assert_string_equal(vtext(ST_LANG_EN, VT_AWAY),
	    ST_DEFAULT_AWAY_MESSAGE);
	assert_string_equal(vtext_code(VT_CONTACT_FIRST), "contact_required");
	/* Out of range: English. */
	assert_string_equal(vtext(-1, VT_FIRST), vtext(ST_LANG_EN, VT_FIRST));
	assert_string_equal(vtext(ST_LANGS, VT_FIRST),
	    vtext(ST_LANG_EN, VT_FIRST));
}

static void
test_accept(void **state)
{
	(void)state;
	assert_int_equal(vtext_accept(NULL), ST_LANG_EN);
	assert_int_equal(vtext_accept(""), ST_LANG_EN);
	assert_int_equal(vtext_accept("*"), ST_LANG_EN);
	assert_int_equal(vtext_accept("de-DE,de;q=0.9,en;q=0.8"), DE);
	assert_int_equal(vtext_accept("en-US,de"), ST_LANG_EN);
	/* The first widget language listed. */
	assert_int_equal(vtext_accept("sv-SE, fr;q=0.5"), FR);
	assert_int_equal(vtext_accept("  DE , fr"), DE);
	assert_int_equal(vtext_accept("zh-Hant-TW"), ZH);
	assert_int_equal(vtext_accept("ja;q=0.8"), JA);
	/* Not acceptable at all (q=0), or not a language tag. */
	assert_int_equal(vtext_accept("de;q=0, fr"), FR);
	assert_int_equal(vtext_accept("de; q=0.000,fr"), FR);
	assert_int_equal(vtext_accept("de;q=0.5"), DE);
	assert_int_equal(vtext_accept("deu, fra"), ST_LANG_EN);
	assert_int_equal(vtext_accept("d,e,-de"), ST_LANG_EN);
	assert_int_equal(vtext_accept("de_DE"), ST_LANG_EN);
}

static void
test_lang(void **state)
{
	(void)state;
	/* The widget's own language first, then the browser's. */
	assert_int_equal(vtext_lang("fr", DE), FR);
	assert_int_equal(vtext_lang("", DE), DE);
	assert_int_equal(vtext_lang(NULL, JA), JA);
	assert_int_equal(vtext_lang("xx", DE), DE);
	assert_int_equal(vtext_lang("", -3), ST_LANG_EN);
	assert_int_equal(vtext_lang("", ST_LANGS), ST_LANG_EN);
}

static void
test_wait(void **state)
{
	char buf[VTEXT_WAIT_MAX], whole[VTEXT_WAIT_MAX];
	int lang, id;
	size_t size;

	(void)state;
	vtext_wait(buf, sizeof(buf), DE, VT_TOO_MANY_MESSAGES, 2500);
	assert_string_equal(buf, "Zu viele Nachrichten. Bitte warten Sie 3 "
	    "Sekunden und versuchen Sie es dann erneut.");
	vtext_wait(buf, sizeof(buf), ST_LANG_EN, VT_TOO_MANY_REQUESTS, 60000);
	assert_string_equal(buf, "Too many requests. Please wait 60 seconds "
	    "and try again.");
	/* Every text fits with the longest wait. */
	for (lang = 0; lang < ST_LANGS; lang++)
		for (id = 0; id < VT_COUNT; id++) {
			vtext_wait(buf, sizeof(buf), lang, id, UINT64_MAX);
			assert_true(strlen(buf) < sizeof(buf) - 1);
		}
	/* Cut short: a whole-character prefix, for every size. */
	vtext_wait(whole, sizeof(whole), JA, VT_TOO_MUCH_FEEDBACK, 9000);
	for (size = 1; size <= strlen(whole) + 1; size++) {
		memset(buf, 'x', sizeof(buf));
		vtext_wait(buf, size, JA, VT_TOO_MUCH_FEEDBACK, 9000);
		assert_true(strlen(buf) < size);
		assert_true(strlen(buf) + 3 >= size - 1);
		assert_memory_equal(buf, whole, strlen(buf));
		assert_true(proto_utf8_chars(buf, strlen(buf)) >= 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_text),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_lang),
		cmocka_unit_test(test_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
