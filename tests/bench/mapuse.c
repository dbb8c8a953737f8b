/*
 * What storaged's open write transaction takes of the map, against what it
 * logs, by request type: the figures behind the checkpoint rule of
 * STORAGE.md ("The map between checkpoints", store.c's wal_due_set).
 *
 * The inputs are fuzz_dispatch's corpus, grouped by the request type
 * their first bytes pick (fuzz_replay_group); the harness is included as
 * it is (its store, its known records, its input format). For each type: a new store, a
 * checkpoint, the type's inputs run `rounds` times over, then a checkpoint
 * again; the map's high-water mark grew by what the transaction took
 * (pages freed inside it are reused only after its commit), and the log
 * by what it logged. Prints a line a type that took any page, the most
 * map for its log first. Prints, never asserts.
 *
 *   make build/release/bench/mapuse
 *   build/release/bench/mapuse tests/fuzz/dispatch/corpus 200
 */
/* A map large enough that no checkpoint comes before the log's 16 MiB. */
#define FUZZ_MAP_MB	65536
#include "../fuzz/dispatch/fuzz_dispatch.c"

#include <sys/stat.h>

#include <dirent.h>

#include "storeint.h"
#include "wal.h"

#define MAPUSE_INPUTS	8192
#define MAPUSE_TYPES	0x100	/* a request type is a byte */

struct input {
	uint8_t *data;
	size_t len;
};

struct row {
	int type;
	size_t inputs, runs;
	uint64_t pages;
	size_t logged;
	int checkpointed;	/* a checkpoint came between: pages undercounted */
};

static struct input inputs[MAPUSE_INPUTS];
static size_t ninputs;

static uint64_t
last_pgno(void)
{
	struct store_txn t;
	struct st_stats s;

	store_begin(st, &t, 1);
	if (store_stats(&t, &s) != 0)
		abort();
	(void)store_commit(&t);
	return s.last_pgno;
}

static void
read_corpus(const char *path)
{
	char p[PATH_MAX];
	struct dirent *de;
	struct stat sb;
	DIR *d;
	FILE *f;

	if ((d = opendir(path)) == NULL) {
		perror(path);
		exit(1);
	}
	while ((de = readdir(d)) != NULL && ninputs < MAPUSE_INPUTS) {
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (stat(p, &sb) != 0 || !S_ISREG(sb.st_mode) ||
		    sb.st_size == 0 || (f = fopen(p, "rb")) == NULL)
			continue;
		if ((inputs[ninputs].data = malloc(sb.st_size)) == NULL)
			abort();
		inputs[ninputs].len = fread(inputs[ninputs].data, 1,
		    sb.st_size, f);
		fclose(f);
		if (inputs[ninputs].len > 0)
			ninputs++;
	}
	closedir(d);
}

/* One type's inputs, rounds times, on a new store. */
static void
measure(struct row *r, int rounds)
{
	size_t i, before, after;
	uint64_t p0;
	int n;

	fuzz_replay_fresh(r->type);
	(void)store_checkpoint(st);
	p0 = last_pgno();
	for (n = 0; n < rounds; n++)
		for (i = 0; i < ninputs; i++) {
			if (fuzz_replay_group(inputs[i].data, inputs[i].len) != r->type)
				continue;
			before = wal_used(st->wal);
			LLVMFuzzerTestOneInput(inputs[i].data, inputs[i].len);
			after = wal_used(st->wal);
			/* A checkpoint before the batch began the log again. */
			if (after < before)
				r->checkpointed = 1;
			r->logged += after >= before ? after - before : after;
			r->runs++;
		}
	(void)store_checkpoint(st);
	r->pages = last_pgno() - p0;
}

static double
ratio(const struct row *r)
{
	return r->logged ? r->pages * 4096.0 / r->logged : r->pages * 4096.0;
}

static int
by_ratio(const void *a, const void *b)
{
	double x = ratio(a), y = ratio(b);

	return x < y ? 1 : x > y ? -1 : 0;
}

int
main(int argc, char **argv)
{
	static struct row rows[MAPUSE_TYPES];
	size_t nrows = 0, i, j;
	int rounds;

	if (argc != 3 || (rounds = atoi(argv[2])) < 1) {
		fprintf(stderr, "usage: mapuse CORPUS-DIR ROUNDS\n");
		return 2;
	}
	read_corpus(argv[1]);
	LLVMFuzzerInitialize(&argc, &argv);
	for (j = 0; j < MAPUSE_TYPES; j++) {
		rows[nrows].type = (int)j;
		for (i = 0; i < ninputs; i++)
			if (fuzz_replay_group(inputs[i].data, inputs[i].len) == (int)j)
				rows[nrows].inputs++;
		if (rows[nrows].inputs == 0)
			continue;
		measure(&rows[nrows], rounds);
		if (rows[nrows].pages > 0)
			nrows++;
		else
			memset(&rows[nrows], 0, sizeof(rows[nrows]));
	}
	qsort(rows, nrows, sizeof(rows[0]), by_ratio);
	printf("%-24s %6s %8s %8s %10s %10s %8s\n", "request", "inputs",
	    "runs", "pages", "map B/run", "log B/run", "map/log");
	for (i = 0; i < nrows; i++)
		printf("%-24s %6zu %8zu %8llu %10.1f %10.1f %8.1f%s\n",
		    proto_msg_name((uint16_t)rows[i].type), rows[i].inputs,
		    rows[i].runs,
		    (unsigned long long)rows[i].pages,
		    rows[i].pages * 4096.0 / rows[i].runs,
		    (double)rows[i].logged / rows[i].runs, ratio(&rows[i]),
		    rows[i].checkpointed ? " (checkpointed)" : "");
	for (i = 0; i < ninputs; i++)
		free(inputs[i].data);
	return 0;
}
