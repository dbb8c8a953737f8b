/*
 * The modules that keep records beside the conversations, in the order
 * store_open() initialises them and tells them of a conversation's
 * changes (store_module in store.h). A new one adds itself here: the
 * LMDB layer (store.c) knows none of them.
 */
#include <stddef.h>

#include "storeint.h"

const struct store_module *const store_modules[] = {
	&records_module,	/* fills older organisation orders */
	&wsess_module,
	&widgetstore_module,	/* makes the default widget */
	&dashstore_module,
	&seqid_module,		/* the id key, before what shows an id */
	&convquery_module,
	&handoff_module,
	&orgstore_module,	/* makes the default organisation */
	&contactstore_module,	/* hashes older email and phone keys */
	&outbox_module,		/* moves older due deliveries */
	&mailbox_module,	/* lists older mails by conversation, contact */
	&inbox_module,		/* its read marks (issue 24) */
	&feedback_module,	/* its feedback counts (issue 26) */
	&convstate_module,	/* the assistant's resolutions */
	&report_module,		/* the reports' rollups; their backfill */
	&gap_module,		/* a conversation's knowledge gaps */
	&att_module,		/* a conversation's attachments */
	&hookstore_module,	/* empties the retired hook_org */
	&userstore_module,	/* lists older invitations by organisation */
	&kbindex_module,	/* the knowledge index, its analysis changed */
	&kbcount_module,	/* the quota's count of older knowledge */
	NULL,
};
