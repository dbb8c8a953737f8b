/* Unit tests: the log line (lib/log.c), read back from stderr. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"

/* What one log_warnx(fmt, arg) writes, into out (stderr sent to a pipe). */
static void
logged(char *out, size_t outlen, const char *arg)
{
	int fds[2], saved;
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fds[1], STDERR_FILENO) >= 0);
	log_warnx("answer: %s", arg);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	close(fds[1]);
	n = read(fds[0], out, outlen - 1);
	close(fds[0]);
	assert_true(n > 0);
	out[n] = '\0';
}

/* A value's line breaks and escapes cannot make a line of their own. */
static void
test_control_bytes(void **state)
{
	char out[2048];

	(void)state;
	log_init("parley-test");
	logged(out, sizeof(out), "550 no\r\n<3>parley-storaged[1]: fatal: "
	    "forged\x1b[2J\x7f\tend");
	assert_string_equal(strchr(out, ':') + 2, "warn: answer: 550 "
	    "no\\x0d\\x0a<3>parley-storaged[1]: fatal: forged\\x1b[2J\\x7f"
	    "\\x09end\n");
	/* One line: a single newline, at the end. */
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	/* UTF-8 is kept as it is. */
	logged(out, sizeof(out), "Zoë \xe2\x82\xac \xf0\x9f\x98\x80 \xc2\xa0.");
	assert_non_null(strstr(out, "answer: Zoë \xe2\x82\xac \xf0\x9f\x98\x80 "
	    "\xc2\xa0.\n"));
	/*
	 * But not a C1 control (U+009B, a terminal's CSI, written in UTF-8
	 * or as one byte), nor a byte that begins no whole character.
	 */
	logged(out, sizeof(out), "/x\xc2\x9b" "2J\x9b" "31m\xe2\x82 end");
	assert_non_null(strstr(out, "answer: /x\\xc2\\x9b2J\\x9b31m\\xe2\\x82 "
	    "end\n"));
}

/* A value of control bytes past the line's room is cut, not overrun. */
static void
test_long_value(void **state)
{
	char big[1500], out[4096];

	(void)state;
	memset(big, '\n', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	logged(out, sizeof(out), big);
	assert_true(strlen(out) < 1200);
	assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1);
	assert_non_null(strstr(out, "\\x0a\\x0a"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_bytes),
		cmocka_unit_test(test_long_value),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
