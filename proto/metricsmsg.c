/* The series of a metric set (metricsmsg.h). */
#include <stdio.h>
#include <string.h>

#include "metricsmsg.h"

static int
name_char(int ch, int first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    ch == '_' || ch == ':' || (!first && ch >= '0' && ch <= '9');
}

int
ms_name_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!name_char((unsigned char)s[i], i == 0))
			return 0;
	return 1;
}

int
ms_labels_ok(const char *s)
{
	const char *p = s;

	if (*p == '\0')
		return 1;
	for (;;) {
		/* Label names have no colon. */
		if (!name_char((unsigned char)*p, 1) || *p == ':')
			return 0;
		while (name_char((unsigned char)*p, 0) && *p != ':')
			p++;
		if (*p++ != '=' || *p++ != '"')
			return 0;
		for (; *p != '"'; p++) {
			if (*p == '\0' || *p == '\n')
				return 0;
			if (*p == '\\') {
				p++;
				if (*p != '\\' && *p != '"' && *p != 'n')
					return 0;
			}
		}
		p++;
		if (*p == '\0')
			return 1;
		if (*p++ != ',')
			return 0;
	}
}

int
ms_escape(char *out, size_t outsz, const char *v)
{
	size_t o = strlen(out);
	const char *rep;
	char one[2];

	for (; *v != '\0'; v++) {
		switch (*v) {
		case '\\':
			rep = "\\\\";
			break;
		case '"':
			rep = "\\\"";
			break;
		case '\n':
			rep = "\\n";
			break;
		default:
			one[0] = *v;
			one[1] = '\0';
			rep = one;
			break;
		}
		if (o + strlen(rep) >= outsz)
			return -1;
		memcpy(out + o, rep, strlen(rep));
		o += strlen(rep);
		out[o] = '\0';
	}
	return 0;
}

void
ms_enc(struct penc *e, uint8_t kind, const char *name, const char *labels,
    uint64_t value)
{
	penc_u8(e, kind);
	penc_str(e, name);
	penc_str(e, labels);
	penc_u64(e, value);
}

int
ms_dec(struct pdec *d, struct mseries *s)
{
	s->kind = pdec_u8(d);
	pdec_strbuf(d, s->name, sizeof(s->name));
	pdec_strbuf(d, s->labels, sizeof(s->labels));
	s->value = pdec_u64(d);
	s->base = 0;
	if (d->err || (s->kind & MS_KIND_MASK) > MS_RUN ||
	    (s->kind & ~(MS_KIND_MASK | MS_MICRO)) != 0 ||
	    !ms_name_ok(s->name) || !ms_labels_ok(s->labels)) {
		d->err = 1;
		return -1;
	}
	return 0;
}

size_t
ms_set_begin(struct penc *e)
{
	size_t at = e->len;

	penc_u32(e, 0);
	return at;
}

void
ms_set_end(struct penc *e, size_t at, uint32_t n)
{
	if (e->err || at + 4 > e->len)
		return;
	proto_put_be32(e->buf + at, n);
}

void
mh_observe(struct mhist *h, const uint64_t *bounds, size_t nb, uint64_t v)
{
	size_t i;

	for (i = 0; i < nb && v > bounds[i]; i++)
		;
	h->b[i]++;
	h->sum += v;
	h->count++;
}

void
mh_enc(struct penc *e, uint32_t *n, const char *base, const char *labels,
    const uint64_t *bounds, size_t nb, int micro, const struct mhist *h,
    const struct mhist *old)
{
	char name[MS_NAME_MAX + 1], lab[MS_LABELS_MAX + 1];
	uint64_t cum = 0;
	uint8_t kind = MS_COUNTER;
	size_t i;

	if (old != NULL && h->count == old->count)
		return;
	if (old == NULL && h->count == 0)
		return;
	snprintf(name, sizeof(name), "%s_bucket", base);
	for (i = 0; i <= nb; i++) {
		cum += h->b[i] - (old != NULL ? old->b[i] : 0);
		if (i == nb)
			snprintf(lab, sizeof(lab), "%s%sle=\"+Inf\"", labels,
			    *labels ? "," : "");
		else if (micro)
			snprintf(lab, sizeof(lab), "%s%sle=\"%g\"", labels,
			    *labels ? "," : "", (double)bounds[i] / 1e6);
		else
			snprintf(lab, sizeof(lab), "%s%sle=\"%llu\"", labels,
			    *labels ? "," : "", (unsigned long long)bounds[i]);
		ms_enc(e, kind, name, lab, cum);
		(*n)++;
	}
	snprintf(name, sizeof(name), "%s_sum", base);
	ms_enc(e, kind | (micro ? MS_MICRO : 0), name, labels,
	    h->sum - (old != NULL ? old->sum : 0));
	snprintf(name, sizeof(name), "%s_count", base);
	ms_enc(e, kind, name, labels,
	    h->count - (old != NULL ? old->count : 0));
	*n += 2;
}
