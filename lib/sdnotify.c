/*
 * systemd's readiness protocol: one datagram to $NOTIFY_SOCKET; and its
 * watchdog (WatchdogSec=), fed from the loop.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "proto.h"

static struct loop_timer wd_timer;
static uint64_t wd_every_ms;

void
proto_sd_notify(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun;
	socklen_t slen;
	size_t plen;
	int fd;

	if (path == NULL || path[0] == '\0')
		return;
	plen = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || plen >= sizeof(sun.sun_path)) {
		log_warnx("NOTIFY_SOCKET is not a usable socket path");
		return;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, plen);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';	/* abstract namespace */
	slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		log_warn("sd_notify: socket");
		return;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, slen) < 0)
		log_warn("sd_notify: send %s", state);
	close(fd);
}

static void
wd_tick(void *arg)
{
	proto_sd_notify("WATCHDOG=1");
	loop_timer_after(&wd_timer, wd_every_ms);
}

void
proto_sd_watchdog(void)
{
	const char *us = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
	unsigned long long v;
	char *end;

	if (us == NULL || us[0] == '\0')
		return;
	errno = 0;
	v = strtoull(us, &end, 10);
	if (pid != NULL && pid[0] != '\0' &&
	    strtoll(pid, NULL, 10) != (long long)getpid())
		v = 0;			/* another process's */
	else if (errno != 0 || *end != '\0' || v == 0) {
		log_warnx("WATCHDOG_USEC \"%s\" is not a number of "
		    "microseconds: no watchdog", us);
		v = 0;
	}
	/* Ours alone: a child must not feed it for us. */
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	if (v == 0)
		return;
	wd_every_ms = v / 2000 > 0 ? v / 2000 : 1;	/* twice per period */
	loop_timer_init(&wd_timer, wd_tick, NULL);
	wd_tick(NULL);
}
