/*
 * DNS names resolved off the event loop (dnslookup.h), the one way the
 * programs do it. Each lookup is a job of its own: the loop fills it, a
 * detached thread (every signal blocked: they are the loop's) calls
 * getaddrinfo() and writes the job's address into the process's one
 * lookup pipe, and the loop reads it back, copies the answer into its
 * struct dnslookup and calls done. Only the job crosses threads, whole,
 * through the pipe: nothing else is shared.
 *
 * The answer is the first address (a connection's: storaged by name,
 * the standby's primary) or, for dnslookup_start_all, every address as
 * getaddrinfo() gave it (the notifier's webhook URLs, workerd/notify/
 * lookup.c, whose every address the URL policy judges: it bounds its
 * lookups per organisation and drops the answer of one whose caller
 * left).
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dnslookup.h"
#include "log.h"
#include "loop.h"

struct dnslookup_job {
	struct dnslookup *owner;
	char host[256];
	char port[8];
	int all;		/* every address wanted, in res */
	/* The thread's answer. */
	int rc;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct addrinfo *res;
	char err[DNSLOOKUP_ERR_MAX];
};

static int lk_pipe[2] = { -1, -1 };
static struct loop_io lk_io;

/* The thread: one getaddrinfo(), its answer back to the loop. */
static void *
lookup_run(void *arg)
{
	struct dnslookup_job *j = arg;
	struct addrinfo hints, *res;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(j->host, j->port, &hints, &res)) != 0) {
		j->rc = -1;
		snprintf(j->err, sizeof(j->err), "%s", gai_strerror(rc));
	} else {
		memcpy(&j->ss, res->ai_addr, res->ai_addrlen);
		j->sl = res->ai_addrlen;
		if (j->all)
			j->res = res;
		else
			freeaddrinfo(res);
	}
	/* A pointer's write to a pipe is whole (PIPE_BUF). */
	while (write(lk_pipe[1], &j, sizeof(j)) < 0 && errno == EINTR)
		;
	return NULL;
}

/* The answers back, each to its lookup's done. */
static void
lookup_answered(int fd, uint32_t events, void *arg)
{
	struct dnslookup_job *j;
	struct dnslookup *l;

	(void)events;
	(void)arg;
	while (read(fd, &j, sizeof(j)) == (ssize_t)sizeof(j)) {
		l = j->owner;
		l->rc = j->rc;
		l->ss = j->ss;
		l->sl = j->sl;
		l->res = j->res;
		memcpy(l->err, j->err, sizeof(l->err));
		l->pending = 0;
		free(j);
		l->done(l);
	}
}

/* dnslookup_start's, every address in res when all. */
static int
lookup_start(struct dnslookup *l, const char *host, uint16_t port, int all,
    void (*done)(struct dnslookup *))
{
	struct dnslookup_job *j;
	pthread_t th;

	l->done = done;
	if (l->pending)
		return 1;
	if (lk_pipe[0] < 0 && loop_pipe_open(lk_pipe, &lk_io,
	    lookup_answered, "name lookup") < 0)
		return -1;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		log_warn("name lookup");
		return -1;
	}
	j->owner = l;
	j->all = all;
	snprintf(j->host, sizeof(j->host), "%s", host);
	snprintf(j->port, sizeof(j->port), "%u", (unsigned int)port);
	if (loop_threads_start(&th, 1, lookup_run, j, "name lookup") != 1) {
		free(j);
		return -1;
	}
	/* Never joined: its job, freed by the loop, is all it leaves. */
	pthread_detach(th);
	l->pending = 1;
	return 0;
}

int
dnslookup_start(struct dnslookup *l, const char *host, uint16_t port,
    void (*done)(struct dnslookup *))
{
	return lookup_start(l, host, port, 0, done);
}

int
dnslookup_start_all(struct dnslookup *l, const char *host, uint16_t port,
    void (*done)(struct dnslookup *))
{
	return lookup_start(l, host, port, 1, done);
}
