/*
 * The table of every message type (msgtab.c): which process sends it to
 * which, and how storaged runs it. One row per type; nothing about a
 * type is written anywhere else but its payload's codec.
 */
#ifndef PARLEY_MSGTAB_H
#define PARLEY_MSGTAB_H

#include <stddef.h>
#include <stdint.h>

#include "msgcodec.h"
#include "proto.h"

/* The processes, as bits: who may send a type, who receives it. */
#define PROTO_PEER_WORKERD	0x01
#define PROTO_PEER_CTL		0x02
#define PROTO_PEER_MASTERD	0x04
#define PROTO_PEER_STORAGED	0x08
#define PROTO_PEER_FETCHER	0x10	/* parley-fetch, masterd's fetcher */
/*
 * storaged itself: its own requests, run in its batches (ST_TURN_LOST).
 * No HELLO names it (proto_peer_of), so no connection may send them.
 */
#define PROTO_PEER_SELF		0x20

/*
 * Who asks (storemsg.h) leads the payload: 0 no; PROTO_WHO_ANY any
 * principal the sender may speak for; PROTO_WHO_INSTALL only the
 * install's key or parleyctl (an owner's session is refused by storaged,
 * whatever a worker's router let through).
 */
#define PROTO_WHO_ANY		1
#define PROTO_WHO_INSTALL	2

struct proto_msg {
	uint16_t type;
	const char *name;	/* "ST_WS_BEGIN": the logs' and PROTOCOL.md's */
	uint8_t from;		/* PROTO_PEER_* that may send it */
	uint8_t to;		/* PROTO_PEER_* that receive it */
	uint8_t write;		/* storaged: it changes the store (a write batch) */
	uint8_t early;		/* storaged may answer it before its commit */
	uint8_t who;		/* its payload starts with who asks: PROTO_WHO_* */
	/*
	 * The layouts of its payload (after who asks) and of its reply
	 * (stmsgs.h); NULL where the type is not storaged's.
	 */
	const struct playout *req, *rep;
};

/* The row of type, or NULL for a type nobody sends. */
const struct proto_msg *proto_msg(uint16_t type);
/* The i-th row (0, 1, ...), or NULL past the last: to walk the table. */
const struct proto_msg *proto_msg_at(size_t i);
/*
 * The table's fingerprint: of each row's type, senders, receivers, who
 * asks and its payloads' layouts (pl_fingerprint). Every HELLO carries
 * it, so two builds whose messages would not decode each other's refuse
 * at the start rather than turn by turn; alike on every machine of one
 * build, whatever its CPU.
 */
uint64_t proto_layouts_id(void);
/* The PROTO_PEER_* a HELLO's process name says, or 0 for any other. */
int proto_peer_of(const char *hello_name);
/* 1 when peer (PROTO_PEER_*) may send type to the process to, else 0. */
int proto_may_send(int peer, uint16_t type, int to);

#endif
