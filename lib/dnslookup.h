/*
 * A DNS name resolved off the event loop: getaddrinfo() on a thread of
 * its own, its answer handed back through a pipe the loop watches. A
 * resolver that is slow or gone then stalls only the connection that
 * waits for it, never the loop's other sockets (a worker's visitors
 * while it reconnects to storaged by name).
 */
#ifndef PARLEY_DNSLOOKUP_H
#define PARLEY_DNSLOOKUP_H

#include <sys/socket.h>

#include <stdint.h>

#define DNSLOOKUP_ERR_MAX	160

/*
 * One name's lookups, one at a time. Its owner keeps it for the life of
 * the process: a thread whose resolver never answers holds it for good,
 * and nothing starts another for it meanwhile (at most one thread a
 * struct).
 */
struct dnslookup {
	int pending;		/* a thread is at it */
	void (*done)(struct dnslookup *);	/* on the loop, once it answered */
	/* The last answer, read in done: rc 0 with the address, else err. */
	int rc;
	struct sockaddr_storage ss;
	socklen_t sl;
	char err[DNSLOOKUP_ERR_MAX];
};

/*
 * Resolves host (a DNS name; port numeric) on a thread: done(l) runs on
 * the loop with the answer. 0 started, 1 one is already pending (its done
 * runs when it answers: the caller waits for that one), -1 logged (no
 * thread or pipe: nothing started).
 */
int dnslookup_start(struct dnslookup *l, const char *host, uint16_t port,
    void (*done)(struct dnslookup *));

#endif
