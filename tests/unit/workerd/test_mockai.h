/*
 * The project's mock model (build/test/bin/mockai, or $MOCKAI_BIN) for
 * workerd's unit tests: started on a free loopback port, asked through its
 * /_mock/... endpoints with a blocking HTTP/1.0 request, stopped with
 * SIGTERM (its exit status says whether its sanitizers were quiet).
 * Static functions: include it in one test file.
 */
#ifndef PARLEY_TEST_MOCKAI_H
#define PARLEY_TEST_MOCKAI_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "proto.h"

struct mockai {
	pid_t pid;
	int port;
	char dir[64];
	char base_url[128];	/* http://127.0.0.1:PORT/v1 */
};

/*
 * Starts the mock with the extra arguments args (NULL-terminated, may be
 * NULL): 0 with m filled, or -1 (nothing left running).
 */
static int
mockai_start(struct mockai *m, const char *const *args)
{
	const char *bin = getenv("MOCKAI_BIN");
	const char *argv[32];
	char portfile[128], buf[32];
	long long end;
	size_t k = 0;
	FILE *f;

	memset(m, 0, sizeof(*m));
	m->pid = -1;
	if (bin == NULL || *bin == '\0')
		bin = "build/test/bin/mockai";
	if (access(bin, X_OK) < 0) {
		fprintf(stderr, "no mock at %s (make %s; run from the repository "
		    "root or set MOCKAI_BIN)\n", bin, bin);
		return -1;
	}
	strlcpy(m->dir, "/tmp/parley-mockai-XXXXXX", sizeof(m->dir));
	if (mkdtemp(m->dir) == NULL)
		return -1;
	snprintf(portfile, sizeof(portfile), "%s/port", m->dir);
	argv[k++] = bin;
	argv[k++] = "--port-file";
	argv[k++] = portfile;
	for (size_t i = 0; args != NULL && args[i] != NULL && k < 30; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	if ((m->pid = fork()) < 0)
		return -1;
	if (m->pid == 0) {
		execv(bin, (char *const *)(void *)argv);
		_exit(127);
	}
	end = proto_mono_ms() + 10000;
	while (m->port <= 0 && proto_mono_ms() < end) {
		if ((f = fopen(portfile, "r")) != NULL) {
			if (fgets(buf, sizeof(buf), f) != NULL)
				m->port = atoi(buf);
			fclose(f);
		}
		if (m->port <= 0)
			usleep(10000);
	}
	unlink(portfile);
	if (m->port <= 0) {
		kill(m->pid, SIGKILL);
		waitpid(m->pid, NULL, 0);
		rmdir(m->dir);
		return -1;
	}
	snprintf(m->base_url, sizeof(m->base_url), "http://127.0.0.1:%d/v1",
	    m->port);
	return 0;
}

/* Stops it; its exit status (0: clean), or -1 when it was not running. */
static int
mockai_stop(struct mockai *m)
{
	int st = 0;

	if (m->pid <= 0)
		return -1;
	kill(m->pid, SIGTERM);
	waitpid(m->pid, &st, 0);
	m->pid = -1;
	rmdir(m->dir);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A blocking request to the mock (body NULL: none); the JSON answer or NULL. */
static json_t *
mockai_call(const struct mockai *m, const char *method, const char *path,
    const char *body)
{
	struct sockaddr_in sin;
	struct timeval tv = { 5, 0 };
	char head[512], buf[65536], *p;
	size_t len = 0;
	ssize_t n;
	json_t *j = NULL;
	int fd;

	if (body == NULL)
		body = "";
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)m->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = snprintf(head, sizeof(head), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
	    method, path, strlen(body));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    write(fd, head, (size_t)n) != n ||
	    write(fd, body, strlen(body)) != (ssize_t)strlen(body))
		goto out;
	while (len < sizeof(buf) - 1 &&
	    (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	if ((p = strstr(buf, "\r\n\r\n")) != NULL)
		j = json_loads(p + 4, 0, NULL);
out:
	close(fd);
	return j;
}

/* One counter of GET /_mock/stats; -1 when it cannot be read. */
static long long
mockai_stat(const struct mockai *m, const char *name)
{
	json_t *j = mockai_call(m, "GET", "/_mock/stats", NULL);
	long long v = -1;

	if (json_is_integer(json_object_get(j, name)))
		v = json_integer_value(json_object_get(j, name));
	json_decref(j);
	return v;
}

#endif
