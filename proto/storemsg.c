/* Encodings of storaged's records, shared by storaged and its clients. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orgmsg.h"
#include "storemsg.h"

void
st_conv_free(struct st_conv *c)
{
	free(c->last_message);
	memset(c, 0, sizeof(*c));
}

void
st_msg_free(struct st_msg *m)
{
	free(m->content);
	memset(m, 0, sizeof(*m));
}

void
st_msgs_free(struct st_msg *m, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		st_msg_free(&m[i]);
	free(m);
}

void
st_convs_free(struct st_conv *c, uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		st_conv_free(&c[i]);
	free(c);
}

void
penc_conv(struct penc *e, const struct st_conv *c)
{
	penc_str(e, c->id);
	penc_str(e, c->widget);
	penc_str(e, c->session);
	penc_u64(e, c->created_at);
	penc_u64(e, c->updated_at);
	penc_u32(e, c->message_count);
	penc_str(e, c->last_message);
	penc_str(e, c->contact_id);
	penc_u8(e, c->handoff);
	penc_str(e, c->org);
	penc_str(e, c->assignee);
	penc_str(e, c->assignee_name);
}

int
pdec_conv(struct pdec *d, struct st_conv *c)
{
	memset(c, 0, sizeof(*c));
	pdec_strbuf(d, c->id, sizeof(c->id));
	pdec_strbuf(d, c->widget, sizeof(c->widget));
	pdec_strbuf(d, c->session, sizeof(c->session));
	c->created_at = pdec_u64(d);
	c->updated_at = pdec_u64(d);
	c->message_count = pdec_u32(d);
	c->last_message = pdec_strdup(d, ST_CONTENT_MAX);
	pdec_strbuf(d, c->contact_id, sizeof(c->contact_id));
	c->handoff = pdec_u8(d);
	pdec_strbuf(d, c->org, sizeof(c->org));
	pdec_strbuf(d, c->assignee, sizeof(c->assignee));
	pdec_strbuf(d, c->assignee_name, sizeof(c->assignee_name));
	if (d->err) {
		st_conv_free(c);
		return -1;
	}
	return 0;
}

void
penc_msg(struct penc *e, const struct st_msg *m)
{
	penc_str(e, m->id);
	penc_str(e, m->conv_id);
	penc_str(e, m->role);
	penc_str(e, m->status);
	penc_u64(e, m->created_at);
	penc_u32(e, m->prompt_tokens);
	penc_u32(e, m->completion_tokens);
	penc_str(e, m->content);
	penc_str(e, m->name);
	penc_str(e, m->author);
}

int
pdec_msg(struct pdec *d, struct st_msg *m)
{
	memset(m, 0, sizeof(*m));
	pdec_strbuf(d, m->id, sizeof(m->id));
	pdec_strbuf(d, m->conv_id, sizeof(m->conv_id));
	pdec_strbuf(d, m->role, sizeof(m->role));
	pdec_strbuf(d, m->status, sizeof(m->status));
	m->created_at = pdec_u64(d);
	m->prompt_tokens = pdec_u32(d);
	m->completion_tokens = pdec_u32(d);
	m->content = pdec_strdup(d, ST_CONTENT_MAX);
	pdec_strbuf(d, m->name, sizeof(m->name));
	pdec_strbuf(d, m->author, sizeof(m->author));
	if (d->err) {
		st_msg_free(m);
		return -1;
	}
	return 0;
}

int
st_id_valid(const char *s)
{
	size_t i;

	for (i = 0; i < ST_ID_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[ST_ID_HEX] == '\0';
}

size_t
st_utf8_prefix(const char *s, size_t max_chars)
{
	size_t i = 0, chars = 0;

	while (s[i] != '\0' && chars < max_chars) {
		/* Skip continuation bytes so a character is never cut. */
		i++;
		while ((s[i] & 0xc0) == 0x80)
			i++;
		chars++;
	}
	return i;
}

/* ------------------------------------------------------------ who asks */

void
penc_who(struct penc *e, const struct st_who *w)
{
	penc_u8(e, w->kind);
	penc_str(e, w->id);
	penc_str(e, w->org);
	penc_u8(e, w->role);
	penc_str(e, w->user);
}

int
pdec_who(struct pdec *d, struct st_who *w)
{
	w->kind = pdec_u8(d);
	pdec_strbuf(d, w->id, sizeof(w->id));
	pdec_strbuf(d, w->org, sizeof(w->org));
	w->role = pdec_u8(d);
	pdec_strbuf(d, w->user, sizeof(w->user));
	if (d->err)
		return -1;
	if (w->org[0] == '\0')
		strlcpy(w->org, ST_ORG_DEFAULT, sizeof(w->org));
	if (w->kind > ST_WHO_MAX || w->role > ST_ROLE_OWNER ||
	    !st_org_id_valid(w->org))
		d->err = 1;
	return d->err ? -1 : 0;
}

const char *
st_who_name(const struct st_who *w, char *buf, size_t bufsz)
{
	static const char *const kinds[] = { "public", "key", "session",
	    "parleyctl", "orgkey" };

	snprintf(buf, bufsz, "%s:%s@%s", w->kind <= ST_WHO_MAX ?
	    kinds[w->kind] : "?", w->id, w->org);
	return buf;
}

static const char *const role_names[] = { NULL, "agent", "admin", "owner" };

const char *
st_role_name(uint8_t role)
{
	return role <= ST_ROLE_OWNER ? role_names[role] : NULL;
}

uint8_t
st_role_parse(const char *name)
{
	uint8_t r;

	for (r = ST_ROLE_AGENT; r <= ST_ROLE_OWNER; r++)
		if (strcmp(name, role_names[r]) == 0)
			return r;
	return ST_ROLE_NONE;
}
