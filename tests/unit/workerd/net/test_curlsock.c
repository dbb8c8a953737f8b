/*
 * The sockets curl asks the loop to watch (curlsock.c): entries made on
 * first use and found again by fd, the table grown past a large fd, the
 * epoll interest of curl's CURL_POLL_* and the CURL_CSELECT_* of epoll's
 * events, and a socket closed behind the table's back whose number comes
 * back as another's: watched all the same.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "curlsock.h"
#include "log.h"

struct ent {
	struct loop_io io;
	int mark;
};

static void
on_io(int fd, uint32_t events, void *arg)
{
}

static void
on_mark(int fd, uint32_t events, void *arg)
{
	(*(int *)arg)++;
}

static void
test_number_reused(void **state)
{
	struct curlsock_tab t = CURLSOCK_TAB(struct ent, "test");
	int a[2], b[2], old = 0, seen = 0, i;

	loop_init();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, a), 0);
	assert_non_null(curlsock_watch(&t, a[0], 0, on_mark, &old));
	/* Closed without the table knowing (curl's resolver does that). */
	close(a[0]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, b), 0);
	if (b[0] != a[0]) {	/* the lowest number: most likely a[0]'s */
		assert_int_equal(dup2(b[0], a[0]), a[0]);
		close(b[0]);
	}
	assert_non_null(curlsock_watch(&t, a[0], CURL_POLL_IN, on_mark, &seen));
	assert_int_equal(write(b[1], "x", 1), 1);
	for (i = 0; i < 10 && seen == 0; i++)
		loop_once(50);
	assert_true(seen > 0);
	assert_int_equal(old, 0);
	curlsock_free(&t);
	close(a[0]);
	close(a[1]);
	close(b[1]);
}

static void
test_watch(void **state)
{
	struct curlsock_tab t = CURLSOCK_TAB(struct ent, "test");
	struct ent *e;
	int sv[2], big;

	loop_init();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_null(curlsock_get(&t, sv[0]));
	e = curlsock_watch(&t, sv[0], CURL_POLL_IN, on_io, &t);
	assert_non_null(e);
	assert_ptr_equal(curlsock_get(&t, sv[0]), e);
	assert_int_equal(e->io.fd, sv[0]);
	assert_int_equal(e->io.events, EPOLLIN);
	assert_ptr_equal(e->io.arg, &t);
	assert_int_equal(e->mark, 0);
	e->mark = 1;
	/* Watched already: changed, the same entry. */
	assert_ptr_equal(curlsock_watch(&t, sv[0], CURL_POLL_INOUT, on_io,
	    NULL), e);
	assert_int_equal(e->io.events, EPOLLIN | EPOLLOUT);
	assert_int_equal(e->mark, 1);
	assert_null(curlsock_get(&t, sv[1]));

	/* Past the first 64 slots: the table grows, the first entry stays. */
	big = dup2(sv[1], 300);
	assert_int_equal(big, 300);
	e = curlsock_watch(&t, big, CURL_POLL_OUT, on_io, NULL);
	assert_int_equal(e->io.events, EPOLLOUT);
	assert_true(t.n > 300);
	assert_ptr_equal(curlsock_get(&t, big), e);
	assert_int_equal(((struct ent *)curlsock_get(&t, sv[0]))->mark, 1);

	curlsock_free(&t);
	assert_null(t.ent);
	assert_int_equal(t.n, 0);
	assert_null(curlsock_get(&t, sv[0]));
	close(big);
	close(sv[0]);
	close(sv[1]);
}

static void
test_action(void **state)
{
	assert_int_equal(curlsock_action(0), 0);
	assert_int_equal(curlsock_action(EPOLLIN), CURL_CSELECT_IN);
	assert_int_equal(curlsock_action(EPOLLHUP), CURL_CSELECT_IN);
	assert_int_equal(curlsock_action(EPOLLRDHUP), CURL_CSELECT_IN);
	assert_int_equal(curlsock_action(EPOLLOUT), CURL_CSELECT_OUT);
	assert_int_equal(curlsock_action(EPOLLERR), CURL_CSELECT_ERR);
	assert_int_equal(curlsock_action(EPOLLIN | EPOLLOUT | EPOLLERR),
	    CURL_CSELECT_IN | CURL_CSELECT_OUT | CURL_CSELECT_ERR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_number_reused),
		cmocka_unit_test(test_action),
	};

	log_init("test_curlsock");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
