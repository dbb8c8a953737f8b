/*
 * A known device's cookie: what a browser that signed in to an account
 * shows when it signs in again (dashmsg.h: ST_DASH_LOGIN's device,
 * ST_DASH_ATTEMPT's). "<expires_at, 16 hex>.<mac, 64 hex>", the mac
 * HMAC-SHA256 under the install's device key (meta "dash_device_key",
 * which never leaves storaged but in a backup) of the account's email
 * and expires_at. It proves only that this browser signed in to that
 * email before: the password is checked all the same.
 */
#ifndef PARLEY_DEVCOOKIE_H
#define PARLEY_DEVCOOKIE_H

#include <stdint.h>

#include "dashmsg.h"

#define DEVCOOKIE_KEY_LEN	32

/* The cookie of email (normalised), valid until expires_at, into out. */
void devcookie_make(const uint8_t key[DEVCOOKIE_KEY_LEN], const char *email,
    uint64_t expires_at, char out[ST_DASH_DEVICE_LEN + 1]);
/*
 * 1 when cookie (untrusted bytes, NUL-ended) is email's (normalised),
 * made under key, and now is before its expiry; else 0. Compared in
 * constant time.
 */
int devcookie_valid(const uint8_t key[DEVCOOKIE_KEY_LEN], const char *email,
    const char *cookie, uint64_t now);

#endif
