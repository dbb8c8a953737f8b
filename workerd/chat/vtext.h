/*
 * The server's own words to a visitor (vtext.c): the refusals and
 * failures a chat socket sends as "error" frames, and the default away
 * message, in each widget language. The widget's language when it has
 * one, else the first widget language the visitor's browser asks for
 * (Accept-Language), else English. A developer's mistakes (a malformed
 * frame, a field out of its bounds) stay in English, as the HTTP API's.
 */
#ifndef VTEXT_H
#define VTEXT_H

#include <stddef.h>
#include <stdint.h>

enum vtext_id {
	VT_WRONG,		/* something went wrong */
	VT_UNAVAILABLE,		/* the chat is unavailable */
	VT_MSG_UNSAVED,		/* the visitor's message was not stored */
	VT_MODEL_FAILED,	/* the model did not answer */
	VT_CONV_UNSAVED,	/* the reply was not stored */
	VT_CONTACT_FIRST,	/* the widget wants contact details first */
	VT_CAPPED,		/* the daily message cap */
	VT_BUSY,		/* too many new conversations at once */
	VT_FIRST,		/* a message first (before a person, a rating) */
	VT_RESUMING,		/* the session is being resumed */
	VT_WAIT_REPLY,		/* a reply is being written */
	VT_DETAILS_UNSAVED,	/* contact details not stored */
	VT_DETAILS_ALREADY,	/* contact details given already */
	VT_DETAILS_SAVING,	/* contact details being stored */
	VT_REQUEST_UNSENT,	/* asking for a person failed */
	VT_HUMAN_TOO_MANY,	/* asked for a person too often */
	VT_FB_WAIT,		/* a rating being stored */
	VT_FB_UNSAVED,		/* a rating not stored */
	VT_SIGNIN_UNCHECKED,	/* an identify not checked */
	VT_WAIT_REQUEST,	/* a conversation request in flight */
	VT_REQUESTS_MINUTE,	/* conversation requests: wait a minute */
	VT_CONV_NOT_FOUND,	/* not one of the session's conversations */
	/* With "{seconds}": vtext_wait fills it in. */
	VT_TOO_MANY_MESSAGES,
	VT_TOO_MANY_REQUESTS,
	VT_TOO_MUCH_FEEDBACK,
	VT_AWAY,		/* the away message a widget left unset */
	VT_COUNT
};

/*
 * The language an Accept-Language header value asks for first among the
 * widget languages (ST_LANG_*; its primary subtag, any case; an entry of
 * q=0 is skipped); ST_LANG_EN when none or hdr NULL.
 */
int vtext_accept(const char *hdr);
/*
 * The language a visitor is spoken to in: the widget's language when it
 * is set (a widget language code), else accepted (vtext_accept's).
 */
int vtext_lang(const char *widget_lang, int accepted);
/* Text id in language lang (ST_LANG_*; English when out of range). */
const char *vtext(int lang, enum vtext_id id);
/*
 * Text id's code, the same in every language ("contact_required",
 * "rate_limited"...): sent beside it, for a client to act on.
 */
const char *vtext_code(enum vtext_id id);
/* Room for any vtext_wait text with its number. */
#define VTEXT_WAIT_MAX	256
/*
 * Text id (one of the VT_TOO_* with "{seconds}") in language lang into
 * buf, its wait the whole seconds of retry_ms (resp_retry_secs); cut to
 * size at a character's start.
 */
void vtext_wait(char *buf, size_t size, int lang, enum vtext_id id,
    uint64_t retry_ms);

#endif
