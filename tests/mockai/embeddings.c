/*
 * POST /v1/embeddings (OpenAI's shape) and POST /v1/rerank (the Jina and
 * Cohere shape vLLM and llama.cpp serve), with vectors that carry some
 * meaning and cost nothing: each text's features (its lower-cased words,
 * a crude stem of each, and the character trigrams of each word) are
 * hashed into the vector's dimensions with a sign from the hash
 * ("feature hashing"), then the vector is L2-normalised. Texts that share
 * words, or words' stems, have a higher cosine than unrelated ones, and
 * the same text always gets the same vector. A rerank score is the
 * cosine of the query's and the document's vectors, at least 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mockai.h"

#define RERANK_DIMS	1536	/* the vectors rerank compares */
#define W_WORD		1.0
#define W_STEM		1.0
#define W_TRIGRAM	0.5

static unsigned long long rerank_seq;

/* ------------------------------------------------------------ features */

static int
word_byte(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch >= 0x80;
}

static int
ends_with(const char *w, size_t n, const char *suf)
{
	size_t k = strlen(suf);

	return n > k && memcmp(w + n - k, suf, k) == 0;
}

/*
 * A crude stem of lower-cased word w (n bytes), the length of w it keeps
 * (writing at most one byte, for "ies" -> "y"): "ingly", "edly", "ing",
 * "ed", "ly" dropped, "ies" made "y", "es" dropped after s, x, z, ch or
 * sh, a last "s" (not "ss") dropped, each only when 3 bytes stay; then a
 * last "e". "installing", "installed", "installs" all give "install";
 * "package", "packages", "packaging" give "packag".
 */
static size_t
stem(char *w, size_t n)
{
	static const char *const drop[] = { "ingly", "edly", "ing", "ed", "ly" };
	size_t i;

	for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
		if (ends_with(w, n, drop[i]) && n - strlen(drop[i]) >= 3) {
			n -= strlen(drop[i]);
			goto e;
		}
	if (ends_with(w, n, "ies") && n - 3 >= 3) {
		w[n - 3] = 'y';
		n -= 2;
	} else if (ends_with(w, n, "es") && n - 2 >= 3 &&
	    (strchr("sxz", w[n - 3]) != NULL || ends_with(w, n - 2, "ch") ||
	    ends_with(w, n - 2, "sh")))
		n -= 2;
	else if (ends_with(w, n, "s") && !ends_with(w, n, "ss") && n - 1 >= 3)
		n -= 1;
e:
	if (n > 3 && w[n - 1] == 'e')
		n--;
	return n;
}

/* FNV-1a, 64 bits, of a tag byte and s[0..n). */
static uint64_t
hash(char tag, const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = (h ^ (unsigned char)tag) * 0x100000001b3ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
	return h;
}

static void
add_feature(double *acc, int dims, char tag, const char *s, size_t n, double w)
{
	uint64_t h = hash(tag, s, n);

	acc[h % (uint64_t)dims] += (h >> 63) ? -w : w;
}

/* One word's features: itself, its stem, the trigrams of "^word$". */
static void
add_word(double *acc, int dims, const char *s, size_t n)
{
	char w[66], t[3];
	size_t i, sn;

	/* Longer words are cut: a 64-byte word is a feature of its own. */
	if (n > 64)
		n = 64;
	w[0] = '^';
	for (i = 0; i < n; i++) {
		char ch = s[i];

		w[i + 1] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	w[n + 1] = '$';
	add_feature(acc, dims, 'w', w + 1, n, W_WORD);
	for (i = 0; i + 3 <= n + 2; i++) {
		memcpy(t, w + i, 3);
		add_feature(acc, dims, 't', t, 3, W_TRIGRAM);
	}
	sn = stem(w + 1, n);
	add_feature(acc, dims, 's', w + 1, sn, W_STEM);
}

void
embed_text(const char *s, size_t len, float *v, int dims)
{
	double *acc = calloc((size_t)dims, sizeof(*acc));
	double norm = 0;
	size_t i = 0, start;
	int words = 0;

	if (acc == NULL)
		fatal("out of memory");
	while (i < len) {
		while (i < len && !word_byte((unsigned char)s[i]))
			i++;
		start = i;
		while (i < len && word_byte((unsigned char)s[i]))
			i++;
		if (i > start) {
			add_word(acc, dims, s + start, i - start);
			words++;
		}
	}
	/*
	 * No word at all ("?!"), or features that cancelled out (few
	 * dimensions): the text itself is the one feature.
	 */
	for (int d = 0; d < dims; d++)
		norm += acc[d] * acc[d];
	if (words == 0 || norm == 0) {
		memset(acc, 0, (size_t)dims * sizeof(*acc));
		add_feature(acc, dims, 'x', s, len, 1.0);
		norm = 1;
	}
	norm = norm > 0 ? sqrt(norm) : 1;
	for (int d = 0; d < dims; d++)
		v[d] = (float)(acc[d] / norm);
	free(acc);
}

/* ------------------------------------------------------------ requests */

static void
bad(struct conn *c, long long *errors, const char *msg, const char *param,
    const char *code)
{
	(*errors)++;
	http_respond_json(c, 400, openai_error(msg, "invalid_request_error",
	    param, code), NULL);
}

/*
 * The request's JSON object and its model, or NULL after answering the
 * error (wrong key, forced failure, not JSON, not an object, no model).
 */
static json_t *
request_open(struct conn *c, enum mock_endpoint ep, long long *errors,
    const char **model)
{
	struct request *r = &c->req;
	json_error_t jerr;
	json_t *root, *m;
	char msg[300];
	int status;

	if (!mock_bearer_ok(r->authorization)) {
		(*errors)++;
		openai_error_send(c, 401, NULL);
		return NULL;
	}
	if (control_fail_take(ep, &status)) {
		(*errors)++;
		control_fail_answer(c, status);
		return NULL;
	}
	root = json_loadb(r->body.p ? r->body.p : "", r->body.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(msg, sizeof(msg), "We could not parse the JSON body of "
		    "your request. (%.120s)", jerr.text);
		bad(c, errors, msg, NULL, NULL);
		return NULL;
	}
	m = json_object_get(root, "model");
	if (!json_is_object(root) || !json_is_string(m)) {
		bad(c, errors, json_is_object(root) ? "you must provide a model "
		    "parameter (a string)" : "Invalid request: expected an "
		    "object.", json_is_object(root) ? "model" : NULL,
		    "invalid_type");
		json_decref(root);
		return NULL;
	}
	*model = json_string_value(m);
	return root;
}

/* A JSON string (any bytes: bad ones become '?') appended to b. */
static void
add_jstr(struct buf *b, const char *s)
{
	json_t *j = mock_text(s);
	char *t = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);

	json_decref(j);
	if (t == NULL)
		fatalx("json_dumps: string");
	buf_add(b, t, strlen(t));
	free(t);
}

static void
add_base64(struct buf *b, const unsigned char *p, size_t n)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char q[4];

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? tab[v & 63] : '=';
		buf_add(b, q, 4);
	}
}

/* One vector: a JSON array of numbers, or base64 of float32 little-endian. */
static void
add_vector(struct buf *b, const float *v, int dims, int b64)
{
	unsigned char *raw;

	if (!b64) {
		buf_add(b, "[", 1);
		for (int d = 0; d < dims; d++)
			buf_printf(b, d ? ",%.7g" : "%.7g", (double)v[d]);
		buf_add(b, "]", 1);
		return;
	}
	if ((raw = malloc((size_t)dims * 4)) == NULL)
		fatal("out of memory");
	for (int d = 0; d < dims; d++) {
		uint32_t u;

		memcpy(&u, &v[d], 4);
		for (int k = 0; k < 4; k++)
			raw[d * 4 + k] = (unsigned char)(u >> (8 * k));
	}
	buf_add(b, "\"", 1);
	add_base64(b, raw, (size_t)dims * 4);
	buf_add(b, "\"", 1);
	free(raw);
}

/*
 * The inputs of an embeddings request (a string or a non-empty array of
 * them, each 1 to MOCK_EMBED_MAX_BYTES bytes): into *n, 0; or an error
 * message in msg (and param), -1.
 */
static int
embed_inputs(json_t *in, size_t *n, char *msg, size_t msz, char *param,
    size_t psz)
{
	size_t i, cnt;
	json_t *s;

	snprintf(param, psz, "input");
	if (in == NULL) {
		snprintf(msg, msz, "Missing required parameter: 'input'.");
		return -1;
	}
	if (!json_is_string(in) && !json_is_array(in)) {
		snprintf(msg, msz, "Invalid type for 'input': expected a string "
		    "or an array of strings (token arrays are not supported by "
		    "mockai).");
		return -1;
	}
	cnt = json_is_string(in) ? 1 : json_array_size(in);
	if (cnt == 0 || cnt > MOCK_EMBED_MAX_INPUTS) {
		snprintf(msg, msz, "Invalid 'input': %zu strings; 1 to %d are "
		    "allowed.", cnt, MOCK_EMBED_MAX_INPUTS);
		return -1;
	}
	for (i = 0; i < cnt; i++) {
		s = json_is_string(in) ? in : json_array_get(in, i);
		if (json_is_array(in))
			snprintf(param, psz, "input[%zu]", i);
		if (!json_is_string(s)) {
			snprintf(msg, msz, "Invalid type for '%s': expected a "
			    "string.", param);
			return -1;
		}
		if (json_string_length(s) == 0 ||
		    json_string_length(s) > MOCK_EMBED_MAX_BYTES) {
			snprintf(msg, msz, "Invalid '%s': %zu bytes; 1 to %d are "
			    "allowed.", param, json_string_length(s),
			    MOCK_EMBED_MAX_BYTES);
			return -1;
		}
	}
	*n = cnt;
	return 0;
}

/* "dimensions" and "encoding_format": 0, or -1 with msg and param set. */
static int
embed_options(json_t *root, int *dims, int *b64, char *msg, size_t msz,
    char *param, size_t psz)
{
	json_t *d = json_object_get(root, "dimensions");
	json_t *f = json_object_get(root, "encoding_format");

	*dims = MOCK_EMBED_DEF_DIMS;
	*b64 = 0;
	if (d != NULL && !json_is_null(d)) {
		if (!json_is_integer(d) || json_integer_value(d) < 1 ||
		    json_integer_value(d) > MOCK_EMBED_MAX_DIMS) {
			snprintf(param, psz, "dimensions");
			snprintf(msg, msz, "Invalid 'dimensions': expected an "
			    "integer from 1 to %d.", MOCK_EMBED_MAX_DIMS);
			return -1;
		}
		*dims = (int)json_integer_value(d);
	}
	if (f != NULL && !json_is_null(f)) {
		const char *v = json_is_string(f) ? json_string_value(f) : "";

		if (strcmp(v, "float") != 0 && strcmp(v, "base64") != 0) {
			snprintf(param, psz, "encoding_format");
			snprintf(msg, msz, "Invalid 'encoding_format': expected "
			    "'float' or 'base64'.");
			return -1;
		}
		*b64 = strcmp(v, "base64") == 0;
	}
	return 0;
}

void
embeddings_handle(struct conn *c)
{
	struct buf b = { 0 };
	const char *model;
	char msg[300], param[64];
	json_t *root, *in;
	long long tokens = 0;
	size_t n = 0;
	float *v;
	int dims, b64;

	mock_stats.embed_requests++;
	if ((root = request_open(c, MOCK_EP_EMBED, &mock_stats.embed_errors,
	    &model)) == NULL)
		return;
	in = json_object_get(root, "input");
	if (embed_inputs(in, &n, msg, sizeof(msg), param, sizeof(param)) < 0 ||
	    embed_options(root, &dims, &b64, msg, sizeof(msg), param,
	    sizeof(param)) < 0) {
		bad(c, &mock_stats.embed_errors, msg, param, "invalid_value");
		goto out;
	}
	if ((unsigned long long)n * (unsigned long long)dims >
	    MOCK_EMBED_MAX_VALUES) {
		snprintf(msg, sizeof(msg), "mockai: %zu inputs of %d dimensions "
		    "are more than %d values in one answer.", n, dims,
		    MOCK_EMBED_MAX_VALUES);
		bad(c, &mock_stats.embed_errors, msg, "input", "invalid_value");
		goto out;
	}
	if ((v = malloc((size_t)dims * sizeof(*v))) == NULL)
		fatal("out of memory");
	buf_printf(&b, "{\"object\":\"list\",\"data\":[");
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_is_string(in) ? in : json_array_get(in, i);

		embed_text(json_string_value(s), json_string_length(s), v, dims);
		tokens += mock_count_words(json_string_value(s));
		buf_printf(&b, "%s{\"object\":\"embedding\",\"index\":%zu,"
		    "\"embedding\":", i ? "," : "", i);
		add_vector(&b, v, dims, b64);
		buf_add(&b, "}", 1);
	}
	free(v);
	buf_printf(&b, "],\"model\":");
	add_jstr(&b, model);
	buf_printf(&b, ",\"usage\":{\"prompt_tokens\":%lld,\"total_tokens\":"
	    "%lld}}\n", tokens, tokens);
	mock_stats.embed_inputs += (long long)n;
	http_respond(c, 200, "application/json", NULL, b.p, b.len);
	buf_free(&b);
out:
	json_decref(root);
}

/* ------------------------------------------------------------ rerank */

struct scored {
	size_t index;
	double score;
	const char *text;
	size_t len;
};

static int
by_score(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * The documents of a rerank request (1 to MOCK_RERANK_MAX_DOCS, each a
 * string or {"text": string}) into a new array d; 0, or -1 with msg and
 * param set.
 */
static int
rerank_docs(json_t *docs, struct scored **d, size_t *n, char *msg,
    size_t msz, char *param, size_t psz)
{
	size_t i, cnt;
	json_t *e;

	snprintf(param, psz, "documents");
	if (!json_is_array(docs) || (cnt = json_array_size(docs)) == 0 ||
	    cnt > MOCK_RERANK_MAX_DOCS) {
		snprintf(msg, msz, "Invalid 'documents': expected an array of 1 "
		    "to %d strings or {\"text\": string} objects.",
		    MOCK_RERANK_MAX_DOCS);
		return -1;
	}
	if ((*d = calloc(cnt, sizeof(**d))) == NULL)
		fatal("out of memory");
	json_array_foreach(docs, i, e) {
		json_t *t = json_is_object(e) ? json_object_get(e, "text") : e;

		if (!json_is_string(t)) {
			snprintf(param, psz, "documents[%zu]", i);
			snprintf(msg, msz, "Invalid '%s': expected a string or "
			    "{\"text\": string}.", param);
			free(*d);
			*d = NULL;
			return -1;
		}
		(*d)[i].index = i;
		(*d)[i].text = json_string_value(t);
		(*d)[i].len = json_string_length(t);
	}
	*n = cnt;
	return 0;
}

/* "top_n" (an integer >= 1, at most n) and "return_documents". */
static int
rerank_options(json_t *root, size_t n, size_t *top, int *ret, char *msg,
    size_t msz, char *param, size_t psz)
{
	json_t *t = json_object_get(root, "top_n");
	json_t *r = json_object_get(root, "return_documents");

	*top = n;
	*ret = 1;
	if (t != NULL && !json_is_null(t)) {
		if (!json_is_integer(t) || json_integer_value(t) < 1) {
			snprintf(param, psz, "top_n");
			snprintf(msg, msz, "Invalid 'top_n': expected an integer "
			    "of at least 1.");
			return -1;
		}
		if ((unsigned long long)json_integer_value(t) < n)
			*top = (size_t)json_integer_value(t);
	}
	if (r != NULL && !json_is_null(r)) {
		if (!json_is_boolean(r)) {
			snprintf(param, psz, "return_documents");
			snprintf(msg, msz, "Invalid 'return_documents': expected "
			    "a boolean.");
			return -1;
		}
		*ret = json_is_true(r);
	}
	return 0;
}

static double
cosine(const float *a, const float *b, int dims)
{
	double s = 0;

	for (int d = 0; d < dims; d++)
		s += (double)a[d] * b[d];
	return s;
}

void
rerank_handle(struct conn *c)
{
	struct scored *d = NULL;
	const char *model;
	char msg[300], param[64], id[48];
	json_t *root, *q, *results, *j;
	char *txt;
	float *qv, *dv;
	long long tokens;
	size_t n = 0, top, i;
	int ret;

	mock_stats.rerank_requests++;
	if ((root = request_open(c, MOCK_EP_RERANK, &mock_stats.rerank_errors,
	    &model)) == NULL)
		return;
	q = json_object_get(root, "query");
	if (!json_is_string(q) || json_string_length(q) == 0) {
		bad(c, &mock_stats.rerank_errors, "Invalid 'query': expected a "
		    "non-empty string.", "query", "invalid_value");
		goto out;
	}
	if (rerank_docs(json_object_get(root, "documents"), &d, &n, msg,
	    sizeof(msg), param, sizeof(param)) < 0 ||
	    rerank_options(root, n, &top, &ret, msg, sizeof(msg), param,
	    sizeof(param)) < 0) {
		bad(c, &mock_stats.rerank_errors, msg, param, "invalid_value");
		goto out;
	}
	if ((qv = malloc(2 * RERANK_DIMS * sizeof(*qv))) == NULL)
		fatal("out of memory");
	dv = qv + RERANK_DIMS;
	embed_text(json_string_value(q), json_string_length(q), qv, RERANK_DIMS);
	tokens = mock_count_words(json_string_value(q));
	for (i = 0; i < n; i++) {
		double s;

		embed_text(d[i].text, d[i].len, dv, RERANK_DIMS);
		s = cosine(qv, dv, RERANK_DIMS);
		d[i].score = s > 0 ? s : 0;
		tokens += mock_count_words(d[i].text);
	}
	free(qv);
	qsort(d, n, sizeof(*d), by_score);
	results = json_array();
	for (i = 0; i < top; i++) {
		json_t *e = json_pack("{s:I, s:f}", "index", (json_int_t)d[i].index,
		    "relevance_score", d[i].score);

		if (ret)
			json_object_set_new(e, "document", json_pack("{s:s%}",
			    "text", d[i].text, d[i].len));
		json_array_append_new(results, e);
	}
	mock_stats.rerank_documents += (long long)n;
	snprintf(id, sizeof(id), "rerank-mock%020llu", ++rerank_seq);
	j = json_pack("{s:s, s:o, s:o, s:{s:I, s:I}}", "id", id, "model",
	    mock_text(model), "results", results, "usage", "prompt_tokens",
	    (json_int_t)tokens, "total_tokens", (json_int_t)tokens);
	/* Scores as "0.353253", not "0.35325299999999998". */
	if (j == NULL || (txt = json_dumps(j, JSON_COMPACT |
	    JSON_REAL_PRECISION(6))) == NULL)
		fatalx("json: rerank answer");
	json_decref(j);
	http_respond(c, 200, "application/json", NULL, txt, strlen(txt));
	free(txt);
out:
	free(d);
	json_decref(root);
}
