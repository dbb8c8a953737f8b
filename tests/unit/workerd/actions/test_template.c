/*
 * An action's templates (workerd/actions/template.c): a URL's values
 * percent-encoded so that they stay in their segment; a JSON body's in a
 * string escaped and as a value whole; the visitor's own fields, and never
 * what the model wrote in their place; what tpl_check refuses at save.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

static const struct tpl_visitor VISITOR = { "cus_42", "ann@example.com" };

/* tpl filled from args (JSON text): the result, to free; NULL and why. */
static char *
fill(enum tpl_kind kind, const char *tpl, const char *args,
    const struct tpl_visitor *v, const char **why)
{
	json_t *a = json_loads(args, 0, NULL);
	char *out;

	assert_non_null(a);
	if (tpl_expand(kind, tpl, a, v, &out, why) < 0) {
		assert_non_null(*why);
		out = NULL;
	}
	json_decref(a);
	return out;
}

static void
assert_fills(enum tpl_kind kind, const char *tpl, const char *args,
    const char *want)
{
	const char *why;
	char *got = fill(kind, tpl, args, &VISITOR, &why);

	if (got == NULL)
		fail_msg("%s: %s", tpl, why);
	assert_string_equal(got, want);
	free(got);
}

static void
assert_refused(enum tpl_kind kind, const char *tpl, const char *args,
    const struct tpl_visitor *v, const char *why_part)
{
	const char *why;
	char *got = fill(kind, tpl, args, v, &why);

	if (got != NULL)
		fail_msg("%s: filled as %s", tpl, got);
	if (strstr(why, why_part) == NULL)
		fail_msg("%s: %s, not %s", tpl, why, why_part);
}

static void
test_url(void **state)
{
	assert_fills(TPL_URL, "https://shop.example/orders/{{order_id}}",
	    "{\"order_id\":\"4411\"}", "https://shop.example/orders/4411");
	/* A value cannot leave its segment: / ? # @ : & all encoded. */
	assert_fills(TPL_URL, "https://shop.example/orders/{{ order_id }}?x=1",
	    "{\"order_id\":\"a/admin?all=1#@evil.example:80&a b\"}",
	    "https://shop.example/orders/a%2Fadmin%3Fall%3D1%23%40"
	    "evil.example%3A80%26a%20b?x=1");
	/* Numbers and booleans as written, UTF-8 byte by byte, absent "". */
	assert_fills(TPL_URL, "https://a.example/p?n={{n}}&b={{b}}&s={{s}}"
	    "&gone={{gone}}", "{\"n\":12.5,\"b\":true,\"s\":\"é\"}",
	    "https://a.example/p?n=12.5&b=true&s=%C3%A9&gone=");
	/* A whole number written 3.0 or 1e1, as an integer: 3, 10. */
	assert_fills(TPL_URL, "https://a.example/n/{{n}}/{{m}}",
	    "{\"n\":3.0,\"m\":1e1}", "https://a.example/n/3/10");
	assert_fills(TPL_URL, "https://a.example/u/{{visitor.external_id}}",
	    "{}", "https://a.example/u/cus_42");
	assert_refused(TPL_URL, "https://a.example/{{o}}", "{\"o\":{}}",
	    &VISITOR, "object or array");
	/*
	 * A value of . or .. standing as a path segment (alone, or two
	 * placeholders together) would climb out of the owner's path:
	 * refused. Within a segment, in the query, or beside other
	 * characters it is only text.
	 */
	assert_refused(TPL_URL, "https://a.example/shop/orders/{{a}}/{{b}}/"
	    "status", "{\"a\":\"..\",\"b\":\"..\"}", &VISITOR, ". or ..");
	assert_refused(TPL_URL, "https://a.example/shop/{{a}}/x",
	    "{\"a\":\".\"}", &VISITOR, ". or ..");
	assert_refused(TPL_URL, "https://a.example/shop/{{a}}{{b}}",
	    "{\"a\":\".\",\"b\":\".\"}", &VISITOR, ". or ..");
	assert_refused(TPL_URL, "https://a.example/shop/{{a}}?q=1",
	    "{\"a\":\"..\"}", &VISITOR, ". or ..");
	assert_fills(TPL_URL, "https://a.example/shop/v{{a}}/x?q={{a}}#{{a}}",
	    "{\"a\":\"..\"}", "https://a.example/shop/v../x?q=..#..");
	assert_fills(TPL_URL, "https://a.example/shop/{{a}}", "{\"a\":\"...\"}",
	    "https://a.example/shop/...");
	/*
	 * Nor within a value, its / or \\ encoded: a server that decodes
	 * %2F (or takes %5C for /) before it resolves the path climbs out
	 * of "..%2F..%2Fadmin". A part of the value beside its segment's
	 * other characters, or in the query, is only text.
	 */
	assert_refused(TPL_URL, "https://a.example/shop/orders/{{a}}",
	    "{\"a\":\"../../admin\"}", &VISITOR, ". or ..");
	assert_refused(TPL_URL, "https://a.example/shop/{{a}}/x",
	    "{\"a\":\"a\\\\..\\\\b\"}", &VISITOR, ". or ..");
	assert_refused(TPL_URL, "https://a.example/shop/{{a}}",
	    "{\"a\":\"x/./y\"}", &VISITOR, ". or ..");
	assert_fills(TPL_URL, "https://a.example/shop/v{{a}}?q={{a}}",
	    "{\"a\":\"../x\"}", "https://a.example/shop/v..%2Fx?q=..%2Fx");
	assert_fills(TPL_URL, "https://a.example/p/{{a}}",
	    "{\"a\":\"group/sub.project\"}", "https://a.example/p/group%2Fsub.project");
	/*
	 * A value that leaves a path segment empty ("", null, left out)
	 * took it away: "/orders/" is the list of them all, "/u//orders"
	 * "/u/orders" once slashes merge: refused. An empty value beside
	 * other characters of its segment, or in the query, is only text.
	 */
	assert_refused(TPL_URL, "https://a.example/orders/{{a}}",
	    "{\"a\":\"\"}", &VISITOR, "empty argument");
	assert_refused(TPL_URL, "https://a.example/u/{{a}}/orders?x=1",
	    "{\"a\":null}", &VISITOR, "empty argument");
	assert_refused(TPL_URL, "https://a.example/u/{{a}}{{b}}?x=1",
	    "{}", &VISITOR, "empty argument");
	assert_refused(TPL_URL, "https://a.example/u/{{a}}#f",
	    "{}", &VISITOR, "empty argument");
	assert_fills(TPL_URL, "https://a.example/u/v{{a}}/{{a}}{{b}}/x?q={{a}}",
	    "{\"a\":\"\",\"b\":\"1\"}", "https://a.example/u/v/1/x?q=");
	assert_fills(TPL_URL, "https://a.example/u?q={{a}}/{{a}}", "{}",
	    "https://a.example/u?q=/");
}

static void
test_json(void **state)
{
	/* In a string: escaped; as a value: whole. */
	assert_fills(TPL_JSON, "{\"note\":\"Order {{id}} please\",\"n\":{{n}},"
	    "\"tags\":{{tags}},\"who\":{{visitor.email}}}",
	    "{\"id\":\"A\\\"1\\\\\\n\",\"n\":3,\"tags\":[\"x\",1]}",
	    "{\"note\":\"Order A\\\"1\\\\\\n please\",\"n\":3,"
	    "\"tags\":[\"x\",1],\"who\":\"ann@example.com\"}");
	assert_fills(TPL_JSON, "{\"n\":{{n}},\"x\":{{x}}}",
	    "{\"n\":3.0,\"x\":2.5}", "{\"n\":3,\"x\":2.5}");
	/* A string value quoted; one left out null, or "" in a string. */
	assert_fills(TPL_JSON, "{\"a\":{{a}},\"b\":{{b}},\"c\":\"{{b}}\"}",
	    "{\"a\":\"x\"}", "{\"a\":\"x\",\"b\":null,\"c\":\"\"}");
	/* An escaped quote in the template does not end its string. */
	assert_fills(TPL_JSON, "{\"q\":\"say \\\"{{w}}\\\"\"}",
	    "{\"w\":\"hi\\\"\"}", "{\"q\":\"say \\\"hi\\\"\\\"\"}");
	assert_refused(TPL_JSON, "{\"a\":\"{{o}}\"}", "{\"o\":[1]}", &VISITOR,
	    "object or array");
	assert_refused(TPL_JSON, "{\"a\": {{a}} {{a}}}", "{\"a\":1}", &VISITOR,
	    "not JSON once filled");
	/*
	 * A backslash of the template before a placeholder would escape
	 * the value's first byte (its \" made \\", ending the string):
	 * refused. An escaped backslash before it is only a backslash.
	 */
	assert_refused(TPL_JSON, "{\"a\":\"x\\{{v}}\"}", "{\"v\":\"1\"}",
	    &VISITOR, "right after a backslash");
	assert_fills(TPL_JSON, "{\"a\":\"x\\\\{{v}}\"}",
	    "{\"v\":\"\\\"\"}", "{\"a\":\"x\\\\\\\"\"}");
}

/* The visitor's fields come from the visitor alone. */
static void
test_visitor(void **state)
{
	static const struct tpl_visitor anon = { NULL, NULL };
	const char *why;
	char *got;

	assert_refused(TPL_URL, "https://a.example/u/{{visitor.external_id}}",
	    "{}", &anon, "no verified visitor");
	assert_refused(TPL_URL, "https://a.example/u/{{visitor.external_id}}",
	    "{}", NULL, "no verified visitor");
	assert_refused(TPL_JSON, "{\"e\":{{visitor.email}}}", "{}", &anon,
	    "email is not known");
	/* An argument named like the field, or holding a placeholder: text. */
	got = fill(TPL_URL, "https://a.example/u/{{visitor.external_id}}/"
	    "{{x}}", "{\"visitor.external_id\":\"evil\","
	    "\"x\":\"{{visitor.external_id}}\"}", &VISITOR, &why);
	assert_non_null(got);
	assert_string_equal(got, "https://a.example/u/cus_42/"
	    "%7B%7Bvisitor.external_id%7D%7D");
	free(got);
	assert_refused(TPL_URL, "https://a.example/{{visitor.phone}}", "{}",
	    &VISITOR, "placeholder not known");
}

static void
test_check(void **state)
{
	static const char *const names[] = { "order_id", "n" };

	assert_null(tpl_check(TPL_URL, "https://shop.example/o/{{order_id}}"
	    "?n={{ n }}&u={{visitor.external_id}}", names, 2));
	assert_null(tpl_check(TPL_JSON, "{\"e\":{{visitor.email}}}", names,
	    2));
	assert_non_null(tpl_check(TPL_URL, "https://{{order_id}}.example/",
	    names, 2));
	assert_non_null(tpl_check(TPL_URL, "https://shop.example{{n}}/",
	    names, 2));
	assert_non_null(tpl_check(TPL_URL, "http{{n}}://shop.example/", names,
	    2));
	assert_non_null(tpl_check(TPL_URL, "shop.example/{{n}}", names, 2));
	assert_non_null(tpl_check(TPL_URL, "https://a.example/{{other}}",
	    names, 2));
	assert_non_null(tpl_check(TPL_URL, "https://a.example/{{n", names, 2));
	assert_non_null(tpl_check(TPL_JSON, "{{visitor.phone}}", names, 2));
	/*
	 * Without the names (a PATCH keeping the schema): any argument,
	 * but no visitor field other than the two.
	 */
	assert_null(tpl_check(TPL_URL, "https://a.example/{{other}}", NULL, 0));
	assert_null(tpl_check(TPL_URL, "https://a.example/{{visitor.email}}",
	    NULL, 0));
	assert_non_null(tpl_check(TPL_URL, "https://a.example/{{visitor.phone}}",
	    NULL, 0));
	assert_non_null(tpl_check(TPL_JSON, "{{a b}}", names, 2));
	assert_non_null(tpl_check(TPL_JSON, "{{}}", names, 2));
	/* A brace outside a placeholder: curl reads it as user info. */
	assert_non_null(tpl_check(TPL_URL, "http://93.184.216.34{x}@127.0.0.1/"
	    "{{n}}", names, 2));
	assert_non_null(tpl_check(TPL_URL, "http://93.184.216.34{@localhost/",
	    names, 2));
	assert_non_null(tpl_check(TPL_URL, "https://a.example/o/{{n}}}",
	    names, 2));
	/* The owner's own dot segment. */
	assert_non_null(tpl_check(TPL_URL, "https://a.example/a/../{{n}}",
	    names, 2));
	assert_non_null(tpl_check(TPL_URL, "https://a.example/a/..%2f{{n}}",
	    names, 2));
	assert_null(tpl_check(TPL_URL, "https://a.example/a/v..%2F{{n}}",
	    names, 2));
}

/*
 * Whether a template names a visitor field (an action that requires a
 * verified visitor and names none is warned about at save).
 */
static void
test_names_visitor(void **state)
{
	(void)state;
	assert_int_equal(tpl_names_visitor(NULL), 0);
	assert_int_equal(tpl_names_visitor(""), 0);
	assert_int_equal(tpl_names_visitor("https://a.example/o/{{n}}"), 0);
	assert_int_equal(tpl_names_visitor(
	    "https://a.example/o/{{n}}?c={{visitor.external_id}}"), 1);
	assert_int_equal(tpl_names_visitor("{\"e\":\"{{ visitor.email }}\"}"),
	    1);
	/* Not a field, not a placeholder, not closed: none. */
	assert_int_equal(tpl_names_visitor("https://a.example/{{visitor.phone}}"),
	    0);
	assert_int_equal(tpl_names_visitor("https://a.example/visitor.email"), 0);
	assert_int_equal(tpl_names_visitor("{{a b}} {{visitor.email"), 0);
	assert_int_equal(tpl_names_visitor("{{a b}} {{visitor.email}}"), 1);
}

/* Past 64 KiB once filled: refused. */
static void
test_bound(void **state)
{
	char *args = malloc(TPL_OUT_MAX + 64);
	const char *why;
	json_t *a;
	char *out;

	assert_non_null(args);
	memset(args, 'x', TPL_OUT_MAX);
	args[TPL_OUT_MAX] = '\0';
	a = json_pack("{s:s}", "x", args);
	assert_int_equal(tpl_expand(TPL_URL, "https://a.example/{{x}}", a,
	    NULL, &out, &why), -1);
	assert_string_equal(why, "over 64 KiB once filled");
	assert_null(out);
	json_decref(a);
	free(args);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_visitor),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_names_visitor),
		cmocka_unit_test(test_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
