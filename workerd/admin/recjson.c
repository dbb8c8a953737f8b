/*
 * A stored record's JSON from its rows (proto/record.h), both ways: each
 * row's value out, by its kind and view, and a request body's value in,
 * by its kind and bounds. What a record shows or takes its own way (an
 * id shown under two names, business hours) is its handlers' (struct
 * rec_own), named by the row's JSON name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

#define AT(s, off)	((unsigned char *)(s) + (off))
#define CAT(s, off)	((const unsigned char *)(s) + (off))

static uint32_t
get_u32(const void *rec, size_t off)
{
	uint32_t v;

	memcpy(&v, CAT(rec, off), sizeof(v));
	return v;
}

static const char *
get_str(const void *rec, size_t off)
{
	const char *p;

	memcpy(&p, CAT(rec, off), sizeof(p));
	return p != NULL ? p : "";
}

/* ------------------------------------------------------------------ out */

static json_t *
strings_json(const struct rfield *f, const void *rec)
{
	char **a;
	json_t *arr;
	uint32_t n, i;

	a = rl_strings(f, rec, &n);
	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < n && i < f->bound && a != NULL; i++)
		if (json_array_append_new(arr, exprow_text(a[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	return arr;
}

static json_t *
enum_json(const struct rfield *f, const void *rec)
{
	const char *n = f->name(*CAT(rec, f->off));

	return exprow_text(n != NULL ? n : f->name(0));
}

/* Row f's value as the JSON shows it (NULL out of memory). */
static json_t *
row_json(const struct rfield *f, const void *rec)
{
	uint64_t ms;
	uint32_t n;

	switch (f->kind) {
	case RF_BUF:
		return exprow_text((const char *)CAT(rec, f->off));
	case RF_SECRET:
		return json_boolean(*CAT(rec, f->off) != '\0');
	case RF_TEXT:
		return json_opt_text(get_str(rec, f->off));
	case RF_STR:
	case RF_BYTES:
		return exprow_text(get_str(rec, f->off));
	case RF_BOOL:
		return json_boolean(*CAT(rec, f->off));
	case RF_ENUM:
		return enum_json(f, rec);
	case RF_U8:
		return json_integer(*CAT(rec, f->off));
	case RF_U32:
		return json_integer(get_u32(rec, f->off));
	case RF_COUNT:
		n = get_u32(rec, f->off);
		return n > 0 ? json_integer(n) : json_null();
	case RF_TIME:
		memcpy(&ms, CAT(rec, f->off), sizeof(ms));
		return exprow_ms(ms);
	case RF_LIST:
	case RF_ARRAY:
		return strings_json(f, rec);
	default:
		return NULL;
	}
}

/* The record's own handler of the row named json, or NULL. */
static const struct rec_own *
own_of(const struct rec_own *own, const char *json)
{
	for (; own != NULL && own->json != NULL; own++)
		if (strcmp(own->json, json) == 0)
			return own;
	return NULL;
}

void
rec_json_fields(json_t *o, const struct rlayout *l, const void *rec,
    int view, const struct rec_own *own, int *err)
{
	const struct rec_own *h;
	const struct rfield *f;
	char name[64];
	size_t i;

	for (i = 0; i < l->nf; i++) {
		f = &l->f[i];
		if (f->view == RF_HID || (view == RF_PUB && f->view != RF_PUB))
			continue;
		if ((h = own_of(own, f->json)) != NULL && h->out != NULL) {
			h->out(o, rec, err);
			continue;
		}
		if (f->kind == RF_SECRET) {
			/* Whether there is one; never the secret. */
			snprintf(name, sizeof(name), "%s_set", f->json);
			exprow_oset(o, name, row_json(f, rec), err);
		} else
			exprow_oset(o, f->json, row_json(f, rec), err);
	}
}

json_t *
rec_json(const struct rlayout *l, const void *rec, int view,
    const struct rec_own *own)
{
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rec_json_fields(o, l, rec, view, own, &err);
	return exprow_odone(o, err);
}

/* ------------------------------------------------------------------- in */

static _Thread_local char why[160];

static const char *
say(const char *fmt, uint32_t n)
{
	snprintf(why, sizeof(why), fmt, n);
	return why;
}

/* "must be \"a\" or \"b\"": an ENUM's names. */
static const char *
enum_why(const struct rfield *f)
{
	strlcpy(why, "must be ", sizeof(why));
	rl_enum_names(f, 1, why, sizeof(why));
	return why;
}

/*
 * LIST and ARRAY: an array of at most bound strings of at most x bytes;
 * null none, as a text's null is empty (Loquent's WidgetConfig has
 * Option<Vec<String>>: allowed_origins null is "not set").
 */
static const char *
take_strings(json_t *v, void *rec, const struct rfield *f)
{
	static const char notarray[] = "must be an array of strings";
	uint32_t n, i, have;
	json_t *x;
	size_t k;
	char **a;

	/* jansson's array calls read null as an empty array. */
	if (!json_is_array(v) && !json_is_null(v))
		return notarray;
	if (json_array_size(v) > f->bound)
		return say("at most %u", f->bound);
	json_array_foreach(v, k, x) {
		if (!json_is_string(x))
			return notarray;
		if (exprow_plain(x) == NULL)
			return "must not contain NUL characters";
		if (json_string_length(x) > f->x)
			return say("each must be at most %u bytes", f->x);
	}
	n = (uint32_t)json_array_size(v);
	rl_row_free(f, rec);
	if (f->kind == RF_LIST && n > 0) {
		if ((a = calloc(n, sizeof(*a))) == NULL)
			return "";
		memcpy(AT(rec, f->off), &a, sizeof(a));
	}
	a = rl_strings(f, rec, &have);
	for (i = 0; i < n; i++) {
		if ((a[i] = strdup(json_string_value(json_array_get(v,
		    i)))) == NULL)
			return "";
		memcpy(AT(rec, f->count), &(uint32_t){ i + 1 },
		    sizeof(uint32_t));
	}
	return NULL;
}

static const char *
take_u32(json_t *v, void *rec, const struct rfield *f, int nullable)
{
	/* A COUNT from 1; a U8's or U32's the row's least (record.h). */
	uint32_t least = nullable ? 1 : f->least;
	json_int_t n;
	uint32_t u;

	if (nullable && json_is_null(v))
		u = 0;
	else if (!json_is_integer(v) || (n = json_integer_value(v)) <
	    least || n > f->bound) {
		if (nullable)
			return say("must be an integer from 1 to %u, or null",
			    f->bound);
		snprintf(why, sizeof(why), "must be an integer from %u to %u",
		    least, f->bound);
		return why;
	} else
		u = (uint32_t)n;
	if (f->kind == RF_U8)
		*AT(rec, f->off) = (uint8_t)u;	/* bound at most 255 */
	else
		memcpy(AT(rec, f->off), &u, sizeof(u));
	return NULL;
}

const char *
rec_take(json_t *v, void *rec, const struct rfield *f)
{
	const char *s;
	int n;

	switch (f->kind) {
	case RF_BUF:
		if ((s = exprow_plain(v)) == NULL)
			return "must be a string";
		if (strlen(s) > f->bound)
			return say("must be at most %u bytes", f->bound);
		strlcpy((char *)AT(rec, f->off), s, f->bound + 1);
		return NULL;
	case RF_TEXT:
	case RF_STR:
		/* A string of x characters at least (a name): not null. */
		return admin_take_text(v, (char **)(void *)AT(rec, f->off),
		    f->x == 0);
	case RF_BYTES:
		return admin_take_text(v, (char **)(void *)AT(rec, f->off), 1);
	case RF_BOOL:
		if (!json_is_boolean(v))
			return "must be a boolean";
		*AT(rec, f->off) = json_is_true(v);
		return NULL;
	case RF_ENUM:
		if ((s = exprow_plain(v)) == NULL || (n = f->parse(s)) < 0)
			return enum_why(f);
		*AT(rec, f->off) = (uint8_t)n;
		return NULL;
	case RF_U8:
	case RF_U32:
		return take_u32(v, rec, f, 0);
	case RF_COUNT:
		return take_u32(v, rec, f, 1);
	case RF_LIST:
	case RF_ARRAY:
		return take_strings(v, rec, f);
	default:
		return "read-only";
	}
}

int
rec_texts_set(const struct rlayout *l, void *rec)
{
	char *s;
	size_t i;

	for (i = 0; i < l->nf; i++) {
		if (l->f[i].kind != RF_TEXT && l->f[i].kind != RF_STR &&
		    l->f[i].kind != RF_BYTES)
			continue;
		memcpy(&s, AT(rec, l->f[i].off), sizeof(s));
		if (s == NULL && (s = strdup("")) == NULL)
			return -1;
		memcpy(AT(rec, l->f[i].off), &s, sizeof(s));
	}
	return 0;
}
