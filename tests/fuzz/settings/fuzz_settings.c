/*
 * libFuzzer target for PROTO_MW_SETTINGS's decoder: the bytes a worker
 * gets from masterd, decoded and parsed as the worker's settings
 * (settings_msg_decode); what decodes is encoded again and must decode
 * to the same settings.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A variable of st, as text again, for the round trip. */
struct again {
	const struct settings *st;
	char num[16];
};

static const char *
again_get(const char *name, void *arg)
{
	struct again *a = arg;
	const struct setting *r = settings_find(name);
	const char *field;

	if (r == NULL || r->off == 0)
		return NULL;
	field = (const char *)a->st + r->off;
	switch (r->type) {
	case SETTING_NUMBER:
		snprintf(a->num, sizeof(a->num), "%u",
		    *(const uint32_t *)(const void *)field);
		return a->num;
	case SETTING_TEXT:
	case SETTING_SECRET:
		return *(char *const *)(const void *)field;
	default:
		return NULL;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	struct settings st, st2;
	struct again a;
	struct penc e;
	char err[SETTINGS_ERR_MAX];

	if (!once) {
		log_init("fuzz_settings");
		log_set_level(LOG_LEVEL_FATAL);
		once = 1;
	}
	if (settings_msg_decode(&st, data, size, err, sizeof(err)) < 0)
		return 0;
	/* The numbers and texts decoded encode and decode again. */
	a.st = &st;
	penc_init(&e);
	settings_msg_encode(&e, again_get, &a, st.public_url_set, NULL);
	if (!e.err && settings_msg_decode(&st2, e.buf, e.len, err,
	    sizeof(err)) == 0) {
		if (st2.header_timeout_ms != st.header_timeout_ms ||
		    st2.max_history != st.max_history)
			abort();
		settings_free(&st2);
	}
	penc_free(&e);
	settings_free(&st);
	return 0;
}
