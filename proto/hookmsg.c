/*
 * Webhooks: the webhook's and the delivery's layouts, their rows' walks
 * (record.h), the due job's encoding and the checks both sides of the
 * socket share (see hookmsg.h).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "hookmsg.h"
#include "util.h"

static const struct {
	uint32_t bit;
	const char *name;
} events[] = {
	{ ST_HE_CONV_CREATED, "conversation.created" },
	{ ST_HE_MESSAGE_CREATED, "message.created" },
	{ ST_HE_HANDOFF_REQUESTED, "handoff.requested" },
	{ ST_HE_HANDOFF_CHANGED, "handoff.changed" },
	{ ST_HE_CONTACT_CREATED, "contact.created" },
	{ ST_HE_CONV_DELETED, "conversation.deleted" },
	{ ST_HE_TEST, "webhook.test" },
	{ ST_HE_CONV_STATE, "conversation.state_changed" },
};
#define NEVENTS	(sizeof(events) / sizeof(events[0]))

#define HOOK_ROW(...)	RF_ROW(struct st_webhook, __VA_ARGS__)

RL_LAYOUT(st_webhook_layout, "webhook", struct st_webhook,
    ST_WEBHOOK_ROWS(HOOK_ROW), NULL);

/*
 * A PAYLOAD row's members, where its row says (a delivery's and a mail's):
 * the pointer at f->off, its length in the last 4 of f->size bytes.
 */
#define PAYLOAD_P(rec, f)	((unsigned char *)(rec) + (f)->off)
#define PAYLOAD_N(rec, f)	((unsigned char *)(rec) + (f)->off + \
	(f)->size - sizeof(uint32_t))

static void
payload_enc(struct penc *e, const void *rec, const struct rfield *f)
{
	uint8_t *p;
	uint32_t n;

	memcpy(&p, PAYLOAD_P(rec, f), sizeof(p));
	memcpy(&n, PAYLOAD_N(rec, f), sizeof(n));
	penc_bytes(e, p, p != NULL ? n : 0);
}

/* None is NULL; more than any message carries is an error. */
static void
payload_dec(struct pdec *d, void *rec, const struct rfield *f)
{
	const uint8_t *p;
	uint8_t *v;
	size_t n = 0;
	uint32_t n32;

	if ((p = pdec_bytes(d, &n)) == NULL || n == 0)
		return;
	if (n > PROTO_MAX_PAYLOAD || (v = malloc(n)) == NULL) {
		d->err = 1;
		return;
	}
	memcpy(v, p, n);
	n32 = (uint32_t)n;
	memcpy(PAYLOAD_P(rec, f), &v, sizeof(v));
	memcpy(PAYLOAD_N(rec, f), &n32, sizeof(n32));
}

static void
payload_free(void *rec, const struct rfield *f)
{
	uint8_t *p;

	memcpy(&p, PAYLOAD_P(rec, f), sizeof(p));
	free(p);
	memset(PAYLOAD_P(rec, f), 0, f->size);
}

static int
payload_copy(void *dst, const void *src, const struct rfield *f)
{
	uint8_t *p, *v;
	uint32_t n;

	memcpy(&p, PAYLOAD_P(src, f), sizeof(p));
	memcpy(&n, PAYLOAD_N(src, f), sizeof(n));
	if (p == NULL || n == 0)
		return 0;
	if ((v = malloc(n)) == NULL)
		return -1;
	memcpy(v, p, n);
	memcpy(PAYLOAD_P(dst, f), &v, sizeof(v));
	memcpy(PAYLOAD_N(dst, f), &n, sizeof(n));
	return 0;
}

const struct rcodec st_payload_codec = { "PAYLOAD", payload_enc,
    payload_dec, payload_free, payload_copy };

#define DLV_ROW(...)	RF_ROW(struct st_delivery, __VA_ARGS__)

RL_LAYOUT(st_delivery_layout, "delivery", struct st_delivery,
    ST_DELIVERY_ROWS(DLV_ROW), NULL);

static const char *const status_names[] = { "pending", "delivered",
    "failed" };

const char *
st_status_name(int status)
{
	return status >= ST_DLV_PENDING && status <= ST_DLV_FAILED ?
	    status_names[status] : NULL;
}

int
st_status_parse(const char *name)
{
	int i;

	for (i = ST_DLV_PENDING; i <= ST_DLV_FAILED; i++)
		if (strcmp(name, status_names[i]) == 0)
			return i;
	return -1;
}

void
st_hook_job_free(struct st_hook_job *j)
{
	st_delivery_free(&j->d);
	free(j->url);
	OPENSSL_cleanse(j, sizeof(*j));
}

void
penc_hook_job(struct penc *e, const struct st_hook_job *j)
{
	penc_delivery(e, &j->d);
	penc_str(e, j->url);
	penc_str(e, j->secret);
	penc_str(e, j->old_secret);
}

int
pdec_hook_job(struct pdec *d, struct st_hook_job *j)
{
	memset(j, 0, sizeof(*j));
	if (pdec_delivery(d, &j->d) < 0)
		return -1;
	j->url = pdec_strdup(d, ST_HOOK_URL_MAX);
	pdec_strbuf(d, j->secret, sizeof(j->secret));
	pdec_strbuf(d, j->old_secret, sizeof(j->old_secret));
	if (d->err) {
		st_hook_job_free(j);
		return -1;
	}
	return 0;
}

int
st_dlv_id_valid(const char *id)
{
	return st_prefixed_id_valid(id, ST_DLV_PREFIX);
}

/* http:// or https://, a host, no spaces, controls or non-ASCII. */
static int
url_shape(const char *u)
{
	size_t n = strlen(u), i, p;

	if (n < 1 || n > ST_HOOK_URL_MAX)
		return 0;
	if (strncmp(u, "https://", 8) == 0)
		p = 8;
	else if (strncmp(u, "http://", 7) == 0)
		p = 7;
	else
		return 0;
	if (u[p] == '\0' || u[p] == '/' || u[p] == '?' || u[p] == '#')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= 0x20 || (unsigned char)u[i] >= 0x7f)
			return 0;
	return 1;
}

const char *
st_webhook_url_invalid(const char *url)
{
	if (url == NULL || !url_shape(url))
		return "url: must be an http or https URL of at most 2048 "
		    "bytes";
	return NULL;
}

/* By hand: its url's and events' messages are not the walk's. */
const char *
st_webhook_invalid(const struct st_webhook *h)
{
	const char *why;

	if ((why = st_webhook_url_invalid(h->url)) != NULL)
		return why;
	if (h->events == 0 || (h->events & ~(uint32_t)ST_HE_ALL) != 0)
		return "events: must name at least one event";
	if (h->enabled > 1)
		return "enabled: must be a boolean";
	if (strncmp(h->secret, "whsec_", 6) != 0 || strlen(h->secret) < 6 + 32)
		return "secret: must be made by the server";
	return NULL;
}

int
st_hook_id_valid(const char *s)
{
	return st_prefixed_id_valid(s, ST_HOOK_PREFIX);
}

uint32_t
st_hook_event_parse(const char *name)
{
	size_t i;

	for (i = 0; i < NEVENTS; i++)
		if (events[i].bit != ST_HE_TEST &&
		    strcmp(events[i].name, name) == 0)
			return events[i].bit;
	return 0;
}

const char *
st_hook_event_name(uint32_t bit)
{
	size_t i;

	for (i = 0; i < NEVENTS; i++)
		if (events[i].bit == bit)
			return events[i].name;
	return NULL;
}
