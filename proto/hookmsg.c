/*
 * Webhooks: the record, its encoding and the checks both sides of the
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
};
#define NEVENTS	(sizeof(events) / sizeof(events[0]))

void
st_webhook_free(struct st_webhook *h)
{
	free(h->url);
	OPENSSL_cleanse(h, sizeof(*h));
}

int
st_webhook_copy(struct st_webhook *dst, const struct st_webhook *src)
{
	*dst = *src;
	if ((dst->url = strdup(src->url != NULL ? src->url : "")) == NULL) {
		OPENSSL_cleanse(dst, sizeof(*dst));
		return -1;
	}
	return 0;
}

/* Field order on the wire and in LMDB: the struct's. */
void
penc_webhook(struct penc *e, const struct st_webhook *h)
{
	penc_str(e, h->id);
	penc_str(e, h->org);
	penc_str(e, h->url);
	penc_u32(e, h->events);
	penc_u8(e, h->enabled);
	penc_str(e, h->secret);
	penc_u64(e, h->created_at);
	penc_u64(e, h->updated_at);
	penc_u32(e, h->failures);
	penc_u64(e, h->disabled_at);
}

int
pdec_webhook(struct pdec *d, struct st_webhook *h)
{
	memset(h, 0, sizeof(*h));
	pdec_strbuf(d, h->id, sizeof(h->id));
	pdec_strbuf(d, h->org, sizeof(h->org));
	h->url = pdec_strdup(d, ST_HOOK_URL_MAX);
	h->events = pdec_u32(d);
	h->enabled = pdec_u8(d);
	pdec_strbuf(d, h->secret, sizeof(h->secret));
	h->created_at = pdec_u64(d);
	h->updated_at = pdec_u64(d);
	h->failures = pdec_u32(d);
	h->disabled_at = pdec_u64(d);
	if (d->err) {
		st_webhook_free(h);
		return -1;
	}
	return 0;
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
	size_t p = strlen(ST_HOOK_PREFIX);

	return strlen(s) == ST_HOOK_ID_LEN &&
	    strncmp(s, ST_HOOK_PREFIX, p) == 0 && st_id_valid(s + p);
}

uint32_t
st_hook_event_parse(const char *name)
{
	size_t i;

	for (i = 0; i < NEVENTS; i++)
		if (strcmp(events[i].name, name) == 0)
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
