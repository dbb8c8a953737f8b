/*
 * An environment file read as systemd's EnvironmentFile= reads it; what
 * it refuses and why is in envfile.h. One assignment at a time: the
 * name, then the value through the states systemd's parser has (plain,
 * escape, single quote, double quote, double-quote escape).
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "envfile.h"
#include "util.h"

/* The parse in progress. */
struct envp {
	const char *b;
	size_t len, i;
	unsigned int line;
	char *val;		/* the value being built */
	size_t vlen, vcap;
	int err;		/* sticky: out of memory */
	int esc_at_end;		/* the value ended at the end in a \ */
	char *msg;
	size_t msgsz;
};

static int
fail(struct envp *p, unsigned int line, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(p->msg, p->msgsz, "line %u: ", line);
	if (n >= 0 && (size_t)n < p->msgsz) {
		va_start(ap, fmt);
		vsnprintf(p->msg + n, p->msgsz - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
blank(int c)
{
	return c == ' ' || c == '\t';
}

static void
put(struct envp *p, char c)
{
	char *nv;
	size_t ncap;

	if (p->err)
		return;
	if (p->vlen + 2 > p->vcap) {
		ncap = p->vcap ? p->vcap * 2 : 64;
		if ((nv = realloc(p->val, ncap)) == NULL) {
			p->err = 1;
			return;
		}
		p->val = nv;
		p->vcap = ncap;
	}
	p->val[p->vlen++] = c;
	p->val[p->vlen] = '\0';
}

/*
 * Whether s (n bytes of valid UTF-8) holds a noncharacter (U+FDD0 to
 * U+FDEF, U+nFFFE, U+nFFFF): systemd's UTF-8 check refuses them, and with
 * them the whole file, which EnvironmentFile=- then skips without a word.
 */
static int
nonchar_in(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, k;
	uint32_t cp;

	for (i = 0; i < n; i += k) {
		if ((k = proto_utf8_seq_len(u + i, n - i)) == 0)
			return 0;	/* not UTF-8: the caller's check says so */
		cp = proto_utf8_cp(u + i, k);
		if ((cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
			return 1;
	}
	return 0;
}

/* NUL, CR and invalid UTF-8, before anything else, each by its line. */
static int
check_bytes(struct envp *p)
{
	const char *s = p->b, *e = p->b + p->len, *nl;
	unsigned int line = 1;
	size_t n;

	for (; s < e; s = nl + 1, line++) {
		nl = memchr(s, '\n', (size_t)(e - s));
		if (nl == NULL)
			nl = e;
		n = (size_t)(nl - s);
		if (memchr(s, '\0', n) != NULL)
			return fail(p, line, "a NUL byte: this is not a text "
			    "file");
		if (n > 0 && s[n - 1] == '\r')
			return fail(p, line, "ends in CR LF (a Windows line "
			    "ending), which would leave a \\r in values read "
			    "by a shell; save the file with LF endings "
			    "(dos2unix)");
		if (memchr(s, '\r', n) != NULL)
			return fail(p, line, "a carriage return (\\r) in the "
			    "line; systemd would end the line there");
		if (!proto_utf8_valid(s, n) || nonchar_in(s, n))
			return fail(p, line, "not valid UTF-8 (systemd "
			    "refuses it)");
	}
	return 0;
}

/* [A-Za-z_][A-Za-z0-9_]*, as systemd (and bash) want a name. */
/*
 * Whether the text before an '=' that is no name may be quoted in an
 * error: short, and of name-like bytes only. A value's own line (a key
 * or a PEM body run on past its quotes, "abc+d/ef==") never is.
 */
static int
quotable(const char *s, size_t n)
{
	size_t i;

	if (n > 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.' && s[i] != ' ')
			return 0;
	return 1;
}

static int
name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return 0;
	return 1;
}

/* The name, from p->i to its '=' (consumed); its bounds in *s, *n. */
static int
read_name(struct envp *p, const char **s, size_t *n)
{
	const char *eq, *nl, *b = p->b + p->i, *end = p->b + p->len;
	size_t k;

	nl = memchr(b, '\n', (size_t)(end - b));
	if (nl == NULL)
		nl = end;
	eq = memchr(b, '=', (size_t)(nl - b));
	if (eq == NULL)
		return fail(p, p->line, "no '=' (expected NAME=value; "
		    "systemd would skip the line)");
	for (k = (size_t)(eq - b); k > 0 && blank(b[k - 1]); k--)
		;
	if (k > 7 && strncmp(b, "export", 6) == 0 && blank(b[6])) {
		for (b += 7, k -= 7; k > 0 && blank(*b); b++, k--)
			;
		if (name_ok(b, k))
			return fail(p, p->line, "\"export %.*s=...\": systemd "
			    "ignores the line (no shell runs it); write "
			    "%.*s=... without export", (int)k, b, (int)k, b);
	}
	if (!name_ok(b, k) && quotable(b, k))
		return fail(p, p->line, "\"%.*s\" is not a variable name "
		    "(letters, digits and _, not starting with a digit; "
		    "systemd would skip the line)", (int)k, b);
	if (!name_ok(b, k))
		return fail(p, p->line, "the text before '=' is not a "
		    "variable name (letters, digits and _, not starting with "
		    "a digit; systemd would skip the line)");
	*s = b;
	*n = k;
	p->i = (size_t)(eq - p->b) + 1;
	return 0;
}

/*
 * The value, from p->i to the newline that ends it (left unconsumed) or
 * the end, into p->val. systemd's states: blanks before the value are
 * skipped (also after a closing quote); unquoted, trailing blanks are
 * dropped unless escaped.
 */
static int
read_value(struct envp *p)
{
	enum { PRE, PLAIN, ESC, SQ, DQ, DQ_ESC } st = PRE;
	unsigned int opened = 0;
	size_t trail = (size_t)-1;	/* PLAIN: where trailing blanks start */
	char c;

	/* An empty value is a string too: the buffer holds at least "". */
	p->vlen = 0;
	put(p, '\0');
	p->vlen = 0;
	for (; p->i < p->len; p->i++) {
		c = p->b[p->i];
		switch (st) {
		case PRE:
			if (c == '\n')
				goto done;
			if (c == '\'' || c == '"') {
				st = c == '\'' ? SQ : DQ;
				opened = p->line;
			} else if (c == '\\')
				st = ESC;
			else if (!blank(c)) {
				st = PLAIN;
				put(p, c);
			}
			break;
		case PLAIN:
			if (c == '\n')
				goto done;
			if (c == '\\') {
				st = ESC;
				trail = (size_t)-1;
				break;
			}
			if (!blank(c))
				trail = (size_t)-1;
			else if (trail == (size_t)-1)
				trail = p->vlen;
			put(p, c);
			break;
		case ESC:
			st = PLAIN;
			if (c == '\n')
				p->line++;	/* a continuation */
			else
				put(p, c);
			break;
		case SQ:
		case DQ:
			if (c == (st == SQ ? '\'' : '"'))
				st = PRE;
			else if (st == DQ && c == '\\')
				st = DQ_ESC;
			else {
				if (c == '\n')
					p->line++;
				put(p, c);
			}
			break;
		case DQ_ESC:
			st = DQ;
			if (c == '\n') {
				p->line++;
				break;
			}
			if (strchr("\"\\`$", c) == NULL)
				put(p, '\\');
			put(p, c);
			break;
		}
	}
	if (st == SQ || st == DQ || st == DQ_ESC)
		return fail(p, opened, "the %s quote opened here is never "
		    "closed", st == SQ ? "single" : "double");
	p->esc_at_end = st == ESC;
done:
	if (st == PLAIN && trail != (size_t)-1 && !p->err) {
		p->vlen = trail;
		p->val[trail] = '\0';
	}
	return 0;
}

/* name's entry (a new one at the end when it is not there yet). */
static struct envfile_var *
slot(struct envfile *ef, const char *name, size_t n)
{
	struct envfile_var *nv;
	size_t i;

	for (i = 0; i < ef->n; i++)
		if (strlen(ef->v[i].name) == n &&
		    memcmp(ef->v[i].name, name, n) == 0)
			return &ef->v[i];
	if ((nv = reallocarray(ef->v, ef->n + 1, sizeof(*nv))) == NULL)
		return NULL;
	ef->v = nv;
	nv = &ef->v[ef->n];
	memset(nv, 0, sizeof(*nv));
	if ((nv->name = strndup(name, n)) == NULL)
		return NULL;
	ef->n++;
	return nv;
}

/* One NAME=value starting at p->i (its line starts at start). */
static int
assignment(struct envp *p, struct envfile *ef, size_t start)
{
	struct envfile_var *v;
	unsigned int line = p->line;
	const char *name = NULL;
	size_t n = 0;
	char *val;

	if (read_name(p, &name, &n) < 0 || read_value(p) < 0)
		return -1;
	if (p->err || (v = slot(ef, name, n)) == NULL ||
	    (val = strndup(p->val, p->vlen)) == NULL)
		return fail(p, line, "out of memory");
	free(v->value);
	v->value = val;
	v->value_len = p->vlen;
	v->line = line;
	v->start = start;
	v->end = p->i;
	return 0;
}

/*
 * A comment, up to its line's end. One that ends in a backslash (an odd
 * run of them) is refused: systemd before 254 (Debian 12's 252) takes
 * the next line into the comment, later ones do not.
 */
static int
comment(struct envp *p)
{
	size_t run = 0;

	for (; p->i < p->len && p->b[p->i] != '\n'; p->i++)
		run = p->b[p->i] == '\\' ? run + 1 : 0;
	if (run % 2 == 1)
		return fail(p, p->line, "a comment ends in '\\': systemd "
		    "before 254 reads the next line as part of it, later "
		    "ones do not (remove the '\\')");
	return 0;
}

int
envfile_parse(struct envfile *ef, const char *buf, size_t len, char *err,
    size_t errsz)
{
	struct envp p = { .b = buf, .len = len, .line = 1, .msg = err,
	    .msgsz = errsz };
	size_t start = 0;
	int rv = -1;

	memset(ef, 0, sizeof(*ef));
	if (errsz > 0)
		err[0] = '\0';
	if (len > ENVFILE_MAX) {
		snprintf(err, errsz, "larger than %d bytes: not an "
		    "environment file", ENVFILE_MAX);
		goto out;
	}
	if (check_bytes(&p) < 0)
		goto out;
	while (p.i < len) {
		char c = buf[p.i];

		ef->append_nl = 0;
		if (c == '\n') {
			p.line++;
			start = ++p.i;
		} else if (blank(c))
			p.i++;
		else if (c == '#' || c == ';') {
			if (comment(&p) < 0)
				goto out;
			ef->append_nl = p.i == len;
		} else if (assignment(&p, ef, start) < 0)
			goto out;
		else if (p.i == len)	/* no newline ended it */
			ef->append_nl = p.esc_at_end ? 2 : 1;
	}
	rv = 0;
out:
	free(p.val);
	if (rv < 0)
		envfile_free(ef);
	return rv;
}

/* The whole file (at most ENVFILE_MAX bytes) into *buf. */
static int
slurp(const char *path, char **buf, size_t *len, char *err, size_t errsz)
{
	char *b = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, rv = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((b = malloc(ENVFILE_MAX + 1)) == NULL) {
		snprintf(err, errsz, "%s: out of memory", path);
		goto out;
	}
	while (n <= ENVFILE_MAX &&
	    (r = read(fd, b + n, ENVFILE_MAX + 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errsz, "%s: %s", path, strerror(errno));
			goto out;
		}
		n += (size_t)r;
	}
	*buf = b;
	*len = n;
	b = NULL;
	rv = 0;
out:
	free(b);
	close(fd);
	return rv;
}

int
envfile_read(struct envfile *ef, const char *path, char **bufp,
    size_t *lenp, char *err, size_t errsz)
{
	char msg[ENVFILE_ERR_MAX], *buf = NULL;
	size_t len = 0;
	int rv = -1;

	memset(ef, 0, sizeof(*ef));
	if (slurp(path, &buf, &len, err, errsz) < 0)
		return -1;
	if (envfile_parse(ef, buf, len, msg, sizeof(msg)) < 0) {
		snprintf(err, errsz, "%s: %s", path, msg);
		goto out;
	}
	if (bufp != NULL) {
		*bufp = buf;
		*lenp = len;
		buf = NULL;
	}
	rv = 0;
out:
	free(buf);
	return rv;
}

const struct envfile_var *
envfile_get(const struct envfile *ef, const char *name)
{
	size_t i;

	for (i = 0; i < ef->n; i++)
		if (strcmp(ef->v[i].name, name) == 0)
			return &ef->v[i];
	return NULL;
}

void
envfile_free(struct envfile *ef)
{
	size_t i;

	for (i = 0; i < ef->n; i++) {
		free(ef->v[i].name);
		free(ef->v[i].value);
	}
	free(ef->v);
	memset(ef, 0, sizeof(*ef));
}

int
envfile_set(const char *buf, size_t len, const struct envfile *ef,
    const char *name, const char *value, char **out, size_t *outlen)
{
	const struct envfile_var *v = envfile_get(ef, name);
	size_t from = len, to = len, nl, nn = strlen(name), vn = strlen(value);
	size_t i, n;
	char *o;

	for (i = 0; i < vn; i++)
		if (!((value[i] >= 'A' && value[i] <= 'Z') ||
		    (value[i] >= 'a' && value[i] <= 'z') ||
		    (value[i] >= '0' && value[i] <= '9')))
			return -1;
	if (!name_ok(name, nn))
		return -1;
	if (v != NULL) {
		from = v->start;
		to = v->end;
	}
	/* Appended after the newlines that end the last line (append_nl). */
	nl = v == NULL ? ef->append_nl : 0;
	n = from + nl + nn + 1 + vn + (v == NULL) + (len - to);
	if ((o = malloc(n + 1)) == NULL)
		return -1;
	if (from > 0)
		memcpy(o, buf, from);
	i = from;
	while (nl-- > 0)
		o[i++] = '\n';
	memcpy(o + i, name, nn);
	i += nn;
	o[i++] = '=';
	memcpy(o + i, value, vn);
	i += vn;
	if (v == NULL)
		o[i++] = '\n';
	if (len > to)
		memcpy(o + i, buf + to, len - to);
	o[n] = '\0';
	*out = o;
	*outlen = n;
	return 0;
}

int
envfile_write(const char *path, const char *buf, size_t len, mode_t mode,
    char *err, size_t errsz)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	int fd = -1, dfd, rv = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >=
	    sizeof(tmp)) {
		snprintf(err, errsz, "%s: the path is too long", path);
		return -1;
	}
	if ((fd = mkstemp(tmp)) < 0) {
		snprintf(err, errsz, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) < 0 || proto_write_all(fd, buf, len) < 0 ||
	    fsync(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errsz, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	/* The rename itself on disk. */
	strlcpy(dir, path, sizeof(dir));
	if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	rv = 0;
out:
	close(fd);
	return rv;
}
