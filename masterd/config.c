/*
 * Settings from the environment (docs/internals.md, "Settings").
 *
 * The parse_* functions are pure so the unit tests can drive them; an
 * unset or empty variable means "use the default". config_load() turns a
 * bad value into one clear fatal message at start-up.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "masterd.h"

static int
unset(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* s as a number from min to max, def when unset; -1 (*out kept) if not. */
static int
parse_num(const char *s, int def, int min, int max, int *out)
{
	const char *errstr;
	long long v;

	if (unset(s)) {
		*out = def;
		return 0;
	}
	v = strtonum(s, min, max, &errstr);
	if (errstr != NULL)
		return -1;
	*out = (int)v;
	return 0;
}

int
parse_port(const char *s, int *port)
{
	return parse_num(s, DEFAULT_PORT, 1, 65535, port);
}

int
parse_workers(const char *s, long ncpu, int *n)
{
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > MAX_WORKERS)
		ncpu = MAX_WORKERS;
	return parse_num(s, (int)ncpu, 1, MAX_WORKERS, n);
}

int
parse_ms(const char *s, int def, int *ms)
{
	return parse_num(s, def, 0, MAX_GRACE_MS, ms);
}

/*
 * sd_listen_fds(3) semantics: the fds are ours only when LISTEN_PID names
 * us; a missing variable means none. Returns 0 with *n set, -1 when a
 * variable meant for us is malformed.
 */
int
parse_listen_fds(const char *pid, const char *fds, pid_t self, int *n)
{
	int p;

	*n = 0;
	/* Unset is 0, which names no process. */
	if (parse_num(pid, 0, 1, INT_MAX, &p) < 0)
		return -1;
	if (p == 0 || (pid_t)p != self)
		return 0;
	return parse_num(fds, 0, 0, INT_MAX - SD_LISTEN_FDS_START, n);
}

/* Accepts "127.0.0.1", "::1" and the URL form "[::1]". */
int
parse_host(const char *s, char *out, size_t outsz)
{
	size_t len;

	if (unset(s))
		s = DEFAULT_HOST;
	len = strlen(s);
	if (s[0] == '[') {
		if (len < 3 || s[len - 1] != ']')
			return -1;
		s++;
		len -= 2;
	}
	if (len >= outsz || memchr(s, ']', len) != NULL)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* PARLEY_WORKERD, or parley-workerd next to our own binary. */
static void
workerd_path(struct config *cf)
{
	const char *env = getenv("PARLEY_WORKERD");
	char self[PATH_MAX];
	ssize_t n;

	if (!unset(env)) {
		if (strlcpy(cf->workerd, env, sizeof(cf->workerd)) >=
		    sizeof(cf->workerd))
			fatalx("PARLEY_WORKERD is too long");
	} else {
		if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
			fatal("readlink /proc/self/exe");
		self[n] = '\0';
		if ((size_t)snprintf(cf->workerd, sizeof(cf->workerd), "%s/%s",
		    dirname(self), WORKERD_NAME) >= sizeof(cf->workerd))
			fatalx("path of %s is too long", WORKERD_NAME);
	}
	/* Fail now with a clear message rather than respawn in vain. */
	if (access(cf->workerd, X_OK) < 0)
		fatal("worker program %s (set PARLEY_WORKERD)", cf->workerd);
}

void
config_load(struct config *cf)
{
	const char *s, *lpid, *lfds;

	memset(cf, 0, sizeof(*cf));
	s = getenv("PORT");
	if (parse_port(s, &cf->port) < 0)
		fatalx("PORT must be a port number from 1 to 65535, not \"%s\"",
		    s);
	s = getenv("PARLEY_HOST");
	if (parse_host(s, cf->host, sizeof(cf->host)) < 0)
		fatalx("PARLEY_HOST \"%s\" is not an address", s);
	s = getenv("PARLEY_WORKERS");
	if (parse_workers(s, sysconf(_SC_NPROCESSORS_ONLN), &cf->nworkers) < 0)
		fatalx("PARLEY_WORKERS must be a number from 1 to %d, not \"%s\"",
		    MAX_WORKERS, s);
	s = getenv("PARLEY_SHUTDOWN_TIMEOUT_MS");
	if (parse_ms(s, DEFAULT_GRACE_MS, &cf->grace_ms) < 0)
		fatalx("PARLEY_SHUTDOWN_TIMEOUT_MS must be milliseconds from 0 "
		    "to %d, not \"%s\"", MAX_GRACE_MS, s);
	lpid = getenv("LISTEN_PID");
	lfds = getenv("LISTEN_FDS");
	if (parse_listen_fds(lpid, lfds, getpid(), &cf->listen_fds) < 0)
		fatalx("LISTEN_PID/LISTEN_FDS from systemd are malformed "
		    "(\"%s\"/\"%s\")", lpid ? lpid : "", lfds ? lfds : "");
	/* Workers must not think systemd's sockets are theirs. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	workerd_path(cf);
}
