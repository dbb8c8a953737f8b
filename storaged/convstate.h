/*
 * A conversation's state (convstate.c): open, snoozed or resolved (enum
 * st_conv_state, storemsg.h), who resolved it, and the assistant's own
 * resolutions: a conversation in which no person was asked for is
 * resolved by the assistant once the visitor has not written for its
 * agent's resolve_after_s. Errors as store.h: each call does nothing
 * when t->err is set.
 */
#ifndef PARLEY_CONVSTATE_H
#define PARLEY_CONVSTATE_H

#include <stdint.h>

#include "storeint.h"

/* The assistant's resolutions a request makes at most (ST_CONV_RESOLVE_DUE). */
#define CONVSTATE_DUE_MAX	64

/*
 * The visitor wrote in c (cid; saved by the caller) at now: an
 * unresolved conversation again (open), and, unless a person was asked
 * for in it, resolved by the assistant t->resolve_after_s after now
 * (none: never).
 */
void conv_state_visitor(struct store_txn *t, const uint8_t cid[16],
    struct st_conv *c, uint64_t now);
/*
 * A person was asked for, or answered, in c (cid; saved by the caller):
 * the assistant no longer resolves it by itself.
 */
void conv_state_person(struct store_txn *t, const uint8_t cid[16],
    struct st_conv *c);
/*
 * A person was asked for in c (cid; saved by the caller): as
 * conv_state_person, and open again, as a visitor's message opens it. 1
 * when it was snoozed or resolved (its state changed), else 0.
 */
int conv_state_asked(struct store_txn *t, const uint8_t cid[16],
    struct st_conv *c);
/*
 * A person sets c's (cid) state: open; snoozed until (a time within
 * ST_SNOOZE_MAX_MS of now); resolved (by a person, now). until is 0 but
 * for snoozed. *changed 1 when it was not so already (saved; not
 * activity: updated_at stays). 0, or t's error (`invalid`).
 */
int store_conv_set_state(struct store_txn *t, const uint8_t cid[16],
    struct st_conv *c, int state, uint64_t until, int *changed);
/*
 * The conversations the assistant resolves now (their time has come,
 * nobody was asked for or changed their state since, and the newest
 * reply was stored complete: one whose reply failed, was cut off or never
 * came leaves the index, open), at most max
 * (1..CONVSTATE_DUE_MAX), each resolved and saved: *out (n of them, as
 * saved; st_convs_free'd by the caller; NULL when none), *more 1 when
 * others are due.
 */
int store_resolve_due(struct store_txn *t, uint32_t max,
    struct st_conv **out, uint32_t *n, int *more);
/* c as shown: a snooze whose time has passed reads as open. */
void conv_state_view(struct store_txn *t, struct st_conv *c);

#endif
