/*
 * Connections to model servers (model/mconn.c, model/mtls.c) over TLS:
 * libcurl makes the TCP connection, the TLS is the worker's own and the
 * owner speaks HTTP/1.1 on it, so the handshake must offer http/1.1
 * alone: a TLS server of the test's own (a forked child, OpenSSL) picks
 * h2 whenever the client offers it, and writes the protocol it picked.
 * The server is checked: a certificate nobody trusts, or one for another
 * name, fails the connection. A long answer is read whole in small reads
 * (what TLS holds decrypted is read before the socket is waited on), and
 * the server's close ends it. The test's certificate is trusted through
 * the connection's SSL_CTX callback.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "loop.h"
#include "mconn.h"
#include "test_canned.h"
#include "test_cert.h"

static X509 *cert;
static EVP_PKEY *key;

/* The server's choice: h2 when offered, else http/1.1. */
static int
alpn_pick(SSL *s, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h2[] = "\x02h2", h1[] = "\x08http/1.1";
	unsigned char *sel;

	if (SSL_select_next_proto(&sel, outlen, h2, 3, in, inlen) ==
	    OPENSSL_NPN_NEGOTIATED || SSL_select_next_proto(&sel, outlen,
	    h1, 9, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
		*out = sel;
		return SSL_TLSEXT_ERR_OK;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

#define LONG_ANSWER	(200 * 1024)

enum serve { SERVE_ALPN, SERVE_LONG, SERVE_RESUMED };

/*
 * The child: one TLS connection, "alpn=<picked>\n" written, then held
 * until the client closes; or (SERVE_LONG) LONG_ANSWER bytes of 'x'
 * written and the connection closed with close_notify; or
 * (SERVE_RESUMED) two connections one after the other, each told
 * "resumed=<0 or 1>\n" and held until the client closes.
 */
static int
tls_server(pid_t *pid, enum serve what)
{
	static char big[LONG_ANSWER];
	const unsigned char *p;
	unsigned int plen;
	char line[64];
	SSL_CTX *ctx;
	int lfd, fd, port, i;
	SSL *s;

	lfd = canned_listen(&port);
	if ((*pid = fork()) == 0) {
		alarm(10);
		ctx = SSL_CTX_new(TLS_server_method());
		if (ctx == NULL || SSL_CTX_use_certificate(ctx, cert) != 1 ||
		    SSL_CTX_use_PrivateKey(ctx, key) != 1)
			_exit(1);
		SSL_CTX_set_alpn_select_cb(ctx, alpn_pick, NULL);
		for (i = 0; i < (what == SERVE_RESUMED ? 2 : 1); i++) {
			if ((fd = accept(lfd, NULL, NULL)) < 0 ||
			    (s = SSL_new(ctx)) == NULL ||
			    SSL_set_fd(s, fd) != 1 || SSL_accept(s) != 1)
				_exit(2);
			if (what != SERVE_RESUMED)
				break;
			snprintf(line, sizeof(line), "resumed=%d\n",
			    SSL_session_reused(s));
			if (SSL_write(s, line, (int)strlen(line)) <= 0)
				_exit(3);
			(void)SSL_read(s, line, sizeof(line));
			SSL_free(s);
			close(fd);
		}
		if (what == SERVE_RESUMED)
			_exit(0);
		if (what == SERVE_LONG) {
			memset(big, 'x', sizeof(big));
			if (SSL_write(s, big, (int)sizeof(big)) != (int)sizeof(big))
				_exit(4);
			(void)SSL_shutdown(s);
			_exit(0);
		}
		SSL_get0_alpn_selected(s, &p, &plen);
		snprintf(line, sizeof(line), "alpn=%.*s\n", (int)plen,
		    plen ? (const char *)p : "");
		if (SSL_write(s, line, (int)strlen(line)) <= 0)
			_exit(3);
		(void)SSL_read(s, line, sizeof(line));	/* until it closes */
		_exit(0);
	}
	close(lfd);
	return port;
}

/* Trusts the test's certificate on a new connection's SSL_CTX. */
static CURLcode
trust_test_cert(CURL *c, void *ctx, void *arg)
{
	X509_STORE_add_cert(SSL_CTX_get_cert_store((SSL_CTX *)ctx), cert);
	return CURLE_OK;
}

struct seen {
	int ready, io;
	CURLcode rc;
};

static void
on_conn(void *arg, enum mconn_event ev, CURLcode rc)
{
	struct seen *s = arg;

	if (ev == MCONN_READY) {
		s->ready = 1;
		s->rc = rc;
	} else
		s->io = 1;
}

/* Runs the loop until *flag is set or ms pass. */
static int
drive_until(int *flag, int ms)
{
	uint64_t end = loop_clock() + (uint64_t)ms;

	while (!*flag && loop_clock() < end)
		loop_once(20);
	return *flag;
}

/* The server child has exited, and cleanly. */
static void
server_exited(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A new connection to url's server (connect_ms): mconn_take's answer. */
static struct mconn *
take(const char *url, long connect_ms, curl_ssl_ctx_callback trust,
    struct seen *seen)
{
	struct mconn_opts o;
	struct mconn *mc;
	int reused;

	memset(&o, 0, sizeof(o));
	o.url = url;
	assert_non_null(o.origin = mconn_origin(url));
	o.connect_ms = connect_ms;
	o.ssl_ctx = trust;
	memset(seen, 0, sizeof(*seen));
	mc = mconn_take(&o, on_conn, seen, &reused);
	assert_int_equal(reused, 0);
	free((char *)o.origin);
	return mc;
}

/* A connection to url's server; its MCONN_READY's rc. */
static CURLcode
tls_connect(const char *url, curl_ssl_ctx_callback trust, struct mconn **mcp,
    struct seen *seen)
{
	assert_non_null(*mcp = take(url, 5000, trust, seen));
	assert_true(drive_until(&seen->ready, 5000));
	return seen->rc;
}

/* Reaps the server child, whatever became of it. */
static void
reap(pid_t pid)
{
	int st;

	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &st, 0), pid);
}

/* A connection to host's test server, trusted or not: refused. */
static void
refused(const char *host, curl_ssl_ctx_callback trust)
{
	struct mconn *mc;
	struct seen seen;
	char url[64];
	pid_t pid;

	snprintf(url, sizeof(url), "https://%s:%d/v1", host,
	    tls_server(&pid, SERVE_ALPN));
	assert_int_equal(tls_connect(url, trust, &mc, &seen),
	    CURLE_PEER_FAILED_VERIFICATION);
	mconn_put(mc, 0);
	reap(pid);
}

static void
test_tls_untrusted_refused(void **state)
{
	refused("localhost", NULL);
}

static void
test_tls_other_name_refused(void **state)
{
	/* Trusted, but made for "localhost", not this address. */
	refused("127.0.0.1", trust_test_cert);
}

static void
test_tls_long_answer_whole(void **state)
{
	struct mconn *mc;
	struct seen seen;
	char url[64], buf[1000];
	size_t total = 0, n;
	CURLcode rc;
	pid_t pid;

	snprintf(url, sizeof(url), "https://localhost:%d/v1",
	    tls_server(&pid, SERVE_LONG));
	assert_int_equal(tls_connect(url, trust_test_cert, &mc, &seen),
	    CURLE_OK);
	mconn_want(mc, 1, 0);
	for (;;) {
		seen.io = 0;
		if ((rc = mconn_recv(mc, buf, sizeof(buf), &n)) == CURLE_AGAIN) {
			assert_true(drive_until(&seen.io, 5000));
			continue;
		}
		assert_int_equal(rc, CURLE_OK);
		if (n == 0)
			break;		/* the server's close_notify */
		assert_int_equal(memchr(buf, 'x', n) == buf ? 0 : 1, 0);
		total += n;
	}
	assert_int_equal(total, LONG_ANSWER);
	mconn_put(mc, 0);
	server_exited(pid);
}

/* The connection's first line (up to '\n'), into buf. */
static void
read_line(struct mconn *mc, struct seen *seen, char *buf, size_t size)
{
	size_t got = 0, n;

	mconn_want(mc, 1, 0);
	while (got < size - 1 && memchr(buf, '\n', got) == NULL) {
		seen->io = 0;
		if (mconn_recv(mc, buf + got, size - 1 - got, &n) ==
		    CURLE_AGAIN) {
			assert_true(drive_until(&seen->io, 5000));
			continue;
		}
		assert_true(n > 0);
		got += n;
	}
	buf[got] = '\0';
}

/*
 * A trusted connection to a SERVE_ALPN server, taken after the loop was
 * held held_ms (connect_ms its connect time): it offered http/1.1 alone.
 */
static void
alpn_http11(int held_ms, long connect_ms)
{
	struct mconn *mc;
	struct seen seen;
	char url[64], line[64];
	pid_t pid;

	snprintf(url, sizeof(url), "https://localhost:%d/v1/chat/completions",
	    tls_server(&pid, SERVE_ALPN));
	(void)loop_clock();
	if (held_ms > 0)
		usleep((useconds_t)held_ms * 1000);	/* the loop held */
	assert_non_null(mc = take(url, connect_ms, trust_test_cert, &seen));
	assert_true(drive_until(&seen.ready, 5000));
	assert_int_equal(seen.rc, CURLE_OK);
	read_line(mc, &seen, line, sizeof(line));
	assert_string_equal(line, "alpn=http/1.1\n");
	mconn_put(mc, 0);
	server_exited(pid);
}

static void
test_tls_offers_http11_alone(void **state)
{
	alpn_http11(0, 5000);
}

/*
 * The handshake's deadline counts from the take, not from the loop turn's
 * start: a take at the end of a turn that held the loop longer than its
 * connect time (the fetcher reading a PDF, then embedding it) has all of
 * that time still.
 */
static void
test_tls_deadline_from_take(void **state)
{
	alpn_http11(2100, 2000);
}

/* A second connection to a server resumes the first one's session. */
static void
test_tls_session_resumed(void **state)
{
	struct mconn *mc;
	struct seen seen;
	char url[64], line[64];
	pid_t pid;
	int i;

	snprintf(url, sizeof(url), "https://localhost:%d/v1",
	    tls_server(&pid, SERVE_RESUMED));
	for (i = 0; i < 2; i++) {
		assert_int_equal(tls_connect(url, trust_test_cert, &mc, &seen),
		    CURLE_OK);
		read_line(mc, &seen, line, sizeof(line));
		assert_string_equal(line, i == 0 ? "resumed=0\n" :
		    "resumed=1\n");
		mconn_put(mc, 0);	/* closed: the next one is new */
	}
	server_exited(pid);
}

/* strdup failing for "localhost" while fail_localhost: an OOM there. */
static int fail_localhost;
char *strdup(const char *);
char *
strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (fail_localhost && strcmp(s, "localhost") == 0)
		return NULL;
	if ((p = malloc(n)) != NULL)
		memcpy(p, s, n);
	return p;
}

/*
 * Out of memory for the host's name: curl's TLS it is then (nothing
 * freed twice, nothing used once freed: ASan), the closed port told.
 */
static void
test_tls_host_copy_fails(void **state)
{
	struct mconn *mc;
	struct seen seen;

	fail_localhost = 1;
	mc = take("https://localhost:9/v1", 2000, NULL, &seen);
	fail_localhost = 0;
	assert_non_null(mc);
	assert_true(drive_until(&seen.ready, 5000));
	assert_int_not_equal(seen.rc, CURLE_OK);
	mconn_put(mc, 0);
}

static int
group_setup(void **state)
{
	canned_no_proxy();
	loop_init();
	test_cert_make(&cert, &key);
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static int
group_teardown(void **state)
{
	mconn_shutdown();
	X509_free(cert);
	EVP_PKEY_free(key);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_offers_http11_alone),
		cmocka_unit_test(test_tls_untrusted_refused),
		cmocka_unit_test(test_tls_other_name_refused),
		cmocka_unit_test(test_tls_long_answer_whole),
		cmocka_unit_test(test_tls_host_copy_fails),
		cmocka_unit_test(test_tls_session_resumed),
		cmocka_unit_test(test_tls_deadline_from_take),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
