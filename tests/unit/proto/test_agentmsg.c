/*
 * Unit tests: issue 15's records and codecs (agentmsg.h), and what it
 * added to conversations, messages and widgets (storemsg.h, widgetmsg.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agent_sample.h"
#include "agentmsg.h"
#include "proto.h"
#include "storemsg.h"
#include "widgetmsg.h"

/* An agent with every field set to something other than its default. */
static void
full_agent(struct st_agent *a)
{
	agent_sample(a, "0123456789abcdef0123456789abcdef", 1700000000000ull);
	assert_non_null(a->name);
	assert_non_null(a->system_prompt);
	assert_non_null(a->model);
	assert_non_null(a->base_url);
	assert_non_null(a->api_key);
}

static void
assert_agent_equal(const struct st_agent *a, const struct st_agent *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->system_prompt, b->system_prompt);
	assert_string_equal(a->model, b->model);
	assert_int_equal(a->temperature_milli, b->temperature_milli);
	assert_int_equal(a->max_tokens, b->max_tokens);
	assert_int_equal(a->history_messages, b->history_messages);
	assert_string_equal(a->base_url, b->base_url);
	assert_string_equal(a->api_key, b->api_key);
	assert_int_equal(a->api_key_set, b->api_key_set);
	assert_int_equal(a->created_at, b->created_at);
	assert_int_equal(a->updated_at, b->updated_at);
}

static void
test_agent_roundtrip(void **state)
{
	struct st_agent a, g, c;
	struct penc e;
	struct pdec d;
	size_t cut;

	full_agent(&a);
	assert_null(st_agent_invalid(&a));
	penc_init(&e);
	penc_agent(&e, &a);
	assert_int_equal(e.err, 0);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_agent(&d, &g), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_agent_equal(&a, &g);
	st_agent_free(&g);

	/* Every truncation fails, and frees what it had. */
	for (cut = 0; cut < e.len; cut++) {
		pdec_init(&d, e.buf, cut);
		assert_int_equal(pdec_agent(&d, &g), -1);
		assert_null(g.name);
		assert_null(g.api_key);
	}
	penc_free(&e);

	assert_int_equal(st_agent_copy(&c, &a), 0);
	assert_agent_equal(&a, &c);
	assert_ptr_not_equal(c.name, a.name);
	st_agent_free(&c);
	st_agent_free(&a);
	assert_null(a.name);
}

static void
test_agent_defaults(void **state)
{
	struct st_agent a, g;
	struct penc e;
	struct pdec d;

	/* The default agent of a begin reply: "", unset, 0. */
	st_agent_defaults(&a);
	assert_int_equal(a.temperature_milli, ST_AGENT_UNSET);
	assert_int_equal(a.max_tokens, 0);
	assert_int_equal(a.history_messages, 0);
	penc_init(&e);
	penc_agent(&e, &a);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_agent(&d, &g), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(g.id, "");
	assert_string_equal(g.name, "");
	assert_string_equal(g.api_key, "");
	assert_int_equal(g.temperature_milli, ST_AGENT_UNSET);
	/* No name: not valid as an agent to store. */
	assert_string_equal(st_agent_invalid(&g),
	    "name: must be 1 to 100 characters of UTF-8");
	st_agent_free(&g);
	penc_free(&e);
}

/* The message st_agent_invalid gives a after f changed it. */
static const char *
bad_agent(void (*f)(struct st_agent *))
{
	static char msg[128];
	struct st_agent a;
	const char *bad;

	full_agent(&a);
	f(&a);
	bad = st_agent_invalid(&a);
	strlcpy(msg, bad != NULL ? bad : "(valid)", sizeof(msg));
	st_agent_free(&a);
	return msg;
}

static void
set_str(char **p, const char *s)
{
	free(*p);
	*p = strdup(s);
	assert_non_null(*p);
}

static void a_name_long(struct st_agent *a)
{
	char s[102];

	memset(s, 'x', 101);
	s[101] = '\0';
	set_str(&a->name, s);
}
static void a_name_100(struct st_agent *a)
{
	/* 100 characters of 3 bytes each: fine. */
	char s[301];
	int i;

	for (i = 0; i < 100; i++)
		memcpy(s + 3 * i, "€", 3);
	s[300] = '\0';
	set_str(&a->name, s);
}
static void a_name_bad_utf8(struct st_agent *a) { set_str(&a->name, "a\xff"); }
static void a_prompt_long(struct st_agent *a)
{
	char *s = malloc(ST_AGENT_PROMPT_MAX + 2);

	assert_non_null(s);
	memset(s, 'p', ST_AGENT_PROMPT_MAX + 1);
	s[ST_AGENT_PROMPT_MAX + 1] = '\0';
	free(a->system_prompt);
	a->system_prompt = s;
}
static void a_prompt_empty(struct st_agent *a) { set_str(&a->system_prompt, ""); }
static void a_model_bad(struct st_agent *a) { set_str(&a->model, "gpt 4"); }
static void a_temp_high(struct st_agent *a) { a->temperature_milli = 2001; }
static void a_temp_unset(struct st_agent *a) { a->temperature_milli = ST_AGENT_UNSET; }
static void a_temp_zero(struct st_agent *a) { a->temperature_milli = 0; }
static void a_tokens_high(struct st_agent *a) { a->max_tokens = 1000001; }
static void a_history_high(struct st_agent *a) { a->history_messages = 201; }
static void a_url_ftp(struct st_agent *a) { set_str(&a->base_url, "ftp://x"); }
static void a_url_space(struct st_agent *a) { set_str(&a->base_url, "http://a b"); }
static void a_url_bare(struct st_agent *a) { set_str(&a->base_url, "https://"); }
static void a_url_empty(struct st_agent *a) { set_str(&a->base_url, ""); }
static void a_key_space(struct st_agent *a) { set_str(&a->api_key, "sk 1"); }
static void a_key_long(struct st_agent *a)
{
	char s[ST_AGENT_KEY_MAX + 2];

	memset(s, 'k', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	set_str(&a->api_key, s);
}

static void
test_agent_invalid(void **state)
{
	assert_string_equal(bad_agent(a_name_long),
	    "name: must be 1 to 100 characters of UTF-8");
	assert_string_equal(bad_agent(a_name_100), "(valid)");
	assert_string_equal(bad_agent(a_name_bad_utf8),
	    "name: must be 1 to 100 characters of UTF-8");
	assert_string_equal(bad_agent(a_prompt_long),
	    "system_prompt: must be at most 16384 bytes of UTF-8");
	assert_string_equal(bad_agent(a_prompt_empty), "(valid)");
	assert_string_equal(bad_agent(a_model_bad),
	    "model: at most 100 of A-Z a-z 0-9 . _ : / -");
	assert_string_equal(bad_agent(a_temp_high),
	    "temperature: must be 0 to 2");
	assert_string_equal(bad_agent(a_temp_unset), "(valid)");
	assert_string_equal(bad_agent(a_temp_zero), "(valid)");
	assert_string_equal(bad_agent(a_tokens_high),
	    "max_tokens: must be 1 to 1000000");
	assert_string_equal(bad_agent(a_history_high),
	    "history_messages: must be 1 to 200");
	assert_string_equal(bad_agent(a_url_ftp),
	    "base_url: must be an http:// or https:// URL of at most 2048 "
	    "bytes");
	assert_string_equal(bad_agent(a_url_space),
	    "base_url: must be an http:// or https:// URL of at most 2048 "
	    "bytes");
	assert_string_equal(bad_agent(a_url_bare),
	    "base_url: must be an http:// or https:// URL of at most 2048 "
	    "bytes");
	assert_string_equal(bad_agent(a_url_empty), "(valid)");
	assert_string_equal(bad_agent(a_key_space),
	    "api_key: at most 512 printable ASCII characters, no spaces");
	assert_string_equal(bad_agent(a_key_long),
	    "api_key: at most 512 printable ASCII characters, no spaces");
}

static void
fill_conv(struct st_conv *c, uint8_t handoff)
{
	memset(c, 0, sizeof(*c));
	strlcpy(c->id, "00112233445566778899aabbccddeeff", sizeof(c->id));
	strlcpy(c->widget, "default", sizeof(c->widget));
	strlcpy(c->session, "s1", sizeof(c->session));
	c->created_at = 1;
	c->updated_at = 2;
	c->message_count = 3;
	c->last_message = strdup("last");
	assert_non_null(c->last_message);
	c->handoff = handoff;
}

static void
fill_msg(struct st_msg *m, const char *role, const char *name)
{
	memset(m, 0, sizeof(*m));
	strlcpy(m->id, "ffeeddccbbaa99887766554433221100", sizeof(m->id));
	strlcpy(m->conv_id, "00112233445566778899aabbccddeeff",
	    sizeof(m->conv_id));
	strlcpy(m->role, role, sizeof(m->role));
	strlcpy(m->status, "complete", sizeof(m->status));
	m->created_at = 5;
	m->content = strdup("Hello from a person");
	assert_non_null(m->content);
	strlcpy(m->name, name, sizeof(m->name));
}

/*
 * Conversations carry handoff, their organisation, then their assignee
 * last; messages carry name, then author last.
 */
static void
test_conv_msg_fields(void **state)
{
	struct st_conv c, g;
	struct st_msg m, h;
	struct penc e;
	struct pdec d;

	fill_conv(&c, ST_HANDOFF_HUMAN);
	strlcpy(c.org, "default", sizeof(c.org));
	strlcpy(c.assignee, "usr_0123456789abcdef0123456789abcdef",
	    sizeof(c.assignee));
	strlcpy(c.assignee_name, "Ana", sizeof(c.assignee_name));
	penc_init(&e);
	penc_conv(&e, &c);
	/*
	 * The state, str org, then str assignee and str assignee_name,
	 * then issue 24's, issue 26's and format 8's (the state, the
	 * assistant's resolution, the reports' counts), format 9's (who
	 * took over) and format 10's (who put it in waiting_human): all
	 * empty here: V24 bytes).
	 */
#define V24	(4 + 8 + 5 * 4 + 4 + 1 + 1 + 4 + 8 + 4 + 4 + 4 + \
	    1 + 8 + 1 + 8 + 1 + 8 + 4 + 4 * 4 + 8 + 8 + 1 + 4 + 4 + 1)
	assert_int_equal(e.buf[e.len - V24 - 12 - 40 - 7], ST_HANDOFF_HUMAN);
	assert_memory_equal(e.buf + e.len - V24 - 11 - 40 - 7,
	    "\0\0\0\7default\0\0\0\x24usr_", 11 + 8);
	assert_memory_equal(e.buf + e.len - V24 - 7, "\0\0\0\3Ana", 7);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_conv(&d, &g), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_int_equal(g.handoff, ST_HANDOFF_HUMAN);
	assert_string_equal(g.org, "default");
	assert_string_equal(g.assignee, c.assignee);
	assert_string_equal(g.assignee_name, "Ana");
	st_conv_free(&g);
	/* Without the last: a decode error. */
	pdec_init(&d, e.buf, e.len - 1);
	assert_int_equal(pdec_conv(&d, &g), -1);
#undef V24
	penc_free(&e);
	st_conv_free(&c);

	fill_msg(&m, "agent", "Ana");
	strlcpy(m.author, "usr_0123456789abcdef0123456789abcdef",
	    sizeof(m.author));
	penc_init(&e);
	penc_msg(&e, &m);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_msg(&d, &h), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_string_equal(h.role, "agent");
	assert_string_equal(h.name, "Ana");
	assert_string_equal(h.content, "Hello from a person");
	assert_string_equal(h.author, m.author);
	st_msg_free(&h);
	/*
	 * The name, then the author, the feedback, no source (a u32 count)
	 * and the knowledge search's outcome, then a tool's arguments (a
	 * str, "") and duration (a u32), no attachment (a u32 count), no
	 * client id and no cited passages (strs, ""), a tool's origin (a
	 * u8, the owner's): T bytes, the last fields.
	 */
#define T	21
	assert_memory_equal(e.buf + e.len - T - 6 - 40 - 3, "Ana", 3);
	assert_memory_equal(e.buf + e.len - T - 6 - 36, m.author, 36);
	assert_int_equal(e.buf[e.len - T - 6], ST_FEEDBACK_NONE);
	assert_memory_equal(e.buf + e.len - T - 5, "\0\0\0\0", 4);
	assert_int_equal(e.buf[e.len - T - 1], ST_MSG_KB_NONE);
	assert_memory_equal(e.buf + e.len - T,
	    "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", T);
	pdec_init(&d, e.buf, e.len - 1);
	assert_int_equal(pdec_msg(&d, &h), -1);
	/* A feedback past "down", a knowledge past 2 do not decode. */
	e.buf[e.len - T - 6] = 3;
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_msg(&d, &h), -1);
	e.buf[e.len - T - 6] = ST_FEEDBACK_NONE;
	e.buf[e.len - T - 1] = 3;
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_msg(&d, &h), -1);
#undef T
	penc_free(&e);
	st_msg_free(&m);
}

/* An event of each kind, encoded and decoded back. */
static void
event_roundtrip(struct st_event *ev)
{
	struct st_event g;
	struct penc e;
	struct pdec d;
	size_t cut;

	penc_init(&e);
	penc_event(&e, ev);
	assert_int_equal(e.err, 0);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_event(&d, &g), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_int_equal(g.epoch, ev->epoch);
	assert_int_equal(g.seq, ev->seq);
	assert_int_equal(g.at, ev->at);
	assert_int_equal(g.kind, ev->kind);
	assert_string_equal(g.conv.id, ev->conv.id);
	assert_int_equal(g.conv.handoff, ev->conv.handoff);
	switch (ev->kind) {
	case ST_EV_MESSAGE:
		assert_string_equal(g.msg.content, ev->msg.content);
		assert_string_equal(g.msg.name, ev->msg.name);
		break;
	case ST_EV_HANDOFF:
		assert_int_equal(g.state, ev->state);
		assert_string_equal(g.name, ev->name);
		break;
	case ST_EV_CONTACT:
		assert_string_equal(g.contact.email, ev->contact.email);
		break;
	case ST_EV_TYPING:
		assert_int_equal(g.on, ev->on);
		assert_string_equal(g.name, ev->name);
		break;
	}
	st_event_free(&g);
	for (cut = 0; cut < e.len; cut++) {
		pdec_init(&d, e.buf, cut);
		assert_int_equal(pdec_event(&d, &g), -1);
		assert_null(g.conv.last_message);
	}
	penc_free(&e);
}

static void
test_events(void **state)
{
	struct st_event ev, g;
	struct penc e;
	struct pdec d;
	int kind;

	for (kind = ST_EV_CONV_CREATED; kind <= ST_EV_ANSWERING; kind++) {
		memset(&ev, 0, sizeof(ev));
		ev.epoch = 0x1122334455667788ull;
		ev.seq = kind == ST_EV_TYPING || kind == ST_EV_ANSWERING ? 0 :
		    (uint64_t)kind;
		ev.at = 1700000000000ull;
		ev.kind = (uint8_t)kind;
		fill_conv(&ev.conv, ST_HANDOFF_WAITING);
		if (kind == ST_EV_MESSAGE)
			fill_msg(&ev.msg, "agent", "Ana");
		if (kind == ST_EV_HANDOFF || kind == ST_EV_TYPING) {
			ev.state = ST_HANDOFF_HUMAN;
			ev.on = 1;
			strlcpy(ev.name, "Ana", sizeof(ev.name));
		}
		if (kind == ST_EV_CONTACT) {
			strlcpy(ev.contact.id, "0123456789abcdef0123456789abcdef",
			    sizeof(ev.contact.id));
			ev.contact.name = strdup("Vis");
			ev.contact.email = strdup("v@example.com");
			ev.contact.phone = strdup("");
		}
		event_roundtrip(&ev);
		st_event_free(&ev);
	}

	/* An unknown kind does not decode. */
	memset(&ev, 0, sizeof(ev));
	ev.kind = 9;
	fill_conv(&ev.conv, 0);
	penc_init(&e);
	penc_event(&e, &ev);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_event(&d, &g), -1);
	penc_free(&e);
	st_event_free(&ev);
}

/*
 * An event's head as penc_event writes it, kind as given (with or
 * without ST_EV_FORMATS), then the three formats when flagged.
 */
static void
event_head_as(struct penc *e, int kind, int conv, int msg, int contact)
{
	penc_u64(e, 7);
	penc_u64(e, 8);
	penc_u64(e, 1700000000000ull);
	penc_u8(e, (uint8_t)kind);
	if (kind & ST_EV_FORMATS) {
		penc_u8(e, (uint8_t)conv);
		penc_u8(e, (uint8_t)msg);
		penc_u8(e, (uint8_t)contact);
	}
}

/*
 * A message event whose conversation and message are in formats f_conv,
 * f_msg (flagged: said in the head; else ST_EV_LEGACY_*) decodes to
 * today's records: what an outbox kept across an upgrade.
 */
static void
event_as(int flagged, int f_conv, int f_msg)
{
	char id[ST_ID_HEX + 1];
	struct st_event ev, g;
	struct penc e;
	struct pdec d;

	memset(&ev, 0, sizeof(ev));
	fill_conv(&ev.conv, ST_HANDOFF_WAITING);
	ev.conv.waiting_by = ST_WAITING_PERSON;
	fill_msg(&ev.msg, "agent", "Ana");
	penc_init(&e);
	event_head_as(&e, ST_EV_MESSAGE | (flagged ? ST_EV_FORMATS : 0),
	    f_conv, f_msg, rl_version(&st_contact_layout));
	rl_enc_as(&e, &st_conv_layout, &ev.conv, f_conv);
	rl_enc_as(&e, &st_msg_layout, &ev.msg, f_msg);
	assert_int_equal(e.err, 0);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_event(&d, &g), 0);
	assert_int_equal(pdec_done(&d), 0);
	assert_int_equal(g.kind, ST_EV_MESSAGE);
	assert_string_equal(g.conv.id, ev.conv.id);
	/* handoff came with format 3, waiting_by with 10: before, 0. */
	assert_int_equal(g.conv.handoff, f_conv >= 3 ?
	    ST_HANDOFF_WAITING : ST_HANDOFF_AI);
	assert_int_equal(g.conv.waiting_by, f_conv >= 10 ?
	    ST_WAITING_PERSON : 0);
	assert_string_equal(g.msg.content, ev.msg.content);
	assert_int_equal(pdec_event_kind(e.buf, e.len), ST_EV_MESSAGE);
	assert_int_equal(pdec_event_conv(e.buf, e.len, id), 0);
	assert_string_equal(id, ev.conv.id);
	st_event_free(&g);
	penc_free(&e);
	st_event_free(&ev);
}

/* A format this build does not know (0, or past its own) is refused. */
static void
event_format_refused(int f_conv, int f_msg)
{
	struct st_event ev, g;
	struct penc e;
	struct pdec d;

	memset(&ev, 0, sizeof(ev));
	fill_conv(&ev.conv, 0);
	fill_msg(&ev.msg, "user", "");
	penc_init(&e);
	event_head_as(&e, ST_EV_MESSAGE | ST_EV_FORMATS, f_conv, f_msg,
	    rl_version(&st_contact_layout));
	penc_conv(&e, &ev.conv);
	penc_msg(&e, &ev.msg);
	pdec_init(&d, e.buf, e.len);
	assert_int_equal(pdec_event(&d, &g), -1);
	penc_free(&e);
	st_event_free(&ev);
}

/*
 * Events say the formats of their records, so an outbox's payload
 * written before a format change still reads after it (the old code
 * read every payload at the current formats and dropped these).
 */
static void
test_event_formats(void **state)
{
	int cv = rl_version(&st_conv_layout), mv = rl_version(&st_msg_layout);

	(void)state;
	event_as(1, cv, mv);
	event_as(1, 9, mv);
	event_as(1, 1, 1);
	event_as(0, ST_EV_LEGACY_CONV, ST_EV_LEGACY_MSG);
	event_format_refused(0, mv);
	event_format_refused(cv + 1, mv);
	event_format_refused(cv, mv + 1);
}

static void
test_handoff_names(void **state)
{
	assert_string_equal(st_handoff_name(ST_HANDOFF_AI), "ai");
	assert_string_equal(st_handoff_name(ST_HANDOFF_WAITING),
	    "waiting_human");
	assert_string_equal(st_handoff_name(ST_HANDOFF_HUMAN), "human");
	assert_null(st_handoff_name(3));
	assert_null(st_handoff_name(-1));
	assert_int_equal(st_handoff_parse("ai"), ST_HANDOFF_AI);
	assert_int_equal(st_handoff_parse("waiting_human"), ST_HANDOFF_WAITING);
	assert_int_equal(st_handoff_parse("human"), ST_HANDOFF_HUMAN);
	assert_int_equal(st_handoff_parse("Human"), -1);
	assert_int_equal(st_handoff_parse(NULL), -1);
}

static void
test_widget_fields(void **state)
{
	struct st_widget w;
	char label[102];

	st_widget_defaults(&w);
	assert_null(st_widget_invalid(&w));
	strlcpy(w.agent_id, "default", sizeof(w.agent_id));
	assert_null(st_widget_invalid(&w));
	strlcpy(w.agent_id, "0123456789abcdef0123456789abcdef",
	    sizeof(w.agent_id));
	assert_null(st_widget_invalid(&w));
	strlcpy(w.agent_id, "0123456789ABCDEF0123456789abcdef",
	    sizeof(w.agent_id));
	assert_string_equal(st_widget_invalid(&w), "agent_id: no such agent");
	strlcpy(w.agent_id, "nope", sizeof(w.agent_id));
	assert_string_equal(st_widget_invalid(&w), "agent_id: no such agent");
	w.agent_id[0] = '\0';
	w.handoff_enabled = 2;
	assert_string_equal(st_widget_invalid(&w),
	    "handoff_enabled: must be a boolean");
	w.handoff_enabled = 1;
	memset(label, 'l', 101);
	label[101] = '\0';
	w.handoff_label = strdup(label);
	assert_string_equal(st_widget_invalid(&w),
	    "handoff_label: must be at most 100 characters of UTF-8");
	w.handoff_label[100] = '\0';
	assert_null(st_widget_invalid(&w));
	st_widget_free(&w);
}

static void
test_names(void **state)
{
	assert_string_equal(proto_msg_name(PROTO_ST_AGENT_CREATE),
	    "ST_AGENT_CREATE");
	assert_string_equal(proto_msg_name(PROTO_ST_WS_REQUEST_HUMAN),
	    "ST_WS_REQUEST_HUMAN");
	assert_string_equal(proto_msg_name(PROTO_ST_EV_SINCE), "ST_EV_SINCE");
	assert_string_equal(proto_msg_name(PROTO_ST_HANDOFF_LIST),
	    "ST_HANDOFF_LIST");
	assert_string_equal(proto_msg_name(PROTO_ST_EV), "ST_EV");
	assert_int_equal(PROTO_ST_AGENT_CREATE, 0x40);
	assert_int_equal(PROTO_ST_EV_SUBSCRIBE, 0x49);
	assert_int_equal(PROTO_ST_EV_SINCE, 0x4b);
	assert_int_equal(PROTO_ST_HANDOFF_LIST, 0x4c);
	assert_int_equal(PROTO_ST_EV, 0x4f);
	assert_int_equal(ST_WS_HUMAN, 9);
	assert_int_equal(ST_WS_NO_CONV, 10);
	assert_int_equal(ST_CHAT_HUMAN, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agent_roundtrip),
		cmocka_unit_test(test_agent_defaults),
		cmocka_unit_test(test_agent_invalid),
		cmocka_unit_test(test_conv_msg_fields),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_event_formats),
		cmocka_unit_test(test_handoff_names),
		cmocka_unit_test(test_widget_fields),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
