/*
 * Long answers that end with the credential they were asked with
 * (admin.h's credwatch): an event stream, a conversation export, a
 * contact's export; and a write held before it is sent, a record whose
 * URL's name is being resolved (entity.c's vet), a password change being
 * hashed (profile.c). Each request's credential is checked once, when
 * it begins; one that ends meanwhile (a key deleted, a session logged out
 * or past its expiry, a user removed, disabled or given another role:
 * storaged tells every worker, ST_EV_CRED_GONE and ST_EV_USER_GONE) must
 * not go on reading pages of an organisation for a caller who may no
 * longer read them, nor have a write stored as it was (storaged takes
 * who asks, and its role, as the worker says). The watch is written once
 * here: storaged's word, the session's expiry, the list. The list also
 * bounds an organisation's downloads at once in a worker: each may hold
 * a page of rows (megabytes of messages) for a reader that takes its
 * time.
 */
#include <sys/queue.h>

#include <string.h>

#include "admin.h"
#include "log.h"
#include "workerd.h"

static TAILQ_HEAD(, credwatch) watches = TAILQ_HEAD_INITIALIZER(watches);

/*
 * storaged's credential end, decoded into one of these (ST_EV_USER_GONE:
 * a user's sessions but keep; ST_EV_CRED_GONE: a session, a key, or a
 * whole organisation).
 */
struct gone {
	uint16_t type;
	union {
		struct st_user_gone user;
		struct st_cred_gone cred;
	} u;
};

/* 1 when g ends w's credential (its session, its key, its organisation). */
static int
gone_hits(const struct gone *g, const struct st_who *w)
{
	const char *org = admin_who_org(w);

	if (g->type == PROTO_ST_EV_USER_GONE)
		return w->kind == ST_WHO_SESSION &&
		    strcmp(w->user, g->u.user.id) == 0 &&
		    strcmp(w->id, g->u.user.keep) != 0;
	if (g->u.cred.kind == ST_CRED_ORG)
		return strcmp(org, g->u.cred.id) == 0;
	return w->kind == g->u.cred.kind && strcmp(w->id, g->u.cred.id) == 0;
}

/* w no longer watched, then told its credential ended. */
static void
watch_end(struct credwatch *w)
{
	credwatch_stop(w);
	w->ended(w->arg);
}

/* An unasked message of storaged: each watch whose credential it ends ends. */
static void
watch_event(uint16_t type, const uint8_t *payload, size_t len)
{
	struct credwatch *w, *next;
	struct gone g;

	if (type != PROTO_ST_EV_USER_GONE && type != PROTO_ST_EV_CRED_GONE)
		return;
	g.type = type;
	if (st_req_decode(type, payload, len, &g.u) < 0) {
		log_warnx("admin: malformed %s", proto_msg_name(type));
		return;
	}
	for (w = TAILQ_FIRST(&watches); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (gone_hits(&g, &w->c->who))
			watch_end(w);
	}
}

/* The dashboard session w's answer was asked with is past its expiry. */
static void
watch_expired(void *arg)
{
	watch_end(arg);
}

void
credwatch_start(struct credwatch *w, struct conn *c, int download,
    void (*ended)(void *), void *arg)
{
	uint64_t now;

	w->c = c;
	w->download = download;
	w->ended = ended;
	w->arg = arg;
	w->on = 1;
	TAILQ_INSERT_TAIL(&watches, w, entry);
	storec_on_event(watch_event);	/* a no-op after the first */
	loop_timer_init(&w->expiry, watch_expired, w);
	/* A session's end is known: checked once, it would outlive it. */
	if (c->who.kind != ST_WHO_SESSION || c->session_expires == 0)
		return;
	now = proto_wall_ms();
	loop_timer_after(&w->expiry, c->session_expires > now ?
	    c->session_expires - now : 0);
}

void
credwatch_stop(struct credwatch *w)
{
	if (w->on) {
		TAILQ_REMOVE(&watches, w, entry);
		loop_timer_stop(&w->expiry);
	}
	w->on = 0;
}

void
credwatch_answer(struct conn *c, int started, const char *what)
{
	storec_cancel(c->sreq);
	c->sreq = NULL;
	log_info("%s: its credential ended; %s", what, started ?
	    "the download is cut" : "answered 401");
	if (started)
		conn_close(c, "download cut: its credential ended");
	else
		conn_send_error(c, 401, admin_headers, "Unauthorized: the "
		    "credential this download was asked with has ended");
}

int
credwatch_downloads_full(const struct conn *c)
{
	const struct credwatch *w;
	const char *org = admin_who_org(&c->who);
	int n = 0;

	TAILQ_FOREACH(w, &watches, entry)
		n += w->download && strcmp(admin_who_org(&w->c->who), org) == 0;
	return n >= CREDWATCH_DOWNLOADS_ORG;
}

int
credwatch_refuse_download(struct conn *c)
{
	if (!credwatch_downloads_full(c))
		return 0;
	conn_send_error(c, 503, admin_headers, "Too many of this "
	    "organization's exports at once; try again when one has ended");
	return 1;
}
