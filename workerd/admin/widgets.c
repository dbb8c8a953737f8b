/*
 * Widgets and contacts in the admin API (x-admin-api-key, as admin.c),
 * and the public config a widget fetches:
 *
 *	GET    /v1/admin/widgets		{"widgets":[...]}
 *	POST   /v1/admin/widgets		201 the widget
 *	GET    /v1/admin/widgets/:wid		the widget
 *	PATCH  /v1/admin/widgets/:wid		sets the fields present
 *	DELETE /v1/admin/widgets/:wid		200 {"deleted":true}
 *	POST   /v1/admin/widgets/:wid/reset-id	the widget, new id
 *	POST   /v1/admin/widgets/:wid/identity-secret
 *						{"identity_secret": hex}, once
 *	DELETE /v1/admin/widgets/:wid/identity-secret
 *						the widget, without one
 *	GET    /v1/admin/contacts		?limit=&cursor=, a page
 *	GET    /v1/admin/contacts/:id		contact + conversations,
 *						?limit=&cursor=, a page
 *	GET    /api/widget/:wid/config		the public subset
 *
 * :wid is the public widget_id; one that cannot be one is 404 at once.
 *
 * A widget names its agent (agents.c) in agent_id ("default" in the JSON
 * for "" in the record; Loquent's text_agent_id is the same field under
 * another name, accepted and returned). handoff_enabled and
 * handoff_label are fields of their own, as every other.
 *
 * Away mode (issue 23): business_hours is null (always open) or
 * {"timezone": "Europe/Paris", "days": {"mon": [["09:00", "17:30"]], ...,
 * "sun": []}} (a day left out has no hours; 24:00 may end an interval);
 * away_message is the text shown when away (null: the default). The
 * public config carries "availability" for a widget with handoff on:
 * {"away": bool, "reason": "hours" | "nobody" | null, "message": text},
 * as the WebSocket's "availability" message (wschat.c).
 *
 * JSON names are snake_case, as Loquent's WidgetConfig. The widgets'
 * handlers are entity.c's, from the table here: the JSON is mapped onto
 * struct st_widget by its fields (types, unknown and read-only fields);
 * whether the values make sense is st_widget_invalid's business, so the
 * worker and storaged agree. storaged checks a PATCH again once merged
 * with what is stored, and its `invalid` text is passed on as it is.
 *
 * The public config is exempt from CORS_ORIGIN (router.c): any site may
 * embed a widget, and the widget's own allowed_origins decide. The Origin
 * is echoed in Access-Control-Allow-Origin only once it is known to be
 * allowed and to be a plain origin, so nothing else a client sent ends
 * up in a header.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin.h"
#include "agentmsg.h"
#include "vtext.h"
#include "widgetmsg.h"
#include "workerd.h"

static const char config_headers[] =
    "Cache-Control: no-cache\r\nVary: Origin, Accept-Language\r\n";
/*
 * "This widget does not exist" is public knowledge: any page may read it,
 * so an embed whose widget was deleted or re-keyed can stop retrying.
 */
static const char config_gone_headers[] =
    "Cache-Control: no-cache\r\nVary: Origin\r\n"
    "Access-Control-Allow-Origin: *\r\n";
static const char preflight_headers[] =
    "Access-Control-Allow-Methods: GET, HEAD, OPTIONS\r\n"
    "Access-Control-Allow-Headers: Content-Type\r\n"
    "Access-Control-Max-Age: 600\r\n";
/* A visitor's uploads' (attach/upload.c): the same origins, these asks. */
static const char uploads_preflight_headers[] =
    "Access-Control-Allow-Methods: GET, POST, PUT, DELETE, OPTIONS\r\n"
    "Access-Control-Allow-Headers: Content-Type, Content-Range, "
    "X-Parley-Session\r\n"
    "Access-Control-Max-Age: 600\r\n";

int
widget_id_valid(const char *s)
{
	return st_prefixed_id_valid(s, ST_WID_PREFIX);
}

/* ---------------------------------------------------------------- JSON */

json_t *
json_opt_text(const char *s)
{
	return (s == NULL || *s == '\0') ? json_null() : exprow_text(s);
}

json_t *
json_opt_uint(uint32_t n)
{
	return n == 0 ? json_null() : json_integer(n);
}

json_t *
json_opt_ms(uint64_t ms)
{
	return ms == 0 ? json_null() : exprow_ms(ms);
}

/* "HH:MM" of minutes of a day (0..1440). */
static json_t *
hhmm_json(unsigned m)
{
	char b[6];

	snprintf(b, sizeof(b), "%02u:%02u", (m / 60) % 100, m % 60);
	return json_string(b);
}

/* business_hours: null, or {"timezone", "days": {"mon": [[a, b]], ...}}. */
static json_t *
hours_json(const struct st_widget *w)
{
	json_t *days, *arr;
	uint32_t i;
	int d, err = 0;

	if (w->timezone[0] == '\0')
		return json_null();
	if ((days = json_object()) == NULL)
		return NULL;
	for (d = 0; d < 7; d++) {
		arr = json_array();
		for (i = 0; arr != NULL && i < w->nhours; i++)
			if (w->hours[i].day == d && json_array_append_new(arr,
			    json_pack("[o, o]", hhmm_json(w->hours[i].start),
			    hhmm_json(w->hours[i].end))) < 0)
				err = 1;
		exprow_oset(days, st_day_name(d), arr, &err);
	}
	if ((days = exprow_odone(days, err)) == NULL)
		return NULL;
	return json_pack("{s:o, s:o}", "timezone", exprow_text(w->timezone),
	    "days", days);
}

/*
 * "availability" for the public config and the WebSocket (with type):
 * {"away", "reason", "message"}, the message the widget's or else
 * away_default; NULL out of memory.
 */
json_t *
widget_avail_json(const struct st_widget *w, int staffed, const char *type,
    const char *away_default)
{
	int avail = st_widget_availability(w, staffed, (int64_t)(proto_wall_ms() /
	    1000));
	const char *why = st_avail_reason(avail);
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	if (type != NULL)
		exprow_oset(o, "type", json_string(type), &err);
	exprow_oset(o, "away", json_boolean(avail != ST_AVAIL_OPEN), &err);
	exprow_oset(o, "reason", why != NULL ? json_string(why) : json_null(),
	    &err);
	exprow_oset(o, "message", exprow_text(w->away_message != NULL &&
	    w->away_message[0] != '\0' ? w->away_message : away_default), &err);
	return exprow_odone(o, err);
}

/* agent_id, and Loquent's text_agent_id: "" in the record is "default". */
static void
agent_id_json(json_t *o, const void *rec, int *err)
{
	const struct st_widget *w = rec;
	const char *id = w->agent_id[0] != '\0' ? w->agent_id :
	    ST_AGENT_DEFAULT;

	exprow_oset(o, "agent_id", exprow_text(id), err);
	exprow_oset(o, "text_agent_id", exprow_text(id), err);
}

static void
business_hours_json(json_t *o, const void *rec, int *err)
{
	exprow_oset(o, "business_hours", hours_json(rec), err);
}

/* The rows a widget shows its own way. */
static const struct rec_own widget_own[] = {
	{ "agent_id", agent_id_json },
	{ "business_hours", business_hours_json },
	{ NULL, NULL },
};

json_t *
widget_json(const struct st_widget *w)
{
	return rec_json(&st_widget_layout, w, RF_ADM, widget_own);
}

json_t *
widget_public_json(const struct st_widget *w, int staffed, int lang)
{
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rec_json_fields(o, &st_widget_layout, w, RF_PUB, widget_own, &err);
	if (w->handoff_enabled)
		exprow_oset(o, "availability", widget_avail_json(w, staffed,
		    NULL, vtext(vtext_lang(w->language, lang), VT_AWAY)), &err);
	return exprow_odone(o, err);
}

/* o's key k moved after the others (jansson keeps the order of insertion). */
static void
key_last(json_t *o, const char *k, int *err)
{
	json_t *v;

	if ((v = json_object_get(o, k)) == NULL)
		return;
	json_incref(v);
	if (json_object_del(o, k) < 0 || json_object_set_new(o, k, v) < 0)
		*err = 1;
}

json_t *
contact_json(const struct st_contact *ct)
{
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	rec_json_fields(o, &st_contact_layout, ct, RF_ADM, NULL, &err);
	/* Its times last, as the API has always shown them. */
	key_last(o, "created_at", &err);
	key_last(o, "updated_at", &err);
	return exprow_odone(o, err);
}

/* ------------------------------------------------- JSON -> st_widget */

static const char *
take_color(json_t *v, void *rec, const struct admin_field *f, int again)
{
	char *dst = (char *)rec + f->off;

	if (!json_is_string(v))
		return "must be a string";
	if (json_string_length(v) != ST_COLOR_LEN ||
	    strlen(json_string_value(v)) != ST_COLOR_LEN)
		return "must be #rrggbb";
	memcpy(dst, json_string_value(v), ST_COLOR_LEN + 1);
	return NULL;
}

/*
 * An agent id (agent_id, text_agent_id): "default", "" or null for the
 * default agent ("" in the record), else 32 lowercase hex (whether that
 * agent exists is storaged's check). The other name, when given too
 * (again), must agree.
 */
static const char *
take_agent_id(json_t *v, void *rec, const struct admin_field *f, int again)
{
	char *dst = (char *)rec + f->off;
	const char *s;

	if (json_is_null(v))
		s = "";
	else if ((s = exprow_plain(v)) == NULL)
		return "must be an agent's id, \"default\" or null";
	if (strcmp(s, ST_AGENT_DEFAULT) == 0)
		s = "";
	if (*s != '\0' && (strlen(s) != ST_ID_HEX || !st_id_valid(s)))
		return "must be an agent's id, \"default\" or null";
	if (again && strcmp(dst, s) != 0)
		return "agent_id and text_agent_id differ";
	strlcpy(dst, s, ST_ID_HEX + 1);
	return NULL;
}

/* "HH:MM" (00:00 to 24:00) into minutes of a day: 0, or -1. */
static int
hhmm_parse(json_t *v, uint16_t *out)
{
	const char *s;
	unsigned h, m;

	if (!json_is_string(v) || json_string_length(v) != 5)
		return -1;
	s = json_string_value(v);
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		return -1;
	h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return -1;
	*out = (uint16_t)(h * 60 + m);
	return 0;
}

/* One day's [[start, end], ...] appended to w's hours, in start order. */
static const char *
take_day(json_t *arr, int day, struct st_widget *w)
{
	static const char bad[] = "each day must be an array of "
	    "[\"HH:MM\", \"HH:MM\"] intervals";
	struct st_hours h, *at;
	uint32_t first = w->nhours, i;
	json_t *x;
	size_t k;

	if (!json_is_array(arr))
		return bad;
	if (json_array_size(arr) > ST_HOURS_PER_DAY)
		return "at most 4 intervals a day";
	json_array_foreach(arr, k, x) {
		if (!json_is_array(x) || json_array_size(x) != 2 ||
		    hhmm_parse(json_array_get(x, 0), &h.start) < 0 ||
		    hhmm_parse(json_array_get(x, 1), &h.end) < 0)
			return bad;
		h.day = (uint8_t)day;
		/* Insertion by start: the record keeps a day's in order. */
		for (i = w->nhours; i > first && w->hours[i - 1].start >
		    h.start; i--)
			w->hours[i] = w->hours[i - 1];
		at = &w->hours[i];
		*at = h;
		w->nhours++;
	}
	return NULL;
}

/*
 * business_hours: null (always open), or {"timezone": name, "days":
 * {"mon": [...], ...}}. Whether the zone exists and the intervals make
 * sense is st_widget_invalid's to say.
 */
static const char *
take_hours(json_t *v, void *rec, const struct admin_field *f, int again)
{
	struct st_widget *w = rec;
	json_t *tz, *days, *x;
	const char *k, *why;
	int d;

	w->timezone[0] = '\0';
	w->nhours = 0;
	if (json_is_null(v))
		return NULL;
	if (!json_is_object(v))
		return "must be null or {\"timezone\", \"days\"}";
	json_object_foreach(v, k, x)
		if (strcmp(k, "timezone") != 0 && strcmp(k, "days") != 0)
			return "only \"timezone\" and \"days\"";
	tz = json_object_get(v, "timezone");
	if (exprow_plain(tz) == NULL || json_string_length(tz) > TZ_NAME_MAX ||
	    !tz_name_valid(json_string_value(tz)))
		return "timezone: must be an IANA time zone name "
		    "(\"Europe/Paris\")";
	strlcpy(w->timezone, json_string_value(tz), sizeof(w->timezone));
	if ((days = json_object_get(v, "days")) == NULL)
		return NULL;
	if (!json_is_object(days))
		return "days: must be an object of \"mon\" to \"sun\"";
	json_object_foreach(days, k, x)
		if (st_day_parse(k) < 0)
			return "days: must be an object of \"mon\" to \"sun\"";
	for (d = 0; d < 7; d++)
		if ((x = json_object_get(days, st_day_name(d))) != NULL &&
		    (why = take_day(x, d, w)) != NULL)
			return why;
	return NULL;
}

/* "  a  " -> "a": a copy without ASCII spaces at either end, or NULL. */
static char *
trimmed(const char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

/*
 * starter_questions: at most 4 strings, each trimmed, 1..120 characters;
 * null none, as any list's (recjson.c's take_strings).
 */
static const char *
take_starters(json_t *v, void *rec, const struct admin_field *f, int again)
{
	static const char bad[] = "must be an array of at most 4 strings";
	struct st_widget *w = rec;
	json_t *x;
	size_t i;

	if ((!json_is_array(v) && !json_is_null(v)) ||
	    json_array_size(v) > ST_STARTERS_MAX)
		return bad;
	json_array_foreach(v, i, x) {
		if (!json_is_string(x))
			return bad;
		if (exprow_plain(x) == NULL)
			return "must not contain NUL characters";
	}
	for (i = 0; i < ST_STARTERS_MAX; i++) {
		free(w->starters[i]);
		w->starters[i] = NULL;
	}
	w->nstarters = 0;
	json_array_foreach(v, i, x) {
		if ((w->starters[i] = trimmed(json_string_value(x))) == NULL)
			return "";
		w->nstarters++;
	}
	return NULL;
}

/* language: "" or null (the visitor's), or one of the 12. */
static const char *
take_language(json_t *v, void *rec, const struct admin_field *f, int again)
{
	static const char bad[] = "must be \"\" or one of en es pt fr de it "
	    "nl pl tr ar ja zh";
	struct st_widget *w = rec;
	const char *s;

	if (json_is_null(v))
		s = "";
	else if (exprow_plain(v) == NULL || json_string_length(v) > ST_LANG_LEN)
		return bad;
	else
		s = json_string_value(v);
	if (!st_widget_lang_valid(s))
		return bad;
	strlcpy(w->language, s, sizeof(w->language));
	return NULL;
}

#define WF_TAKE(NAME, BIT, M, FN) \
	{ NAME, BIT, AJ_TAKE, offsetof(struct st_widget, M), 0, NULL, NULL, FN }

/* The fields a widget takes its own way; the rest are its rows. */
static const struct admin_field widget_fields[] = {
	WF_TAKE("primary_color", ST_WF_PRIMARY_COLOR, primary_color,
	    take_color),
	WF_TAKE("text_color", ST_WF_TEXT_COLOR, text_color, take_color),
	WF_TAKE("agent_id", ST_WF_AGENT_ID, agent_id, take_agent_id),
	WF_TAKE("text_agent_id", ST_WF_AGENT_ID, agent_id, take_agent_id),
	WF_TAKE("business_hours", ST_WF_HOURS, timezone, take_hours),
	WF_TAKE("starter_questions", ST_WF_STARTERS, starters, take_starters),
	WF_TAKE("language", ST_WF_LANGUAGE, language, take_language),
};

/* The fields a client may not set besides the read-only rows. */
static const char *const read_only[] = {
	"identity_secret_set", NULL,
};

static void
widget_start(void *rec, int patch)
{
	struct st_widget *w = rec;

	st_widget_defaults(w);
	if (patch) {
		/*
		 * The fields a PATCH leaves alone are storaged's to check
		 * (merged); here only the ones it sets. Collecting every
		 * field keeps "required" from failing for fields not sent.
		 */
		w->collect_name = w->collect_email = w->collect_phone = 1;
	}
}

static const char *
widget_invalid(void *rec, uint64_t mask, int patch)
{
	return st_widget_invalid(rec);
}

ADMIN_UPDATE_REQ(widget_update_req, wu, w)

/* ------------------------------------------------------------- replies */

json_t *
widget_one_json(const void *rep, int *status)
{
	return widget_json(rep);
}

ADMIN_LIST_JSON(widget_list_json, st_widgets, "widgets", widgets,
    widget_one_json)

static json_t *
contact_item(const void *ct, int *status)
{
	return contact_json(ct);
}

json_t *
contact_page_json(const void *rep, int *status)
{
	const struct st_contact_page *p = rep;

	return admin_page_json("contacts", ADMIN_ITEMS_JSON(p->contacts, p->n,
	    contact_item), p->total, p->next_cursor);
}

/*
 * How a conversation came to the contact: "contactVerified", and when
 * false "submitted" {name, email, phone}, what the visitor gave (never
 * the contact's own).
 */
void
contact_link_json(json_t *cv, const struct st_clink *l, int *err)
{
	exprow_oset(cv, "contactVerified", json_boolean(!l->unverified), err);
	if (l->unverified)
		exprow_oset(cv, "submitted", json_pack("{s:o, s:o, s:o}",
		    "name", json_opt_text(l->name), "email",
		    json_opt_text(l->email), "phone", json_opt_text(l->phone)),
		    err);
}

/*
 * The contact with "conversations" (a page), each with its link, and
 * "conversationsTotal", "conversationsNextCursor" (null at the end).
 */
json_t *
contact_get_json(const void *rep, int *status)
{
	const struct st_contact_get_rep *g = rep;
	json_t *root, *arr;
	uint32_t i;
	int err = 0;

	if ((root = contact_json(&g->contact)) == NULL)
		return NULL;
	arr = ADMIN_ITEMS_JSON(g->convs, g->n, admin_conv_item);
	for (i = 0; arr != NULL && i < g->n; i++)
		contact_link_json(json_array_get(arr, i), &g->links[i],
		    &err);
	exprow_oset(root, "conversations", arr, &err);
	exprow_oset(root, "conversationsTotal",
	    json_integer((json_int_t)g->total), &err);
	exprow_oset(root, "conversationsNextCursor",
	    g->next_cursor[0] != '\0' ? exprow_text(g->next_cursor) :
	    json_null(), &err);
	return exprow_odone(root, err);
}

/* ------------------------------------------------------- admin handlers */

static const struct storec_answer widget_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Widget not found" },
	{ 0, 0, NULL },
};

static const struct storec_answer contact_get_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Contact not found" },
	{ PROTO_E_INVALID, 400, "Invalid contactId" },
	{ 0, 0, NULL },
};

const struct admin_entity widget_entity = {
	ADMIN_ENTITY_TYPES(PROTO_ST_WIDGET),
	.not_found = "Widget not found",
	.invalid = "Invalid widget",
	.id_valid = widget_id_valid,
	.layout = &st_widget_layout,
	.fields = widget_fields,
	.nfields = sizeof(widget_fields) / sizeof(widget_fields[0]),
	.read_only = read_only,
	.start = widget_start,
	.rec_invalid = widget_invalid,
	.update_req = widget_update_req,
	.one = widget_one_json,
	.all = widget_list_json,
	.deleted = admin_deleted_json,
};

ADMIN_ENTITY_ROUTES(widgets, widget_entity)

static void
reset_done(const struct storec_result *r, void *arg)
{
	admin_entity_answer(&widget_entity, arg, r, PROTO_ST_WIDGET_RESET_ID,
	    200, widget_one_json);
}

/* storaged's request of type naming the route's widget; its answer to cb. */
static void
widget_ask(struct conn *c, const struct route_match *m, uint16_t type,
    storec_cb cb)
{
	struct st_id_req one;

	if ((one.id = admin_entity_id(&widget_entity, c, m, 1)) != NULL)
		admin_ask(c, type, &one, cb, admin_headers);
}

void
widgets_reset_id(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	widget_ask(c, m, PROTO_ST_WIDGET_RESET_ID, reset_done);
}

/* {"identity_secret": hex}: the one time it is shown. */
static json_t *
secret_json(const void *rep, int *status)
{
	const struct st_secret_rep *q = rep;

	return json_pack("{s:s}", "identity_secret", q->secret);
}

static void
secret_made(const struct storec_result *r, void *arg)
{
	admin_entity_answer(&widget_entity, arg, r, PROTO_ST_WIDGET_SECRET_SET,
	    200, secret_json);
}

static void
secret_removed(const struct storec_result *r, void *arg)
{
	admin_entity_answer(&widget_entity, arg, r, PROTO_ST_WIDGET_SECRET_DEL,
	    200, widget_one_json);
}

void
widgets_secret_set(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	widget_ask(c, m, PROTO_ST_WIDGET_SECRET_SET, secret_made);
}

void
widgets_secret_delete(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	widget_ask(c, m, PROTO_ST_WIDGET_SECRET_DEL, secret_removed);
}

ADMIN_VIEW_ROUTE(widgets_contacts_list, PROTO_ST_CONTACT_LIST,
    contact_page_json, admin_list_errors, 1)

/*
 * The contact and a page of its conversations (?limit=&cursor=): without
 * limit, ST_LIST_MAX, as before it paged.
 */
void
widgets_contact_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	static const struct admin_reply got = {
		PROTO_ST_CONTACT_GET, 200, contact_get_json,
		contact_get_errors, 0
	};
	char cursor[ST_CURSOR_MAX + 1];
	struct st_id_page_req q;

	if ((q.id = admin_id_param(c, req, m, "Invalid contactId")) == NULL)
		return;
	if (admin_list_query(req->query, &q.limit, cursor,
	    sizeof(cursor)) < 0 || !st_contact_cursor_valid(cursor)) {
		admin_bad_query(c);
		return;
	}
	if (req->query == NULL ||
	    http_query_param(req->query, "limit", NULL, 0) == 0)
		q.limit = ST_LIST_MAX;
	q.cursor = cursor;
	admin_ask_reply(c, &q, &got);
}

/* ------------------------------------------------------- public config */

/* An Origin fit to be echoed in a header: a plain origin, no odd bytes. */
static int
origin_echoable(const char *o)
{
	const unsigned char *p;

	if (strlen(o) > ST_ORIGIN_MAX)
		return 0;
	for (p = (const unsigned char *)o; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return 0;
	return st_origin_valid(o);
}

/*
 * storaged's answer r of widget c asked for: its public config, or the
 * preflight (OPTIONS) of one of its routes, answered with that route's
 * preflight headers (its methods and headers).
 */
static void
config_answer(struct conn *c, const struct storec_result *r,
    const char *allow)
{
	struct st_widget_avail_rep rep;
	struct st_widget *w = &rep.widget;
	const char *origin, *msg;
	char hdrs[sizeof(config_headers) + sizeof(uploads_preflight_headers) +
	    ST_ORIGIN_MAX + 64];
	int status, preflight;

	if (r->status != STOREC_OK) {
		status = storec_http_error(r, widget_errors, "widget config",
		    &msg);
		conn_send_error(c, status, status == 404 ? config_gone_headers :
		    config_headers, msg);
		return;
	}
	if (storec_decode(r, PROTO_ST_WIDGET_AVAIL, &rep) < 0) {
		conn_send_error(c, 500, config_headers,
		    "Internal server error");
		return;
	}
	origin = c->req != NULL ? http_header(c->req, "origin") : NULL;
	preflight = c->req != NULL && c->req->method == HTTP_OPTIONS;
	if (!w->enabled) {
		/* Said as "not found", with why for the widget to tell. */
		setup_note(ST_SETUP_DISABLED, w->widget_id, origin);
		conn_send_json(c, 404, config_gone_headers, json_pack(
		    "{s:s, s:b}", "error", "Widget not found", "disabled", 1));
	} else if (!st_origin_allowed(w, origin)) {
		if (!preflight)
			setup_note(ST_SETUP_ORIGIN, w->widget_id, origin);
		conn_send_error(c, 403, config_headers, "Origin not allowed");
	} else {
		if (!preflight)
			setup_note(ST_SETUP_SEEN, w->widget_id, origin);
		strlcpy(hdrs, config_headers, sizeof(hdrs));
		if (origin != NULL && *origin != '\0') {
			/*
			 * Allowed but not a plain origin ("null" from a
			 * sandboxed frame) only happens for a widget any
			 * site may embed: "*" says as much.
			 */
			strlcat(hdrs, "Access-Control-Allow-Origin: ",
			    sizeof(hdrs));
			strlcat(hdrs, origin_echoable(origin) ? origin : "*",
			    sizeof(hdrs));
			strlcat(hdrs, "\r\n", sizeof(hdrs));
		}
		if (preflight) {
			strlcat(hdrs, allow, sizeof(hdrs));
			conn_send(c, 204, hdrs, NULL, NULL, 0);
		} else
			conn_send_json(c, 200, hdrs, widget_public_json(w,
			    rep.staffed, vtext_accept(http_header(c->req,
			    "accept-language"))));
	}
	st_rep_free(PROTO_ST_WIDGET_AVAIL, &rep);
}

static void
config_done(const struct storec_result *r, void *arg)
{
	config_answer(arg, r, preflight_headers);
}

static void
uploads_preflight_done(const struct storec_result *r, void *arg)
{
	config_answer(arg, r, uploads_preflight_headers);
}

/* Any page may ask: a visitor's request (no who asks), as ST_WS_OPEN. */
static void
config_ask(struct conn *c, const struct route_match *m, storec_cb cb)
{
	struct st_id_req one;

	one.id = m->nparams > 0 ? m->param[0] : "";
	if (!widget_id_valid(one.id))
		conn_send_error(c, 404, config_gone_headers, "Widget not found");
	else if (storec_ask(NULL, PROTO_ST_WIDGET_AVAIL, &one, cb, c,
	    &c->sreq) < 0)
		conn_send_error(c, 503, config_headers, "Storage unavailable");
}

void
widgets_config_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	config_ask(c, m, config_done);
}

void
widgets_uploads_preflight(struct conn *c, const struct route_match *m)
{
	config_ask(c, m, uploads_preflight_done);
}
