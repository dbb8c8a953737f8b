/*
 * Helpers for workerd's unit tests: a fake storaged that listens on a real
 * Unix socket and speaks the protocol (HELLO, replies by id), and a way to
 * drive the event loop until something happened. The peer_expect*
 * helpers assert with cmocka: include this after <cmocka.h>.
 */
#ifndef PARLEY_TEST_PEER_H
#define PARLEY_TEST_PEER_H

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin.h"
#include "log.h"
#include "msgtab.h"
#include "stmsgs.h"
#include "storemsg.h"
#include "test_util.h"
#include "workerd.h"

struct peer {
	char dir[64];
	char path[128];
	int lfd;		/* listening */
	struct pchan ch;	/* the accepted worker connection */
	int up;
};

/* A received request, copied out of the channel buffer. */
struct peer_req {
	uint16_t type;
	uint16_t flags;
	uint32_t id;
	uint8_t payload[4096];
	size_t len;
	/*
	 * Who asks, read off the payload's start as storaged does, for the
	 * types that carry it (msgtab.h); has_who 0 for the others.
	 */
	struct st_who who;
	int has_who;
};

/* Runs the loop in small steps until *flag is set or ms pass. */
static inline int
drive_until(const int *flag, int ms)
{
	uint64_t end = loop_clock() + (uint64_t)ms;

	/*
	 * At least one turn of the loop: a test descheduled past end (a
	 * loaded machine) still sees what was already there to see.
	 */
	if (flag == NULL || !*flag)
		do
			loop_once(5);
		while ((flag == NULL || !*flag) && loop_clock() < end);
	return flag == NULL ? 1 : *flag;
}

static inline void
drive_ms(int ms)
{
	drive_until(NULL, ms);
}

static inline void
peer_path(struct peer *p)
{
	strlcpy(p->dir, "/tmp/parley-test-XXXXXX", sizeof(p->dir));
	if (mkdtemp(p->dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(p->path, sizeof(p->path), "%s/storaged.sock", p->dir);
	p->lfd = -1;
	p->up = 0;
}

static inline void
peer_listen(struct peer *p)
{
	struct sockaddr_un sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, p->path, sizeof(sun.sun_path));
	unlink(p->path);
	if ((p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(p->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    listen(p->lfd, 16) < 0) {
		perror("peer listen");
		abort();
	}
}

static inline void
peer_unlisten(struct peer *p)
{
	if (p->lfd >= 0)
		close(p->lfd);
	p->lfd = -1;
	unlink(p->path);
}

/* Queues ST_EV_ROLE, as storaged says it after its HELLO: 0 or -1. */
static inline int
peer_say_role(struct peer *p, int role, const char *primary)
{
	struct st_ev_role m;
	struct penc e;
	int rc;

	memset(&m, 0, sizeof(m));
	m.role = (uint8_t)role;
	strlcpy(m.primary, primary, sizeof(m.primary));
	penc_init(&e);
	rc = st_req_encode(&e, PROTO_ST_EV_ROLE, &m) < 0 ? -1 :
	    pchan_send(&p->ch, PROTO_ST_EV_ROLE, 0, 0, e.buf, e.len, -1);
	penc_free(&e);
	return rc;
}

/*
 * Accepts the worker's connection, driving the loop meanwhile, and says
 * it is role (ST_EV_ROLE) with primary named; as primary, waits (within
 * ms) until storec has heard it.
 */
static inline int
peer_accept_as(struct peer *p, int role, const char *primary, int ms)
{
	struct pollfd pfd;
	uint64_t end = loop_clock() + (uint64_t)ms;
	int fd;

	while (loop_clock() < end) {
		pfd.fd = p->lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) == 1) {
			if ((fd = accept(p->lfd, NULL, NULL)) < 0)
				return -1;
			if (pchan_init(&p->ch, fd, "parley-storaged") < 0 ||
			    peer_say_role(p, role, primary) < 0 ||
			    pchan_flush_wait(&p->ch, 1000) < 0)
				return -1;
			p->up = 1;
			/* Usable once it has read that we are the primary. */
			while (role == ST_REPL_PRIMARY &&
			    !storec_connected() && loop_clock() < end)
				loop_once(5);
			return 0;
		}
		loop_once(5);
	}
	return -1;
}

/* A storaged that says it is the primary. */
static inline int
peer_accept(struct peer *p, int ms)
{
	return peer_accept_as(p, ST_REPL_PRIMARY, "", ms);
}

/* Points storec at p and waits till they are connected; 0 or -1. */
static inline int
peer_connect(struct peer *p)
{
	if (storec_connected())
		return 0;
	peer_listen(p);
	storec_init(p->path);
	if (peer_accept(p, 2000) < 0)
		return -1;
	drive_ms(10);
	return storec_connected() ? 0 : -1;
}

static inline void
peer_close(struct peer *p)
{
	if (p->up)
		pchan_close(&p->ch);
	p->up = 0;
}

/* Waits for the next request (the loop runs so the worker flushes). */
/* Who asks off r's payload when its type carries it (it must). */
static inline void
peer_take_who(struct peer_req *r)
{
	const struct proto_msg *m = proto_msg(r->type);
	struct pdec d;

	if (m == NULL || !m->who)
		return;
	pdec_init(&d, r->payload, r->len);
	if (pdec_who(&d, &r->who) < 0)
		fail_msg("%s without who asks", proto_msg_name(r->type));
	r->has_who = 1;
	memmove(r->payload, r->payload + d.off, r->len - d.off);
	r->len -= d.off;
}

static inline int
peer_recv(struct peer *p, struct peer_req *r, int ms)
{
	struct pmsg m;
	uint64_t end = loop_clock() + (uint64_t)ms;
	ssize_t n;
	int rv;

	memset(r, 0, sizeof(*r));
	while (loop_clock() < end) {
		if ((rv = pchan_next(&p->ch, &m)) < 0)
			return -1;
		if (rv == 1) {
			r->type = m.hdr.type;
			r->flags = m.hdr.flags;
			r->id = m.hdr.id;
			r->len = m.hdr.len < sizeof(r->payload) ?
			    m.hdr.len : sizeof(r->payload);
			memcpy(r->payload, m.payload, r->len);
			peer_take_who(r);
			if (m.fd >= 0)
				close(m.fd);
			return 0;
		}
		n = pchan_read(&p->ch);
		if (n == 0)
			return -1;
		if (n < 0 && errno != EAGAIN)
			return -1;
		loop_once(5);
	}
	return -1;
}

/* A reply with flags besides PROTO_F_REPLY (PROTO_F_EARLY). */
static inline void
peer_reply_flags(struct peer *p, const struct peer_req *r, uint16_t flags,
    const void *payload, size_t len)
{
	if (pchan_send(&p->ch, r->type, PROTO_F_REPLY | flags, r->id, payload,
	    len, -1) < 0 || pchan_flush_wait(&p->ch, 1000) < 0)
		abort();
}

static inline void
peer_reply(struct peer *p, const struct peer_req *r, const void *payload,
    size_t len)
{
	peer_reply_flags(p, r, 0, payload, len);
}

/* e's bytes as the reply; e is freed. */
static inline void
peer_reply_enc(struct peer *p, const struct peer_req *r, struct penc *e)
{
	assert_false(e->err);
	peer_reply(p, r, e->buf, e->len);
	penc_free(e);
}

/*
 * rep, the struct of r's reply (stmsgs.h), encoded by the message table
 * and sent whole (cut 0), a byte short (cut -1: not for an empty reply)
 * or a byte over (cut 1).
 */
static inline void
peer_reply_cut(struct peer *p, const struct peer_req *r, const void *rep,
    int cut)
{
	struct penc e;

	penc_init(&e);
	assert_int_equal(st_rep_encode(&e, r->type, rep), 0);
	if (cut > 0)
		penc_u8(&e, 0);
	assert_true(cut >= 0 || e.len > 0);
	if (cut < 0)
		e.len--;
	peer_reply_enc(p, r, &e);
}

static inline void
peer_error(struct peer *p, const struct peer_req *r, uint32_t code,
    const char *msg)
{
	if (pchan_send_error(&p->ch, r->type, r->id, code, msg) < 0 ||
	    pchan_flush_wait(&p->ch, 1000) < 0)
		abort();
}

/*
 * The next request (within 10 s: a hang guard, long enough for a loaded
 * machine under ASan); it must be of type.
 */
static inline void
peer_expect(struct peer *p, struct peer_req *pr, uint16_t type)
{
	assert_int_equal(peer_recv(p, pr, 10000), 0);
	if (pr->type != type)
		fail_msg("request %s, want %s", proto_msg_name(pr->type),
		    proto_msg_name(type));
}

/*
 * The next request is the setup note (workerd/admin/setup.c, issue 24) of
 * reason, for public widget_id ("" the chat API's) from origin (NULL
 * none); answered empty.
 */
static inline void
peer_expect_setup_note(struct peer *p, uint8_t reason, const char *widget_id,
    const char *origin)
{
	struct st_setup_note_req q;
	struct peer_req pr;

	peer_expect(p, &pr, PROTO_ST_SETUP_NOTE);
	memset(&q, 0, sizeof(q));
	assert_int_equal(st_req_decode(PROTO_ST_SETUP_NOTE, pr.payload, pr.len,
	    &q), 0);
	assert_int_equal(q.reason, reason);
	assert_string_equal(q.widget_id, widget_id);
	assert_string_equal(q.origin, origin != NULL ? origin : "");
	st_req_free(PROTO_ST_SETUP_NOTE, &q);
	peer_reply(p, &pr, NULL, 0);
}

/* No request comes within ms. */
static inline void
peer_expect_none(struct peer *p, int ms)
{
	struct peer_req pr;

	assert_int_equal(peer_recv(p, &pr, ms), -1);
}

static inline void
peer_cleanup(struct peer *p)
{
	peer_close(p);
	peer_unlisten(p);
	rmdir(p->dir);
}

/* A fresh loop and worker configuration, and p's socket path. */
static inline void
peer_setup(struct peer *p)
{
	loop_init();
	worker_conf_defaults();
	peer_path(p);
}

/* Forgets storaged's connection, then the fake storaged. */
static inline void
peer_teardown(struct peer *p)
{
	storec_shutdown();
	peer_cleanup(p);
}

/* settings_parse's lookup in kv: name, value pairs, NULL-terminated. */
static inline const char *
test_kv_get(const char *name, void *arg)
{
	const char **kv = arg;

	for (; kv[0] != NULL; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

/* wsettings from kv (as test_kv_get reads it), and CORS from them. */
static inline void
test_settings(const char **kv)
{
	char err[SETTINGS_ERR_MAX];

	settings_free(&wsettings);
	if (settings_parse(&wsettings, test_kv_get, kv, err,
	    sizeof(err)) < 0) {
		fprintf(stderr, "settings: %s\n", err);
		abort();
	}
	cors_init(&wsettings);
}

/* The last test_cors_origin(), which test_settings_env() keeps. */
static const char *test_cors_last;

static inline const char *
test_env_get(const char *name, void *arg)
{
	if (strcmp(name, "CORS_ORIGIN") == 0 && test_cors_last != NULL)
		return test_cors_last;
	return settings_env(name, arg);
}

/*
 * wsettings from the environment, for tests that setenv() (workerd itself
 * gets them from masterd), keeping the last CORS_ORIGIN set.
 */
static inline void
test_settings_env(void)
{
	char err[SETTINGS_ERR_MAX];

	settings_free(&wsettings);
	if (settings_parse_for(&wsettings, SETTINGS_P_WORKERD, test_env_get,
	    NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "settings: %s\n", err);
		abort();
	}
	cors_init(&wsettings);
}

/* The defaults with CORS_ORIGIN set to cors. */
static inline void
test_cors_origin(const char *cors)
{
	const char *kv[] = { "CORS_ORIGIN", cors, NULL };

	test_cors_last = cors;
	test_settings(kv);
}

/* peer_setup, CORS for origin and the admin API's key. */
static inline void
peer_admin_setup(struct peer *p, const char *origin, const char *key)
{
	peer_setup(p);
	test_cors_origin(origin);
	admin_init(key);
}

/* peer_teardown, then settings and the admin API forgotten. */
static inline void
peer_admin_teardown(struct peer *p)
{
	peer_teardown(p);
	cors_shutdown();
	settings_free(&wsettings);
	admin_init(NULL);
}

/* v as compact JSON (malloc'd); v is freed. */
static inline char *
test_dump(json_t *v)
{
	char *s;

	if (v == NULL || (s = json_dumps(v, JSON_COMPACT |
	    JSON_ENCODE_ANY)) == NULL) {
		fprintf(stderr, "test_dump: no JSON\n");
		abort();
	}
	json_decref(v);
	return s;
}

/*
 * payload as type's reply made JSON by fn (admin_reply_json), *status
 * (NULL: not wanted) preset to 200; NULL when it does not decode.
 */
static inline json_t *
test_reply_json(uint16_t type, admin_json_fn fn, const void *payload,
    size_t len, int *status)
{
	struct storec_result r;
	int st;

	if (status == NULL)
		status = &st;
	*status = 200;
	memset(&r, 0, sizeof(r));
	r.status = STOREC_OK;
	r.message = "";
	r.payload = payload;
	r.len = len;
	return admin_reply_json(&r, type, fn, status);
}

/* fn's JSON of an empty last page (u64 0, u32 0, str ""), as test_dump. */
static inline char *
test_empty_page(uint16_t type, admin_json_fn fn)
{
	struct penc e;
	char *s;

	penc_init(&e);
	penc_u64(&e, 0);
	penc_u32(&e, 0);
	penc_str(&e, "");
	s = test_dump(test_reply_json(type, fn, e.buf, e.len, NULL));
	penc_free(&e);
	return s;
}

#endif
