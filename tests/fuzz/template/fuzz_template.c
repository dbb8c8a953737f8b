/*
 * libFuzzer target for an action's template filling (tpl_check and
 * tpl_expand, workerd/actions/template.c). Byte 0 picks the kind (bit 0:
 * a JSON body) and which of the visitor's fields are known (bits 1, 2);
 * the rest is the template, a NUL, and the arguments as JSON text ({}
 * when they do not read as an object). Properties are checked, abort()
 * otherwise: a filled template is within its bound; a body reads as
 * JSON; a URL whose template passes tpl_check keeps its scheme and host;
 * another visitor id fills the same unless the template names it (the
 * visitor's id appears only where it is named); the same input fills the
 * same way twice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MARK_ID		"VISITOR-ID-MARK"
#define MARK_EMAIL	"visitor-mark@example.test"
#define OTHER_ID	"another-visitor"

static void
check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_template: %s\n", what);
		abort();
	}
}

/* The bytes of a URL before its path, as url_path cuts them (0: none). */
static size_t
head_len(const char *url)
{
	const char *p = strstr(url, "://");

	return p == NULL ? 0 : (size_t)(p + 3 - url) + strcspn(p + 3, "/?#");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tpl_visitor v = { NULL, NULL }, v2;
	const char *names[64], *why, *why2, *why3, *key, *atext;
	char *in, *tpl, *out = NULL, *out2 = NULL, *out3 = NULL;
	enum tpl_kind kind;
	json_t *args, *val;
	size_t n = 0, h;
	int rc, rc2;

	if (size < 1)
		return 0;
	kind = data[0] & 1 ? TPL_JSON : TPL_URL;
	if (data[0] & 2)
		v.external_id = MARK_ID;
	if (data[0] & 4)
		v.email = MARK_EMAIL;
	if ((in = malloc(size)) == NULL)
		return 0;
	memcpy(in, data + 1, size - 1);
	in[size - 1] = '\0';
	tpl = in;
	atext = strlen(in) < size - 1 ? in + strlen(in) + 1 : "";
	args = json_loads(atext, 0, NULL);
	if (!json_is_object(args)) {
		json_decref(args);
		args = json_object();
	}
	json_object_foreach(args, key, val)
		if (n < 64)
			names[n++] = key;

	rc = tpl_expand(kind, tpl, args, &v, &out, &why);
	if (rc == 0) {
		check(out != NULL && strlen(out) <= TPL_OUT_MAX, "bound");
		if (kind == TPL_JSON) {
			json_t *j = json_loads(out, JSON_DECODE_ANY, NULL);

			check(j != NULL, "a body that is not JSON");
			json_decref(j);
		}
		if (kind == TPL_URL && tpl_check(kind, tpl, names, n) == NULL) {
			h = head_len(tpl);
			check(h > 0 && strncmp(out, tpl, h) == 0 &&
			    head_len(out) == h, "the scheme or host changed");
		}
		/* Another visitor id changes nothing a template did not name. */
		if (v.external_id != NULL &&
		    strstr(tpl, "visitor.external_id") == NULL) {
			v2 = v;
			v2.external_id = OTHER_ID;
			check(tpl_expand(kind, tpl, args, &v2, &out3, &why3) ==
			    0 && strcmp(out, out3) == 0,
			    "the visitor's id where nothing named it");
			free(out3);
			out3 = NULL;
		}
	} else
		check(out == NULL && why != NULL, "refused without a reason");
	rc2 = tpl_expand(kind, tpl, args, &v, &out2, &why2);
	check(rc == rc2 && (rc != 0 || strcmp(out, out2) == 0),
	    "filled otherwise twice");
	free(out);
	free(out2);
	json_decref(args);
	free(in);
	return 0;
}
