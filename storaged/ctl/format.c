/*
 * What parleyctl prints. The export rows are the HTTP export's
 * (workerd/export.c, docs/dashboard.md) byte for byte: the same columns,
 * CSV quoting and formula guard, JSON Lines through jansson with the same
 * keys in the same order; the integration test compares the two.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"

static const char conv_header[] = "id,widgetId,sessionId,contactId,"
    "createdAt,updatedAt,messageCount,lastMessage\r\n";
static const char msg_header[] = "id,conversationId,role,status,content,"
    "createdAt,promptTokens,completionTokens\r\n";

/* ------------------------------------------------------------ JSON */

/* A JSON string; bytes that are not UTF-8 become U+FFFD, as in workerd. */
static json_t *
jtext(const char *s)
{
	const unsigned char *p;
	size_t len, n, o = 0;
	char *fixed;
	json_t *v;

	if (s == NULL)
		s = "";
	if ((v = json_string(s)) != NULL)
		return v;
	len = strlen(s);
	if ((fixed = malloc(len * 3 + 1)) == NULL)
		return NULL;
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		if ((n = utf8_seq_len(p, 4)) == 0) {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
		} else {
			memcpy(fixed + o, p, n);
			o += n;
		}
	}
	fixed[o] = '\0';
	v = json_string(fixed);
	free(fixed);
	return v;
}

static void
jset(json_t *o, const char *k, json_t *v, int *err)
{
	if (v == NULL || json_object_set_new(o, k, v) < 0)
		*err = 1;
}

/* v as one compact line, then v is freed. */
static int
jline(FILE *f, json_t *v, int err)
{
	char *s;
	int rc;

	if (err) {
		json_decref(v);
		return -1;
	}
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s == NULL)
		return -1;
	rc = fprintf(f, "%s\n", s) < 0 ? -1 : 0;
	free(s);
	return rc;
}

static json_t *
ju64(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/* ------------------------------------------------------------ stats */

int
ctl_print_stats(FILE *f, const struct st_stats *s, int json)
{
	const struct {
		const char *label, *key;
		uint64_t v;
	} rows[] = {
		{ "conversations", "conversations", s->conversations },
		{ "messages", "messages", s->messages },
		{ "widgets", "widgets", s->widgets },
		{ "contacts", "contacts", s->contacts },
		{ "owner sessions", "ownerSessions", s->owner_sessions },
		{ "visitor sessions", "visitorSessions", s->visitor_sessions },
		{ "data file bytes", "fileSize", s->file_size },
		{ "map size bytes", "mapSize", s->map_size },
		{ "page size", "pageSize", s->page_size },
		{ "last page", "lastPage", s->last_pgno },
		{ "last txn id", "lastTxnId", s->last_txnid },
		{ "branch pages", "branchPages", s->branch_pages },
		{ "leaf pages", "leafPages", s->leaf_pages },
		{ "overflow pages", "overflowPages", s->overflow_pages },
		{ "readers in use", "readers", s->readers },
		{ "max readers", "maxReaders", s->max_readers },
	};
	json_t *o;
	size_t i;
	int err = 0;

	if (json) {
		if ((o = json_object()) == NULL)
			return -1;
		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			jset(o, rows[i].key, ju64(rows[i].v), &err);
		return jline(f, o, err);
	}
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (fprintf(f, "%-17s %" PRIu64 "\n", rows[i].label,
		    rows[i].v) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------ widgets */

int
ctl_print_widgets(FILE *f, const struct st_widget *w, uint32_t n, int json)
{
	json_t *a, *o;
	char cap[16];
	size_t wpub = strlen("PUBLIC ID"), wid = strlen("ID"), l;
	uint32_t i;
	int err = 0;

	if (json) {
		if ((a = json_array()) == NULL)
			return -1;
		for (i = 0; i < n; i++) {
			if ((o = json_object()) == NULL) {
				err = 1;
				break;
			}
			/* The admin API's names (GET /v1/admin/widgets). */
			jset(o, "id", jtext(w[i].id), &err);
			jset(o, "widget_id", jtext(w[i].widget_id), &err);
			jset(o, "name", w[i].name != NULL && w[i].name[0] ?
			    jtext(w[i].name) : json_null(), &err);
			jset(o, "enabled", json_boolean(w[i].enabled), &err);
			jset(o, "daily_message_cap", w[i].daily_cap > 0 ?
			    json_integer(w[i].daily_cap) : json_null(), &err);
			if (json_array_append_new(a, o) < 0)
				err = 1;
		}
		return jline(f, a, err);
	}
	for (i = 0; i < n; i++) {
		if ((l = strlen(w[i].widget_id)) > wpub)
			wpub = l;
		if ((l = strlen(w[i].id)) > wid)
			wid = l;
	}
	if (fprintf(f, "%-*s  %-*s  %-7s  %-9s  %s\n", (int)wpub, "PUBLIC ID",
	    (int)wid, "ID", "ENABLED", "DAILY CAP", "NAME") < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (w[i].daily_cap > 0)
			snprintf(cap, sizeof(cap), "%u", w[i].daily_cap);
		else
			strlcpy(cap, "-", sizeof(cap));
		if (fprintf(f, "%-*s  %-*s  %-7s  %-9s  %s\n", (int)wpub,
		    w[i].widget_id, (int)wid, w[i].id,
		    w[i].enabled ? "yes" : "no", cap,
		    w[i].name != NULL && w[i].name[0] ? w[i].name : "-") < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ export */

const char *
ctl_export_header(enum ctl_format fmt, enum ctl_rows rows)
{
	if (fmt != FMT_CSV)
		return "";	/* JSON Lines names the fields in every row */
	return rows == ROWS_CONVS ? conv_header : msg_header;
}

void
ctl_csv_field(FILE *f, const char *s)
{
	const unsigned char *p;
	size_t n;
	int quote;

	quote = strpbrk(s, ",\"\r\n") != NULL;
	if (quote)
		fputc('"', f);
	/* A spreadsheet would run these as a formula. */
	if (s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL)
		fputc('\'', f);
	for (p = (const unsigned char *)s; *p != '\0'; p += n) {
		if (*p == '"') {
			fputs("\"\"", f);
			n = 1;
		} else if ((n = utf8_seq_len(p, 4)) == 0) {
			fputs("\xef\xbf\xbd", f);
			n = 1;
		} else
			fwrite(p, 1, n, f);
	}
	if (quote)
		fputc('"', f);
}

static int
csv_row(FILE *f, const char **fields, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			fputc(',', f);
		ctl_csv_field(f, fields[i]);
	}
	fputs("\r\n", f);
	return ferror(f) ? -1 : 0;
}

int
ctl_conv_row(FILE *f, enum ctl_format fmt, const struct st_conv *cv)
{
	char created[24], updated[24], count[16];
	const char *fl[8];
	json_t *o;
	int err = 0;

	if (fmt == FMT_JSONL) {
		if ((o = json_object()) == NULL)
			return -1;
		jset(o, "id", jtext(cv->id), &err);
		jset(o, "widgetId", jtext(cv->widget), &err);
		jset(o, "sessionId", jtext(cv->session), &err);
		jset(o, "contactId", cv->contact_id[0] != '\0' ?
		    jtext(cv->contact_id) : json_null(), &err);
		jset(o, "createdAt", ju64(cv->created_at), &err);
		jset(o, "updatedAt", ju64(cv->updated_at), &err);
		jset(o, "messageCount", json_integer(cv->message_count), &err);
		jset(o, "lastMessage", jtext(cv->last_message), &err);
		return jline(f, o, err);
	}
	snprintf(created, sizeof(created), "%" PRIu64, cv->created_at);
	snprintf(updated, sizeof(updated), "%" PRIu64, cv->updated_at);
	snprintf(count, sizeof(count), "%u", cv->message_count);
	fl[0] = cv->id;
	fl[1] = cv->widget;
	fl[2] = cv->session;
	fl[3] = cv->contact_id;
	fl[4] = created;
	fl[5] = updated;
	fl[6] = count;
	fl[7] = cv->last_message != NULL ? cv->last_message : "";
	return csv_row(f, fl, 8);
}

int
ctl_msg_row(FILE *f, enum ctl_format fmt, const struct st_msg *m)
{
	char created[24], pt[16], ct[16];
	const char *fl[8];
	json_t *o;
	int err = 0;

	if (fmt == FMT_JSONL) {
		if ((o = json_object()) == NULL)
			return -1;
		jset(o, "id", jtext(m->id), &err);
		jset(o, "conversationId", jtext(m->conv_id), &err);
		jset(o, "role", jtext(m->role), &err);
		jset(o, "status", jtext(m->status), &err);
		jset(o, "content", jtext(m->content), &err);
		jset(o, "createdAt", ju64(m->created_at), &err);
		jset(o, "promptTokens", json_integer(m->prompt_tokens), &err);
		jset(o, "completionTokens", json_integer(m->completion_tokens),
		    &err);
		return jline(f, o, err);
	}
	snprintf(created, sizeof(created), "%" PRIu64, m->created_at);
	snprintf(pt, sizeof(pt), "%u", m->prompt_tokens);
	snprintf(ct, sizeof(ct), "%u", m->completion_tokens);
	fl[0] = m->id;
	fl[1] = m->conv_id;
	fl[2] = m->role;
	fl[3] = m->status;
	fl[4] = m->content != NULL ? m->content : "";
	fl[5] = created;
	fl[6] = pt;
	fl[7] = ct;
	return csv_row(f, fl, 8);
}
