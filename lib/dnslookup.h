/*
 * A DNS name resolved off the event loop: getaddrinfo() on a thread of
 * its own, its answer handed back through a pipe the loop watches. A
 * resolver that is slow or gone then stalls only the request that
 * waits for it, never the loop's other sockets (a worker's visitors
 * while it reconnects to storaged by name, or while a webhook URL's
 * name is checked).
 */
#ifndef PARLEY_DNSLOOKUP_H
#define PARLEY_DNSLOOKUP_H

#include <sys/socket.h>

#include <stdint.h>

#define DNSLOOKUP_ERR_MAX	160

struct addrinfo;

/*
 * One name's lookups, one at a time. Its owner keeps it until done runs
 * (done may free it): a thread whose resolver never answers holds it for
 * good, and nothing starts another for it meanwhile (at most one thread
 * a struct). An owner that bounds its lookups bounds their threads.
 */
struct dnslookup {
	int pending;		/* a thread is at it */
	void (*done)(struct dnslookup *);	/* on the loop, once it answered */
	/*
	 * The last answer, read in done: rc 0 with the first address (ss,
	 * sl) and, after dnslookup_start_all, every address in res (the
	 * owner's to free with freeaddrinfo; NULL after dnslookup_start);
	 * else rc -1, err, res NULL.
	 */
	int rc;
	struct sockaddr_storage ss;
	socklen_t sl;
	struct addrinfo *res;
	char err[DNSLOOKUP_ERR_MAX];
};

/*
 * Resolves host (a DNS name or an address literal; port numeric) on a
 * thread: done(l) runs on the loop with the answer, never before this
 * returns. 0 started, 1 one is already pending (its done runs when it
 * answers: the caller waits for that one), -1 logged (no thread or
 * pipe: nothing started).
 */
int dnslookup_start(struct dnslookup *l, const char *host, uint16_t port,
    void (*done)(struct dnslookup *));
/* As dnslookup_start, and done finds every address in l->res. */
int dnslookup_start_all(struct dnslookup *l, const char *host,
    uint16_t port, void (*done)(struct dnslookup *));

#endif
