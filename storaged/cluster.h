/*
 * What the cluster must agree on before a primary acts (issue 25): who is
 * primary, and whether the standby holds every acknowledged write. With
 * PARLEY_ROLE=auto the etcd lease (lease.h) decides both: cluster.c turns
 * its callbacks into replication's roles (repl.h) and records the
 * standby's state in etcd before the primary acts on it, so a standby
 * that is out of sync can never be promoted. Without it (primary or
 * standby set by hand) there is nobody to ask and each hook acts at once.
 */
#ifndef PARLEY_CLUSTER_H
#define PARLEY_CLUSTER_H

#include <stdint.h>

struct settings;

/*
 * With PARLEY_ROLE=auto (set's etcd, advertise, TTL and cluster name):
 * starts the lease (repl_start first, in the fenced role): it makes this
 * storaged primary (repl_promote with the lease's term), the standby of
 * the primary it names (repl_follow), or fences it (repl_fence). Any
 * other role: nothing to start.
 */
void cluster_start(const struct settings *set);
/*
 * Whether the lease decides the roles (PARLEY_ROLE=auto): then a
 * promotion by hand (parleyctl promote) is refused, it could make two
 * primaries.
 */
int cluster_decides(void);
/*
 * Whether a write may be run and acknowledged now: with the lease, we hold
 * it and its fence time has not come (read from the clock, so a loop late
 * in hearing the fence still acknowledges nothing after it); else 1.
 */
int cluster_writable(void);
/*
 * The standby is out of sync (away, or behind beyond the bound): cb(arg)
 * is called once the cluster agrees that no standby holds every
 * acknowledged write (etcd's sync key emptied), and only then may the
 * primary acknowledge writes alone. While etcd cannot be reached it is
 * not called (the primary stays blocked), nor ever if the lease is lost
 * first. Without the lease: at once, before this returns.
 */
void cluster_standby_out(void (*cb)(void *), void *arg);
/*
 * The standby whose address is addr (its PARLEY_ADVERTISE; "" unset)
 * holds every acknowledged write again (it caught up while the primary
 * acknowledged alone, or it streams for the first time): from now on
 * every write waits for it, and etcd names it in sync (it may take over),
 * with its data: the primary's term, every record up to seq. Without the
 * lease: nothing to do.
 */
void cluster_standby_in(const char *addr, uint64_t term, uint64_t seq);
/*
 * This storaged's data is in term (0: none) up to record seq now (after
 * every change): a campaign is made only with the data etcd names.
 */
void cluster_data(uint64_t term, uint64_t seq);
/*
 * After the drain (no write will be acknowledged any more): a primary's
 * lease is revoked, so the standby in sync takes over within a poll.
 */
void cluster_stop(void);

#endif
