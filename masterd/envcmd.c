/*
 * `make run`'s reader of its env file (scripts/run.sh), in the program
 * systemd starts with that same file as its EnvironmentFile=, so both
 * read it with one parser (lib/envfile.c):
 *
 *	parley-masterd --env FILE
 *		every variable as NAME=value, each ended by a NUL byte
 *		(a value may hold a newline), the last assignment of each
 *		name; exit 1 with "FILE: line N: why" on stderr when the
 *		file cannot be read as systemd would read it.
 *	parley-masterd --check FILE
 *		the settings checked as systemd would give them from FILE
 *		(envcmd_load), the environment's under them.
 *	parley-masterd --env-fill FILE NAME...
 *		each NAME whose value in FILE is missing or empty gets 40
 *		random letters and digits, written into its last
 *		assignment's line (or appended once when absent); every
 *		other byte of FILE and its mode stay (a new FILE is 0600).
 *		Prints the names it filled, one per line.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "envfile.h"
#include "log.h"
#include "masterd.h"
#include "random.h"

#define GEN_LEN	40

/* GEN_LEN letters and digits, unbiased (62 of each 64 byte values' tops). */
static void
gen_key(char out[GEN_LEN + 1])
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char b;
	int n = 0;

	while (n < GEN_LEN) {
		proto_random(&b, 1);
		b >>= 2;		/* 0-63 */
		if (b < 62)
			out[n++] = abc[b];
	}
	out[GEN_LEN] = '\0';
}

static int
env_print(const char *path)
{
	char err[ENVFILE_ERR_MAX];
	struct envfile ef;
	size_t i;

	if (envfile_read(&ef, path, NULL, NULL, err, sizeof(err)) < 0)
		fatalx("%s", err);
	for (i = 0; i < ef.n; i++)
		printf("%s=%s%c", ef.v[i].name, ef.v[i].value, '\0');
	envfile_free(&ef);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* One name into buf (re-parsed into ef); 1 when it was filled. */
static int
fill_one(const char *path, char **buf, size_t *len, struct envfile *ef,
    const char *name)
{
	const struct envfile_var *v = envfile_get(ef, name);
	char key[GEN_LEN + 1], err[ENVFILE_ERR_MAX], *nb;
	size_t nlen;

	if (v != NULL && v->value_len > 0)
		return 0;
	gen_key(key);
	if (envfile_set(*buf, *len, ef, name, key, &nb, &nlen) < 0)
		fatalx("--env-fill: cannot set %s (a name is letters, digits "
		    "and _)", name);
	OPENSSL_cleanse(key, sizeof(key));
	envfile_free(ef);
	free(*buf);
	*buf = nb;
	*len = nlen;
	if (envfile_parse(ef, *buf, *len, err, sizeof(err)) < 0)
		fatalx("%s: %s (after setting %s)", path, err, name);
	return 1;
}

static int
env_fill(const char *path, int nnames, char *names[])
{
	char err[ENVFILE_ERR_MAX], *buf = NULL;
	struct envfile ef;
	struct stat sb;
	size_t len = 0;
	mode_t mode = 0600;
	int i, filled = 0;

	if (stat(path, &sb) == 0) {
		mode = sb.st_mode & 07777;
		if (envfile_read(&ef, path, &buf, &len, err, sizeof(err)) < 0)
			fatalx("%s", err);
	} else if (errno == ENOENT)
		memset(&ef, 0, sizeof(ef));
	else
		fatal("%s", path);
	for (i = 0; i < nnames; i++)
		if (fill_one(path, &buf, &len, &ef, names[i])) {
			printf("%s\n", names[i]);
			filled++;
		}
	if (filled > 0 && envfile_write(path, buf, len, mode, err,
	    sizeof(err)) < 0)
		fatalx("%s", err);
	if (buf != NULL)
		OPENSSL_cleanse(buf, len);
	free(buf);
	envfile_free(&ef);
	return fflush(stdout) == 0 ? 0 : 1;
}

void
envcmd_load(const char *path)
{
	struct envfile ef;
	char err[ENVFILE_ERR_MAX];
	size_t i;

	if (envfile_read(&ef, path, NULL, NULL, err, sizeof(err)) < 0)
		fatalx("%s", err);
	for (i = 0; i < ef.n; i++)
		if (setenv(ef.v[i].name, ef.v[i].value, 1) < 0)
			fatal("setenv %s", ef.v[i].name);
	envfile_free(&ef);
}

int
envcmd_main(int argc, char *argv[])
{
	if (argc == 3 && strcmp(argv[1], "--env") == 0)
		return env_print(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "--env-fill") == 0)
		return env_fill(argv[2], argc - 3, argv + 3);
	fatalx("usage: %s --env FILE | --env-fill FILE NAME...",
	    MASTERD_NAME);
}
