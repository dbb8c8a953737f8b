/*
 * Email notifications: the mail record and its encoding (mailmsg.h).
 */
#include <stdlib.h>
#include <string.h>

#include "hookmsg.h"
#include "mailmsg.h"

void
st_mail_free(struct st_mail *m)
{
	free(m->rcpt);
	free(m->payload);
	memset(m, 0, sizeof(*m));
}

void
penc_mail(struct penc *e, const struct st_mail *m)
{
	uint32_t i;

	penc_str(e, m->id);
	penc_str(e, m->org);
	penc_u32(e, m->kind);
	penc_u32(e, m->attempts);
	penc_u64(e, m->created_at);
	penc_u64(e, m->next_at);
	penc_str(e, m->error);
	penc_u32(e, m->nrcpt);
	for (i = 0; i < m->nrcpt; i++)
		penc_str(e, m->rcpt[i]);
	penc_bytes(e, m->payload, m->payload_len);
}

static void
pdec_rcpts(struct pdec *d, struct st_mail *m)
{
	uint32_t n = pdec_u32(d), i;

	if (d->err || n > ST_MAIL_RCPT_MAX) {
		d->err = 1;
		return;
	}
	if (n == 0)
		return;
	if ((m->rcpt = calloc(n, sizeof(*m->rcpt))) == NULL) {
		d->err = 1;
		return;
	}
	m->nrcpt = n;
	for (i = 0; i < n && !d->err; i++)
		pdec_strbuf(d, m->rcpt[i], sizeof(m->rcpt[i]));
}

int
pdec_mail(struct pdec *d, struct st_mail *m)
{
	const uint8_t *p;
	size_t n = 0;

	memset(m, 0, sizeof(*m));
	pdec_strbuf(d, m->id, sizeof(m->id));
	pdec_strbuf(d, m->org, sizeof(m->org));
	m->kind = pdec_u32(d);
	m->attempts = pdec_u32(d);
	m->created_at = pdec_u64(d);
	m->next_at = pdec_u64(d);
	pdec_strbuf(d, m->error, sizeof(m->error));
	pdec_rcpts(d, m);
	if ((p = pdec_bytes(d, &n)) != NULL && n > 0) {
		if (n > PROTO_MAX_PAYLOAD || (m->payload = malloc(n)) == NULL)
			d->err = 1;
		else {
			memcpy(m->payload, p, n);
			m->payload_len = (uint32_t)n;
		}
	}
	if (d->err) {
		st_mail_free(m);
		return -1;
	}
	return 0;
}

const char *
st_mail_kind_name(uint32_t bit)
{
	switch (bit) {
	case ST_MAIL_HANDOFF:
		return "handoff";
	case ST_MAIL_WAITING:
		return "waiting";
	case ST_MAIL_CONTACT:
		return "contact";
	}
	return NULL;
}
