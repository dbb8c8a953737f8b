/*
 * SHA-256 of a buffer, for the hashes a request makes (the API key's
 * check, a chat session's, a token's).
 *
 * Why not OpenSSL's SHA256(): in OpenSSL 3 it looks the algorithm up in
 * the provider tables on every call, two thirds of its cost for a short
 * input (about 1 µs against 0.4 here); a chat turn makes two. The code
 * is in primitives.c.
 */
#ifndef PARLEY_SHA256_H
#define PARLEY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_SHA256_LEN	32

/* out = SHA-256 of in[0..len). Thread-safe. */
void proto_sha256(const void *in, size_t len, uint8_t out[PROTO_SHA256_LEN]);
/*
 * out = SHA-256 of a[0..alen) then b[0..blen), one pass, no copy.
 * 0, or -1 (out of memory, no provider: out unset). Thread-safe.
 */
int proto_sha256_two(const void *a, size_t alen, const void *b, size_t blen,
    uint8_t out[PROTO_SHA256_LEN]);

#endif
