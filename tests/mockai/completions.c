/*
 * POST /v1/chat/completions, in OpenAI's wire format.
 *
 * A request becomes a struct stream: the reply text, how many content
 * chunks it is cut into, the delays, and where to cut or stall. The pump
 * walks it one step at a time (role chunk, content chunks, finish chunk,
 * usage chunk, [DONE]); a step that must wait arms the connection's timer
 * (ptimer.c, to the microsecond),
 * and no step runs while the client has more than MOCK_MAX_PENDING bytes
 * unread, so a slow reader holds the stream instead of growing a buffer.
 * A non-streaming request walks the same steps silently, then answers once.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "log.h"
#include "mockai.h"

#define FINGERPRINT	"fp_mockai"
#define buf_addlit(b, lit)	buf_add((b), (lit), sizeof(lit) - 1)
#define STEPS_PER_PUMP	64	/* then let other connections have a turn */

struct stream {
	char id[48];
	char *model;
	json_int_t created;
	int is_stream;
	int include_usage;
	char *head;		/* "data: {...,\"choices\":" common to every chunk */
	size_t head_len;
	char *text;		/* one copy of the reply; repeated `repeat` times */
	size_t text_len;
	uint64_t total_cp;	/* code points in the whole reply */
	uint64_t npieces;	/* content chunks */
	uint64_t next;		/* next content chunk */
	uint64_t cur_cp;	/* code points already handed out */
	size_t cur_off;		/* byte offset of cur_cp inside text */
	int delay_ms, first_delay_ms;
	int cut, stall;		/* -1: no */
	long long prompt_tokens;
	/* Tool calls (call=): each delta's JSON, sent as the content chunks. */
	char **deltas;
	json_t *calls;		/* the calls, for a reply that is not streamed */
	char *said;		/* say='s text before them, or NULL */
	int waiting;		/* the timer is armed */
	int due;		/* the timer fired: the next step may run */
	int stalled;
};

static unsigned long long id_seq;

/* ------------------------------------------------------------ errors */

json_t *
openai_error(const char *message, const char *type, const char *param,
    const char *code)
{
	json_t *e = json_pack("{s:{s:o, s:s, s:o, s:o}}", "error",
	    "message", mock_text(message), "type", type,
	    "param", param ? json_string(param) : json_null(),
	    "code", code ? json_string(code) : json_null());

	if (e == NULL)
		fatalx("json_pack: error body");
	return e;
}

/* The error OpenAI gives for each status a test may ask for. */
void
openai_error_send(struct conn *c, int status, const char *model)
{
	char msg[300];
	const char *type = status >= 500 ? "server_error" : "invalid_request_error";
	const char *code = NULL, *extra = NULL;

	switch (status) {
	case 401:
		snprintf(msg, sizeof(msg), "Incorrect API key provided");
		code = "invalid_api_key";
		break;
	case 403:
		snprintf(msg, sizeof(msg), "You are not allowed to sample from this model");
		code = "permission_denied";
		break;
	case 404:
		snprintf(msg, sizeof(msg), "The model `%.100s` does not exist or you do "
		    "not have access to it.", model ? model : "");
		code = "model_not_found";
		break;
	case 429:
		snprintf(msg, sizeof(msg), "Rate limit reached for requests. "
		    "Please try again in 1s.");
		type = "requests";
		code = "rate_limit_exceeded";
		extra = "Retry-After: 1\r\n";
		break;
	case 500:
		snprintf(msg, sizeof(msg), "The server had an error while processing "
		    "your request. Sorry about that!");
		break;
	case 503:
		snprintf(msg, sizeof(msg), "The server is overloaded or not ready yet.");
		break;
	default:
		snprintf(msg, sizeof(msg), "mockai: simulated error %d", status);
		break;
	}
	http_respond_json(c, status, openai_error(msg, type, NULL, code), extra);
}

void
openai_error_status(struct conn *c, int status, const char *model)
{
	mock_stats.errors++;
	openai_error_send(c, status, model);
}

static void
bad_request(struct conn *c, const char *msg, const char *param, const char *code)
{
	mock_stats.errors++;
	http_respond_json(c, 400, openai_error(msg, "invalid_request_error",
	    param, code), NULL);
}

static const char *
type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a decimal";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* ------------------------------------------------------------ the request */

long long
mock_count_words(const char *s)
{
	long long n = 0;
	int in = 0;

	for (; *s; s++) {
		int sp = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' ||
		    *s == '\f' || *s == '\v';

		if (!sp && !in)
			n++;
		in = !sp;
	}
	return n;
}

/*
 * An image_url part as a vision model takes it: {"image_url": {"url":
 * "data:image/...;base64,..."}} with base64 that decodes, or an http(s)
 * URL.
 */
static int
image_part_ok(json_t *part)
{
	json_t *iu = json_object_get(part, "image_url");
	const char *url, *b64;
	size_t i, n;

	if (!json_is_object(iu) || !json_is_string(json_object_get(iu, "url")))
		return 0;
	url = json_string_value(json_object_get(iu, "url"));
	if (strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0)
		return 1;
	if (strncmp(url, "data:image/", 11) != 0 ||
	    (b64 = strstr(url, ";base64,")) == NULL)
		return 0;
	b64 += 8;
	n = strlen(b64);
	if (n == 0 || n % 4 != 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)b64[i]) || b64[i] == '+' ||
		    b64[i] == '/' || (b64[i] == '=' && i >= n - 2)))
			return 0;
	mock_stats.images++;
	return 1;
}

/*
 * A message's text: its string content, or its text parts joined by "\n".
 * Sets *bad (and returns NULL) when the content has the wrong shape.
 */
static char *
message_text(json_t *content, int *bad)
{
	struct buf b = { 0 };
	size_t i;
	json_t *part;
	char *s;

	*bad = 0;
	if (content == NULL || json_is_null(content))
		return strdup("");
	if (json_is_string(content))
		return strdup(json_string_value(content));
	if (!json_is_array(content)) {
		*bad = 1;
		return NULL;
	}
	json_array_foreach(content, i, part) {
		json_t *type = json_object_get(part, "type");
		json_t *text = json_object_get(part, "text");

		if (!json_is_object(part) || !json_is_string(type)) {
			*bad = 1;
			buf_free(&b);
			return NULL;
		}
		if (strcmp(json_string_value(type), "image_url") == 0 &&
		    !image_part_ok(part)) {
			*bad = 1;
			buf_free(&b);
			return NULL;
		}
		if (strcmp(json_string_value(type), "text") != 0)
			continue;	/* images etc. carry no text for us */
		if (!json_is_string(text)) {
			*bad = 1;
			buf_free(&b);
			return NULL;
		}
		if (b.len > 0)
			buf_add(&b, "\n", 1);
		buf_add(&b, json_string_value(text), json_string_length(text));
	}
	s = strdup(b.p ? b.p : "");
	buf_free(&b);
	return s;
}

struct parsed {
	const char *model;
	int stream;
	int include_usage;
	long long prompt_tokens;
	char *last_user;	/* malloc'd; "" if no user message */
	struct buf sources;	/* the system messages' text, a blank line between */
	struct buf tools;	/* the tool messages after the last user one, "; " between */
	int rounds;		/* assistant messages after the last user one */
	int no_tools;		/* "tool_choice": "none" */
	int offered;		/* "tools": a non-empty array */
	long long images;	/* image_url parts, well formed */
};

/* Checks the body like OpenAI does; answers 400 and returns -1 if wrong. */
static int
parse_body(struct conn *c, json_t *root, struct parsed *p)
{
	static const char *roles[] = { "system", "developer", "user",
	    "assistant", "tool", "function" };
	json_t *model, *messages, *m, *stream, *opts;
	char msg[300], param[64];
	long long images = mock_stats.images;
	size_t i;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(root)) {
		snprintf(msg, sizeof(msg), "Invalid request: expected an object, "
		    "but got %s instead.", type_name(root));
		bad_request(c, msg, NULL, "invalid_type");
		return -1;
	}
	model = json_object_get(root, "model");
	if (model == NULL || json_is_null(model)) {
		bad_request(c, "you must provide a model parameter", NULL, NULL);
		return -1;
	}
	if (!json_is_string(model)) {
		snprintf(msg, sizeof(msg), "Invalid type for 'model': expected a "
		    "string, but got %s instead.", type_name(model));
		bad_request(c, msg, "model", "invalid_type");
		return -1;
	}
	p->model = json_string_value(model);

	messages = json_object_get(root, "messages");
	if (messages == NULL) {
		bad_request(c, "Missing required parameter: 'messages'.",
		    "messages", "missing_required_parameter");
		return -1;
	}
	if (!json_is_array(messages)) {
		snprintf(msg, sizeof(msg), "Invalid type for 'messages': expected "
		    "an array, but got %s instead.", type_name(messages));
		bad_request(c, msg, "messages", "invalid_type");
		return -1;
	}
	if (json_array_size(messages) == 0) {
		bad_request(c, "Invalid 'messages': empty array. Expected an array "
		    "with minimum length 1, but got an empty array instead.",
		    "messages", "empty_array");
		return -1;
	}
	json_array_foreach(messages, i, m) {
		json_t *role = json_object_get(m, "role");
		json_t *content = json_object_get(m, "content");
		const char *r;
		char *text;
		int bad, known = 0;

		if (!json_is_object(m)) {
			snprintf(param, sizeof(param), "messages[%zu]", i);
			snprintf(msg, sizeof(msg), "Invalid type for '%s': expected "
			    "an object, but got %s instead.", param, type_name(m));
			bad_request(c, msg, param, "invalid_type");
			goto fail;
		}
		snprintf(param, sizeof(param), "messages[%zu].role", i);
		if (role == NULL) {
			snprintf(msg, sizeof(msg), "Missing required parameter: "
			    "'%s'.", param);
			bad_request(c, msg, param, "missing_required_parameter");
			goto fail;
		}
		r = json_is_string(role) ? json_string_value(role) : "";
		for (size_t k = 0; k < sizeof(roles) / sizeof(roles[0]); k++)
			known |= strcmp(r, roles[k]) == 0;
		if (!known) {
			snprintf(msg, sizeof(msg), "Invalid value: '%.40s'. Supported "
			    "values are: 'system', 'assistant', 'user', 'function', "
			    "'tool', and 'developer'.", r);
			bad_request(c, msg, param, "invalid_value");
			goto fail;
		}
		snprintf(param, sizeof(param), "messages[%zu].content", i);
		if (content == NULL && strcmp(r, "assistant") != 0) {
			snprintf(msg, sizeof(msg), "Missing required parameter: "
			    "'%s'.", param);
			bad_request(c, msg, param, "missing_required_parameter");
			goto fail;
		}
		if ((text = message_text(content, &bad)) == NULL) {
			if (!bad)
				fatal("out of memory");
			snprintf(msg, sizeof(msg), "Invalid type for '%s': expected "
			    "one of a string or array of objects, but got %s "
			    "instead.", param, type_name(content));
			bad_request(c, msg, param, "invalid_type");
			goto fail;
		}
		p->prompt_tokens += mock_count_words(text);
		if (strcmp(r, "user") == 0) {
			free(p->last_user);
			p->last_user = text;
			p->tools.len = 0;	/* only what answers this one */
			p->rounds = 0;
			continue;
		}
		if (strcmp(r, "assistant") == 0)
			p->rounds++;
		if (strcmp(r, "tool") == 0) {
			if (p->tools.len > 0)
				buf_add(&p->tools, "; ", 2);
			buf_add(&p->tools, text, strlen(text));
		}
		if (strcmp(r, "system") == 0 || strcmp(r, "developer") == 0) {
			if (p->sources.len > 0)
				buf_add(&p->sources, "\n\n", 2);
			buf_add(&p->sources, text, strlen(text));
		}
		free(text);
	}
	if (p->last_user == NULL && (p->last_user = strdup("")) == NULL)
		fatal("out of memory");

	opts = json_object_get(root, "tool_choice");
	p->no_tools = json_is_string(opts) &&
	    strcmp(json_string_value(opts), "none") == 0;
	opts = json_object_get(root, "tools");
	p->offered = json_is_array(opts) && json_array_size(opts) > 0;
	stream = json_object_get(root, "stream");
	if (stream != NULL && !json_is_null(stream) && !json_is_boolean(stream)) {
		snprintf(msg, sizeof(msg), "Invalid type for 'stream': expected a "
		    "boolean, but got %s instead.", type_name(stream));
		bad_request(c, msg, "stream", "invalid_type");
		goto fail;
	}
	p->stream = json_is_true(stream);
	opts = json_object_get(root, "stream_options");
	if (opts != NULL && !json_is_null(opts)) {
		json_t *iu = json_object_get(opts, "include_usage");

		if (!json_is_object(opts)) {
			snprintf(msg, sizeof(msg), "Invalid type for 'stream_options': "
			    "expected an object, but got %s instead.", type_name(opts));
			bad_request(c, msg, "stream_options", "invalid_type");
			goto fail;
		}
		if (!p->stream) {
			bad_request(c, "The 'stream_options' parameter is only "
			    "allowed when 'stream' is enabled.", "stream_options", NULL);
			goto fail;
		}
		if (iu != NULL && !json_is_boolean(iu)) {
			snprintf(msg, sizeof(msg), "Invalid type for "
			    "'stream_options.include_usage': expected a boolean, but "
			    "got %s instead.", type_name(iu));
			bad_request(c, msg, "stream_options.include_usage",
			    "invalid_type");
			goto fail;
		}
		p->include_usage = json_is_true(iu);
	}
	p->images = mock_stats.images - images;	/* image_part_ok counts them */
	return 0;
fail:
	free(p->last_user);
	p->last_user = NULL;
	buf_free(&p->sources);
	buf_free(&p->tools);
	return -1;
}

int
mock_bearer_ok(const char *auth)
{
	if (mock_api_key == NULL)
		return 1;
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return 0;
	auth += 7;
	while (*auth == ' ')
		auth++;
	return strcmp(auth, mock_api_key) == 0;
}

static uint64_t
count_cp(const char *s, size_t len)
{
	uint64_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

static void
stream_free(struct stream *s)
{
	if (s == NULL)
		return;
	free(s->model);
	free(s->head);
	free(s->text);
	for (uint64_t i = 0; s->deltas != NULL && i < s->npieces; i++)
		free(s->deltas[i]);
	free(s->deltas);
	json_decref(s->calls);
	free(s->said);
	free(s);
}

/*
 * What every chunk of the stream starts with, made once with jansson:
 * "data: " and the chunk object up to its "choices" value.
 */
static void
stream_head(struct stream *s)
{
	struct buf b = { 0 };
	json_t *j;
	char *txt;

	j = json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", s->id,
	    "object", "chat.completion.chunk", "created", s->created,
	    "model", s->model, "system_fingerprint", FINGERPRINT);
	if (j == NULL || (txt = json_dumps(j, JSON_COMPACT)) == NULL)
		fatalx("json_pack: chunk");
	json_decref(j);
	buf_addlit(&b, "data: ");
	buf_add(&b, txt, strlen(txt) - 1);	/* all but the closing brace */
	buf_addlit(&b, ",\"choices\":");
	free(txt);
	s->head = b.p;
	s->head_len = b.len;
}

static void stream_tools(struct stream *, const struct directives *);

/*
 * Whether the request lets d's calls be made: tools listed (or untooled:
 * a server that calls all the same), "tool_choice" not "none" (or
 * ignore_none: a server that ignores it, as Ollama does).
 */
static int
calls_allowed(const struct parsed *p, const struct directives *d)
{
	return (p->offered || d->untooled == 1) &&
	    (!p->no_tools || d->ignore_none == 1);
}

/* Everything about the answer, decided once from the request. */
static struct stream *
stream_new(struct parsed *p, struct directives *d, char *cleaned, size_t clen)
{
	struct stream *s = calloc(1, sizeof(*s));
	struct buf b = { 0 };
	int chunks = d->chunks >= 0 ? d->chunks : mock_cfg.chunks;
	uint64_t repeat = d->repeat > 0 ? (uint64_t)d->repeat : 1;

	if (s == NULL || (s->model = strdup(p->model)) == NULL)
		fatal("out of memory");
	snprintf(s->id, sizeof(s->id), "chatcmpl-mock%020llu", ++id_seq);
	s->created = (json_int_t)time(NULL);
	s->is_stream = p->stream;
	s->include_usage = p->include_usage;
	s->prompt_tokens = p->prompt_tokens;
	if (d->reply != NULL)
		buf_add(&b, d->reply, d->reply_len);
	else if (p->tools.len > 0 || p->no_tools) {
		/* What the tools answered the last question: told back. */
		buf_add(&b, "The tools said: ", 16);
		buf_add(&b, p->tools.p, p->tools.len);
	} else {
		buf_add(&b, "You said: ", 10);
		buf_add(&b, cleaned, clen);
	}
	s->text = b.p ? b.p : strdup("");
	s->text_len = b.len;
	if (s->text == NULL)
		fatal("out of memory");
	s->total_cp = d->empty == 1 ? 0 : count_cp(s->text, s->text_len) * repeat;
	s->npieces = s->total_cp < (uint64_t)chunks ? s->total_cp : (uint64_t)chunks;
	s->delay_ms = d->delay_ms >= 0 ? d->delay_ms : mock_cfg.delay_ms;
	s->first_delay_ms = d->first_delay_ms >= 0 ? d->first_delay_ms :
	    mock_cfg.first_delay_ms;
	s->cut = d->cut;
	s->stall = d->stall;
	/*
	 * Tool calls asked, and not answered yet (or fewer rounds than
	 * rounds=), and allowed by the request: the calls, not a text.
	 */
	if (d->ncalls > 0 && d->reply == NULL && calls_allowed(p, d) &&
	    (p->tools.len == 0 || p->rounds < d->rounds))
		stream_tools(s, d);
	if (s->is_stream)
		stream_head(s);
	return s;
}

/* j as compact JSON, malloc'd (jansson's, exactly). */
static char *
dumps(json_t *j)
{
	char *t;

	if (j == NULL || (t = json_dumps(j, JSON_COMPACT)) == NULL)
		fatalx("json_pack: tool call");
	json_decref(j);
	return t;
}

/*
 * d's calls as the stream's chunks, OpenAI's way: for each call one
 * delta with its index, id, type and name (arguments ""), then its
 * arguments in up to three pieces (cut between UTF-8 sequences); the
 * calls themselves kept for a reply that is not streamed.
 */
static void
stream_tools(struct stream *s, const struct directives *d)
{
	uint64_t n = 0;
	int i, k;

	if ((s->deltas = calloc((size_t)d->ncalls * 4 + 1, sizeof(char *))) ==
	    NULL || (s->calls = json_array()) == NULL)
		fatal("out of memory");
	/* What the model says before its calls (say=): a content delta. */
	if (d->say != NULL) {
		s->deltas[n++] = dumps(json_pack("{s:s%}", "content", d->say,
		    d->say_len));
		if ((s->said = strndup(d->say, d->say_len)) == NULL)
			fatal("out of memory");
	}
	for (i = 0; i < d->ncalls; i++) {
		const char *a = d->args[i] != NULL ? d->args[i] : "{}";
		size_t len = strlen(a), at = 0, to;
		char id[64];

		snprintf(id, sizeof(id), "call_mock%llu_%d", id_seq, i);
		s->deltas[n++] = dumps(json_pack("{s:[{s:i, s:s, s:s, s:{s:s, "
		    "s:s}}]}", "tool_calls", "index", i, "id", id, "type",
		    "function", "function", "name", d->call[i], "arguments",
		    ""));
		for (k = 1; k <= 3 && at < len; k++) {
			to = k == 3 ? len : len * (size_t)k / 3;
			while (to < len && ((unsigned char)a[to] & 0xc0) == 0x80)
				to++;
			if (to <= at)
				continue;
			s->deltas[n++] = dumps(json_pack("{s:[{s:i, s:{s:s%}}]}",
			    "tool_calls", "index", i, "function", "arguments",
			    a + at, to - at));
			at = to;
		}
		if (json_array_append_new(s->calls, json_pack("{s:s, s:s, "
		    "s:{s:s, s:s}}", "id", id, "type", "function", "function",
		    "name", d->call[i], "arguments", a)) < 0)
			fatal("out of memory");
	}
	s->npieces = n;
}

/* ------------------------------------------------------------ output */

/* The next `ncp` code points of the (repeated) reply, appended to out. */
static void
take_text(struct stream *s, uint64_t ncp, struct buf *out)
{
	size_t start = s->cur_off;

	s->cur_cp += ncp;
	while (ncp > 0) {
		if (s->cur_off == s->text_len) {	/* next repeat */
			buf_add(out, s->text + start, s->cur_off - start);
			s->cur_off = start = 0;
		}
		/* whole code points only: skip continuation bytes */
		s->cur_off++;
		while (s->cur_off < s->text_len &&
		    ((unsigned char)s->text[s->cur_off] & 0xC0) == 0x80)
			s->cur_off++;
		ncp--;
	}
	buf_add(out, s->text + start, s->cur_off - start);
}

static json_t *
usage_json(struct stream *s)
{
	return json_pack("{s:I, s:I, s:I}",
	    "prompt_tokens", (json_int_t)s->prompt_tokens,
	    "completion_tokens", (json_int_t)s->npieces,
	    "total_tokens", (json_int_t)(s->prompt_tokens + (long long)s->npieces));
}

/* A JSON string as jansson's compact dump writes it (valid UTF-8 in). */
static void
json_quote(struct buf *b, const char *p, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[6] = { '\\', 'u', '0', '0' };
	size_t i, run = 0;
	const char *e;
	size_t elen;

	buf_add(b, "\"", 1);
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		switch (ch) {
		case '"': e = "\\\""; elen = 2; break;
		case '\\': e = "\\\\"; elen = 2; break;
		case '\b': e = "\\b"; elen = 2; break;
		case '\f': e = "\\f"; elen = 2; break;
		case '\n': e = "\\n"; elen = 2; break;
		case '\r': e = "\\r"; elen = 2; break;
		case '\t': e = "\\t"; elen = 2; break;
		default:
			if (ch >= 0x20) {
				run++;
				continue;
			}
			esc[4] = hex[ch >> 4];
			esc[5] = hex[ch & 0xf];
			e = esc;
			elen = 6;
			break;
		}
		buf_add(b, p + i - run, run);
		run = 0;
		buf_add(b, e, elen);
	}
	buf_add(b, p + i - run, run);
	buf_add(b, "\"", 1);
}

/*
 * One chat.completion.chunk: a delta (JSON text) and finish reason, or
 * the usage chunk. Written straight out, byte for byte what jansson made
 * of it: the mock shares the machine with what it measures.
 */
static void
send_chunk(struct conn *c, struct stream *s, const char *delta,
    const char *finish, int usage_chunk)
{
	struct buf b = { 0 };

	buf_add(&b, s->head, s->head_len);
	if (usage_chunk)
		buf_printf(&b, "[],\"usage\":{\"prompt_tokens\":%lld,"
		    "\"completion_tokens\":%lld,\"total_tokens\":%lld}}\n\n",
		    s->prompt_tokens, (long long)s->npieces,
		    s->prompt_tokens + (long long)s->npieces);
	else {
		buf_addlit(&b, "[{\"index\":0,\"delta\":");
		buf_add(&b, delta, strlen(delta));
		buf_addlit(&b, ",\"logprobs\":null,\"finish_reason\":");
		if (finish != NULL)
			json_quote(&b, finish, strlen(finish));
		else
			buf_addlit(&b, "null");
		buf_addlit(&b, "}]");
		/* With include_usage, OpenAI sends "usage":null on every other chunk. */
		if (s->include_usage)
			buf_addlit(&b, ",\"usage\":null");
		buf_addlit(&b, "}\n\n");
	}
	http_stream_write(c, b.p, b.len);
	buf_free(&b);
}

static void
send_piece(struct conn *c, struct stream *s)
{
	uint64_t end;
	struct buf b = { 0 }, delta = { 0 };

	if (s->deltas != NULL) {
		send_chunk(c, s, s->deltas[s->next], NULL, 0);
		return;
	}
	end = (s->next + 1) * s->total_cp / s->npieces;

	take_text(s, end - s->cur_cp, &b);
	mock_stats.content_chunks++;
	buf_addlit(&delta, "{\"content\":");
	json_quote(&delta, b.p ? b.p : "", b.len);
	buf_addlit(&delta, "}");
	buf_free(&b);
	send_chunk(c, s, delta.p, NULL, 0);
	buf_free(&delta);
}

static void
finish(struct conn *c, struct stream *s)
{
	c->stream = NULL;
	stats_stream_ended(&mock_stats.completed);
	if (s->is_stream) {
		send_chunk(c, s, "{}", s->deltas != NULL ? "tool_calls" : "stop",
		    0);
		if (s->include_usage)
			send_chunk(c, s, NULL, NULL, 1);
		http_stream_write(c, "data: [DONE]\n\n", 14);
		stream_free(s);
		http_stream_end(c);
	} else {
		struct buf b = { 0 };
		json_t *j;

		take_text(s, s->total_cp - s->cur_cp, &b);
		if (s->calls != NULL)
			j = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:{s:s, s:o, "
			    "s:O, s:n}, s:n, s:s}], s:o, s:s}",
			    "id", s->id, "object", "chat.completion", "created",
			    s->created, "model", s->model,
			    "choices", "index", 0, "message", "role", "assistant",
			    "content", s->said != NULL ? json_string(s->said) :
			    json_null(), "tool_calls", s->calls, "refusal",
			    "logprobs", "finish_reason", "tool_calls",
			    "usage", usage_json(s), "system_fingerprint",
			    FINGERPRINT);
		else
			j = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:{s:s, s:s%, "
			    "s:n}, s:n, s:s}], s:o, s:s}",
			    "id", s->id, "object", "chat.completion", "created",
			    s->created, "model", s->model,
			    "choices", "index", 0, "message", "role", "assistant",
			    "content", b.p ? b.p : "", b.len, "refusal",
			    "logprobs", "finish_reason", "stop",
			    "usage", usage_json(s), "system_fingerprint",
			    FINGERPRINT);
		if (j == NULL)
			fatalx("json_pack: completion");
		buf_free(&b);
		stream_free(s);
		http_respond_json(c, 200, j, "Cache-Control: no-cache\r\n");
	}
}

/* ------------------------------------------------------------ the pump */

void
completions_pump(struct conn *c)
{
	struct stream *s = c->stream;
	int steps = 0;

	while (s != NULL && c->stream == s && !c->dead) {
		uint64_t delay;

		if (s->waiting || s->stalled)
			break;
		if (http_pending(c) > MOCK_MAX_PENDING)
			break;		/* http.c pumps again once it drains */
		if (++steps > STEPS_PER_PUMP) {
			c->want_pump = 1;	/* EPOLLOUT brings us back */
			break;
		}
		if (s->cut >= 0 && s->next == (uint64_t)s->cut) {
			c->stream = NULL;
			stats_stream_ended(&mock_stats.cut);
			stream_free(s);
			http_cut(c);
			return;
		}
		if (s->stall >= 0 && s->next == (uint64_t)s->stall) {
			/* Nothing more, ever: only the client leaving ends this. */
			s->stalled = 1;
			break;
		}
		delay = s->next == 0 ? (uint64_t)s->first_delay_ms :
		    s->next < s->npieces ? (uint64_t)s->delay_ms : 0;
		if (delay > 0 && !s->due) {
			s->waiting = 1;
			ptimer_after_us(c, delay * 1000);
			break;
		}
		s->due = 0;
		if (s->next < s->npieces) {
			if (s->is_stream)
				send_piece(c, s);
			s->next++;
			continue;
		}
		finish(c, s);
		return;
	}
	if (!c->dead)
		http_flush(c);
}

void
completions_timer(struct conn *c)
{
	struct stream *s = c->stream;

	if (s == NULL)
		return;
	s->waiting = 0;
	s->due = 1;
	completions_pump(c);
}

void
completions_abort(struct conn *c)
{
	struct stream *s = c->stream;

	c->stream = NULL;
	stats_stream_ended(&mock_stats.aborted);
	log_debug("client went away after %" PRIu64 " of %" PRIu64 " chunks",
	    s->next, s->npieces);
	stream_free(s);
}

/* ------------------------------------------------------------ entry points */

/* Appends to p->last_user (*len bytes) what cite.c finds in the sources. */
static void
add_citations(struct parsed *p, size_t *len)
{
	char *suffix = cite_suffix(p->sources.p, p->last_user);
	size_t slen;
	char *n;

	if (suffix == NULL)
		return;
	slen = strlen(suffix);
	if ((n = realloc(p->last_user, *len + slen + 1)) == NULL)
		fatal("out of memory");
	memcpy(n + *len, suffix, slen + 1);
	p->last_user = n;
	*len += slen;
	free(suffix);
}

void
completions_handle(struct conn *c)
{
	struct request *r = &c->req;
	struct parsed p;
	struct directives d;
	json_error_t jerr;
	json_t *root;
	const char *err;
	size_t len;
	int status;
	char msg[400];

	mock_stats.requests++;
	if (!mock_bearer_ok(r->authorization)) {
		openai_error_status(c, 401, NULL);
		return;
	}
	if (control_fail_take(MOCK_EP_CHAT, &status)) {
		if (status > 0)
			mock_stats.errors++;
		control_fail_answer(c, status);
		return;
	}
	root = json_loadb(r->body.p ? r->body.p : "", r->body.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(msg, sizeof(msg), "We could not parse the JSON body of "
		    "your request. (HINT: This likely means you aren't using your "
		    "HTTP library correctly. The OpenAI API expects a JSON payload, "
		    "but what was sent was not valid JSON: %.120s)", jerr.text);
		bad_request(c, msg, NULL, NULL);
		return;
	}
	if (parse_body(c, root, &p) == -1) {
		json_decref(root);
		return;
	}
	len = strlen(p.last_user);
	if ((err = directives_parse(p.last_user, &len, &d)) != NULL) {
		bad_request(c, err, "messages", "mock_directive");
		goto out;
	}
	if (d.reply == NULL && d.nocite != 1 && p.sources.len > 0)
		add_citations(&p, &len);
	if (mock_cfg.refuse_images && p.images > 0) {
		/* OpenAI's answer to an image it cannot decode. */
		mock_stats.errors++;
		http_respond_json(c, 400, openai_error("You uploaded an "
		    "unsupported image. Please make sure your image is valid.",
		    "invalid_request_error", NULL, "invalid_image"), NULL);
		goto out;
	}
	status = d.status >= 0 ? d.status : mock_cfg.status;
	if (status != 0 && status != 200) {
		openai_error_status(c, status, p.model);
		goto out;
	}
	if (d.reply == NULL && d.empty != 1 && d.repeat > 0 &&
	    (uint64_t)(len + 10) * (uint64_t)d.repeat > MOCK_MAX_REPLY) {
		bad_request(c, "mockai: repeat makes the reply too long",
		    "messages", "mock_directive");
		goto out;
	}
	if (d.reply != NULL && d.repeat > 0 &&
	    (uint64_t)d.reply_len * (uint64_t)d.repeat > MOCK_MAX_REPLY) {
		bad_request(c, "mockai: repeat makes the reply too long",
		    "messages", "mock_directive");
		goto out;
	}

	c->stream = stream_new(&p, &d, p.last_user, len);
	stats_stream_started();
	if (c->stream->is_stream) {
		char extra[128];

		snprintf(extra, sizeof(extra), "Cache-Control: no-cache\r\n"
		    "X-Request-Id: req_mock%llu\r\n", id_seq);
		http_stream_begin(c, 200, "text/event-stream; charset=utf-8", extra);
		send_chunk(c, c->stream, "{\"role\":\"assistant\",\"content\":\"\"}",
		    NULL, 0);
	}
	completions_pump(c);
out:
	directives_free(&d);
	free(p.last_user);
	buf_free(&p.sources);
	buf_free(&p.tools);
	json_decref(root);
}

void
completions_models(struct conn *c)
{
	http_respond_json(c, 200, json_pack("{s:s, s:[{s:s, s:s, s:i, s:s}, "
	    "{s:s, s:s, s:i, s:s}]}", "object", "list", "data",
	    "id", "gpt-4.1-mini", "object", "model", "created", 0, "owned_by", "mockai",
	    "id", "mockai", "object", "model", "created", 0, "owned_by", "mockai"),
	    NULL);
}
