/*
 * Live events (issue 15, proto/agentmsg.h): what changed, for the
 * dashboard's live view and the visitors' sockets. A request makes its
 * events while it runs (struct devent in its reply, dispatch.h); once its
 * batch has committed and the replies are queued, the server numbers them
 * here (epoch, seq), keeps them in a ring and pushes them to the clients
 * subscribed at a level that wants them. A batch that fails to commit
 * publishes nothing.
 *
 * The ring holds the newest ST_EV_RING_EVENTS events within
 * ST_EV_RING_BYTES of encodings (typing and answering events are never
 * kept and carry seq 0), so a client that missed some (a worker restarting its stream)
 * reads them back with ST_EV_SINCE, or learns they are gone. What a
 * committed batch deleted leaves it (evring_forget): a deleted
 * conversation's events and an erased or deleted contact's are read
 * back by nobody, but for the conversation_deleted event, which tells
 * nothing of what the conversation held.
 */
#ifndef PARLEY_EVENTS_H
#define PARLEY_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "agentmsg.h"
#include "proto.h"
#include "stmsgs.h"

/*
 * An event a request made, before it is numbered: encoded whole (the
 * table's ST_EV payload, a struct st_event) with epoch and seq 0, which
 * lead the encoding and are stamped when it is numbered.
 */
struct devent {
	uint8_t kind;		/* enum st_ev_kind */
	int visitor;		/* level 1 (visitor) subscribers get it too */
	struct penc enc;
	/*
	 * What the visitor level gets instead (devent_cut_for_visitors):
	 * the event with its conversation cut to its id. Empty: enc.
	 */
	struct penc venc;
	/* The webhooks' (outbox.c): its event (ST_HE_*, 0 none), its org. */
	uint32_t hook_event;
	char org[ST_WHO_ORG_MAX + 1];
	/* The mails' (mailbox.c): its kind (ST_MAIL_*, 0 none), its conversation. */
	uint32_t mail_kind;
	char conv[ST_ID_HEX + 1];
	/* Its contact's id (the conversation's, a contact event's): "" none. */
	char contact[ST_ID_HEX + 1];
};

struct evring;

/* A ring under a new random epoch, seq 0; NULL out of memory. */
struct evring *evring_new(void);
void evring_free(struct evring *);
/* What a ring holds now, for a subscriber's first reply, tests and logs. */
struct evring_stats {
	uint64_t epoch;		/* the ring's random epoch */
	/*
	 * Random, as the epoch: the key under which the dashboards' streams
	 * show an event's epoch and seq (workerd/admin/events.c), so that
	 * no organisation counts another's events by its ids.
	 */
	uint8_t id_key[ST_EV_KEY_LEN];
	uint64_t last;		/* the last seq handed out (0: none yet) */
	size_t count;		/* events kept */
	size_t bytes;		/* their encoded bytes */
};
struct evring_stats evring_stats(const struct evring *);
/*
 * Encodes ev into d->venc as the visitor level gets it (d->visitor): its
 * conversation cut to its id, which is all the workers' sockets read of
 * it; the rest (some 2 to 4 KiB) went to every worker, three times a
 * widget's turn. Out of memory, venc stays empty: enc goes instead.
 */
void devent_cut_for_visitors(struct devent *d, const struct st_event *ev);
/*
 * Numbers ev (the next seq; typing: 0): its epoch and seq written into
 * its encoding's first bytes (and its visitor encoding's). The ring
 * keeps that encoding, taken from ev (ev->enc left empty; a typing
 * event's stays ev's), evicting the
 * oldest past either bound. *buf and *len: the numbered encoding, valid
 * until the ring next changes (a typing event's: until ev is freed).
 * 0, or -1 when ev did not encode (the event is then lost, not
 * numbered).
 */
int evring_add(struct evring *, struct devent *ev, const uint8_t **buf,
    size_t *len);
/*
 * ST_EV_SINCE's reply struct: result OK with the events after seq,
 * oldest first, at most max of them and within max_bytes of encoded
 * reply (at least one when any is left); GONE (none) when epoch is not
 * this ring's, seq is past the last, or an event of org's ("" the
 * default's) after seq has left the ring: the others' leaving does not
 * make it GONE, so a dashboard away while others are busy resumes. (An
 * organisation's own event leaving still says the ring turned over, as
 * any bounded ring does: a coarse clock of everyone's events it can read
 * from an event of its own.) The events point into the ring (valid until
 * it next changes); free rep->events. 0, or -1 out of memory.
 */
int evring_since(const struct evring *, const char *org, uint64_t epoch,
    uint64_t seq, uint32_t max, size_t max_bytes,
    struct st_ev_since_rep *rep);
/*
 * The events of the n conversations and contacts ids (16 bytes each;
 * sorted here) are dropped from the ring, but conversation_deleted
 * events (dispatch.c blanks them): ST_EV_SINCE passes over them, their
 * seqs still count. Returns how many went.
 */
size_t evring_forget(struct evring *, uint8_t *ids, size_t n);
/* 1 when a subscriber at level (ST_EV_LEVEL_*) gets ev. */
int ev_wanted(int level, const struct devent *ev);
/*
 * What a subscriber at level gets of ev, numbered (evring_add), whose
 * whole encoding is whole, wlen: the visitor encoding at the visitor
 * level when there is one, else the whole.
 */
void ev_for_level(int level, const struct devent *ev, const uint8_t *whole,
    size_t wlen, const uint8_t **buf, size_t *len);
void devent_free(struct devent *);

#endif
