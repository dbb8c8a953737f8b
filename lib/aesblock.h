/*
 * One AES-128 block: the ids that stand for a counter every organisation
 * shares (an event's, workerd/admin/events.c; a delivery's and a
 * knowledge chunk's, storaged/seqid.c), so that an organisation cannot
 * count the others' by its own ids. One block of a number that never
 * repeats under one key is a random-looking permutation of it.
 *
 * The code is in primitives.c, the cipher fetched once per process.
 */
#ifndef PARLEY_AESBLOCK_H
#define PARLEY_AESBLOCK_H

#include <stdint.h>

#define PROTO_AES_KEY_LEN	16
#define PROTO_AES_BLOCK_LEN	16

/*
 * out = the block at in under key, encrypted (enc 1) or decrypted (enc
 * 0); in and out may be the same. 0, or -1 (OpenSSL failed: out of
 * memory). Thread-safe.
 */
int proto_aes_block(const uint8_t key[PROTO_AES_KEY_LEN],
    const uint8_t in[PROTO_AES_BLOCK_LEN], uint8_t out[PROTO_AES_BLOCK_LEN],
    int enc);

#endif
