/*
 * The knowledge base quota's count (kbusage.c) made once for a data
 * directory that holds sources from before it, at the first start of a
 * build that has this module (see STORAGE.md, "The quota"):
 *
 *	meta "kb_count"  version, u8 done, then u8 phase (0 the sources,
 *	                 1 the pages) and the key of the last one counted
 *
 * An older storaged left its sources' and pages' bytes 0 (records of
 * format 3 and 4) and kb_usage empty, so such an organisation could
 * store its whole quota again on top of what it has. The first batch
 * empties kb_usage; each source's own bytes (its file's, its qa
 * chunks') are counted anew, then each page's (kbpage.c's
 * kb_page_recount: its chunks analysed again), each added to its
 * source's and organisation's count as a put adds it. Done in batches
 * at open, as the knowledge index made again (kbindex.c's kb_reindex):
 * no request is served until the count is right, and a start cut short
 * goes on from the last batch that committed. A data directory made by
 * this build, or counted once, is not counted again.
 */
#include <string.h>
#include <unistd.h>

#include "kbindex.h"
#include "kbpage.h"
#include "kbsource.h"
#include "kbusage.h"
#include "log.h"
#include "records.h"
#include "settings.h"
#include "storeint.h"

#define COUNT_KEY	"kb_count"
/* Sources one batch counts at most; chunks (its pages whole), about. */
#define COUNT_SOURCES	256
#define COUNT_CHUNKS	2048
/* Page keys one batch reads at a time. */
#define COUNT_PAGES	64

/* Where the count is: its phase and the key of the last one counted. */
struct place {
	uint8_t phase;		/* 0 the sources, 1 the pages */
	uint8_t key[KB_PAGE_KEY_LEN];
	size_t klen;		/* 0: from the first */
};

/* What this start counted, for its log line. */
struct figures {
	uint64_t sources, pages, chunks, bytes;
};

/* The count's place into *pl: 1 when it is to do, 0 done, -1. */
static int
place_get(struct store_txn *t, struct place *pl)
{
	const uint8_t *p;
	MDB_val v;
	int rc;

	memset(pl, 0, sizeof(*pl));
	if ((rc = db_get(t, t->st->meta, COUNT_KEY, strlen(COUNT_KEY), &v,
	    "get knowledge count")) != 0)
		return rc < 0 ? -1 : 0;
	p = v.mv_data;
	if (v.mv_size < 2 || p[1])
		return 0;
	if (v.mv_size == 2)
		return 1;
	if (v.mv_size < 3 || v.mv_size - 3 > sizeof(pl->key)) {
		rec_corrupt(t, "knowledge count");
		return -1;
	}
	pl->phase = p[2];
	pl->klen = v.mv_size - 3;
	memcpy(pl->key, p + 3, pl->klen);
	return 1;
}

/* The count's place put (done: the count ended). */
static void
place_put(struct store_txn *t, const struct place *pl, int done)
{
	uint8_t rec[3 + KB_PAGE_KEY_LEN];

	rec[0] = ST_RECORD_VERSION;
	rec[1] = (uint8_t)done;
	rec[2] = pl->phase;
	memcpy(rec + 3, pl->key, pl->klen);
	db_put(t, t->st->meta, COUNT_KEY, strlen(COUNT_KEY), rec,
	    done ? 2 : 3 + pl->klen, "put knowledge count");
}

/*
 * The next up to max keys of dbi past pl's, klen bytes each (keys of
 * another length passed over), into keys, *n how many. 0, or -1.
 */
static int
keys_after(struct store_txn *t, MDB_dbi dbi, const struct place *pl,
    size_t klen, uint8_t *keys, uint32_t max, uint32_t *n)
{
	return txn_keys(t, dbi, "walk knowledge count", pl->key, pl->klen, 1,
	    0, klen, keys, max, n);
}

/* Source id into s when it is there and not deleted: 0, 1 not, -1. */
static int
source_live(struct store_txn *t, const char *id, struct st_kbsource *s)
{
	int rc;

	if ((rc = kbsource_gone(t, id)) != 0)
		return rc;
	return kbsource_load(t, id, s);
}

/*
 * Source s's own bytes counted anew (its file's, a qa's chunks'; a
 * crawl's pages come after): its count and its organisation's.
 */
static void
source_count(struct store_txn *t, struct st_kbsource *s, struct figures *fg)
{
	uint64_t own = 0;
	uint32_t n = 0;

	if (s->source_type == ST_KB_FILE)
		own = kb_file_bytes(t, s->id);
	else if (s->source_type == ST_KB_QA)
		(void)kb_source_chunks_bytes(t, s->id, &own, &n);
	s->bytes = 0;
	kb_usage_move(t, s, 0, own);
	entity_save(t, &kbsource_entity, s);
	fg->sources++;
	fg->chunks += n;
	fg->bytes += own;
}

/* A batch of the sources; the pages' phase next once none is left. */
static void
sources_batch(struct store_txn *t, struct place *pl, struct figures *fg)
{
	uint8_t keys[COUNT_SOURCES * ST_KB_SOURCE_ID_LEN];
	char id[ST_KB_SOURCE_ID_LEN + 1];
	struct st_kbsource s;
	uint32_t n, i;
	int rc;

	if (pl->klen == 0 && (rc = db_drop(t, t->st->kb_usage)) != 0) {
		txn_lmdb(t, rc, "empty knowledge usage");
		return;
	}
	if (keys_after(t, t->st->kb_sources, pl, ST_KB_SOURCE_ID_LEN, keys,
	    COUNT_SOURCES, &n) < 0)
		return;
	for (i = 0; i < n && !t->err; i++) {
		memcpy(id, keys + (size_t)i * ST_KB_SOURCE_ID_LEN,
		    ST_KB_SOURCE_ID_LEN);
		id[ST_KB_SOURCE_ID_LEN] = '\0';
		memcpy(pl->key, id, ST_KB_SOURCE_ID_LEN);
		pl->klen = ST_KB_SOURCE_ID_LEN;
		if (source_live(t, id, &s) != 0)
			continue;
		source_count(t, &s, fg);
		st_kbsource_free(&s);
	}
	if (n < COUNT_SOURCES) {
		pl->phase = 1;
		pl->klen = 0;
	}
}

/* The source the pages being counted are of. */
struct cursrc {
	char id[ST_KB_SOURCE_ID_LEN + 1];	/* "": none yet */
	struct st_kbsource s;
	int live;		/* s is there, not deleted, loaded */
};

/* cs's source saved when it is loaded; cs emptied. */
static void
cursrc_end(struct store_txn *t, struct cursrc *cs)
{
	if (cs->live) {
		entity_save(t, &kbsource_entity, &cs->s);
		st_kbsource_free(&cs->s);
	}
	memset(cs, 0, sizeof(*cs));
}

/*
 * Page key k's bytes counted (kb_page_recount) into its source's count,
 * cs moved to that source when k is another's (the one before saved).
 */
static void
page_count(struct store_txn *t, const uint8_t *k, struct cursrc *cs,
    struct figures *fg)
{
	char id[ST_KB_SOURCE_ID_LEN + 1];
	uint64_t bytes;
	uint32_t chunks = 0;

	memcpy(id, k, ST_KB_SOURCE_ID_LEN);
	id[ST_KB_SOURCE_ID_LEN] = '\0';
	if (strcmp(id, cs->id) != 0) {
		cursrc_end(t, cs);
		memcpy(cs->id, id, sizeof(cs->id));
		cs->live = source_live(t, id, &cs->s) == 0;
	}
	if (!cs->live || kb_page_recount(t, &cs->s, k, &bytes, &chunks) != 0)
		return;
	kb_usage_move(t, &cs->s, 0, bytes);
	fg->pages++;
	fg->chunks += chunks;
	fg->bytes += bytes;
}

/*
 * A batch of the pages, until about COUNT_CHUNKS chunks are counted (a
 * page whole): 1 when none is left, else 0.
 */
static int
pages_batch(struct store_txn *t, struct place *pl, struct figures *fg)
{
	uint8_t keys[COUNT_PAGES * KB_PAGE_KEY_LEN];
	uint64_t chunks0 = fg->chunks;
	struct cursrc cs;
	uint32_t n = 0, i;
	int full = 0;

	memset(&cs, 0, sizeof(cs));
	do {
		if (keys_after(t, t->st->kb_pages, pl, KB_PAGE_KEY_LEN, keys,
		    COUNT_PAGES, &n) < 0)
			break;
		for (i = 0; i < n && !t->err && !full; i++) {
			memcpy(pl->key, keys + (size_t)i * KB_PAGE_KEY_LEN,
			    KB_PAGE_KEY_LEN);
			pl->klen = KB_PAGE_KEY_LEN;
			page_count(t, pl->key, &cs, fg);
			full = fg->chunks - chunks0 >= COUNT_CHUNKS;
		}
	} while (n == COUNT_PAGES && !t->err && !full);
	cursrc_end(t, &cs);
	return !t->err && n < COUNT_PAGES && !full;
}

/* One batch in a transaction of its own: 1 when the count ended, 0, -1. */
static int
batch(struct store *st, struct figures *fg)
{
	struct store_txn t;
	struct place pl;
	int rc, done = 0;

	store_begin(st, &t, 0);
	if ((rc = place_get(&t, &pl)) == 0) {
		store_abort(&t);
		return 1;
	}
	if (rc > 0 && pl.phase == 0)
		sources_batch(&t, &pl, fg);
	else if (rc > 0)
		done = pages_batch(&t, &pl, fg);
	place_put(&t, &pl, done);
	if (store_commit(&t) != 0) {
		log_warnx("%s: the knowledge base quota's count: %s", st->dir,
		    t.errmsg != NULL ? t.errmsg : "failed");
		return -1;
	}
	return done;
}

/* The organisations counted: kb_usage's entries. */
static size_t
orgs_counted(struct store *st)
{
	struct store_txn t;
	MDB_stat ms;
	size_t n = 0;

	if (store_begin(st, &t, 1) != 0)
		return 0;
	if (mdb_stat(t.txn, st->kb_usage, &ms) == 0)
		n = ms.ms_entries;
	store_abort(&t);
	return n;
}

#ifdef PARLEY_TEST_HOOKS
/*
 * The test build's kill -9 after that many batches committed
 * (PARLEY_TEST_KBCOUNT_EXIT_AFTER): the next start goes on from there
 * (test_kbquota's test_count_killed).
 */
static void
killed_hook(int batches)
{
	if (settings_test_hook("PARLEY_TEST_KBCOUNT_EXIT_AFTER") ==
	    (unsigned long)batches)
		_exit(9);
}
#else
#define killed_hook(batches)	((void)0)
#endif

/*
 * The count, batch after batch, when meta says it is to do; its figures
 * and the time it took logged. 0, or -1 logged.
 */
static int
kb_count(struct store *st)
{
	struct figures fg;
	long long t0 = proto_mono_ms(), next = 0;
	int rc, batches = 0;

	memset(&fg, 0, sizeof(fg));
	do {
		kb_start_alive(&next);
		if ((rc = batch(st, &fg)) < 0)
			return -1;
		killed_hook(++batches);
	} while (rc == 0);
	if (batches == 1 && fg.sources == 0 && fg.pages == 0)
		return 0;	/* nothing to do */
	log_info("knowledge base quota: counted what was stored before it: "
	    "%llu sources, %llu pages, %llu chunks, %.1f MiB of %zu "
	    "organisations, in %lld ms", (unsigned long long)fg.sources,
	    (unsigned long long)fg.pages, (unsigned long long)fg.chunks,
	    (double)fg.bytes / (1024.0 * 1024.0), orgs_counted(st),
	    proto_mono_ms() - t0);
	return 0;
}

/* A new data directory's count is done; an older one's is to do. */
static int
kb_count_init(struct store_txn *t)
{
	return backfill_begin(t, COUNT_KEY, t->st->kb_sources, "knowledge "
	    "sources predate the quota's count: counting what they keep");
}

const struct store_module kbcount_module = {
	.name = "knowledge base quota's count",
	.init = kb_count_init,
	.init_steps = kb_count,
};
