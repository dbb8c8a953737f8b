/*
 * masterd's own settings, from the ones lib/settings.c parsed and
 * checked (their rules are in its table), and systemd's LISTEN_FDS.
 *
 * The values' rules are the table's; what is left here is pure so the
 * unit tests can drive it.
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
#include "settings.h"

static int
unset(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* PARLEY_WORKERS unset: one per core (ncpu; sysconf's -1 counts as 1). */
int
default_workers(long ncpu)
{
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > MAX_WORKERS)
		ncpu = MAX_WORKERS;
	return (int)ncpu;
}

/* A systemd variable: a whole number from min to INT_MAX, or def unset. */
static int
parse_sd(const char *s, int def, int min, int *out)
{
	const char *errstr;
	long long v;

	if (unset(s)) {
		*out = def;
		return 0;
	}
	v = strtonum(s, min, INT_MAX, &errstr);
	if (errstr != NULL)
		return -1;
	*out = (int)v;
	return 0;
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
	if (parse_sd(pid, 0, 1, &p) < 0)
		return -1;
	if (p == 0 || (pid_t)p != self)
		return 0;
	if (parse_sd(fds, 0, 0, n) < 0 || *n > INT_MAX - SD_LISTEN_FDS_START) {
		*n = 0;
		return -1;
	}
	return 0;
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

/* The program name beside our own binary into out: fatal when too long. */
static void
beside_self(const char *name, char *out, size_t outsz)
{
	char self[PATH_MAX];
	ssize_t n;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0)
		fatal("readlink /proc/self/exe");
	self[n] = '\0';
	if ((size_t)snprintf(out, outsz, "%s/%s", dirname(self), name) >=
	    outsz)
		fatalx("path of %s is too long", name);
}

/*
 * The programs masterd starts (enum proc_prog): each beside our own
 * binary; PARLEY_WORKERD (set) stands in for parley-workerd alone.
 */
static void
program_paths(struct config *cf, const char *set)
{
	char *workerd = cf->prog[PROG_WORKERD];

	if (set == NULL)
		beside_self(WORKERD_NAME, workerd, sizeof(cf->prog[0]));
	else if (strlcpy(workerd, set, sizeof(cf->prog[0])) >=
	    sizeof(cf->prog[0]))
		fatalx("PARLEY_WORKERD is too long");
	beside_self(FETCH_NAME, cf->prog[PROG_FETCH], sizeof(cf->prog[0]));
}

void
config_programs_check(const struct config *cf)
{
	/* Fail now with a clear message rather than respawn in vain. */
	if (access(cf->prog[PROG_WORKERD], X_OK) < 0)
		fatal("worker program %s (set PARLEY_WORKERD)",
		    cf->prog[PROG_WORKERD]);
	if (access(cf->prog[PROG_FETCH], X_OK) < 0)
		fatal("fetcher program %s", cf->prog[PROG_FETCH]);
}

/*
 * The workers' variables: the environment's, but PARLEY_PUBLIC_URL's
 * default, which needs PORT (masterd's alone): http://localhost:PORT
 * (the message says it is the default: workers_settings).
 */
static const char *
workers_env(const char *name, void *arg)
{
	static char url[64];
	const struct config *cf = arg;
	const char *v = settings_env(name, NULL);

	if (strcmp(name, "PARLEY_PUBLIC_URL") != 0 || (v != NULL && *v != '\0'))
		return v;
	snprintf(url, sizeof(url), "http://localhost:%d", cf->port);
	return url;
}

/*
 * What each row's children get as PROTO_MW_SETTINGS, encoded once a row:
 * the secrets its row lists (procs.c) and no other, with whether
 * PARLEY_PUBLIC_URL is st's (the operator's) or workers_env's default.
 */
static void
workers_settings(struct config *cf, const struct settings *st)
{
	struct penc e;
	int r;

	for (r = 0; r < ROLE_MAX; r++) {
		penc_init(&e);
		settings_msg_encode(&e, workers_env, cf, st->public_url_set,
		    proc_of(r)->secrets);
		if (e.err)
			fatalx("the %ss' settings do not fit in a message",
			    proc_of(r)->name);
		cf->wsettings[r] = e.buf;
		cf->wsettings_len[r] = e.len;
	}
}

/* Whether env entry v ("NAME=value") is a secret of the settings' table. */
static int
env_secret(const char *v)
{
	const struct setting *r;
	size_t i, n = strcspn(v, "=");

	for (i = 0; i < settings_count; i++) {
		r = &settings_table[i];
		if (r->type == SETTING_SECRET && strlen(r->name) == n &&
		    strncmp(r->name, v, n) == 0)
			return 1;
	}
	return 0;
}

char **
config_child_env(char *const *env)
{
	static char chan[] = "PARLEY_CHANNEL_FD=3";
	char **out;
	size_t i, n = 0;

	for (i = 0; env[i] != NULL; i++)
		;
	if ((out = calloc(i + 2, sizeof(*out))) == NULL)
		return NULL;
	for (i = 0; env[i] != NULL; i++)
		if (!env_secret(env[i]) &&
		    strncmp(env[i], "PARLEY_CHANNEL_FD=", 18) != 0)
			out[n++] = env[i];
	out[n] = chan;
	return out;
}

void
config_load(struct config *cf, const struct settings *st)
{
	const char *lpid, *lfds;

	memset(cf, 0, sizeof(*cf));
	cf->port = (int)st->port;
	if (parse_host(st->host, cf->host, sizeof(cf->host)) < 0)
		fatalx("PARLEY_HOST \"%s\" is not an address", st->host);
	if (st->workers != 0)
		cf->nworkers = (int)st->workers;
	else
		cf->nworkers = default_workers(sysconf(_SC_NPROCESSORS_ONLN));
	cf->grace_ms = (int)st->shutdown_ms;
	cf->stall_ms = (int)st->stall_ms;
	lpid = getenv("LISTEN_PID");
	lfds = getenv("LISTEN_FDS");
	if (parse_listen_fds(lpid, lfds, getpid(), &cf->listen_fds) < 0)
		fatalx("LISTEN_PID/LISTEN_FDS from systemd are malformed "
		    "(\"%s\"/\"%s\")", lpid ? lpid : "", lfds ? lfds : "");
	/* Workers must not think systemd's sockets are theirs. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	program_paths(cf, st->workerd);
	workers_settings(cf, st);
}
