/*
 * Attachments (see attmsg.h): their types' names and MIME types, the
 * kinds an owner allows, the attachment record's layout, shared by both
 * sides of the socket.
 */
#include <stdlib.h>
#include <string.h>

#include "attmsg.h"

static const struct {
	const char *mime;
	const char *name;
	int kind;
} types[ATTACH_NTYPES] = {
	[ATTACH_PNG] = { "image/png", "png", ST_ATT_KIND_IMAGE },
	[ATTACH_JPEG] = { "image/jpeg", "jpeg", ST_ATT_KIND_IMAGE },
	[ATTACH_GIF] = { "image/gif", "gif", ST_ATT_KIND_IMAGE },
	[ATTACH_WEBP] = { "image/webp", "webp", ST_ATT_KIND_IMAGE },
	[ATTACH_PDF] = { "application/pdf", "pdf", ST_ATT_KIND_PDF },
	[ATTACH_TEXT] = { "text/plain; charset=utf-8", "text",
	    ST_ATT_KIND_TEXT },
};

static const char *const kinds[ST_ATT_KINDS] = { "image", "pdf", "text" };

int
st_attach_kind(const char *name)
{
	int i;

	for (i = 0; i < ST_ATT_KINDS; i++)
		if (strcmp(name, kinds[i]) == 0)
			return i;
	return -1;
}

int
attach_kind(enum attach_type t)
{
	return t > ATTACH_NONE && t < ATTACH_NTYPES ? types[t].kind : -1;
}

const char *
attach_mime(enum attach_type t)
{
	return t > ATTACH_NONE && t < ATTACH_NTYPES ? types[t].mime : NULL;
}

const char *
attach_name(enum attach_type t)
{
	return t > ATTACH_NONE && t < ATTACH_NTYPES ? types[t].name : NULL;
}

int
attach_is_image(enum attach_type t)
{
	return attach_kind(t) == ST_ATT_KIND_IMAGE;
}

#define ATT_ROW(...)	RF_ROW(struct st_att, __VA_ARGS__)

RL_LAYOUT(st_att_layout, "attachment", struct st_att,
    ST_ATT_ROWS(ATT_ROW), NULL);

void
st_att_read_rep_free(struct st_att_read_rep *r)
{
	st_att_free(&r->att);
	memset(r, 0, sizeof(*r));
}
