/*
 * scrypt off the event loop: a few threads (HASHPOOL_THREADS) that hash
 * passwords for the dashboard's login (dashauth.c), so that a login flood
 * costs the worker's loop nothing but a pipe read per attempt.
 *
 * Only the job crosses threads. The loop fills it and puts it on the
 * queue (under the mutex); a thread takes it off, hashes, and writes the
 * job's address into a pipe; the loop reads the pipe and calls the job's
 * callback. Fields are split by owner (see struct hashjob): the thread
 * touches the input and the result, the loop the callback and the orphan
 * mark; the mutex orders the handover in, the pipe the handover back.
 *
 * Bounded: at most HASHPOOL_MAX jobs between submit and delivery (queued,
 * running, or done and waiting in the pipe). A full pool refuses at once
 * (the caller answers 503); nothing ever waits for room.
 *
 * A job whose owner goes away is cancelled: dropped when still queued,
 * orphaned when running (freed, without its callback, when it ends).
 * The threads start with the first job; hashpool_shutdown() joins them.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "admin.h"
#include "log.h"
#include "settings.h"
#include "workerd.h"

#define HASHPOOL_SALT_MAX	64

struct hashjob {
	/* The pool's mutex guards these two. */
	TAILQ_ENTRY(hashjob) entry;
	int queued;			/* on the queue, no thread has it */
	/* Set before the queue, read by the thread. */
	char *pw;
	size_t pwlen;
	uint8_t salt[HASHPOOL_SALT_MAX];
	size_t saltlen;
	/* Set by the thread, read by the loop once the pipe gave it back. */
	uint8_t key[DASH_KEY_LEN];
	int ok;
	/* The loop's alone. */
	hashpool_cb cb;
	void *arg;
	int orphan;			/* cancelled while running */
};

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	TAILQ_HEAD(, hashjob) queue;
	int stop;			/* under mu: threads leave */
	/* The loop's alone. */
	int started;
	pthread_t th[HASHPOOL_THREADS];
	int nth;
	int pfd[2];			/* done jobs: threads write, the loop reads */
	struct loop_io io;
	size_t pending;			/* submitted, not yet delivered or freed */
} hp = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.queue = TAILQ_HEAD_INITIALIZER(hp.queue),
	.pfd = { -1, -1 },
};

static void
job_free(struct hashjob *j)
{
	if (j->pw != NULL) {
		OPENSSL_cleanse(j->pw, j->pwlen);
		free(j->pw);
	}
	OPENSSL_cleanse(j, sizeof(*j));
	free(j);
}

#ifdef PARLEY_TEST_HOOKS
/*
 * The test build's alone (Makefile): each hash PARLEY_TEST_HASH_LATE_MS
 * late when set, as a busy pool's would be: the tests of what a request
 * held by its hash meets meanwhile.
 */
static void
late_hook(void)
{
	unsigned long ms = settings_test_hook("PARLEY_TEST_HASH_LATE_MS");
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) *
	    1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}
#else
#define late_hook()	((void)0)
#endif

/* A pool thread: hash what the queue holds until told to stop. */
static void *
hp_thread(void *arg)
{
	struct hashjob *j;
	ssize_t n;

	(void)arg;
	pthread_mutex_lock(&hp.mu);
	for (;;) {
		while (!hp.stop && TAILQ_EMPTY(&hp.queue))
			pthread_cond_wait(&hp.cv, &hp.mu);
		if (hp.stop)
			break;
		j = TAILQ_FIRST(&hp.queue);
		TAILQ_REMOVE(&hp.queue, j, entry);
		j->queued = 0;
		pthread_mutex_unlock(&hp.mu);

		late_hook();
		j->ok = dashauth_scrypt(j->pw, j->pwlen, j->salt, j->saltlen,
		    j->key) == 0;
		/* A pointer is far below PIPE_BUF: written whole or not at all. */
		do
			n = write(hp.pfd[1], &j, sizeof(j));
		while (n < 0 && errno == EINTR);
		if (n != (ssize_t)sizeof(j))
			fatal("hash pool: pipe write");

		pthread_mutex_lock(&hp.mu);
	}
	pthread_mutex_unlock(&hp.mu);
	return NULL;
}

/* Hands a finished job to its owner (unless orphaned), then frees it. */
static void
hp_deliver(struct hashjob *j)
{
	hp.pending--;
	if (!j->orphan)
		j->cb(j->arg, j->ok, j->ok ? j->key : NULL);
	job_free(j);
}

static void
hp_io(int fd, uint32_t events, void *arg)
{
	struct hashjob *j;

	(void)events;
	(void)arg;
	while (read(fd, &j, sizeof(j)) == (ssize_t)sizeof(j))
		hp_deliver(j);
}

/* The pipe and the threads, the first time a job comes. 0 or -1. */
static int
hp_start(void)
{
	if (hp.started)
		return 0;
	if (loop_pipe_open(hp.pfd, &hp.io, hp_io, "hash pool") < 0)
		return -1;
	hp.started = 1;
	hp.nth = loop_threads_start(hp.th, HASHPOOL_THREADS, hp_thread,
	    NULL, "hash pool");
	if (hp.nth == 0) {
		hashpool_shutdown();
		return -1;
	}
	return 0;
}

struct hashjob *
hashpool_submit(const char *pw, size_t pwlen, const void *salt,
    size_t saltlen, hashpool_cb cb, void *arg)
{
	struct hashjob *j;

	if (hp.pending >= HASHPOOL_MAX || saltlen > HASHPOOL_SALT_MAX ||
	    hp_start() < 0)
		return NULL;
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->pw = malloc(pwlen + 1)) == NULL) {
		free(j);
		log_warn("hash pool");
		return NULL;
	}
	if (pwlen > 0)
		memcpy(j->pw, pw, pwlen);
	j->pw[pwlen] = '\0';
	j->pwlen = pwlen;
	memcpy(j->salt, salt, saltlen);
	j->saltlen = saltlen;
	j->cb = cb;
	j->arg = arg;
	hp.pending++;
	pthread_mutex_lock(&hp.mu);
	j->queued = 1;
	TAILQ_INSERT_TAIL(&hp.queue, j, entry);
	pthread_cond_signal(&hp.cv);
	pthread_mutex_unlock(&hp.mu);
	return j;
}

int
hashpool_cancel(struct hashjob *j)
{
	int queued;

	pthread_mutex_lock(&hp.mu);
	if ((queued = j->queued))
		TAILQ_REMOVE(&hp.queue, j, entry);
	pthread_mutex_unlock(&hp.mu);
	if (queued) {
		hp.pending--;
		job_free(j);
	} else
		j->orphan = 1;
	return queued;
}

size_t
hashpool_pending(void)
{
	return hp.pending;
}

void
hashpool_shutdown(void)
{
	struct hashjob *j;
	int i;

	if (!hp.started)
		return;
	pthread_mutex_lock(&hp.mu);
	hp.stop = 1;
	pthread_cond_broadcast(&hp.cv);
	pthread_mutex_unlock(&hp.mu);
	for (i = 0; i < hp.nth; i++)
		pthread_join(hp.th[i], NULL);
	hp.nth = 0;
	/* Every owner hears once: what was hashed as it is, the rest failed. */
	hp_io(hp.pfd[0], 0, NULL);
	while ((j = TAILQ_FIRST(&hp.queue)) != NULL) {
		TAILQ_REMOVE(&hp.queue, j, entry);
		j->queued = 0;
		j->ok = 0;
		hp_deliver(j);
	}
	loop_pipe_close(hp.pfd, &hp.io);
	hp.stop = 0;
	hp.started = 0;
}
