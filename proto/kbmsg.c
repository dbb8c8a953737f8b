/*
 * The knowledge base's records (see kbmsg.h): their layouts.
 */
#include "kbmsg.h"

#define KBCHUNK_ROW(...)	RF_ROW(struct st_kbchunk, __VA_ARGS__)

static const struct rfield kbchunk_rows[] = {
	ST_KBCHUNK_ROWS(KBCHUNK_ROW)
};

const struct rlayout st_kbchunk_layout = {
	"kbchunk", sizeof(struct st_kbchunk), kbchunk_rows,
	sizeof(kbchunk_rows) / sizeof(kbchunk_rows[0]), NULL,
};

void
st_kbchunk_free(struct st_kbchunk *c)
{
	rl_free(&st_kbchunk_layout, c);
}
