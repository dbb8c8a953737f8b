/*
 * The cluster's hooks (cluster.h): the etcd lease wired into replication
 * with PARLEY_ROLE=auto; without it each hook acts at once.
 * storaged/STORAGE.md, "Failover".
 */
#include <stdint.h>

#include "cluster.h"
#include "lease.h"
#include "log.h"
#include "repl.h"
#include "settings.h"
#include "stmsgs.h"

static struct lease *L;

/* The lease is ours, in term: a primary's duties with that term. */
static void
on_primary(uint64_t term, void *arg)
{
	const char *err;
	uint64_t got;

	if (repl_role() == ST_REPL_PRIMARY)
		return;
	if (repl_promote(term, &got, &err) < 0)
		/* Exiting lets the lease expire: another may take it. */
		fatalx("lease: cannot become primary in term %llu: %s (a "
		    "campaign's term is above this data's: it moved on after "
		    "the campaign read it; storaged/STORAGE.md, \"When etcd "
		    "is down\")",
		    (unsigned long long)term, err);
}

/* The lease is lost or about to be: no write from now on. */
static void
on_fenced(void *arg)
{
	repl_fence();
}

/* Another storaged is primary: its standby, from what we hold. */
static void
on_follow(const char *addr, uint64_t term, void *arg)
{
	repl_follow(addr);
}

void
cluster_start(const struct settings *set)
{
	const struct lease_cbs cbs = { on_primary, on_fenced, on_follow,
	    NULL };
	struct st_repl_status now;

	if (set->role != SETTINGS_ROLE_AUTO)
		return;
	if (set->sync_mode != SETTINGS_SYNC_REPLICA)
		log_warnx("PARLEY_ROLE=auto without PARLEY_SYNC=replica: no "
		    "standby is ever recorded in sync, so none takes over on "
		    "its own (only this storaged, as the last primary)");
	/* The data it campaigns with (repl_start opened it). */
	repl_status(&now);
	L = lease_start(&(struct lease_conf){ set->etcd, set->cluster_name,
	    set->advertise, set->lease_ttl_s, set->cluster_ca,
	    set->cluster_cert, set->cluster_key, now.term, now.seq }, &cbs);
}

int
cluster_decides(void)
{
	return L != NULL;
}

int
cluster_writable(void)
{
	return L == NULL || lease_writable(L);
}

void
cluster_standby_out(void (*cb)(void *), void *arg)
{
	if (L == NULL)
		cb(arg);
	else
		lease_set_sync(L, "", 0, 0, cb, arg);
}

void
cluster_standby_in(const char *addr, uint64_t term, uint64_t seq)
{
	if (L == NULL)
		return;
	if (addr[0] == '\0') {
		log_warnx("replication: the standby in sync has no "
		    "PARLEY_ADVERTISE: etcd cannot name it, so it will not "
		    "take over");
		return;
	}
	lease_set_sync(L, addr, term, seq, NULL, NULL);
}

void
cluster_data(uint64_t term, uint64_t seq)
{
	if (L != NULL)
		lease_set_data(L, term, seq);
}

void
cluster_stop(void)
{
	lease_stop(L);
	L = NULL;
}
