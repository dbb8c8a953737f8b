/*
 * Random bytes for ids, salts, session tokens and hash seeds: the
 * kernel's generator (getrandom), read a block at a time.
 *
 * Why not arc4random_buf: libbsd's asks getpid() on every call to notice
 * a fork, and a system call costs microseconds on a virtual machine; a
 * chat turn makes three ids. Here a fork is noticed by pthread_atfork
 * instead, and the block is per thread.
 */
#ifndef PARLEY_RANDOM_H
#define PARLEY_RANDOM_H

#include <stddef.h>

/*
 * Fills buf with len unpredictable bytes. Never fails: with no kernel
 * randomness there is nothing safe to do, and it exits (fatal).
 */
void proto_random(void *buf, size_t len);

#endif
