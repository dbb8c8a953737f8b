/*
 * Email notifications: the mail record's layout, its event's codec (a
 * kind of its own, MAIL_EVENT: bytes, not a string) and its rows' walks
 * (mailmsg.h, record.h).
 */
#include <stdlib.h>
#include <string.h>

#include "hookmsg.h"
#include "mailmsg.h"

/* --------------------------------------------------------- the event */

static void
payload_enc(struct penc *e, const void *rec, const struct rfield *f)
{
	const struct st_mail *m = rec;

	penc_bytes(e, m->payload, m->payload_len);
}

static void
payload_dec(struct pdec *d, void *rec, const struct rfield *f)
{
	struct st_mail *m = rec;
	const uint8_t *p;
	size_t n = 0;

	if ((p = pdec_bytes(d, &n)) == NULL || n == 0)
		return;
	if (n > PROTO_MAX_PAYLOAD || (m->payload = malloc(n)) == NULL) {
		d->err = 1;
		return;
	}
	memcpy(m->payload, p, n);
	m->payload_len = (uint32_t)n;
}

static void
payload_free(void *rec, const struct rfield *f)
{
	struct st_mail *m = rec;

	free(m->payload);
	m->payload = NULL;
	m->payload_len = 0;
}

static int
payload_copy(void *dst, const void *src, const struct rfield *f)
{
	const struct st_mail *from = src;
	struct st_mail *to = dst;

	if (from->payload_len == 0)
		return 0;
	if ((to->payload = malloc(from->payload_len)) == NULL)
		return -1;
	memcpy(to->payload, from->payload, from->payload_len);
	to->payload_len = from->payload_len;
	return 0;
}

const struct rcodec st_mail_event_codec = {
	"MAIL_EVENT", payload_enc, payload_dec, payload_free, payload_copy,
};

/* ---------------------------------------------------------- the record */

#define MAIL_ROW(...)	RF_ROW(struct st_mail, __VA_ARGS__)

static const struct rfield mail_rows[] = {
	ST_MAIL_ROWS(MAIL_ROW)
};

const struct rlayout st_mail_layout = {
	"mail", sizeof(struct st_mail), mail_rows,
	sizeof(mail_rows) / sizeof(mail_rows[0]), NULL,
};

void
st_mail_free(struct st_mail *m)
{
	rl_free(&st_mail_layout, m);
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
