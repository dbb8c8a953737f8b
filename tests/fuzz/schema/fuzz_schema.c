/*
 * libFuzzer target for an action's parameters schema (schema_check,
 * schema_validate and schema_names, workerd/actions/schema.c). The input
 * is a schema as JSON text, a NUL, and the arguments as JSON text. When
 * the schema reads and schema_check accepts it, the arguments (when they
 * read) are validated. Properties are checked, abort() otherwise: the
 * same answer twice; a refusal says "parameters" first, in UTF-8; a
 * validation that fails says why, NUL-terminated, non-empty, in UTF-8,
 * and a smaller buffer holds the same text cut on a character; {} is
 * valid exactly when the root requires nothing; an argument not required
 * taken out of a valid object leaves it valid; schema_names gives the
 * root's properties, in order.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WHY_MAX	1100	/* past any message's length */

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_schema: %s\n", what);
		abort();
	}
}

/* s is UTF-8 (jansson takes it as a string). */
static int
is_utf8(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

/* schema_check's refusal: the same twice, "parameters" first, UTF-8. */
static void
check_refusal(const json_t *schema, const char *why)
{
	char copy[2048];

	snprintf(copy, sizeof(copy), "%s", why);
	check(strncmp(why, "parameters", 10) == 0,
	    "a refusal without its path");
	check(is_utf8(why), "a refusal not in UTF-8");
	why = schema_check(schema);
	check(why != NULL && strcmp(why, copy) == 0, "refused otherwise twice");
}

/* The root's names as schema_names gives them: its properties, in order. */
static void
check_names(const json_t *schema)
{
	json_t *props = json_object_get(schema, "properties");
	const char *names[SCHEMA_PROPS_MAX + 1];
	void *it = json_object_iter(props);
	size_t n, i;

	n = schema_names(schema, names, SCHEMA_PROPS_MAX + 1);
	check(n == json_object_size(props) && n <= SCHEMA_PROPS_MAX,
	    "not every name");
	for (i = 0; i < n; i++, it = json_object_iter_next(props, it))
		check(it != NULL && names[i] == json_object_iter_key(it),
		    "a name not the root's own");
	check(schema_names(schema, names, n / 2) == n / 2, "past max");
}

/* {} is valid exactly when the root requires nothing. */
static void
check_empty(const json_t *schema)
{
	json_t *empty = json_object();
	char why[WHY_MAX];
	int rc;

	rc = schema_validate(schema, empty, why, sizeof(why));
	check((rc == 0) == (json_array_size(json_object_get(schema,
	    "required")) == 0), "{} against what the root requires");
	json_decref(empty);
}

/* value valid: one argument not required taken out, still valid. */
static void
check_fewer(const json_t *schema, const json_t *value)
{
	json_t *req = json_object_get(schema, "required"), *fewer, *x;
	const char *key;
	size_t i;

	if (!json_is_object(value) || (fewer = json_copy((json_t *)value)) ==
	    NULL)
		return;
	json_object_foreach(fewer, key, x) {
		for (i = 0; i < json_array_size(req); i++)
			if (strcmp(key, json_string_value(json_array_get(req,
			    i))) == 0)
				break;
		if (i == json_array_size(req)) {
			json_object_del(fewer, key);
			break;
		}
	}
	check(schema_validate(schema, fewer, NULL, 0) == 0,
	    "invalid with an argument fewer");
	json_decref(fewer);
}

/* value against schema, with why whysz bytes (small: a cut). */
static void
check_value(const json_t *schema, const json_t *value, size_t small)
{
	char why[WHY_MAX], why2[WHY_MAX], cut[WHY_MAX];
	size_t len, clen;
	int rc, rc2;

	memset(why, 'x', sizeof(why));
	rc = schema_validate(schema, value, why, sizeof(why));
	check(rc == 0 || rc == -1, "neither 0 nor -1");
	rc2 = schema_validate(schema, value, why2, sizeof(why2));
	check(rc == rc2 && (rc == 0 || strcmp(why, why2) == 0),
	    "validated otherwise twice");
	check(schema_validate(schema, value, NULL, 0) == rc,
	    "validated otherwise without why");
	if (rc == 0) {
		check_fewer(schema, value);
		return;
	}
	check(memchr(why, '\0', sizeof(why)) != NULL, "why not terminated");
	len = strlen(why);
	check(len > 0 && len < sizeof(why) - 1, "why empty or at its bound");
	check(strstr(why, ": ") != NULL, "why without its path");
	check(is_utf8(why), "why not in UTF-8");
	memset(cut, 'x', sizeof(cut));
	check(schema_validate(schema, value, cut, small) == -1,
	    "validated otherwise in a small buffer");
	check(memchr(cut, '\0', small) != NULL, "a cut why not terminated");
	clen = strlen(cut);
	check(strncmp(cut, why, clen) == 0 && is_utf8(cut), "a cut not a "
	    "prefix, or not UTF-8");
	check(clen == len || (clen < small && clen + 4 >= small),
	    "cut too short");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t slen = nul != NULL ? (size_t)(nul - data) : size;
	json_t *schema, *value = NULL;
	const char *why;

	schema = json_loadb((const char *)data, slen, 0, NULL);
	if (schema == NULL)
		return 0;
	if ((why = schema_check(schema)) != NULL) {
		check_refusal(schema, why);
		json_decref(schema);
		return 0;
	}
	check(schema_check(schema) == NULL, "accepted once only");
	check_names(schema);
	check_empty(schema);
	if (nul != NULL)
		value = json_loadb((const char *)nul + 1, size - slen - 1,
		    JSON_DECODE_ANY, NULL);
	if (value != NULL)
		check_value(schema, value, 1 + size % 40);
	json_decref(value);
	json_decref(schema);
	return 0;
}
