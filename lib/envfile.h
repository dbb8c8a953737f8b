/*
 * An environment file (make run's .env, the installed parley.env) read
 * as systemd's EnvironmentFile= reads it (systemd.exec(5); systemd's
 * src/basic/env-file.c), so one file means the same under `make run`
 * and under the service:
 *
 *	NAME=value		blanks around the = and the value's own
 *				trailing blanks are dropped (NAME = value)
 *	NAME='a b'		quotes removed; nothing special inside
 *	NAME="a \"b\""		quotes removed; \" \\ \` \$ unescaped, any
 *				other \x kept as it is, \ + newline dropped
 *	NAME=a\ b\		unquoted: \x is x, \ + newline joins lines
 *	# ; at a line's start	a comment (no continuation; one ending
 *				in \ is refused: systemd < 254 continues it)
 *	NAME=			an empty value (Parley: unset)
 *	NAME twice		the last assignment wins
 *
 * Where systemd would skip a line (with a journal line nobody reads) or
 * read something else than was meant, this reader refuses the file with
 * "line N: why" instead, so a file it accepts means the same to both:
 * `export NAME=...` (systemd ignores it), a name that is not [A-Za-z_]
 * [A-Za-z0-9_]*, a line with no =, a quote never closed (systemd takes
 * the rest of the file), a NUL byte, invalid UTF-8 (systemd refuses the
 * unit), and CR (a CRLF line ending: systemd ends the line there, but a
 * shell's `. FILE` and docker's --env-file keep the \r in every value;
 * refused so the file is fixed once, for all of them).
 *
 * Pure parsing over a buffer (envfile_parse; fuzzed in tests/fuzz/
 * envfile), plus the file's read and its atomic rewrite for `make run`'s
 * in-place fill (envfile_set, envfile_write). Errors never quote a value.
 */
#ifndef PARLEY_ENVFILE_H
#define PARLEY_ENVFILE_H

#include <stddef.h>
#include <sys/types.h>

#define ENVFILE_MAX		(1024 * 1024)	/* bytes of a file */
#define ENVFILE_ERR_MAX		512

/* One variable: its value from its last assignment. */
struct envfile_var {
	char *name;
	char *value;		/* NUL-terminated; never holds a NUL */
	size_t value_len;
	unsigned int line;	/* where its last assignment starts (1-based) */
	size_t start;		/* that assignment's bytes: [start, end), */
	size_t end;		/* from its line's start to its last newline */
};

/* The variables, in the order each name first appears. */
struct envfile {
	struct envfile_var *v;
	size_t n;
	/*
	 * Newlines a line appended to the file needs first: 0 when its last
	 * line is ended; 1 when not; 2 when it ends in a \ outside quotes
	 * (which would join the first newline to it).
	 */
	unsigned int append_nl;
};

/*
 * Parses buf[0..len). 0, or -1 with "line N: why" in err (never a
 * value's bytes); ef is then empty. Free with envfile_free either way.
 */
int envfile_parse(struct envfile *ef, const char *buf, size_t len,
    char *err, size_t errsz);
/*
 * Reads and parses path. 0; -1 with "PATH: line N: why" (or "PATH:
 * strerror") in err. *bufp (may be NULL) gets the file's bytes, for
 * envfile_set; free them.
 */
int envfile_read(struct envfile *ef, const char *path, char **bufp,
    size_t *lenp, char *err, size_t errsz);
/* The variable name, or NULL. */
const struct envfile_var *envfile_get(const struct envfile *ef,
    const char *name);
void envfile_free(struct envfile *ef);

/*
 * buf (parsed into ef) with name set to value: its last assignment's
 * bytes replaced by "name=value" (its newline kept), or the line
 * appended when name is absent (after ef->append_nl newlines).
 * Every other byte is kept. value must need no quoting ([A-Za-z0-9]).
 * 0 with a malloc'd *out, or -1 (out of memory, or a bad value).
 */
int envfile_set(const char *buf, size_t len, const struct envfile *ef,
    const char *name, const char *value, char **out, size_t *outlen);
/*
 * Replaces path by buf[0..len) atomically (a temp file beside it,
 * fsync'd, renamed), with mode. 0, or -1 with "PATH: why" in err.
 */
int envfile_write(const char *path, const char *buf, size_t len,
    mode_t mode, char *err, size_t errsz);

#endif
