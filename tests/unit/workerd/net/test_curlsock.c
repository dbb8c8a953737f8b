/*
 * The sockets curl asks the loop to watch (curlsock.c): entries made on
 * first use and found again by fd, the table grown past a large fd, the
 * epoll interest of curl's CURL_POLL_* and the CURL_CSELECT_* of epoll's
 * events.
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
		cmocka_unit_test(test_action),
	};

	log_init("test_curlsock");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
