/* The stats record of ST_STATS (ctlmsg.h). */
#include <string.h>

#include "ctlmsg.h"

void
penc_stats(struct penc *e, const struct st_stats *s)
{
	penc_u64(e, s->conversations);
	penc_u64(e, s->messages);
	penc_u64(e, s->widgets);
	penc_u64(e, s->contacts);
	penc_u64(e, s->owner_sessions);
	penc_u64(e, s->visitor_sessions);
	penc_u64(e, s->file_size);
	penc_u64(e, s->map_size);
	penc_u64(e, s->last_pgno);
	penc_u64(e, s->last_txnid);
	penc_u32(e, s->page_size);
	penc_u32(e, s->max_readers);
	penc_u32(e, s->readers);
	penc_u64(e, s->branch_pages);
	penc_u64(e, s->leaf_pages);
	penc_u64(e, s->overflow_pages);
}

int
pdec_stats(struct pdec *d, struct st_stats *s)
{
	s->conversations = pdec_u64(d);
	s->messages = pdec_u64(d);
	s->widgets = pdec_u64(d);
	s->contacts = pdec_u64(d);
	s->owner_sessions = pdec_u64(d);
	s->visitor_sessions = pdec_u64(d);
	s->file_size = pdec_u64(d);
	s->map_size = pdec_u64(d);
	s->last_pgno = pdec_u64(d);
	s->last_txnid = pdec_u64(d);
	s->page_size = pdec_u32(d);
	s->max_readers = pdec_u32(d);
	s->readers = pdec_u32(d);
	s->branch_pages = pdec_u64(d);
	s->leaf_pages = pdec_u64(d);
	s->overflow_pages = pdec_u64(d);
	if (d->err) {
		memset(s, 0, sizeof(*s));
		return -1;
	}
	return 0;
}
