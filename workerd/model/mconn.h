/*
 * Connections to model servers, for the model client (upstream.c): each
 * one made by libcurl (name lookup, a proxy's tunnel, the address guard;
 * through a proxy, TLS too) with CURLOPT_CONNECT_ONLY on a multi handle
 * of its own, then written and read by its owner (the request and its
 * streamed answer are the owner's HTTP), and kept idle per origin for
 * the next request. Without a proxy, once made, a connection is its
 * socket alone, with the worker's own TLS for https:// (mtls.h). Why:
 * libcurl's HTTP layer cost a streamed turn more CPU than the rest of the
 * worker's model client, and two poll() calls (docs/benchmarks.md); and
 * libcurl's handles kept for a connection's life are some 40 KiB an open
 * stream. Why a multi handle each while connecting: libcurl 7.88 counts
 * a connect-only connection as idle in its multi handle's cache and
 * prunes it there (unread input counts as dead), so a connection shares
 * its handle with nothing. The code is in mconn.c.
 */
#ifndef PARLEY_MCONN_H
#define PARLEY_MCONN_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "urlpolicy.h"

struct mconn;

enum mconn_event {
	MCONN_READY,	/* connected (rc CURLE_OK), or not (rc says why) */
	MCONN_IO,	/* the socket is readable or writable, or closed */
};

/*
 * The owner's callback, always from the loop, never from inside an
 * mconn_* call: it may call any of them, mconn_put included.
 */
typedef void (*mconn_cb)(void *arg, enum mconn_event, CURLcode rc);

struct mconn_opts {
	const char *url;	/* the request's; its origin is connected */
	const char *origin;	/* mconn_origin(url), kept by the owner */
	long connect_ms;	/* the connect timeout */
	/*
	 * NULL: any address, and the connection is kept for reuse. Else
	 * each address is checked as its socket opens (urlpol_socket), no
	 * proxy, and the connection never goes back to the idle ones.
	 */
	struct urlpol_guard *guard;
	/*
	 * Called with a new SSL_CTX: curl's for each connection through a
	 * proxy (when its TLS is OpenSSL), the worker's own once (mtls.h).
	 */
	curl_ssl_ctx_callback ssl_ctx;
};

/*
 * url's origin, the key idle connections are matched by: its scheme and
 * authority, lowercased (malloc'd), or NULL when url has no "://" or out
 * of memory. Made once per URL by the owner, not per request.
 */
char *mconn_origin(const char *url);
/*
 * A URL's parts as libcurl reads it (curl_url_get: a host in punycode
 * where curl has it, an IPv6 address in its brackets; the credentials
 * URL-decoded), for the model client's connection and request: each
 * NULL when the URL has none (the host and path never). 0, or -1 (not a
 * URL libcurl reads, or out of memory: all freed). mconn_url_free frees
 * them, the credentials wiped first.
 */
struct mconn_url {
	char *host, *port, *path, *query, *user, *password;
};
int mconn_url_parse(const char *url, struct mconn_url *);
void mconn_url_free(struct mconn_url *);
/*
 * A connection to opts->url's origin (scheme, host, port): an idle one
 * kept from an earlier request (*reused 1), or a new one connecting. Its
 * MCONN_READY comes from a deferred call or when connected. NULL: the URL
 * has no origin libcurl reads, or out of memory.
 */
struct mconn *mconn_take(const struct mconn_opts *, mconn_cb, void *arg,
    int *reused);
/* Which socket events the owner waits for (MCONN_IO): none, in, out. */
void mconn_want(struct mconn *, int in, int out);
/* As curl_easy_send and curl_easy_recv: CURLE_AGAIN means wait. */
CURLcode mconn_send(struct mconn *, const char *, size_t, size_t *sent);
CURLcode mconn_recv(struct mconn *, char *, size_t, size_t *got);
/*
 * Done with it: kept idle for the next request to its origin when keep
 * (the answer was read to its end, the server keeps it open) and there
 * is room, else closed. No callback comes after this.
 */
void mconn_put(struct mconn *, int keep);
/* Idle connections kept now (tests, metrics). */
int mconn_idle(void);
/* Every connection closed (the owners' first): at shutdown. */
void mconn_shutdown(void);

#endif
