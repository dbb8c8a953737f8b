/* The inbox's records and checks (inboxmsg.h): canned replies. */
#include <stdlib.h>
#include <string.h>

#include "inboxmsg.h"

void
penc_canned(struct penc *e, const struct st_canned *c)
{
	penc_str(e, c->id);
	penc_str(e, c->shortcut);
	penc_str(e, c->text);
	penc_u64(e, c->created_at);
	penc_u64(e, c->updated_at);
}

int
pdec_canned(struct pdec *d, struct st_canned *c)
{
	memset(c, 0, sizeof(*c));
	pdec_strbuf(d, c->id, sizeof(c->id));
	pdec_strbuf(d, c->shortcut, sizeof(c->shortcut));
	c->text = pdec_strdup(d, ST_CANNED_TEXT_MAX);
	c->created_at = pdec_u64(d);
	c->updated_at = pdec_u64(d);
	if (d->err) {
		st_canned_free(c);
		return -1;
	}
	return 0;
}

void
st_canned_free(struct st_canned *c)
{
	free(c->text);
	memset(c, 0, sizeof(*c));
}

int
st_canned_id_valid(const char *s)
{
	return st_prefixed_id_valid(s, ST_CANNED_PREFIX);
}

const char *
st_canned_invalid(const char *shortcut, const char *text)
{
	size_t i, n = strlen(shortcut), tn = strlen(text);
	ssize_t chars;

	if (n < 1 || n > ST_CANNED_SHORT_MAX)
		return "shortcut: 1 to 32 characters";
	for (i = 0; i < n; i++)
		if (!((shortcut[i] >= 'a' && shortcut[i] <= 'z') ||
		    (shortcut[i] >= '0' && shortcut[i] <= '9') ||
		    shortcut[i] == '_' || shortcut[i] == '-'))
			return "shortcut: only a-z, 0-9, _ and -";
	chars = tn > ST_CANNED_TEXT_MAX ? -1 : proto_utf8_chars(text, tn);
	if (chars < 0)
		return "text: not UTF-8, or too long";
	if (chars == 0 || chars > ST_CANNED_TEXT_CHARS)
		return "text: 1 to 2000 characters";
	return NULL;
}
