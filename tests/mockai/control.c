/*
 * How tests steer and watch the mock: [[mock:…]] directives in the last user
 * message (they arrive through Parley, which forwards what a visitor typed),
 * and the plain-JSON /_mock endpoints (requests seen, stats, run-time
 * defaults). Also GET /health.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mockai.h"
#include "proto.h"

#define LOG_BODY_MAX	(256 * 1024)	/* bigger bodies are logged by size only */
#define LOG_RAW_MAX	(64 * 1024)	/* how much of a non-JSON body is kept */

struct mock_config mock_defaults = { 8, 0, 0, 0, 0 };
struct mock_config mock_cfg = { 8, 0, 0, 0, 0 };
struct mock_stats mock_stats;
const char *mock_api_key;

static json_t *ring[MOCK_LOG_KEEP];	/* oldest at ring_head when full */
static size_t ring_head, ring_count;
static long long ring_seq;

/* ------------------------------------------------------------ utilities */

/* Strict UTF-8: no overlong forms, surrogates, or NULs. */
int
utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *e = p + len;

	while (p < e) {
		unsigned c = *p;
		size_t n;
		unsigned cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			n = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			n = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		if ((size_t)(e - p) <= n)
			return 0;
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		p += n + 1;
	}
	return 1;
}

/*
 * A JSON string from bytes that may not be UTF-8 (paths, header values,
 * parser messages quoting input): bytes that don't fit become '?'.
 */
json_t *
mock_text(const char *s)
{
	json_t *j = json_string(s);
	char *t;

	if (j != NULL)
		return j;
	if ((t = strdup(s)) == NULL)
		fatal("out of memory");
	for (char *p = t; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(t);
	free(t);
	return j;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX becomes the byte; a '%' not followed by two hex digits stays. */
static char *
percent_decode(const char *s, size_t *outlen)
{
	size_t n = strlen(s), j = 0;
	char *o = malloc(n + 1);

	if (o == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		/* short-circuit: s[i + 2] is read only if s[i + 1] was a digit */
		if (s[i] == '%' && (hi = hexval(s[i + 1])) >= 0 &&
		    (lo = hexval(s[i + 2])) >= 0) {
			o[j++] = (char)(hi * 16 + lo);
			i += 2;
		} else
			o[j++] = s[i];
	}
	o[j] = '\0';
	*outlen = j;
	return o;
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

/* ------------------------------------------------------------ directives */

static const char *
apply_item(char *item, struct directives *d, char *err, size_t errlen)
{
	static const struct {
		const char *key;
		size_t off;
		long long min, max;
	} nums[] = {
		{ "status", offsetof(struct directives, status), 200, 599 },
		{ "cut", offsetof(struct directives, cut), 0, MOCK_MAX_CHUNKS },
		{ "stall", offsetof(struct directives, stall), 0, MOCK_MAX_CHUNKS },
		{ "chunks", offsetof(struct directives, chunks), 1, MOCK_MAX_CHUNKS },
		{ "delay", offsetof(struct directives, delay_ms), 0, MOCK_MAX_DELAY },
		{ "delay_ms", offsetof(struct directives, delay_ms), 0, MOCK_MAX_DELAY },
		{ "first_delay", offsetof(struct directives, first_delay_ms), 0, MOCK_MAX_DELAY },
		{ "first_delay_ms", offsetof(struct directives, first_delay_ms), 0, MOCK_MAX_DELAY },
		{ "empty", offsetof(struct directives, empty), 0, 1 },
		{ "nocite", offsetof(struct directives, nocite), 0, 1 },
		{ "rounds", offsetof(struct directives, rounds), 1, 99 },
		{ "ignore_none", offsetof(struct directives, ignore_none), 0, 1 },
		{ "untooled", offsetof(struct directives, untooled), 0, 1 },
	};
	char *eq = strchr(item, '=');
	const char *key, *val, *errstr;
	long long v;

	if (eq != NULL) {
		*eq = '\0';
		key = trim(item);
		val = trim(eq + 1);
	} else {
		key = trim(item);
		val = "1";	/* a bare key is a flag: [[mock:empty]] */
	}
	if (*key == '\0')
		return NULL;
	if (strcmp(key, "reply") == 0) {
		free(d->reply);
		d->reply = percent_decode(val, &d->reply_len);
		if (!utf8_valid(d->reply, d->reply_len))
			return "mockai directive: reply is not valid UTF-8 (or holds a NUL)";
		return NULL;
	}
	if (strcmp(key, "say") == 0) {
		free(d->say);
		d->say = percent_decode(val, &d->say_len);
		if (!utf8_valid(d->say, d->say_len) || d->say_len == 0)
			return "mockai directive: say is not valid UTF-8 text";
		return NULL;
	}
	if (strcmp(key, "call") == 0) {
		if (d->ncalls == MOCK_MAX_CALLS)
			return "mockai directive: at most 4 calls";
		if (*val == '\0' || strspn(val, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(val))
			return "mockai directive: call=NAME, a function's name";
		if ((d->call[d->ncalls++] = strdup(val)) == NULL)
			fatal("out of memory");
		return NULL;
	}
	if (strcmp(key, "args") == 0) {
		size_t n;

		if (d->ncalls == 0)
			return "mockai directive: args= follows a call=";
		free(d->args[d->ncalls - 1]);
		d->args[d->ncalls - 1] = percent_decode(val, &n);
		if (!utf8_valid(d->args[d->ncalls - 1], n))
			return "mockai directive: args is not valid UTF-8";
		return NULL;
	}
	if (strcmp(key, "repeat") == 0) {
		v = strtonum(val, 1, MOCK_MAX_REPLY, &errstr);
		if (errstr != NULL) {
			snprintf(err, errlen, "mockai directive: repeat=%.40s is %s",
			    val, errstr);
			return err;
		}
		d->repeat = (long)v;
		return NULL;
	}
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		if (strcmp(key, nums[i].key) != 0)
			continue;
		v = strtonum(val, nums[i].min, nums[i].max, &errstr);
		if (errstr == NULL && strcmp(key, "status") == 0 && v > 200 && v < 400)
			errstr = "not 200 or an error status";
		if (errstr != NULL) {
			snprintf(err, errlen, "mockai directive: %s=%.40s is %s",
			    key, val, errstr);
			return err;
		}
		*(int *)(void *)((char *)d + nums[i].off) = (int)v;
		return NULL;
	}
	snprintf(err, errlen, "mockai directive: unknown key '%.40s' (known: "
	    "status, cut, stall, reply, chunks, delay, first_delay, empty, repeat, "
	    "nocite, call, args, rounds, say, ignore_none, untooled)",
	    key);
	return err;
}

const char *
directives_parse(char *text, size_t *len, struct directives *d)
{
	static char err[300];
	char *start, *end, *item, *items;
	size_t pos = 0, n;
	const char *e;

	memset(d, 0, sizeof(*d));
	d->status = d->cut = d->stall = d->chunks = -1;
	d->delay_ms = d->first_delay_ms = d->empty = d->nocite = -1;
	d->repeat = -1;
	while ((start = strstr(text + pos, "[[mock:")) != NULL) {
		/* Unterminated: not a directive, just text. */
		if ((end = strstr(start + 7, "]]")) == NULL)
			break;
		*end = '\0';
		items = start + 7;
		while ((item = strsep(&items, ",")) != NULL)
			if ((e = apply_item(item, d, err, sizeof(err))) != NULL)
				return e;
		/* Cut the block out of the text that gets echoed. */
		n = strlen(end + 2);
		memmove(start, end + 2, n + 1);
		pos = (size_t)(start - text);
	}
	n = strlen(text);
	while (n > 0 && is_space(text[n - 1]))
		text[--n] = '\0';
	for (pos = 0; pos < n && is_space(text[pos]); pos++)
		;
	memmove(text, text + pos, n - pos + 1);
	*len = n - pos;
	return NULL;
}

void
directives_free(struct directives *d)
{
	int i;

	free(d->reply);
	d->reply = NULL;
	free(d->say);
	d->say = NULL;
	for (i = 0; i < d->ncalls; i++) {
		free(d->call[i]);
		free(d->args[i]);
	}
	d->ncalls = 0;
}

/* ------------------------------------------------------------ stats */

void
stats_stream_started(void)
{
	mock_stats.active++;
	if (mock_stats.active > mock_stats.max_concurrent)
		mock_stats.max_concurrent = mock_stats.active;
}

void
stats_stream_ended(long long *counter)
{
	mock_stats.active--;
	(*counter)++;
}

static json_t *
stats_json(void)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
	    "active_streams", (json_int_t)mock_stats.active,
	    "completed", (json_int_t)mock_stats.completed,
	    "aborted", (json_int_t)mock_stats.aborted,
	    "cut", (json_int_t)mock_stats.cut,
	    "max_concurrent", (json_int_t)mock_stats.max_concurrent,
	    "requests", (json_int_t)mock_stats.requests,
	    "errors", (json_int_t)mock_stats.errors,
	    "content_chunks", (json_int_t)mock_stats.content_chunks,
	    "bytes_sent", (json_int_t)mock_stats.bytes_sent,
	    "pending_bytes", (json_int_t)http_total_pending(),
	    "embed_requests", (json_int_t)mock_stats.embed_requests,
	    "embed_inputs", (json_int_t)mock_stats.embed_inputs,
	    "embed_errors", (json_int_t)mock_stats.embed_errors,
	    "rerank_requests", (json_int_t)mock_stats.rerank_requests,
	    "rerank_documents", (json_int_t)mock_stats.rerank_documents,
	    "rerank_errors", (json_int_t)mock_stats.rerank_errors,
	    "forced_failures", (json_int_t)mock_stats.forced_failures,
	    "images", (json_int_t)mock_stats.images);
}

static void
stats_reset(void)
{
	long long active = mock_stats.active;

	memset(&mock_stats, 0, sizeof(mock_stats));
	mock_stats.active = active;
	mock_stats.max_concurrent = active;
}

/* ------------------------------------------------------------ request log */

static void
ring_clear(void)
{
	for (size_t i = 0; i < MOCK_LOG_KEEP; i++) {
		json_decref(ring[i]);
		ring[i] = NULL;
	}
	ring_head = ring_count = 0;
}

void
control_record(const struct request *r)
{
	json_t *e, *h, *body = NULL;
	size_t blen = r->body.len;
	const char *q = r->url.p ? strchr(r->url.p, '?') : NULL;

	h = json_object();
	if (r->authorization)
		json_object_set_new(h, "authorization", mock_text(r->authorization));
	if (r->content_type)
		json_object_set_new(h, "content-type", mock_text(r->content_type));
	if (r->accept)
		json_object_set_new(h, "accept", mock_text(r->accept));
	e = json_pack("{s:I, s:I, s:s, s:o, s:o, s:o, s:I}",
	    "seq", (json_int_t)++ring_seq,
	    "time", (json_int_t)proto_wall_ms(),
	    "method", http_method_str(r->method), "path", mock_text(r->path),
	    "query", mock_text(q ? q + 1 : ""), "headers", h,
	    "body_bytes", (json_int_t)blen);
	if (e == NULL)
		fatalx("json_pack: request log entry");
	if (blen > 0 && blen <= LOG_BODY_MAX)
		body = json_loadb(r->body.p, blen,
		    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
	json_object_set_new(e, "body", body ? body : json_null());
	if (body == NULL && blen > 0) {
		/* Not JSON: keep the start of it as text, when it is text. */
		size_t n = blen < LOG_RAW_MAX ? blen : LOG_RAW_MAX;

		while (n > 0 && n < blen && ((unsigned char)r->body.p[n] & 0xC0) == 0x80)
			n--;
		if (utf8_valid(r->body.p, n))
			json_object_set_new(e, "raw_body", json_stringn(r->body.p, n));
		if (n < blen)
			json_object_set_new(e, "body_truncated", json_true());
	}
	json_decref(ring[ring_head]);
	ring[ring_head] = e;
	ring_head = (ring_head + 1) % MOCK_LOG_KEEP;
	if (ring_count < MOCK_LOG_KEEP)
		ring_count++;
}

static json_t *
ring_json(void)
{
	json_t *a = json_array();
	size_t first = (ring_head + MOCK_LOG_KEEP - ring_count) % MOCK_LOG_KEEP;

	for (size_t i = 0; i < ring_count; i++)
		json_array_append(a, ring[(first + i) % MOCK_LOG_KEEP]);
	return a;
}

/* ------------------------------------------------------------ config */

static json_t *
config_json(void)
{
	return json_pack("{s:i, s:i, s:i, s:i, s:b}", "chunks", mock_cfg.chunks,
	    "delay_ms", mock_cfg.delay_ms, "first_delay_ms",
	    mock_cfg.first_delay_ms, "status", mock_cfg.status,
	    "refuse_images", mock_cfg.refuse_images);
}

/* Applies every key or none; returns an error message or NULL. */
static const char *
config_apply(const struct buf *body, char *err, size_t errlen)
{
	struct mock_config n = mock_cfg;
	json_t *root, *v;
	const char *k;

	root = json_loadb(body->p ? body->p : "", body->len,
	    JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(root)) {
		json_decref(root);
		return "body must be a JSON object";
	}
	json_object_foreach(root, k, v) {
		int *slot;
		long long min, max;

		if (strcmp(k, "chunks") == 0)
			slot = &n.chunks, min = 1, max = MOCK_MAX_CHUNKS;
		else if (strcmp(k, "delay_ms") == 0)
			slot = &n.delay_ms, min = 0, max = MOCK_MAX_DELAY;
		else if (strcmp(k, "first_delay_ms") == 0)
			slot = &n.first_delay_ms, min = 0, max = MOCK_MAX_DELAY;
		else if (strcmp(k, "refuse_images") == 0) {
			if (!json_is_boolean(v)) {
				snprintf(err, errlen, "'refuse_images' must be "
				    "true or false");
				json_decref(root);
				return err;
			}
			n.refuse_images = json_is_true(v);
			continue;
		} else if (strcmp(k, "status") == 0) {
			slot = &n.status, min = 0, max = 599;
			if (json_is_null(v)) {	/* null: no forced error */
				n.status = 0;
				continue;
			}
		} else {
			snprintf(err, errlen, "unknown key '%.40s' (known: chunks, "
			    "delay_ms, first_delay_ms, status, refuse_images)", k);
			json_decref(root);
			return err;
		}
		if (!json_is_integer(v) || json_integer_value(v) < min ||
		    json_integer_value(v) > max ||
		    (slot == &n.status && json_integer_value(v) != 0 &&
		    json_integer_value(v) != 200 && json_integer_value(v) < 400)) {
			snprintf(err, errlen, "'%s' must be an integer from %lld to "
			    "%lld%s", k, min, max, slot == &n.status ?
			    " (0 or 200: none, else 400-599)" : "");
			json_decref(root);
			return err;
		}
		*slot = (int)json_integer_value(v);
	}
	json_decref(root);
	if (n.status == 200)
		n.status = 0;
	mock_cfg = n;
	return NULL;
}

/* ------------------------------------------------------------ forced failures */

/* What POST /_mock/fail armed, per endpoint: the next count calls fail. */
static struct {
	int status;		/* 0: close the connection without an answer */
	int stall;		/* no answer at all, until the client leaves */
	long long count;
} fails[MOCK_EP_N];

static const char *const ep_paths[MOCK_EP_N] = {
	"/v1/chat/completions", "/v1/embeddings", "/v1/rerank",
};

int
control_fail_take(enum mock_endpoint ep, int *status)
{
	if (fails[ep].count <= 0)
		return 0;
	fails[ep].count--;
	*status = fails[ep].stall ? -1 : fails[ep].status;
	mock_stats.forced_failures++;
	return 1;
}

void
control_fail_answer(struct conn *c, int status)
{
	if (status < 0) {
		/* Busy with this request until the client closes (http_close). */
		log_debug("fd %d: stalled by /_mock/fail", c->io.fd);
		return;
	}
	if (status != 0) {
		openai_error_send(c, status, NULL);
		return;
	}
	c->req.keep_alive = 0;
	http_cut(c);
}

/* The endpoint a path names, with or without "/v1"; -1 for none. */
static int
ep_of(const char *path)
{
	for (int i = 0; i < MOCK_EP_N; i++)
		if (strcmp(path, ep_paths[i]) == 0 ||
		    strcmp(path, ep_paths[i] + 3) == 0)
			return i;
	return -1;
}

static json_t *
fails_json(void)
{
	json_t *j = json_object();

	for (int i = 0; i < MOCK_EP_N; i++)
		json_object_set_new(j, ep_paths[i], json_pack("{s:i, s:b, s:I}",
		    "status", fails[i].status, "stall", fails[i].stall,
		    "count", (json_int_t)fails[i].count));
	return j;
}

/* {"path", "status", "count", "stall"?}: arms a failure; an error message or NULL. */
static const char *
fail_apply(const struct buf *body)
{
	json_t *root, *path, *status, *count, *stall;
	const char *err = NULL;
	json_int_t st = 0, n = 0;
	int ep = -1;

	root = json_loadb(body->p ? body->p : "", body->len,
	    JSON_REJECT_DUPLICATES, NULL);
	path = json_object_get(root, "path");
	status = json_object_get(root, "status");
	count = json_object_get(root, "count");
	stall = json_object_get(root, "stall");
	if (!json_is_object(root) || path == NULL || status == NULL ||
	    count == NULL || json_object_size(root) != 3 + (stall != NULL))
		err = "body must be a JSON object with path, status and count "
		    "(and stall, if any)";
	else if (stall != NULL && !json_is_boolean(stall))
		err = "'stall' must be a boolean";
	else if (!json_is_string(path) ||
	    (ep = ep_of(json_string_value(path))) < 0)
		err = "'path' must be /v1/chat/completions, /v1/embeddings or "
		    "/v1/rerank (/v1 may be left out)";
	else if (!json_is_integer(status) ||
	    ((st = json_integer_value(status)) != 0 && (st < 400 || st > 599)))
		err = "'status' must be 400-599, or 0 (close the connection "
		    "without an answer)";
	else if (!json_is_integer(count) || (n = json_integer_value(count)) < 0 ||
	    n > 1000000)
		err = "'count' must be an integer from 0 to 1000000";
	else {
		fails[ep].status = (int)st;
		fails[ep].stall = json_is_true(stall);
		fails[ep].count = n;
	}
	json_decref(root);
	return err;
}

/* ------------------------------------------------------------ endpoints */

static void
plain_error(struct conn *c, int status, const char *msg, const char *extra)
{
	http_respond_json(c, status, json_pack("{s:o}", "error", mock_text(msg)),
	    extra);
}

static void
wrong_method(struct conn *c, const char *allow)
{
	char extra[64];

	snprintf(extra, sizeof(extra), "Allow: %s\r\n", allow);
	plain_error(c, 405, "method not allowed", extra);
}

void
control_handle(struct conn *c)
{
	struct request *r = &c->req;
	enum http_method m = r->method;
	const char *p = r->path;
	const char *ns = "Cache-Control: no-store\r\n";
	char err[256];
	const char *e;

	if (strcmp(p, "/health") == 0) {
		if (m != HTTP_GET && m != HTTP_HEAD)
			wrong_method(c, "GET");
		else
			http_respond_json(c, 200, json_pack("{s:s}", "status", "ok"), ns);
	} else if (strcmp(p, "/_mock/requests") == 0) {
		if (m == HTTP_GET)
			http_respond_json(c, 200, ring_json(), ns);
		else if (m == HTTP_DELETE) {
			ring_clear();
			http_respond_json(c, 200, json_pack("{s:b}", "ok", 1), ns);
		} else
			wrong_method(c, "GET, DELETE");
	} else if (strcmp(p, "/_mock/stats") == 0) {
		if (m == HTTP_GET)
			http_respond_json(c, 200, stats_json(), ns);
		else if (m == HTTP_DELETE) {
			stats_reset();
			http_respond_json(c, 200, stats_json(), ns);
		} else
			wrong_method(c, "GET, DELETE");
	} else if (strcmp(p, "/_mock/config") == 0) {
		if (m == HTTP_GET)
			http_respond_json(c, 200, config_json(), ns);
		else if (m == HTTP_POST) {
			if ((e = config_apply(&r->body, err, sizeof(err))) != NULL)
				plain_error(c, 400, e, ns);
			else {
				log_info("config: chunks %d, delay %d ms, first delay "
				    "%d ms, status %d, refuse images %d",
				    mock_cfg.chunks, mock_cfg.delay_ms,
				    mock_cfg.first_delay_ms, mock_cfg.status,
				    mock_cfg.refuse_images);
				http_respond_json(c, 200, config_json(), ns);
			}
		} else
			wrong_method(c, "GET, POST");
	} else if (strcmp(p, "/_mock/reset") == 0) {
		if (m != HTTP_POST) {
			wrong_method(c, "POST");
			return;
		}
		mock_cfg = mock_defaults;
		memset(fails, 0, sizeof(fails));
		ring_clear();
		stats_reset();
		http_respond_json(c, 200, json_pack("{s:b}", "ok", 1), ns);
	} else if (strcmp(p, "/_mock/fail") == 0) {
		if (m == HTTP_GET)
			http_respond_json(c, 200, fails_json(), ns);
		else if (m == HTTP_POST) {
			if ((e = fail_apply(&r->body)) != NULL)
				plain_error(c, 400, e, ns);
			else
				http_respond_json(c, 200, fails_json(), ns);
		} else
			wrong_method(c, "GET, POST");
	} else {
		snprintf(err, sizeof(err), "unknown mock endpoint %.100s "
		    "(known: /_mock/requests, /_mock/stats, /_mock/config, "
		    "/_mock/fail, /_mock/reset)", p);
		plain_error(c, 404, err, ns);
	}
}

void
control_free(void)
{
	ring_clear();
}
