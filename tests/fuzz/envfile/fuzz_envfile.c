/*
 * libFuzzer target for lib/envfile.c, the .env reader (make run's and
 * systemd's rules): any bytes parse or are refused with a line, never
 * crash; what parses holds names that are names and values without NUL;
 * setting a variable in place (envfile_set) changes that one alone: the
 * result parses to the same variables but that one, now the new value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* out (parsed from the set) equals ef but name, which is "NEW". */
static void
check_same_but(const struct envfile *ef, const struct envfile *out,
    const char *name)
{
	const struct envfile_var *a, *b;
	size_t i;

	b = envfile_get(out, name);
	if (b == NULL || strcmp(b->value, "NEW") != 0)
		abort();
	for (i = 0; i < ef->n; i++) {
		a = &ef->v[i];
		if (strcmp(a->name, name) == 0)
			continue;
		if ((b = envfile_get(out, a->name)) == NULL ||
		    b->value_len != a->value_len ||
		    memcmp(a->value, b->value, a->value_len) != 0)
			abort();
	}
	if (out->n != ef->n + (envfile_get(ef, name) == NULL))
		abort();
}

static void
set_and_check(const char *buf, size_t len, const struct envfile *ef,
    const char *name)
{
	char err[ENVFILE_ERR_MAX], *o;
	struct envfile out;
	size_t olen;

	if (envfile_set(buf, len, ef, name, "NEW", &o, &olen) < 0)
		return;		/* out of memory only */
	if (envfile_parse(&out, o, olen, err, sizeof(err)) < 0)
		abort();
	check_same_but(ef, &out, name);
	envfile_free(&out);
	free(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ENVFILE_ERR_MAX];
	const char *buf = (const char *)data;
	struct envfile ef;
	size_t i;

	if (envfile_parse(&ef, buf, size, err, sizeof(err)) < 0) {
		if (strncmp(err, "line ", 5) != 0 && size <= ENVFILE_MAX)
			abort();
		envfile_free(&ef);
		return 0;
	}
	for (i = 0; i < ef.n; i++) {
		if (strlen(ef.v[i].value) != ef.v[i].value_len ||
		    ef.v[i].start > ef.v[i].end || ef.v[i].end > size ||
		    ef.v[i].line == 0 || ef.v[i].name[0] == '\0')
			abort();
	}
	if (ef.n > 0)
		set_and_check(buf, size, &ef, ef.v[ef.n - 1].name);
	set_and_check(buf, size, &ef, "FUZZ_NEW_NAME");
	envfile_free(&ef);
	return 0;
}
