/*
 * Unit tests: handing an accepted fd to a worker over a real socketpair.
 * The fd must arrive (same open file) with its client's address, and
 * masterd's copy must be closed, also when the worker's end is gone, and
 * when the child is the notifier (whose row takes no connections: nothing
 * is sent). And the listener's TCP_NODELAY, which accepted sockets take.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "masterd.h"
#include "settings.h"
#include "test_util.h"

/* The address every hand-off here names. */
static struct ipaddr
client(void)
{
	struct ipaddr a;

	assert_int_equal(ipaddr_parse("2001:db8::7", 11, &a), 0);
	return a;
}

/* A worker record as workers.c keeps it, with a live channel. */
static void
fake_worker(struct worker *w, int fd)
{
	memset(w, 0, sizeof(*w));
	w->proc = proc_of(ROLE_WORKER);
	w->id = 1;
	w->num = 1;
	w->pid = -1;		/* never signal anyone from a test */
	w->ready = 1;
	w->ch_open = 1;
	assert_int_equal(pchan_init(&w->ch, fd, MASTERD_NAME), 0);
}

/* The worker's side: read until one message (not HELLO) is there. */
static int
worker_recv(struct pchan *ch, struct pmsg *m)
{
	int i, r;

	for (i = 0; i < 200; i++) {
		if ((r = pchan_next(ch, m)) != 0)
			return r;
		if (pchan_read(ch) < 0 && errno != EAGAIN)
			return -1;
		if ((r = pchan_next(ch, m)) != 0)
			return r;
		usleep(1000);
	}
	return 0;
}

static void
test_handoff_fd_arrives_master_copy_closed(void **state)
{
	struct worker w;
	struct pchan wch;
	struct pmsg m;
	struct stat a, b;
	struct ipaddr peer = client(), got;
	int sv[2], conn[2], fd, before, after, i;
	char buf[8];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	fake_worker(&w, sv[0]);
	assert_int_equal(pchan_init(&wch, sv[1], WORKERD_NAME), 0);
	assert_int_equal(pchan_flush_wait(&wch, 1000), 0);

	for (i = 0; i < 3; i++) {
		/* conn[0] stands for an accepted client socket. */
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC,
		    0, conn), 0);
		assert_int_equal(fstat(conn[0], &a), 0);
		before = count_fds();
		fd = conn[0];
		assert_int_equal(worker_hand_conn(&w, &fd, &peer), 0);
		assert_int_equal(fd, -1);
		assert_false(pchan_pending(&w.ch));
		after = count_fds();
		assert_int_equal(after, before - 1);
		assert_int_equal(fcntl(conn[0], F_GETFD), -1);	/* closed */
		assert_int_equal(w.sent, (uint32_t)i + 1);
		assert_true(w.last_pick > 0);

		assert_int_equal(worker_recv(&wch, &m), 1);
		assert_int_equal(m.hdr.type, PROTO_MW_CONN);
		assert_true(m.hdr.flags & PROTO_F_FD);
		assert_true(m.fd >= 0);
		/* The client's address comes with it. */
		assert_int_equal(ipaddr_dec(m.payload, m.hdr.len, &got), 0);
		assert_memory_equal(&got, &peer, sizeof(got));
		assert_int_equal(fstat(m.fd, &b), 0);
		assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
		/* It is the client's connection: bytes go through. */
		assert_int_equal(write(conn[1], "hi", 2), 2);
		assert_int_equal(read(m.fd, buf, sizeof(buf)), 2);
		assert_memory_equal(buf, "hi", 2);
		close(m.fd);
		close(conn[1]);
		assert_int_equal(count_fds(), before - 2);
	}
	pchan_close(&w.ch);
	pchan_close(&wch);
}

/* Round-robin order follows last_pick, so a fresh hand-off moves it on. */
static void
test_handoff_updates_pick_order(void **state)
{
	struct worker w1, w2;
	struct ipaddr peer = client();
	int a[2], b[2], conn[2], fd;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	fake_worker(&w1, a[0]);
	fake_worker(&w2, b[0]);
	w2.id = 2;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, conn), 0);
	fd = conn[0];
	assert_int_equal(worker_hand_conn(&w1, &fd, &peer), 0);
	close(conn[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, conn), 0);
	fd = conn[0];
	assert_int_equal(worker_hand_conn(&w2, &fd, &peer), 0);
	close(conn[1]);
	assert_true(w2.last_pick > w1.last_pick);

	pchan_close(&w1.ch);
	pchan_close(&w2.ch);
	close(a[1]);
	close(b[1]);
}

/*
 * The worker is gone: the hand-off fails, the channel is closed, and the
 * connection, none of whose frame was written, is kept for another
 * worker (workers.c's parked connections), not closed.
 */
static void
test_handoff_to_dead_worker_closes_fd(void **state)
{
	struct worker w;
	struct ipaddr peer = client();
	int sv[2], conn[2], fd, before;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	fake_worker(&w, sv[0]);
	close(sv[1]);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    conn), 0);
	before = count_fds();
	fd = conn[0];
	assert_int_equal(worker_hand_conn(&w, &fd, &peer), -1);
	assert_int_equal(fd, -1);
	/* The channel is closed; the connection waits for another worker. */
	assert_int_equal(count_fds(), before - 1);
	assert_false(w.ch_open);
	assert_true(w.quitting);
	close(conn[1]);
}

/* The notifier's row takes no MW_CONN: refused, fd closed, nothing sent. */
static void
test_handoff_refused_to_notifier(void **state)
{
	struct worker w;
	struct pchan wch;
	struct pmsg m;
	struct ipaddr peer = client();
	int sv[2], conn[2], fd, before;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	fake_worker(&w, sv[0]);
	w.proc = proc_of(ROLE_NOTIFIER);
	assert_int_equal(pchan_init(&wch, sv[1], WORKERD_NAME), 0);
	assert_int_equal(pchan_flush_wait(&wch, 1000), 0);
	assert_int_equal(pchan_flush(&w.ch), 1);	/* masterd's HELLO */

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    conn), 0);
	before = count_fds();
	fd = conn[0];
	assert_int_equal(worker_hand_conn(&w, &fd, &peer), -1);
	assert_int_equal(fd, -1);
	assert_int_equal(count_fds(), before - 1);
	assert_false(pchan_pending(&w.ch));
	assert_int_equal(w.sent, 0);
	/* A refusal is not a broken channel. */
	assert_true(w.ch_open);
	assert_false(w.quitting);
	assert_int_equal(worker_recv(&wch, &m), 0);

	close(conn[1]);
	pchan_close(&w.ch);
	pchan_close(&wch);
}

/*
 * The listener has TCP_NODELAY, and a socket accepted from it has it too
 * (Linux copies it at accept): the worker sets nothing a connection.
 */
static void
test_listener_nodelay(void **state)
{
	struct config cf;
	struct listener l;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int c, a, on = 0;

	memset(&cf, 0, sizeof(cf));
	strlcpy(cf.host, "127.0.0.1", sizeof(cf.host));
	cf.port = 0;
	listener_open(&l, &cf);
	assert_true(l.fd >= 0);
	len = sizeof(on);
	assert_int_equal(getsockopt(l.fd, IPPROTO_TCP, TCP_NODELAY, &on,
	    &len), 0);
	assert_int_equal(on, 1);

	len = sizeof(ss);
	assert_int_equal(getsockname(l.fd, (struct sockaddr *)&ss, &len), 0);
	assert_true((c = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(connect(c, (struct sockaddr *)&ss, len), 0);
	while ((a = accept4(l.fd, NULL, NULL, SOCK_NONBLOCK)) < 0 &&
	    errno == EAGAIN)
		usleep(1000);
	assert_true(a >= 0);
	on = 0;
	len = sizeof(on);
	assert_int_equal(getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &on, &len),
	    0);
	assert_int_equal(on, 1);
	close(a);
	close(c);
	listener_close(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handoff_fd_arrives_master_copy_closed),
		cmocka_unit_test(test_handoff_updates_pick_order),
		cmocka_unit_test(test_handoff_to_dead_worker_closes_fd),
		cmocka_unit_test(test_handoff_refused_to_notifier),
		cmocka_unit_test(test_listener_nodelay),
	};

	log_set_level(LOG_LEVEL_FATAL);	/* the dead-worker case warns */
	return cmocka_run_group_tests_name("masterd handoff", tests, NULL,
	    NULL);
}
