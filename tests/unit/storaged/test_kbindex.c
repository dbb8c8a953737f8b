/*
 * The knowledge base's lexical index (storaged/kbindex.c) on a real LMDB:
 * chunks found by their words (stemmed, accents folded), a title and a
 * heading weighing more than the text, rarer words more than common
 * ones, one organisation's chunks never in another's results, a removed
 * chunk and a cleared source leaving no posting, term or count behind,
 * the index read back after a reopen (from the log), and the bounds;
 * the second stage: the query's words near each other and a page
 * matching in several chunks ranking a chunk higher; a term counted in
 * more chunks than there are ranking as a common one, not the rarest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "kbindex.h"
#include "test_fixture.h"

#define SRC_A	"ks_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SRC_B	"ks_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static int
setup(void **state)
{
	return fix_setup(state, "/tmp/parley-kbindex-XXXXXX", 0);
}

/* Adds a chunk of page url in its own committed batch: its id. */
static uint64_t
add_at(struct fix *f, const char *org, const char *src, const char *url,
    const char *title, const char *headings, const char *text)
{
	struct st_kbchunk c;
	struct store_txn t;
	uint64_t id = 0;

	memset(&c, 0, sizeof(c));
	strlcpy(c.org, org, sizeof(c.org));
	strlcpy(c.source_id, src, sizeof(c.source_id));
	strlcpy(c.lang, "en", sizeof(c.lang));
	c.url = strdup(url);
	c.title = strdup(title);
	c.headings = strdup(headings);
	c.text = strdup(text);
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(kb_chunk_add(&t, &c, &id), 0);
	assert_int_equal(store_commit(&t), 0);
	st_kbchunk_free(&c);
	assert_true(id > 0);
	return id;
}

static uint64_t
add(struct fix *f, const char *org, const char *src, const char *title,
    const char *headings, const char *text)
{
	return add_at(f, org, src, "https://example.com/page", title,
	    headings, text);
}

/* A search of org: how many hits, the ids into ids (room for k). */
static uint32_t
search(struct fix *f, const char *org, const char *q, uint32_t k,
    uint64_t *ids)
{
	struct kb_hit hits[ST_KB_SEARCH_K_MAX];
	struct store_txn t;
	uint32_t n = 0, i;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(kb_search(&t, org, "en", q, strlen(q), k, NULL, hits,
	    &n), 0);
	store_abort(&t);
	for (i = 1; i < n; i++)
		assert_true(hits[i - 1].score >= hits[i].score);
	for (i = 0; i < n; i++)
		ids[i] = hits[i].id;
	return n;
}

/* The chunks org has, read in a batch of its own. */
static uint32_t
count_of(struct fix *f, const char *org)
{
	struct store_txn t;
	uint32_t n;

	assert_int_equal(store_begin(f->st, &t, 1), 0);
	n = kb_chunk_count(&t, org);
	store_abort(&t);
	return n;
}

static void
test_found_by_stem_and_folding(void **state)
{
	struct fix *f = *state;
	uint64_t a, b, ids[10];

	a = add(f, "default", SRC_A, "Network configuration",
	    "Setup > Network", "Connecting the machine to a wireless network "
	    "needs the firmware of its card.");
	b = add(f, "default", SRC_A, "Cafés nearby", "",
	    "A list of places to drink coffee.");
	assert_int_equal(search(f, "default", "how do I connect to wifi "
	    "networks", 10, ids), 1);
	assert_true(ids[0] == a);
	assert_int_equal(search(f, "default", "cafe", 10, ids), 1);
	assert_true(ids[0] == b);
	assert_int_equal(search(f, "default", "nothing matches zzzq", 10, ids),
	    0);
}

static void
test_fields_and_rarity_rank(void **state)
{
	struct fix *f = *state;
	uint64_t in_title, in_text, ids[10];
	int i;

	in_text = add(f, "default", SRC_A, "Other things", "Misc",
	    "Backups are mentioned here once among many other words about "
	    "the system and its users and groups.");
	in_title = add(f, "default", SRC_A, "Backups", "Backups > Tools",
	    "How to keep copies of the system and its users and groups.");
	for (i = 0; i < 8; i++)
		add(f, "default", SRC_B, "System", "", "The system and its "
		    "users and groups.");
	assert_int_equal(search(f, "default", "backups", 10, ids), 2);
	assert_true(ids[0] == in_title);
	assert_true(ids[1] == in_text);
	/* "backups" is rare, "system" in every chunk: the rare word leads. */
	assert_true(search(f, "default", "system backups", 3, ids) == 3);
	assert_true(ids[0] == in_title);
	assert_true(ids[1] == in_text);
	assert_int_equal(count_of(f, "default"), 10);
}

static void
test_orgs_apart(void **state)
{
	struct fix *f = *state;
	uint64_t mine, ids[10];

	mine = add(f, "org_1", SRC_A, "Returns", "", "Our return policy: "
	    "thirty days.");
	add(f, "org_2", SRC_B, "Returns", "", "Their return policy: none.");
	assert_int_equal(search(f, "org_1", "return policy", 10, ids), 1);
	assert_true(ids[0] == mine);
	assert_int_equal(search(f, "org_3", "return policy", 10, ids), 0);
}

static void
test_remove_leaves_nothing(void **state)
{
	struct fix *f = *state;
	struct store_txn t;
	uint64_t a, ids[10];
	int left = 1, i;

	a = add(f, "default", SRC_A, "Printers", "", "Installing a printer "
	    "with CUPS.");
	for (i = 0; i < 5; i++)
		add(f, "default", SRC_B, "Scanners", "", "Scanning with SANE.");
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(kb_chunk_remove(&t, a), 0);
	assert_int_equal(kb_chunk_remove(&t, a), 1);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(search(f, "default", "printer cups", 10, ids), 0);
	/* A source cleared in bounded steps: 2, 2, then the last one. */
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(kb_source_clear(&t, SRC_B, 2, &left), 0);
	assert_int_equal(left, 1);
	assert_int_equal(kb_source_clear(&t, SRC_B, 2, &left), 0);
	assert_int_equal(left, 1);
	assert_int_equal(kb_source_clear(&t, SRC_B, 2, &left), 0);
	assert_int_equal(left, 0);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(search(f, "default", "scanning sane", 10, ids), 0);
	assert_int_equal(db_entries(f, "kb_chunks"), 0);
	assert_int_equal(db_entries(f, "kb_post"), 0);
	assert_int_equal(db_entries(f, "kb_terms"), 0);
	assert_int_equal(db_entries(f, "kb_stats"), 0);
	assert_int_equal(db_entries(f, "kb_source"), 0);
}

static void
test_reopen_keeps_index(void **state)
{
	struct fix *f = *state;
	struct st_kbchunk c;
	struct store_txn t;
	uint64_t a, ids[10];

	a = add(f, "default", SRC_A, "Mail server", "Services > Mail",
	    "Postfix delivers the mail.");
	fix_reopen(f);
	assert_int_equal(search(f, "default", "postfix", 10, ids), 1);
	assert_true(ids[0] == a);
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(kb_chunk_get(&t, a, &c), 0);
	store_abort(&t);
	assert_string_equal(c.title, "Mail server");
	assert_string_equal(c.headings, "Services > Mail");
	assert_string_equal(c.source_id, SRC_A);
	assert_true(c.len_title == 2 && c.len_text >= 3);
	st_kbchunk_free(&c);
}

static void
test_proximity_ranks(void **state)
{
	struct fix *f = *state;
	uint64_t apart, near, ids[10];
	int i;

	/*
	 * The same words, as many, in texts as long: BM25F ties them (the
	 * older first); the one with the query's words side by side wins.
	 */
	apart = add_at(f, "default", SRC_A, "https://example.com/a", "Notes",
	    "", "The disk of each user is checked at night and the "
	    "administrator then sets a quota.");
	near = add_at(f, "default", SRC_A, "https://example.com/b", "Notes",
	    "", "The administrator sets a disk quota for each user, checked "
	    "at night and then.");
	for (i = 0; i < 6; i++)
		add_at(f, "default", SRC_B, "https://example.com/c", "Other",
		    "", "Nothing about storage here at all.");
	assert_int_equal(search(f, "default", "disk quota", 10, ids), 2);
	assert_true(ids[0] == near);
	assert_true(ids[1] == apart);
	/* Far apart in the text, near across the heading: no bonus. */
	apart = add_at(f, "default", SRC_A, "https://example.com/d", "Notes",
	    "Printer", "Toner and paper are bought each month by the "
	    "office, and the driver installed.");
	near = add_at(f, "default", SRC_A, "https://example.com/e", "Notes",
	    "Misc", "Toner and paper are bought each month by the office, "
	    "and the printer driver.");
	assert_true(search(f, "default", "printer driver", 10, ids) == 2);
	assert_true(ids[0] == near);
}

static void
test_page_ranks(void **state)
{
	struct fix *f = *state;
	uint64_t alone, paged, ids[10];
	int i;

	/*
	 * Two chunks BM25F ties (the older first); the one whose page has
	 * another chunk matching the query wins.
	 */
	alone = add_at(f, "default", SRC_A, "https://example.com/a", "Notes",
	    "", "Replication keeps a copy of the data elsewhere.");
	paged = add_at(f, "default", SRC_A, "https://example.com/b", "Notes",
	    "", "Replication keeps a copy of the data elsewhere.");
	add_at(f, "default", SRC_A, "https://example.com/b", "More", "",
	    "A standby takes over when the primary fails.");
	for (i = 0; i < 6; i++)
		add_at(f, "default", SRC_B, "https://example.com/c", "Other",
		    "", "Nothing about that here at all.");
	assert_int_equal(search(f, "default", "standby replication", 10,
	    ids), 3);
	assert_true(ids[1] == paged || ids[0] == paged);
	assert_true(ids[0] != alone && ids[1] != alone);
	assert_true(ids[2] == alone);
}

static void
test_many_positions(void **state)
{
	struct fix *f = *state;
	uint64_t a, ids[10];
	char text[4000];
	size_t n = 0;
	int i;

	/* More occurrences than a posting keeps positions of: still found. */
	for (i = 0; i < 300; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s ",
		    i % 3 ? "kernel" : "module");
	a = add(f, "default", SRC_A, "Kernel", "", text);
	add(f, "default", SRC_B, "Other", "", "Something else entirely.");
	add(f, "default", SRC_B, "Other", "", "Something else again.");
	assert_int_equal(search(f, "default", "kernel module", 10, ids), 1);
	assert_true(ids[0] == a);
}

static void
test_many_chunks_ranked(void **state)
{
	struct fix *f = *state;
	uint64_t rare, both, ids[ST_KB_SEARCH_K_MAX];
	char text[128], url[64];
	int i;

	/*
	 * More chunks than the first stage keeps: the rare word first, then
	 * the chunk with both common words, then each holding one; every
	 * chunk that matches comes, none twice.
	 */
	for (i = 0; i < 40; i++) {
		snprintf(url, sizeof(url), "https://example.com/a%d", i);
		snprintf(text, sizeof(text), "Alpha is written here, note %d.",
		    i);
		add_at(f, "default", SRC_A, url, "Notes", "", text);
		snprintf(url, sizeof(url), "https://example.com/d%d", i);
		snprintf(text, sizeof(text), "Delta is written here, note %d.",
		    i);
		add_at(f, "default", SRC_A, url, "Notes", "", text);
	}
	/* Its two words far apart: no proximity to speak of. */
	both = add_at(f, "default", SRC_A, "https://example.com/b", "Notes",
	    "", "Alpha is one of the words written in this note, and far "
	    "from it, after many others, delta.");
	rare = add_at(f, "default", SRC_A, "https://example.com/z", "Notes",
	    "", "Zeta is written here once.");
	assert_int_equal(search(f, "default", "alpha delta zeta",
	    ST_KB_SEARCH_K_MAX, ids), ST_KB_SEARCH_K_MAX);
	assert_true(ids[0] == rare);
	assert_true(ids[1] == both);
	for (i = 1; i < ST_KB_SEARCH_K_MAX; i++)
		assert_true(ids[i] != ids[i - 1]);
	/* One common word: the long text loses to the short ones. */
	assert_int_equal(search(f, "default", "zeta alpha", 10, ids), 10);
	assert_true(ids[0] == rare);
	for (i = 1; i < 10; i++)
		assert_true(ids[i] != both);
}

static void
test_count_above_chunks(void **state)
{
	struct fix *f = *state;
	static const char cup[] = "default\0cup", instal[] = "default\0instal";
	struct store_txn t;
	uint64_t printer, scanner, ids[10];
	uint8_t v[4];

	/*
	 * A term counted in more chunks than the organisation has (what a
	 * chunk removed by another analysis than the one that indexed it
	 * leaves) reads as a term of every chunk, not as the rarest one (n
	 * - df wrapped): the chunk of the rare word leads.
	 */
	printer = add(f, "default", SRC_A, "Printers", "", "Installing a "
	    "printer with CUPS.");
	scanner = add(f, "default", SRC_A, "Scanners", "", "Scanning with "
	    "SANE.");
	add(f, "default", SRC_B, "Other", "", "Something else entirely.");
	add(f, "default", SRC_B, "Other", "", "Something else again.");
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	proto_put_be32(v, 50);
	db_put(&t, t.st->kb_terms, cup, sizeof(cup) - 1, v, sizeof(v),
	    "put term");
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(search(f, "default", "cups scanning", 10, ids), 2);
	assert_true(ids[0] == scanner);
	assert_true(ids[1] == printer);
	/* One of its terms' counts missing, a chunk still goes whole. */
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	db_del(&t, t.st->kb_terms, instal, sizeof(instal) - 1, "del term");
	assert_int_equal(kb_chunk_remove(&t, printer), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(search(f, "default", "installing printer", 10, ids),
	    0);
	assert_int_equal(count_of(f, "default"), 3);
}

static void
test_bounds(void **state)
{
	struct fix *f = *state;
	struct kb_hit hits[ST_KB_SEARCH_K_MAX];
	struct st_kbchunk c;
	struct store_txn t;
	char *big;
	uint32_t n;
	uint64_t id;

	add(f, "default", SRC_A, "Title", "", "Some text.");
	big = calloc(1, ST_KB_QUERY_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', ST_KB_QUERY_MAX + 1);
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(kb_search(&t, "default", "en", big, strlen(big), 5,
	    NULL, hits, &n), -1);
	assert_int_equal(t.err, PROTO_E_INVALID);
	store_abort(&t);
	assert_int_equal(store_begin(f->st, &t, 1), 0);
	assert_int_equal(kb_search(&t, "default", "en", "text", 4,
	    ST_KB_SEARCH_K_MAX + 1, NULL, hits, &n), -1);
	store_abort(&t);
	free(big);
	/* A chunk with no organisation or source is refused. */
	memset(&c, 0, sizeof(c));
	strlcpy(c.org, "default", sizeof(c.org));
	assert_int_equal(store_begin(f->st, &t, 0), 0);
	assert_int_equal(kb_chunk_add(&t, &c, &id), -1);
	assert_int_equal(t.err, PROTO_E_INVALID);
	store_abort(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_found_by_stem_and_folding,
		    setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_fields_and_rarity_rank,
		    setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_orgs_apart, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_remove_leaves_nothing,
		    setup, fix_teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_index, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_proximity_ranks, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_page_ranks, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_many_positions, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_many_chunks_ranked, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_count_above_chunks, setup,
		    fix_teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup,
		    fix_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
