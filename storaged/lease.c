/*
 * The lease state machine (lease.h): a thread that polls etcd as a
 * follower, campaigns when the primary key is gone and it may, renews the
 * lease as primary and gives it up in time; the loop side that turns what
 * the thread decided into callbacks.
 *
 * Why the old primary has stopped before any other can start (the fence):
 * a renewal sent at t (our boot-time clock, CLOCK_BOOTTIME: it counts a
 * suspend, which the monotonic clock does not, so a primary resumed from
 * one is past its fence at once) that succeeds makes etcd
 * expire the lease at the earliest TTL after it received the renewal,
 * which is after t. We stop taking writes at t + TTL - margin (margin =
 * max(1 s, TTL / 5)) unless a later renewal succeeded, and only then
 * revoke. The primary key goes with the lease, and a standby can put it
 * only once it is gone: so the old primary stops at least a margin before
 * a new one can start. This assumes the rates of the clocks (ours, etcd's
 * leader's), not the clocks themselves, agree within margin / TTL (20 %
 * at TTL 5 s), and that the loop acts on the fence within the margin (it
 * is told through a pipe; lease_writable() reads the deadline itself, so
 * a write checked against it is refused on time even if the loop is
 * late).
 */
#include <sys/epoll.h>
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "etcd.h"
#include "lease.h"
#include "log.h"
#include "loop.h"
#include "proto.h"

#define REQ_MS		1000	/* the longest one etcd call may take */
#define RETRY_MS	200	/* a failed renewal or sync is tried again */
#define CLUSTER_MAX	64	/* PARLEY_CLUSTER_NAME's bytes */

enum role { ROLE_NONE, ROLE_FOLLOW, ROLE_PRIMARY, ROLE_FENCED };

/* What the thread decided, as the loop reads it. */
struct view {
	enum role role;
	uint64_t term;			/* ours (PRIMARY, FENCED), else the primary's */
	char addr[LEASE_ADDR_MAX];	/* FOLLOW: the primary's */
};

/* A lease_set_sync() request, for the term it was made in. */
struct sync_req {
	TAILQ_ENTRY(sync_req) entry;
	uint64_t term;
	char addr[LEASE_ADDR_MAX];
	uint64_t dterm, seq;		/* the standby's data, named */
	void (*done)(void *);
	void *arg;
};
TAILQ_HEAD(sync_q, sync_req);

/* The cluster's keys as one poll read them (absent: 0 and ""). */
struct seen {
	int64_t rev;
	int primary, sync, holder;	/* present */
	char paddr[LEASE_ADDR_MAX];
	uint64_t pterm;
	char saddr[LEASE_ADDR_MAX];	/* sync's address ("?": unreadable) */
	uint64_t sterm, sseq;		/* sync's data; 0: an older value */
	int64_t smod;
	char haddr[LEASE_ADDR_MAX];
	uint64_t hterm;
	int64_t hmod;
};

struct lease {
	/* Set by lease_start(), read-only after. */
	char advertise[LEASE_ADDR_MAX];
	char cluster[CLUSTER_MAX + 1];
	char prefix[ETCD_KEY_MAX];	/* /<cluster>/ */
	char kprimary[ETCD_KEY_MAX], ksync[ETCD_KEY_MAX];
	char kholder[ETCD_KEY_MAX];
	unsigned int ttl_s;
	long long ttl_ms, margin_ms, renew_ms, poll_ms;
	struct lease_cbs cbs;
	pthread_t thread;
	/* Between the thread and the loop, under mu. */
	pthread_mutex_t mu;
	pthread_cond_t cv;		/* on the monotonic clock (cv_until) */
	int quit;
	int kick;			/* a request or an answer came */
	struct view view;
	uint64_t fenced_term;		/* the loop stopped writes of this term */
	struct sync_q todo, done;
	/* Written by the thread, read by lease_writable(). */
	_Atomic long long deadline;
	/* Written by the loop (lease_set_data), read by the thread. */
	_Atomic uint64_t data_term, data_seq;
	/* The loop's. */
	int pipe[2];
	struct loop_io io;
	struct view applied;
	/* The thread's. */
	struct etcd *etcd;
	int64_t id;			/* our lease while primary, else 0 */
	uint64_t term;
	int64_t primary_rev;		/* our primary key's mod revision */
	long long sent_at;		/* the last renewal that succeeded */
	long long fence_at, renew_at, sync_at;
	char said[ETCD_ERR_MAX + 128];	/* the last repeated line logged */
};

long long
lease_margin_ms(unsigned int ttl_s)
{
	long long m = (long long)ttl_s * 1000 / 5;

	return m > 1000 ? m : 1000;
}

/* Three tries before the fence, whatever the TTL. */
long long
lease_renew_ms(unsigned int ttl_s)
{
	return ((long long)ttl_s * 1000 - lease_margin_ms(ttl_s)) / 3;
}

long long
lease_poll_ms(unsigned int ttl_s)
{
	long long p = (long long)ttl_s * 1000 / 4;

	return p < 200 ? 200 : p > 1000 ? 1000 : p;
}

int
lease_parse_value(const char *s, char *addr, size_t addrsz, uint64_t *term)
{
	json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	const char *a = json_string_value(json_object_get(j, "addr"));
	json_t *t = json_object_get(j, "term");
	int rc = -1;

	if (a != NULL && json_is_integer(t) && json_integer_value(t) > 0 &&
	    strlcpy(addr, a, addrsz) < addrsz) {
		*term = (uint64_t)json_integer_value(t);
		rc = 0;
	}
	json_decref(j);
	return rc;
}

int
lease_parse_sync(const char *s, char *addr, size_t addrsz, uint64_t *term,
    uint64_t *seq)
{
	json_t *j, *t, *q;
	const char *a;
	int rc = -1;

	*term = *seq = 0;
	if (s[0] != '{')
		/* An older storaged's value: the address alone. */
		return strlcpy(addr, s, addrsz) < addrsz ? 0 : -1;
	j = json_loads(s, JSON_REJECT_DUPLICATES, NULL);
	a = json_string_value(json_object_get(j, "addr"));
	t = json_object_get(j, "term");
	q = json_object_get(j, "seq");
	if (a != NULL && a[0] != '\0' && json_is_integer(t) &&
	    json_integer_value(t) > 0 && json_is_integer(q) &&
	    json_integer_value(q) >= 0 && strlcpy(addr, a, addrsz) < addrsz) {
		*term = (uint64_t)json_integer_value(t);
		*seq = (uint64_t)json_integer_value(q);
		rc = 0;
	}
	json_decref(j);
	return rc;
}

int
lease_may_campaign(const char *advertise, uint64_t term, uint64_t seq,
    int has_sync, const char *saddr, uint64_t sterm, uint64_t sseq,
    int has_holder, const char *haddr, uint64_t hterm, const char **why)
{
	int named_sync = has_sync && strcmp(saddr, advertise) == 0;
	int named_holder = has_holder && strcmp(haddr, advertise) == 0;

	if (!has_sync && !has_holder)
		return 1;	/* a new cluster */
	if (!named_sync && !named_holder) {
		*why = "etcd names another";
		return 0;
	}
	if (term == 0) {
		*why = "this data is new (no term): it is not the data etcd "
		    "names";
		return 0;
	}
	/*
	 * An older storaged's sync value names the address alone. A later
	 * term than the one named: this data followed the stream past its
	 * naming (the primary won the lease again, a term record), and
	 * while etcd names it, nothing acknowledged is missing from it.
	 */
	if (named_sync && (sterm == 0 || term > sterm ||
	    (term == sterm && seq >= sseq)))
		return 1;
	/*
	 * The last primary's data, of its term, with fewer records than
	 * the standby in sync had when it was named: records it
	 * acknowledged are gone from it (restored from an older backup, or
	 * PARLEY_SYNC=interval's unsynced tail lost). The standby has them
	 * and takes the lease; this data, following it, takes its snapshot.
	 */
	if (named_holder && term >= hterm && has_sync && !named_sync &&
	    sterm != 0 && term == sterm && seq < sseq) {
		*why = "this data lacks records the standby in sync holds (the "
		    "last primary's, restored from an older backup?)";
		return 0;
	}
	if (named_holder && term >= hterm)
		return 1;
	*why = named_sync ? "this data is not the data named in sync (its "
	    "term is older, or it lacks records)" : "this data is older than "
	    "the last primary's (its term)";
	return 0;
}

/* ------------------------------------------------------------ thread */

/*
 * A line about a condition that may last (etcd unreachable, not allowed
 * to campaign): logged when it changes, not at every poll.
 */
static void __attribute__((format(printf, 2, 3)))
note(struct lease *l, const char *fmt, ...)
{
	char line[sizeof(l->said)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (strcmp(line, l->said) == 0)
		return;
	strlcpy(l->said, line, sizeof(l->said));
	if (line[0] != '\0')
		log_warnx("lease: %s", line);
}

/* Wakes the loop (one byte; a full pipe has woken it already). */
static void
wake_loop(struct lease *l)
{
	ssize_t n;

	do
		n = write(l->pipe[1], "", 1);
	while (n < 0 && errno == EINTR);
}

/* Publishes a new view for the loop. */
static void
tell(struct lease *l, enum role role, uint64_t term, const char *addr)
{
	int changed;

	pthread_mutex_lock(&l->mu);
	changed = l->view.role != role || l->view.term != term ||
	    strcmp(l->view.addr, addr) != 0;
	l->view.role = role;
	l->view.term = term;
	strlcpy(l->view.addr, addr, sizeof(l->view.addr));
	pthread_mutex_unlock(&l->mu);
	if (changed)
		wake_loop(l);
}

/*
 * Waits on cv (l->mu held) until boot-time at at the latest: a condition
 * variable takes no CLOCK_BOOTTIME (EINVAL), so until the monotonic time
 * as far off. A suspend meanwhile makes the wait end late; the caller
 * reads the boot-time clock again (and lease_writable never waits).
 */
static void
cv_until(struct lease *l, long long at)
{
	long long m = proto_mono_ms() + (at - proto_boot_ms());
	struct timespec ts;

	if (m < 0)
		m = 0;
	ts.tv_sec = m / 1000;
	ts.tv_nsec = (m % 1000) * 1000000;
	pthread_cond_timedwait(&l->cv, &l->mu, &ts);
}

/* Sleeps until at (boot-time ms), a kick, or the stop. */
static void
sleep_until(struct lease *l, long long at)
{
	pthread_mutex_lock(&l->mu);
	while (!l->quit && !l->kick && proto_boot_ms() < at)
		cv_until(l, at);
	l->kick = 0;
	pthread_mutex_unlock(&l->mu);
}

static int
stopping(struct lease *l)
{
	int q;

	pthread_mutex_lock(&l->mu);
	q = l->quit;
	pthread_mutex_unlock(&l->mu);
	return q;
}

/* The timeout of a call made as primary: never past the fence. */
static int
primary_timeout(const struct lease *l)
{
	long long left = l->fence_at - proto_boot_ms();

	return (int)(left < 1 ? 1 : left > REQ_MS ? REQ_MS : left);
}

/* Frees the requests of q, done or not (their callbacks are not called). */
static void
drop_requests(struct sync_q *q)
{
	struct sync_req *r;

	while ((r = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, r, entry);
		free(r);
	}
}

/*
 * Stops being primary: the deadline goes (lease_writable says no at once),
 * the loop is told and fences; only once it did, the lease is revoked. If
 * the loop does not answer before the lease would expire anyway, etcd
 * expires it and we revoke nothing.
 */
static void
give_up(struct lease *l, const char *why)
{
	long long expiry = l->sent_at + l->ttl_ms;
	int acked;

	atomic_store(&l->deadline, 0);
	log_warnx("lease: giving up primary of %s, term %llu: %s (at wall ms "
	    "%llu)", l->cluster, (unsigned long long)l->term, why,
	    (unsigned long long)proto_wall_ms());
	tell(l, ROLE_FENCED, l->term, "");
	pthread_mutex_lock(&l->mu);
	while (!l->quit && l->fenced_term < l->term &&
	    proto_boot_ms() < expiry)
		cv_until(l, expiry);
	acked = l->fenced_term >= l->term;
	drop_requests(&l->todo);
	pthread_mutex_unlock(&l->mu);
	if (acked && etcd_revoke(l->etcd, l->id, REQ_MS) < 0)
		note(l, "revoking the lease: %s", etcd_error(l->etcd));
	l->id = 0;
}

/* The three keys. 0, or -1 (etcd not reached: noted). */
static int
read_keys(struct lease *l, struct seen *s)
{
	struct etcd_range r;
	const struct etcd_kv *kv;
	size_t i;

	memset(s, 0, sizeof(*s));
	if (etcd_range(l->etcd, l->prefix, REQ_MS, &r) < 0) {
		note(l, "etcd: %s", etcd_error(l->etcd));
		return -1;
	}
	s->rev = r.rev;
	for (i = 0; i < r.n; i++) {
		kv = &r.kvs[i];
		if (strcmp(kv->key, l->kprimary) == 0) {
			s->primary = 1;
			if (lease_parse_value(kv->value, s->paddr,
			    sizeof(s->paddr), &s->pterm) < 0)
				strlcpy(s->paddr, "?", sizeof(s->paddr));
		} else if (strcmp(kv->key, l->ksync) == 0) {
			s->sync = 1;
			s->smod = kv->mod_rev;
			if (lease_parse_sync(kv->value, s->saddr,
			    sizeof(s->saddr), &s->sterm, &s->sseq) < 0)
				strlcpy(s->saddr, "?", sizeof(s->saddr));
		} else if (strcmp(kv->key, l->kholder) == 0) {
			s->holder = 1;
			s->hmod = kv->mod_rev;
			if (lease_parse_value(kv->value, s->haddr,
			    sizeof(s->haddr), &s->hterm) < 0)
				s->haddr[0] = '\0';
		}
	}
	return 0;
}

/*
 * Whether we may campaign: a new cluster (neither sync nor holder yet),
 * or sync names us and our data is the one it was named with (we have
 * every acknowledged write), or holder does and our data is at least of
 * its term (we were the last primary: everything acknowledged was ours).
 * A name alone is not enough: a data directory emptied or replaced since
 * (a disk changed, a standby rebuilt by hand, a mistyped PARLEY_DATA_DIR)
 * would win with nothing, and the other storaged would then take its
 * empty snapshot.
 */
static int
eligible(struct lease *l, const struct seen *s)
{
	uint64_t term = atomic_load(&l->data_term);
	uint64_t seq = atomic_load(&l->data_seq);
	const char *why = "";
	char named[64] = "";

	if (lease_may_campaign(l->advertise, term, seq, s->sync, s->saddr,
	    s->sterm, s->sseq, s->holder, s->haddr, s->hterm, &why))
		return 1;
	if (s->sterm != 0)
		snprintf(named, sizeof(named), " (term %llu, record %llu)",
		    (unsigned long long)s->sterm, (unsigned long long)s->sseq);
	note(l, "not campaigning for %s: the standby in sync is %s%s%s%s, the "
	    "last primary %s (term %llu); this data is of term %llu, record "
	    "%llu: %s", l->cluster, s->saddr[0] != '\0' ? "\"" : "",
	    s->saddr[0] != '\0' ? s->saddr : "none",
	    s->saddr[0] != '\0' ? "\"" : "", named, s->haddr,
	    (unsigned long long)s->hterm, (unsigned long long)term,
	    (unsigned long long)seq, why);
	return 0;
}

/* sync's value: "" for none, else {"addr": addr, "term": n, "seq": n}. */
static int
make_sync_value(const struct sync_req *r, char *buf, size_t bufsz)
{
	json_t *j;
	int n;

	if (r->addr[0] == '\0') {
		buf[0] = '\0';
		return 0;
	}
	j = json_pack("{s:s,s:I,s:I}", "addr", r->addr, "term",
	    (json_int_t)r->dterm, "seq", (json_int_t)r->seq);
	n = j != NULL ? json_dumpb(j, buf, bufsz - 1, JSON_COMPACT) : 0;
	json_decref(j);
	if (n <= 0 || (size_t)n >= bufsz)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* {"addr": advertise, "term": term} into buf. 0 or -1. */
static int
make_value(const struct lease *l, uint64_t term, char *buf, size_t bufsz)
{
	json_t *j = json_pack("{s:s,s:I}", "addr", l->advertise, "term",
	    (json_int_t)term);
	int n = j != NULL ? json_dumpb(j, buf, bufsz - 1, JSON_COMPACT) : 0;

	json_decref(j);
	if (n <= 0 || (size_t)n >= bufsz)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Now primary in term (lease id, granted at t0). */
static void
became_primary(struct lease *l, int64_t id, uint64_t term, int64_t rev,
    long long t0)
{
	l->id = id;
	l->term = term;
	l->primary_rev = rev;
	l->sent_at = t0;
	l->fence_at = t0 + l->ttl_ms - l->margin_ms;
	l->renew_at = t0 + l->renew_ms;
	l->sync_at = 0;
	atomic_store(&l->deadline, l->fence_at);
	note(l, "%s", "");
	log_info("lease: primary of %s in term %llu (at wall ms %llu)",
	    l->cluster, (unsigned long long)term,
	    (unsigned long long)proto_wall_ms());
	tell(l, ROLE_PRIMARY, term, "");
}

/*
 * One try: a lease, then in one txn, provided nobody is primary and sync
 * and holder are as we read them, the primary key on it, holder, and sync
 * emptied (no standby of ours is in sync yet). The term: above the
 * revision we read, holder's, sync's and our data's
 * (lease_campaign_term), so above every earlier term.
 */
static void
campaign(struct lease *l, const struct seen *s)
{
	char value[ETCD_VALUE_MAX];
	uint64_t term = lease_campaign_term(s->rev, s->hterm, s->sterm,
	    atomic_load(&l->data_term));
	long long t0 = proto_boot_ms();
	int64_t id, rev;
	int rc;

	if (make_value(l, term, value, sizeof(value)) < 0)
		return;
	if (etcd_grant(l->etcd, (int)l->ttl_s, REQ_MS, &id) < 0) {
		note(l, "etcd: %s", etcd_error(l->etcd));
		return;
	}
	rc = etcd_txn(l->etcd, (struct etcd_cmp[]){
	    { l->kprimary, ETCD_CREATE, 0 },
	    { l->ksync, ETCD_MOD, s->smod },
	    { l->kholder, ETCD_MOD, s->hmod } }, 3, (struct etcd_put[]){
	    { l->kprimary, value, id },
	    { l->kholder, value, 0 },
	    { l->ksync, "", 0 } }, 3, REQ_MS, &rev);
	if (rc == 1) {
		became_primary(l, id, term, rev, t0);
		return;
	}
	if (rc < 0)
		note(l, "etcd: %s", etcd_error(l->etcd));
	else
		log_info("lease: another storaged was faster to %s's primary "
		    "key", l->cluster);
	/* Lost, or unknown: either way it is not ours (a won txn's key goes). */
	etcd_revoke(l->etcd, id, REQ_MS);
}

uint64_t
lease_campaign_term(int64_t rev, uint64_t hterm, uint64_t sterm,
    uint64_t term)
{
	uint64_t top = rev > 0 ? (uint64_t)rev : 0;

	if (hterm > top)
		top = hterm;
	if (sterm > top)
		top = sterm;
	if (term > top)
		top = term;
	return top + 1;
}

/* As a follower: read, then follow the primary or campaign. */
static long long
follower_step(struct lease *l)
{
	long long t = proto_boot_ms();
	struct seen s;

	if (read_keys(l, &s) < 0)
		return t + l->poll_ms;
	if (s.primary) {
		if (strcmp(s.paddr, l->advertise) == 0)
			note(l, "%s's primary key names us (a lease of an "
			    "earlier run): waiting for it to expire",
			    l->cluster);
		else {
			note(l, "%s", "");
			tell(l, ROLE_FOLLOW, s.pterm, s.paddr);
		}
		return t + l->poll_ms;
	}
	if (eligible(l, &s))
		campaign(l, &s);
	return l->id != 0 ? l->renew_at : t + l->poll_ms;
}

/*
 * One renewal. The fence moves to its send time plus the TTL less the
 * margin. Then a look that the primary key is still the one we put (a
 * key deleted by hand while its lease lives would let another campaign).
 */
static void
renew(struct lease *l)
{
	long long t = proto_boot_ms();
	int64_t ttl_s, rev;
	int rc;

	rc = etcd_keepalive(l->etcd, l->id, primary_timeout(l), &ttl_s);
	if (rc == 0) {
		give_up(l, "the lease expired in etcd");
		return;
	}
	if (rc > 0)
		rc = etcd_txn(l->etcd, (struct etcd_cmp[]){
		    { l->kprimary, ETCD_MOD, l->primary_rev } }, 1, NULL, 0,
		    primary_timeout(l), &rev);
	if (rc == 0) {
		give_up(l, "the primary key is no longer ours");
		return;
	}
	if (rc < 0) {
		note(l, "renewing the lease: %s", etcd_error(l->etcd));
		l->renew_at = proto_boot_ms() + RETRY_MS;
		return;
	}
	note(l, "%s", "");
	if (ttl_s * 1000 < l->ttl_ms)
		l->fence_at = t + ttl_s * 1000 - l->margin_ms;
	else
		l->fence_at = t + l->ttl_ms - l->margin_ms;
	l->sent_at = t;
	l->renew_at = t + l->renew_ms;
	atomic_store(&l->deadline, l->fence_at);
}

/* The oldest sync request of our term: into etcd if the key is ours. */
static void
sync_one(struct lease *l)
{
	struct sync_req *r;
	char value[ETCD_VALUE_MAX];
	int64_t rev;
	int rc;

	pthread_mutex_lock(&l->mu);
	while ((r = TAILQ_FIRST(&l->todo)) != NULL && r->term != l->term) {
		TAILQ_REMOVE(&l->todo, r, entry);
		free(r);
	}
	pthread_mutex_unlock(&l->mu);
	if (r == NULL)
		return;
	/*
	 * An address JSON cannot hold (not UTF-8: a standby's PARLEY_ADVERTISE
	 * is any bytes but controls): no standby is named, the safe way
	 * (none may campaign on sync's word; the last primary may).
	 */
	if (make_sync_value(r, value, sizeof(value)) < 0) {
		log_warnx("lease: %s's standby cannot be named in sync (its "
		    "address is not UTF-8, or too long): none is", l->cluster);
		value[0] = '\0';
	}
	rc = etcd_txn(l->etcd, (struct etcd_cmp[]){
	    { l->kprimary, ETCD_MOD, l->primary_rev } }, 1,
	    (struct etcd_put[]){ { l->ksync, value, 0 } }, 1,
	    primary_timeout(l), &rev);
	if (rc == 0) {
		give_up(l, "the primary key is no longer ours");
		return;
	}
	if (rc < 0) {
		note(l, "recording the standby in sync: %s",
		    etcd_error(l->etcd));
		l->sync_at = proto_boot_ms() + RETRY_MS;
		return;
	}
	if (r->addr[0] != '\0')
		log_info("lease: %s's standby in sync: %s (term %llu, record "
		    "%llu)", l->cluster, r->addr, (unsigned long long)r->dterm,
		    (unsigned long long)r->seq);
	else
		log_info("lease: %s's standby in sync: none", l->cluster);
	pthread_mutex_lock(&l->mu);
	TAILQ_REMOVE(&l->todo, r, entry);
	TAILQ_INSERT_TAIL(&l->done, r, entry);
	pthread_mutex_unlock(&l->mu);
	wake_loop(l);
}

static int
has_requests(struct lease *l)
{
	int n;

	pthread_mutex_lock(&l->mu);
	n = !TAILQ_EMPTY(&l->todo);
	pthread_mutex_unlock(&l->mu);
	return n;
}

/* As primary: fence, renew or sync, whichever is due. */
static long long
primary_step(struct lease *l)
{
	long long t = proto_boot_ms(), next;

	if (t >= l->fence_at) {
		give_up(l, "no renewal succeeded in time");
		return proto_boot_ms() + l->poll_ms;
	}
	if (t >= l->renew_at)
		renew(l);
	if (l->id != 0 && proto_boot_ms() >= l->sync_at && has_requests(l))
		sync_one(l);
	if (l->id == 0)
		return proto_boot_ms() + l->poll_ms;
	next = l->renew_at < l->fence_at ? l->renew_at : l->fence_at;
	if (has_requests(l) && l->sync_at < next)
		next = l->sync_at;
	return next;
}

static void *
lease_main(void *arg)
{
	struct lease *l = arg;
	long long next;

	while (!stopping(l)) {
		next = l->id != 0 ? primary_step(l) : follower_step(l);
		sleep_until(l, next);
	}
	if (l->id != 0) {
		atomic_store(&l->deadline, 0);
		if (etcd_revoke(l->etcd, l->id, REQ_MS) == 0)
			log_info("lease: revoked (term %llu): a standby may "
			    "take over", (unsigned long long)l->term);
		else
			log_warnx("lease: not revoked (%s): it expires within "
			    "%u s", etcd_error(l->etcd), l->ttl_s);
	}
	return NULL;
}

/* ------------------------------------------------------------ loop */

/* Tells the thread the loop has stopped writes of term. */
static void
ack_fence(struct lease *l, uint64_t term)
{
	pthread_mutex_lock(&l->mu);
	if (term > l->fenced_term)
		l->fenced_term = term;
	l->kick = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

/* From what the loop last applied to the thread's view v. */
static void
apply(struct lease *l, const struct view *v)
{
	struct view *a = &l->applied;

	if (a->role == ROLE_PRIMARY && (v->role != ROLE_PRIMARY ||
	    v->term != a->term)) {
		l->cbs.fenced(l->cbs.arg);
		a->role = ROLE_FENCED;
		log_warnx("lease: writes stopped, term %llu (at wall ms %llu)",
		    (unsigned long long)a->term,
		    (unsigned long long)proto_wall_ms());
	}
	if (v->role == ROLE_FENCED)
		ack_fence(l, v->term);
	if (v->role == ROLE_PRIMARY && a->role != ROLE_PRIMARY) {
		*a = *v;
		l->cbs.primary(v->term, l->cbs.arg);
	} else if (v->role == ROLE_FOLLOW && (a->role != ROLE_FOLLOW ||
	    a->term != v->term || strcmp(a->addr, v->addr) != 0)) {
		*a = *v;
		log_info("lease: following %s, term %llu", v->addr,
		    (unsigned long long)v->term);
		l->cbs.follow(v->addr, v->term, l->cbs.arg);
	}
}

static void
lease_io(int fd, uint32_t events, void *arg)
{
	struct lease *l = arg;
	struct sync_q done = TAILQ_HEAD_INITIALIZER(done);
	struct sync_req *r;
	struct view v;
	char b[64];

	while (read(fd, b, sizeof(b)) > 0)
		;
	pthread_mutex_lock(&l->mu);
	v = l->view;
	TAILQ_CONCAT(&done, &l->done, entry);
	pthread_mutex_unlock(&l->mu);
	apply(l, &v);
	while ((r = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, r, entry);
		if (r->done != NULL && l->applied.role == ROLE_PRIMARY &&
		    l->applied.term == r->term)
			r->done(r->arg);
		free(r);
	}
}

void
lease_set_data(struct lease *l, uint64_t term, uint64_t seq)
{
	atomic_store(&l->data_term, term);
	atomic_store(&l->data_seq, seq);
}

void
lease_set_sync(struct lease *l, const char *addr, uint64_t term,
    uint64_t seq, void (*done)(void *), void *arg)
{
	struct sync_req *r;

	if (l->applied.role != ROLE_PRIMARY) {
		log_debug("lease: not primary: the standby in sync (%s) is "
		    "not recorded", addr);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL)
		fatal("lease: sync request");
	r->term = l->applied.term;
	r->dterm = term;
	r->seq = seq;
	strlcpy(r->addr, addr, sizeof(r->addr));
	r->done = done;
	r->arg = arg;
	pthread_mutex_lock(&l->mu);
	TAILQ_INSERT_TAIL(&l->todo, r, entry);
	l->kick = 1;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

int
lease_writable(struct lease *l)
{
	return l->applied.role == ROLE_PRIMARY &&
	    proto_boot_ms() < atomic_load(&l->deadline);
}

/* The keys' names under /<cluster>/ (CLUSTER_MAX bytes: they fit). */
static void
make_keys(struct lease *l, const char *cluster)
{
	strlcpy(l->cluster, cluster, sizeof(l->cluster));
	snprintf(l->prefix, sizeof(l->prefix), "/%s/", l->cluster);
	snprintf(l->kprimary, sizeof(l->kprimary), "/%s/primary", l->cluster);
	snprintf(l->ksync, sizeof(l->ksync), "/%s/sync", l->cluster);
	snprintf(l->kholder, sizeof(l->kholder), "/%s/holder", l->cluster);
}

/* The mutex and the condition variable (on the monotonic clock: cv_until). */
static void
init_sync(struct lease *l)
{
	pthread_condattr_t ca;

	if (pthread_mutex_init(&l->mu, NULL) != 0 ||
	    pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&l->cv, &ca) != 0)
		fatalx("lease: cannot make its mutex");
	pthread_condattr_destroy(&ca);
	TAILQ_INIT(&l->todo);
	TAILQ_INIT(&l->done);
}

struct lease *
lease_start(const struct lease_conf *conf, const struct lease_cbs *cbs)
{
	struct lease *l;
	int rc;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("lease");
	if (strlcpy(l->advertise, conf->advertise, sizeof(l->advertise)) >=
	    sizeof(l->advertise))
		fatalx("lease: PARLEY_ADVERTISE too long");
	make_keys(l, conf->cluster);
	l->ttl_s = conf->ttl_s;
	l->ttl_ms = (long long)conf->ttl_s * 1000;
	l->margin_ms = lease_margin_ms(conf->ttl_s);
	l->renew_ms = lease_renew_ms(conf->ttl_s);
	l->poll_ms = lease_poll_ms(conf->ttl_s);
	l->cbs = *cbs;
	atomic_init(&l->deadline, 0);
	atomic_init(&l->data_term, conf->data_term);
	atomic_init(&l->data_seq, conf->data_seq);
	init_sync(l);
	/* Before any thread: curl's global state is not thread-safe. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("lease: curl_global_init failed");
	if ((l->etcd = etcd_new(conf->endpoints, &(struct etcd_tls){
	    conf->ca, conf->cert, conf->key })) == NULL)
		fatalx("lease: cannot make the etcd client");
	if (pipe2(l->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		fatal("lease: pipe2");
	if (loop_io_add(&l->io, l->pipe[0], EPOLLIN, lease_io, l) < 0)
		fatal("lease: epoll_ctl");
	if ((rc = pthread_create(&l->thread, NULL, lease_main, l)) != 0)
		fatalx("lease: thread: %s", strerror(rc));
	log_info("lease: cluster %s on %s as %s: TTL %u s, writes stop %lld "
	    "ms after the last renewal sent, renewed every %lld ms",
	    l->cluster, conf->endpoints, l->advertise, l->ttl_s,
	    l->ttl_ms - l->margin_ms, l->renew_ms);
	return l;
}

void
lease_stop(struct lease *l)
{
	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	l->quit = 1;
	/* The caller takes no more writes: a lease being given up may go. */
	l->fenced_term = UINT64_MAX;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
	pthread_join(l->thread, NULL);
	loop_io_del(&l->io);
	close(l->pipe[0]);
	close(l->pipe[1]);
	etcd_free(l->etcd);
	drop_requests(&l->todo);
	drop_requests(&l->done);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l);
}
