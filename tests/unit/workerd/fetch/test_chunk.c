/*
 * The chunker (workerd/fetch/chunk.c): heading paths ("Install > Network
 * > Proxy") and the page title on every chunk; no chunk crosses a heading
 * of its level or above; sizes within the target and the hard max; the
 * overlap (the previous piece's last sentence) at the start of the next
 * piece of a section and never across sections; tiny sections merged into
 * the next chunk of the same parent; a 1 MB single paragraph split
 * without cutting a UTF-8 sequence, at sentence ends when it has them and
 * at character boundaries when it has no space at all; invalid UTF-8 in,
 * valid out; the chunk count bound; options held sane.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"

#define MAXB	64

/* A doc of up to MAXB blocks, the texts the caller's. */
struct tdoc {
	struct fetch_doc doc;
	struct fetch_block blocks[MAXB];
};

static void
add(struct tdoc *t, enum fetch_kind kind, int level, const char *text)
{
	struct fetch_block *b = &t->blocks[t->doc.nblocks++];

	assert_true(t->doc.nblocks <= MAXB);
	t->doc.blocks = t->blocks;
	b->kind = kind;
	b->level = level;
	b->text = (char *)text;
	b->len = strlen(text);
}

static void
head(struct tdoc *t, int level, const char *text)
{
	add(t, FETCH_HEADING, level, text);
}

static void
para(struct tdoc *t, const char *text)
{
	add(t, FETCH_PARA, 0, text);
}

/* n bytes of sentences ("Word word ... end." of about 60 bytes). */
static char *
sentences(size_t n, const char *tag)
{
	char *s = malloc(n + 64);
	size_t o = 0, k = 0;

	assert_non_null(s);
	while (o < n)
		o += (size_t)sprintf(s + o, "%s sentence %zu says a few words here. ",
		    tag, k++);
	while (o > 0 && s[o - 1] == ' ')
		o--;
	s[o] = '\0';
	return s;
}

static int
valid_utf8(const char *s, size_t len)
{
	char *c = malloc(3 * len + 1);
	int ok;

	assert_non_null(c);
	ok = fetch_utf8_clean(c, s, len) == len && memcmp(c, s, len) == 0;
	free(c);
	return ok;
}

/* Every chunk: sizes, UTF-8, strlen, title. */
static void
check_bounds(const struct chunk *c, size_t n, size_t max, const char *title)
{
	size_t i;

	for (i = 0; i < n; i++) {
		assert_true(c[i].len >= 1);
		if (c[i].len > max)
			fail_msg("chunk %zu: %zu bytes, over %zu", i, c[i].len, max);
		assert_int_equal(strlen(c[i].text), c[i].len);
		assert_true(valid_utf8(c[i].text, c[i].len));
		assert_true(strlen(c[i].path) <= CHUNK_PATH_MAX);
		assert_string_equal(c[i].title, title);
	}
}

static void
run(const struct fetch_doc *doc, const struct chunk_opts *o,
    struct chunk **c, size_t *n)
{
	const char *why = "unset";

	assert_int_equal(chunk_doc(doc, o, c, n, &why), 0);
	assert_null(why);
}

static void
test_paths(void **state)
{
	struct tdoc t = { 0 };
	struct chunk *c;
	size_t n;
	char *a = sentences(300, "Intro"), *b = sentences(300, "Net"),
	    *p = sentences(300, "Proxy"), *s = sentences(300, "Store");

	t.doc.title = "Admin guide";
	head(&t, 1, "Install");
	para(&t, a);
	head(&t, 2, "Network");
	para(&t, b);
	head(&t, 3, "Proxy");
	para(&t, p);
	head(&t, 2, "Storage");
	para(&t, s);
	run(&t.doc, NULL, &c, &n);
	assert_int_equal(n, 4);
	check_bounds(c, n, CHUNK_MAX_DEFAULT, "Admin guide");
	assert_string_equal(c[0].path, "Install");
	assert_string_equal(c[0].text, a);
	assert_string_equal(c[1].path, "Install > Network");
	assert_string_equal(c[1].text, b);
	assert_string_equal(c[2].path, "Install > Network > Proxy");
	assert_string_equal(c[2].text, p);
	assert_string_equal(c[3].path, "Install > Storage");
	assert_string_equal(c[3].text, s);
	chunks_free(c, n);
	free(a);
	free(b);
	free(p);
	free(s);
}

static void
test_tiny_merged(void **state)
{
	struct tdoc t = { 0 };
	struct chunk *c;
	size_t n;
	char *long1 = sentences(400, "Long"), *long2 = sentences(400, "Other"),
	    *want = malloc(1024);

	head(&t, 1, "Guide");
	head(&t, 2, "Setup");			/* a heading alone: in the path */
	head(&t, 3, "Proxy");
	para(&t, long1);
	head(&t, 3, "Ports");			/* a few words: into its sibling */
	para(&t, "Use 443.");
	head(&t, 3, "Empty");			/* a heading alone: its sibling's */
	head(&t, 3, "Firewall");
	para(&t, long2);
	head(&t, 2, "Tiny end");		/* a few words, then a parent: alone */
	para(&t, "Done.");
	head(&t, 1, "Nothing");			/* a heading alone at the end */
	run(&t.doc, NULL, &c, &n);
	check_bounds(c, n, CHUNK_MAX_DEFAULT, "");
	assert_int_equal(n, 3);
	assert_string_equal(c[0].path, "Guide > Setup > Proxy");
	assert_string_equal(c[0].text, long1);
	assert_string_equal(c[1].path, "Guide > Setup > Firewall");
	snprintf(want, 1024, "Ports\nUse 443.\nEmpty\n%s", long2);
	assert_string_equal(c[1].text, want);
	assert_string_equal(c[2].path, "Guide > Tiny end");
	assert_string_equal(c[2].text, "Done.");
	chunks_free(c, n);

	/* Tiny text before the first heading joins the first section. */
	memset(&t, 0, sizeof(t));
	para(&t, "Updated today.");
	head(&t, 1, "Title");
	para(&t, long1);
	run(&t.doc, NULL, &c, &n);
	assert_int_equal(n, 1);
	assert_string_equal(c[0].path, "Title");
	snprintf(want, 1024, "Updated today.\n%s", long1);
	assert_string_equal(c[0].text, want);
	chunks_free(c, n);
	free(long1);
	free(long2);
	free(want);
}

/* The overlap: chunk b starts with a tail of chunk a (of at most max
 * bytes, not all of a), then "\n"; its length. */
static size_t
overlap_of(const struct chunk *a, const struct chunk *b, size_t max)
{
	size_t n, found = 0;

	for (n = 1; n <= max && n < a->len && n < b->len; n++)
		if (b->text[n] == '\n' &&
		    memcmp(a->text + a->len - n, b->text, n) == 0)
			found = n;
	if (found == 0)
		fail_msg("no overlap: \"%.40s\" ... \"%s\" then \"%.80s\"",
		    a->text, a->text + a->len - (a->len > 60 ? 60 : a->len), b->text);
	return found;
}

static void
test_sizes_overlap(void **state)
{
	struct tdoc t = { 0 };
	struct chunk *c;
	size_t n, i, total = 0;
	char *paras[30];

	head(&t, 2, "Long section");
	for (i = 0; i < 30; i++) {
		char tag[16];

		snprintf(tag, sizeof(tag), "P%zu", i);
		para(&t, paras[i] = sentences(150, tag));
	}
	head(&t, 2, "Next");
	para(&t, "Separate section text that is long enough to stand on its own, "
	    "not tiny at all: more than an eighth of the target in bytes, so it "
	    "makes a chunk.");
	run(&t.doc, NULL, &c, &n);
	check_bounds(c, n, CHUNK_MAX_DEFAULT, "");
	assert_true(n >= 5 && n <= 8);
	for (i = 0; i + 1 < n; i++) {
		printf("  chunk %zu: %zu bytes, %s\n", i, c[i].len, c[i].path);
		/* Pieces aim at the target: never past it plus the overlap. */
		assert_true(c[i].len <= CHUNK_TARGET_DEFAULT + CHUNK_OVERLAP_DEFAULT);
		total += c[i].len;
	}
	assert_true(total > 30 * 150);
	/* Every piece of the section after the first starts with an overlap. */
	for (i = 1; i + 1 < n; i++) {
		assert_string_equal(c[i].path, "Long section");
		overlap_of(&c[i - 1], &c[i], CHUNK_OVERLAP_DEFAULT);
	}
	/* Not across sections. */
	assert_string_equal(c[n - 1].path, "Next");
	assert_memory_equal(c[n - 1].text, "Separate", 8);
	chunks_free(c, n);
	for (i = 0; i < 30; i++)
		free(paras[i]);
}

static void
test_huge_paragraph(void **state)
{
	static const char *words[] = {
		"Gr\xc3\xb6\xc3\x9f" "e ", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
		"\xe3\x80\x82", "na\xc3\xafve ", "caf\xc3\xa9. ", "\xf0\x9f\x98\x80 ",
		"word ",
	};
	struct tdoc t = { 0 };
	struct chunk *c;
	size_t n, i, o = 0, k = 0, size = 1u << 20;
	char *big = malloc(size + 16);
	const char *at;

	assert_non_null(big);
	while (o < size) {
		size_t wl = strlen(words[k % 7]);

		memcpy(big + o, words[k++ % 7], wl);
		o += wl;
	}
	big[o] = '\0';
	para(&t, big);
	run(&t.doc, NULL, &c, &n);
	check_bounds(c, n, CHUNK_MAX_DEFAULT, "");
	printf("  1 MiB paragraph: %zu chunks\n", n);
	assert_true(n >= o / CHUNK_TARGET_DEFAULT);
	assert_true(n <= 2 * o / CHUNK_TARGET_DEFAULT + 2);
	/* The first piece is the paragraph's start, cut at a sentence end. */
	assert_memory_equal(c[0].text, big, c[0].len);
	assert_true(c[0].text[c[0].len - 1] == '.' ||
	    memcmp(c[0].text + c[0].len - 3, "\xe3\x80\x82", 3) == 0);
	for (i = 1, at = big; i < n; i++) {
		size_t ov = overlap_of(&c[i - 1], &c[i], CHUNK_OVERLAP_DEFAULT);

		/* After the overlap, the text goes on where the last piece ended. */
		assert_non_null(at = strstr(at, c[i].text + ov + 1));
	}
	chunks_free(c, n);

	/* No space at all: cut at character boundaries. */
	for (o = 0; o + 2 <= size; o += 2)
		memcpy(big + o, "\xc3\xa9", 2);
	big[o] = '\0';
	memset(&t, 0, sizeof(t));
	para(&t, big);
	run(&t.doc, NULL, &c, &n);
	check_bounds(c, n, CHUNK_MAX_DEFAULT, "");
	assert_true(n >= size / CHUNK_TARGET_DEFAULT);
	chunks_free(c, n);
	free(big);
}

static void
test_invalid_utf8(void **state)
{
	struct tdoc t = { 0 };
	struct chunk *c;
	size_t n;

	t.doc.title = "T\xff";
	head(&t, 1, "Head\xc3\n line");
	para(&t, "bad \xed\xa0\x80 surrogate \xc0\xaf overlong \x01 control");
	add(&t, FETCH_CODE, 0, "code\n  kept\n");
	run(&t.doc, NULL, &c, &n);
	check_bounds(c, n, CHUNK_MAX_DEFAULT, "T\xef\xbf\xbd");
	assert_int_equal(n, 1);
	assert_string_equal(c[0].path, "Head\xef\xbf\xbd line");
	assert_string_equal(c[0].text, "bad \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    " surrogate \xef\xbf\xbd\xef\xbf\xbd overlong  control\ncode\n  kept\n");
	chunks_free(c, n);
}

static void
test_bounds_and_opts(void **state)
{
	struct tdoc t = { 0 };
	struct chunk_opts o = { 0 };
	struct chunk *c;
	const char *why;
	char *s = sentences(300, "S");
	size_t n, i;

	/* No text: no chunk. */
	head(&t, 1, "Only a heading");
	run(&t.doc, NULL, &c, &n);
	assert_null(c);
	assert_int_equal(n, 0);

	/* The chunk bound. */
	memset(&t, 0, sizeof(t));
	for (i = 0; i < 20; i++) {
		head(&t, 2, "Section");
		para(&t, s);
	}
	o.max_chunks = 5;
	assert_int_equal(chunk_doc(&t.doc, &o, &c, &n, &why), 1);
	assert_int_equal(n, 5);
	assert_string_equal(why, "chunk: too many chunks, the first kept");
	chunks_free(c, n);

	/* Options held sane: a target of 10 is 64, the overlap fits. */
	memset(&o, 0, sizeof(o));
	o.target = 10;
	o.max = 10;
	o.overlap = 500;
	run(&t.doc, &o, &c, &n);
	check_bounds(c, n, 64, "");
	assert_true(n > 20 * 300 / 64);
	chunks_free(c, n);

	/* Target 500, max 600: overlap at most 99. */
	o.target = 500;
	o.max = 600;
	o.overlap = 0;
	run(&t.doc, &o, &c, &n);
	check_bounds(c, n, 600, "");
	chunks_free(c, n);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_tiny_merged),
		cmocka_unit_test(test_sizes_overlap),
		cmocka_unit_test(test_huge_paragraph),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_bounds_and_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
