/* Random bytes from the kernel, a block per thread (random.h). */
#include <sys/random.h>

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "log.h"
#include "random.h"

#define RANDOM_BLOCK	512

static __thread unsigned char pool[RANDOM_BLOCK];
static __thread size_t left;		/* unread bytes at the end of pool */
static __thread unsigned long pool_gen;	/* the fork generation pool is of */
static unsigned long fork_gen;		/* bumped in every forked child */
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* A child must not hand out the bytes its parent will: it reads anew. */
static void
random_forked(void)
{
	fork_gen++;
}

static void
random_init(void)
{
	if (pthread_atfork(NULL, NULL, random_forked) != 0)
		fatalx("random: pthread_atfork");
}

/* Fills buf[0..len) straight from the kernel. */
static void
random_read(unsigned char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = getrandom(buf, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fatal("random: getrandom");
		}
		buf += n;
		len -= (size_t)n;
	}
}

void
proto_random(void *buf, size_t len)
{
	unsigned char *out = buf;
	size_t k;

	(void)pthread_once(&once, random_init);
	if (pool_gen != fork_gen) {
		left = 0;
		pool_gen = fork_gen;
	}
	while (len > 0) {
		if (left == 0) {
			random_read(pool, sizeof(pool));
			left = sizeof(pool);
		}
		k = len < left ? len : left;
		memcpy(out, pool + sizeof(pool) - left, k);
		/* Bytes handed out are not kept. */
		memset(pool + sizeof(pool) - left, 0, k);
		left -= k;
		out += k;
		len -= k;
	}
}
