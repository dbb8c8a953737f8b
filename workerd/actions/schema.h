/*
 * An action's "parameters": the JSON Schema its owner writes (a subset,
 * OpenAI's tool-calling shape), checked once as the action is saved, and
 * the model's arguments validated against it before any call, an invalid
 * one answered to the model in a short text that names its path.
 *
 * The subset: every schema has one "type" (string, integer, number,
 * boolean, array or object), the root an object; "description" (at most
 * SCHEMA_DESC_MAX bytes), "title", "default", "examples" (annotations)
 * and "enum" (1 to SCHEMA_ENUM_MAX scalars of the type) anywhere; for
 * strings "minLength", "maxLength" (in UTF-8 characters) and "format"
 * (an annotation); for integers and numbers "minimum", "maximum"; for
 * arrays "items", "minItems", "maxItems"; for objects "properties" (at
 * most SCHEMA_PROPS_MAX names of 1 to SCHEMA_NAME_MAX bytes of
 * [A-Za-z0-9_]), "required" and "additionalProperties" (a boolean, false
 * when absent: an argument the schema does not name is refused). Nothing
 * else: no pattern, no $ref, no oneOf: checking is linear and safe.
 * At most SCHEMA_DEPTH_MAX schemas deep, SCHEMA_COUNT_MAX in all.
 */
#ifndef PARLEY_ACTIONS_SCHEMA_H
#define PARLEY_ACTIONS_SCHEMA_H

#include <stddef.h>

#include <jansson.h>

#define SCHEMA_DEPTH_MAX	5	/* schemas nested, the root one */
#define SCHEMA_COUNT_MAX	200	/* schemas in all */
#define SCHEMA_PROPS_MAX	32	/* names in one "properties" */
#define SCHEMA_NAME_MAX		64	/* bytes of a property's name */
#define SCHEMA_ENUM_MAX		50	/* values of an "enum" */
#define SCHEMA_DESC_MAX		1000	/* bytes of a "description" */

/*
 * schema checked as an action is saved: NULL when it is within the
 * subset, else what is wrong, "parameters" and the path first (a
 * thread-local text, good until this thread's next call).
 */
const char *schema_check(const json_t *schema);

/*
 * value (the model's arguments) validated against schema (one that
 * schema_check accepted): 0, or -1 with why filled ("qty: must be at most
 * 10"; the root's own path is "arguments"), cut to whysz bytes on a UTF-8
 * boundary and always NUL-terminated when whysz > 0.
 */
int schema_validate(const json_t *schema, const json_t *value, char *why,
    size_t whysz);

/*
 * The root's property names (pointers into schema, good while it lives)
 * into names, at most max of them: how many.
 */
size_t schema_names(const json_t *schema, const char **names, size_t max);

#endif
