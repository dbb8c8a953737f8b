/*
 * A webhook URL's name resolved off the worker's loop (issue 23: a URL
 * that resolves to a private address is refused at creation). glibc's
 * getaddrinfo_a resolves in a thread of its own; its completion, in
 * that thread (SIGEV_THREAD), writes the lookup's address into a pipe
 * the loop reads, and the verdict (urlpol_addrs_check, net/urlpolicy.c) is told
 * on the loop. Only the lookup struct crosses threads: the loop fills
 * it before getaddrinfo_a and reads it after the pipe gave it back.
 *
 * Bounded: NOTIFY_LOOKUPS_MAX in flight per worker, NOTIFY_LOOKUPS_ORG
 * of them one organisation's (a full table refuses at once): a name
 * whose servers never answer holds its slot for the resolver's timeout,
 * and one organisation's such names must not refuse every other's. A
 * lookup whose caller left is orphaned: freed, without its callback,
 * when it ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "notify.h"
#include "orgslots.h"
#include "settings.h"

struct notify_lookup {
	struct gaicb req;
	struct addrinfo hints;
	char host[256];
	char port[8];
	int allow_private;
	char org[ST_WHO_ORG_MAX + 1];	/* whose slot it holds */
	notify_lookup_fn fn;	/* the loop's alone, as orphan */
	void *arg;
	int orphan;
	unsigned long late_ms;	/* the test build's slow name (slow_hook) */
};

#ifdef PARLEY_TEST_HOOKS
#define SLOW_SUFFIX	".slow.test"
#define SLOW_ADDR	"93.184.216.34"	/* public: the policy lets it by */
/*
 * The test build's alone (Makefile): with PARLEY_TEST_SLOW_LOOKUP_MS set,
 * a name under slow.test resolves to SLOW_ADDR that many milliseconds
 * late, as a name whose server answers late would (the tests need no
 * name server): the tests of what a request held by its lookup meets
 * meanwhile.
 */
static void
slow_hook(struct notify_lookup *l)
{
	size_t n = strlen(l->host), k = strlen(SLOW_SUFFIX);
	unsigned long ms = settings_test_hook("PARLEY_TEST_SLOW_LOOKUP_MS");

	if (ms == 0 || n <= k || strcasecmp(l->host + n - k, SLOW_SUFFIX) != 0)
		return;
	/* the tests wait for this line: the request is held from here on */
	log_info("test hook: %s resolves %lu ms late", l->host, ms);
	strlcpy(l->host, SLOW_ADDR, sizeof(l->host));
	l->hints.ai_flags |= AI_NUMERICHOST;
	l->late_ms = ms;
}

/* glibc's thread, before it hands l back: a slow name's wait. */
static void
slow_wait(const struct notify_lookup *l)
{
	struct timespec ts = { (time_t)(l->late_ms / 1000),
	    (long)(l->late_ms % 1000) * 1000000L };

	while (l->late_ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
#else
#define slow_hook(l)	((void)0)
#define slow_wait(l)	((void)0)
#endif

static int lk_pipe[2] = { -1, -1 };
static struct loop_io lk_io;
static struct orgslots lk_slots = ORGSLOTS_INIT(NOTIFY_LOOKUPS_MAX,
    NOTIFY_LOOKUPS_ORG);

/* glibc's thread: hand the lookup back to the loop. */
static void
lk_done(union sigval sv)
{
	struct notify_lookup *l = sv.sival_ptr;
	ssize_t n;

	slow_wait(l);
	do
		n = write(lk_pipe[1], &l, sizeof(l));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(l))
		abort();	/* a pipe of pointers: never short */
}

static void
lk_end(struct notify_lookup *l)
{
	const char *why = NULL;

	orgslots_put(&lk_slots, l->org);
	if (!l->orphan) {
		if (gai_error(&l->req) != 0)
			why = "url: host does not resolve";
		else
			(void)urlpol_addrs_check(l->req.ar_result,
			    l->allow_private, NULL, &why);
		l->fn(l->arg, why);
	}
	if (l->req.ar_result != NULL)
		freeaddrinfo(l->req.ar_result);
	free(l);
}

static void
lk_read(int fd, uint32_t events, void *arg)
{
	struct notify_lookup *l;

	while (read(fd, &l, sizeof(l)) == (ssize_t)sizeof(l))
		lk_end(l);
}

/* The pipe and its watch, made once. 0, or -1. */
static int
lk_init(void)
{
	if (lk_pipe[0] >= 0)
		return 0;
	return loop_pipe_open(lk_pipe, &lk_io, lk_read, "webhook lookups");
}

struct notify_lookup *
notify_lookup_start(const struct url_target *t, int allow_private,
    const char *org, notify_lookup_fn fn, void *arg)
{
	struct notify_lookup *l;
	struct gaicb *list[1];
	struct sigevent sev;

	if (lk_init() < 0 || (l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if (orgslots_take(&lk_slots, org) != ORGSLOTS_TAKEN) {
		free(l);
		return NULL;
	}
	strlcpy(l->org, org, sizeof(l->org));
	strlcpy(l->host, t->host, sizeof(l->host));
	snprintf(l->port, sizeof(l->port), "%d", t->port);
	l->hints.ai_family = AF_UNSPEC;
	l->hints.ai_socktype = SOCK_STREAM;
	l->hints.ai_flags = AI_NUMERICSERV;
	slow_hook(l);
	l->req.ar_name = l->host;
	l->req.ar_service = l->port;
	l->req.ar_request = &l->hints;
	l->allow_private = allow_private;
	l->fn = fn;
	l->arg = arg;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = lk_done;
	sev.sigev_value.sival_ptr = l;
	list[0] = &l->req;
	if (getaddrinfo_a(GAI_NOWAIT, list, 1, &sev) != 0) {
		orgslots_put(&lk_slots, l->org);
		free(l);
		return NULL;
	}
	return l;
}

void
notify_lookup_cancel(struct notify_lookup *l)
{
	if (l != NULL)
		l->orphan = 1;
}
