/*
 * Failover by a lease in etcd (issue 25; storaged/STORAGE.md, "Failover"):
 * which storaged of a cluster is primary, with a term, and when a primary
 * that could not renew its lease must stop taking writes.
 *
 * Keys, under /<PARLEY_CLUSTER_NAME>/:
 *	primary	{"addr": advertise, "term": n}, attached to the primary's lease
 *	holder	the same, without a lease: the last primary, kept
 *	sync	the standby that has every write the primary acknowledged,
 *		{"addr": advertise, "term": n, "seq": n}: its address and the
 *		data it had when named (the primary's term, the last record it
 *		had then); "" none. A value of an older storaged: the address
 *		alone.
 * A storaged campaigns only when primary is absent and it is named by sync
 * or holder (or neither key exists yet: a new cluster), and its data is
 * what they name: sync's term, at least its record (or a later term);
 * at least holder's term; never a new database (no term) while either
 * names anyone. The etcd calls run
 * on a thread of the lease's own; what they decide reaches the loop through
 * a pipe the loop watches, as callbacks.
 */
#ifndef PARLEY_LEASE_H
#define PARLEY_LEASE_H

#include <stddef.h>
#include <stdint.h>

#define LEASE_ADDR_MAX		256	/* PARLEY_ADVERTISE's 255 bytes, NUL */

struct lease_conf {
	const char *endpoints;	/* PARLEY_ETCD */
	const char *cluster;	/* PARLEY_CLUSTER_NAME */
	const char *advertise;	/* PARLEY_ADVERTISE */
	unsigned int ttl_s;	/* PARLEY_LEASE_TTL_S, 2 to 60 */
	/* With https:// endpoints: PARLEY_CLUSTER_CA, _CERT, _KEY. */
	const char *ca, *cert, *key;
	/*
	 * This storaged's data at start: its term (0: none yet), last record
	 * (lease_set_data after): who may campaign, and a term above it.
	 */
	uint64_t data_term, data_seq;
};

/* Called from the loop, in the order the thread decided them. */
struct lease_cbs {
	/* We hold the lease: take writes, in this term. */
	void (*primary)(uint64_t term, void *arg);
	/*
	 * We no longer may write (the lease could not be renewed in time, or
	 * is gone): stop taking and acknowledging writes before returning.
	 * Only after it returns does the lease thread revoke the lease.
	 */
	void (*fenced)(void *arg);
	/* Another storaged (addr) is primary in term: follow it. */
	void (*follow)(const char *addr, uint64_t term, void *arg);
	void *arg;
};

struct lease;

/*
 * Starts the lease thread on conf (copied), its pipe on the loop
 * (loop_init() first). It begins as no role at all: neither primary nor
 * following, until etcd answers. Fatal when out of resources.
 */
struct lease *lease_start(const struct lease_conf *, const struct lease_cbs *);
/*
 * As primary: records in etcd that addr ("" none) is the standby in
 * sync, its data in term with every record up to seq, provided the
 * primary key is still ours; then done(arg) from the loop (done may be
 * NULL). Requests run in order; while etcd cannot be reached, they wait
 * (the primary stays blocked). If the lease is lost first, done is never
 * called (fenced is).
 */
void lease_set_sync(struct lease *, const char *addr, uint64_t term,
    uint64_t seq, void (*done)(void *), void *arg);
/*
 * From the loop, whenever it changes: this storaged's data is in term
 * (0: none, a new database) with records up to seq. A campaign checks it
 * against what sync or holder recorded.
 */
void lease_set_data(struct lease *, uint64_t term, uint64_t seq);
/*
 * Whether a write may be acknowledged now: we are primary (the loop got
 * the primary callback) and the fence time has not come. For the hot
 * path: no lock, no system call beyond reading the boot-time clock
 * (CLOCK_BOOTTIME, proto_boot_ms: a suspend counts).
 */
int lease_writable(struct lease *);
/*
 * Stops the thread; a primary's lease is revoked, so a standby takes over
 * at once. Call it only once no write will be acknowledged any more
 * (after the drain).
 */
void lease_stop(struct lease *);

/* Times derived from the TTL (ms): the fence's margin, renewals, polls. */
long long lease_margin_ms(unsigned int ttl_s);
long long lease_renew_ms(unsigned int ttl_s);
long long lease_poll_ms(unsigned int ttl_s);

/*
 * The value of the primary and holder keys: {"addr": ..., "term": n}.
 * 0, or -1 when it is not that (it comes from etcd: tests/fuzz/etcd).
 */
int lease_parse_value(const char *s, char *addr, size_t addrsz,
    uint64_t *term);
/*
 * The value of the sync key: {"addr": ..., "term": n, "seq": n} (term
 * above 0), or an older storaged's, the address alone ("" none), read
 * with *term and *seq 0. 0, or -1 when it is neither (it comes from
 * etcd: tests/fuzz/etcd).
 */
int lease_parse_sync(const char *s, char *addr, size_t addrsz,
    uint64_t *term, uint64_t *seq);
/*
 * Whether a storaged at advertise, its data in term (0: none) up to
 * seq, may campaign when sync (its value, parsed: saddr, sterm, sseq; ""
 * none) and holder (haddr, hterm) are what they are (has_sync,
 * has_holder: the keys exist): never the last primary with fewer records
 * of sync's term than sync names another with. 1, or 0 with *why
 * (static).
 */
int lease_may_campaign(const char *advertise, uint64_t term, uint64_t seq,
    int has_sync, const char *saddr, uint64_t sterm, uint64_t sseq,
    int has_holder, const char *haddr, uint64_t hterm, const char **why);
/*
 * The term a campaign asks for, having read etcd at revision rev with
 * holder's term hterm and sync's sterm (0: none), its own data in term:
 * one above every one of them. Above the revision: above every term a
 * campaign of this etcd gave (each at most the revision its own txn
 * made, or at most holder's then). Above the data's: etcd's keys lost
 * (an etcd reset, a new cluster of old data) leave a revision below the
 * data's term, which repl_promote refuses; the term of a campaign that
 * wins is still above every earlier one.
 */
uint64_t lease_campaign_term(int64_t rev, uint64_t hterm, uint64_t sterm,
    uint64_t term);

#endif
