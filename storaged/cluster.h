/*
 * What the cluster must agree on before a primary acts (issue 25): the
 * hooks replication (repl.c) calls at the moments that matter for a
 * failover. Without etcd (PARLEY_ETCD empty) there is nobody to ask and
 * each hook acts at once; with etcd they record the fact in etcd first
 * (the lease engineer's part), so a standby that is out of sync can
 * never be promoted.
 */
#ifndef PARLEY_CLUSTER_H
#define PARLEY_CLUSTER_H

/*
 * The standby is out of sync (away, or behind beyond the bound): cb(arg)
 * is called once the cluster agrees that no standby holds every
 * acknowledged write, and only then may the primary acknowledge writes
 * alone. Without etcd: at once, before this returns.
 */
void cluster_standby_out(void (*cb)(void *), void *arg);
/*
 * The standby holds every acknowledged write again (it caught up while
 * the primary acknowledged alone, or it streams for the first time):
 * from now on every write waits for it. Without etcd: nothing to do.
 */
void cluster_standby_in(void);

#endif
