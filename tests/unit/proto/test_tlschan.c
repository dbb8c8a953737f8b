/*
 * Unit tests for proto/tlschan.c: a channel over TLS 1.3 with mutual
 * certificates (made by scripts/cluster-certs.sh in a temp dir), the
 * handshake driven by pchan_read/pchan_flush, frames batched into few
 * records, large messages, plaintext held by OpenSSL (pchan_buffered),
 * and the refusals: no client certificate, another CA, a wrong name, an
 * fd, bad files; the role (OU) and name (CN) a peer's certificate gives.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "log.h"
#include "proto.h"
#include "tlschan.h"
#include "test_util.h"

static char dir[256], other[300];

/* Bytes waiting in fd's receive queue. */
static int
ioctl_inq(int fd, int *n)
{
	return ioctl(fd, FIONREAD, n);
}

static void
path(char *buf, size_t sz, const char *d, const char *f)
{
	assert_true(strlcpy(buf, d, sz) < sz);
	assert_true(strlcat(buf, "/", sz) < sz);
	assert_true(strlcat(buf, f, sz) < sz);
}

static SSL_CTX *
ctx_of(int server, const char *d, const char *ca_dir, const char *name)
{
	char ca[400], cert[400], key[400], err[1024];
	char f[64];
	SSL_CTX *ctx;

	path(ca, sizeof(ca), ca_dir, "ca.pem");
	snprintf(f, sizeof(f), "%s.pem", name);
	path(cert, sizeof(cert), d, f);
	snprintf(f, sizeof(f), "%s.key", name);
	path(key, sizeof(key), d, f);
	ctx = tlschan_ctx_new(server, ca, cert, key, err, sizeof(err));
	if (ctx == NULL)
		fprintf(stderr, "%s\n", err);
	assert_non_null(ctx);
	return ctx;
}

/* A certificate name.pem (and .key) of subject subj, of dir's CA. */
static void
certify(const char *name, const char *subj)
{
	char cmd[1024];

	snprintf(cmd, sizeof(cmd), "cd %s && openssl genpkey -algorithm EC "
	    "-pkeyopt ec_paramgen_curve:P-256 -out %s.key 2>/dev/null && "
	    "openssl req -new -key %s.key -subj %s -out %s.csr && "
	    "openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key "
	    "-set_serial 0x%lx -days 2 -out %s.pem 2>/dev/null", dir, name,
	    name, subj, name, name, (unsigned long)random() + 1, name);
	assert_int_equal(system(cmd), 0);
}

static int
setup(void **state)
{
	char cmd[1024];
	const char *t = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/tlschan-XXXXXX", t ? t : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(other, sizeof(other), "%s/other", dir);
	snprintf(cmd, sizeof(cmd), "scripts/cluster-certs.sh %s/c "
	    "--storaged srv=127.0.0.1 --front cli >/dev/null && "
	    "scripts/cluster-certs.sh %s --front cli >/dev/null", dir, other);
	assert_int_equal(system(cmd), 0);
	strlcat(dir, "/c", sizeof(dir));
	/*
	 * Made by hand: one with no OU (before roles), one of another OU,
	 * one with no CN.
	 */
	certify("old", "/CN=old");
	certify("adm", "/OU=admin/CN=adm");
	certify("nocn", "/OU=storaged");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[600];

	dir[strlen(dir) - 2] = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * Drives both channels until neither has anything to write and every
 * byte was read, as an event loop would: each waits for pchan_events.
 * Returns -1 as soon as either side fails (the other may see EOF).
 */
static int
drive(struct pchan *a, struct pchan *b, int ms)
{
	struct pchan *ch[2] = { a, b };
	struct pollfd pfd[2];
	long long end = proto_mono_ms() + ms;
	int i, idle;

	for (;;) {
		idle = 1;
		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (pchan_flush(ch[i]) < 0)
				return -1;
			while ((n = pchan_read(ch[i])) > 0)
				idle = 0;
			if (n == 0 || (n < 0 && errno != EAGAIN))
				return -1;
			if (pchan_pending(ch[i]) || pchan_handshaking(ch[i]))
				idle = 0;
		}
		if (idle)
			return 0;
		if (proto_mono_ms() > end)
			return -2;
		for (i = 0; i < 2; i++) {
			pfd[i].fd = ch[i]->fd;
			pfd[i].events = (short)pchan_events(ch[i], 1);
		}
		(void)poll(pfd, 2, 50);
	}
}

struct tpair {
	SSL_CTX *sctx, *cctx;
	struct pchan s, c;
};

static void
tpair_start(struct tpair *p, SSL_CTX *sctx, SSL_CTX *cctx, const char *host)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	p->sctx = sctx;
	p->cctx = cctx;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	assert_int_equal(pchan_init_tls(&p->s, sv[0], "parley-storaged",
	    sctx, NULL), 0);
	assert_int_equal(pchan_init_tls(&p->c, sv[1], "parley-workerd",
	    cctx, host), 0);
	assert_true(pchan_handshaking(&p->s));
	/* Before anything: the server waits to read, the client to write. */
	assert_int_equal(pchan_events(&p->s, 1), PCHAN_IN);
	assert_int_equal(pchan_events(&p->c, 1), PCHAN_OUT);
}

static void
tpair_end(struct tpair *p)
{
	pchan_close(&p->s);
	pchan_close(&p->c);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
}

static void
tpair_open(struct tpair *p)
{
	struct pmsg m;

	tpair_start(p, ctx_of(1, dir, dir, "srv"), ctx_of(0, dir, dir, "cli"),
	    "127.0.0.1");
	assert_int_equal(drive(&p->s, &p->c, 5000), 0);
	assert_false(pchan_handshaking(&p->s));
	assert_int_equal(pchan_next(&p->s, &m), 0);
	assert_int_equal(pchan_next(&p->c, &m), 0);
	assert_string_equal(p->s.peer, "parley-workerd");
	assert_string_equal(p->c.peer, "parley-storaged");
}

/* Many small frames leave in few records: the bytes on the wire say so. */
static void
test_batched_records(void **state)
{
	struct tpair p;
	struct pmsg m;
	uint8_t payload[50];
	int i, avail = 0;

	tpair_open(&p);
	memset(payload, 'x', sizeof(payload));
	for (i = 0; i < 200; i++)
		assert_int_equal(pchan_send(&p.c, PROTO_ST_PING, 0,
		    (uint32_t)i + 1, payload, sizeof(payload), -1), 0);
	assert_int_equal(pchan_flush_wait(&p.c, 1000), 0);
	/* 200 x 62 bytes: one record per frame would add 200 x 22. */
	assert_int_equal(ioctl_inq(p.s.fd, &avail), 0);
	assert_true(avail > 200 * 62);
	assert_true(avail < 200 * 62 + 4 * 22);
	assert_int_equal(drive(&p.s, &p.c, 5000), 0);
	for (i = 0; i < 200; i++) {
		assert_int_equal(pchan_next(&p.s, &m), 1);
		assert_int_equal(m.hdr.id, (uint32_t)i + 1);
		assert_int_equal(m.hdr.len, sizeof(payload));
	}
	assert_int_equal(pchan_next(&p.s, &m), 0);
	tpair_end(&p);
}

/*
 * A message larger than the read buffer's room: what OpenSSL holds past
 * a full buffer is pchan_buffered, and reading on takes it all.
 */
static void
test_large_and_buffered(void **state)
{
	struct tpair p;
	struct pmsg m;
	size_t len = 300000, i;
	uint8_t *big = malloc(len);
	int saw_buffered = 0;
	ssize_t n;

	assert_non_null(big);
	for (i = 0; i < len; i++)
		big[i] = (uint8_t)(i * 7);
	tpair_open(&p);
	assert_int_equal(pchan_send(&p.s, PROTO_ST_CONV_GET,
	    PROTO_F_REPLY, 9, big, len, -1), 0);
	assert_int_equal(pchan_send(&p.s, PROTO_ST_PING, PROTO_F_REPLY, 10,
	    NULL, 0, -1), 0);
	while (pchan_pending(&p.s)) {
		assert_true(pchan_flush(&p.s) >= 0);
		/* One read at a time, as a reader that stops early would. */
		n = pchan_read(&p.c);
		assert_true(n > 0 || (n < 0 && errno == EAGAIN));
		saw_buffered |= pchan_buffered(&p.c);
		while (pchan_buffered(&p.c))
			assert_true(pchan_read(&p.c) > 0);
	}
	while (pchan_read(&p.c) > 0 || pchan_buffered(&p.c))
		;
	assert_true(saw_buffered);
	assert_int_equal(pchan_next(&p.c, &m), 1);
	assert_int_equal(m.hdr.len, len);
	assert_memory_equal(m.payload, big, len);
	assert_int_equal(pchan_next(&p.c, &m), 1);
	assert_int_equal(m.hdr.id, 10);
	tpair_end(&p);
	free(big);
}

static void
test_no_fd_over_tls(void **state)
{
	struct tpair p;
	int fd, fds = count_fds();

	tpair_open(&p);
	fd = dup(0);
	assert_int_equal(pchan_send(&p.c, PROTO_ST_BACKUP, 0, 1, NULL, 0, fd),
	    -1);
	assert_int_equal(errno, EOPNOTSUPP);
	assert_false(pchan_pending(&p.c));
	tpair_end(&p);
	assert_int_equal(count_fds(), fds);	/* the fd was closed */
}

/* The handshake fails on side s (and the reason names why). */
static void
expect_refused(SSL_CTX *sctx, SSL_CTX *cctx, const char *host,
    const char *why)
{
	struct tpair p;
	int r;

	tpair_start(&p, sctx, cctx, host);
	r = drive(&p.s, &p.c, 5000);
	assert_int_equal(r, -1);
	if (strstr(pchan_tls_why(&p.s), why) == NULL &&
	    strstr(pchan_tls_why(&p.c), why) == NULL) {
		fprintf(stderr, "server: %s; client: %s\n",
		    pchan_tls_why(&p.s), pchan_tls_why(&p.c));
		fail();
	}
	assert_false(p.s.hello_seen);
	tpair_end(&p);
}

/*
 * The role and the name a certificate gives, after the handshake (OTHER
 * and none before); a name cut to the buffer.
 */
static void
test_roles(void **state)
{
	static const struct {
		const char *name;
		int role;
		const char *cn;		/* NULL: none */
	} t[] = {
		{ "cli", TLSCHAN_ROLE_FRONT, "cli" },
		{ "srv", TLSCHAN_ROLE_STORAGED, "srv" },
		{ "old", TLSCHAN_ROLE_NONE, "old" },
		{ "adm", TLSCHAN_ROLE_OTHER, "adm" },
		{ "nocn", TLSCHAN_ROLE_STORAGED, NULL },
	};
	struct tpair p;
	char cn[16];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		tpair_start(&p, ctx_of(1, dir, dir, "srv"),
		    ctx_of(0, dir, dir, t[i].name), "127.0.0.1");
		assert_int_equal(tlschan_peer_role(&p.s), TLSCHAN_ROLE_OTHER);
		assert_int_equal(tlschan_peer_cn(&p.s, cn, sizeof(cn)), -1);
		assert_int_equal(drive(&p.s, &p.c, 5000), 0);
		assert_int_equal(tlschan_peer_role(&p.s), t[i].role);
		if (t[i].cn == NULL)
			assert_int_equal(tlschan_peer_cn(&p.s, cn, sizeof(cn)),
			    -1);
		else {
			assert_int_equal(tlschan_peer_cn(&p.s, cn, sizeof(cn)),
			    0);
			assert_string_equal(cn, t[i].cn);
			assert_int_equal(tlschan_peer_cn(&p.s, cn, 3), 0);
			assert_int_equal(strlen(cn), 2);
		}
		/* The client sees the server's: a storaged host's. */
		assert_int_equal(tlschan_peer_role(&p.c),
		    TLSCHAN_ROLE_STORAGED);
		tpair_end(&p);
	}
}

static void
test_refusals(void **state)
{
	char ca[400], err[1024];
	SSL_CTX *bare;

	/* A client from another CA. */
	expect_refused(ctx_of(1, dir, dir, "srv"),
	    ctx_of(0, other, other, "cli"), "127.0.0.1", "certificate");
	/* A client with no certificate. */
	path(ca, sizeof(ca), dir, "ca.pem");
	assert_non_null(bare = SSL_CTX_new(TLS_client_method()));
	assert_int_equal(SSL_CTX_load_verify_locations(bare, ca, NULL), 1);
	expect_refused(ctx_of(1, dir, dir, "srv"), bare, "127.0.0.1",
	    "did not return a certificate");
	/* A server whose certificate does not name the address dialled. */
	expect_refused(ctx_of(1, dir, dir, "srv"), ctx_of(0, dir, dir, "cli"),
	    "10.9.9.9", "certificate");
	/* The files: each named when it is the wrong one. */
	assert_null(tlschan_ctx_new(1, "/nonexistent/ca.pem", ca, ca, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "PARLEY_CLUSTER_CA=/nonexistent/ca.pem: "
	    "cannot read"));
	assert_null(tlschan_ctx_new(1, ca, ca, ca, err, sizeof(err)));
	assert_non_null(strstr(err, "PARLEY_CLUSTER_KEY="));
	{
		char cert[400], key[400];

		path(cert, sizeof(cert), other, "cli.pem");
		path(key, sizeof(key), other, "cli.key");
		assert_null(tlschan_ctx_new(0, ca, cert, key, err,
		    sizeof(err)));
		assert_non_null(strstr(err, "is not accepted by "
		    "PARLEY_CLUSTER_CA="));
		path(key, sizeof(key), dir, "cli.key");
		assert_null(tlschan_ctx_new(0, ca, cert, key, err,
		    sizeof(err)));
		assert_non_null(strstr(err, "is not the key of"));
	}
}

/* A plaintext peer (our HELLO, no TLS) is refused at the handshake. */
static void
test_plaintext_peer(void **state)
{
	struct pchan s, c;
	int sv[2];
	SSL_CTX *sctx = ctx_of(1, dir, dir, "srv");

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	assert_int_equal(pchan_init_tls(&s, sv[0], "s", sctx, NULL), 0);
	assert_int_equal(pchan_init(&c, sv[1], "c"), 0);
	assert_int_equal(pchan_flush_wait(&c, 1000), 0);
	assert_int_equal(pchan_read(&s), -1);
	assert_int_equal(errno, EPROTO);
	assert_true(pchan_handshaking(&s));
	assert_true(strlen(pchan_tls_why(&s)) > 0);
	pchan_close(&s);
	pchan_close(&c);
	SSL_CTX_free(sctx);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batched_records),
		cmocka_unit_test(test_large_and_buffered),
		cmocka_unit_test(test_no_fd_over_tls),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_plaintext_peer),
	};

	log_init("test_tlschan");
	log_set_level(LOG_LEVEL_FATAL);
	return cmocka_run_group_tests_name("tlschan", tests, setup, teardown);
}
