/* The data directory's guard: device and inode of what the store writes (guard.h). */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "guard.h"
#include "log.h"

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
	return 0;
}

int
guard_check(struct guard *g)
{
	struct stat sb;
	size_t i;

	if (g->failed)
		return -1;
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
