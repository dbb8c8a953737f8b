/*
 * The product settings both masterd and workerd read (docs/internals.md,
 * "Settings"): the API keys, the dashboard password, CORS_ORIGIN, production mode, history and
 * rate-limit sizes, TRUST_PROXY.
 *
 * masterd checks them before it starts any worker, so a bad value stops
 * the service at start with one clear message instead of a worker that
 * crash-loops; workerd loads the same settings. settings_parse() is pure
 * (it reads variables through a callback) so unit tests can drive it.
 *
 * Keys are never kept in clear text here and never logged: struct apikey
 * holds a SHA-256 digest, compared in constant time.
 */
#ifndef PARLEY_SETTINGS_H
#define PARLEY_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#define SETTINGS_KEY_MIN	24	/* characters (code points) of an API key */
#define SETTINGS_PASSWORD_MIN	12	/* characters of DASHBOARD_PASSWORD */
#define SETTINGS_ERR_MAX	512
#define SETTINGS_ORIGIN_MAX	255	/* bytes of one CORS_ORIGIN entry */

#define DEFAULT_MAX_HISTORY	30
#define MAX_MAX_HISTORY		200	/* ST_HISTORY_MAX */
#define DEFAULT_RATE_WINDOW_MS	60000
#define MAX_RATE_WINDOW_MS	86400000u	/* a day */
#define DEFAULT_RATE_MAX	30
#define MAX_RATE_MAX		1000000000u
#define DEFAULT_SESSION_IDLE_DAYS	30
#define MAX_SESSION_IDLE_DAYS	3650

/* An IPv4 or IPv6 address; v4-mapped IPv6 is stored as IPv4. */
struct ipaddr {
	int family;		/* 4, 6; 0 = not an IP peer (a Unix socket) */
	uint8_t a[16];		/* IPv4 uses the first 4 bytes */
};

/* An address block: a CIDR, or one address (prefix 32 / 128). */
struct ipnet {
	struct ipaddr addr;	/* bits past the prefix are zero */
	unsigned int prefix;
};

/* A configured API key, as its digest. */
struct apikey {
	int set;
	unsigned char digest[32];
};

struct settings {
	int production;		/* PARLEY_ENV, else NODE_ENV, is "production" */
	int cors_any;		/* CORS_ORIGIN holds "*" */
	char **cors;		/* the other entries, lower-cased */
	size_t ncors;
	uint32_t max_history;	/* MAX_HISTORY_MESSAGES */
	uint32_t rate_window_ms;	/* RATE_LIMIT_WINDOW_MS */
	uint32_t rate_max;	/* RATE_LIMIT_MAX_REQUESTS; 0 = no limit */
	uint32_t session_idle_days;	/* WIDGET_SESSION_IDLE_DAYS */
	struct ipnet *trust;	/* TRUST_PROXY */
	size_t ntrust;
	char *tls_cert;		/* TLS_CERT, TLS_KEY: PEM paths; NULL = no TLS */
	char *tls_key;
};

/* Reads a variable: NULL or "" means unset. */
typedef const char *(*settings_get_fn)(const char *name, void *arg);

/*
 * Reads and checks every setting. 0, or -1 with a message naming the
 * variable in err (the struct is then empty). Keys are only checked.
 */
int settings_parse(struct settings *, settings_get_fn, void *arg, char *err,
    size_t errsz);
/* From the environment; a bad value is fatal (fatalx with the message). */
void settings_load(struct settings *);
void settings_free(struct settings *);
/* Transitional: tls_ctx_new() is in tlsctx.h; until masterd/main.c includes it. */
#include "tlsctx.h"
/* PARLEY_ENV, else NODE_ENV, equals "production". */
int settings_production(settings_get_fn, void *arg);

/* One address: "1.2.3.4", "::1", "::ffff:1.2.3.4", "[::1]". 0 or -1. */
int ipaddr_parse(const char *s, size_t len, struct ipaddr *);
/* Text form (IPv4 dotted, IPv6 RFC 5952, "local" when family is 0). */
void ipaddr_format(const struct ipaddr *, char *out, size_t outsz);
/* "10.0.0.0/8", "fd00::/8", one address, or "1.2.3.4/32". 0 or -1. */
int ipnet_parse(const char *s, size_t len, struct ipnet *);
int ipnet_contains(const struct ipnet *, const struct ipaddr *);
/* Whether any of the n blocks holds a. */
int ipnet_any(const struct ipnet *, size_t n, const struct ipaddr *);

/* key NULL or "": not configured. */
void apikey_init(struct apikey *, const char *key);
void apikey_clear(struct apikey *);
/*
 * 0 when given matches, 401 when not (also NULL), 503 when no key is
 * configured. Constant time in the content and length of both.
 */
int apikey_check(const struct apikey *, const char *given);
/* Characters (code points) in a UTF-8 string. */
size_t utf8_chars(const char *s, size_t len);

#endif
