/*
 * Helpers shared by the cmocka unit tests of proto/, lib/ and the daemons
 * (every directory's tests are built with -Iproto -Ilib). Include after
 * <cmocka.h>.
 */
#ifndef PARLEY_TEST_UTIL_H
#define PARLEY_TEST_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "storemsg.h"

/* stderr written into a file meanwhile: what a test's logs say. */
struct stderr_capture {
	FILE *f;
	int saved;	/* the real stderr */
};

static inline void
stderr_capture_start(struct stderr_capture *c)
{
	fflush(stderr);
	assert_non_null(c->f = tmpfile());
	assert_true((c->saved = dup(STDERR_FILENO)) >= 0);
	assert_true(dup2(fileno(c->f), STDERR_FILENO) >= 0);
}

/* Stops capturing: the text written meanwhile in buf (cut to fit), buf. */
static inline const char *
stderr_capture_end(struct stderr_capture *c, char *buf, size_t bufsz)
{
	size_t n;

	fflush(stderr);
	assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	rewind(c->f);
	n = fread(buf, 1, bufsz - 1, c->f);
	buf[n] = '\0';
	fclose(c->f);
	return buf;
}

/* File descriptors this process has open: a test's leaks show here. */
static inline int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the DIR's own fd */
}

/* Conversation n: count messages, the last one last (malloc'd). */
static inline void
test_fill_conv(struct st_conv *c, int n, uint32_t count, const char *last)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%032x", n);
	strlcpy(c->widget, "default", sizeof(c->widget));
	snprintf(c->session, sizeof(c->session), "sess-%d", n);
	c->created_at = 1700000000000ULL + (uint64_t)n;
	c->updated_at = 1700000000500ULL + (uint64_t)n;
	c->message_count = count;
	c->last_message = strdup(last);
}

/* Message n of conversation conv (content malloc'd). */
static inline void
test_fill_msg(struct st_msg *m, int conv, int n, const char *content)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%032x", 1000 + n);
	snprintf(m->conv_id, sizeof(m->conv_id), "%032x", conv);
	strlcpy(m->role, n % 2 ? "assistant" : "user", sizeof(m->role));
	strlcpy(m->status, "complete", sizeof(m->status));
	m->created_at = 1700000001000ULL + (uint64_t)n;
	m->prompt_tokens = (uint32_t)n;
	m->completion_tokens = (uint32_t)n * 2;
	m->content = strdup(content);
}

#endif
