/*
 * lib/envfile.c: one table of files, each read as systemd's
 * EnvironmentFile= reads it (the variables it yields) or refused with
 * the line that says why; then the in-place fill (envfile_set) and the
 * atomic rewrite (envfile_write).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "envfile.h"

/* A file and what it reads as: "A=1|B=2" (the order names first appear), or an error. */
static const struct {
	const char *what;
	const char *file;
	const char *vars;	/* NULL: refused */
	const char *err;	/* a part of the error when refused */
} cases[] = {
	{ "plain", "A=1\nB=two words\n", "A=1|B=two words", NULL },
	{ "no final newline", "A=1", "A=1", NULL },
	{ "text beside noncharacters", "A=\xc3\xa9\xef\xbf\xbd\xef\xb7\xb0\n",
	    "A=\xc3\xa9\xef\xbf\xbd\xef\xb7\xb0", NULL },
	{ "empty file", "", "", NULL },
	{ "empty value", "A=\nB=2\n", "A=|B=2", NULL },
	{ "empty quotes", "A=\"\"\nB=''\n", "A=|B=", NULL },
	{ "duplicate: the last wins", "A=1\nB=2\nA=3\n", "A=3|B=2", NULL },
	{ "duplicate: an empty last wins", "A=1\nA=\n", "A=", NULL },
	{ "spaces around =", "A = 1\n  B\t=\tx y  \n", "A=1|B=x y", NULL },
	{ "single quotes removed", "A='a \"b\" \\n $c'\n",
	    "A=a \"b\" \\n $c", NULL },
	{ "double quotes removed", "A=\"x y\"\n", "A=x y", NULL },
	{ "double-quote escapes", "A=\"q\\\"b\\\\s\\`t\\$d\\ne\"\n",
	    "A=q\"b\\s`t$d\\ne", NULL },
	{ "a quote mid-value is literal", "A=it's\n", "A=it's", NULL },
	{ "quoted parts joined", "A=\"a\" 'b'c\n", "A=abc", NULL },
	{ "blanks after a closing quote", "A=\"x\"   \n", "A=x", NULL },
	{ "unquoted escapes", "A=a\\ b\\\\c\\$\n", "A=a b\\c$", NULL },
	{ "an escaped trailing blank stays", "A=a\\ \n", "A=a ", NULL },
	{ "continuation", "A=one\\\ntwo\nB=3\n", "A=onetwo|B=3", NULL },
	{ "continuation in double quotes", "A=\"one\\\ntwo\"\n", "A=onetwo",
	    NULL },
	{ "newline kept in quotes", "A='one\ntwo'\nB=3\n", "A=one\ntwo|B=3",
	    NULL },
	{ "comments", "# one\n; two\n  # three\nA=1 # not a comment\n",
	    "A=1 # not a comment", NULL },
	/*
	 * systemd before 254 (Debian 12's 252) takes the next line into a
	 * comment ending in a backslash, later ones do not: refused.
	 */
	{ "a comment ending in \\ refused", "# x \\\nA=1\n", NULL,
	    "line 1: a comment ends in '\\'" },
	{ "a ; comment too", "B=2\n; y\\", NULL, "line 2: a comment ends" },
	{ "a comment ending in \\\\ is one", "# x \\\\\nA=1\n", "A=1",
	    NULL },
	{ "blank lines", "\n\n  \nA=1\n\n", "A=1", NULL },
	{ "= in a value", "A=b=c\n", "A=b=c", NULL },
	{ "UTF-8 value", "A=caf\xc3\xa9\n", "A=caf\xc3\xa9", NULL },
	{ "CRLF refused with its line", "A=1\r\nB=2\r\n", NULL,
	    "line 1: ends in CR LF" },
	{ "CRLF on line 3", "A=1\n\nB=2\r\n", NULL, "line 3: ends in CR LF" },
	{ "a lone CR", "A=1\rB=2\n", NULL, "line 1: a carriage return" },
	{ "export refused", "A=1\nexport B=2\n", NULL,
	    "line 2: \"export B=...\": systemd ignores the line" },
	{ "export with spaces", "export  B = 2\n", NULL, "line 1: \"export B" },
	{ "a name with a space", "MY KEY=1\n", NULL,
	    "line 1: \"MY KEY\" is not a variable name" },
	{ "a name starting with a digit", "1A=1\n", NULL,
	    "\"1A\" is not a variable name" },
	{ "a name with a dash", "A-B=1\n", NULL, "\"A-B\" is not" },
	{ "an empty name", "=1\n", NULL, "\"\" is not a variable name" },
	{ "a value's line run on: not quoted", "A=1\nab+cd/ef==\n", NULL,
	    "line 2: the text before '=' is not a variable name" },
	{ "no =", "A=1\nJUST_A_WORD\n", NULL, "line 2: no '='" },
	{ "an unclosed double quote", "A=1\nB=\"open\nC=3\n", NULL,
	    "line 2: the double quote opened here is never closed" },
	{ "an unclosed single quote", "A='x", NULL,
	    "line 1: the single quote" },
	{ "an escape at the end of a quote", "A=\"x\\", NULL,
	    "line 1: the double quote" },
	{ "a NUL byte", "A=1\nB=\0\n", NULL, "line 2: a NUL byte" },
	{ "invalid UTF-8", "A=1\nB=\xff\n", NULL, "line 2: not valid UTF-8" },
	/* systemd refuses noncharacters, and the whole file with them. */
	{ "U+FFFF", "A=1\nB=Help\xef\xbf\xbf" "desk\n", NULL,
	    "line 2: not valid UTF-8" },
	{ "U+FDD0", "B=\xef\xb7\x90\n", NULL, "line 1: not valid UTF-8" },
	{ "U+10FFFE", "B=\xf4\x8f\xbf\xbe\n", NULL,
	    "line 1: not valid UTF-8" },
	{ "line numbers past a continuation", "A=a\\\nb\nB c=1\n", NULL,
	    "line 3:" },
	{ "line numbers past a quoted newline", "A='a\nb'\n\n9=1\n", NULL,
	    "line 4:" },
};

/* The variables as "A=1|B=2". */
static void
flatten(const struct envfile *ef, char *out, size_t outsz)
{
	size_t i;

	out[0] = '\0';
	for (i = 0; i < ef->n; i++) {
		if (i > 0)
			strlcat(out, "|", outsz);
		strlcat(out, ef->v[i].name, outsz);
		strlcat(out, "=", outsz);
		strlcat(out, ef->v[i].value, outsz);
	}
}

static void
test_table(void **state)
{
	char err[ENVFILE_ERR_MAX], got[512];
	struct envfile ef;
	size_t i, len;
	int rv;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* The NUL case's length is its literal's, not strlen's. */
		len = strcmp(cases[i].what, "a NUL byte") == 0 ? 8 :
		    strlen(cases[i].file);
		rv = envfile_parse(&ef, cases[i].file, len, err, sizeof(err));
		if (cases[i].vars != NULL) {
			if (rv != 0)
				fail_msg("%s: refused: %s", cases[i].what, err);
			flatten(&ef, got, sizeof(got));
			if (strcmp(got, cases[i].vars) != 0)
				fail_msg("%s: got \"%s\", want \"%s\"",
				    cases[i].what, got, cases[i].vars);
		} else {
			if (rv != -1)
				fail_msg("%s: accepted", cases[i].what);
			if (strstr(err, cases[i].err) == NULL)
				fail_msg("%s: error \"%s\" lacks \"%s\"",
				    cases[i].what, err, cases[i].err);
			assert_int_equal(ef.n, 0);
		}
		envfile_free(&ef);
	}
}

/* A refusal never shows a value (it may be a secret). */
static void
test_err_no_value(void **state)
{
	static const char *files[] = {
		"K=s3cret-value\r\n",
		"export K=s3cret-value\n",
		"K=\"s3cret-value\n",
		"K=s3cret-value\nnothing\n",
	};
	char err[ENVFILE_ERR_MAX];
	struct envfile ef;
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		assert_int_equal(envfile_parse(&ef, files[i], strlen(files[i]),
		    err, sizeof(err)), -1);
		assert_null(strstr(err, "s3cret"));
		envfile_free(&ef);
	}
}

/* Where each variable's last assignment is. */
static void
test_lines(void **state)
{
	const char *f = "# c\nA=1\nB='x\ny'\nA=2\n";
	const struct envfile_var *v;
	char err[ENVFILE_ERR_MAX];
	struct envfile ef;

	assert_int_equal(envfile_parse(&ef, f, strlen(f), err, sizeof(err)),
	    0);
	v = envfile_get(&ef, "A");
	assert_non_null(v);
	assert_int_equal(v->line, 5);
	assert_int_equal(v->start, 16);
	assert_int_equal(v->end, 19);
	assert_int_equal(envfile_get(&ef, "B")->line, 3);
	assert_null(envfile_get(&ef, "C"));
	envfile_free(&ef);
}

/* set(file, name, value) -> the new bytes. */
static void
check_set(const char *file, const char *name, const char *want)
{
	char err[ENVFILE_ERR_MAX], *out;
	struct envfile ef;
	size_t outlen;

	assert_int_equal(envfile_parse(&ef, file, strlen(file), err,
	    sizeof(err)), 0);
	assert_int_equal(envfile_set(file, strlen(file), &ef, name, "NEW",
	    &out, &outlen), 0);
	assert_string_equal(out, want);
	assert_int_equal(outlen, strlen(want));
	free(out);
	envfile_free(&ef);
}

static void
test_set(void **state)
{
	/* In place: the last assignment's line, every other byte kept. */
	check_set("# keys\nA=\nB=2\n", "A", "# keys\nA=NEW\nB=2\n");
	check_set("A=1\n  A = ''  \nB=2", "A", "A=1\nA=NEW\nB=2");
	/* Its continuation lines are its own. */
	check_set("A=\\\n\nB=2\n", "A", "A=NEW\nB=2\n");
	/* Absent: appended once, after a newline when the file lacks one. */
	check_set("B=2\n", "A", "B=2\nA=NEW\n");
	check_set("B=2", "A", "B=2\nA=NEW\n");
	check_set("", "A", "A=NEW\n");
	/* A final backslash would join the new line to its own: two. */
	check_set("B=b\\", "A", "B=b\\\n\nA=NEW\n");
	/* A final newline a continuation took does not end the line. */
	check_set("B=b\\\n", "A", "B=b\\\n\nA=NEW\n");
	check_set("B='x'\\\n", "A", "B='x'\\\n\nA=NEW\n");
	/* A comment is ended by a newline; a blank last line needs none. */
	check_set("# c", "A", "# c\nA=NEW\n");
	check_set("B=1\n  ", "A", "B=1\n  A=NEW\n");
}

static void
test_set_refuses(void **state)
{
	struct envfile ef = { 0 };
	char *out;
	size_t n;

	assert_int_equal(envfile_set("", 0, &ef, "A", "a b", &out, &n), -1);
	assert_int_equal(envfile_set("", 0, &ef, "A B", "x", &out, &n), -1);
}

/* The rewrite: new bytes, the given mode, nothing left beside it. */
static void
test_write(void **state)
{
	char dir[] = "/tmp/test_envfile.XXXXXX", path[64], err[256], *buf;
	struct envfile ef;
	struct stat sb;
	size_t len;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/env", dir);
	assert_int_equal(envfile_write(path, "A=1\n", 4, 0600, err,
	    sizeof(err)), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(envfile_read(&ef, path, &buf, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(len, 4);
	assert_string_equal(envfile_get(&ef, "A")->value, "1");
	free(buf);
	envfile_free(&ef);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);	/* no temp file left */
	/* A missing file names itself. */
	assert_int_equal(envfile_read(&ef, path, NULL, NULL, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, path));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_err_no_value),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_set_refuses),
		cmocka_unit_test(test_write),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
