/*
 * Attachments (see attmsg.h): their types' names and MIME types, the
 * kinds an owner allows, the attachment record's layout, shared by both
 * sides of the socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "attmsg.h"
#include "sha256.h"

/*
 * exts: the extensions a file of the type may be saved under, the first
 * the one added to a name that has none of them. A text file's are the
 * plain ones: ".html", ".svg", ".bat" or ".hta" would open as code.
 */
static const struct {
	const char *mime;
	const char *name;
	int kind;
	const char *exts;
} types[ATTACH_NTYPES] = {
	[ATTACH_PNG] = { "image/png", "png", ST_ATT_KIND_IMAGE, "png" },
	[ATTACH_JPEG] = { "image/jpeg", "jpeg", ST_ATT_KIND_IMAGE,
	    "jpg jpeg jpe jfif" },
	[ATTACH_GIF] = { "image/gif", "gif", ST_ATT_KIND_IMAGE, "gif" },
	[ATTACH_WEBP] = { "image/webp", "webp", ST_ATT_KIND_IMAGE, "webp" },
	[ATTACH_PDF] = { "application/pdf", "pdf", ST_ATT_KIND_PDF, "pdf" },
	[ATTACH_TEXT] = { "text/plain; charset=utf-8", "text",
	    ST_ATT_KIND_TEXT, "txt text csv tsv log md json" },
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

/* 1 when ext (len bytes) is one of the space-separated list, any case. */
static int
ext_listed(const char *list, const char *ext, size_t len)
{
	size_t n;

	for (; *list != '\0'; list += n + (list[n] == ' ')) {
		n = strcspn(list, " ");
		if (n == len && strncasecmp(list, ext, len) == 0)
			return 1;
	}
	return 0;
}

void
attach_name_typed(const char *name, enum attach_type t, char *out,
    size_t outsz)
{
	const char *dot = strrchr(name, '.'), *exts;
	size_t len = strlen(name), extlen, keep;

	if (outsz == 0)
		return;
	exts = t > ATTACH_NONE && t < ATTACH_NTYPES ? types[t].exts : NULL;
	if (exts == NULL || (dot != NULL && ext_listed(exts, dot + 1,
	    len - (size_t)(dot + 1 - name)))) {
		strlcpy(out, name, outsz);
		return;
	}
	extlen = strcspn(exts, " ");
	/* The name cut to leave room for ".ext", at a character's start. */
	keep = proto_utf8_cut(name, len, outsz > extlen + 2 ?
	    outsz - extlen - 2 : 0);
	snprintf(out, outsz, "%.*s.%.*s", (int)keep, name, (int)extlen,
	    exts);
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

void
st_att_chain(uint8_t chain[ST_ATT_HASH_LEN],
    const uint8_t piece_hash[ST_ATT_HASH_LEN])
{
	uint8_t two[2 * ST_ATT_HASH_LEN];

	memcpy(two, chain, ST_ATT_HASH_LEN);
	memcpy(two + ST_ATT_HASH_LEN, piece_hash, ST_ATT_HASH_LEN);
	proto_sha256(two, sizeof(two), chain);
}
