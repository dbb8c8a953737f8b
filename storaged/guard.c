/* The data directory's guard: device and inode of what the store writes (guard.h). */
#include <sys/inotify.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "guard.h"
#include "log.h"

/* What in the directory queues an event (guard.h). */
#define GUARD_EVENTS	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | \
			IN_DELETE_SELF | IN_MOVE_SELF)

/* The directory's inotify watch; without one every check is full. */
static void
guard_watch(struct guard *g, const char *dir)
{
	if ((g->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
		log_warn("guard: inotify (every write batch stats the paths)");
		return;
	}
	if (inotify_add_watch(g->ifd, dir, GUARD_EVENTS) < 0) {
		log_warn("guard: inotify %s (every write batch stats the "
		    "paths)", dir);
		close(g->ifd);
		return;
	}
	g->watching = 1;
}

/* 1 when the watch had news (read and dropped), or there is none. */
static int
guard_news(struct guard *g)
{
	char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int news = 0;
	ssize_t n;

	if (!g->watching)
		return 1;
	while ((n = read(g->ifd, ev, sizeof(ev))) > 0)
		news = 1;
	if (n < 0 && errno != EAGAIN)
		news = 1;	/* unread, maybe: look */
	return news;
}

void
guard_free(struct guard *g)
{
	if (g->watching)
		close(g->ifd);
	g->watching = 0;
}

int
guard_add(struct guard *g, const char *dir, const char *name)
{
	struct stat sb;
	char *path;
	int n;

	if (g->n >= GUARD_FILES) {
		log_warnx("guard: %s: already %d paths", dir, GUARD_FILES);
		return -1;
	}
	path = g->f[g->n].path;
	n = name != NULL ? snprintf(path, PATH_MAX, "%s/%s", dir, name) :
	    snprintf(path, PATH_MAX, "%s", dir);
	if (n < 0 || n >= PATH_MAX) {
		log_warnx("guard: %s: path too long", dir);
		return -1;
	}
	if (stat(path, &sb) < 0) {
		log_warn("guard: %s", path);
		return -1;
	}
	g->f[g->n].dev = sb.st_dev;
	g->f[g->n].ino = sb.st_ino;
	g->n++;
	if (name == NULL && !g->watching)
		guard_watch(g, dir);
	return 0;
}

int
guard_check(struct guard *g, int full)
{
	struct stat sb;
	size_t i;

	if (g->failed)
		return -1;
	if (!guard_news(g) && !full)
		return 0;
	for (i = 0; i < g->n; i++) {
		if (stat(g->f[i].path, &sb) < 0)
			snprintf(g->why, sizeof(g->why), "%s: %s", g->f[i].path,
			    errno == ENOENT ? "removed" : strerror(errno));
		else if (sb.st_dev != g->f[i].dev || sb.st_ino != g->f[i].ino)
			snprintf(g->why, sizeof(g->why), "%s: replaced by "
			    "another file", g->f[i].path);
		else
			continue;
		g->failed = 1;
		return -1;
	}
	return 0;
}
