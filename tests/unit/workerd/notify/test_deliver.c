/*
 * What one webhook delivery sends (workerd/notify/deliver.c): the JSON
 * body {"type", "timestamp", "data"} with the event as the admin API's
 * JSON, a test's data {}, a payload that does not decode refused; the
 * headers, signed over the body with the delivery's id as webhook-id.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agentmsg.h"
#include "hookmsg.h"
#include "notify.h"
#include "workerd.h"

#define SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define OLD_SECRET	"whsec_QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI="
#define WHEN	1700000000123ULL	/* 2023-11-14T22:13:20.123Z */

/* A job for a message.created with its ST_EV payload. */
static void
message_job(struct st_hook_job *job, struct penc *e)
{
	struct st_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.epoch = 1;
	ev.seq = 7;
	ev.at = WHEN;
	ev.kind = ST_EV_MESSAGE;
	strlcpy(ev.conv.id, "0123456789abcdef0123456789abcdef",
	    sizeof(ev.conv.id));
	ev.conv.last_message = "hi";
	strlcpy(ev.msg.id, "fedcba9876543210fedcba9876543210",
	    sizeof(ev.msg.id));
	strlcpy(ev.msg.conv_id, ev.conv.id, sizeof(ev.msg.conv_id));
	strlcpy(ev.msg.role, "user", sizeof(ev.msg.role));
	strlcpy(ev.msg.status, "complete", sizeof(ev.msg.status));
	ev.msg.content = "hi";
	penc_init(e);
	penc_event(e, &ev);
	assert_false(e->err);
	memset(job, 0, sizeof(*job));
	strlcpy(job->d.id, "dlv_000000000000002a", sizeof(job->d.id));
	job->d.event = ST_HE_MESSAGE_CREATED;
	job->d.created_at = WHEN;
	job->d.payload = e->buf;
	job->d.payload_len = (uint32_t)e->len;
	strlcpy(job->secret, SECRET, sizeof(job->secret));
}

static json_t *
body_json(const struct st_hook_job *job)
{
	struct buf b;
	json_t *o;

	buf_init(&b);
	assert_int_equal(notify_body(&b, job), 0);
	o = json_loadb(b.data, b.len, 0, NULL);
	assert_non_null(o);
	buf_free(&b);
	return o;
}

static void
test_body_message(void **state)
{
	struct st_hook_job job;
	struct penc e;
	json_t *o, *data;

	message_job(&job, &e);
	o = body_json(&job);
	assert_string_equal(json_string_value(json_object_get(o, "type")),
	    "message.created");
	assert_string_equal(json_string_value(json_object_get(o,
	    "timestamp")), "2023-11-14T22:13:20.123Z");
	data = json_object_get(o, "data");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    data, "conversation"), "_id")), "0123456789abcdef0123456789abcdef");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    data, "message"), "content")), "hi");
	json_decref(o);
	penc_free(&e);
}

static void
test_body_test_and_bad(void **state)
{
	struct st_hook_job job;
	struct buf b;
	json_t *o;
	uint8_t junk[3] = { 1, 2, 3 };

	memset(&job, 0, sizeof(job));
	job.d.event = ST_HE_TEST;
	job.d.created_at = WHEN;
	o = body_json(&job);
	assert_string_equal(json_string_value(json_object_get(o, "type")),
	    "webhook.test");
	assert_int_equal(json_object_size(json_object_get(o, "data")), 0);
	json_decref(o);

	job.d.event = ST_HE_CONTACT_CREATED;
	job.d.payload = junk;
	job.d.payload_len = sizeof(junk);
	buf_init(&b);
	assert_int_equal(notify_body(&b, &job), -1);
	job.d.event = 0x8000;	/* no name */
	assert_int_equal(notify_body(&b, &job), -1);
	buf_free(&b);
}

static void
test_headers(void **state)
{
	struct st_hook_job job;
	struct penc e;
	struct curl_slist *l, *n;
	char sig[NOTIFY_SIG_LEN + 1], old[NOTIFY_SIG_LEN + 1], want[160];
	int found = 0;

	message_job(&job, &e);
	assert_int_equal(notify_sign(SECRET, job.d.id, 1700000000, "{}", 2,
	    sig, sizeof(sig)), 0);
	l = notify_headers(&job, 1700000000, "{}", 2);
	assert_non_null(l);
	for (n = l; n != NULL; n = n->next) {
		snprintf(want, sizeof(want), "webhook-signature: %s", sig);
		found += strcmp(n->data, want) == 0;
		found += strcmp(n->data, "webhook-id: dlv_000000000000002a") ==
		    0;
		found += strcmp(n->data, "webhook-timestamp: 1700000000") == 0;
		found += strcmp(n->data, "Content-Type: application/json") ==
		    0;
		found += strcmp(n->data, "User-Agent: Parley-Webhooks/1") == 0;
	}
	assert_int_equal(found, 5);
	curl_slist_free_all(l);
	/* A rotation's overlap: the new secret's signature, then the old's. */
	strlcpy(job.old_secret, OLD_SECRET, sizeof(job.old_secret));
	assert_int_equal(notify_sign(OLD_SECRET, job.d.id, 1700000000, "{}",
	    2, old, sizeof(old)), 0);
	assert_string_not_equal(sig, old);
	l = notify_headers(&job, 1700000000, "{}", 2);
	assert_non_null(l);
	snprintf(want, sizeof(want), "webhook-signature: %s %s", sig, old);
	for (found = 0, n = l; n != NULL; n = n->next)
		found += strcmp(n->data, want) == 0;
	assert_int_equal(found, 1);
	curl_slist_free_all(l);
	/* A malformed secret, or a malformed one before: nothing. */
	strlcpy(job.old_secret, "whsec_!!", sizeof(job.old_secret));
	assert_null(notify_headers(&job, 1700000000, "{}", 2));
	strlcpy(job.secret, "whsec_!!", sizeof(job.secret));
	job.old_secret[0] = '\0';
	assert_null(notify_headers(&job, 1700000000, "{}", 2));
	penc_free(&e);
}

/*
 * An attempt's outcome: a 2xx is delivered even when another address of
 * the name was refused on the way (it was recorded failed, retried 38
 * times and the webhook disabled); refused is why only with no answer.
 */
static void
test_outcome(void **state)
{
	struct notify_outcome o;
	char text[64];

	deliver_outcome(&o, 200, 1, "curl's words", text);
	assert_int_equal(o.ok, 1);
	assert_int_equal(o.code, 200);
	assert_null(o.error);
	deliver_outcome(&o, 0, 1, "curl's words", text);
	assert_int_equal(o.ok, 0);
	assert_string_equal(o.error,
	    "address refused: private, loopback or link-local");
	deliver_outcome(&o, 0, 0, "curl's words", text);
	assert_string_equal(o.error, "curl's words");
	deliver_outcome(&o, 503, 1, "curl's words", text);
	assert_int_equal(o.ok, 0);
	assert_string_equal(o.error, "HTTP 503");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_message),
		cmocka_unit_test(test_body_test_and_bad),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_outcome),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
