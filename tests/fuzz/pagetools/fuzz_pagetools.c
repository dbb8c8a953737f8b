/*
 * libFuzzer target for the tools a visitor's page registers
 * (tools_page_check, workerd/chat/tools.c): the "tools" value of a
 * widget socket's tools frame, any JSON the page (or whoever holds the
 * socket) sends, read as wsmsg.c reads the frame (duplicate keys refused,
 * \u0000 taken). Properties are checked, abort() otherwise: the same
 * answer twice; a refusal says why ("tools: " or schema_check's
 * "parameters"), in UTF-8, and gives no text; what is taken is an array
 * of at most TOOLS_PAGE_MAX, its text NULL exactly when it is empty, else
 * at most TOOLS_PAGE_BYTES bytes that read again as tools_new reads them
 * (json_loads with \u0000 allowed) into one function per tool, in order:
 * "type" "function", a name of [A-Za-z0-9_-] no built-in tool has, each
 * once, the description as given (1 to ST_ACTION_DESC_MAX bytes), and
 * the parameters as given, which schema_check takes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "actionmsg.h"
#include "schema.h"
#include "tools.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_pagetools: %s\n", what);
		abort();
	}
}

/* The text's function i against the page's tool t. */
static void
check_function(const json_t *f, const json_t *t, const json_t *fs, size_t i)
{
	const json_t *fn = json_object_get(f, "function"), *o;
	const char *name;
	size_t j;

	check(json_is_object(f) && json_object_size(f) == 2 &&
	    json_is_string(json_object_get(f, "type")) &&
	    strcmp(json_string_value(json_object_get(f, "type")),
	    "function") == 0 && json_is_object(fn) &&
	    json_object_size(fn) == 3, "a tool not a function");
	o = json_object_get(fn, "name");
	check(json_is_string(o) && strlen(json_string_value(o)) ==
	    json_string_length(o), "a name not a plain string");
	name = json_string_value(o);
	check(st_action_name_valid(name) && !st_tool_builtin(name),
	    "a name not a page tool's");
	check(json_equal(o, json_object_get(t, "name")),
	    "a name not the page's");
	for (j = 0; j < i; j++)
		check(strcmp(json_string_value(json_object_get(json_object_get(
		    json_array_get(fs, j), "function"), "name")), name) != 0,
		    "a name twice");
	o = json_object_get(fn, "description");
	check(json_is_string(o) && json_string_length(o) >= 1 &&
	    json_string_length(o) <= ST_ACTION_DESC_MAX &&
	    json_equal(o, json_object_get(t, "description")),
	    "a description not the page's");
	o = json_object_get(fn, "parameters");
	check(o != NULL && json_equal(o, json_object_get(t, "parameters")) &&
	    schema_check(o) == NULL, "parameters not the page's, or refused");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *tools, *fs, *s;
	const char *why, *why2;
	char *out = NULL, *out2 = NULL, copy[2048];
	size_t i;

	tools = json_loadb((const char *)data, size, JSON_DECODE_ANY |
	    JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (tools == NULL)
		return 0;
	why = tools_page_check(tools, &out);
	if (why != NULL) {
		check(out == NULL, "a refusal with a text");
		check(strncmp(why, "tools: ", 7) == 0 ||
		    strncmp(why, "parameters", 10) == 0,
		    "a refusal that names neither");
		check((s = json_string(why)) != NULL, "a refusal not UTF-8");
		json_decref(s);
		snprintf(copy, sizeof(copy), "%s", why);
		why2 = tools_page_check(tools, &out2);
		check(why2 != NULL && strcmp(why2, copy) == 0 && out2 == NULL,
		    "refused otherwise twice");
		goto done;
	}
	check(json_is_array(tools) && json_array_size(tools) <= TOOLS_PAGE_MAX,
	    "not an array of at most TOOLS_PAGE_MAX taken");
	check((out == NULL) == (json_array_size(tools) == 0),
	    "a text for no tools, or none for some");
	check(tools_page_check(tools, &out2) == NULL &&
	    (out == NULL) == (out2 == NULL) &&
	    (out == NULL || strcmp(out, out2) == 0), "taken otherwise twice");
	if (out == NULL)
		goto done;
	check(strlen(out) <= TOOLS_PAGE_BYTES, "a text past TOOLS_PAGE_BYTES");
	fs = json_loads(out, JSON_ALLOW_NUL, NULL);
	check(json_is_array(fs) && json_array_size(fs) ==
	    json_array_size(tools), "a text that does not read back");
	for (i = 0; i < json_array_size(fs); i++)
		check_function(json_array_get(fs, i), json_array_get(tools, i),
		    fs, i);
	json_decref(fs);
done:
	free(out);
	free(out2);
	json_decref(tools);
	return 0;
}
