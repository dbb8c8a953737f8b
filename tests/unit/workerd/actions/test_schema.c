/*
 * An action's parameters schema (workerd/actions/schema.c): what
 * schema_check accepts at save and what it refuses, each refusal's text;
 * the model's arguments validated against a schema, valid and invalid
 * for every keyword, each message naming its path; the bounds on depth
 * and count; why cut to a small buffer on a UTF-8 boundary.
 *
 * JSON texts here are written with ' for " (none of them needs a ').
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema.h"

/* text, its ' read as ", parsed (it must parse). */
static json_t *
load(const char *text)
{
	char *s = strdup(text), *p;
	json_error_t err;
	json_t *j;

	assert_non_null(s);
	for (p = s; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	if ((j = json_loads(s, JSON_DECODE_ANY, &err)) == NULL)
		fail_msg("%s: %s", text, err.text);
	free(s);
	return j;
}

static void
assert_accepted(const char *schema)
{
	json_t *s = load(schema);
	const char *why = schema_check(s);

	if (why != NULL)
		fail_msg("%s: refused: %s", schema, why);
	json_decref(s);
}

static void
assert_refused(const char *schema, const char *want)
{
	json_t *s = load(schema);
	const char *why = schema_check(s);

	if (why == NULL)
		fail_msg("%s: accepted", schema);
	assert_string_equal(why, want);
	json_decref(s);
}

/* value against schema (which schema_check must accept): its why, or "". */
static const char *
check_value(const char *schema, const char *value)
{
	static char why[512];
	json_t *s = load(schema), *v = load(value);
	const char *bad = schema_check(s);
	int rc;

	if (bad != NULL)
		fail_msg("%s: refused: %s", schema, bad);
	memset(why, 'x', sizeof(why));
	rc = schema_validate(s, v, why, sizeof(why));
	assert_true(rc == 0 || rc == -1);
	if (rc == 0)
		why[0] = '\0';
	else
		assert_true(why[0] != '\0');
	json_decref(s);
	json_decref(v);
	return why;
}

static void
assert_valid(const char *schema, const char *value)
{
	const char *why = check_value(schema, value);

	if (why[0] != '\0')
		fail_msg("%s against %s: %s", value, schema, why);
}

static void
assert_invalid(const char *schema, const char *value, const char *want)
{
	const char *why = check_value(schema, value);

	if (why[0] == '\0')
		fail_msg("%s against %s: valid", value, schema);
	assert_string_equal(why, want);
}

/* A schema of one property x, of schema prop. */
static const char *
one(const char *prop)
{
	static char s[2048];

	snprintf(s, sizeof(s), "{'type':'object','properties':{'x':%s}}",
	    prop);
	return s;
}

static void
test_check_accepts(void **state)
{
	char desc[1100], big[4096];
	size_t n;
	int i;

	assert_accepted("{'type':'object'}");
	assert_accepted("{'type':'object','description':'Look an order up',"
	    "'title':'t','default':{},'examples':[{'a':1}],"
	    "'additionalProperties':false,"
	    "'properties':{"
	    "'order_id':{'type':'string','description':'The id',"
	    "'minLength':1,'maxLength':20,'format':'uuid','default':3},"
	    "'qty':{'type':'integer','minimum':1,'maximum':10,"
	    "'enum':[1,2,3.0]},"
	    "'price':{'type':'number','minimum':0.5,'maximum':1e6},"
	    "'gift':{'type':'boolean','enum':[true]},"
	    "'tags':{'type':'array','items':{'type':'string',"
	    "'enum':['a','b']},'minItems':0,'maxItems':3},"
	    "'address':{'type':'object','properties':{"
	    "'city':{'type':'string'}},'required':['city'],"
	    "'additionalProperties':true}},"
	    "'required':['order_id','qty']}");
	/* Bounds equal; an array without items; names at their limits. */
	assert_accepted(one("{'type':'string','minLength':3,'maxLength':3}"));
	assert_accepted(one("{'type':'number','minimum':2,'maximum':2.0}"));
	assert_accepted(one("{'type':'array'}"));
	assert_accepted("{'type':'object','properties':{'_':{'type':'string'},"
	    "'A_b_9':{'type':'string'},"
	    "'abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz"
	    "abcdefghijkl':{'type':'string'}}}");
	memset(desc, 'd', 1000);
	desc[1000] = '\0';
	snprintf(big, sizeof(big), "{'type':'object','description':'%s'}",
	    desc);
	assert_accepted(big);
	/* 32 names, an enum of 50. */
	n = (size_t)snprintf(big, sizeof(big), "{'type':'object',"
	    "'properties':{");
	for (i = 0; i < 32; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n,
		    "%s'p%d':{'type':'integer'}", i > 0 ? "," : "", i);
	snprintf(big + n, sizeof(big) - n, "}}");
	assert_accepted(big);
	n = (size_t)snprintf(big, sizeof(big), "{'type':'string','enum':[");
	for (i = 0; i < 50; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s'v%d'",
		    i > 0 ? "," : "", i);
	snprintf(big + n, sizeof(big) - n, "]}");
	assert_accepted(one(big));
}

static void
test_check_refuses_root(void **state)
{
	static const char root[] =
	    "parameters: must be an object with \"type\": \"object\"";

	assert_refused("[]", root);
	assert_refused("'object'", root);
	assert_refused("{}", root);
	assert_refused("{'type':'string'}", root);
	assert_refused("{'type':['object']}", root);
	assert_refused("{'type':'object','$ref':'#/x'}",
	    "parameters: \"$ref\" is not supported");
	assert_refused("{'type':'object','oneOf':[]}",
	    "parameters: \"oneOf\" is not supported");
	assert_refused("{'type':'object','anyOf':[]}",
	    "parameters: \"anyOf\" is not supported");
	assert_refused("{'type':'object','allOf':[]}",
	    "parameters: \"allOf\" is not supported");
	assert_refused("{'type':'object','not':{}}",
	    "parameters: \"not\" is not supported");
	assert_refused("{'type':'object','if':{}}",
	    "parameters: \"if\" is not supported");
	/* A keyword echoed without its quotes, controls or excess. */
	assert_refused("{'type':'object','a\\'b\\n\\\\':1}",
	    "parameters: \"a?b??\" is not supported");
	assert_refused("{'type':'object','x123456789x123456789x123456789"
	    "x123456789x123456789':1}", "parameters: \"x123456789x123456789"
	    "x123456789x123456789x1234567...\" is not supported");
	assert_refused("{'type':'object','description':'é','title':1,"
	    "'additionalProperties':{}}",
	    "parameters.additionalProperties: must be true or false");
	assert_refused("{'type':'object','description':7}",
	    "parameters.description: must be a string of at most 1000 bytes");
	assert_refused("{'type':'object','minLength':1}",
	    "parameters: \"minLength\" does not apply to type object");
	assert_refused("{'type':'object','enum':[{}]}",
	    "parameters: \"enum\" does not apply to type object");
}

static void
test_check_refuses_keywords(void **state)
{
	static const char bad_type[] = "parameters.properties.x.type: must be "
	    "one of string, integer, number, boolean, array, object";

	assert_refused(one("{'type':'text'}"), bad_type);
	assert_refused(one("{'type':['string','null']}"), bad_type);
	assert_refused(one("{'type':'null'}"), bad_type);
	assert_refused(one("{}"), "parameters.properties.x: \"type\" is "
	    "required");
	assert_refused(one("true"), "parameters.properties.x: must be an "
	    "object (a schema)");
	assert_refused(one("{'type':'string','pattern':'^a'}"),
	    "parameters.properties.x: \"pattern\" is not supported");
	/* Named even where "type" is missing. */
	assert_refused(one("{'$ref':'#/defs/x'}"),
	    "parameters.properties.x: \"$ref\" is not supported");
	assert_refused(one("{'type':'integer','minLength':1}"),
	    "parameters.properties.x: \"minLength\" does not apply to type "
	    "integer");
	assert_refused(one("{'type':'string','minimum':1}"),
	    "parameters.properties.x: \"minimum\" does not apply to type "
	    "string");
	assert_refused(one("{'type':'string','items':{'type':'string'}}"),
	    "parameters.properties.x: \"items\" does not apply to type string");
	assert_refused(one("{'type':'array','properties':{}}"),
	    "parameters.properties.x: \"properties\" does not apply to type "
	    "array");
	assert_refused(one("{'type':'string','format':1}"),
	    "parameters.properties.x.format: must be a string of at most 1000 "
	    "bytes");
	assert_refused(one("{'type':'string','minLength':-1}"),
	    "parameters.properties.x.minLength: must be an integer of at "
	    "least 0");
	assert_refused(one("{'type':'string','maxLength':2.0}"),
	    "parameters.properties.x.maxLength: must be an integer of at "
	    "least 0");
	assert_refused(one("{'type':'array','minItems':'1'}"),
	    "parameters.properties.x.minItems: must be an integer of at "
	    "least 0");
	assert_refused(one("{'type':'integer','maximum':'9'}"),
	    "parameters.properties.x.maximum: must be a number");
	assert_refused(one("{'type':'string','minLength':5,'maxLength':3}"),
	    "parameters.properties.x: \"minLength\" is over \"maxLength\"");
	assert_refused(one("{'type':'array','minItems':2,'maxItems':1}"),
	    "parameters.properties.x: \"minItems\" is over \"maxItems\"");
	assert_refused(one("{'type':'number','minimum':2.5,'maximum':2}"),
	    "parameters.properties.x: \"minimum\" is over \"maximum\"");
}

static void
test_check_refuses_enum(void **state)
{
	char big[1024];
	size_t n;
	int i;

	assert_refused(one("{'type':'string','enum':[]}"),
	    "parameters.properties.x.enum: must be an array of 1 to 50 values");
	assert_refused(one("{'type':'string','enum':'a'}"),
	    "parameters.properties.x.enum: must be an array of 1 to 50 values");
	assert_refused(one("{'type':'string','enum':['a',1]}"),
	    "parameters.properties.x.enum[1]: must be a string");
	assert_refused(one("{'type':'string','enum':[null]}"),
	    "parameters.properties.x.enum[0]: must be a string");
	assert_refused(one("{'type':'integer','enum':[1,1.5]}"),
	    "parameters.properties.x.enum[1]: must be an integer");
	assert_refused(one("{'type':'number','enum':['1']}"),
	    "parameters.properties.x.enum[0]: must be a number");
	assert_refused(one("{'type':'boolean','enum':[0]}"),
	    "parameters.properties.x.enum[0]: must be true or false");
	assert_refused(one("{'type':'array','enum':[[1]]}"),
	    "parameters.properties.x: \"enum\" does not apply to type array");
	n = (size_t)snprintf(big, sizeof(big), "{'type':'integer','enum':[");
	for (i = 0; i < 51; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%s%d",
		    i > 0 ? "," : "", i);
	snprintf(big + n, sizeof(big) - n, "]}");
	assert_refused(one(big),
	    "parameters.properties.x.enum: must be an array of 1 to 50 values");
}

static void
test_check_refuses_objects(void **state)
{
	/* The last, 65 bytes, echoed as its first 48. */
	static const char *const names[] = {
		"", "a-b", "a b", "é",
		("abcdefghijklmnopqrstuvwxyzabcdefghijklm"
		    "nopqrstuvwxyzabcdefghijklm"),
	};
	static const char *const echoed[] = {
		"", "a-b", "a b", "é",
		("abcdefghijklmnopqrstuvwxyzabcdefghijklm" "nopqrstuv..."),
	};
	char s[256], want[256], big[4096];
	size_t i, n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(s, sizeof(s), "{'type':'object','properties':{'%s':"
		    "{'type':'string'}}}", names[i]);
		snprintf(want, sizeof(want), "parameters.properties: \"%s\" is "
		    "not a name (1 to 64 of A-Z, a-z, 0-9 and _)", echoed[i]);
		assert_refused(s, want);
	}
	assert_refused("{'type':'object','properties':[]}",
	    "parameters.properties: must be an object");
	n = (size_t)snprintf(big, sizeof(big), "{'type':'object',"
	    "'properties':{");
	for (i = 0; i < 33; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n,
		    "%s'p%zu':{'type':'integer'}", i > 0 ? "," : "", i);
	snprintf(big + n, sizeof(big) - n, "}}");
	assert_refused(big, "parameters.properties: must have at most 32 "
	    "names");
	assert_refused("{'type':'object','required':'a'}",
	    "parameters.required: must be an array of names");
	assert_refused("{'type':'object','required':[1]}",
	    "parameters.required[0]: must be a string");
	assert_refused("{'type':'object','required':['a']}",
	    "parameters.required[0]: \"a\" is not in properties");
	assert_refused("{'type':'object','properties':{'a':{'type':'string'}},"
	    "'required':['a','b']}",
	    "parameters.required[1]: \"b\" is not in properties");
	assert_refused("{'type':'object','properties':{'a':{'type':'string'}},"
	    "'required':['a','a']}",
	    "parameters.required[1]: \"a\" is listed twice");
	assert_refused(one("{'type':'object','additionalProperties':1}"),
	    "parameters.properties.x.additionalProperties: must be true or "
	    "false");
	assert_refused(one("{'type':'array','items':[]}"),
	    "parameters.properties.x.items: must be an object (a schema)");
	assert_refused(one("{'type':'array','items':{'type':'array',"
	    "'items':{'type':'set'}}}"), "parameters.properties.x.items.items."
	    "type: must be one of string, integer, number, boolean, array, "
	    "object");
	assert_refused(one("{'type':'object','properties':{'y':{'type':"
	    "'string','oneOf':[]}}}"), "parameters.properties.x.properties.y: "
	    "\"oneOf\" is not supported");
}

/*
 * A schema depth schemas deep (the root 1): objects in objects, or an
 * array's items in an array's items under the root's property a.
 */
static void
nest(char *s, size_t size, int depth, int arrays)
{
	size_t n = (size_t)snprintf(s, size, "{'type':'object','properties':"
	    "{'a':");
	int i;

	for (i = 2; i < depth; i++)
		n += (size_t)snprintf(s + n, size - n, "%s", arrays ?
		    "{'type':'array','items':" :
		    "{'type':'object','properties':{'a':");
	n += (size_t)snprintf(s + n, size - n, "{'type':'%s'}",
	    arrays ? "array" : "object");
	for (i = 2; i < depth; i++)
		n += (size_t)snprintf(s + n, size - n, arrays ? "}" : "}}");
	snprintf(s + n, size - n, "}}");
}

static void
test_check_bounds(void **state)
{
	char s[8192];
	json_t *root, *props, *sub, *subprops;
	int i, j;

	nest(s, sizeof(s), 5, 0);
	assert_accepted(s);
	nest(s, sizeof(s), 6, 0);
	assert_refused(s, "parameters.properties.a.properties.a.properties.a."
	    "properties.a.properties.a: nested deeper than 5 schemas");
	nest(s, sizeof(s), 5, 1);
	assert_accepted(s);
	nest(s, sizeof(s), 6, 1);
	assert_refused(s, "parameters.properties.a.items.items.items.items: "
	    "nested deeper than 5 schemas");
	/* 1 + 22 objects of 8 + 1 more: 200 schemas; one more is too many. */
	root = json_pack("{s:s}", "type", "object");
	props = json_object();
	for (i = 0; i < 22; i++) {
		subprops = json_object();
		for (j = 0; j < 8; j++) {
			snprintf(s, sizeof(s), "q%d", j);
			json_object_set_new(subprops, s,
			    json_pack("{s:s}", "type", "boolean"));
		}
		sub = json_pack("{s:s,s:o}", "type", "object", "properties",
		    subprops);
		snprintf(s, sizeof(s), "p%d", i);
		json_object_set_new(props, s, sub);
	}
	json_object_set_new(props, "last", json_pack("{s:s}", "type",
	    "string"));
	json_object_set_new(root, "properties", props);
	assert_null(schema_check(root));
	json_object_set_new(props, "more", json_pack("{s:s}", "type",
	    "string"));
	assert_string_equal(schema_check(root),
	    "parameters: more than 200 schemas in all");
	json_decref(root);
}

static void
test_validate_types(void **state)
{
	static const char *const wrong[] = {
		"'s'", "1", "1.5", "true", "[]", "{}", "null",
	};
	static const struct {
		const char *type, *must;
		int ok[7];	/* of wrong[]: valid for the type */
	} types[] = {
		{ "string", "a string", { 1, 0, 0, 0, 0, 0, 0 } },
		{ "integer", "an integer", { 0, 1, 0, 0, 0, 0, 0 } },
		{ "number", "a number", { 0, 1, 1, 0, 0, 0, 0 } },
		{ "boolean", "true or false", { 0, 0, 0, 1, 0, 0, 0 } },
		{ "array", "an array", { 0, 0, 0, 0, 1, 0, 0 } },
		{ "object", "an object", { 0, 0, 0, 0, 0, 1, 0 } },
	};
	char schema[256], value[64], want[64];
	size_t t, i;

	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		snprintf(schema, sizeof(schema), "{'type':'object',"
		    "'properties':{'x':{'type':'%s'}}}", types[t].type);
		snprintf(want, sizeof(want), "x: must be %s", types[t].must);
		for (i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
			snprintf(value, sizeof(value), "{'x':%s}", wrong[i]);
			if (types[t].ok[i])
				assert_valid(schema, value);
			else
				assert_invalid(schema, value, want);
		}
	}
	/* Integers: a real with no fraction, within range. */
	assert_valid(one("{'type':'integer'}"), "{'x':3.0}");
	assert_valid(one("{'type':'integer'}"), "{'x':-0.0}");
	assert_valid(one("{'type':'integer'}"), "{'x':-4e18}");
	assert_invalid(one("{'type':'integer'}"), "{'x':3.5}",
	    "x: must be an integer");
	assert_invalid(one("{'type':'integer'}"), "{'x':1e300}",
	    "x: must be an integer");
	assert_invalid(one("{'type':'integer'}"), "{'x':'3'}",
	    "x: must be an integer");
	/* The arguments themselves. */
	assert_invalid("{'type':'object'}", "[]", "arguments: must be an "
	    "object");
	assert_invalid("{'type':'object'}", "'{}'", "arguments: must be an "
	    "object");
	assert_valid("{'type':'object'}", "{}");
}

static void
test_validate_string(void **state)
{
	const char *s = one("{'type':'string','minLength':2,'maxLength':3}");

	assert_valid(s, "{'x':'ab'}");
	assert_valid(s, "{'x':'abc'}");
	/* Characters, not bytes: é is 2 bytes, 😀 4. */
	assert_valid(s, "{'x':'ééé'}");
	assert_valid(s, "{'x':'😀😀'}");
	assert_valid(s, "{'x':'\\u00e9\\ud83d\\ude00'}");
	assert_invalid(s, "{'x':'éééé'}", "x: must be at most 3 characters");
	assert_invalid(s, "{'x':'😀'}", "x: must be at least 2 characters");
	assert_invalid(s, "{'x':''}", "x: must be at least 2 characters");
	assert_invalid(one("{'type':'string','minLength':1}"), "{'x':''}",
	    "x: must be at least 1 character");
	assert_invalid(one("{'type':'string','maxLength':0}"), "{'x':'a'}",
	    "x: must be at most 0 characters");
	/* format is an annotation. */
	assert_valid(one("{'type':'string','format':'email'}"),
	    "{'x':'not an email'}");
}

static void
test_validate_number(void **state)
{
	const char *qty = "{'type':'object','properties':{'qty':{'type':"
	    "'integer','minimum':1,'maximum':10}}}";
	const char *price = "{'type':'object','properties':{'price':{'type':"
	    "'number','minimum':0.5,'maximum':99.99}}}";

	assert_valid(qty, "{'qty':1}");
	assert_valid(qty, "{'qty':10.0}");
	assert_invalid(qty, "{'qty':11}", "qty: must be at most 10");
	assert_invalid(qty, "{'qty':0}", "qty: must be at least 1");
	assert_invalid(qty, "{'qty':-5.0}", "qty: must be at least 1");
	assert_invalid(qty, "{'qty':10.5}", "qty: must be an integer");
	assert_valid(price, "{'price':0.5}");
	assert_valid(price, "{'price':99}");
	assert_invalid(price, "{'price':0.49}", "price: must be at least 0.5");
	assert_invalid(price, "{'price':100}", "price: must be at most 99.99");
	assert_invalid(one("{'type':'number','maximum':0.1}"), "{'x':0.2}",
	    "x: must be at most 0.1");
	/* Past 2^53 an integer still compares exactly, where it can. */
	if (LDBL_MANT_DIG >= 64) {
		assert_invalid(one("{'type':'integer','maximum':"
		    "9007199254740992}"), "{'x':9007199254740993}",
		    "x: must be at most 9007199254740992");
		assert_invalid(one("{'type':'integer','maximum':"
		    "9007199254740992.0}"), "{'x':9007199254740993}",
		    "x: must be at most 9007199254740992");
	}
}

static void
test_validate_enum(void **state)
{
	const char *size = "{'type':'object','properties':{'size':{'type':"
	    "'string','enum':['S','M','L']}}}";
	char big[2048];
	size_t n;
	int i;

	assert_valid(size, "{'size':'M'}");
	assert_invalid(size, "{'size':'XL'}",
	    "size: must be one of \"S\", \"M\", \"L\"");
	assert_invalid(size, "{'size':'m'}",
	    "size: must be one of \"S\", \"M\", \"L\"");
	assert_valid(one("{'type':'integer','enum':[1,2,3]}"), "{'x':2.0}");
	assert_valid(one("{'type':'integer','enum':[1,2.0,3]}"), "{'x':2}");
	assert_invalid(one("{'type':'integer','enum':[1,2,3]}"), "{'x':4}",
	    "x: must be one of 1, 2, 3");
	assert_valid(one("{'type':'number','enum':[0.5,1.5]}"), "{'x':1.5}");
	assert_invalid(one("{'type':'number','enum':[0.5,1.5]}"), "{'x':1}",
	    "x: must be one of 0.5, 1.5");
	assert_valid(one("{'type':'boolean','enum':[true]}"), "{'x':true}");
	assert_invalid(one("{'type':'boolean','enum':[true]}"),
	    "{'x':false}", "x: must be one of true");
	/* The type is checked first; a long list ends in "...". */
	assert_invalid(size, "{'size':1}", "size: must be a string");
	n = (size_t)snprintf(big, sizeof(big), "{'type':'string','enum':[");
	for (i = 0; i < 50; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n,
		    "%s'value_number_%02d'", i > 0 ? "," : "", i);
	snprintf(big + n, sizeof(big) - n, "]}");
	assert_invalid(one(big), "{'x':'none'}", "x: must be one of "
	    "\"value_number_00\", \"value_number_01\", \"value_number_02\", "
	    "\"value_number_03\", \"value_number_04\", \"value_number_05\", "
	    "\"value_number_06\", \"value_number_07\", \"value_number_08\", "
	    "\"value_number_09\", \"value_number_10\", \"value_number_11\", "
	    "\"value_number_12\", \"value_number_13\", \"value_number_14\", "
	    "\"value_number_15\", \"value_number_16\", \"value_number_17\", "
	    "\"value_number_18\", \"value_number_19\", ...");
}

static void
test_validate_nested(void **state)
{
	const char *s = "{'type':'object','properties':{"
	    "'address':{'type':'object','properties':{"
	    "'city':{'type':'string'},'zip':{'type':'string'}},"
	    "'required':['city']},"
	    "'tags':{'type':'array','items':{'type':'integer'},"
	    "'minItems':1,'maxItems':3},"
	    "'orders':{'type':'array','items':{'type':'object','properties':{"
	    "'qty':{'type':'integer','minimum':1}}}},"
	    "'any':{'type':'array'}}}";

	assert_valid(s, "{'address':{'city':'Oslo'},'tags':[1,2,3.0],"
	    "'orders':[{'qty':1},{}],'any':[null,{'a':[]},'x']}");
	assert_invalid(s, "{'address':{'city':7}}",
	    "address.city: must be a string");
	assert_invalid(s, "{'address':{'zip':'0150'}}",
	    "address.city: is required");
	assert_invalid(s, "{'address':{'city':'Oslo','country':'NO'}}",
	    "address.country: is not an argument this tool takes");
	assert_invalid(s, "{'tags':[1,2,'3']}", "tags[2]: must be an integer");
	assert_invalid(s, "{'tags':[]}", "tags: must have at least 1 item");
	assert_invalid(s, "{'tags':[1,2,3,4]}",
	    "tags: must have at most 3 items");
	assert_invalid(s, "{'orders':[{'qty':2},{'qty':0}]}",
	    "orders[1].qty: must be at least 1");
	assert_invalid(s, "{'orders':[{'qty':2},{'qty':1,'x':1}]}",
	    "orders[1].x: is not an argument this tool takes");
	assert_invalid(s, "{'orders':{}}", "orders: must be an array");
	assert_invalid(one("{'type':'array','maxItems':1}"), "{'x':[1,2]}",
	    "x: must have at most 1 item");
}

static void
test_validate_unknown(void **state)
{
	const char *closed = one("{'type':'string'}");

	assert_invalid(closed, "{'extra':1}",
	    "extra: is not an argument this tool takes");
	assert_invalid("{'type':'object','additionalProperties':false}",
	    "{'extra':1}", "extra: is not an argument this tool takes");
	assert_valid("{'type':'object','additionalProperties':true,"
	    "'properties':{'x':{'type':'string'}}}", "{'x':'a','extra':[1]}");
	assert_invalid("{'type':'object','additionalProperties':true,"
	    "'properties':{'x':{'type':'string'}}}", "{'x':1,'extra':[1]}",
	    "x: must be a string");
	/* A name the model made up: echoed short, without controls. */
	assert_invalid(closed, "{'a\\nb\\'':1}",
	    "a?b?: is not an argument this tool takes");
	assert_invalid(closed, "{'éééééééééééééééééééééééééééééééééééééé':1}",
	    "éééééééééééééééééééééééé...: is not an argument this tool takes");
}

static void
test_validate_required(void **state)
{
	const char *s = "{'type':'object','properties':{"
	    "'order_id':{'type':'string'},'note':{'type':'string'}},"
	    "'required':['order_id']}";

	assert_valid(s, "{'order_id':'A1'}");
	assert_valid(s, "{'order_id':'A1','note':'hi'}");
	assert_invalid(s, "{}", "order_id: is required");
	assert_invalid(s, "{'note':'hi'}", "order_id: is required");
	assert_invalid(s, "{'order_id':null}", "order_id: must be a string");
	assert_valid("{'type':'object','properties':{'a':{'type':'string'}},"
	    "'required':[]}", "{}");
}

/* why cut to its size, NUL-terminated, never inside a character. */
static void
test_why_cut(void **state)
{
	json_t *s = load("{'type':'object','properties':{'order_id':{'type':"
	    "'string','enum':['é']}},'required':['order_id']}");
	json_t *empty = load("{}"), *bad = load("{'order_id':'x'}");
	char why[32];

	assert_null(schema_check(s));
	memset(why, 'x', sizeof(why));
	assert_int_equal(schema_validate(s, empty, why, 8), -1);
	assert_string_equal(why, "order_i");
	memset(why, 'x', sizeof(why));
	assert_int_equal(schema_validate(s, empty, why, 1), -1);
	assert_string_equal(why, "");
	assert_int_equal(schema_validate(s, empty, NULL, 0), -1);
	/* "order_id: must be one of \"é\"": é's 2 bytes at 26 and 27. */
	assert_int_equal(schema_validate(s, bad, why, sizeof(why)), -1);
	assert_string_equal(why, "order_id: must be one of \"é\"");
	assert_int_equal(schema_validate(s, bad, why, 28), -1);
	assert_string_equal(why, "order_id: must be one of \"");
	assert_int_equal(schema_validate(s, bad, why, 29), -1);
	assert_string_equal(why, "order_id: must be one of \"é");
	json_decref(s);
	json_decref(empty);
	json_decref(bad);
}

static void
test_names(void **state)
{
	json_t *s = load("{'type':'object','properties':{'order_id':{'type':"
	    "'string'},'qty':{'type':'integer'},'note':{'type':'string'}}}");
	json_t *bare = load("{'type':'object'}");
	const char *names[4];

	assert_int_equal(schema_names(s, names, 4), 3);
	assert_string_equal(names[0], "order_id");
	assert_string_equal(names[1], "qty");
	assert_string_equal(names[2], "note");
	assert_int_equal(schema_names(s, names, 2), 2);
	assert_string_equal(names[1], "qty");
	assert_int_equal(schema_names(s, names, 0), 0);
	assert_int_equal(schema_names(bare, names, 4), 0);
	json_decref(s);
	json_decref(bare);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check_accepts),
		cmocka_unit_test(test_check_refuses_root),
		cmocka_unit_test(test_check_refuses_keywords),
		cmocka_unit_test(test_check_refuses_enum),
		cmocka_unit_test(test_check_refuses_objects),
		cmocka_unit_test(test_check_bounds),
		cmocka_unit_test(test_validate_types),
		cmocka_unit_test(test_validate_string),
		cmocka_unit_test(test_validate_number),
		cmocka_unit_test(test_validate_enum),
		cmocka_unit_test(test_validate_nested),
		cmocka_unit_test(test_validate_unknown),
		cmocka_unit_test(test_validate_required),
		cmocka_unit_test(test_why_cut),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
