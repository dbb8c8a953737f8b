/*
 * What libcurl's HTTP layer costs one streamed model request, against the
 * same request written and read by hand on a connection libcurl made and
 * keeps (CURLOPT_CONNECT_ONLY, curl_easy_send and curl_easy_recv): n
 * requests each way to the mock model, one kept connection each, the
 * client's CPU (user + system, getrusage) per request printed. Under
 * valgrind --tool=callgrind the instructions of each way can be read from
 * curlcost_full and curlcost_own. The hand-written way reads the response
 * head to its blank line and walks the chunks to the last one, as a
 * worker using it would have to (the SSE parse is the same either way and
 * left out of both). Prints, never asserts.
 *
 *   make build/release/bench/curlcost bin/mockai
 *   bin/mockai --port-file /tmp/mock.port & sleep 0.3
 *   build/release/bench/curlcost http://127.0.0.1:$(cat /tmp/mock.port) 3000
 */

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "benchclock.h"

#define BODY	"{\"model\":\"m\",\"stream\":true,\"messages\":" \
		"[{\"role\":\"user\",\"content\":\"hello there\"}]}"
#define RESP_MAX	(256 * 1024)

static size_t
count_cb(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	*(size_t *)arg += sz * n;
	return sz * n;
}

/* n requests through libcurl's whole HTTP layer; the bytes read, or 0. */
static size_t
curlcost_full(const char *base, int n)
{
	struct curl_slist *h = NULL;
	char url[512];
	size_t got = 0;
	CURL *e;
	int i;

	snprintf(url, sizeof(url), "%s/v1/chat/completions", base);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Accept: text/event-stream");
	h = curl_slist_append(h, "Expect:");
	h = curl_slist_append(h, "User-Agent: parley");
	if ((e = curl_easy_init()) == NULL)
		return 0;
	for (i = 0; i < n; i++) {
		curl_easy_reset(e);
		curl_easy_setopt(e, CURLOPT_URL, url);
		curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
		    (long)CURL_HTTP_VERSION_1_1);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, BODY);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)strlen(BODY));
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, count_cb);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, &got);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
		if (curl_easy_perform(e) != CURLE_OK) {
			got = 0;
			break;
		}
	}
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	return got;
}

/* Waits until e's socket is ready for events (POLLIN or POLLOUT). */
static void
wait_sock(CURL *e, short events)
{
	curl_socket_t s;
	struct pollfd p;

	curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &s);
	p.fd = s;
	p.events = events;
	(void)poll(&p, 1, 1000);
}

/*
 * Where the chunked body in b[from..len) ends (past its last, empty
 * chunk), or 0 when more is needed; *at is where the walk got to.
 */
static size_t
chunks_end(const char *b, size_t len, size_t *at)
{
	size_t p = *at, size;
	const char *eol;
	char *end;

	for (;;) {
		if ((eol = memmem(b + p, len - p, "\r\n", 2)) == NULL)
			return 0;
		size = strtoul(b + p, &end, 16);
		if (size == 0) {
			/* The last chunk, then the blank line. */
			if (len - (size_t)(eol - b) < 4)
				return 0;
			return (size_t)(eol - b) + 4;
		}
		if ((size_t)(eol - b) + 2 + size + 2 > len)
			return 0;
		p = (size_t)(eol - b) + 2 + size + 2;
		*at = p;
	}
}

/* n requests written and read by hand on one connection; bytes read, or 0. */
static size_t
curlcost_own(const char *base, int n)
{
	char req[1024], *buf, host[256];
	size_t got = 0, len, sent, nb, at, head;
	const char *hp, *body;
	CURLcode rc;
	CURL *e;
	int i;

	if ((hp = strstr(base, "://")) == NULL)
		return 0;
	snprintf(host, sizeof(host), "%s", hp + 3);
	len = (size_t)snprintf(req, sizeof(req),
	    "POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: parley\r\nContent-Type: application/json\r\n"
	    "Accept: text/event-stream\r\nContent-Length: %zu\r\n\r\n%s",
	    host, strlen(BODY), BODY);
	if ((buf = malloc(RESP_MAX)) == NULL || (e = curl_easy_init()) == NULL)
		return 0;
	curl_easy_setopt(e, CURLOPT_URL, base);
	curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	if (curl_easy_perform(e) != CURLE_OK)
		goto fail;
	for (i = 0; i < n; i++) {
		for (sent = 0; sent < len; sent += nb) {
			nb = 0;
			rc = curl_easy_send(e, req + sent, len - sent, &nb);
			if (rc == CURLE_AGAIN)
				wait_sock(e, POLLOUT);
			else if (rc != CURLE_OK)
				goto fail;
		}
		/* The head to its blank line, then the chunks to the last. */
		nb = 0;
		head = 0;
		at = 0;
		for (;;) {
			size_t r = 0;

			rc = curl_easy_recv(e, buf + nb, RESP_MAX - nb, &r);
			if (rc == CURLE_AGAIN) {
				wait_sock(e, POLLIN);
				continue;
			}
			if (rc != CURLE_OK || r == 0)
				goto fail;
			nb += r;
			if (head == 0) {
				if ((body = memmem(buf, nb, "\r\n\r\n", 4)) ==
				    NULL)
					continue;
				head = at = (size_t)(body - buf) + 4;
			}
			if (chunks_end(buf, nb, &at) != 0)
				break;
		}
		got += nb;
	}
	curl_easy_cleanup(e);
	free(buf);
	return got;
fail:
	curl_easy_cleanup(e);
	free(buf);
	return 0;
}

int
main(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 2000;
	double t0, full, own;
	size_t a, b;

	if (argc < 2 || n < 1) {
		fprintf(stderr, "usage: curlcost http://HOST:PORT [n]\n");
		return 2;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* A first pass each way: connections, caches and pages warm. */
	curlcost_full(argv[1], 50);
	curlcost_own(argv[1], 50);
	t0 = cpu_us();
	a = curlcost_full(argv[1], n);
	full = cpu_us() - t0;
	t0 = cpu_us();
	b = curlcost_own(argv[1], n);
	own = cpu_us() - t0;
	if (a == 0 || b == 0) {
		fprintf(stderr, "curlcost: a request failed (full %zu, own %zu "
		    "bytes)\n", a, b);
		return 1;
	}
	printf("libcurl's HTTP layer: %.1f us of CPU a request (%zu bytes "
	    "read)\n", full / n, a / (size_t)n);
	printf("by hand on libcurl's connection: %.1f us of CPU a request "
	    "(%zu bytes read)\n", own / n, b / (size_t)n);
	curl_global_cleanup();
	return 0;
}
