/*
 * An organisation's webhooks in the admin API (issue 23), admins and
 * owners (the routes' role):
 *
 *	GET    /v1/admin/webhooks		{"webhooks":[...]}, oldest first
 *	POST   /v1/admin/webhooks		{"url","events"[,"enabled"]} ->
 *						201 the webhook, with "secret"
 *						shown this once
 *	GET    /v1/admin/webhooks/:hook_id	the webhook
 *	PATCH  /v1/admin/webhooks/:hook_id	sets url, events, enabled
 *	DELETE /v1/admin/webhooks/:hook_id	200 {"deleted":true}
 *	GET    /v1/admin/webhooks/:hook_id/deliveries[?limit=&cursor=]
 *						{"deliveries":[...],
 *						"nextCursor"}, newest first
 *	POST   /v1/admin/webhooks/:hook_id/deliveries/:delivery_id/retry
 *						200 the delivery, due now; 410
 *						when its conversation or its
 *						contact was deleted
 *	POST   /v1/admin/webhooks/:hook_id/test	202 a webhook.test delivery
 *	POST   /v1/admin/webhooks/:hook_id/secret	200 the webhook with a new
 *						"secret", shown this once; the
 *						one before still signs beside
 *						it until previous_secret_until
 *						(a day)
 *
 * A webhook is {id, organization_id, url, events, enabled, failures,
 * disabled_at, created_at, updated_at, previous_secret_until}; events are names
 * ("message.created", hookmsg.h). The secret ("whsec_" + base64 of 32
 * random bytes, Standard Webhooks) is made here; storaged keeps it for
 * the notifier to sign with and sends it back in the create's reply
 * alone. Nothing logs it.
 *
 * Where the URL points is checked here, before storaged sees it: a
 * literal address that is loopback, private, link-local or unique-local
 * (workerd/net/urlpolicy.c), or a name under "localhost" (always loopback,
 * RFC 6761), is refused unless PARLEY_WEBHOOK_ALLOW_PRIVATE=on; another
 * name is resolved off the loop (notify/lookup.c, the entity's vet) and
 * refused when it does not resolve or any of its addresses is such an
 * address. The deliverer checks every address it connects to as well
 * (DNS may answer otherwise later).
 *
 * The handlers are entity.c's, from the table here.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "hookmsg.h"
#include "notify.h"
#include "workerd.h"

/* ---------------------------------------------------------------- JSON */

static json_t *
events_json(uint32_t events)
{
	const char *name;
	json_t *a;
	uint32_t bit;

	if ((a = json_array()) == NULL)
		return NULL;
	for (bit = 1; bit <= ST_HE_ALL; bit <<= 1)
		if ((events & bit) && (name = st_hook_event_name(bit)) != NULL &&
		    json_array_append_new(a, exprow_text(name)) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* events: their names. */
static void
events_out(json_t *o, const void *rec, int *err)
{
	exprow_oset(o, "events",
	    events_json(((const struct st_webhook *)rec)->events), err);
}

/* disabled_at: null while it is enabled. */
static void
disabled_at_out(json_t *o, const void *rec, int *err)
{
	exprow_oset(o, "disabled_at",
	    json_opt_ms(((const struct st_webhook *)rec)->disabled_at), err);
}

/* previous_secret_until: null unless a rotated secret was kept. */
static void
old_until_out(json_t *o, const void *rec, int *err)
{
	exprow_oset(o, "previous_secret_until",
	    json_opt_ms(((const struct st_webhook *)rec)->old_until), err);
}

/* The rows a webhook shows its own way. */
static const struct rec_own hook_own[] = {
	{ "events", events_out },
	{ "disabled_at", disabled_at_out },
	{ "previous_secret_until", old_until_out },
	{ NULL, NULL },
};

/*
 * Its rows; the secret only when the reply holds it: the create's and
 * the rotation's.
 */
static json_t *
hook_json(const void *rep, int *status)
{
	const struct st_webhook *h = rep;
	json_t *v;
	int err = 0;

	if ((v = json_object()) == NULL)
		return NULL;
	rec_json_fields(v, &st_webhook_layout, h, RF_ADM, hook_own, &err);
	if (h->secret[0] != '\0')
		exprow_oset(v, "secret", exprow_text(h->secret), &err);
	return exprow_odone(v, err);
}

static ADMIN_LIST_JSON(hook_list_json, st_webhooks, "webhooks", hooks,
    hook_json)

/* ------------------------------------------------- JSON -> st_webhook */

/* A non-empty array of event names, each known. */
static const char *
take_events(json_t *v, void *rec, const struct admin_field *f, int again)
{
	struct st_webhook *h = rec;
	uint32_t bit;
	size_t i;
	json_t *e;

	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > 32)
		return "must be a non-empty array of event names";
	h->events = 0;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || (bit = st_hook_event_parse(
		    json_string_value(e))) == 0)
			return "must name known events (conversation.created, "
			    "message.created, handoff.requested, "
			    "handoff.changed, contact.created, "
			    "conversation.deleted, "
			    "conversation.state_changed)";
		h->events |= bit;
	}
	return NULL;
}

#define HF(NAME, BIT, KIND, M) \
	{ NAME, BIT, KIND, offsetof(struct st_webhook, M), 0, NULL, NULL, NULL }

static const struct admin_field hook_fields[] = {
	HF("url", ST_HF_URL, AJ_TEXT, url),
	{ "events", ST_HF_EVENTS, AJ_TAKE, offsetof(struct st_webhook, events),
	    0, NULL, NULL, take_events },
	HF("enabled", ST_HF_ENABLED, AJ_BOOL, enabled),
};

static const char *const read_only[] = {
	"id", "organization_id", "secret", "failures", "disabled_at",
	"created_at", "updated_at", "previous_secret_until", NULL,
};

/* A new one is enabled, with a new secret. */
static void
hook_start(void *rec, int patch)
{
	struct st_webhook *h = rec;

	memset(h, 0, sizeof(*h));
	if (patch)
		return;
	h->enabled = 1;
	if (notify_secret_new(h->secret) < 0)
		h->secret[0] = '\0';	/* refused by st_webhook_invalid */
}

/*
 * A refusal of a private address names the setting that allows it: a
 * receiver on the LAN is a common first webhook.
 */
static const char *
hook_why(const char *why)
{
	return urlpol_private_named(why, URLPOL_ALLOW_WEBHOOK);
}

/*
 * A new URL's address judged before it is stored (hook_entity's vet):
 * a literal at once, a name resolved off the loop, unless the caller's
 * organisation may reach private addresses.
 */
static int
hook_vet(struct conn *c, void *rec, uint64_t mask, int patch, void **state)
{
	struct st_webhook *h = rec;
	struct url_target t;
	const char *why;

	/* Parsed by hook_invalid already. */
	if ((patch && !(mask & ST_HF_URL)) ||
	    urlpol_parse(h->url, &t, &why) < 0 ||
	    notify_private_ok(c->who.org, t.host))
		return 0;
	return admin_vet_url(c, &t, state);
}

static const char *
hook_invalid(void *rec, uint64_t mask, int patch)
{
	struct st_webhook *h = rec;
	struct url_target t;
	const char *why;

	if (!patch || (mask & ST_HF_URL)) {
		if ((why = st_webhook_url_invalid(h->url)) != NULL ||
		    urlpol_parse(h->url, &t, &why) < 0)
			return why;
	}
	if (!patch)
		return st_webhook_invalid(h);
	return NULL;
}

ADMIN_UPDATE_REQ(hook_update_req, hu, h)

/* ------------------------------------------------------------ handlers */

const struct admin_entity hook_entity = {
	ADMIN_ENTITY_TYPES(PROTO_ST_HOOK),
	.not_found = "Webhook not found",
	.invalid = "Invalid webhook",
	.id_valid = st_hook_id_valid,
	.fields = hook_fields,
	.nfields = sizeof(hook_fields) / sizeof(hook_fields[0]),
	.read_only = read_only,
	.required = ST_HF_URL | ST_HF_EVENTS,
	.start = hook_start,
	.rec_invalid = hook_invalid,
	.update_req = hook_update_req,
	.one = hook_json,
	.all = hook_list_json,
	.deleted = admin_deleted_json,
	.vet = hook_vet,
	.vet_cancel = admin_vet_url_cancel,
	.vet_why = hook_why,
};

ADMIN_ENTITY_ROUTES(webhooks, hook_entity)

/* ---------------------------------------------------------- deliveries */

/* event: its name. */
static void
event_out(json_t *o, const void *rec, int *err)
{
	const struct st_delivery *d = rec;
	const char *ev = st_hook_event_name(d->event);

	exprow_oset(o, "event", exprow_text(ev != NULL ? ev : ""), err);
}

/* next_attempt_at: null unless one is due. */
static void
next_at_out(json_t *o, const void *rec, int *err)
{
	const struct st_delivery *d = rec;

	exprow_oset(o, "next_attempt_at", d->status == ST_DLV_PENDING ?
	    exprow_ms(d->next_at) : json_null(), err);
}

/* response_code: null until an answer came. */
static void
code_out(json_t *o, const void *rec, int *err)
{
	exprow_oset(o, "response_code",
	    json_opt_uint(((const struct st_delivery *)rec)->code), err);
}

/* last_error: null for none. */
static void
error_out(json_t *o, const void *rec, int *err)
{
	exprow_oset(o, "last_error",
	    json_opt_text(((const struct st_delivery *)rec)->error), err);
}

/* duration_ms: null before the first attempt. */
static void
duration_out(json_t *o, const void *rec, int *err)
{
	const struct st_delivery *d = rec;

	exprow_oset(o, "duration_ms", d->attempts > 0 ?
	    json_integer(d->duration_ms) : json_null(), err);
}

/* The rows a delivery shows its own way. */
static const struct rec_own delivery_own[] = {
	{ "event", event_out },
	{ "next_attempt_at", next_at_out },
	{ "response_code", code_out },
	{ "last_error", error_out },
	{ "duration_ms", duration_out },
	{ NULL, NULL },
};

/* What a delivery's last attempt said; its payload is never shown. */
static json_t *
delivery_json(const void *rep, int *status)
{
	return rec_json(&st_delivery_layout, rep, RF_ADM, delivery_own);
}

static json_t *
deliveries_json(const void *rep, int *status)
{
	const struct st_deliveries *l = rep;
	json_t *o, *items;

	if ((items = ADMIN_ITEMS_JSON(l->dlv, l->n, delivery_json)) == NULL)
		return NULL;
	o = json_pack("{s:o, s:o}", "deliveries", items, "nextCursor",
	    l->next_cursor[0] != '\0' ? exprow_text(l->next_cursor) :
	    json_null());
	return o;
}

static json_t *
test_json(const void *rep, int *status)
{
	*status = 202;
	return delivery_json(rep, status);
}

/* A test or a retry of a disabled webhook: nothing would be sent. */
#define HOOK_DISABLED	"Webhook disabled: enable it to send to it"

static const struct storec_answer dlv_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Webhook not found" },
	{ PROTO_E_INVALID, 400, "Invalid query parameters" },
	{ PROTO_E_UNSUPPORTED, 409, HOOK_DISABLED },
	{ 0, 0, NULL },
};

/*
 * Invalid: its payload went with its conversation or its contact
 * (outbox.c's dlv_wipe).
 */
static const struct storec_answer retry_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Delivery not found" },
	{ PROTO_E_UNSUPPORTED, 409, HOOK_DISABLED },
	{ PROTO_E_INVALID, 410, "Delivery erased: its conversation or "
	    "contact was deleted" },
	{ 0, 0, NULL },
};

static const struct admin_reply dlv_listed = {
	PROTO_ST_HOOK_DELIVERIES, 200, deliveries_json, dlv_errors, 0
};

void
webhooks_deliveries(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	char cursor[ST_CURSOR_MAX + 1];
	struct st_id_page_req q;

	if ((q.id = admin_entity_id(&hook_entity, c, m, 0)) == NULL)
		return;
	if (admin_list_query(req->query, &q.limit, cursor,
	    sizeof(cursor)) < 0) {
		admin_bad_query(c);
		return;
	}
	q.cursor = cursor;
	admin_ask_reply(c, &q, &dlv_listed);
}

static const struct admin_reply retried = {
	PROTO_ST_HOOK_RETRY, 200, delivery_json, retry_errors, 0
};

/* The delivery must be the webhook's the path names (else 404). */
void
webhooks_retry(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_hook_retry_req q;

	if ((q.hook = admin_entity_id(&hook_entity, c, m, 0)) == NULL)
		return;
	q.id = m->nparams > 1 ? m->param[1] : "";
	if (!st_dlv_id_valid(q.id)) {
		conn_send_error(c, 404, admin_headers, "Delivery not found");
		return;
	}
	admin_ask_reply(c, &q, &retried);
}

ADMIN_ID_ROUTE(webhooks_test, admin_entity_id(&hook_entity, c, m, 0),
    PROTO_ST_HOOK_TEST, 202, test_json, dlv_errors, 0)

/*
 * A new secret for the webhook, made here as a new webhook's is, shown
 * this once; storaged keeps the one before, which signs beside it for
 * ST_HOOK_SECRET_OVERLAP (a receiver switches over without dropping a
 * delivery), and never sends it back.
 */
void
webhooks_secret(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	static const struct storec_answer errors[] = {
		{ PROTO_E_NOT_FOUND, 404, "Webhook not found" },
		{ 0, 0, NULL },
	};
	static const struct admin_reply rotated = {
		PROTO_ST_HOOK_SECRET, 200, hook_json, errors, 0
	};
	struct st_hook_secret_req q;

	if ((q.id = admin_entity_id(&hook_entity, c, m, 0)) == NULL)
		return;
	if (notify_secret_new(q.secret) < 0) {
		conn_send_error(c, 500, admin_headers,
		    "Could not make a secret; try again");
		return;
	}
	admin_ask_reply(c, &q, &rotated);
	explicit_bzero(q.secret, sizeof(q.secret));
}
