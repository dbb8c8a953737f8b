/*
 * What parleyctl prints: stats, widgets and users. The export rows are
 * lib/exportrows.c's, the HTTP export's (docs/dashboard.md) byte for
 * byte; the integration test compares the two. A table's cells come from
 * dashboard users and visitors: their control characters never reach the
 * terminal.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "stmsgs.h"
#include "usermsg.h"

/* ------------------------------------------------------------ JSON */

/* v as one compact line (exprow_line), then v is freed. */
static int
jline(FILE *f, json_t *v, int err)
{
	struct penc e;
	int rc;

	penc_init(&e);
	rc = exprow_line(&e, v, err);
	if (rc == 0 && fwrite(e.buf, 1, e.len, f) != e.len)
		rc = -1;
	penc_free(&e);
	return rc;
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
			exprow_oset(o, rows[i].key,
			    json_integer((json_int_t)rows[i].v), &err);
		return jline(f, o, err);
	}
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (fprintf(f, "%-17s %" PRIu64 "\n", rows[i].label,
		    rows[i].v) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------ role */

int
ctl_print_role(FILE *f, const struct st_repl_status *s, int json)
{
	static const char *const roles[] = { "primary", "standby", "fenced" };
	const char *role = s->role < 3 ? roles[s->role] : "?";
	json_t *o;
	int err = 0;

	if (json) {
		if ((o = json_object()) == NULL)
			return -1;
		exprow_oset(o, "role", json_string(role), &err);
		exprow_oset(o, "term", json_integer((json_int_t)s->term), &err);
		exprow_oset(o, "seq", json_integer((json_int_t)s->seq), &err);
		exprow_oset(o, "linked", json_boolean(s->linked), &err);
		exprow_oset(o, "acked", json_integer((json_int_t)s->acked),
		    &err);
		exprow_oset(o, "inSync", json_boolean(s->in_sync), &err);
		exprow_oset(o, "alone", json_boolean(s->alone), &err);
		return jline(f, o, err);
	}
	if (fprintf(f, "role     %s\nterm     %" PRIu64 "\nrecord   %" PRIu64
	    "\n", role, s->term, s->seq) < 0)
		return -1;
	if (s->role == 1)
		return fprintf(f, "primary  %s\n", s->linked ? "streaming" :
		    "not connected") < 0 ? -1 : 0;
	if (s->role != 0)
		return 0;
	return fprintf(f, "standby  %s\nacked    %" PRIu64 "\n",
	    !s->linked ? "none" : s->in_sync ? "in sync" : s->alone ?
	    "out of sync (acknowledging alone)" : "catching up",
	    s->acked) < 0 ? -1 : 0;
}

/* ------------------------------------------------------------ cells */

/*
 * A table cell's text s fit for a terminal, into out (outsz > 0): each
 * byte of a C0 or C1 control character or DEL becomes '?', so a name
 * can neither move the cursor, retitle the window nor draw a row; the
 * length stays (the columns line up). Cut to outsz.
 */
static const char *
cell(const char *s, char *out, size_t outsz)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; p[i] != '\0' && i + 1 < outsz; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			out[i] = '?';
		/* U+0080..U+009F: 0xc2 then 0x80..0x9f. */
		else if (p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f) {
			out[i] = '?';
			if (i + 2 < outsz)
				out[++i] = '?';
		} else
			out[i] = (char)p[i];
	}
	out[i] = '\0';
	return out;
}

/* ------------------------------------------------------------ widgets */

int
ctl_print_widgets(FILE *f, const struct st_widget *w, uint32_t n, int json)
{
	json_t *a, *o;
	char cap[16], name[4 * ST_NAME_MAX + 1];
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
			exprow_oset(o, "id", exprow_text(w[i].id), &err);
			exprow_oset(o, "widget_id", exprow_text(w[i].widget_id),
			    &err);
			exprow_oset(o, "name", w[i].name != NULL && w[i].name[0] ?
			    exprow_text(w[i].name) : json_null(), &err);
			exprow_oset(o, "enabled", json_boolean(w[i].enabled),
			    &err);
			exprow_oset(o, "daily_message_cap", w[i].daily_cap > 0 ?
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
		    w[i].name != NULL && w[i].name[0] ? cell(w[i].name, name,
		    sizeof(name)) : "-") < 0)
			return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ users */

int
ctl_print_users(FILE *f, const struct st_member_view *m, uint32_t n)
{
	size_t wemail = strlen("EMAIL"), l;
	uint32_t i;
	const char *role;
	char email[ST_EMAIL_MAX + 1], name[4 * ST_USER_NAME_MAX + 1];

	for (i = 0; i < n; i++)
		if ((l = strlen(m[i].email)) > wemail)
			wemail = l;
	if (fprintf(f, "%-*s  %-*s  %-5s  %-8s  %s\n", ST_USER_ID_MAX, "ID",
	    (int)wemail, "EMAIL", "ROLE", "DISABLED", "NAME") < 0)
		return -1;
	for (i = 0; i < n; i++) {
		role = st_role_name(m[i].role);
		if (fprintf(f, "%-*s  %-*s  %-5s  %-8s  %s\n", ST_USER_ID_MAX,
		    m[i].id, (int)wemail, cell(m[i].email, email,
		    sizeof(email)), role != NULL ? role : "-",
		    m[i].disabled ? "yes" : "no", m[i].name != NULL ?
		    cell(m[i].name, name, sizeof(name)) : "") < 0)
			return -1;
	}
	return 0;
}
