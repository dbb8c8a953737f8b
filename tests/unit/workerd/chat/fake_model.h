/*
 * A fake model client for the chat tests (turn_set_upstream(&fake_model)):
 * it writes down every request and lets the test speak for the model,
 * token by token (fake_model_delta) and to the end (fake_model_done).
 * Header-only: each test binary that includes it has its own F.
 */
#ifndef PARLEY_TEST_FAKE_MODEL_H
#define PARLEY_TEST_FAKE_MODEL_H

#include <string.h>

#include "turn.h"
#include "upstream.h"

static struct {
	int started, cancelled, resumed, fail_start;
	struct upstream_cbs cbs;
	void *arg;		/* the turn's, while a call is on; else NULL */
	size_t nmsgs;
	char role[8][16];	/* the first 8 messages of the last request */
	char content[8][256];
	char model[32], prompt[64];	/* "(default)" when the request had none */
	char base_url[64], api_key[64];	/* "(default)" likewise */
	int has_temperature;
	uint32_t temperature_milli, max_tokens;
} F;

static struct upstream *
fake_start(const struct upstream_req *req, const struct upstream_cbs *cbs,
    void *arg)
{
	size_t i;

	F.started++;
	if (F.fail_start)
		return NULL;
	F.cbs = *cbs;
	F.arg = arg;
	F.nmsgs = req->nmsgs;
	for (i = 0; i < req->nmsgs && i < 8; i++) {
		strlcpy(F.role[i], req->msgs[i].role, sizeof(F.role[i]));
		strlcpy(F.content[i], req->msgs[i].content,
		    sizeof(F.content[i]));
	}
	strlcpy(F.model, req->model != NULL ? req->model : "(default)",
	    sizeof(F.model));
	strlcpy(F.prompt, req->system_prompt != NULL ? req->system_prompt :
	    "(default)", sizeof(F.prompt));
	strlcpy(F.base_url, req->base_url != NULL ? req->base_url :
	    "(default)", sizeof(F.base_url));
	strlcpy(F.api_key, req->api_key != NULL ? req->api_key :
	    "(default)", sizeof(F.api_key));
	F.has_temperature = req->has_temperature;
	F.temperature_milli = req->temperature_milli;
	F.max_tokens = req->max_tokens;
	return (struct upstream *)&F;
}

static void
fake_resume(struct upstream *u)
{
	F.resumed++;
}

static void
fake_cancel(struct upstream *u)
{
	F.cancelled++;
	F.arg = NULL;
}

static const struct turn_upstream_ops fake_model = {
	fake_start, fake_resume, fake_cancel,
};

/* The model ends the call with st (error: its text), p and c tokens used. */
static void
fake_model_done(enum upstream_status st, const char *error, uint32_t p,
    uint32_t c)
{
	struct upstream_result r;
	void *arg = F.arg;

	memset(&r, 0, sizeof(r));
	r.status = st;
	r.error = error;
	r.http_status = st == UPSTREAM_HTTP_ERROR ? 500 : 0;
	r.prompt_tokens = p;
	r.completion_tokens = c;
	F.arg = NULL;
	F.cbs.on_done(arg, &r);
}

#endif
