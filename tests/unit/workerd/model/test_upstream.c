/*
 * The upstream client against a real server: the project's mock model
 * (build/test/bin/mockai, or $MOCKAI_BIN), spawned on a free port, and a
 * few canned one-shot servers for replies the mock never sends. The
 * worker's loop runs the transfers as it would in parley-workerd.
 *
 * Checked: the reply and usage, the request's shape and headers, each
 * failure mode (HTTP errors, cut, stall → idle timeout, refused, connect
 * timeout, malformed and oversized events), backpressure (pausing loses
 * and duplicates nothing, a paused transfer does not time out, the mock
 * stops producing and our heap does not grow), cancel from everywhere
 * (the mock sees the disconnect within a second), connection reuse,
 * 200 concurrent transfers, and 600 (more than one multi handle takes).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>


#include "sse.h"
#include "test_canned.h"
#include "test_peer.h"
#include "upstream.h"

/* From the ASan runtime (gcc ships no header for it). */
size_t __sanitizer_get_current_allocated_bytes(void);

#define NCONC		200	/* concurrent transfers */
#define NSHARDED	600	/* more than two multi handles' worth (256) */
#define PROMPT_WORDS	14	/* words in the default system prompt */

static pid_t mock_pid = -1;
static int mock_port;
static char mock_dir[64];
static char base_url[128];

/* ------------------------------------------------------------ the mock */

/* Starts the mock on port (0: any free one); 0, or -1. */
static int
mock_start_on(int port)
{
	const char *bin = getenv("MOCKAI_BIN");
	char portfile[128], buf[32], portarg[16];
	long long end;
	FILE *f;

	if (bin == NULL || *bin == '\0')
		bin = "build/test/bin/mockai";
	if (access(bin, X_OK) < 0) {
		fprintf(stderr, "test_upstream: no mock at %s (make %s; run from "
		    "the repository root or set MOCKAI_BIN)\n", bin, bin);
		return -1;
	}
	strlcpy(mock_dir, "/tmp/parley-upstream-XXXXXX", sizeof(mock_dir));
	if (mkdtemp(mock_dir) == NULL)
		return -1;
	snprintf(portfile, sizeof(portfile), "%s/port", mock_dir);
	snprintf(portarg, sizeof(portarg), "%d", port);
	mock_port = 0;
	if ((mock_pid = fork()) < 0)
		return -1;
	if (mock_pid == 0) {
		execl(bin, bin, "--port", portarg, "--port-file", portfile,
		    "--sndbuf", "65536", (char *)NULL);
		_exit(127);
	}
	end = proto_mono_ms() + 10000;
	while (proto_mono_ms() < end) {
		if ((f = fopen(portfile, "r")) != NULL) {
			if (fgets(buf, sizeof(buf), f) != NULL)
				mock_port = atoi(buf);
			fclose(f);
			if (mock_port > 0)
				break;
		}
		usleep(10000);
	}
	unlink(portfile);
	if (mock_port <= 0)
		return -1;
	snprintf(base_url, sizeof(base_url), "http://127.0.0.1:%d/v1/",
	    mock_port);	/* the trailing slash is stripped */
	return 0;
}

static int
mock_start(void)
{
	return mock_start_on(0);
}

static void
mock_stop(void)
{
	int st;

	if (mock_pid > 0) {
		kill(mock_pid, SIGTERM);
		waitpid(mock_pid, &st, 0);
		mock_pid = -1;
	}
	rmdir(mock_dir);
}

/* A blocking HTTP/1.0 request to the mock's control API; the JSON reply. */
static json_t *
mock_call(const char *method, const char *path, const char *body)
{
	struct sockaddr_in sin;
	struct timeval tv = { 5, 0 };
	char req[512], *buf = NULL, *p;
	size_t len = 0, cap = 0;
	ssize_t n;
	json_t *j = NULL;
	int fd;

	if (body == NULL)
		body = "";
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)mock_port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return NULL;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0)
		goto out;
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
	    method, path, strlen(body), body);
	if (write(fd, req, (size_t)n) != n)
		goto out;
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 131072;
			if ((p = realloc(buf, cap)) == NULL)
				goto out;
			buf = p;
		}
		if ((n = read(fd, buf + len, cap - len - 1)) <= 0)
			break;
		len += (size_t)n;
	}
	if (buf == NULL)
		goto out;
	buf[len] = '\0';
	if ((p = strstr(buf, "\r\n\r\n")) != NULL)
		j = json_loads(p + 4, 0, NULL);
out:
	free(buf);
	close(fd);
	return j;
}

static long long
stat_of(const char *name)
{
	json_t *j = mock_call("GET", "/_mock/stats", NULL);
	long long v;

	assert_non_null(j);
	v = json_integer_value(json_object_get(j, name));
	json_decref(j);
	return v;
}

static void
stats_reset(void)
{
	json_decref(mock_call("DELETE", "/_mock/stats", NULL));
}

/* The body of the last request the mock received. */
static json_t *
last_request(void)
{
	json_t *all = mock_call("GET", "/_mock/requests", NULL), *r;

	assert_non_null(all);
	assert_true(json_array_size(all) > 0);
	r = json_array_get(all, json_array_size(all) - 1);
	json_incref(r);
	json_decref(all);
	return r;
}

/* Points the client somewhere else, with these timeouts (NULL: default). */
static void
reinit(const char *base, const char *idle, const char *connect)
{
	upstream_shutdown();
	setenv("OPENAI_BASE_URL", base, 1);
	if (idle)
		setenv("OPENAI_IDLE_TIMEOUT_MS", idle, 1);
	else
		unsetenv("OPENAI_IDLE_TIMEOUT_MS");
	if (connect)
		setenv("OPENAI_CONNECT_TIMEOUT_MS", connect, 1);
	else
		unsetenv("OPENAI_CONNECT_TIMEOUT_MS");
	test_settings_env();
	assert_int_equal(upstream_init(), 0);
}

/* ------------------------------------------------------- one transfer */

struct xfer {
	struct upstream *u;
	char *text;
	size_t len, cap;
	int ndeltas;
	int done;
	struct upstream_result res;
	char err[256];
	int blocked;		/* can_write says 0 while set */
	int npaused;		/* times it said so */
	int block_every;	/* block after this many deltas ... */
	int block_ms;		/* ... for this long */
	int cancel_at;		/* cancel inside on_delta at this delta */
	int cancel_in_can_write;
	int cancel_in_done;
	int start_in_delta;	/* start another transfer from on_delta */
	int cancel_other;	/* cancel the other one from on_delta */
	struct xfer *other;
	struct loop_timer unblock;
	uint64_t done_at;
};

static int
x_can_write(void *arg)
{
	struct xfer *x = arg;

	if (x->cancel_in_can_write && x->ndeltas > 0) {
		upstream_cancel(x->u);
		x->u = NULL;
		return 1;
	}
	if (x->blocked)
		x->npaused++;
	return !x->blocked;
}

static void x_start(struct xfer *, const char *);

static void
x_delta(void *arg, const char *text, size_t len)
{
	struct xfer *x = arg;

	assert_non_null(x->u);	/* never after a cancel */
	assert_int_equal(x->done, 0);
	if (x->len + len + 1 > x->cap) {
		x->cap = (x->len + len + 1) * 2;
		x->text = realloc(x->text, x->cap);
		assert_non_null(x->text);
	}
	memcpy(x->text + x->len, text, len);
	x->len += len;
	x->text[x->len] = '\0';
	x->ndeltas++;
	if (x->cancel_at > 0 && x->ndeltas == x->cancel_at) {
		upstream_cancel(x->u);
		upstream_cancel(x->u);	/* twice is harmless */
		x->u = NULL;
		return;
	}
	if (x->start_in_delta && x->ndeltas == 1)
		x_start(x->other, "from inside a callback");
	if (x->cancel_other && x->other->u != NULL) {
		upstream_cancel(x->other->u);
		x->other->u = NULL;
	}
	if (x->block_every > 0 && x->ndeltas % x->block_every == 0) {
		x->blocked = 1;
		loop_timer_after(&x->unblock, (uint64_t)x->block_ms);
	}
}

static void
x_done(void *arg, const struct upstream_result *r)
{
	struct xfer *x = arg;

	assert_non_null(x->u);
	x->done++;
	x->res = *r;
	assert_non_null(r->error);
	strlcpy(x->err, r->error, sizeof(x->err));
	x->res.error = x->err;
	x->done_at = loop_clock();
	if (x->cancel_in_done)
		upstream_cancel(x->u);	/* a no-op now */
	x->u = NULL;
}

static void
x_unblock(void *arg)
{
	struct xfer *x = arg;

	x->blocked = 0;
	upstream_resume(x->u);
}

static const struct upstream_cbs xcbs = {
	.can_write = x_can_write, .on_delta = x_delta, .on_done = x_done,
};

/* Every xfer a test used (all static), for the teardown to clean up. */
static struct xfer *used[NSHARDED + 8];
static int nused;

static void
x_init(struct xfer *x)
{
	int i;

	loop_timer_stop(&x->unblock);
	free(x->text);
	memset(x, 0, sizeof(*x));
	loop_timer_init(&x->unblock, x_unblock, x);
	for (i = 0; i < nused && used[i] != x; i++)
		;
	if (i == nused && nused < (int)(sizeof(used) / sizeof(used[0])))
		used[nused++] = x;
}

static void
x_free(struct xfer *x)
{
	loop_timer_stop(&x->unblock);
	if (x->u != NULL)
		upstream_cancel(x->u);
	x->u = NULL;
	free(x->text);
	x->text = NULL;
}

static void
x_start(struct xfer *x, const char *content)
{
	struct upstream_msg m = { .role = "user", .content = content };
	struct upstream_req r = { .msgs = &m, .nmsgs = 1 };

	x->u = upstream_start(&r, &xcbs, x);
	assert_non_null(x->u);
}

/* Runs one completion of content to its end. */
static void
run(struct xfer *x, const char *content, int ms)
{
	x_start(x, content);
	assert_true(drive_until(&x->done, ms));
	assert_int_equal(x->done, 1);
}

/* --------------------------------------------------------------- tests */

static int
group_setup(void **state)
{
	canned_no_proxy();
	signal(SIGPIPE, SIG_IGN);
	loop_init();
	worker_conf_defaults();
	if (mock_start() < 0)
		return -1;
	unsetenv("OPENAI_API_KEY");
	unsetenv("OPENAI_MODEL");
	unsetenv("SYSTEM_PROMPT");
	reinit(base_url, NULL, NULL);
	return 0;
}

static int
group_teardown(void **state)
{
	upstream_shutdown();
	mock_stop();
	return 0;
}

/* Each test starts with the default settings, pointed at the mock. */
static int
setup(void **state)
{
	unsetenv("OPENAI_API_KEY");
	unsetenv("OPENAI_MODEL");
	unsetenv("SYSTEM_PROMPT");
	reinit(base_url, NULL, NULL);
	return 0;
}

/* Also after a failed test: nothing of it may stay in the loop. */
static int
teardown(void **state)
{
	int i, active;

	drive_ms(20);
	active = upstream_active();
	for (i = 0; i < nused; i++)
		x_free(used[i]);
	nused = 0;
	upstream_shutdown();
	assert_int_equal(active, 0);
	return 0;
}

static void
test_reply_and_usage(void **state)
{
	static struct xfer x;

	x_init(&x);
	run(&x, "hello there", 5000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_int_equal(x.res.http_status, 200);
	assert_string_equal(x.res.error, "");
	assert_string_equal(x.text, "You said: hello there");
	assert_int_equal(x.ndeltas, 8);
	assert_int_equal(x.res.prompt_tokens, PROMPT_WORDS + 2);
	assert_int_equal(x.res.completion_tokens, 8);
	x_free(&x);

	/* Multi-byte text, many chunks, directives stripped by the mock. */
	x_init(&x);
	run(&x, "h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac [[mock:chunks=1000]]",
	    5000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text,
	    "You said: h\xc3\xa9llo w\xc3\xb6rld \xe2\x82\xac");
	x_free(&x);

	/* An empty reply is still a complete one. */
	x_init(&x);
	run(&x, "[[mock:empty]]", 5000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_int_equal(x.len, 0);
	assert_int_equal(x.res.completion_tokens, 0);
	x_free(&x);
}

static void
test_request_shape(void **state)
{
	struct upstream_msg hist[3] = {
		{ .role = "user", .content = "first" },
		{ .role = "assistant", .content = "You said: first" },
		{ .role = "user", .content = "second" },
	};
	struct upstream_req req = { .msgs = hist, .nmsgs = 3 };
	json_t *r, *body, *msgs, *h;
	static struct xfer x;

	x_init(&x);
	x.u = upstream_start(&req, &xcbs, &x);
	assert_non_null(x.u);
	assert_true(drive_until(&x.done, 5000));
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, "You said: second");
	x_free(&x);

	r = last_request();
	assert_string_equal(json_string_value(json_object_get(r, "method")),
	    "POST");
	assert_string_equal(json_string_value(json_object_get(r, "path")),
	    "/v1/chat/completions");
	h = json_object_get(r, "headers");
	assert_string_equal(json_string_value(json_object_get(h, "accept")),
	    "text/event-stream");
	assert_string_equal(json_string_value(json_object_get(h,
	    "content-type")), "application/json");
	assert_null(json_object_get(h, "authorization"));
	body = json_object_get(r, "body");
	assert_string_equal(json_string_value(json_object_get(body, "model")),
	    "gpt-4.1-mini");
	assert_true(json_is_true(json_object_get(body, "stream")));
	assert_true(json_is_true(json_object_get(json_object_get(body,
	    "stream_options"), "include_usage")));
	msgs = json_object_get(body, "messages");
	assert_int_equal(json_array_size(msgs), 4);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(msgs, 0), "role")), "system");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(msgs, 0), "content")), "You are a concise and "
	    "helpful AI assistant embedded in a support chat widget.");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(msgs, 2), "role")), "assistant");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(msgs, 3), "content")), "second");
	json_decref(r);

	/* Settings from the environment, and per-request overrides. */
	setenv("OPENAI_API_KEY", "  sk-test-0123456789abcdef \n", 1);
	setenv("OPENAI_MODEL", "model-b", 1);
	setenv("SYSTEM_PROMPT", "Be brief.", 1);
	reinit(base_url, NULL, NULL);
	x_init(&x);
	run(&x, "one", 5000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	x_free(&x);
	r = last_request();
	h = json_object_get(r, "headers");
	assert_string_equal(json_string_value(json_object_get(h,
	    "authorization")), "Bearer sk-test-0123456789abcdef");
	body = json_object_get(r, "body");
	assert_string_equal(json_string_value(json_object_get(body, "model")),
	    "model-b");
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(json_object_get(body, "messages"), 0), "content")),
	    "Be brief.");
	json_decref(r);

	req.model = "model-c";
	req.system_prompt = "";	/* no system message at all */
	req.nmsgs = 1;
	x_init(&x);
	x.u = upstream_start(&req, &xcbs, &x);
	assert_true(drive_until(&x.done, 5000));
	assert_int_equal(x.res.status, UPSTREAM_OK);
	x_free(&x);
	r = last_request();
	body = json_object_get(r, "body");
	assert_string_equal(json_string_value(json_object_get(body, "model")),
	    "model-c");
	msgs = json_object_get(body, "messages");
	assert_int_equal(json_array_size(msgs), 1);
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(msgs, 0), "role")), "user");
	json_decref(r);

	/* Invalid UTF-8 from the caller still makes valid JSON. */
	hist[0].content = "bad \xff byte";
	req.nmsgs = 1;
	x_init(&x);
	x.u = upstream_start(&req, &xcbs, &x);
	assert_true(drive_until(&x.done, 5000));
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, "You said: bad \xef\xbf\xbd byte");
	x_free(&x);
}

static void
test_http_errors(void **state)
{
	static const int codes[] = { 500, 429, 401, 503, 400, 404 };
	char msg[64];
	static struct xfer x;
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(msg, sizeof(msg), "hi [[mock:status=%d]]", codes[i]);
		x_init(&x);
		run(&x, msg, 5000);
		assert_int_equal(x.res.status, UPSTREAM_HTTP_ERROR);
		assert_int_equal(x.res.http_status, codes[i]);
		assert_true(strlen(x.res.error) > 0);
		assert_int_equal(x.ndeltas, 0);
		if (codes[i] == 401)
			assert_string_equal(x.res.error,
			    "Incorrect API key provided");
		x_free(&x);
	}
	/* A bad directive is the mock's own 400, with OpenAI's body. */
	x_init(&x);
	run(&x, "[[mock:nosuchkey=1]]", 5000);
	assert_int_equal(x.res.status, UPSTREAM_HTTP_ERROR);
	assert_int_equal(x.res.http_status, 400);
	assert_null(strstr(x.res.error, "HTTP 400"));
	x_free(&x);
}

static void
test_cut(void **state)
{
	static struct xfer x;

	stats_reset();
	x_init(&x);
	run(&x, "tell me [[mock:cut=2]]", 5000);
	assert_int_equal(x.res.status, UPSTREAM_BROKEN);
	assert_int_equal(x.ndeltas, 2);
	assert_int_equal(strncmp("You said: tell me", x.text, x.len), 0);
	assert_int_equal(x.res.http_status, 200);
	x_free(&x);
	assert_int_equal(stat_of("cut"), 1);

	x_init(&x);
	run(&x, "[[mock:cut=0]]", 5000);
	assert_int_equal(x.res.status, UPSTREAM_BROKEN);
	assert_int_equal(x.ndeltas, 0);
	x_free(&x);
}

static void
test_stall_idle_timeout(void **state)
{
	static struct xfer x;
	uint64_t t0;

	reinit(base_url, "300", NULL);
	stats_reset();
	x_init(&x);
	t0 = loop_clock();
	run(&x, "[[mock:stall=1]]", 5000);
	assert_int_equal(x.res.status, UPSTREAM_TIMEOUT);
	assert_int_equal(x.ndeltas, 1);
	/*
	 * The 300 ms timer's verdict, named in the error; the upper bound
	 * only tells it from the run's 5 s budget (a loaded machine takes
	 * a second or more to get there).
	 */
	assert_true(x.done_at - t0 >= 290);
	assert_true(x.done_at - t0 < 4000);
	assert_non_null(strstr(x.res.error, "300 ms"));
	x_free(&x);
	/* The connection was closed: the mock counts the stream aborted. */
	drive_ms(100);
	assert_int_equal(stat_of("aborted"), 1);
	assert_int_equal(stat_of("active_streams"), 0);

	/* Waiting for the first token counts too. */
	x_init(&x);
	run(&x, "[[mock:first_delay=2000]]", 5000);
	assert_int_equal(x.res.status, UPSTREAM_TIMEOUT);
	x_free(&x);

	/*
	 * Slow but steady is not idle: six chunks 250 ms apart outlast a
	 * 1 s idle timeout, each gap a quarter of it (150 ms gaps under a
	 * 300 ms timeout timed out once in a make test on a loaded machine).
	 */
	reinit(base_url, "1000", NULL);
	x_init(&x);
	run(&x, "steady [[mock:chunks=6,delay=250]]", 5000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, "You said: steady");
	x_free(&x);
}

static void
test_paused_does_not_time_out(void **state)
{
	static struct xfer x;

	reinit(base_url, "300", NULL);
	x_init(&x);
	x.blocked = 1;
	loop_timer_after(&x.unblock, 900);
	run(&x, "wait for me [[mock:chunks=4]]", 5000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, "You said: wait for me");
	assert_true(x.npaused >= 1);
	x_free(&x);

	/* Paused in the middle. */
	x_init(&x);
	x.block_every = 2;
	x.block_ms = 700;
	run(&x, "in the middle [[mock:chunks=5,delay=5]]", 10000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, "You said: in the middle");
	x_free(&x);
}

static char *
repeated(const char *s, int n)
{
	size_t l = strlen(s);
	char *out = malloc(l * (size_t)n + 1);
	int i;

	assert_non_null(out);
	for (i = 0; i < n; i++)
		memcpy(out + l * (size_t)i, s, l);
	out[l * (size_t)n] = '\0';
	return out;
}

static void
test_pause_exact(void **state)
{
	char *want = repeated("abcdefghij", 3000);
	char msg[128];
	static struct xfer x;

	snprintf(msg, sizeof(msg),
	    "[[mock:reply=abcdefghij,repeat=3000,chunks=3000]]");
	/* Blocked after every delta, resumed on the next loop round. */
	x_init(&x);
	x.block_every = 1;
	x.block_ms = 0;
	run(&x, msg, 30000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_int_equal(x.len, strlen(want));
	assert_string_equal(x.text, want);
	assert_true(x.npaused > 100);
	x_free(&x);

	/* Blocked for a while every few deltas. */
	x_init(&x);
	x.block_every = 97;
	x.block_ms = 15;
	run(&x, msg, 30000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, want);
	assert_int_equal(x.res.completion_tokens, 3000);
	x_free(&x);
	free(want);
}

static void
test_slow_reader_bounded(void **state)
{
	const char *msg = "[[mock:reply=0123456789,repeat=100000,chunks=20000]]";
	long long c1, c2;
	size_t heap0, heap1;
	static struct xfer x;
	int i;

	stats_reset();
	x_init(&x);
	x.block_every = 10;
	x.block_ms = 60000;	/* until we let it go below */
	x_start(&x, msg);
	for (i = 0; i < 500 && !x.blocked; i++)
		loop_once(10);
	assert_true(x.blocked);
	/*
	 * Let the pipes fill up: the mock must come to a stop (the kernel may
	 * still let a little through now and then).
	 */
	c1 = -1;
	for (i = 0; i < 40; i++) {
		drive_ms(200);
		c2 = stat_of("content_chunks");
		if (c2 - c1 < 100)
			break;
		c1 = c2;
	}
	assert_true(c2 - c1 < 100);
	assert_true(c2 < 20000 / 2);
	/* Held that way, our heap does not grow. */
	heap0 = __sanitizer_get_current_allocated_bytes();
	drive_ms(500);
	heap1 = __sanitizer_get_current_allocated_bytes();
	assert_true(heap1 < heap0 + 64 * 1024);
	c1 = stat_of("content_chunks");
	assert_true(c1 - c2 < 1000);
	assert_int_equal(x.done, 0);
	/* Let go: everything arrives, once. */
	x.block_every = 0;
	loop_timer_after(&x.unblock, 0);
	assert_true(drive_until(&x.done, 60000));
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_int_equal(x.len, 1000000);
	assert_int_equal(x.res.completion_tokens, 20000);
	for (i = 0; i < 1000000; i += 10)
		assert_memory_equal(x.text + i, "0123456789", 10);
	x_free(&x);
}

/*
 * 1 once the mock has counted n aborted streams, 0 if not within 3 s. A
 * stream the cancel did not close would have ended whole (counted done,
 * not aborted) or never (a stall): how soon the mock saw the close is the
 * machine's load, not asserted.
 */
static int
aborted_within(long long n)
{
	uint64_t end = loop_clock() + 3000;

	while (loop_clock() < end) {
		if (stat_of("aborted") >= n)
			return 1;
		loop_once(10);
	}
	return 0;
}

static void
test_cancel(void **state)
{
	static struct xfer x;
	int n;

	/* From inside on_delta: no callback afterwards. */
	stats_reset();
	x_init(&x);
	x.cancel_at = 1;
	x_start(&x, "[[mock:stall=1]]");
	assert_true(drive_until(&x.ndeltas, 5000));
	assert_int_equal(upstream_active(), 0);
	assert_true(aborted_within(1));
	drive_ms(100);
	assert_int_equal(x.done, 0);
	assert_int_equal(stat_of("active_streams"), 0);
	x_free(&x);

	/*
	 * From outside any callback, mid-stream: nothing more after it. (A
	 * loaded machine may read two of the 50 ms chunks at once: what came
	 * before the cancel is counted then, not assumed to be 2.)
	 */
	x_init(&x);
	x_start(&x, "slow [[mock:chunks=50,delay=50]]");
	while (x.ndeltas < 2)
		loop_once(10);
	n = x.ndeltas;
	upstream_cancel(x.u);
	x.u = NULL;
	assert_true(aborted_within(2));
	drive_ms(100);
	assert_int_equal(x.done, 0);
	assert_int_equal(x.ndeltas, n);
	assert_true(n < 50);
	x_free(&x);

	/* From inside can_write. */
	x_init(&x);
	x.cancel_in_can_write = 1;
	x_start(&x, "slow [[mock:chunks=50,delay=50]]");
	assert_true(aborted_within(3));
	drive_ms(100);
	assert_int_equal(x.done, 0);
	x_free(&x);

	/* While paused. */
	x_init(&x);
	x.block_every = 1;
	x.block_ms = 60000;
	x_start(&x, "slow [[mock:chunks=50,delay=20]]");
	while (!x.blocked)
		loop_once(10);
	drive_ms(100);
	upstream_cancel(x.u);
	x.u = NULL;
	assert_true(aborted_within(4));
	x_free(&x);

	/* Before it even connected, and after a resume was asked for. */
	x_init(&x);
	x_start(&x, "never mind");
	upstream_resume(x.u);
	upstream_cancel(x.u);
	x.u = NULL;
	drive_ms(200);
	assert_int_equal(x.done, 0);
	x_free(&x);

	/* Another transfer, from inside this one's on_delta. */
	{
		static struct xfer y;

		x_init(&x);
		x_init(&y);
		x_start(&y, "[[mock:stall=1]]");
		while (y.ndeltas < 1)
			loop_once(10);
		x.cancel_other = 1;
		x.other = &y;
		run(&x, "first [[mock:chunks=3]]", 5000);
		assert_int_equal(x.res.status, UPSTREAM_OK);
		assert_null(y.u);
		assert_true(aborted_within(5));
		assert_int_equal(y.done, 0);
		x_free(&x);
		x_free(&y);
	}

	/* From inside on_done: a no-op. */
	x_init(&x);
	x.cancel_in_done = 1;
	run(&x, "bye", 5000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	x_free(&x);
	assert_int_equal(stat_of("active_streams"), 0);
}

static void
test_start_inside_callback(void **state)
{
	static struct xfer a, b;

	x_init(&a);
	x_init(&b);
	a.start_in_delta = 1;
	a.other = &b;
	run(&a, "outer [[mock:chunks=3]]", 5000);
	assert_true(drive_until(&b.done, 5000));
	assert_int_equal(a.res.status, UPSTREAM_OK);
	assert_int_equal(b.res.status, UPSTREAM_OK);
	assert_string_equal(a.text, "You said: outer");
	assert_string_equal(b.text, "You said: from inside a callback");
	x_free(&a);
	x_free(&b);
}

/* 1 when socket inode ino is one of this process's descriptors. */
static int
own_socket(unsigned long ino)
{
	char want[64], path[300], got[64];
	struct dirent *de;
	ssize_t len;
	DIR *d = opendir("/proc/self/fd");
	int found = 0;

	assert_non_null(d);
	snprintf(want, sizeof(want), "socket:[%lu]", ino);
	while (!found && (de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		len = readlink(path, got, sizeof(got) - 1);
		if (len > 0) {
			got[len] = '\0';
			found = strcmp(got, want) == 0;
		}
	}
	closedir(d);
	return found;
}

/*
 * Local ports of our established connections to the mock: this
 * process's only (the tests beside it may talk to a server of the same
 * port number on another loopback address), each once (the kernel
 * writes /proc/net/tcp a page at a time, and a busy machine's sockets
 * moving between reads can list one twice).
 */
static int
conns_to_mock(int *ports, int max)
{
	char line[512];
	unsigned int lport, rport, st;
	unsigned long ino, seen[64];
	FILE *f = fopen("/proc/net/tcp", "r");
	int n = 0, nseen = 0, i, dup;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, " %*d: %*x:%x %*x:%x %x %*x:%*x %*x:%*x %*x "
		    "%*u %*u %lu", &lport, &rport, &st, &ino) != 4)
			continue;
		if ((int)rport != mock_port || st != 1 || !own_socket(ino))
			continue;
		for (dup = 0, i = 0; i < nseen; i++)
			dup |= seen[i] == ino;
		if (dup || nseen == (int)(sizeof(seen) / sizeof(seen[0])))
			continue;
		seen[nseen++] = ino;
		if (n < max)
			ports[n++] = (int)lport;
	}
	fclose(f);
	return n;
}

static void
test_connection_reuse(void **state)
{
	int ports[8], first = 0, i, n;
	static struct xfer x;

	for (i = 0; i < 5; i++) {
		x_init(&x);
		run(&x, "again", 5000);
		assert_int_equal(x.res.status, UPSTREAM_OK);
		x_free(&x);
		n = conns_to_mock(ports, 8);
		assert_int_equal(n, 1);
		if (i == 0)
			first = ports[0];
		assert_int_equal(ports[0], first);
	}
	/* An HTTP error answer keeps the connection too. */
	x_init(&x);
	run(&x, "[[mock:status=429]]", 5000);
	assert_int_equal(x.res.status, UPSTREAM_HTTP_ERROR);
	x_free(&x);
	x_init(&x);
	run(&x, "and again", 5000);
	x_free(&x);
	assert_int_equal(conns_to_mock(ports, 8), 1);
	assert_int_equal(ports[0], first);
}

/*
 * The server closes a kept connection while it is idle (here: the mock
 * restarts on the same port). The idle socket stays watched after its
 * transfer (parked); the close wakes it and it is let go, and the next
 * transfer gets a new connection, most likely on the same fd number,
 * which must be watched anew: it completes, on one connection.
 */
static void
test_kept_connection_closed_by_server(void **state)
{
	int ports[8], port = mock_port, first;
	static struct xfer x;

	x_init(&x);
	run(&x, "before", 5000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	x_free(&x);
	assert_int_equal(conns_to_mock(ports, 8), 1);
	first = ports[0];
	mock_stop();
	drive_ms(50);		/* the close reaches the parked socket */
	assert_int_equal(mock_start_on(port), 0);
	assert_int_equal(mock_port, port);
	for (int i = 0; i < 3; i++) {
		x_init(&x);
		run(&x, "after", 5000);
		assert_int_equal(x.res.status, UPSTREAM_OK);
		assert_string_equal(x.text, "You said: after");
		x_free(&x);
	}
	assert_int_equal(conns_to_mock(ports, 8), 1);
	assert_int_not_equal(ports[0], first);
}

/* Runs req to its end; the mock's record of it. */
static json_t *
run_req(const struct upstream_req *req)
{
	static struct xfer x;

	x_init(&x);
	x.u = upstream_start(req, &xcbs, &x);
	assert_non_null(x.u);
	assert_true(drive_until(&x.done, 5000));
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, "You said: hi");
	x_free(&x);
	return last_request();
}

static const char *
hdr(json_t *r, const char *name)
{
	return json_string_value(json_object_get(json_object_get(r,
	    "headers"), name));
}

static json_t *
body_of(json_t *r, const char *name)
{
	return json_object_get(json_object_get(r, "body"), name);
}

/*
 * An agent's request: its own base URL, key, model, prompt, temperature
 * and max_tokens; what it leaves out is the deployment's.
 */
static void
test_agent_request(void **state)
{
	struct upstream_msg m = { .role = "user", .content = "hi" };
	struct upstream_req req;
	char own[128];
	json_t *r;

	setenv("OPENAI_API_KEY", "sk-deployment-key-0001", 1);
	setenv("OPENAI_MODEL", "env-model", 1);
	reinit(base_url, NULL, NULL);

	/* Its own server (no /v1: the mock answers /chat/completions too). */
	snprintf(own, sizeof(own), "http://127.0.0.1:%d//", mock_port);
	memset(&req, 0, sizeof(req));
	req.msgs = &m;
	req.nmsgs = 1;
	req.base_url = own;
	req.api_key = "agent-key-0123456789";
	req.model = "agent-model";
	req.system_prompt = "Agent prompt.";
	req.has_temperature = 1;
	req.temperature_milli = 700;
	req.max_tokens = 123;
	r = run_req(&req);
	assert_string_equal(json_string_value(json_object_get(r, "path")),
	    "/chat/completions");
	assert_string_equal(hdr(r, "authorization"),
	    "Bearer agent-key-0123456789");
	assert_string_equal(json_string_value(body_of(r, "model")),
	    "agent-model");
	assert_true(json_is_real(body_of(r, "temperature")));
	assert_true(json_real_value(body_of(r, "temperature")) == 0.7);
	assert_int_equal(json_integer_value(body_of(r, "max_tokens")), 123);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    body_of(r, "messages"), 0), "content")), "Agent prompt.");
	json_decref(r);

	/* Temperatures as the shortest decimal: 0, 1, 2, 0.05. */
	req.temperature_milli = 0;
	r = run_req(&req);
	assert_true(json_number_value(body_of(r, "temperature")) == 0);
	json_decref(r);
	req.temperature_milli = 2000;
	r = run_req(&req);
	assert_true(json_number_value(body_of(r, "temperature")) == 2);
	json_decref(r);
	req.temperature_milli = 50;
	r = run_req(&req);
	assert_true(json_number_value(body_of(r, "temperature")) == 0.05);
	json_decref(r);

	/* Its own server without a key: no Authorization at all. */
	req.api_key = "";
	req.has_temperature = 0;
	req.max_tokens = 0;
	r = run_req(&req);
	assert_null(hdr(r, "authorization"));
	assert_null(body_of(r, "temperature"));
	assert_null(body_of(r, "max_tokens"));
	json_decref(r);

	/*
	 * Credentials in its URL, no key: Basic, URL-decoded ("bob:hunter
	 * 22"); the path without them.
	 */
	snprintf(own, sizeof(own), "http://bob:hunter%%2022@127.0.0.1:%d/",
	    mock_port);
	r = run_req(&req);
	assert_string_equal(hdr(r, "authorization"),
	    "Basic Ym9iOmh1bnRlciAyMg==");
	assert_string_equal(json_string_value(json_object_get(r, "path")),
	    "/chat/completions");
	json_decref(r);
	snprintf(own, sizeof(own), "http://127.0.0.1:%d//", mock_port);

	/* The deployment's server and key, the agent's model only. */
	req.base_url = NULL;
	req.api_key = NULL;
	req.system_prompt = NULL;
	r = run_req(&req);
	assert_string_equal(json_string_value(json_object_get(r, "path")),
	    "/v1/chat/completions");
	assert_string_equal(hdr(r, "authorization"),
	    "Bearer sk-deployment-key-0001");
	assert_string_equal(json_string_value(body_of(r, "model")),
	    "agent-model");
	json_decref(r);

	/* The deployment's server with the agent's key. */
	req.api_key = "agent-key-on-default-url";
	req.model = NULL;
	r = run_req(&req);
	assert_string_equal(json_string_value(json_object_get(r, "path")),
	    "/v1/chat/completions");
	assert_string_equal(hdr(r, "authorization"),
	    "Bearer agent-key-on-default-url");
	assert_string_equal(json_string_value(body_of(r, "model")),
	    "env-model");
	json_decref(r);

	/* Not an http(s) URL, or a key that breaks the header: no start. */
	req.base_url = "ftp://127.0.0.1/";
	assert_null(upstream_start(&req, &xcbs, NULL));
	req.base_url = NULL;
	req.api_key = "bad\r\nX-Injected: 1";
	assert_null(upstream_start(&req, &xcbs, NULL));
	assert_int_equal(upstream_active(), 0);
}


/*
 * A model that answers 401 with body b to a turn with the agent's own key
 * key: the transfer's result in *x (x_free after).
 */
static void
agent_401_key(const char *b, const char *key, struct xfer *x)
{
	struct upstream_msg m = { .role = "user", .content = "hi" };
	struct upstream_req req;
	char resp[1024], url[64];
	pid_t pid;
	int st;

	snprintf(resp, sizeof(resp), "HTTP/1.1 401 Unauthorized\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu"
	    "\r\n\r\n%s", strlen(b), b);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1",
	    canned(resp, strlen(resp), 0, &pid));
	memset(&req, 0, sizeof(req));
	req.msgs = &m;
	req.nmsgs = 1;
	req.base_url = url;
	req.api_key = key;
	x_init(x);
	x->u = upstream_start(&req, &xcbs, x);
	assert_non_null(x->u);
	assert_true(drive_until(&x->done, 5000));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	assert_int_equal(x->res.status, UPSTREAM_HTTP_ERROR);
}

/* agent_401_key with the agent's key "agent.secret.0123". */
static void
agent_401(const char *b, struct xfer *x)
{
	agent_401_key(b, "agent.secret.0123", x);
}

/* A model's error text that echoes the agent's own key: masked. */
static void
test_agent_key_masked(void **state)
{
	static struct xfer x;

	agent_401("{\"error\":{\"message\":\"Key agent.secret.0123 is not "
	    "valid\"}}", &x);
	assert_string_equal(x.res.error, "Key *** is not valid");
	x_free(&x);
}

/*
 * A key shorter than 8 bytes is masked as well; a one-byte key echoed
 * over and over makes a text three times as long before the cut.
 */
static void
test_short_key_masked(void **state)
{
	static struct xfer x;

	agent_401_key("{\"error\":{\"message\":\"Key k3Y is not "
	    "valid\"}}", "K3y", &x);
	assert_string_equal(x.res.error, "Key *** is not valid");
	x_free(&x);
	agent_401_key("{\"error\":{\"message\":\"qqqqqqqqqqqqqqqqqqqq\"}}",
	    "q", &x);
	assert_string_equal(x.res.error,
	    "************************************************************");
	x_free(&x);
}

/*
 * The key across the 200-byte cut of the model's text (it starts at byte
 * 190), an upper-cased copy of it and a URL's password: each masked, as the
 * masking runs before the cut.
 */
static void
test_key_masked_before_cut(void **state)
{
	static struct xfer x;
	char b[512], pad[127];

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(b, sizeof(b), "{\"error\":{\"message\":\"%s "
	    "AGENT.SECRET.0123 via http://bob:hunter22@up.example/v1 "
	    "%sagent.secret.0123\"}}", "Bad key", pad);
	agent_401(b, &x);
	assert_true(strlen(x.res.error) <= 200);
	assert_null(strcasestr(x.res.error, "agent"));
	assert_null(strstr(x.res.error, "hunter22"));
	assert_non_null(strstr(x.res.error, "Bad key *** via http://***@up."));
	assert_non_null(strstr(x.res.error, "xxx***"));
	x_free(&x);
}

/*
 * Connections are kept per server: two base URLs naming the mock by two
 * host names alternate, and each keeps its one connection; two base
 * URLs on the same host and port share one.
 */
static void
test_reuse_per_base_url(void **state)
{
	struct upstream_msg m = { .role = "user", .content = "hi" };
	struct upstream_req req;
	char a[128], b[128], c[128];
	int ports[8], first[2] = { 0, 0 }, i, n;
	json_t *r;

	snprintf(a, sizeof(a), "http://127.0.0.1:%d/v1", mock_port);
	snprintf(b, sizeof(b), "http://localhost:%d/v1", mock_port);
	snprintf(c, sizeof(c), "http://127.0.0.1:%d", mock_port);
	memset(&req, 0, sizeof(req));
	req.msgs = &m;
	req.nmsgs = 1;
	for (i = 0; i < 6; i++) {
		req.base_url = (i % 2) ? b : a;
		req.api_key = (i % 2) ? "key-of-agent-b-000" : "key-of-agent-a-000";
		r = run_req(&req);
		json_decref(r);
		n = conns_to_mock(ports, 8);
		assert_int_equal(n, i == 0 ? 1 : 2);
		if (i == 0)
			first[0] = ports[0];
		else if (i == 1)
			first[1] = ports[0] == first[0] ? ports[1] : ports[0];
		assert_true(ports[0] == first[0] || ports[1] == first[0]);
	}
	assert_int_equal(conns_to_mock(ports, 8), 2);
	assert_true((ports[0] == first[0] && ports[1] == first[1]) ||
	    (ports[0] == first[1] && ports[1] == first[0]));
	/* Another path on the first server: its connection again. */
	req.base_url = c;
	r = run_req(&req);
	json_decref(r);
	assert_int_equal(conns_to_mock(ports, 8), 2);
	assert_true((ports[0] == first[0] && ports[1] == first[1]) ||
	    (ports[0] == first[1] && ports[1] == first[0]));
}

static void
test_concurrent(void **state)
{
	static struct xfer xs[NCONC];
	char msg[64], want[64];
	int i, all;

	stats_reset();
	for (i = 0; i < NCONC; i++) {
		x_init(&xs[i]);
		snprintf(msg, sizeof(msg), "n%d [[mock:chunks=10,delay=20]]", i);
		x_start(&xs[i], msg);
	}
	assert_int_equal(upstream_active(), NCONC);
	for (all = 0; all < 2000 && upstream_active() > 0; all++)
		loop_once(10);
	for (i = 0; i < NCONC; i++) {
		snprintf(want, sizeof(want), "You said: n%d", i);
		assert_int_equal(xs[i].done, 1);
		assert_int_equal(xs[i].res.status, UPSTREAM_OK);
		assert_string_equal(xs[i].text, want);
		x_free(&xs[i]);
	}
	assert_true(stat_of("max_concurrent") >= NCONC / 2);
	assert_int_equal(stat_of("completed"), NCONC);
}

/*
 * A big history goes out whole, and its copy is freed once sent: by the
 * first delta the heap has shrunk by about its size; the reply is whole.
 */
static void
test_big_request_freed(void **state)
{
	enum { BIG = 400 * 1024 };
	struct upstream_msg m[3] = { { .role = NULL } };
	struct upstream_req r = { .msgs = m, .nmsgs = 3 };
	static struct xfer x;
	size_t heap0, heap1;
	json_t *body;
	char *big;

	big = malloc(BIG + 1);
	assert_non_null(big);
	memset(big, 'h', BIG);
	big[BIG] = '\0';
	m[0].role = "user";
	m[0].content = big;
	m[1].role = "assistant";
	m[1].content = "ok";
	m[2].role = "user";
	m[2].content = "short [[mock:chunks=20,delay=20]]";
	x_init(&x);
	x.u = upstream_start(&r, &xcbs, &x);
	assert_non_null(x.u);
	free(big);		/* the request is the client's own copy */
	heap0 = __sanitizer_get_current_allocated_bytes();
	assert_true(drive_until(&x.ndeltas, 5000));
	heap1 = __sanitizer_get_current_allocated_bytes();
	assert_true(heap1 + BIG * 3 / 4 < heap0);
	assert_true(drive_until(&x.done, 5000));
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, "You said: short");
	body = last_request();	/* the mock's log of it: too big to keep whole */
	assert_true(json_integer_value(json_object_get(body, "body_bytes")) >
	    BIG);
	json_decref(body);
	x_free(&x);
}

/*
 * With 64 transfers in flight the next gets the small receive buffer
 * (1 KiB): a 100 KB reply in events of 2 KB, each split over reads,
 * still arrives whole.
 */
static void
test_small_buffer_long_reply(void **state)
{
	static struct xfer hold[64], x;
	char msg[64];
	int i;

	for (i = 0; i < 64; i++) {
		x_init(&hold[i]);
		snprintf(msg, sizeof(msg), "h%d [[mock:chunks=2,delay=5000]]",
		    i);
		x_start(&hold[i], msg);
	}
	x_init(&x);
	run(&x, "[[mock:reply=0123456789,repeat=10000,chunks=50]]", 10000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_int_equal(x.len, 100000);
	assert_int_equal(x.ndeltas, 50);
	for (i = 0; i < 100000; i += 10)
		assert_memory_equal(x.text + i, "0123456789", 10);
	x_free(&x);
	for (i = 0; i < 64; i++) {
		assert_int_equal(hold[i].done, 0);
		x_free(&hold[i]);
	}
}

/*
 * More transfers than one multi handle takes: they run at once (each
 * 3 s long: at 1 s, on a loaded machine the first ended before the last
 * had connected, and the mock never saw more than 256 at once) and end
 * whole, twice over (the second round reuses the handles the first one
 * made), and the idle connections kept afterwards stay bounded (256 for
 * the first handle, 32 for each further one).
 */
static void
test_sharded(void **state)
{
	static struct xfer xs[NSHARDED];
	static int ports[NSHARDED];
	char msg[64], want[64];
	int i, all, round, n;

	for (round = 0; round < 2; round++) {
		stats_reset();
		for (i = 0; i < NSHARDED; i++) {
			x_init(&xs[i]);
			snprintf(msg, sizeof(msg),
			    "r%d n%d [[mock:chunks=4,delay=750]]", round, i);
			x_start(&xs[i], msg);
		}
		assert_int_equal(upstream_active(), NSHARDED);
		for (all = 0; all < 3000 && upstream_active() > 0; all++)
			loop_once(10);
		for (i = 0; i < NSHARDED; i++) {
			snprintf(want, sizeof(want), "You said: r%d n%d",
			    round, i);
			assert_int_equal(xs[i].done, 1);
			assert_int_equal(xs[i].res.status, UPSTREAM_OK);
			assert_string_equal(xs[i].text, want);
			x_free(&xs[i]);
		}
		assert_true(stat_of("max_concurrent") > 256);
		assert_int_equal(stat_of("completed"), NSHARDED);
		n = conns_to_mock(ports, NSHARDED);
		assert_true(n >= 1);
		assert_true(n <= 256 + 2 * 32);
	}
}

static void
test_refused(void **state)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	char url[64];
	static struct xfer x;
	int fd;

	/* A port nobody listens on: bind one, note it, close it. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	close(fd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1",
	    ntohs(sin.sin_port));
	reinit(url, NULL, NULL);
	x_init(&x);
	run(&x, "anyone?", 5000);
	assert_int_equal(x.res.status, UPSTREAM_BROKEN);
	assert_int_equal(x.res.http_status, 0);
	assert_true(strlen(x.res.error) > 0);
	x_free(&x);
}

static void
test_connect_timeout(void **state)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int lfd, fill[8], i;
	char url[64];
	static struct xfer x;
	uint64_t t0;

	/* A listener that never accepts, its queue full: SYNs go unanswered. */
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 0), 0);
	getsockname(lfd, (struct sockaddr *)&sin, &sl);
	for (i = 0; i < 8; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(50000);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1",
	    ntohs(sin.sin_port));
	reinit(url, "5000", "300");
	x_init(&x);
	t0 = loop_clock();
	run(&x, "hello?", 5000);
	/* The 300 ms connect timer's, not the 5 s idle one's. */
	assert_int_equal(x.res.status, UPSTREAM_TIMEOUT);
	assert_non_null(strstr(x.res.error, "connecting to the model"));
	assert_true(x.done_at - t0 < 4000);
	x_free(&x);
	for (i = 0; i < 8; i++)
		close(fill[i]);
	close(lfd);
}

/* ------------------------------------------------- canned servers */

static void
canned_run(const char *reply, size_t len, int hold, const char *idle,
    struct xfer *x)
{
	char url[64];
	pid_t pid;
	int port, st;

	port = canned(reply, len, hold, &pid);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", port);
	reinit(url, idle, NULL);
	x_init(x);
	run(x, "canned", 10000);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
}

#define SSE_HEAD "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n" \
    "Connection: close\r\n\r\n"
#define CHUNK(s) "data: {\"choices\":[{\"delta\":{\"content\":\"" s "\"}}]}\n\n"

static void
test_canned_replies(void **state)
{
	static struct xfer x;
	const char *r;
	char *big;
	size_t n, hl;

	/* CRLF, comments, a body that ends at close: fine with [DONE]. */
	r = SSE_HEAD ": hello\r\n\r\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\n"
	    "data: {\"choices\":[{\"delta\":{\"content\":\"b\\nc\"}}]}\r\n\r\n"
	    "data: [DONE]\r\n\r\n";
	canned_run(r, strlen(r), 0, NULL, &x);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, "ab\nc");
	x_free(&x);

	/* An interim 1xx answer first: skipped, the real one read. */
	r = "HTTP/1.1 100 Continue\r\n\r\n" SSE_HEAD CHUNK("after 100")
	    "data: [DONE]\n\n";
	canned_run(r, strlen(r), 0, NULL, &x);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, "after 100");
	x_free(&x);

	/* finish_reason and then the connection closes: complete. */
	r = SSE_HEAD CHUNK("x")
	    "data: {\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
	canned_run(r, strlen(r), 0, NULL, &x);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, "x");
	x_free(&x);

	/* Closed early, without either: broken. */
	r = SSE_HEAD CHUNK("x") CHUNK("y");
	canned_run(r, strlen(r), 0, NULL, &x);
	assert_int_equal(x.res.status, UPSTREAM_BROKEN);
	assert_string_equal(x.text, "xy");
	x_free(&x);

	/*
	 * [DONE] but the server holds the body open: done at once, OK, not
	 * at the idle timeout (30 s, past run's 10 s).
	 */
	r = SSE_HEAD CHUNK("held") "data: [DONE]\n\n";
	canned_run(r, strlen(r), 1, "30000", &x);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, "held");
	x_free(&x);

	/* Malformed JSON in an event. */
	r = SSE_HEAD CHUNK("ok") "data: {\"choices\":[{\"delta\":\n\n"
	    CHUNK("never") "data: [DONE]\n\n";
	canned_run(r, strlen(r), 0, NULL, &x);
	assert_int_equal(x.res.status, UPSTREAM_BROKEN);
	assert_string_equal(x.text, "ok");
	assert_non_null(strstr(x.res.error, "malformed"));
	x_free(&x);

	/* An error reported inside the stream. */
	r = SSE_HEAD CHUNK("par")
	    "data: {\"error\":{\"message\":\"The server had an error\"}}\n\n";
	canned_run(r, strlen(r), 0, NULL, &x);
	assert_int_equal(x.res.status, UPSTREAM_BROKEN);
	assert_string_equal(x.res.error, "The server had an error");
	assert_string_equal(x.text, "par");
	x_free(&x);

	/* An event over the 1 MiB limit. */
	n = strlen(SSE_HEAD) + 6 + SSE_MAX_EVENT + 10;
	big = malloc(n + 1);
	assert_non_null(big);
	strlcpy(big, SSE_HEAD "data: ", n + 1);
	memset(big + strlen(big), 'z', n - strlen(big));
	big[n] = '\0';
	canned_run(big, n, 1, NULL, &x);
	assert_int_equal(x.res.status, UPSTREAM_BROKEN);
	assert_non_null(strstr(x.res.error, "too big"));
	free(big);
	x_free(&x);

	/* A 401 whose message echoes a key: masked. */
	{
		const char *b = "{\"error\":{\"message\":\"Incorrect API key "
		    "provided: sk-proj-abc*****xyz9. See docs.\",\"code\":1}}";
		char resp[512];

		snprintf(resp, sizeof(resp), "HTTP/1.1 401 Unauthorized\r\n"
		    "Content-Type: application/json\r\nContent-Length: %zu"
		    "\r\n\r\n%s", strlen(b), b);
		canned_run(resp, strlen(resp), 0, NULL, &x);
	}
	assert_int_equal(x.res.status, UPSTREAM_HTTP_ERROR);
	assert_int_equal(x.res.http_status, 401);
	assert_string_equal(x.res.error,
	    "Incorrect API key provided: sk-***. See docs.");
	assert_false(x.res.error_ours);
	x_free(&x);

	/* A non-JSON error page. */
	r = "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n"
	    "Content-Length: 20\r\n\r\n<html>bad gw</html>\n";
	canned_run(r, strlen(r), 0, NULL, &x);
	assert_int_equal(x.res.status, UPSTREAM_HTTP_ERROR);
	assert_int_equal(x.res.http_status, 502);
	assert_string_equal(x.res.error, "HTTP 502 from the model");
	/* Ours: the turn says the status once. */
	assert_true(x.res.error_ours);
	x_free(&x);

	/* A huge error body is not read to its end. */
	n = 1024 * 1024;
	big = malloc(n + 200);
	assert_non_null(big);
	hl = (size_t)snprintf(big, 200, "HTTP/1.1 500 Oops\r\n"
	    "Content-Length: %zu\r\n\r\n", n);
	memset(big + hl, 'e', n);
	canned_run(big, hl + n, 1, NULL, &x);
	assert_int_equal(x.res.status, UPSTREAM_HTTP_ERROR);
	assert_int_equal(x.res.http_status, 500);
	free(big);
	x_free(&x);
}

/*
 * A kept connection the server closes just as the next request reaches
 * it (its keep-alive ran out at that moment): no byte of an answer came,
 * so the request goes again on a new connection and completes. The
 * server answers the first request, drops the second on the same
 * connection, answers it on a second one, and exits 0 only then.
 */
static void
test_kept_connection_dropped_at_request(void **state)
{
	const char *body = CHUNK("again") "data: [DONE]\n\n";
	static struct xfer x;
	char reply[512], url[64];
	int lfd, fd, port, st, i;
	size_t len;
	pid_t pid;

	len = (size_t)snprintf(reply, sizeof(reply), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/event-stream\r\nContent-Length: %zu\r\n"
	    "\r\n%s", strlen(body), body);
	lfd = canned_listen(&port);
	if ((pid = fork()) == 0) {
		alarm(10);	/* never left waiting for a request not sent */
		if ((fd = accept(lfd, NULL, NULL)) < 0 ||
		    canned_request(fd) < 0 || canned_write(fd, reply, len) < 0 ||
		    canned_request(fd) < 0)
			_exit(1);
		close(fd);
		if ((fd = accept(lfd, NULL, NULL)) < 0 ||
		    canned_request(fd) < 0 || canned_write(fd, reply, len) < 0)
			_exit(2);
		close(fd);
		_exit(0);
	}
	close(lfd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", port);
	reinit(url, NULL, NULL);
	for (i = 0; i < 2; i++) {
		x_init(&x);
		run(&x, i == 0 ? "one" : "two", 5000);
		assert_int_equal(x.res.status, UPSTREAM_OK);
		assert_string_equal(x.text, "again");
		x_free(&x);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* A request of 8 MiB (a history with pictures): more than socket buffers. */
static char *
big_message(void)
{
	size_t n = 8u * 1024 * 1024;
	char *c = malloc(n + 1);

	assert_non_null(c);
	memset(c, 'a', n);
	c[n] = '\0';
	return c;
}

/* A streamed reply of "text" framed by its Content-Length, into buf. */
static size_t
sse_reply(char *buf, size_t bufsz, const char *body)
{
	return (size_t)snprintf(buf, bufsz, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/event-stream\r\nContent-Length: %zu\r\n"
	    "\r\n%s", strlen(body), body);
}

/*
 * A server that answers (401, keep-alive) once it has read a long
 * request's head, before its body: the client stops sending, so the
 * connection must not be kept (the server would read the next request as
 * the rest of that body). The next request gets a new connection.
 */
static void
test_early_answer_not_kept(void **state)
{
	const char *e401 = "HTTP/1.1 401 Unauthorized\r\n"
	    "Content-Length: 2\r\n\r\n{}";
	static struct xfer x;
	char reply[512], url[64], *big;
	int lfd, fd, port, st;
	size_t len, bg;
	long cl;
	pid_t pid;

	len = sse_reply(reply, sizeof(reply), CHUNK("second") "data: [DONE]\n\n");
	lfd = canned_listen(&port);
	if ((pid = fork()) == 0) {
		alarm(30);
		if ((fd = accept(lfd, NULL, NULL)) < 0 ||
		    (cl = canned_head(fd, &bg)) < 0 ||
		    canned_write(fd, e401, strlen(e401)) < 0)
			_exit(1);
		usleep(200000);	/* it reads the rest of the body later */
		if (canned_discard(fd, (size_t)cl - bg) == 0) {
			/* Kept by the client: the next request comes here. */
			if (canned_request(fd) < 0 ||
			    canned_write(fd, reply, len) < 0)
				_exit(2);
			_exit(0);
		}
		close(fd);
		if ((fd = accept(lfd, NULL, NULL)) < 0 ||
		    canned_request(fd) < 0 || canned_write(fd, reply, len) < 0)
			_exit(3);
		_exit(0);
	}
	close(lfd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", port);
	/*
	 * The idle bound well above what a loaded machine takes to answer
	 * (2 s timed the 401 out once, beside a full make test and builds).
	 */
	reinit(url, "10000", NULL);
	big = big_message();
	x_init(&x);
	run(&x, big, 15000);
	free(big);
	assert_int_equal(x.res.status, UPSTREAM_HTTP_ERROR);
	assert_int_equal(x.res.http_status, 401);
	x_free(&x);
	x_init(&x);
	run(&x, "two", 15000);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, "second");
	x_free(&x);
}

/*
 * A kept connection the server resets while a long request is being
 * written (the send fails on a socket event): the request goes again on
 * a new connection, read only once that one is ready.
 */
static void
test_kept_connection_reset_mid_send(void **state)
{
	static struct xfer x;
	char reply[512], url[64], *big, tmp[4096];
	int lfd, fd, port, st, i;
	size_t len, bg;
	long cl;
	pid_t pid;

	len = sse_reply(reply, sizeof(reply), CHUNK("again") "data: [DONE]\n\n");
	lfd = canned_listen(&port);
	if ((pid = fork()) == 0) {
		alarm(10);
		if ((fd = accept(lfd, NULL, NULL)) < 0 ||
		    canned_request(fd) < 0 || canned_write(fd, reply, len) < 0 ||
		    read(fd, tmp, sizeof(tmp)) <= 0)
			_exit(1);
		usleep(300000);
		close(fd);	/* unread bytes: a reset */
		if ((fd = accept(lfd, NULL, NULL)) < 0 ||
		    (cl = canned_head(fd, &bg)) < 0 ||
		    canned_discard(fd, (size_t)cl - bg) < 0 ||
		    canned_write(fd, reply, len) < 0)
			_exit(2);
		_exit(0);
	}
	close(lfd);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/v1", port);
	reinit(url, NULL, NULL);
	big = big_message();
	for (i = 0; i < 2; i++) {
		x_init(&x);
		run(&x, i == 0 ? "one" : big, 8000);
		assert_int_equal(x.res.status, UPSTREAM_OK);
		assert_string_equal(x.text, "again");
		x_free(&x);
	}
	free(big);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* ------------------------------------------------- through a proxy */

/* Copies what each side sends to the other until one closes. */
static void
relay(int a, int b)
{
	struct pollfd p[2] = { { a, POLLIN, 0 }, { b, POLLIN, 0 } };
	char buf[4096];
	ssize_t n;
	int i;

	for (;;) {
		if (poll(p, 2, -1) < 0)
			return;
		for (i = 0; i < 2; i++) {
			if (p[i].revents == 0)
				continue;
			if ((n = read(p[i].fd, buf, sizeof(buf))) <= 0 ||
			    canned_write(p[1 - i].fd, buf, (size_t)n) < 0)
				return;
		}
	}
}

/*
 * An HTTP proxy that only tunnels (CONNECT host:port, to 127.0.0.1): a
 * child that forks one more for each connection. Its port; *pid.
 */
static int
tunnel_proxy(pid_t *pid)
{
	char buf[1024];
	size_t got;
	ssize_t n;
	int lfd, fd, up, port;
	struct sockaddr_in sin;
	char *colon;

	lfd = canned_listen(&port);
	if ((*pid = fork()) != 0) {
		close(lfd);
		return port;
	}
	alarm(60);
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) < 0)
			_exit(1);
		if (fork() != 0) {
			close(fd);
			continue;
		}
		alarm(60);
		buf[0] = '\0';
		for (got = 0; strstr(buf, "\r\n\r\n") == NULL; got += (size_t)n) {
			if (got == sizeof(buf) - 1 ||
			    (n = read(fd, buf + got, sizeof(buf) - 1 - got)) <= 0)
				_exit(1);
			buf[got + (size_t)n] = '\0';
		}
		if (strncmp(buf, "CONNECT ", 8) != 0 ||
		    (colon = strchr(buf + 8, ':')) == NULL)
			_exit(1);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = htons((uint16_t)atoi(colon + 1));
		if ((up = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
		    connect(up, (struct sockaddr *)&sin, sizeof(sin)) < 0)
			_exit(1);
		if (canned_write(fd, "HTTP/1.1 200 Connection established"
		    "\r\n\r\n", 39) < 0)
			_exit(1);
		relay(fd, up);
		_exit(0);
	}
}

/*
 * Through a proxy the connection keeps curl's handles (curl_easy_send,
 * curl_easy_recv: the TLS path's too), not a socket of its own: a reply,
 * a stream paused after every delta, a cancel mid-stream, the same as on
 * a plain connection. The proxy only tunnels: a request not made through
 * it would fail.
 */
static void
test_through_proxy(void **state)
{
	char *want = repeated("abcdefghij", 300), url[64];
	static struct xfer x;
	int ports[8], st;
	pid_t pid;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d", tunnel_proxy(&pid));
	setenv("http_proxy", url, 1);
	reinit(base_url, NULL, NULL);

	x_init(&x);
	run(&x, "through [[mock:chunks=4]]", 5000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, "You said: through");
	x_free(&x);
	/* Its kept connection is the proxy's: none of ours to the mock. */
	assert_int_equal(conns_to_mock(ports, 8), 0);

	x_init(&x);
	x.block_every = 1;
	x.block_ms = 0;
	run(&x, "[[mock:reply=abcdefghij,repeat=300,chunks=300]]", 30000);
	assert_int_equal(x.res.status, UPSTREAM_OK);
	assert_string_equal(x.text, want);
	assert_true(x.npaused > 10);
	x_free(&x);

	stats_reset();
	x_init(&x);
	x_start(&x, "slow [[mock:chunks=50,delay=50]]");
	while (x.ndeltas < 2)
		loop_once(10);
	upstream_cancel(x.u);
	x.u = NULL;
	assert_true(aborted_within(1));
	x_free(&x);

	unsetenv("http_proxy");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reply_and_usage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_shape, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stall_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paused_does_not_time_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pause_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slow_reader_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_inside_callback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_connection_closed_by_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kept_connection_dropped_at_request,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse_per_base_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_agent_key_masked, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_key_masked, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_key_masked_before_cut, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sharded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_request_freed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_small_buffer_long_reply, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_canned_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_through_proxy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_early_answer_not_kept, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_kept_connection_reset_mid_send,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
