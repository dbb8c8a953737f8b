/* The Unix socket clients connect to. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "storaged.h"

/*
 * A socket file left by a storaged that died answers nothing and can go;
 * one that answers belongs to a live storaged, which we must not steal
 * it from.
 */
static void
listener_clear(const struct sockaddr_un *sun)
{
	const char *path = sun->sun_path;
	struct stat sb;
	int fd, rc;

	if (lstat(path, &sb) < 0) {
		if (errno == ENOENT)
			return;
		fatal("%s", path);
	}
	if (!S_ISSOCK(sb.st_mode))
		fatalx("%s exists and is not a socket", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		fatal("socket");
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	/* EAGAIN: a live listener with a full backlog. */
	if (rc == 0 || errno == EAGAIN)
		fatalx("another storaged is running (%s answers)", path);
	if (errno != ECONNREFUSED && errno != ENOENT)
		fatal("connect %s", path);
	close(fd);
	log_info("%s: removing a stale socket", path);
	if (unlink(path) < 0 && errno != ENOENT)
		fatal("unlink %s", path);
}

int
listener_open(const char *path)
{
	struct sockaddr_un sun;
	mode_t old;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		fatalx("%s: socket path too long", path);
	listener_clear(&sun);

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) < 0)
		fatal("socket");
	/* Born 0600: no window in which others could connect. */
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		fatal("bind %s", path);
	umask(old);
	if (chmod(path, 0600) < 0)
		fatal("chmod %s", path);
	if (listen(fd, SOMAXCONN) < 0)
		fatal("listen %s", path);
	return fd;
}
