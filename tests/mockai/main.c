/*
 * mockai: command line, listening socket, signals, and the main loop.
 * See README.md next to this file.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "log.h"
#include "mockai.h"
#include "version.h"

static struct loop_io listen_io = { .fd = -1 };

static void __attribute__((noreturn))
usage(int status)
{
	fprintf(status ? stderr : stdout,
	    "usage: mockai [--host ADDR] [--port N] [--port-file PATH] [--chunks N]\n"
	    "              [--delay-ms MS] [--first-delay-ms MS] [--api-key KEY]\n"
	    "              [--sndbuf BYTES]\n"
	    "A mock OpenAI-compatible model server: chat completions, embeddings, rerank\n"
	    "(see tests/mockai/README.md).\n"
	    "  --host ADDR          address to bind (default 127.0.0.1)\n"
	    "  --port N             port (default 0: pick a free one)\n"
	    "  --port-file PATH     write the port there once listening\n"
	    "  --chunks N           content chunks per reply (default 8)\n"
	    "  --delay-ms MS        pause between content chunks (default 0)\n"
	    "  --first-delay-ms MS  pause before the first content chunk (default 0)\n"
	    "  --api-key KEY        require \"Authorization: Bearer KEY\"\n"
	    "  --sndbuf BYTES       socket send buffer per client (default: the kernel's)\n");
	exit(status);
}

static int
number(const char *opt, const char *s, long long min, long long max)
{
	const char *errstr;
	long long v = strtonum(s, min, max, &errstr);

	if (errstr != NULL)
		fatalx("%s %s: %s (%lld-%lld)", opt, s, errstr, min, max);
	return (int)v;
}

static void
on_listen(int fd, uint32_t events, void *arg)
{
	http_listen_ready(fd);
}

static void
on_signal(int signo)
{
	log_info("signal %d: stopping", signo);
	loop_stop();
}

/*
 * Loopback unless told otherwise: the mock has no business on a network.
 * Returns the listening socket; *portp becomes the port it got.
 */
static int
listen_on(const char *host, int port, int *portp)
{
	struct addrinfo hints, *res, *ai;
	char portstr[16];
	int fd = -1, one = 1, rc;
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if ((rc = getaddrinfo(host, portstr, &hints, &res)) != 0)
		fatalx("%s: %s", host, gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, SOMAXCONN) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1)
		fatal("cannot listen on %s port %d", host, port);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == -1)
		fatal("getsockname");
	if (ss.ss_family == AF_INET6)
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	*portp = port;
	return fd;
}

/* Written then renamed, so a test polling the file never reads half a number. */
static void
write_port_file(const char *path, int port)
{
	char tmp[4096];
	FILE *f;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid()) >=
	    sizeof(tmp))
		fatalx("--port-file: path too long");
	if ((f = fopen(tmp, "w")) == NULL)
		fatal("%s", tmp);
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0)
		fatal("%s", tmp);
	if (rename(tmp, path) == -1)
		fatal("rename %s", path);
}

/* Hundreds of concurrent test streams need more fds than the usual 1024. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "chunks", required_argument, NULL, 'c' },
		{ "delay-ms", required_argument, NULL, 'd' },
		{ "first-delay-ms", required_argument, NULL, 'D' },
		{ "api-key", required_argument, NULL, 'k' },
		{ "sndbuf", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = "127.0.0.1", *port_file = NULL;
	int port = 0, ch, listen_fd;

	version_arg(argc, argv, "mockai", 0, 0);
	log_init("mockai");
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'h': host = optarg; break;
		case 'p': port = number("--port", optarg, 0, 65535); break;
		case 'f': port_file = optarg; break;
		case 'c': mock_defaults.chunks = number("--chunks", optarg, 1, MOCK_MAX_CHUNKS); break;
		case 'd': mock_defaults.delay_ms = number("--delay-ms", optarg, 0, MOCK_MAX_DELAY); break;
		case 'D': mock_defaults.first_delay_ms = number("--first-delay-ms", optarg, 0, MOCK_MAX_DELAY); break;
		case 'k':
			if (*optarg == '\0')
				fatalx("--api-key: empty");
			mock_api_key = optarg;
			break;
		case 's': mock_sndbuf = number("--sndbuf", optarg, 0, 64 * 1024 * 1024); break;
		case 'H': usage(0);
		default: usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	mock_cfg = mock_defaults;

	/* Signals arrive through the loop (signalfd), never in a handler. */
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	loop_init();
	loop_signal(SIGTERM, on_signal);
	loop_signal(SIGINT, on_signal);
	http_init();
	ptimer_init();
	listen_fd = listen_on(host, port, &port);
	if (loop_io_add(&listen_io, listen_fd, EPOLLIN, on_listen, NULL) < 0)
		fatal("epoll_ctl listener");
	if (port_file != NULL)
		write_port_file(port_file, port);
	fprintf(stderr, "mockai listening on http://%s%s%s:%d/v1\n",
	    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "", port);

	loop_run();

	/* Free everything so LeakSanitizer has nothing to say at exit. */
	http_close_all();
	control_free();
	loop_io_del(&listen_io);
	close(listen_fd);
	return 0;
}
