/*
 * The cluster's hooks (cluster.h). Without etcd: nothing to agree with,
 * each acts at once. The etcd lease (issue 25, item 3) records the
 * standby's state in etcd here before calling back.
 */
#include "cluster.h"

void
cluster_standby_out(void (*cb)(void *), void *arg)
{
	cb(arg);
}

void
cluster_standby_in(void)
{
}
