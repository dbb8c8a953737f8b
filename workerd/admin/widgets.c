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
 *	GET    /v1/admin/contacts		?limit=&cursor=, a page
 *	GET    /v1/admin/contacts/:id		contact + conversations
 *	GET    /api/widget/:wid/config		the public subset
 *
 * :wid is the public widget_id; one that cannot be one is 404 at once.
 *
 * A widget names its agent (agents.c) in agent_id ("default" in the JSON
 * for "" in the record; Loquent's text_agent_id is the same field under
 * another name, accepted and returned). handoff_enabled and
 * handoff_label are fields of their own, as every other.
 *
 * JSON names are snake_case, as Loquent's WidgetConfig. The JSON is mapped
 * onto struct st_widget here (types, unknown and read-only fields);
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agentmsg.h"
#include "log.h"
#include "widgetmsg.h"
#include "workerd.h"

#define ERR_MAX		256
#define NAME_SHOWN	64	/* bytes of a field's name an error shows */

static const char config_headers[] =
    "Cache-Control: no-cache\r\nVary: Origin\r\n";
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

int
widget_id_valid(const char *s)
{
	size_t n = sizeof(ST_WID_PREFIX) - 1;

	return strlen(s) == ST_WID_LEN && strncmp(s, ST_WID_PREFIX, n) == 0 &&
	    st_id_valid(s + n);
}

/* ---------------------------------------------------------------- JSON */

/* "" is none: JSON null. */
static json_t *
json_opt_text(const char *s)
{
	return (s == NULL || *s == '\0') ? json_null() : exprow_text(s);
}

static json_t *
origins_json(const struct st_widget *w)
{
	json_t *a;
	uint32_t i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < w->norigins; i++)
		if (json_array_append_new(a, exprow_text(w->origins[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

/* The fields every view of a widget has, the public subset. */
static void
widget_public_fields(json_t *o, const struct st_widget *w, int *err)
{
	const char *pos = st_position_name(w->position);
	const char *mode = st_contact_mode_name(w->contact_mode);

	exprow_oset(o, "name", json_opt_text(w->name), err);
	exprow_oset(o, "greeting", json_opt_text(w->greeting), err);
	exprow_oset(o, "primary_color", exprow_text(w->primary_color), err);
	exprow_oset(o, "text_color", exprow_text(w->text_color), err);
	exprow_oset(o, "position", exprow_text(pos ? pos : "bottom_right"), err);
	exprow_oset(o, "contact_info_mode", exprow_text(mode ? mode : "none"),
	    err);
	exprow_oset(o, "collect_name", json_boolean(w->collect_name), err);
	exprow_oset(o, "collect_email", json_boolean(w->collect_email), err);
	exprow_oset(o, "collect_phone", json_boolean(w->collect_phone), err);
	exprow_oset(o, "handoff_enabled", json_boolean(w->handoff_enabled),
	    err);
	exprow_oset(o, "handoff_label", json_opt_text(w->handoff_label), err);
}

/* The record's agent_id as the JSON says it: "" is "default". */
static const char *
agent_id_shown(const struct st_widget *w)
{
	return w->agent_id[0] != '\0' ? w->agent_id : ST_AGENT_DEFAULT;
}

json_t *
widget_json(const struct st_widget *w)
{
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	/* id is what conversations name in "widgetId". */
	exprow_oset(o, "id", exprow_text(w->id), &err);
	exprow_oset(o, "widget_id", exprow_text(w->widget_id), &err);
	widget_public_fields(o, w, &err);
	exprow_oset(o, "allowed_origins", origins_json(w), &err);
	exprow_oset(o, "daily_message_cap", w->daily_cap > 0 ?
	    json_integer(w->daily_cap) : json_null(), &err);
	exprow_oset(o, "enabled", json_boolean(w->enabled), &err);
	exprow_oset(o, "system_prompt", json_opt_text(w->system_prompt), &err);
	exprow_oset(o, "model", json_opt_text(w->model), &err);
	exprow_oset(o, "agent_id", exprow_text(agent_id_shown(w)), &err);
	exprow_oset(o, "text_agent_id", exprow_text(agent_id_shown(w)), &err);
	exprow_oset(o, "created_at", exprow_ms(w->created_at), &err);
	exprow_oset(o, "updated_at", exprow_ms(w->updated_at), &err);
	return exprow_odone(o, err);
}

json_t *
widget_public_json(const struct st_widget *w)
{
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	widget_public_fields(o, w, &err);
	return exprow_odone(o, err);
}

json_t *
contact_json(const struct st_contact *ct)
{
	json_t *o;
	int err = 0;

	if ((o = json_object()) == NULL)
		return NULL;
	exprow_oset(o, "id", exprow_text(ct->id), &err);
	exprow_oset(o, "name", json_opt_text(ct->name), &err);
	exprow_oset(o, "email", json_opt_text(ct->email), &err);
	exprow_oset(o, "phone", json_opt_text(ct->phone), &err);
	exprow_oset(o, "created_at", exprow_ms(ct->created_at), &err);
	exprow_oset(o, "updated_at", exprow_ms(ct->updated_at), &err);
	return exprow_odone(o, err);
}

/* ------------------------------------------------- JSON -> st_widget */

/*
 * st_widget_invalid's "field: ..." with the field as the JSON calls it
 * (the struct's contact_mode is contact_info_mode here).
 */
static void
json_field_msg(const char *msg, char *out, size_t outsz)
{
	static const char cm[] = "contact_mode:";

	if (strncmp(msg, cm, sizeof(cm) - 1) == 0)
		snprintf(out, outsz, "contact_info_mode:%s",
		    msg + sizeof(cm) - 1);
	else
		strlcpy(out, msg, outsz);
}

static const char *
take_color(json_t *v, char *dst)
{
	if (!json_is_string(v))
		return "must be a string";
	if (json_string_length(v) != ST_COLOR_LEN ||
	    strlen(json_string_value(v)) != ST_COLOR_LEN)
		return "must be #rrggbb";
	memcpy(dst, json_string_value(v), ST_COLOR_LEN + 1);
	return NULL;
}

static const char *
take_bool(json_t *v, uint8_t *dst)
{
	if (!json_is_boolean(v))
		return "must be a boolean";
	*dst = json_is_true(v);
	return NULL;
}

static void
free_origins(struct st_widget *w)
{
	uint32_t i;

	for (i = 0; i < w->norigins; i++)
		free(w->origins[i]);
	free(w->origins);
	w->origins = NULL;
	w->norigins = 0;
}

static const char *
take_origins(json_t *v, struct st_widget *w)
{
	static const char notarray[] = "must be an array of strings";
	json_t *x;
	char **o;
	size_t i, n;

	if (!json_is_array(v))
		return notarray;
	n = json_array_size(v);
	if (n > ST_ORIGINS_MAX)
		return "at most 32 origins";
	json_array_foreach(v, i, x) {
		if (!json_is_string(x))
			return notarray;
		if (strlen(json_string_value(x)) != json_string_length(x))
			return "must not contain NUL characters";
	}
	if ((o = calloc(n > 0 ? n : 1, sizeof(*o))) == NULL)
		return "";
	free_origins(w);
	w->origins = o;
	json_array_foreach(v, i, x) {
		if ((o[i] = strdup(json_string_value(x))) == NULL)
			return "";
		w->norigins++;
	}
	return NULL;
}

static const char *
take_cap(json_t *v, uint32_t *dst)
{
	json_int_t n;

	if (json_is_null(v)) {
		*dst = 0;
		return NULL;
	}
	if (!json_is_integer(v) || (n = json_integer_value(v)) < 1 ||
	    n > UINT32_MAX)
		return "must be an integer from 1 to 4294967295, or null";
	*dst = (uint32_t)n;
	return NULL;
}

static const char *
take_enum(json_t *v, uint8_t *dst, int (*parse)(const char *),
    const char *what)
{
	int n;

	if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    (n = parse(json_string_value(v))) < 0)
		return what;
	*dst = (uint8_t)n;
	return NULL;
}

/*
 * An agent id (agent_id, text_agent_id): "default", "" or null for the
 * default agent ("" in the record), else 32 lowercase hex (whether that
 * agent exists is storaged's check). The other name, when given too,
 * must agree: *seen holds the first one's value.
 */
static const char *
take_agent_id(json_t *v, char *dst, int *seen)
{
	const char *s;

	if (json_is_null(v))
		s = "";
	else if (!json_is_string(v) ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return "must be an agent's id, \"default\" or null";
	else
		s = json_string_value(v);
	if (strcmp(s, ST_AGENT_DEFAULT) == 0)
		s = "";
	if (*s != '\0' && (strlen(s) != ST_ID_HEX || !st_id_valid(s)))
		return "must be an agent's id, \"default\" or null";
	if (*seen && strcmp(dst, s) != 0)
		return "agent_id and text_agent_id differ";
	*seen = 1;
	strlcpy(dst, s, ST_ID_HEX + 1);
	return NULL;
}

/* The fields a client may not set. */
static const char *const read_only[] = {
	"id", "widget_id", "created_at", "updated_at",
};

/* Every text field set (NULL is not "" to every reader). */
static int
texts_set(struct st_widget *w)
{
	char **f[] = { &w->name, &w->greeting, &w->system_prompt, &w->model,
	    &w->handoff_label };
	size_t i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (*f[i] == NULL && (*f[i] = strdup("")) == NULL)
			return -1;
	return 0;
}

int
widget_from_json(json_t *root, struct st_widget *w, uint32_t *mask,
    int check, char *err, size_t errsz)
{
	const char *k, *why;
	json_t *v;
	uint32_t bit;
	size_t i;
	int agent_seen = 0;

	*mask = 0;
	if (!json_is_object(root)) {
		strlcpy(err, "body: must be a JSON object", errsz);
		return -1;
	}
	json_object_foreach(root, k, v) {
		why = NULL;
		bit = 0;
		if (strcmp(k, "name") == 0) {
			bit = ST_WF_NAME;
			why = admin_take_text(v, &w->name, 1);
		} else if (strcmp(k, "greeting") == 0) {
			bit = ST_WF_GREETING;
			why = admin_take_text(v, &w->greeting, 1);
		} else if (strcmp(k, "primary_color") == 0) {
			bit = ST_WF_PRIMARY_COLOR;
			why = take_color(v, w->primary_color);
		} else if (strcmp(k, "text_color") == 0) {
			bit = ST_WF_TEXT_COLOR;
			why = take_color(v, w->text_color);
		} else if (strcmp(k, "position") == 0) {
			bit = ST_WF_POSITION;
			why = take_enum(v, &w->position, st_position_parse,
			    "must be \"bottom_right\" or \"bottom_left\"");
		} else if (strcmp(k, "contact_info_mode") == 0) {
			bit = ST_WF_CONTACT_MODE;
			why = take_enum(v, &w->contact_mode,
			    st_contact_mode_parse,
			    "must be \"none\", \"optional\" or \"required\"");
		} else if (strcmp(k, "collect_name") == 0) {
			bit = ST_WF_COLLECT_NAME;
			why = take_bool(v, &w->collect_name);
		} else if (strcmp(k, "collect_email") == 0) {
			bit = ST_WF_COLLECT_EMAIL;
			why = take_bool(v, &w->collect_email);
		} else if (strcmp(k, "collect_phone") == 0) {
			bit = ST_WF_COLLECT_PHONE;
			why = take_bool(v, &w->collect_phone);
		} else if (strcmp(k, "allowed_origins") == 0) {
			bit = ST_WF_ORIGINS;
			why = take_origins(v, w);
		} else if (strcmp(k, "daily_message_cap") == 0) {
			bit = ST_WF_DAILY_CAP;
			why = take_cap(v, &w->daily_cap);
		} else if (strcmp(k, "enabled") == 0) {
			bit = ST_WF_ENABLED;
			why = take_bool(v, &w->enabled);
		} else if (strcmp(k, "system_prompt") == 0) {
			bit = ST_WF_SYSTEM_PROMPT;
			why = admin_take_text(v, &w->system_prompt, 1);
		} else if (strcmp(k, "model") == 0) {
			bit = ST_WF_MODEL;
			why = admin_take_text(v, &w->model, 1);
		} else if (strcmp(k, "agent_id") == 0 ||
		    strcmp(k, "text_agent_id") == 0) {
			bit = ST_WF_AGENT_ID;
			why = take_agent_id(v, w->agent_id, &agent_seen);
		} else if (strcmp(k, "handoff_enabled") == 0) {
			bit = ST_WF_HANDOFF_ENABLED;
			why = take_bool(v, &w->handoff_enabled);
		} else if (strcmp(k, "handoff_label") == 0) {
			bit = ST_WF_HANDOFF_LABEL;
			why = admin_take_text(v, &w->handoff_label, 1);
		} else {
			why = "unknown field";
			for (i = 0; i < sizeof(read_only) /
			    sizeof(read_only[0]); i++)
				if (strcmp(k, read_only[i]) == 0)
					why = "read-only";
		}
		if (why != NULL) {
			if (*why == '\0')
				why = "out of memory";
			snprintf(err, errsz, "%.*s: %s", NAME_SHOWN, k, why);
			return -1;
		}
		*mask |= bit;
	}
	if (texts_set(w) < 0) {
		strlcpy(err, "body: out of memory", errsz);
		return -1;
	}
	if (check && (why = st_widget_invalid(w)) != NULL) {
		json_field_msg(why, err, errsz);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- replies */

static json_t *
widget_item(struct pdec *d)
{
	struct st_widget w;
	json_t *v;

	if (pdec_widget(d, &w) < 0)
		return NULL;
	v = widget_json(&w);
	st_widget_free(&w);
	return v;
}

/* -> widget */
json_t *
widget_reply(const uint8_t *payload, size_t len)
{
	return admin_one_reply(payload, len, widget_item);
}

static json_t *
contact_item(struct pdec *d)
{
	struct st_contact ct;
	json_t *v;

	if (pdec_contact(d, &ct) < 0)
		return NULL;
	v = contact_json(&ct);
	st_contact_free(&ct);
	return v;
}

/* -> u32 n, n x widget */
json_t *
widget_list_reply(const uint8_t *payload, size_t len)
{
	struct pdec d;
	json_t *root, *arr;
	int err = 0;

	pdec_init(&d, payload, len);
	if ((arr = admin_array(&d, ST_WIDGETS_MAX, widget_item)) == NULL)
		return NULL;
	if (pdec_done(&d) < 0 || (root = json_object()) == NULL) {
		json_decref(arr);
		return NULL;
	}
	exprow_oset(root, "widgets", arr, &err);
	return exprow_odone(root, err);
}

/* -> (empty) */
static json_t *
deleted_reply(const uint8_t *payload, size_t len)
{
	json_t *o;
	int err = 0;

	if (len != 0 || (o = json_object()) == NULL)
		return NULL;
	exprow_oset(o, "deleted", json_true(), &err);
	return exprow_odone(o, err);
}

/* -> u64 total, u32 n, n x contact, str next_cursor */
json_t *
contact_list_reply(const uint8_t *payload, size_t len)
{
	return admin_page_reply(payload, len, "contacts", contact_item);
}

/*
 * n x (u8 unverified, str name, str email, str phone) into the n
 * conversations of arr: "contactVerified", and when false "submitted"
 * {name, email, phone}, what the visitor gave (never the contact's own).
 */
static int
contact_links(struct pdec *d, json_t *arr)
{
	char name[4 * ST_CONTACT_NAME_MAX + 1], email[ST_EMAIL_MAX + 1];
	char phone[ST_PHONE_MAX + 1];
	json_t *cv;
	size_t i;
	int err = 0, unverified;

	for (i = 0; i < json_array_size(arr) && !d->err && !err; i++) {
		cv = json_array_get(arr, i);
		unverified = pdec_u8(d) != 0;
		pdec_strbuf(d, name, sizeof(name));
		pdec_strbuf(d, email, sizeof(email));
		pdec_strbuf(d, phone, sizeof(phone));
		exprow_oset(cv, "contactVerified", json_boolean(!unverified),
		    &err);
		if (unverified)
			exprow_oset(cv, "submitted", json_pack("{s:o, s:o, s:o}",
			    "name", json_opt_text(name), "email",
			    json_opt_text(email), "phone",
			    json_opt_text(phone)), &err);
	}
	return d->err || err ? -1 : 0;
}

/*
 * -> contact, u32 n, n x conv, n x link: the contact with
 * "conversations", each saying how it came to the contact.
 */
json_t *
contact_get_reply(const uint8_t *payload, size_t len)
{
	struct pdec d;
	json_t *root, *arr;
	int err = 0;

	pdec_init(&d, payload, len);
	if ((root = contact_item(&d)) == NULL)
		return NULL;
	if ((arr = admin_array(&d, ST_LIST_MAX, admin_conv_item)) == NULL ||
	    contact_links(&d, arr) < 0 || pdec_done(&d) < 0) {
		json_decref(arr);
		json_decref(root);
		return NULL;
	}
	exprow_oset(root, "conversations", arr, &err);
	return exprow_odone(root, err);
}

/* ------------------------------------------------------- admin handlers */

static const struct storec_answer widget_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Widget not found" },
	{ 0, 0, NULL },
};

static const struct storec_answer contact_list_errors[] = {
	{ PROTO_E_INVALID, 400, "Invalid query parameters" },
	{ 0, 0, NULL },
};

static const struct storec_answer contact_get_errors[] = {
	{ PROTO_E_NOT_FOUND, 404, "Contact not found" },
	{ PROTO_E_INVALID, 400, "Invalid contactId" },
	{ 0, 0, NULL },
};

/*
 * storaged's `invalid` names the field ("primary_color: must be
 * #rrggbb", or why the default widget stays): the client's answer.
 */
static int
widget_invalid(struct conn *c, const struct storec_result *r)
{
	char msg[ERR_MAX];

	if (r->status != STOREC_ERROR || r->code != PROTO_E_INVALID)
		return 0;
	json_field_msg(r->message != NULL && r->message[0] != '\0' ?
	    r->message : "Invalid widget", msg, sizeof(msg));
	conn_send_error(c, 400, admin_headers, msg);
	return 1;
}

/* A widget request's answer, storaged's `invalid` first. */
static void
widget_answer(struct conn *c, const struct storec_result *r,
    const char *name, int status, json_t *(*reply)(const uint8_t *, size_t))
{
	if (!widget_invalid(c, r))
		admin_answer(c, r, name, status, reply, widget_errors);
}

static void
widget_done(const struct storec_result *r, void *arg)
{
	widget_answer(arg, r, "widget request", 200, widget_reply);
}

static void
widget_created(const struct storec_result *r, void *arg)
{
	widget_answer(arg, r, "ST_WIDGET_CREATE", 201, widget_reply);
}

static void
widget_listed(const struct storec_result *r, void *arg)
{
	admin_answer(arg, r, "ST_WIDGET_LIST", 200, widget_list_reply,
	    widget_errors);
}

static void
widget_deleted(const struct storec_result *r, void *arg)
{
	widget_answer(arg, r, "ST_WIDGET_DELETE", 200, deleted_reply);
}

static void
contact_listed(const struct storec_result *r, void *arg)
{
	admin_answer(arg, r, "ST_CONTACT_LIST", 200, contact_list_reply,
	    contact_list_errors);
}

static void
contact_got(const struct storec_result *r, void *arg)
{
	admin_answer(arg, r, "ST_CONTACT_GET", 200, contact_get_reply,
	    contact_get_errors);
}

/*
 * The request's widget: w from defaults plus the body (patch: of a
 * PATCH). 0, or -1 when the request has been answered (400).
 */
static int
widget_body(struct conn *c, struct http_request *req, struct st_widget *w,
    uint32_t *mask, int patch)
{
	char err[ERR_MAX];
	json_t *root;
	int rv;

	st_widget_defaults(w);
	if (patch) {
		/*
		 * The fields a PATCH leaves alone are storaged's to check
		 * (merged); here only the ones it sets. Collecting every
		 * field keeps "required" from failing for fields not sent.
		 */
		w->collect_name = w->collect_email = w->collect_phone = 1;
	}
	if ((root = admin_json_body(c, req)) == NULL)
		return -1;
	rv = widget_from_json(root, w, mask, 1, err, sizeof(err));
	json_decref(root);
	if (rv < 0) {
		conn_send_error(c, 400, admin_headers, err);
		return -1;
	}
	return 0;
}

/* The :widget_id of the path, or NULL when answered 404. */
static const char *
widget_param(struct conn *c, const struct route_match *m, const char *hdrs)
{
	const char *id = m->nparams > 0 ? m->param[0] : "";

	if (!widget_id_valid(id)) {
		conn_send_error(c, 404, hdrs, "Widget not found");
		return NULL;
	}
	return id;
}

void
widgets_list(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	if (storec_call_as(&c->who, PROTO_ST_WIDGET_LIST, NULL, 0,
	    widget_listed, c, &c->sreq) < 0)
		conn_send_error(c, 503, admin_headers, "Storage unavailable");
}

void
widgets_create(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_widget w;
	struct penc e;
	uint32_t mask;

	if (widget_body(c, req, &w, &mask, 0) == 0) {
		penc_init(&e);
		penc_widget(&e, &w);
		admin_send(c, PROTO_ST_WIDGET_CREATE, &e, widget_created,
		    admin_headers);
	}
	st_widget_free(&w);
}

/* A request of type with the path's widget id as its payload. */
static void
widget_id_request(struct conn *c, struct http_request *req,
    const struct route_match *m, uint16_t type, storec_cb cb)
{
	const char *id;
	struct penc e;

	if ((id = widget_param(c, m, admin_headers)) == NULL)
		return;
	penc_init(&e);
	penc_str(&e, id);
	admin_send(c, type, &e, cb, admin_headers);
}

void
widgets_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	widget_id_request(c, req, m, PROTO_ST_WIDGET_GET, widget_done);
}

void
widgets_update(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	struct st_widget w;
	const char *id;
	struct penc e;
	uint32_t mask;

	if ((id = widget_param(c, m, admin_headers)) == NULL)
		return;
	if (widget_body(c, req, &w, &mask, 1) == 0) {
		penc_init(&e);
		penc_str(&e, id);
		penc_u32(&e, mask);
		penc_widget(&e, &w);
		admin_send(c, PROTO_ST_WIDGET_UPDATE, &e, widget_done,
		    admin_headers);
	}
	st_widget_free(&w);
}

void
widgets_delete(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	widget_id_request(c, req, m, PROTO_ST_WIDGET_DELETE, widget_deleted);
}

void
widgets_reset_id(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	widget_id_request(c, req, m, PROTO_ST_WIDGET_RESET_ID, widget_done);
}

void
widgets_contacts_list(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	admin_page_request(c, req, PROTO_ST_CONTACT_LIST, contact_listed);
}

void
widgets_contact_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	const char *id;
	struct penc e;

	if ((id = admin_id_param(c, req, m, "Invalid contactId")) == NULL)
		return;
	penc_init(&e);
	penc_str(&e, id);
	admin_send(c, PROTO_ST_CONTACT_GET, &e, contact_got, admin_headers);
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

static void
config_done(const struct storec_result *r, void *arg)
{
	struct conn *c = arg;
	struct st_widget w;
	struct pdec d;
	const char *origin, *msg;
	char hdrs[sizeof(config_headers) + sizeof(preflight_headers) +
	    ST_ORIGIN_MAX + 64];
	int status;

	if (r->status != STOREC_OK) {
		status = storec_http_error(r, widget_errors, "widget config",
		    &msg);
		conn_send_error(c, status, status == 404 ? config_gone_headers :
		    config_headers, msg);
		return;
	}
	pdec_init(&d, r->payload, r->len);
	if (pdec_widget(&d, &w) < 0 || (pdec_done(&d) < 0 &&
	    (st_widget_free(&w), 1))) {
		log_warnx("widget config: malformed ST_WIDGET_GET reply");
		conn_send_error(c, 500, config_headers,
		    "Internal server error");
		return;
	}
	origin = c->req != NULL ? http_header(c->req, "origin") : NULL;
	if (!w.enabled) {
		conn_send_error(c, 404, config_gone_headers,
		    "Widget not found");
	} else if (!st_origin_allowed(&w, origin)) {
		conn_send_error(c, 403, config_headers, "Origin not allowed");
	} else {
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
		if (c->req != NULL && c->req->method == HTTP_OPTIONS) {
			strlcat(hdrs, preflight_headers, sizeof(hdrs));
			conn_send(c, 204, hdrs, NULL, NULL, 0);
		} else
			conn_send_json(c, 200, hdrs, widget_public_json(&w));
	}
	st_widget_free(&w);
}

void
widgets_config_get(struct conn *c, struct http_request *req,
    const struct route_match *m)
{
	const char *id;
	struct penc e;

	if ((id = widget_param(c, m, config_gone_headers)) == NULL)
		return;
	penc_init(&e);
	penc_str(&e, id);
	admin_send(c, PROTO_ST_WIDGET_GET, &e, config_done, config_headers);
}
