/*
 * Cited answers: when the system messages hold passages marked as
 * sources, the echoed reply names the ones that share a word with the
 * user's text, as a model told to cite its sources would.
 *
 * A passage starts with a line "[n] " (n 1 to 99, no leading zero) and
 * takes the lines after it up to the next such line, a blank line, or the
 * end of its message. A word is a run of ASCII letters and digits and
 * non-ASCII bytes, compared with ASCII case folded; it counts when it has
 * 4 or more characters (code points).
 */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mockai.h"

#define CITE_MAX	3	/* citations in one reply */
#define CITE_MIN_CHARS	4	/* characters of a word that counts */

struct words {
	char **w;		/* lower-cased, NUL-terminated, sorted */
	size_t n, cap;
};

static int
word_byte(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || ch >= 0x80;
}

/* The word at s[0..n) lower-cased (malloc'd) when it counts, else NULL. */
static char *
word_copy(const char *s, size_t n)
{
	size_t chars = 0;
	char *w;

	for (size_t i = 0; i < n; i++)
		chars += ((unsigned char)s[i] & 0xC0) != 0x80;
	if (chars < CITE_MIN_CHARS)
		return NULL;
	if ((w = malloc(n + 1)) == NULL)
		fatal("out of memory");
	for (size_t i = 0; i < n; i++)
		w[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') : s[i];
	w[n] = '\0';
	return w;
}

/* The next word of s from *pos on (its start in *start); its length, 0 at the end. */
static size_t
next_word(const char *s, size_t len, size_t *pos, size_t *start)
{
	size_t i = *pos;

	while (i < len && !word_byte((unsigned char)s[i]))
		i++;
	*start = i;
	while (i < len && word_byte((unsigned char)s[i]))
		i++;
	*pos = i;
	return i - *start;
}

static int
cmp_word(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
words_of(const char *s, struct words *ws)
{
	size_t len = strlen(s), pos = 0, start, n;
	char *w;

	while ((n = next_word(s, len, &pos, &start)) > 0) {
		if ((w = word_copy(s + start, n)) == NULL)
			continue;
		if (ws->n == ws->cap) {
			size_t nc = ws->cap ? 2 * ws->cap : 64;
			char **nw = reallocarray(ws->w, nc, sizeof(*nw));

			if (nw == NULL)
				fatal("out of memory");
			ws->w = nw;
			ws->cap = nc;
		}
		ws->w[ws->n++] = w;
	}
	if (ws->n > 0)
		qsort(ws->w, ws->n, sizeof(*ws->w), cmp_word);
}

static void
words_free(struct words *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->w[i]);
	free(ws->w);
}

/* 1 when line[0..len) shares a counting word with ws. */
static int
line_matches(const char *line, size_t len, const struct words *ws)
{
	size_t pos = 0, start, n;
	int hit = 0;

	while (!hit && (n = next_word(line, len, &pos, &start)) > 0) {
		char *w = word_copy(line + start, n);

		if (w != NULL)
			hit = bsearch(&w, ws->w, ws->n, sizeof(*ws->w),
			    cmp_word) != NULL;
		free(w);
	}
	return hit;
}

/* n (1-99) when line starts with "[n] ", else 0; *skip: the marker's length. */
static int
marker(const char *line, size_t len, size_t *skip)
{
	int n;

	if (len < 4 || line[0] != '[' || line[1] < '1' || line[1] > '9')
		return 0;
	n = line[1] - '0';
	if (line[2] == ']' && line[3] == ' ') {
		*skip = 4;
		return n;
	}
	if (len >= 5 && line[2] >= '0' && line[2] <= '9' && line[3] == ']' &&
	    line[4] == ' ') {
		*skip = 5;
		return n * 10 + (line[2] - '0');
	}
	return 0;
}

static int
blank(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
			return 0;
	return 1;
}

char *
cite_suffix(const char *sources, const char *user)
{
	struct words ws = { 0 };
	struct buf out = { 0 };
	char hit[100] = { 0 };
	const char *line = sources, *nl;
	size_t len, skip = 0;
	int cur = 0, k, cited = 0;

	if (sources == NULL)
		return NULL;
	words_of(user, &ws);
	for (; ws.n > 0 && line != NULL; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		if ((k = marker(line, len, &skip)) > 0) {
			cur = k;
			if (!hit[cur])
				hit[cur] = (char)line_matches(line + skip,
				    len - skip, &ws);
		} else if (blank(line, len))
			cur = 0;
		else if (cur > 0 && !hit[cur])
			hit[cur] = (char)line_matches(line, len, &ws);
	}
	for (k = 1; k < 100 && cited < CITE_MAX; k++)
		if (hit[k]) {
			buf_printf(&out, " [%d]", k);
			cited++;
		}
	words_free(&ws);
	return out.p;
}
