/*
 * Logging for every process (log.h): one line per message on stderr,
 * "name[pid]: text", with a syslog priority prefix journald reads, and
 * fatal/fatalx that log and exit 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char log_name[32] = "parley";
static enum log_level log_min = LOG_LEVEL_INFO;

void
log_init(const char *procname)
{
	strlcpy(log_name, procname, sizeof(log_name));
}

int
log_wants(enum log_level level)
{
	return level >= log_min;
}

void
log_set_level(enum log_level level)
{
	log_min = level;
}

const char *
log_procname(void)
{
	return log_name;
}

/*
 * The length of the UTF-8 character at p when it is whole and shown as it
 * is, else 0: an invalid byte, or a C1 control (U+0080 to U+009F, whose
 * U+009B a terminal reads as CSI), is escaped as a control is.
 */
static size_t
utf8_shown(const unsigned char *p)
{
	size_t k, i;

	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	k = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	for (i = 1; i < k; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if (p[0] == 0xc2 && p[1] < 0xa0)
		return 0;
	return k;
}

/*
 * msg into out (outlen > 0) with each control byte written as \xNN: a
 * value from outside (a URL, a server's answer) never starts a line of
 * its own in the journal, nor moves a terminal's cursor.
 */
static void
log_clean(char *out, size_t outlen, const char *msg)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t n = 0, k;

	for (p = (const unsigned char *)msg; *p != '\0'; p++) {
		if (*p >= 0x20 && *p < 0x7f) {
			if (n + 1 >= outlen)
				break;
			out[n++] = (char)*p;
			continue;
		}
		/* A character of UTF-8 whole, but never a C1 control. */
		if ((k = utf8_shown(p)) > 0) {
			if (n + k >= outlen)
				break;
			memcpy(out + n, p, k);
			n += k;
			p += k - 1;
			continue;
		}
		if (n + 4 >= outlen)
			break;
		out[n++] = '\\';
		out[n++] = 'x';
		out[n++] = hex[*p >> 4];
		out[n++] = hex[*p & 15];
	}
	out[n] = '\0';
}

/* syslog priorities: 3 err, 4 warning, 6 info, 7 debug. */
static void
log_emit(enum log_level level, int with_errno, int saved_errno,
    const char *fmt, va_list ap)
{
	static const struct {
		int prio;
		const char *word;
	} lv[] = {
		[LOG_LEVEL_DEBUG] = { 7, "debug" },
		[LOG_LEVEL_INFO] = { 6, "info" },
		[LOG_LEVEL_WARN] = { 4, "warn" },
		[LOG_LEVEL_ERROR] = { 3, "error" },
		[LOG_LEVEL_FATAL] = { 3, "fatal" },
	};
	char raw[1024], msg[1024];
	char line[1200];
	int n;

	if (level < log_min)
		return;
	vsnprintf(raw, sizeof(raw), fmt, ap);
	log_clean(msg, sizeof(msg), raw);
	if (with_errno)
		n = snprintf(line, sizeof(line), "<%d>%s[%d]: %s: %s: %s\n",
		    lv[level].prio, log_name, (int)getpid(), lv[level].word,
		    msg, strerror(saved_errno));
	else
		n = snprintf(line, sizeof(line), "<%d>%s[%d]: %s: %s\n",
		    lv[level].prio, log_name, (int)getpid(), lv[level].word,
		    msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {	/* cut: still one line */
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	/* One write per line so lines from several processes never interleave. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

#define LOG_FN(name, level, with_errno)				\
void								\
name(const char *fmt, ...)					\
{								\
	int saved = errno;					\
	va_list ap;						\
	va_start(ap, fmt);					\
	log_emit(level, with_errno, saved, fmt, ap);		\
	va_end(ap);						\
	errno = saved;						\
}

LOG_FN(log_debug, LOG_LEVEL_DEBUG, 0)
LOG_FN(log_info, LOG_LEVEL_INFO, 0)
LOG_FN(log_warn, LOG_LEVEL_WARN, 1)
LOG_FN(log_warnx, LOG_LEVEL_WARN, 0)
LOG_FN(log_errorx, LOG_LEVEL_ERROR, 0)

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_FATAL, 1, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_LEVEL_FATAL, 0, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
