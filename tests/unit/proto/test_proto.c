/* Unit tests: header, encoder/decoder, channel framing, HELLO, fd passing. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "msgcodec.h"
#include "msgtab.h"
#include "proto.h"
#include "stmsgs.h"
#include "storemsg.h"
#include "test_util.h"

static void
test_header_roundtrip(void **state)
{
	struct proto_hdr h = { 0x1234, 0x0005, 4096, 0xdeadbeef }, g;
	uint8_t b[PROTO_HDR_LEN];

	proto_hdr_pack(&h, b);
	assert_int_equal(b[0], 0x12);
	assert_int_equal(b[11], 0xef);
	assert_int_equal(proto_hdr_unpack(b, &g), 0);
	assert_int_equal(g.type, h.type);
	assert_int_equal(g.flags, h.flags);
	assert_int_equal(g.len, h.len);
	assert_int_equal(g.id, h.id);
	h.len = PROTO_MAX_PAYLOAD + 1;
	proto_hdr_pack(&h, b);
	assert_int_equal(proto_hdr_unpack(b, &g), -1);
}

static void
test_codec_roundtrip(void **state)
{
	struct penc e;
	struct pdec d;
	const uint8_t *blob;
	size_t n;
	char buf[8], *s;

	penc_init(&e);
	penc_u8(&e, 0xab);
	penc_u16(&e, 0xbeef);
	penc_u32(&e, 0x01020304);
	penc_u64(&e, 0x1122334455667788ULL);
	penc_str(&e, "hello");
	penc_str(&e, NULL);
	penc_bytes(&e, "\0\1\2", 3);
	penc_str(&e, "toolongforbuf");
	assert_int_equal(e.err, 0);

	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_u8(&d), 0xab);
	assert_int_equal(pdec_u16(&d), 0xbeef);
	assert_int_equal(pdec_u32(&d), 0x01020304);
	assert_true(pdec_u64(&d) == 0x1122334455667788ULL);
	s = pdec_strdup(&d, 100);
	assert_string_equal(s, "hello");
	free(s);
	pdec_strbuf(&d, buf, sizeof(buf));
	assert_string_equal(buf, "");
	blob = pdec_bytes(&d, &n);
	assert_non_null(blob);
	assert_int_equal(n, 3);
	assert_int_equal(blob[2], 2);
	assert_int_equal(d.err, 0);
	/* A string longer than the buffer is an error, not a truncation. */
	pdec_strbuf(&d, buf, sizeof(buf));
	assert_int_equal(d.err, 1);
	assert_int_equal(pdec_done(&d), -1);
	penc_free(&e);
}

/*
 * penc_str: NULL and "" (which take no strlen) are the empty string as
 * penc_bytes writes it, a length of 0; others their length and bytes; a
 * failed encoder stays as it was.
 */
static void
test_str_empty(void **state)
{
	static const uint8_t want[] = { 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 1, 'a', 0, 0, 0, 0 };
	struct penc e;

	penc_init(&e);
	penc_str(&e, NULL);
	penc_str(&e, "");
	penc_str(&e, "a");
	penc_bytes(&e, "", 0);
	assert_int_equal(e.err, 0);
	assert_int_equal(e.len, sizeof(want));
	assert_memory_equal(e.buf, want, sizeof(want));
	e.err = 1;
	penc_str(&e, "");
	penc_str(&e, NULL);
	assert_int_equal(e.len, sizeof(want));
	penc_free(&e);
}

static void
test_decoder_bounds(void **state)
{
	const uint8_t short_len[] = { 0, 0, 0, 9, 'a', 'b' };	/* claims 9 bytes */
	const uint8_t nul_str[] = { 0, 0, 0, 3, 'a', 0, 'b' };
	const uint8_t huge_len[] = { 0xff, 0xff, 0xff, 0xff };
	struct pdec d;
	size_t n;

	pdec_init(&d, short_len, sizeof(short_len));
	assert_null(pdec_bytes(&d, &n));
	assert_int_equal(n, 0);
	assert_int_equal(d.err, 1);
	/* Sticky: later reads return zero and stay in error. */
	assert_int_equal(pdec_u32(&d), 0);
	assert_int_equal(pdec_done(&d), -1);

	pdec_init(&d, nul_str, sizeof(nul_str));
	assert_null(pdec_strdup(&d, 100));
	assert_int_equal(d.err, 1);

	pdec_init(&d, huge_len, sizeof(huge_len));
	assert_null(pdec_bytes(&d, &n));
	assert_int_equal(d.err, 1);

	pdec_init(&d, short_len, 3);
	assert_int_equal(pdec_u32(&d), 0);
	assert_int_equal(d.err, 1);

	/* Leftover bytes make a payload invalid. */
	pdec_init(&d, nul_str, sizeof(nul_str));
	pdec_u8(&d);
	assert_int_equal(pdec_done(&d), -1);
}

static void
test_encoder_limit(void **state)
{
	struct penc e;
	char *big = calloc(1, PROTO_MAX_PAYLOAD);

	assert_non_null(big);
	penc_init(&e);
	penc_bytes(&e, big, PROTO_MAX_PAYLOAD - 8);
	assert_int_equal(e.err, 0);
	penc_bytes(&e, big, 16);	/* would exceed the maximum */
	assert_int_equal(e.err, 1);
	penc_u8(&e, 1);			/* sticky */
	assert_int_equal(e.err, 1);
	penc_free(&e);
	free(big);
}

/* Room reserved: allocated at once, nothing written; the bounds kept. */
static void
test_encoder_reserve(void **state)
{
	struct penc e, f;

	penc_init(&e);
	penc_init(&f);
	assert_int_equal(penc_reserve(&e, 0), 0);
	assert_null(e.buf);
	assert_int_equal(penc_reserve(&e, 5000), 0);
	assert_int_equal(e.len, 0);
	assert_true(e.cap >= 5000);
	penc_str(&e, "after the room");
	penc_u32(&e, 7);
	penc_str(&f, "after the room");
	penc_u32(&f, 7);
	assert_int_equal(e.len, f.len);
	assert_memory_equal(e.buf, f.buf, f.len);
	assert_true(e.cap >= 5000);
	/* Past the largest payload: failed, sticky. */
	assert_int_equal(penc_reserve(&e, PROTO_MAX_PAYLOAD), -1);
	assert_int_equal(e.err, 1);
	assert_int_equal(penc_reserve(&e, 0), -1);
	penc_free(&e);
	penc_free(&f);
}

/* Two channels joined by a socketpair, HELLO exchanged. */
struct pair {
	struct pchan a, b;
};

static void
pump(struct pchan *from, struct pchan *to)
{
	assert_int_equal(pchan_flush_wait(from, 1000), 0);
	while (pchan_read(to) > 0)
		;
}

static void
pair_open(struct pair *p)
{
	int sv[2];
	struct pmsg m;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pchan_init(&p->a, sv[0], "test-a"), 0);
	assert_int_equal(pchan_init(&p->b, sv[1], "test-b"), 0);
	pump(&p->a, &p->b);
	pump(&p->b, &p->a);
	assert_int_equal(pchan_next(&p->a, &m), 0);
	assert_int_equal(pchan_next(&p->b, &m), 0);
	assert_true(p->a.hello_seen);
	assert_true(p->b.hello_seen);
	assert_string_equal(p->a.peer, "test-b");
	assert_string_equal(p->b.peer, "test-a");
}

static void
pair_close(struct pair *p)
{
	pchan_close(&p->a);
	pchan_close(&p->b);
}

static void
test_channel_messages(void **state)
{
	struct pair p;
	struct pmsg m;
	char payload[300];
	int i;

	pair_open(&p);
	memset(payload, 'x', sizeof(payload));
	for (i = 0; i < 50; i++)
		assert_int_equal(pchan_send(&p.a, PROTO_ST_PING, 0, (uint32_t)i,
		    payload, (size_t)i * 6, -1), 0);
	pump(&p.a, &p.b);
	for (i = 0; i < 50; i++) {
		assert_int_equal(pchan_next(&p.b, &m), 1);
		assert_int_equal(m.hdr.type, PROTO_ST_PING);
		assert_int_equal(m.hdr.id, i);
		assert_int_equal(m.hdr.len, i * 6);
		assert_int_equal(m.fd, -1);
	}
	assert_int_equal(pchan_next(&p.b, &m), 0);
	pair_close(&p);
}

/* A message of the largest allowed size goes through. */
static void
test_channel_max_size(void **state)
{
	struct pair p;
	struct pmsg m;
	char *big = malloc(PROTO_MAX_PAYLOAD);
	int r, rounds = 0;

	assert_non_null(big);
	memset(big, 'q', PROTO_MAX_PAYLOAD);
	big[PROTO_MAX_PAYLOAD - 1] = 'z';
	pair_open(&p);
	assert_int_equal(pchan_send(&p.a, PROTO_ST_PING, 0, 9, big,
	    PROTO_MAX_PAYLOAD, -1), 0);
	assert_int_equal(pchan_send(&p.a, PROTO_ST_PING, 0, 10, "x", 1, -1), 0);
	/* Both ends are non-blocking: move bytes until the message is whole. */
	while ((r = pchan_next(&p.b, &m)) == 0 && rounds++ < 100000) {
		assert_true(pchan_flush(&p.a) >= 0);
		if (pchan_read(&p.b) < 0)
			assert_int_equal(errno, EAGAIN);
	}
	assert_int_equal(r, 1);
	assert_int_equal(m.hdr.id, 9);
	assert_int_equal(m.hdr.len, PROTO_MAX_PAYLOAD);
	assert_int_equal(m.payload[PROTO_MAX_PAYLOAD - 1], 'z');
	while ((r = pchan_next(&p.b, &m)) == 0 && rounds++ < 100000) {
		assert_true(pchan_flush(&p.a) >= 0);
		if (pchan_read(&p.b) < 0)
			assert_int_equal(errno, EAGAIN);
	}
	assert_int_equal(r, 1);
	assert_int_equal(m.hdr.id, 10);
	pair_close(&p);
	free(big);
}

/*
 * pchan_read_grows says when a read would first enlarge the buffer (a
 * message begun fills it); pchan_trim frees a large buffer once all it
 * held was taken, never while a message is begun, and messages go on.
 */
static void
test_channel_trim(void **state)
{
	struct pair p;
	struct pmsg m;
	char *big = calloc(1, 100000);
	int r, rounds = 0;

	assert_non_null(big);
	pair_open(&p);
	assert_int_equal(pchan_send(&p.a, PROTO_ST_PING, 0, 1, big, 100000,
	    -1), 0);
	assert_int_equal(pchan_flush_wait(&p.a, 1000), 0);
	/* One read: the first bytes of the message, the buffer full. */
	assert_true(pchan_read(&p.b) > 0);
	assert_int_equal(pchan_next(&p.b, &m), 0);
	assert_true(pchan_read_grows(&p.b));
	pchan_trim(&p.b, 0);
	assert_non_null(p.b.rbuf);
	while ((r = pchan_next(&p.b, &m)) == 0 && rounds++ < 10000)
		if (pchan_read(&p.b) < 0)
			assert_int_equal(errno, EAGAIN);
	assert_int_equal(r, 1);
	assert_int_equal(m.hdr.len, 100000);
	assert_true(p.b.rcap > 65536);
	pchan_trim(&p.b, 65536);
	assert_null(p.b.rbuf);
	assert_int_equal(p.b.rcap, 0);
	assert_true(pchan_read_grows(&p.b));
	/* A small one after: read into a small buffer, which stays. */
	assert_int_equal(pchan_send(&p.a, PROTO_ST_PING, 0, 2, "x", 1, -1), 0);
	pump(&p.a, &p.b);
	assert_int_equal(pchan_next(&p.b, &m), 1);
	assert_int_equal(m.hdr.id, 2);
	assert_false(pchan_read_grows(&p.b));
	pchan_trim(&p.b, 65536);
	assert_non_null(p.b.rbuf);
	pair_close(&p);
	free(big);
}

/* Bytes that arrive one at a time still make whole messages. */
static void
test_channel_byte_by_byte(void **state)
{
	int sv[2], i;
	struct pchan ch;
	struct pmsg m;
	struct penc e;
	struct proto_hdr h;
	uint8_t hdr[PROTO_HDR_LEN];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pchan_init(&ch, sv[1], "test"), 0);
	penc_init(&e);
	/* HELLO, then a PING with a 5-byte payload. */
	h = (struct proto_hdr){ PROTO_HELLO, 0, 4 + 4 + 4 + 8, 0 };
	proto_hdr_pack(&h, hdr);
	penc_raw(&e, hdr, sizeof(hdr));
	penc_u32(&e, PROTO_VERSION);
	penc_str(&e, "peer");
	penc_u64(&e, proto_layouts_id());
	h = (struct proto_hdr){ PROTO_ST_PING, 0, 5, 77 };
	proto_hdr_pack(&h, hdr);
	penc_raw(&e, hdr, sizeof(hdr));
	penc_raw(&e, "abcde", 5);
	for (i = 0; i < (int)e.len; i++) {
		assert_int_equal(write(sv[0], e.buf + i, 1), 1);
		assert_int_equal(pchan_read(&ch), 1);
		if (i < (int)e.len - 1)
			assert_int_equal(pchan_next(&ch, &m), 0);
	}
	assert_int_equal(pchan_next(&ch, &m), 1);
	assert_int_equal(m.hdr.id, 77);
	assert_memory_equal(m.payload, "abcde", 5);
	penc_free(&e);
	pchan_close(&ch);
	close(sv[0]);
}

static void
raw_send(int fd, uint16_t type, uint16_t flags, const void *p, uint32_t len)
{
	struct proto_hdr h = { type, flags, len, 1 };
	uint8_t hdr[PROTO_HDR_LEN];

	proto_hdr_pack(&h, hdr);
	assert_int_equal(write(fd, hdr, sizeof(hdr)), sizeof(hdr));
	if (len > 0)
		assert_int_equal(write(fd, p, len), (ssize_t)len);
}

/* A HELLO of version, then *layouts unless NULL, then extra zero bytes. */
static void
raw_hello_as(int fd, uint32_t version, const uint64_t *layouts, size_t extra)
{
	struct penc e;

	penc_init(&e);
	penc_u32(&e, version);
	penc_str(&e, "raw");
	if (layouts != NULL)
		penc_u64(&e, *layouts);
	while (extra-- > 0)
		penc_u8(&e, 0);
	raw_send(fd, PROTO_HELLO, 0, e.buf, (uint32_t)e.len);
	penc_free(&e);
}

/* A HELLO of version with this build's message table. */
static void
raw_hello(int fd, uint32_t version)
{
	uint64_t id = proto_layouts_id();

	raw_hello_as(fd, version, &id, 0);
}

/* Each case: what the peer sends decides that pchan_next fails. */
static void
expect_protocol_error(void (*send)(int))
{
	int sv[2];
	struct pchan ch;
	struct pmsg m;
	int r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pchan_init(&ch, sv[1], "test"), 0);
	send(sv[0]);
	assert_true(pchan_read(&ch) > 0);
	while ((r = pchan_next(&ch, &m)) == 1)
		;
	assert_int_equal(r, -1);
	pchan_close(&ch);
	close(sv[0]);
}

static void send_wrong_version(int fd) { raw_hello(fd, PROTO_VERSION + 1); }
static void send_no_hello(int fd) { raw_send(fd, PROTO_ST_PING, 0, NULL, 0); }
static void send_two_hellos(int fd) { raw_hello(fd, PROTO_VERSION); raw_hello(fd, PROTO_VERSION); }
static void send_fd_flag_without_fd(int fd) { raw_hello(fd, PROTO_VERSION); raw_send(fd, PROTO_MW_CONN, PROTO_F_FD, NULL, 0); }
static void send_unknown_type(int fd) { raw_hello(fd, PROTO_VERSION); raw_send(fd, 0x3fff, 0, NULL, 0); }
static void send_type_zero(int fd) { raw_hello(fd, PROTO_VERSION); raw_send(fd, 0, 0, NULL, 0); }
static void send_bad_hello(int fd) { raw_send(fd, PROTO_HELLO, 0, "ab", 2); }
/* Version 1's HELLO had no fingerprint: an older build is told apart. */
static void send_old_hello(int fd) { raw_hello_as(fd, 1, NULL, 0); }
static void send_no_layouts(int fd) { raw_hello_as(fd, PROTO_VERSION, NULL, 0); }
static void send_hello_and_more(int fd)
{
	uint64_t id = proto_layouts_id();

	raw_hello_as(fd, PROTO_VERSION, &id, 1);
}
/* Another build: one bit of the table's fingerprint other. */
static void send_other_layouts(int fd)
{
	uint64_t id = proto_layouts_id() ^ 1;

	raw_hello_as(fd, PROTO_VERSION, &id, 0);
}

static void
send_oversize(int fd)
{
	struct proto_hdr h = { PROTO_ST_PING, 0, PROTO_MAX_PAYLOAD + 1, 1 };
	uint8_t hdr[PROTO_HDR_LEN];

	raw_hello(fd, PROTO_VERSION);
	proto_hdr_pack(&h, hdr);
	assert_int_equal(write(fd, hdr, sizeof(hdr)), sizeof(hdr));
}

static void
test_channel_protocol_errors(void **state)
{
	expect_protocol_error(send_wrong_version);
	expect_protocol_error(send_no_hello);
	expect_protocol_error(send_two_hellos);
	expect_protocol_error(send_fd_flag_without_fd);
	expect_protocol_error(send_unknown_type);
	expect_protocol_error(send_type_zero);
	expect_protocol_error(send_bad_hello);
	expect_protocol_error(send_oversize);
	expect_protocol_error(send_old_hello);
	expect_protocol_error(send_no_layouts);
	expect_protocol_error(send_hello_and_more);
	expect_protocol_error(send_other_layouts);
}

/* This build's HELLO is taken, and what follows it read. */
static void
test_channel_hello_accepted(void **state)
{
	int sv[2];
	struct pchan ch;
	struct pmsg m;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pchan_init(&ch, sv[1], "test"), 0);
	raw_hello(sv[0], PROTO_VERSION);
	raw_send(sv[0], PROTO_ST_PING, 0, NULL, 0);
	assert_true(pchan_read(&ch) > 0);
	assert_int_equal(pchan_next(&ch, &m), 1);
	assert_int_equal(m.hdr.type, PROTO_ST_PING);
	assert_true(ch.hello_seen);
	pchan_close(&ch);
	close(sv[0]);
}

static void
test_fd_passing(void **state)
{
	struct pair p;
	struct pmsg m;
	int before, pipefd[2], i, flags;
	char c;

	before = count_fds();
	pair_open(&p);
	for (i = 0; i < 3; i++) {
		assert_int_equal(pipe(pipefd), 0);
		/* The channel owns pipefd[0] now and closes it once sent. */
		assert_int_equal(pchan_send(&p.a, PROTO_MW_CONN, 0, (uint32_t)i,
		    "x", 1, pipefd[0]), 0);
		pump(&p.a, &p.b);
		assert_int_equal(pchan_next(&p.b, &m), 1);
		assert_int_equal(m.hdr.type, PROTO_MW_CONN);
		assert_true(m.hdr.flags & PROTO_F_FD);
		assert_true(m.fd >= 0);
		flags = fcntl(m.fd, F_GETFD);
		assert_true(flags & FD_CLOEXEC);
		/* It is the same pipe: bytes written at one end come out. */
		assert_int_equal(write(pipefd[1], "z", 1), 1);
		assert_int_equal(read(m.fd, &c, 1), 1);
		assert_int_equal(c, 'z');
		close(m.fd);
		close(pipefd[1]);
	}
	pair_close(&p);
	assert_int_equal(count_fds(), before);
}

/* fds never claimed and fds still queued for sending are closed. */
static void
test_fd_no_leak_on_close(void **state)
{
	struct pair p;
	int before, pipefd[2];

	before = count_fds();
	pair_open(&p);
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(pchan_send(&p.a, PROTO_MW_CONN, 0, 1, NULL, 0,
	    pipefd[0]), 0);
	assert_int_equal(pchan_send(&p.a, PROTO_MW_CONN, 0, 2, NULL, 0,
	    pipefd[1]), 0);
	pump(&p.a, &p.b);	/* received, never taken with pchan_next */
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(pchan_send(&p.a, PROTO_MW_CONN, 0, 3, NULL, 0,
	    pipefd[0]), 0);	/* queued, never flushed */
	close(pipefd[1]);
	pair_close(&p);
	assert_int_equal(count_fds(), before);
}

/* More fds than the receiver has room for: an error, and none leak. */
static void
test_fd_truncated_control(void **state)
{
	struct msghdr mh;
	struct iovec iov;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * (PROTO_MAX_FDS + 8))];
	} cm;
	struct cmsghdr *c;
	int fds[PROTO_MAX_FDS + 8], sv[2], before, i, nfds;
	char b[16];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	before = count_fds();
	for (i = 0; i < PROTO_MAX_FDS + 8; i++)
		fds[i] = sv[0];
	memset(&mh, 0, sizeof(mh));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = "x";
	iov.iov_len = 1;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(c), fds, sizeof(fds));
	assert_int_equal(sendmsg(sv[0], &mh, 0), 1);

	nfds = PROTO_MAX_FDS;
	errno = 0;
	assert_int_equal(proto_recvmsg_fds(sv[1], b, sizeof(b), fds, &nfds), -1);
	assert_int_equal(errno, EPROTO);
	assert_int_equal(nfds, 0);
	assert_int_equal(count_fds(), before);
	close(sv[0]);
	close(sv[1]);
}

/*
 * The child's part of test_fd_table_full: 0, or the number of the step
 * that went wrong (no cmocka assert in a forked child). pp: a pipe.
 */
static int
table_full_child(struct pair *p, const int pp[2])
{
	struct rlimit rl;
	struct pmsg m;
	int fd, last = -1, sent;
	char c;

	if ((sent = dup(pp[0])) < 0)
		return 1;
	rl.rlim_cur = rl.rlim_max = 64;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 2;
	while ((fd = dup(pp[1])) >= 0)
		last = fd;
	if (errno != EMFILE || last < 0)
		return 3;
	if (pchan_send(&p->a, PROTO_MW_CONN, 0, 1, "x", 1, sent) < 0 ||
	    pchan_send(&p->a, PROTO_MW_PING, 0, 2, "y", 1, -1) < 0 ||
	    pchan_flush_wait(&p->a, 1000) < 0)
		return 4;
	/* The sent copy was closed: the table full again. */
	if (dup(pp[1]) < 0)
		return 5;
	while (pchan_read(&p->b) > 0)
		;
	if (errno != EAGAIN)
		return 6;
	if (pchan_next(&p->b, &m) != 1 || m.hdr.type != PROTO_MW_CONN ||
	    !(m.hdr.flags & PROTO_F_FD) || m.fd != -1 || m.hdr.len != 1 ||
	    m.payload[0] != 'x')
		return 7;
	if (pchan_next(&p->b, &m) != 1 || m.hdr.type != PROTO_MW_PING ||
	    m.payload[0] != 'y' || pchan_next(&p->b, &m) != 0)
		return 8;
	/* Room again: the next descriptor comes through. */
	close(last);
	if ((sent = dup(pp[0])) < 0 || pchan_send(&p->a, PROTO_MW_CONN, 0, 3,
	    "z", 1, sent) < 0 || pchan_flush_wait(&p->a, 1000) < 0)
		return 9;
	while (pchan_read(&p->b) > 0)
		;
	if (pchan_next(&p->b, &m) != 1 || m.hdr.id != 3 || m.fd < 0)
		return 10;
	if (write(pp[1], "!", 1) != 1 || read(m.fd, &c, 1) != 1 || c != '!')
		return 11;
	return 0;
}

/*
 * A descriptor the receiver has no room for (MSG_CTRUNC, nothing in the
 * control message): its message comes with fd -1, the channel lives on.
 * In a child, whose descriptor limit is lowered and table filled.
 */
static void
test_fd_table_full(void **state)
{
	struct pair p;
	int pp[2], st;
	pid_t pid;

	pair_open(&p);
	assert_int_equal(pipe(pp), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0)
		_exit(table_full_child(&p, pp));
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	close(pp[0]);
	close(pp[1]);
	pair_close(&p);
}

static void
test_msg_names(void **state)
{
	assert_string_equal(proto_msg_name(PROTO_HELLO), "HELLO");
	assert_string_equal(proto_msg_name(PROTO_MW_CONN), "MW_CONN");
	assert_string_equal(proto_msg_name(PROTO_ST_CONV_LIST), "ST_CONV_LIST");
	assert_string_equal(proto_msg_name(0x3fff), "UNKNOWN");
	assert_string_equal(proto_err_name(PROTO_E_NOT_FOUND), "not found");
}

static void
test_storemsg_roundtrip(void **state)
{
	struct st_conv c = { 0 }, c2;
	struct st_msg m = { 0 }, m2;
	struct penc e;
	struct pdec d;

	strlcpy(c.id, "0123456789abcdef0123456789abcdef", sizeof(c.id));
	strlcpy(c.widget, ST_DEFAULT_WIDGET, sizeof(c.widget));
	strlcpy(c.session, "sess-1", sizeof(c.session));
	c.created_at = 1700000000000ULL;
	c.updated_at = 1700000000001ULL;
	c.message_count = 2;
	c.last_message = "hi";
	/* Issue 24's fields, encoded last. */
	c.last_visitor = "hello?";
	c.visitor_at = 1700000000002ULL;
	c.visitor.page_url = "https://example.com/a";
	c.visitor.time_zone = "Europe/Paris";
	strlcpy(c.visitor_name, "Amber Otter 42", sizeof(c.visitor_name));
	c.unread = 1;
	strlcpy(m.id, c.id, sizeof(m.id));
	strlcpy(m.conv_id, c.id, sizeof(m.conv_id));
	strlcpy(m.role, "user", sizeof(m.role));
	strlcpy(m.status, "complete", sizeof(m.status));
	m.content = "hello there";
	m.prompt_tokens = 3;
	penc_init(&e);
	penc_conv(&e, &c);
	penc_msg(&e, &m);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_conv(&d, &c2), 0);
	assert_int_equal(pdec_msg(&d, &m2), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(c2.session, "sess-1");
	assert_string_equal(c2.last_message, "hi");
	assert_true(c2.updated_at == c.updated_at);
	assert_string_equal(c2.last_visitor, "hello?");
	assert_true(c2.visitor_at == c.visitor_at);
	assert_string_equal(c2.visitor.page_url, "https://example.com/a");
	assert_string_equal(c2.visitor.referrer, "");	/* NULL went as "" */
	assert_string_equal(c2.visitor.time_zone, "Europe/Paris");
	assert_string_equal(c2.visitor_name, "Amber Otter 42");
	assert_int_equal(c2.unread, 1);
	assert_string_equal(m2.content, "hello there");
	assert_int_equal(m2.prompt_tokens, 3);
	st_conv_free(&c2);
	st_msg_free(&m2);
	/* A cut record fails cleanly. */
	pdec_init(&d, e.buf, e.len - 1);
	assert_int_equal(pdec_conv(&d, &c2), 0);
	assert_int_equal(pdec_msg(&d, &m2), -1);
	st_conv_free(&c2);
	penc_free(&e);
}

/* What a widget tells of its visitor: kept, or dropped to nothing. */
static void
test_visitor_clean(void **state)
{
	struct st_visitor v;
	char big[ST_VISITOR_URL_MAX + 16];

	memset(big, 'a', sizeof(big) - 1);
	memcpy(big, "https://", 8);
	big[sizeof(big) - 1] = '\0';
	memset(&v, 0, sizeof(v));
	v.page_url = strdup("https://shop.example/p?q=1#frag");
	v.referrer = strdup("javascript:alert(1)");
	v.user_agent = strdup("Mozilla/5.0 (X11) Test/1");
	v.language = strdup("de-CH");
	v.time_zone = strdup("America/Argentina/Buenos_Aires");
	st_visitor_clean(&v);
	assert_string_equal(v.page_url, "https://shop.example/p?q=1");
	assert_null(v.referrer);
	assert_string_equal(v.user_agent, "Mozilla/5.0 (X11) Test/1");
	assert_string_equal(v.language, "de-CH");
	assert_string_equal(v.time_zone, "America/Argentina/Buenos_Aires");
	st_visitor_free(&v);
	v.page_url = strdup(big);
	v.referrer = strdup("https://ok.example/");
	v.user_agent = strdup("tab\there");
	v.language = strdup("en US");
	v.time_zone = strdup("Etc/GMT+5");
	st_visitor_clean(&v);
	assert_null(v.page_url);
	assert_string_equal(v.referrer, "https://ok.example/");
	assert_null(v.user_agent);
	assert_null(v.language);
	assert_string_equal(v.time_zone, "Etc/GMT+5");
	st_visitor_free(&v);
}

/* 1 when s lies in v's one allocation (which is n bytes). */
static int
in_block(const struct st_visitor *v, const char *s, size_t n)
{
	return s >= v->block && s + strlen(s) < v->block + n;
}

/*
 * A conversation's visitor, read or copied, and a begin's: its five
 * strings in one allocation (one malloc, not five), freed as one; the
 * clean of such a visitor drops a value without freeing it.
 */
static void
test_visitor_block(void **state)
{
	struct st_conv c = { 0 }, c2, c3;
	struct st_chat_begin_req q = { 0 }, q2;
	const struct st_visitor *vs[3];
	struct penc e;
	struct pdec d;
	size_t n, i;

	c.visitor.page_url = "https://shop.example/p#top";
	c.visitor.referrer = "javascript:alert(1)";
	c.visitor.language = "fr-FR";
	/* user_agent and time_zone NULL: read back as "". */
	n = strlen(c.visitor.page_url) + strlen(c.visitor.referrer) +
	    strlen(c.visitor.language) + 5;
	penc_init(&e);
	penc_conv(&e, &c);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_conv(&d, &c2), 0);
	assert_int_equal(pdec_done(&d), 0);
	penc_free(&e);
	assert_int_equal(st_conv_copy(&c3, &c2), 0);
	q.widget = "default";
	q.session = "s1";
	q.content = "hi";
	q.visitor = c.visitor;
	penc_init(&e);
	pl_enc(&e, &pl_chat_begin_req, &q);
	assert_int_equal(pl_decode(&pl_chat_begin_req, e.buf, e.len, &q2), 0);
	penc_free(&e);
	vs[0] = &c2.visitor;
	vs[1] = &c3.visitor;
	vs[2] = &q2.visitor;
	for (i = 0; i < 3; i++) {
		assert_non_null(vs[i]->block);
		assert_ptr_equal(vs[i]->page_url, vs[i]->block);
		assert_string_equal(vs[i]->page_url,
		    "https://shop.example/p#top");
		assert_string_equal(vs[i]->referrer, "javascript:alert(1)");
		assert_string_equal(vs[i]->user_agent, "");
		assert_string_equal(vs[i]->language, "fr-FR");
		assert_string_equal(vs[i]->time_zone, "");
		assert_true(in_block(vs[i], vs[i]->referrer, n));
		assert_true(in_block(vs[i], vs[i]->user_agent, n));
		assert_true(in_block(vs[i], vs[i]->language, n));
		assert_true(in_block(vs[i], vs[i]->time_zone, n));
	}
	st_visitor_clean(&c3.visitor);
	assert_string_equal(c3.visitor.page_url, "https://shop.example/p");
	assert_null(c3.visitor.referrer);
	assert_string_equal(c3.visitor.language, "fr-FR");
	st_conv_free(&c2);
	st_conv_free(&c3);
	pl_free(&pl_chat_begin_req, &q2);
}

/* The made-up name: the same for the same session, of its shape. */
static void
test_visitor_name_gen(void **state)
{
	char a[ST_VISITOR_NAME_MAX + 1], b[ST_VISITOR_NAME_MAX + 1];
	int differ = 0, i;

	st_visitor_name_gen("~0123abcd", a, sizeof(a));
	st_visitor_name_gen("~0123abcd", b, sizeof(b));
	assert_string_equal(a, b);
	assert_non_null(strchr(a, ' '));
	for (i = 0; i < 20; i++) {
		snprintf(b, sizeof(b), "session-%d", i);
		st_visitor_name_gen(b, b, sizeof(b));
		differ += strcmp(a, b) != 0;
	}
	assert_true(differ >= 18);
	/* "Word Word N", N 1 to 99; a short buffer holds its start, ended. */
	for (i = 0; i < 2000; i++) {
		char w1[16], w2[16], s[32], cut[12];
		unsigned int n;
		int used = 0;
		size_t len, k;

		snprintf(s, sizeof(s), "sess-%d", i);
		st_visitor_name_gen(s, a, sizeof(a));
		assert_int_equal(sscanf(a, "%15s %15s %u%n", w1, w2, &n, &used),
		    3);
		assert_int_equal((size_t)used, strlen(a));
		assert_true(n >= 1 && n <= 99);
		snprintf(b, sizeof(b), "%s %s %u", w1, w2, n);
		assert_string_equal(a, b);
		len = strlen(a);
		for (k = 1; k <= sizeof(cut) && k <= len + 1; k++) {
			memset(cut, 'x', sizeof(cut));
			st_visitor_name_gen(s, cut, k);
			assert_int_equal(strlen(cut), k - 1);
			assert_memory_equal(cut, a, k - 1);
		}
	}
}

/* st_utf8_prefix as it was, a byte at a time: the reference. */
static size_t
prefix_bytewise(const char *s, size_t max_chars)
{
	size_t i = 0, chars = 0;

	while (s[i] != '\0' && chars < max_chars) {
		i++;
		while ((s[i] & 0xc0) == 0x80)
			i++;
		chars++;
	}
	return i;
}

/*
 * The ASCII runs taken eight bytes a step agree with the walk a byte at
 * a time, at every max and every place of a word, for text that is not
 * UTF-8 too (continuation bytes after ASCII, a lone one first).
 */
static void
test_utf8_prefix_runs(void **state)
{
	static const char *const seqs[] = {
		"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\x80\x80",
		"\xbf",
	};
	char buf[64];
	size_t i, pre, post, max, len;

	(void)state;
	for (i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
		for (pre = 0; pre <= 17; pre++)
			for (post = 0; post <= 9; post++) {
				len = strlen(seqs[i]);
				memset(buf, 'a', pre);
				memcpy(buf + pre, seqs[i], len);
				memset(buf + pre + len, 'b', post);
				buf[pre + len + post] = '\0';
				for (max = 0; max <= pre + post + 3; max++)
					assert_int_equal(
					    st_utf8_prefix(buf, max),
					    prefix_bytewise(buf, max));
			}
}

static void
test_id_and_utf8(void **state)
{
	assert_true(st_id_valid("0123456789abcdef0123456789abcdef"));
	assert_false(st_id_valid("0123456789abcdef0123456789abcde"));
	assert_false(st_id_valid("0123456789abcdef0123456789abcdef0"));
	assert_false(st_id_valid("0123456789ABCDEF0123456789abcdef"));
	assert_false(st_id_valid(""));
	assert_int_equal(st_utf8_prefix("hello", 3), 3);
	assert_int_equal(st_utf8_prefix("hello", 10), 5);
	/* "é" is two bytes and "€" three: characters are never cut. */
	assert_int_equal(st_utf8_prefix("\xc3\xa9\xe2\x82\xac" "a", 2), 5);
	assert_int_equal(st_utf8_prefix("\xc3\xa9\xe2\x82\xac" "a", 1), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_roundtrip),
		cmocka_unit_test(test_codec_roundtrip),
		cmocka_unit_test(test_str_empty),
		cmocka_unit_test(test_decoder_bounds),
		cmocka_unit_test(test_encoder_limit),
		cmocka_unit_test(test_encoder_reserve),
		cmocka_unit_test(test_channel_messages),
		cmocka_unit_test(test_channel_byte_by_byte),
		cmocka_unit_test(test_channel_max_size),
		cmocka_unit_test(test_channel_trim),
		cmocka_unit_test(test_channel_protocol_errors),
		cmocka_unit_test(test_channel_hello_accepted),
		cmocka_unit_test(test_fd_passing),
		cmocka_unit_test(test_fd_no_leak_on_close),
		cmocka_unit_test(test_fd_truncated_control),
		cmocka_unit_test(test_fd_table_full),
		cmocka_unit_test(test_msg_names),
		cmocka_unit_test(test_storemsg_roundtrip),
		cmocka_unit_test(test_visitor_clean),
		cmocka_unit_test(test_visitor_block),
		cmocka_unit_test(test_visitor_name_gen),
		cmocka_unit_test(test_id_and_utf8),
		cmocka_unit_test(test_utf8_prefix_runs),
	};

	log_init("test_proto");
	log_set_level(LOG_LEVEL_FATAL);
	return cmocka_run_group_tests_name("proto", tests, NULL, NULL);
}
