/*
 * Helpers for workerd's unit tests that talk HTTP to a connection in the
 * same process: a client on one end of a socketpair (the other end is
 * handed to conn_new), reading with the event loop running, and a
 * response parser that understands Content-Length, chunked and
 * close-delimited bodies. The tclient_request and tclient_expect*
 * helpers assert with cmocka: include this after <cmocka.h>.
 */
#ifndef PARLEY_TEST_CLIENT_H
#define PARLEY_TEST_CLIENT_H

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_peer.h"

struct tclient {
	int fd;
	struct conn *c;
	char *buf;
	size_t len, cap;
	int eof;
	size_t off;		/* the next response, for tclient_expect */
};

struct tresp {
	int status;
	char head[4096];
	char *body;		/* malloc'd, NUL-terminated (chunks joined) */
	size_t body_len;
	int complete;		/* the whole body arrived */
};

static inline int
tclient_open(struct tclient *cl)
{
	int sv[2];

	memset(cl, 0, sizeof(*cl));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0)
		return -1;
	cl->fd = sv[1];
	router_wire();		/* as main.c does at start */
	cl->c = conn_new(sv[0], NULL);
	return cl->c != NULL ? 0 : -1;
}

static inline void
tclient_close(struct tclient *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	free(cl->buf);
	cl->buf = NULL;
	cl->len = cl->cap = 0;
	drive_ms(10);
}

/* One loop round, then reads what is there. */
static inline void
tclient_pump(struct tclient *cl)
{
	ssize_t n;

	loop_once(2);
	for (;;) {
		if (cl->cap - cl->len < 65536) {
			cl->cap = cl->cap ? cl->cap * 2 : 131072;
			if ((cl->buf = realloc(cl->buf, cl->cap + 1)) == NULL)
				abort();
		}
		n = read(cl->fd, cl->buf + cl->len, cl->cap - cl->len);
		if (n > 0) {
			cl->len += (size_t)n;
			cl->buf[cl->len] = '\0';
			continue;
		}
		if (n == 0)
			cl->eof = 1;
		break;
	}
}

static inline int
tclient_send(struct tclient *cl, const char *s, size_t len)
{
	size_t off = 0;
	ssize_t n;
	uint64_t end = loop_clock() + 2000;

	while (off < len && loop_clock() < end) {
		n = write(cl->fd, s + off, len - off);
		if (n > 0)
			off += (size_t)n;
		else
			loop_once(1);
	}
	return off == len ? 0 : -1;
}

/* Reads until the other end closes (ms at most); 1 when it did. */
static inline int
tclient_wait_eof(struct tclient *cl, int ms)
{
	uint64_t end = loop_clock() + (uint64_t)ms;

	while (!cl->eof && loop_clock() < end)
		tclient_pump(cl);
	return cl->eof;
}

static inline void
tresp_free(struct tresp *r)
{
	free(r->body);
	r->body = NULL;
}

/*
 * Parses the response at cl->buf + *off. Returns 1 when complete (or,
 * with partial, when the head is there: body holds what came so far),
 * 0 when more is needed. *off moves past a complete response only.
 */
static inline int
tresp_parse(struct tclient *cl, size_t *off, int partial, struct tresp *r)
{
	const char *s, *eoh, *h, *p, *end;
	size_t hlen, blen, chunk;
	int chunked, has_len, done = 0;
	char *ep;

	memset(r, 0, sizeof(*r));
	if (cl->buf == NULL || *off >= cl->len)
		return 0;
	s = cl->buf + *off;
	end = cl->buf + cl->len;
	if ((eoh = strstr(s, "\r\n\r\n")) == NULL)
		return 0;
	hlen = (size_t)(eoh - s) + 4;
	if (hlen >= sizeof(r->head))
		abort();
	memcpy(r->head, s, hlen);
	r->head[hlen] = '\0';
	r->status = atoi(s + 9);
	chunked = strcasestr(r->head, "\r\nTransfer-Encoding: chunked") !=
	    NULL;
	h = strcasestr(r->head, "\r\nContent-Length: ");
	has_len = h != NULL;
	if ((r->body = malloc((size_t)(end - s) + 1)) == NULL)
		abort();
	r->body[0] = '\0';
	p = s + hlen;
	if (r->status == 204 || r->status == 304) {
		done = 1;
	} else if (has_len) {
		blen = strtoul(h + 18, NULL, 10);
		if ((size_t)(end - p) >= blen) {
			memcpy(r->body, p, blen);
			r->body_len = blen;
			p += blen;
			done = 1;
		} else {
			memcpy(r->body, p, (size_t)(end - p));
			r->body_len = (size_t)(end - p);
		}
	} else if (chunked) {
		for (;;) {
			if (memchr(p, '\n', (size_t)(end - p)) == NULL)
				break;
			chunk = strtoul(p, &ep, 16);
			if (ep[0] != '\r' || ep[1] != '\n')
				abort();
			if ((size_t)(end - (ep + 2)) < chunk + 2)
				break;
			if (chunk == 0) {
				p = ep + 4;
				done = 1;
				break;
			}
			memcpy(r->body + r->body_len, ep + 2, chunk);
			r->body_len += chunk;
			p = ep + 2 + chunk + 2;
		}
	} else {
		/* Close-delimited. */
		memcpy(r->body, p, (size_t)(end - p));
		r->body_len = (size_t)(end - p);
		p = end;
		done = cl->eof;
	}
	r->body[r->body_len] = '\0';
	r->complete = done;
	if (done) {
		*off = (size_t)(p - cl->buf);
		return 1;
	}
	if (partial)
		return 1;
	tresp_free(r);
	return 0;
}

/* Waits for a whole response (ms at most); 1 when it came. */
static inline int
tresp_wait(struct tclient *cl, size_t *off, struct tresp *r, int ms)
{
	uint64_t end = loop_clock() + (uint64_t)ms;

	for (;;) {
		if (tresp_parse(cl, off, 0, r))
			return 1;
		if (loop_clock() >= end)
			return 0;
		tclient_pump(cl);
	}
}

static inline const char *
tresp_header(const struct tresp *r, const char *name, char *out,
    size_t outsz)
{
	char pat[128];
	const char *h, *e;
	size_t n;

	snprintf(pat, sizeof(pat), "\r\n%s: ", name);
	if ((h = strcasestr(r->head, pat)) == NULL)
		return NULL;
	h += strlen(pat);
	e = strstr(h, "\r\n");
	n = (size_t)(e - h);
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, h, n);
	out[n] = '\0';
	return out;
}

/* method path with headers (each ending "\r\n") and, when not NULL, body. */
static inline void
tclient_request(struct tclient *cl, const char *method, const char *path,
    const char *headers, const char *body)
{
	char req[8192];

	snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: t\r\n%s",
	    method, path, headers ? headers : "");
	if (body != NULL)
		snprintf(req + strlen(req), sizeof(req) - strlen(req),
		    "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
	else
		strlcat(req, "\r\n", sizeof(req));
	assert_int_equal(tclient_send(cl, req, strlen(req)), 0);
}

/* The next response at cl->off (within 3 s); it must be status. */
static inline void
tclient_expect(struct tclient *cl, struct tresp *r, int status)
{
	assert_true(tresp_wait(cl, &cl->off, r, 3000));
	if (r->status != status)
		fail_msg("status %d, want %d: %s", r->status, status, r->body);
}

/* The next response is status with {"error":"msg"}, hdr in its head. */
static inline void
tclient_expect_error_hdr(struct tclient *cl, int status, const char *msg,
    const char *hdr)
{
	struct tresp r;
	char want[512];

	tclient_expect(cl, &r, status);
	snprintf(want, sizeof(want), "{\"error\":\"%s\"}", msg);
	assert_string_equal(r.body, want);
	if (hdr != NULL)
		assert_non_null(strstr(r.head, hdr));
	tresp_free(&r);
}

static inline void
tclient_expect_error(struct tclient *cl, int status, const char *msg)
{
	tclient_expect_error_hdr(cl, status, msg, NULL);
}

#endif
