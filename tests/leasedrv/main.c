/*
 * leasedrv: storaged's lease engine (storaged/lease.c) alone on a loop,
 * against a real etcd, for tests/integration/lease.test.mjs: the same
 * settings as storaged (PARLEY_ETCD, PARLEY_ADVERTISE, PARLEY_LEASE_TTL_S,
 * PARLEY_CLUSTER_NAME), the same log lines on stderr, and what the
 * callbacks say on stdout, one line each:
 *	primary TERM | fenced | follow ADDR TERM | synced
 * Lines on stdin ask: "write" (answers "write ok" while lease_writable(),
 * else "write refused"), "in ADDR" and "out" (lease_set_sync: the standby
 * in sync is ADDR, or none). End of input or SIGTERM: lease_stop, exit 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sys/epoll.h>

#include "lease.h"
#include "log.h"
#include "loop.h"
#include "settings.h"

static struct {
	struct settings set;
	struct lease *lease;
	struct loop_io in;
	char line[512];
	size_t len;
} D;

static void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void
on_primary(uint64_t term, void *arg)
{
	say("primary %llu", (unsigned long long)term);
}

static void
on_fenced(void *arg)
{
	say("fenced");
}

static void
on_follow(const char *addr, uint64_t term, void *arg)
{
	say("follow %s %llu", addr, (unsigned long long)term);
}

static void
on_synced(void *arg)
{
	say("synced");
}

/* One command line. */
static void
command(const char *c)
{
	if (strcmp(c, "write") == 0)
		say("write %s", lease_writable(D.lease) ? "ok" : "refused");
	else if (strcmp(c, "out") == 0)
		lease_set_sync(D.lease, "", on_synced, NULL);
	else if (strncmp(c, "in ", 3) == 0)
		lease_set_sync(D.lease, c + 3, on_synced, NULL);
	else
		say("unknown %s", c);
}

static void
stdin_io(int fd, uint32_t events, void *arg)
{
	char *nl;
	ssize_t n;

	n = read(fd, D.line + D.len, sizeof(D.line) - 1 - D.len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		loop_io_del(&D.in);
		loop_stop();
		return;
	}
	D.len += (size_t)n;
	D.line[D.len] = '\0';
	while ((nl = strchr(D.line, '\n')) != NULL) {
		*nl = '\0';
		command(D.line);
		D.len -= (size_t)(nl + 1 - D.line);
		memmove(D.line, nl + 1, D.len + 1);
	}
	if (D.len == sizeof(D.line) - 1)
		D.len = 0;
}

static void
on_stop(int signo)
{
	loop_stop();
}

int
main(void)
{
	const struct lease_cbs cbs = { on_primary, on_fenced, on_follow, NULL };

	log_init("leasedrv");
	settings_load(&D.set, SETTINGS_P_STORAGED);
	if (D.set.etcd == NULL || D.set.advertise == NULL)
		fatalx("PARLEY_ETCD and PARLEY_ADVERTISE are needed");
	loop_init();
	loop_signal(SIGTERM, on_stop);
	loop_signal(SIGINT, on_stop);
	D.lease = lease_start(&(struct lease_conf){ D.set.etcd,
	    D.set.cluster_name, D.set.advertise, D.set.lease_ttl_s }, &cbs);
	if (loop_io_add(&D.in, STDIN_FILENO, EPOLLIN, stdin_io, NULL) < 0)
		fatal("epoll_ctl stdin");
	loop_run();
	lease_stop(D.lease);
	settings_free(&D.set);
	return 0;
}
