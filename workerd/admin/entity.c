/*
 * The records the admin API keeps in storaged and handles alike, widgets
 * (widgets.c), agents (agents.c) and organisations (orgs.c), written
 * once:
 *
 *	GET    <list>		{"<records>":[...]}
 *	POST   <list>		201 the record
 *	GET    <list>/:id	the record
 *	PATCH  <list>/:id	sets the fields present; the record
 *	DELETE <list>/:id	200 {"deleted":true}, or the entity's own; 409
 *				for the one it keeps
 *
 * A table (struct admin_entity, admin.h) says what differs: storaged's
 * types, the body's fields (their JSON names, types, mask bits and the
 * texts of their errors), the record's own rules, the replies' JSON. A
 * body is mapped onto the record field by field here; whether the values
 * make sense is the record's check (st_widget_invalid, st_agent_invalid,
 * st_org_invalid), the one storaged runs too, so both agree. storaged's
 * `invalid` names the field: it is the client's answer (400), as it is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "log.h"
#include "notify.h"
#include "urlpolicy.h"
#include "workerd.h"

#define ERR_MAX		256
#define NAME_SHOWN	64	/* bytes of a field's name an error shows */

/* ------------------------------------------------------ JSON -> record */

#define MEMBER(rec, f)	((unsigned char *)(rec) + (f)->off)

static const char *
take_bool(json_t *v, uint8_t *dst)
{
	if (!json_is_boolean(v))
		return "must be a boolean";
	*dst = json_is_true(v);
	return NULL;
}

/* An integer from 1 to max, or null (0: unset). */
static const char *
take_count(json_t *v, uint32_t *dst, const struct admin_field *f)
{
	json_int_t n;

	if (json_is_null(v)) {
		*dst = 0;
		return NULL;
	}
	if (!json_is_integer(v) || (n = json_integer_value(v)) < 1 ||
	    n > f->max)
		return f->why;
	*dst = (uint32_t)n;
	return NULL;
}

static const char *
take_enum(json_t *v, uint8_t *dst, const struct admin_field *f)
{
	const char *s;
	int n;

	if ((s = exprow_plain(v)) == NULL || (n = f->parse(s)) < 0)
		return f->why;
	*dst = (uint8_t)n;
	return NULL;
}

/* One field into rec: NULL, or what is wrong ("" out of memory). */
static const char *
take_field(json_t *v, void *rec, const struct admin_field *f, int again)
{
	void *m = MEMBER(rec, f);

	switch (f->kind) {
	case AJ_TEXT:
		return admin_take_text(v, m, 0);
	case AJ_TEXT_NULL:
		return admin_take_text(v, m, 1);
	case AJ_BOOL:
		return take_bool(v, m);
	case AJ_COUNT:
		return take_count(v, m, f);
	case AJ_ENUM:
		return take_enum(v, m, f);
	default:
		return f->take(v, rec, f, again);
	}
}

/* What is wrong with a key no field has. */
static const char *
no_field(const struct admin_entity *e, const char *k)
{
	const char *const *ro;

	for (ro = e->read_only; ro != NULL && *ro != NULL; ro++)
		if (strcmp(k, *ro) == 0)
			return "read-only";
	return "unknown field";
}

static const struct admin_field *
field_named(const struct admin_entity *e, const char *k)
{
	size_t i;

	for (i = 0; i < e->nfields; i++)
		if (strcmp(k, e->fields[i].name) == 0)
			return &e->fields[i];
	return NULL;
}

/*
 * Key k's value v into rec, its bit into *mask: a field of e's own, else
 * a row. NULL, or what is wrong.
 */
static const char *
take_named(const struct admin_entity *e, const char *k, json_t *v,
    void *rec, uint64_t *mask)
{
	const struct admin_field *f;
	const struct rfield *r;
	const char *why;

	if ((f = field_named(e, k)) != NULL) {
		if ((why = take_field(v, rec, f, (*mask & f->bit) != 0)) == NULL)
			*mask |= f->bit;
		return why;
	}
	/* A hidden row a request sets is write-only (a key). */
	if (e->layout == NULL || (r = rl_field(e->layout, k)) == NULL ||
	    (r->view == RF_HID && r->bit == RF_RO))
		return no_field(e, k);
	if (r->bit == RF_RO)
		return "read-only";
	if ((why = rec_take(v, rec, r)) == NULL)
		*mask |= r->bit;
	return why;
}

/* Every text field set: -1 out of memory. */
static int
texts_set(const struct admin_entity *e, void *rec)
{
	char **t;
	size_t i;

	for (i = 0; i < e->nfields; i++) {
		if (e->fields[i].kind != AJ_TEXT &&
		    e->fields[i].kind != AJ_TEXT_NULL)
			continue;
		t = (char **)(void *)MEMBER(rec, &e->fields[i]);
		if (*t == NULL && (*t = strdup("")) == NULL)
			return -1;
	}
	return 0;
}

/* The first required field a POST left out, or NULL. */
static const char *
missing(const struct admin_entity *e, uint64_t mask)
{
	size_t i;

	for (i = 0; i < e->nfields; i++)
		if ((e->required & e->fields[i].bit) &&
		    !(mask & e->fields[i].bit))
			return e->fields[i].name;
	for (i = 0; e->layout != NULL && i < e->layout->nf; i++)
		if ((e->required & e->layout->f[i].bit) &&
		    !(mask & e->layout->f[i].bit))
			return e->layout->f[i].json;
	return NULL;
}

static void
field_text(const struct admin_entity *e, const char *msg, char *out,
    size_t outsz)
{
	if (e->field_text != NULL)
		e->field_text(msg, out, outsz);
	else
		strlcpy(out, msg, outsz);
}

int
admin_entity_from_json(const struct admin_entity *e, json_t *root,
    void *rec, uint64_t *mask, int patch, char *err, size_t errsz)
{
	const char *k, *why;
	json_t *v;

	*mask = 0;
	if (!json_is_object(root)) {
		strlcpy(err, "body: must be a JSON object", errsz);
		return -1;
	}
	json_object_foreach(root, k, v) {
		if ((why = take_named(e, k, v, rec, mask)) != NULL) {
			snprintf(err, errsz, "%.*s: %s", NAME_SHOWN, k,
			    *why != '\0' ? why : "out of memory");
			return -1;
		}
	}
	if (!patch && (k = missing(e, *mask)) != NULL) {
		snprintf(err, errsz, "%s: required", k);
		return -1;
	}
	if (texts_set(e, rec) < 0 ||
	    (e->layout != NULL && rec_texts_set(e->layout, rec) < 0)) {
		strlcpy(err, "body: out of memory", errsz);
		return -1;
	}
	/*
	 * A PATCH's fields each within its row's bounds here: storaged
	 * checks the merge, but a text far past its bound makes it refuse
	 * the request unread, "malformed request", naming no field.
	 */
	if ((patch && e->layout != NULL &&
	    (why = rl_rows_invalid(e->layout, rec, *mask)) != NULL) ||
	    (why = e->rec_invalid(rec, *mask, patch)) != NULL) {
		field_text(e, *why != '\0' ? why : "body: out of memory", err,
		    errsz);
		return -1;
	}
	return 0;
}

/* -------------------------------------------------------------- answers */

json_t *
admin_deleted_json(const void *rep, int *status)
{
	return json_pack("{s:b}", "deleted", 1);
}

void
admin_entity_answer(const struct admin_entity *e, struct conn *c,
    const struct storec_result *r, uint16_t type, int status,
    admin_json_fn fn)
{
	const struct storec_answer errors[] = {
		{ PROTO_E_NOT_FOUND, 404, e->not_found },
		{ 0, 0, NULL },
	};
	char msg[ERR_MAX];

	if (r->status == STOREC_ERROR && r->code == PROTO_E_INVALID) {
		field_text(e, r->message != NULL && r->message[0] != '\0' ?
		    r->message : e->invalid, msg, sizeof(msg));
		conn_send_error(c, 400, admin_headers, msg);
		return;
	}
	admin_answer(c, r, type, status, fn, errors);
}

/*
 * The callbacks find the entity where its handler left it, in the
 * connection's handler state (read only; nothing to free).
 */
static const struct admin_entity *
entity_of(struct conn *c)
{
	return c->hctx;
}

static void
listed(const struct storec_result *r, void *arg)
{
	const struct admin_entity *e = entity_of(arg);

	admin_entity_answer(e, arg, r, e->list, 200, e->all);
}

static void
created(const struct storec_result *r, void *arg)
{
	const struct admin_entity *e = entity_of(arg);

	admin_entity_answer(e, arg, r, e->create, 201, e->one);
}

static void
got(const struct storec_result *r, void *arg)
{
	const struct admin_entity *e = entity_of(arg);

	admin_entity_answer(e, arg, r, e->get, 200, e->one);
}

static void
updated(const struct storec_result *r, void *arg)
{
	const struct admin_entity *e = entity_of(arg);

	admin_entity_answer(e, arg, r, e->update, 200, e->one);
}

static void
deleted(const struct storec_result *r, void *arg)
{
	const struct admin_entity *e = entity_of(arg);

	admin_entity_answer(e, arg, r, e->del, 200, e->deleted);
}

/* ------------------------------------------------------------- requests */

/* storaged's request of type for e; its answer comes to cb. */
static void
entity_ask(const struct admin_entity *e, struct conn *c, uint16_t type,
    const void *req, storec_cb cb)
{
	c->hctx = (void *)e;
	admin_ask(c, type, req, cb, admin_headers);
}

/*
 * A create or an update waiting for its record's vet (admin_entity.vet).
 * Its role was checked at the gate, once: a lookup may hold it for the
 * resolver's timeout, and the credential it was asked with may end
 * meanwhile (the member removed, disabled or given another role, the
 * session logged out or past its expiry, the key or the organisation
 * deleted). storaged takes who asks as the worker says, so it is watched
 * (credwatch) while it waits: one that ended is answered 401 and nothing
 * is stored.
 */
struct vetting {
	const struct admin_entity *e;
	uint16_t type;
	storec_cb cb;
	struct penc enc;	/* the request, encoded */
	void *state;		/* the vet's, for vet_cancel */
	struct credwatch watch;	/* while the vet runs */
	struct conn *c;
};

/* v's one end, whatever ended it (its watch stopped with it). */
static void
vetting_free(struct vetting *v)
{
	credwatch_stop(&v->watch);
	penc_free(&v->enc);
	free(v);
}

/* The vet under way given up (the client left, the credential ended). */
static void
vetting_abort(struct conn *c)
{
	struct vetting *v = c->hctx;

	v->e->vet_cancel(v->state);
	conn_let_go(c);
	vetting_free(v);
}

/* The credential the request was asked with ended while the vet ran. */
static void
vetting_gone(void *arg)
{
	struct vetting *v = arg;
	struct conn *c = v->c;

	vetting_abort(c);
	log_info("admin: a write held by its URL's check: its credential "
	    "ended; answered 401, nothing stored");
	conn_send_error(c, 401, admin_headers, "Unauthorized: the credential "
	    "this request was made with ended while its URL was checked; "
	    "nothing was stored");
}

/* Stores req (type's, of record rec, mask), at once or once vetted. */
static void
entity_store(const struct admin_entity *e, struct conn *c, uint16_t type,
    const void *req, storec_cb cb, void *rec, uint64_t mask, int patch)
{
	struct vetting *v;
	int rc;

	if (e->vet == NULL) {
		entity_ask(e, c, type, req, cb);
		return;
	}
	if ((v = malloc(sizeof(*v))) == NULL) {
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	*v = (struct vetting){ .e = e, .type = type, .cb = cb, .c = c };
	penc_init(&v->enc);
	if (st_req_encode(&v->enc, type, req) < 0) {
		vetting_free(v);
		conn_send_error(c, 500, admin_headers, "Internal server error");
		return;
	}
	c->hctx = v;
	c->abort = vetting_abort;
	if ((rc = e->vet(c, rec, mask, patch, &v->state)) == 1) {
		credwatch_start(&v->watch, c, 0, vetting_gone, v);
		return;
	}
	conn_let_go(c);
	if (rc == 0)
		entity_ask(e, c, type, req, cb);
	vetting_free(v);
}

/* why, a vet's refusal, as e's 400 says it. */
static const char *
vet_text(const struct admin_entity *e, const char *why)
{
	return why != NULL && e->vet_why != NULL ? e->vet_why(why) : why;
}

/*
 * A vet's verdict on the record c's vetting holds: NULL stores it (as
 * the create or update that asked for it), else why is the 400's text.
 */
static void
entity_vetted(void *arg, const char *why)
{
	struct conn *c = arg;
	struct vetting *v = c->hctx;
	char err[ERR_MAX];

	c->abort = NULL;
	c->hctx = (void *)v->e;
	if (why != NULL) {
		field_text(v->e, vet_text(v->e, why), err, sizeof(err));
		conn_send_error(c, 400, admin_headers, err);
	} else if (storec_send_as(&c->who, v->type, &v->enc, v->cb, c,
	    &c->sreq) < 0)
		conn_send_error(c, 503, admin_headers, "Storage unavailable");
	vetting_free(v);
}

const char *
admin_entity_id(const struct admin_entity *e, struct conn *c,
    const struct route_match *m, int change)
{
	const char *id = admin_path_id(c, m, e->id_valid, e->not_found);

	if (id == NULL)
		return NULL;
	if (change && e->builtin != NULL && strcmp(id, e->builtin) == 0) {
		conn_send_error(c, 409, admin_headers, e->builtin_ro);
		return NULL;
	}
	return id;
}

/*
 * The request's record, in u (zeroed here; free its record with
 * st_req_free), from its starting values and the body, and *mask: the
 * record, or NULL when the request has been answered (400).
 */
static void *
entity_body(const struct admin_entity *e, struct conn *c,
    struct http_request *req, union st_any *u, uint64_t *mask, int patch)
{
	char err[ERR_MAX];
	json_t *root;
	void *rec;
	int rv;

	memset(u, 0, sizeof(*u));
	rec = e->update_req(u, NULL, 0);
	e->start(rec, patch);
	if ((root = admin_json_body(c, req)) == NULL)
		return NULL;
	rv = admin_entity_from_json(e, root, rec, mask, patch, err,
	    sizeof(err));
	json_decref(root);
	if (rv < 0) {
		conn_send_error(c, 400, admin_headers, err);
		return NULL;
	}
	return rec;
}

void
admin_entity_list(const struct admin_entity *e, struct conn *c)
{
	entity_ask(e, c, e->list, NULL, listed);
}

void
admin_entity_create(const struct admin_entity *e, struct conn *c,
    struct http_request *req)
{
	union st_any u;
	uint64_t mask;
	void *rec;

	/* A record is its own create request. */
	if ((rec = entity_body(e, c, req, &u, &mask, 0)) != NULL)
		entity_store(e, c, e->create, rec, created, rec, mask, 0);
	st_req_free(e->create, e->update_req(&u, NULL, 0));
}

void
admin_entity_get(const struct admin_entity *e, struct conn *c,
    const struct route_match *m)
{
	struct st_id_req one;

	if ((one.id = admin_entity_id(e, c, m, 0)) == NULL)
		return;
	if (e->builtin == NULL || strcmp(one.id, e->builtin) != 0) {
		entity_ask(e, c, e->get, &one, got);
		return;
	}
	admin_send_json(c, 200, e->builtin_json());
}

void
admin_entity_update(const struct admin_entity *e, struct conn *c,
    struct http_request *req, const struct route_match *m)
{
	union st_any u;
	const char *id;
	uint64_t mask;
	void *rec;

	if ((id = admin_entity_id(e, c, m, 1)) == NULL)
		return;
	if ((rec = entity_body(e, c, req, &u, &mask, 1)) != NULL) {
		(void)e->update_req(&u, id, mask);
		entity_store(e, c, e->update, &u, updated, rec, mask, 1);
	}
	st_req_free(e->create, e->update_req(&u, NULL, 0));
}

void
admin_entity_delete(const struct admin_entity *e, struct conn *c,
    const struct route_match *m)
{
	struct st_id_req one;

	if ((one.id = admin_entity_id(e, c, m, 1)) == NULL)
		return;
	/* storaged refuses it too; this says why, as a conflict. */
	if (e->kept != NULL && strcmp(one.id, e->kept) == 0) {
		conn_send_error(c, 409, admin_headers, e->kept_text);
		return;
	}
	entity_ask(e, c, e->del, &one, deleted);
}

int
admin_vet_url(struct conn *c, struct url_target *t, void **state)
{
	const struct vetting *v = c->hctx;
	const char *why;
	int rc;

	if ((rc = urlpol_check_literal(t, &why)) == 0)
		return 0;
	if (rc < 0) {
		conn_send_error(c, 400, admin_headers, vet_text(v->e, why));
		return -1;
	}
	if ((*state = notify_lookup_start(t, 0, c->who.org, entity_vetted,
	    c)) == NULL) {
		conn_send_error(c, 503, admin_headers,
		    "Too many URLs being checked; try again");
		return -1;
	}
	return 1;
}

void
admin_vet_url_cancel(void *state)
{
	notify_lookup_cancel(state);
}
