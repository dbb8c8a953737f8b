/*
 * The process table: every kind of child masterd runs, as OpenBSD's
 * daemons keep theirs in procs[]. One row per role of parley-workerd:
 * how many run, the argument that gives the role, and which messages
 * go each way on its channel. workers.c starts, restarts (with the
 * start-up backoff), reloads, stops and kills the children of every
 * row alike; a row without MW_CONN among what it gets never takes a
 * connection (workers_pick). A message a child may not send breaks its
 * channel (worker_msg); one it does not get is never sent to it
 * (child_send). A row that gets MW_PING is watched: a child of it that
 * answers nothing for PARLEY_WORKER_STALL_MS is stuck, and killed
 * (workers.c); the fetcher is not (its loop reads a whole document at a
 * time, and its CPU time has a bound of its own). A row gets the
 * settings' secrets it lists and no other (MW_SETTINGS, config.c): the
 * fetcher, whose child reads untrusted PDFs with poppler, and the
 * notifier hold no key they do not use. Pure data and lookups, no I/O:
 * tests/unit/masterd/test_procs.c checks the table against
 * proto/msgtab.c and lib/settingtab.c.
 */
#include <stddef.h>

#include "masterd.h"

/*
 * name, role, program, --role argument (NULL: none), how many
 * (PROC_N_WORKERS: PARLEY_WORKERS), what masterd sends it, what it may
 * send masterd, the secrets it gets (what its code reads of wsettings:
 * a worker the keys, the password and the model's key, never the SMTP
 * password, which only the notifier's mailer sends; the fetcher the
 * model's key, for the knowledge base's embeddings, workerd/model/
 * embed.c).
 */
static const struct proc procs[ROLE_MAX] = {
	[ROLE_WORKER] = { "worker", ROLE_WORKER, PROG_WORKERD, NULL,
	    PROC_N_WORKERS,
	    { PROTO_MW_SETTINGS, PROTO_MW_CONN, PROTO_MW_QUIT,
	      PROTO_MW_RESTARTS, PROTO_MW_PING },
	    { PROTO_WM_READY, PROTO_WM_LOAD, PROTO_WM_PONG,
	      PROTO_WM_QUITTING },
	    { "WIDGET_API_KEY", "ADMIN_API_KEY", "DASHBOARD_PASSWORD",
	      "OPENAI_API_KEY" } },
	/*
	 * One for the whole install: webhooks go out once per event, not
	 * once per worker (docs/internals.md, "Worker life").
	 */
	[ROLE_NOTIFIER] = { "notifier", ROLE_NOTIFIER, PROG_WORKERD,
	    "notifier", 1,
	    { PROTO_MW_SETTINGS, PROTO_MW_QUIT, PROTO_MW_PING },
	    { PROTO_WM_READY, PROTO_WM_PONG },
	    { "SMTP_PASSWORD" } },
	/*
	 * One: it fetches and parses the documents of every organisation's
	 * knowledge sources, apart from the workers (workerd/fetch/fetcher.c):
	 * parley-fetch, a program of its own, as it alone links poppler.
	 */
	[ROLE_FETCHER] = { "fetcher", ROLE_FETCHER, PROG_FETCH, NULL, 1,
	    { PROTO_MW_SETTINGS, PROTO_MW_QUIT },
	    { PROTO_WM_READY },
	    { "OPENAI_API_KEY" } },
};

const struct proc *
proc_of(enum proc_role role)
{
	if ((int)role < 0 || role >= ROLE_MAX)
		return NULL;
	return &procs[role];
}

int
proc_want(const struct proc *p, int nworkers)
{
	return p->count == PROC_N_WORKERS ? nworkers : p->count;
}

static int
msg_in(const uint16_t *list, uint16_t type)
{
	size_t i;

	for (i = 0; i < PROC_MSGS_MAX && list[i] != 0; i++)
		if (list[i] == type)
			return 1;
	return 0;
}

int
proc_gets(const struct proc *p, uint16_t type)
{
	return type != 0 && msg_in(p->gets, type);
}

int
proc_sends(const struct proc *p, uint16_t type)
{
	return type != 0 && msg_in(p->sends, type);
}

int
proc_takes_conns(const struct proc *p)
{
	return proc_gets(p, PROTO_MW_CONN);
}
