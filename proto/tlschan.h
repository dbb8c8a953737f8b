/*
 * The cluster's TLS (proto/tlschan.c): the contexts storaged and its
 * clients speak TLS 1.3 with, verifying each other against the cluster's
 * CA (PARLEY_CLUSTER_CA, _CERT, _KEY), and a channel's TLS I/O, which
 * channel.c calls on a TLS channel (pchan_init_tls).
 */
#ifndef PARLEY_TLSCHAN_H
#define PARLEY_TLSCHAN_H

#include <stddef.h>
#include <sys/types.h>

#include "proto.h"

/*
 * A context from the three PEM files: TLS 1.3 only, our certificate
 * and key, the peer verified against ca (a server requires the client's
 * certificate). NULL with one line in err naming the setting and the
 * file that is wrong (cannot be read, not PEM, key not the
 * certificate's, certificate not signed by the CA or expired).
 */
struct ssl_ctx_st *tlschan_ctx_new(int server, const char *ca,
    const char *cert, const char *key, char *err, size_t errsz);

/*
 * The role a peer's certificate names: the one organizationalUnitName of
 * its subject (scripts/cluster-certs.sh makes OU=storaged or OU=front).
 */
#define TLSCHAN_ROLE_OTHER	0	/* an unknown OU, or several */
#define TLSCHAN_ROLE_NONE	1	/* no OU: made before roles were */
#define TLSCHAN_ROLE_STORAGED	2	/* a storaged host */
#define TLSCHAN_ROLE_FRONT	3	/* a front host: workers, parleyctl */

/*
 * The TLSCHAN_ROLE_* of the certificate ch's peer proved at the
 * handshake; TLSCHAN_ROLE_OTHER before it is done, or without one.
 */
int tlschan_peer_role(const struct pchan *ch);
/*
 * The commonName of the certificate ch's peer proved at the handshake
 * (scripts/cluster-certs.sh makes CN=NAME), into buf of sz (> 1), cut to
 * fit, any byte but printable ASCII as '?': 0; -1 without one (before
 * the handshake is done, no certificate, no CN).
 */
int tlschan_peer_cn(const struct pchan *ch, char *buf, size_t sz);

/* ---- channel.c's side; ch->ssl is set ---- */
/* Makes ch's TLS over ch->fd (host: see pchan_init_tls). 0 or -1. */
int tlschan_start(struct pchan *, struct ssl_ctx_st *, const char *host);
/* Reads into buf, as pchan_read (>0, 0 EOF, -1 with errno). */
ssize_t tlschan_read(struct pchan *, uint8_t *buf, size_t len);
/* Writes the queue, as pchan_flush (1, 0, -1). */
int tlschan_flush(struct pchan *);
/* Sends close_notify if it can, frees the TLS state (not the fd). */
void tlschan_close(struct pchan *);

#endif
