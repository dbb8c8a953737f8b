/*
 * The stored format's databases, in one list: each LMDB database's name
 * (also its MDB_dbi member in storaged's struct store) and the record
 * layout (record.h) of its values, or NULL for a database of keys,
 * counts or values of its own form. storaged opens them in this order
 * and its log names a database by its place here, so a new one goes
 * last, never between (tests/unit/storaged/test_store.c checks it);
 * parleyctl verify reads a copy's values through the layouts named.
 * A value of a record database is a format byte (1 to rl_version) then
 * the record (rl_enc).
 *
 *	X(name, layout)
 */
#ifndef PARLEY_STOREDBS_H
#define PARLEY_STOREDBS_H

#include "actionmsg.h"
#include "agentmsg.h"
#include "attmsg.h"
#include "gapmsg.h"
#include "hookmsg.h"
#include "inboxmsg.h"
#include "kbmsg.h"
#include "keymsg.h"
#include "mailmsg.h"
#include "orgmsg.h"
#include "record.h"
#include "storemsg.h"
#include "usermsg.h"
#include "widgetmsg.h"

/*
 * The data's form as this build leaves it, in the schema record: raised
 * when an older storaged would misread what this one writes (an index's
 * key form changed, a table retired or moved). storaged opens data of any
 * version from STORE_SCHEMA_OLDEST up to its own, brings it to its form
 * (the open's migrations) and records its own version; it refuses a
 * higher one (data a newer Parley has opened). Builds before version 2
 * refused any other version than their own, higher ones included.
 * 2: the indexes and tables as of 2026-12-06 (the form 1 data is
 * brought to at open since: the organisations' indexes, the retired
 * tables).
 */
#define STORE_SCHEMA_VERSION	2
#define STORE_SCHEMA_OLDEST	1

/* The meta database's key of the schema record: u8 1, u32 version. */
#define STORE_SCHEMA_KEY	"schema"

#define STORE_DBS(X)	\
	X(meta, NULL) X(convs, &st_conv_layout) X(sessions, NULL) \
	X(activity, NULL) X(msgs, &st_msg_layout) \
	X(widgets, &st_widget_layout) X(widget_ids, NULL) \
	X(widget_order, NULL) X(wsessions, &st_wsess_layout) \
	X(widget_wsess, NULL) X(contacts, &st_contact_layout) \
	X(contact_email, NULL) X(contact_phone, NULL) \
	X(contact_created, NULL) X(contact_convs, NULL) X(daily, NULL) \
	X(wsess_claims, NULL) X(wsess_expiry, NULL) X(wsess_gone, NULL) \
	X(widget_activity, NULL) X(widget_counts, NULL) \
	X(dsessions, &st_dsess_layout) X(dsess_expiry, NULL) \
	X(agents, &st_agent_layout) X(agent_order, NULL) \
	X(conv_handoff, NULL) X(conv_handoff_at, NULL) \
	X(orgs, &st_org_layout) X(org_order, NULL) \
	/* scope (issue 22) */	\
	X(org_activity, NULL) X(org_counts, NULL) X(org_gone, NULL) \
	/* API keys and the audit log (issue 22) */	\
	X(apikeys, &st_apikey_layout) X(apikey_order, NULL) \
	X(apikey_hash, NULL) X(apikey_org, NULL) X(audit, NULL) \
	X(audit_org, NULL) X(audit_counts, NULL) \
	/* people (issue 22: users, sessions by user) */	\
	X(users, &st_user_layout) X(user_order, NULL) X(user_email, NULL) \
	X(org_users, NULL) X(invites, &st_invite_layout) \
	X(dsess_user, NULL) \
	/* a visitor's data on request (issue 22) */	\
	X(contact_gone, NULL) \
	/* the conversations by activity: one index (issue 22's bench) */	\
	X(conv_activity, NULL) X(conv_counts, NULL) \
	/* webhooks (issue 23) */	\
	X(webhooks, &st_webhook_layout) X(webhook_order, NULL) \
	X(hook_org, NULL) X(deliveries, &st_delivery_layout) \
	X(delivery_due, NULL) X(hook_due, NULL) X(due_hooks, NULL) \
	X(hook_deliveries, NULL) X(hook_counts, NULL) \
	/* email notifications (issue 23) */	\
	X(mails, &st_mail_layout) X(mail_due, NULL) X(mail_counts, NULL) \
	X(mail_convs, NULL) X(user_notify, NULL) \
	/* the inbox (issue 24) */	\
	X(read_marks, NULL) X(user_reads, NULL) \
	X(canned, &st_canned_layout) \
	/* verified identity (issue 26) */	\
	X(contact_ext, NULL) \
	/* feedback (issue 26) */	\
	X(feedback_counts, NULL) \
	/* a visitor session's conversations (issue 26) */	\
	X(wsess_convs, NULL) \
	/* the knowledge base (kbindex.c) */	\
	X(kb_chunks, &st_kbchunk_layout) X(kb_post, NULL) \
	X(kb_terms, NULL) X(kb_stats, NULL) X(kb_source, NULL) \
	/* the knowledge base's sources (kbsource.c) */	\
	X(kb_sources, &st_kbsource_layout) X(kb_source_order, NULL) \
	X(kb_gone, NULL) \
	/* a crawl's or file's pages (kbpage.c) */	\
	X(kb_pages, &st_kbpage_layout) X(kb_page_chunks, NULL) \
	X(kb_due, NULL) \
	/* the knowledge base's vectors (kbvec.c) */	\
	X(kb_vecmeta, NULL) X(kb_vecseg, NULL) X(kb_vecq, NULL) \
	X(kb_vecs, NULL) \
	/* a file source's file (kbpage.c) */	\
	X(kb_files, NULL) \
	/* an organisation's actions (actionstore.c) */	\
	X(actions, &st_action_layout) X(action_order, NULL) \
	/* the conversations the assistant resolves (convstate.c) */	\
	X(conv_resolve, NULL) \
	/* the reports' rollups (rollups.c) */	\
	X(report_hours, NULL) \
	/* the knowledge gaps (gapstore.c) */	\
	X(gaps, &st_gap_layout) X(gap_time, NULL) \
	/* attachments (attstore.c) */	\
	X(atts, &st_att_layout) X(att_chunks, NULL) X(att_refs, NULL) \
	X(att_usage, NULL) X(att_due, NULL) X(att_conv, NULL) \
	X(att_extract, NULL) X(att_text, NULL) \
	/* each organisation's records of an entity (records.c) */	\
	X(widget_org, NULL) X(agent_org, NULL) X(webhook_org, NULL) \
	X(kb_source_org, NULL) X(action_org, NULL) \
	/* each organisation's contacts (contactstore.c) */	\
	X(contact_org, NULL) X(contact_counts, NULL) \
	/* each organisation's invitations (userstore.c) */	\
	X(invite_org, NULL) \
	/* a conversation's webhook deliveries (outbox.c) */	\
	X(conv_deliveries, NULL) \
	/* a conversation's pending mails (mailbox.c) */	\
	X(conv_mails, NULL) \
	/* a contact's webhook deliveries (outbox.c) */	\
	X(contact_deliveries, NULL) \
	/* a contact's pending "new contact" mails (mailbox.c) */	\
	X(contact_mails, NULL) \
	/* a deleted conversation's messages, removed in steps (convstore.c) */	\
	X(msgs_gone, NULL) \
	/* the model turns open (turnstore.c) */	\
	X(turns_open, NULL) \
	/* a deleted widget's retention (convquery.c) */	\
	X(widgets_retired, NULL) \
	/* the PDFs to read, fair across clients (attqueue.c) */	\
	X(att_queue, NULL) X(att_lanes, NULL) \
	/* the PDFs the fetcher is reading, leased (attqueue.c) */	\
	X(att_leases, NULL) \
	/* the conversations by creation: an export's order (convquery.c) */ \
	X(conv_created, NULL) \
	/* a contact's linked conversations, counted (contactstore.c) */ \
	X(contact_links, NULL) \
	/* the mails visitors may cause, per organisation and kind (mailbox.c) */ \
	X(mail_bounds, NULL) \
	/* the bytes each organisation's knowledge base keeps (kbusage.c) */ \
	X(kb_usage, NULL) \
	/* the list ends */

/*
 * The lists of the entities with an id and a creation order (storaged's
 * records.c and its descriptors, which test_records.c holds to this):
 * each one's record database, its order (u64 created_at | id -> (), big
 * endian; the record named first listed with 0 whatever its clock said)
 * and, for an entity of an organisation, that organisation's order (org
 * NUL, then the order key), else nothing. parleyctl verify holds each
 * list against its records both ways.
 *
 *	X(records, order, org_order or empty, the id listed first or NULL)
 */
#define STORE_ENTITY_LISTS(X)	\
	X(widgets, widget_order, widget_org, ST_DEFAULT_WIDGET) \
	X(agents, agent_order, agent_org, NULL) \
	X(orgs, org_order, , ST_ORG_DEFAULT) \
	X(users, user_order, , NULL) \
	X(apikeys, apikey_order, apikey_org, NULL) \
	X(webhooks, webhook_order, webhook_org, NULL) \
	X(kb_sources, kb_source_order, kb_source_org, NULL) \
	X(actions, action_order, action_org, NULL)

/*
 * The indexes whose entries name a conversation (its convs key, 16 raw
 * bytes), and the messages (msgs) by theirs: each key's form, its parts
 * left to right (STORAGE.md's layout), which parleyctl verify reads:
 *	o  the conversation's organisation, NUL ("" in a record: default)
 *	w  its widget (internal id), NUL
 *	t  u64 big-endian: the conversation's member named by time
 *	x  16 bytes of another record's id (a contact's): the conversation's
 *	   contact_id, in hex, and a contact in contacts or being deleted
 *	   (contact_gone)
 *	q  u32 big-endian: a sequence, not held
 *	i  the conversation's id, 16 bytes
 * every: it holds each conversation once (an index that is empty is one
 * a start builds: not held); gone: the database of the conversations
 * being deleted, whose entries may still name them, or nothing.
 * Left out: conv_handoff (an older directory's keys are moved at open),
 * sessions (the id in its value), wsess_convs (its entries outlive
 * their conversations), the retired ones (emptied at open).
 *
 *	X(index, form, time member or empty, every, gone or empty)
 */
#define STORE_CONV_INDEXES(X)	\
	X(conv_activity, "owti", updated_at, 1, ) \
	X(conv_created, "owti", created_at, 1, ) \
	X(conv_resolve, "ti", resolve_due, 0, ) \
	X(conv_handoff_at, "i", , 0, ) \
	X(contact_convs, "xi", , 0, ) \
	X(msgs, "iq", , 0, msgs_gone)

/*
 * The counts kept of an index's entries (a list's total, a bound): each
 * key is the part of the index's keys it counts, by the form above (x: its
 * first 16 bytes; o, w: NUL-ended parts, the count's key without the last
 * NUL), each value ST_RECORD_VERSION and a u64, none at 0; parleyctl
 * verify holds each against its index. An empty one is a start's to make
 * (an older Parley's copy).
 */
#define STORE_COUNTS(X)	\
	X(contact_links, contact_convs, "x") \
	X(contact_counts, contact_org, "o") \
	X(audit_counts, audit_org, "o") \
	X(conv_counts, conv_activity, "ow")

#define STORE_DB_COUNT(name, layout)	+ 1
#define NDBS		(0 STORE_DBS(STORE_DB_COUNT))

#endif
