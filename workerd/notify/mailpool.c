/*
 * The mail threads (issue 23, item 4): the notifier's SMTP off its loop.
 * libcurl 7.88 waits for the server's answer to the end of DATA
 * (smtp_done calls smtp_block_statemach) and to QUIT (smtp_disconnect)
 * in a blocking loop, even under the multi interface: on the loop, a
 * server slow to answer froze the webhooks, storaged's replies and the
 * signals for up to NOTIFY_TIMEOUT_MS per mail. So each mail is one
 * curl_easy_perform on one of MAILPOOL_THREADS threads.
 *
 * Only the job crosses threads, as in admin/hashpool.c: the loop sets up
 * the job's easy handle and queues the job (under the mutex); a thread
 * takes it, performs it, cleans the handle up (its connection closes
 * there: CURLOPT_FORBID_REUSE) and writes the job's address into a pipe;
 * the loop reads the pipe and calls the job's done. A thread touches
 * nothing else: no log, no loop, no storaged, no address policy (the
 * SMTP server is the operator's SMTP_URL, never a tenant's).
 *
 * A gate (mailpool_gate): a job's thread, in one of its curl callbacks,
 * writes the job into the pipe marked as a gate and waits (gcv, under
 * the mutex); the loop calls the job's gate, which asks what it must
 * (the mailer: storaged, whether the mail is still to be sent) and
 * answers with mailpool_gate_answer. The wait is bounded as the
 * transfer is (NOTIFY_TIMEOUT_MS from its start) and ends at
 * mailpool_shutdown: a job never answered does not go on.
 *
 * The end (mailpool_ended): once a job's thread has sent all it sends
 * (the mailer: its message ended), its transfer may last the job's
 * end_ms more (PARLEY_SMTP_DATA_END_MS, 10 minutes: the server delivers
 * as it answers the end of DATA, and one slower than NOTIFY_TIMEOUT_MS
 * got the whole message again at every retry).
 *
 * Bounds: at most MAILPOOL_THREADS jobs between submit and done (the
 * mailer never has more than NOTIFY_MAIL_INFLIGHT at once; a submit past
 * it is refused). Each transfer keeps curl's NOTIFY_CONNECT_MS, and a
 * progress callback ends it past NOTIFY_TIMEOUT_MS, or end_ms after
 * mailpool_ended (curl's own timeout leaves the QUIT out, which waits
 * up to 2 minutes), or once mailpool_shutdown has begun: curl calls
 * it at least once a second, also while it waits for a server, so the
 * threads are joined within about a second.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "workerd.h"

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;	/* the queue's */
	pthread_cond_t gcv;	/* the gates' answers (CLOCK_MONOTONIC) */
	int gcv_init;		/* the loop's */
	TAILQ_HEAD(, mailpool_job) queue;	/* under mu */
	atomic_int stop;	/* set under mu: transfers end, threads leave */
	/* The loop's alone. */
	int started;
	pthread_t th[MAILPOOL_THREADS];
	int nth;
	int pfd[2];		/* ended jobs: threads write, the loop reads */
	struct loop_io io;
	size_t pending;		/* submitted, done not yet called */
} mp = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cv = PTHREAD_COND_INITIALIZER,
	.queue = TAILQ_HEAD_INITIALIZER(mp.queue),
	.pfd = { -1, -1 },
};

/* What a thread writes into the pipe: a job ended, or at its gate. */
struct mp_note {
	struct mailpool_job *j;
	int gate;
};

/* n into the pipe, from a thread. */
static void
mp_write(const struct mp_note *n)
{
	ssize_t w;

	/* Far below PIPE_BUF: written whole or not at all. */
	do
		w = write(mp.pfd[1], n, sizeof(*n));
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)sizeof(*n))
		fatal("mail threads: pipe write");
}

/* curl's progress callback, on the thread: nonzero ends the transfer. */
static int
mp_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	const struct mailpool_job *j = arg;

	return atomic_load(&mp.stop) || proto_mono_ms() > j->until;
}

long
mailpool_timeout_ms(void)
{
	return (long)SETTINGS_TEST_LOWER("PARLEY_TEST_NOTIFY_TIMEOUT_MS",
	    NOTIFY_TIMEOUT_MS);
}

/* One job, on its thread: performed, its handle cleaned up, handed back. */
static void
mp_perform(struct mailpool_job *j)
{
	j->started = proto_mono_ms();
	j->until = j->started + mailpool_timeout_ms();
	j->rc = curl_easy_perform(j->easy);
	curl_easy_cleanup(j->easy);
	j->easy = NULL;
	mp_write(&(struct mp_note){ j, 0 });
}

enum { GATE_NONE, GATE_ASKED, GATE_GO, GATE_STOP };

int
mailpool_gate(struct mailpool_job *j)
{
	long long until = j->until, now;
	struct timespec ts;
	int go;

	pthread_mutex_lock(&mp.mu);
	j->gate_state = GATE_ASKED;
	pthread_mutex_unlock(&mp.mu);
	mp_write(&(struct mp_note){ j, 1 });
	pthread_mutex_lock(&mp.mu);
	while (j->gate_state == GATE_ASKED && !atomic_load(&mp.stop) &&
	    (now = proto_mono_ms()) < until) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (until - now) / 1000;
		ts.tv_nsec += (long)((until - now) % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&mp.gcv, &mp.mu, &ts);
	}
	go = j->gate_state == GATE_GO && !atomic_load(&mp.stop);
	j->gate_state = GATE_NONE;	/* a late answer finds nobody */
	pthread_mutex_unlock(&mp.mu);
	return go;
}

void
mailpool_ended(struct mailpool_job *j)
{
	j->until = proto_mono_ms() + j->end_ms;
}

void
mailpool_gate_answer(struct mailpool_job *j, int go)
{
	pthread_mutex_lock(&mp.mu);
	if (j->gate_state == GATE_ASKED) {
		j->gate_state = go ? GATE_GO : GATE_STOP;
		pthread_cond_broadcast(&mp.gcv);
	}
	pthread_mutex_unlock(&mp.mu);
}

/* A mail thread: performs what the queue holds until told to stop. */
static void *
mp_thread(void *arg)
{
	struct mailpool_job *j;

	pthread_mutex_lock(&mp.mu);
	for (;;) {
		while (!atomic_load(&mp.stop) && TAILQ_EMPTY(&mp.queue))
			pthread_cond_wait(&mp.cv, &mp.mu);
		if (atomic_load(&mp.stop))
			break;
		j = TAILQ_FIRST(&mp.queue);
		TAILQ_REMOVE(&mp.queue, j, entry);
		pthread_mutex_unlock(&mp.mu);
		mp_perform(j);
		pthread_mutex_lock(&mp.mu);
	}
	pthread_mutex_unlock(&mp.mu);
	return NULL;
}

/*
 * What the pipe holds, each told to its owner: a job ended (done), a job
 * at its gate (gate; one without is let on).
 */
static void
mp_io(int fd, uint32_t events, void *arg)
{
	struct mp_note n;

	while (read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n)) {
		if (n.gate) {
			if (n.j->gate != NULL)
				n.j->gate(n.j);
			else
				mailpool_gate_answer(n.j, 1);
			continue;
		}
		mp.pending--;
		n.j->done(n.j);
	}
}

int
mailpool_start(void)
{
	pthread_condattr_t ca;

	if (mp.started)
		return 0;
	if (!mp.gcv_init) {
		if (pthread_condattr_init(&ca) != 0 ||
		    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
		    pthread_cond_init(&mp.gcv, &ca) != 0) {
			log_warnx("mail threads: condition variable");
			return -1;
		}
		pthread_condattr_destroy(&ca);
		mp.gcv_init = 1;
	}
	if (loop_pipe_open(mp.pfd, &mp.io, mp_io, "mail threads") < 0)
		return -1;
	mp.started = 1;
	mp.nth = loop_threads_start(mp.th, MAILPOOL_THREADS, mp_thread,
	    NULL, "mail threads");
	if (mp.nth == 0) {
		mailpool_shutdown();
		return -1;
	}
	return 0;
}

int
mailpool_submit(struct mailpool_job *j)
{
	int bad = 0;

	if (!mp.started || mp.pending >= MAILPOOL_THREADS)
		return -1;
	bad |= curl_easy_setopt(j->easy, CURLOPT_NOPROGRESS, 0L) != CURLE_OK;
	bad |= curl_easy_setopt(j->easy, CURLOPT_XFERINFOFUNCTION,
	    mp_progress) != CURLE_OK;
	bad |= curl_easy_setopt(j->easy, CURLOPT_XFERINFODATA, j) !=
	    CURLE_OK;
	if (bad)
		return -1;
	mp.pending++;
	pthread_mutex_lock(&mp.mu);
	TAILQ_INSERT_TAIL(&mp.queue, j, entry);
	pthread_cond_signal(&mp.cv);
	pthread_mutex_unlock(&mp.mu);
	return 0;
}

void
mailpool_shutdown(void)
{
	int i;

	if (!mp.started)
		return;
	pthread_mutex_lock(&mp.mu);
	atomic_store(&mp.stop, 1);
	pthread_cond_broadcast(&mp.cv);
	pthread_cond_broadcast(&mp.gcv);
	pthread_mutex_unlock(&mp.mu);
	for (i = 0; i < mp.nth; i++)
		pthread_join(mp.th[i], NULL);
	mp.nth = 0;
	/* What ended, what was queued: the owners' now, no done called. */
	TAILQ_INIT(&mp.queue);
	mp.pending = 0;
	loop_pipe_close(mp.pfd, &mp.io);
	atomic_store(&mp.stop, 0);
	mp.started = 0;
}
