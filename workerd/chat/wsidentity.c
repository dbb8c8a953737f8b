/*
 * A widget visitor's verified identity over the WebSocket (issue 26,
 * docs/widget-protocol.md "Verified identity"):
 *
 *	-> {"type":"identify","id","name","email","hash","email_hash",
 *	    "expires"}
 *	<- {"type":"identity","verified":bool,"required":bool}
 *	   (and "email_verified":bool when the identify had an email_hash;
 *	   none when its session expired meanwhile: closed 4001, as for a
 *	   message, or 4004 when its widget went)
 *	<- the same, unasked, verified false, when storaged finds a verified
 *	   socket's session unverified (its widget's secret changed), or
 *	   tells it that its widget now requires an identity
 *
 * The page's server signs its signed-in user's id: hash is the lowercase
 * hex of HMAC-SHA256(the widget's identity secret, id); and may sign the
 * email too: email_hash, of "email:" + email. A hash that expires signs
 * "exp:" + expires + ":" + id instead, expires (Unix seconds) given in
 * the frame: storaged takes it until then (its clock, 60 s of skew
 * allowed), so a leaked one is replayed no longer; a socket or session
 * verified before it stays so, as any verification does (until the
 * secret changes). storaged checks them
 * (st_identity_expiring_ok, constant time) against the secret it holds at
 * that moment, and when the id's holds, links the session to the
 * organisation's contact of that id, marked verified, in the same
 * transaction. A verified email is what fills an action's
 * {{visitor.email}} (wsident_visitor). This
 * file is the socket's side: the frame's bounds (at most
 * WSIDENT_ASKS_MAX a socket, one at a time), the answer, and on an
 * identity_required widget the refusal of an unverified socket's writes
 * (the frames wsframes[] marks as storing).
 * A hash that is not 64 lowercase hex digits is answered unverified
 * without asking storaged. Nothing here logs the hash or the id.
 *
 * The page may identify again (its user signed in or out meanwhile):
 * the socket's verified identity is always the last answer's. Another id
 * than the verified one ends it at once (another user's page: storaged
 * answers it taken), and an answer of verified false leaves the socket
 * unverified; the identify's fields are kept apart (pend_*) until its
 * answer, so a turn meanwhile never gets another user's. Such a socket's
 * session is still the verified user's in storaged, which would take its
 * writes: on an identity_required widget the socket refuses them itself
 * (disowned) until an identify verifies.
 */
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "template.h"
#include "stmsgs.h"
#include "widgetmsg.h"
#include "workerd.h"

#define WSIDENT_ASKS_MAX	5	/* identify frames a socket */
#define WSIDENT_RECHECK_MS	1000	/* an unverified message asks storaged */

void
wsident_open(struct wsident *id, const struct st_widget *w)
{
	id->required = w->identity_required != 0;
	id->verified = 0;
}

int
wsident_refuses(const struct wsident *id, const struct wsframe *f)
{
	if (!f->stores || !id->required || id->verified)
		return 0;
	/* storaged would take them as its session's verified user's. */
	if (id->disowned)
		return 1;
	/* Unverified messages count against no limit: storaged is asked so. */
	return f->st != PROTO_ST_WS_BEGIN || (id->refused_at != 0 &&
	    loop_now() - id->refused_at < WSIDENT_RECHECK_MS);
}

/* {"type":"identity",...}, and "taken" when another identity has it. */
static void
identity_send(struct wsident *id, struct wsess *s, int taken)
{
	json_t *o;

	o = json_pack("{s:s, s:b, s:b}", "type", "identity", "verified",
	    id->verified, "required", id->required);
	if (o != NULL && taken)
		json_object_set_new(o, "taken", json_true());
	/* Said only to a page that signed an email. */
	if (o != NULL && id->email_signed)
		json_object_set_new(o, "email_verified",
		    json_boolean(id->verified && id->email != NULL));
	wschat_send(s, o);
}

/* The verified identity's fields let go. */
static void
ident_forget(struct wsident *id)
{
	free(id->external_id);
	id->external_id = NULL;
	free(id->email);
	id->email = NULL;
}

/* The identify in flight's fields let go. */
static void
pend_forget(struct wsident *id)
{
	free(id->pend_id);
	id->pend_id = NULL;
	free(id->pend_email);
	id->pend_email = NULL;
}

/*
 * The identify of m kept until its answer: its id, and its email where
 * the page signed it (it may verify). 0, or -1 out of memory.
 */
static int
pend_keep(struct wsident *id, const struct wsmsg *m)
{
	pend_forget(id);
	if ((id->pend_id = strdup(m->ext_id)) == NULL ||
	    (id->email_signed && m->email[0] != '\0' &&
	    (id->pend_email = strdup(m->email)) == NULL)) {
		pend_forget(id);
		return -1;
	}
	return 0;
}

/*
 * storaged verified the identify in flight: its id is the socket's, and
 * its email when that verified too.
 */
static void
pend_take(struct wsident *id, int email_verified)
{
	ident_forget(id);
	id->disowned = 0;
	id->external_id = id->pend_id;
	id->pend_id = NULL;
	if (email_verified) {
		id->email = id->pend_email;
		id->pend_email = NULL;
	}
	pend_forget(id);
	id->verified = 1;
}

/*
 * The page's user is not proven the socket's verified one (another id,
 * or an identify that failed): the verified identity goes, and the
 * session, that user's, is this page's no more.
 */
static void
ident_disown(struct wsident *id)
{
	if (id->verified)
		id->disowned = 1;
	wsident_revoke(id);
}

void
wsident_revoke(struct wsident *id)
{
	/* The identify in flight's own fields stay until its answer. */
	id->verified = 0;
	ident_forget(id);
}

void
wsident_lapsed(struct wsident *id, struct wsess *s, int required)
{
	/* Told only what changes the page's state: none changed, nothing. */
	int told = id->verified || id->required != (required != 0);

	id->required = required != 0;
	if (required)
		id->refused_at = loop_now();
	wsident_revoke(id);
	if (told)
		identity_send(id, s, 0);
}

/* ST_WS_IDENTIFY -> struct st_ws_identify_rep */
static void
identify_done(const struct storec_result *r, void *arg)
{
	struct wsident *id = arg;
	struct wsess *s = id->s;
	struct st_ws_identify_rep rep;

	id->s = NULL;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_WS_IDENTIFY, &rep) < 0) {
		pend_forget(id);	/* unchecked: kept for nothing */
		wschat_say(s, WSMSG_IDENTIFY, VT_SIGNIN_UNCHECKED);
		return;
	}
	if (rep.result == ST_WS_BUSY) {
		pend_forget(id);
		wschat_say(s, WSMSG_IDENTIFY, VT_BUSY);
		return;
	}
	/*
	 * Its session expired meanwhile (or its widget went): the socket
	 * ends now, as on a message's such answer, not at its next frame.
	 */
	if (wschat_gone(s, rep.result)) {
		pend_forget(id);
		return;
	}
	if (rep.result == ST_WS_OK && rep.verified) {
		pend_take(id, rep.email_verified);
		wschat_stored(s);
	} else {
		/*
		 * Only a verified identity's are kept, and a socket verified
		 * before is so no more: its page's user is not proven; nor
		 * is another user's whose session this is (taken).
		 */
		pend_forget(id);
		ident_disown(id);
		if (rep.result == ST_WS_OK && rep.taken)
			id->disowned = 1;
	}
	identity_send(id, s, rep.result == ST_WS_OK && rep.taken);
}

/*
 * An identify of socket s (io) may be asked now: 1; else 0, the page
 * told why.
 */
static int
ident_may_ask(struct wsident *id, struct wsess *s, const struct wsess_io *io)
{
	/*
	 * A resume in flight may yet give the socket another session than
	 * its token hash's: asked now, storaged would make and verify a
	 * session the socket then does not use.
	 */
	if (io->resuming) {
		wschat_say(s, WSMSG_IDENTIFY, VT_RESUMING);
		return 0;
	}
	if (++id->asks > WSIDENT_ASKS_MAX) {
		wschat_send_error(s, WSMSG_IDENTIFY,
		    "identify: at most 5 a connection");
		return 0;
	}
	if (id->req != NULL) {
		wschat_send_error(s, WSMSG_IDENTIFY, "identify: one at a time");
		return 0;
	}
	return 1;
}

void
wsident_identify(struct wsident *id, struct wsess *s, const struct wsmsg *m,
    const char *wid, const uint8_t *token_hash)
{
	struct st_ws_identify_req req = {
		.widget_id = wid,
		.token_len = ST_TOKEN_HASH_LEN,
		.external_id = m->ext_id,
		.name = m->name,
		.email = m->email,
		.hash = m->hash,
		.email_hash = m->email_hash,
		.expires = m->expires,
	};
	struct wsess_io io;

	wschat_io(s, &io);
	req.origin = io.origin;
	/* As a message's: a stored session gone since is not made again. */
	req.create = !io.stored;
	if (!ident_may_ask(id, s, &io))
		return;
	id->email_signed = m->email_hash[0] != '\0';
	/*
	 * Another user's identify on a verified socket (an SPA's sign-in):
	 * the verified identity goes now, not at the answer (storaged's
	 * taken), so nothing meanwhile acts as the one before.
	 */
	if (id->verified && (id->external_id == NULL ||
	    strcmp(id->external_id, m->ext_id) != 0))
		ident_disown(id);
	/* A hash not of the HMAC's form (64 lowercase hex) verifies nothing. */
	if (!st_secret_valid(m->hash)) {
		ident_disown(id);
		identity_send(id, s, 0);
		return;
	}
	/* So does an email_hash: the email is then asked as unsigned. */
	if (id->email_signed && !st_secret_valid(m->email_hash))
		req.email_hash = "";
	memcpy(req.token, token_hash, ST_TOKEN_HASH_LEN);
	if (pend_keep(id, m) < 0) {
		wschat_say(s, WSMSG_IDENTIFY, VT_SIGNIN_UNCHECKED);
		return;
	}
	id->s = s;
	if (storec_ask(NULL, PROTO_ST_WS_IDENTIFY, &req, identify_done, id,
	    &id->req) < 0) {
		id->s = NULL;
		pend_forget(id);
		wschat_say(s, WSMSG_IDENTIFY, VT_SIGNIN_UNCHECKED);
	}
}

void
wsident_free(struct wsident *id)
{
	if (id->req != NULL)
		storec_cancel(id->req);
	id->req = NULL;
	id->s = NULL;
	ident_forget(id);
	pend_forget(id);
}

int
wsident_visitor(const struct wsident *id, struct tpl_visitor *v)
{
	if (!id->verified || id->external_id == NULL)
		return -1;
	/* An email the page did not sign is its word alone: not given. */
	v->external_id = id->external_id;
	v->email = id->email;
	return 0;
}
