/*
 * One log module for every Parley process.
 *
 * Every line goes to stderr as "<P>name[pid]: level: message", where <P> is
 * the syslog priority prefix journald understands (sd-daemon(3)), so the
 * journal files each line at its level. Messages never contain secrets.
 */
#ifndef PARLEY_LOG_H
#define PARLEY_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LEVEL_DEBUG = 0,
	LOG_LEVEL_INFO,
	LOG_LEVEL_WARN,
	LOG_LEVEL_ERROR,	/* a failure the process lives on with */
	LOG_LEVEL_FATAL,
};

/* Names the process in every line (level info until log_set_level). */
void log_init(const char *procname);
void log_set_level(enum log_level level);
const char *log_procname(void);
/* 1 when a line at level would be written: skip building costly details. */
int log_wants(enum log_level level);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An error (syslog priority 3) the process goes on after. */
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* fatal appends strerror(errno); both exit(1). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
