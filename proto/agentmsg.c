/*
 * Agents and live events: records, their encodings and the checks both
 * sides of the socket share (see agentmsg.h).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agentmsg.h"

/* Strings NULL in a struct read as "". */
#define S(p)	((p) != NULL ? (p) : "")

/* ---------------------------------------------------------- the record */

#define AGENT_ROW(...)	RF_ROW(struct st_agent, __VA_ARGS__)

RL_LAYOUT(st_agent_layout, "agent", struct st_agent,
    ST_AGENT_ROWS(AGENT_ROW), NULL);

void
st_agent_defaults(struct st_agent *a)
{
	rl_defaults(&st_agent_layout, a);
}

/* ---------------------------------------------------------------- checks */

/* 1 when s is UTF-8 of min to max characters. */
static int
chars_within(const char *s, size_t min, size_t max)
{
	ssize_t n = proto_utf8_chars(s, strlen(s));

	return n >= 0 && (size_t)n >= min && (size_t)n <= max;
}

/* 1 when every byte of s is in lo..hi. */
static int
bytes_within(const char *s, unsigned char lo, unsigned char hi)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < lo || (unsigned char)*s > hi)
			return 0;
	return 1;
}

static int
url_valid(const char *u)
{
	size_t n = strlen(u);

	if (n == 0)
		return 1;
	if (n > ST_AGENT_URL_MAX || !bytes_within(u, 0x21, 0x7e))
		return 0;
	if (strncasecmp(u, "http://", 7) == 0)
		return n > 7;
	if (strncasecmp(u, "https://", 8) == 0)
		return n > 8;
	return 0;
}

/* 1 when one of the n ids of v is given twice. */
static int
id_twice(char *const *v, uint32_t n)
{
	uint32_t i, j;

	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (strcmp(S(v[i]), S(v[j])) == 0)
				return 1;
	return 0;
}

/*
 * The agent's own rules, checked here rather than by its rows' bounds
 * (rl_invalid): the model's characters, temperature's unset, the URL,
 * the key's printable ASCII; field by field in this order, with the
 * messages the admin API has always given (rl_invalid's would differ
 * for the model, the counts, the URL and the key).
 */
const char *
st_agent_invalid(const struct st_agent *a)
{
	const char *p = S(a->system_prompt);
	uint32_t i;

	if (!chars_within(S(a->name), 1, ST_AGENT_NAME_MAX))
		return "name: must be 1 to 100 characters of UTF-8";
	if (strlen(p) > ST_AGENT_PROMPT_MAX ||
	    !proto_utf8_valid(p, strlen(p)))
		return "system_prompt: must be at most 16384 bytes of UTF-8";
	if (!st_model_valid(S(a->model)))
		return "model: at most 100 of A-Z a-z 0-9 . _ : / -";
	if (!st_model_valid(S(a->embedding_model)))
		return "embedding_model: at most 100 of A-Z a-z 0-9 . _ : / -";
	if (a->temperature_milli != ST_AGENT_UNSET &&
	    a->temperature_milli > ST_AGENT_TEMP_MAX)
		return "temperature: must be 0 to 2";
	if (a->max_tokens > ST_AGENT_TOKENS_MAX)
		return "max_tokens: must be 1 to 1000000";
	if (a->history_messages > ST_AGENT_HISTORY_MAX)
		return "history_messages: must be 1 to 200";
	if (a->answer_in_visitor_language > 1)
		return "answer_in_visitor_language: must be a boolean";
	if (!url_valid(S(a->base_url)))
		return "base_url: must be an http:// or https:// URL of at "
		    "most 2048 bytes";
	if (strlen(S(a->api_key)) > ST_AGENT_KEY_MAX ||
	    !bytes_within(S(a->api_key), 0x21, 0x7e))
		return "api_key: at most 512 printable ASCII characters, "
		    "no spaces";
	if (a->nknowledge_sources > ST_AGENT_SOURCES_MAX)
		return "knowledge_source_ids: at most 50";
	for (i = 0; i < a->nknowledge_sources; i++)
		if (!st_prefixed_id_valid(S(a->knowledge_sources[i]), "ks_"))
			return "knowledge_source_ids: each a source's id "
			    "(ks_ and 32 lowercase hex)";
	if (a->knowledge_only > 1)
		return "knowledge_only: must be a boolean";
	if (a->rewrite_follow_ups > 1)
		return "rewrite_follow_ups: must be a boolean";
	if (a->nactions > ST_AGENT_ACTION_IDS_MAX)
		return "action_ids: at most 16";
	for (i = 0; i < a->nactions; i++)
		if (!st_prefixed_id_valid(S(a->actions[i]), "act_"))
			return "action_ids: each an action's id (act_ and 32 "
			    "lowercase hex)";
	/* Twice, an action would be offered the model twice. */
	if (id_twice(a->actions, a->nactions))
		return "action_ids: each at most once";
	if (id_twice(a->knowledge_sources, a->nknowledge_sources))
		return "knowledge_source_ids: each at most once";
	return NULL;
}

/* ---------------------------------------------------------------- events */

void
st_event_free(struct st_event *ev)
{
	st_conv_free(&ev->conv);
	st_msg_free(&ev->msg);
	st_contact_free(&ev->contact);
	memset(ev, 0, sizeof(*ev));
}

void
penc_event(struct penc *e, const struct st_event *ev)
{
	penc_u64(e, ev->epoch);
	penc_u64(e, ev->seq);
	penc_u64(e, ev->at);
	penc_u8(e, ev->kind | ST_EV_FORMATS);
	penc_u8(e, (uint8_t)rl_version(&st_conv_layout));
	penc_u8(e, (uint8_t)rl_version(&st_msg_layout));
	penc_u8(e, (uint8_t)rl_version(&st_contact_layout));
	penc_conv(e, &ev->conv);
	switch (ev->kind) {
	case ST_EV_MESSAGE:
		penc_msg(e, &ev->msg);
		break;
	case ST_EV_HANDOFF:
		penc_u8(e, ev->state);
		penc_str(e, ev->name);
		break;
	case ST_EV_CONTACT:
		penc_contact(e, &ev->contact);
		break;
	case ST_EV_TYPING:
		penc_u8(e, ev->on);
		penc_str(e, ev->name);
		break;
	default:
		break;
	}
}

/* The formats an event's records are written in. */
struct ev_formats {
	int conv, msg, contact;
};

/* An event's head: what comes before its conversation. */
static void
event_head(struct pdec *d, struct st_event *ev, struct ev_formats *fm)
{
	uint8_t kind;

	ev->epoch = pdec_u64(d);
	ev->seq = pdec_u64(d);
	ev->at = pdec_u64(d);
	kind = pdec_u8(d);
	ev->kind = kind & ~ST_EV_FORMATS;
	if (kind & ST_EV_FORMATS) {
		fm->conv = pdec_u8(d);
		fm->msg = pdec_u8(d);
		fm->contact = pdec_u8(d);
	} else {
		fm->conv = ST_EV_LEGACY_CONV;
		fm->msg = ST_EV_LEGACY_MSG;
		fm->contact = ST_EV_LEGACY_CONTACT;
	}
}

int
pdec_event_kind(const void *payload, size_t len)
{
	struct ev_formats fm;
	struct st_event ev;
	struct pdec d;

	pdec_init(&d, payload, len);
	event_head(&d, &ev, &fm);
	return d.err ? -1 : ev.kind;
}

int
pdec_event_conv(const void *payload, size_t len, char id[ST_ID_HEX + 1])
{
	struct ev_formats fm;
	struct st_event ev;
	struct pdec d;

	pdec_init(&d, payload, len);
	event_head(&d, &ev, &fm);
	pdec_strbuf(&d, id, ST_ID_HEX + 1);
	return d.err || !st_id_valid(id) ? -1 : 0;
}

int
pdec_event_contact(const void *payload, size_t len, char id[ST_ID_HEX + 1])
{
	struct st_event ev;
	struct pdec d;
	int rc = -1;

	id[0] = '\0';
	if (pdec_event_kind(payload, len) != ST_EV_CONTACT)
		return -1;
	pdec_init(&d, payload, len);
	if (pdec_event(&d, &ev) < 0)
		return -1;
	if (st_id_valid(ev.contact.id)) {
		strlcpy(id, ev.contact.id, ST_ID_HEX + 1);
		rc = 0;
	}
	st_event_free(&ev);
	return rc;
}

int
pdec_event(struct pdec *d, struct st_event *ev)
{
	struct ev_formats fm;

	memset(ev, 0, sizeof(*ev));
	event_head(d, ev, &fm);
	if (d->err || rl_dec(d, &st_conv_layout, &ev->conv, fm.conv) < 0)
		goto bad;
	switch (ev->kind) {
	case ST_EV_CONV_CREATED:
	case ST_EV_CONV_DELETED:
	case ST_EV_STATE:
	case ST_EV_ANSWERING:
		break;
	case ST_EV_MESSAGE:
		if (rl_dec(d, &st_msg_layout, &ev->msg, fm.msg) < 0)
			goto bad;
		break;
	case ST_EV_HANDOFF:
		ev->state = pdec_u8(d);
		pdec_strbuf(d, ev->name, sizeof(ev->name));
		break;
	case ST_EV_CONTACT:
		if (rl_dec(d, &st_contact_layout, &ev->contact,
		    fm.contact) < 0)
			goto bad;
		break;
	case ST_EV_TYPING:
		ev->on = pdec_u8(d);
		pdec_strbuf(d, ev->name, sizeof(ev->name));
		break;
	default:
		d->err = 1;
		break;
	}
	if (d->err)
		goto bad;
	return 0;
bad:
	d->err = 1;
	st_event_free(ev);
	return -1;
}

static const char *const handoffs[] = { "ai", "waiting_human", "human" };

RL_ENUM_FUNCS(handoff, handoffs, ST_HANDOFF_MAX + 1)
