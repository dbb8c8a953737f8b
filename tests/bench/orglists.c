/*
 * What one organisation's records cost to list and to add to, as the
 * install holds more organisations (make bench's lists section): a store
 * in a fresh temporary directory, ORGS organisations of PER webhooks and
 * PER knowledge sources (questions and answers) each, made round-robin
 * so that each organisation's records lie among everyone's. Then REPEAT
 * times, on an organisation drawn in turn: its webhooks listed (a read
 * batch), and one knowledge source added to it and deleted again (a
 * write batch: the create's check counts the organisation's sources).
 * Standard output: the p50 of each in µs and the records decoded for
 * each (store_costs), beside the total records of that kind.
 *
 *   orglists ORGS PER REPEAT
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hookstore.h"
#include "kbsource.h"
#include "log.h"
#include "store.h"

#define SECRET	"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
#define BATCH	200	/* records a committed batch while filling */

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
org_name(unsigned o, char *out, size_t len)
{
	snprintf(out, len, "org_%032x", o + 1);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
p50(double *v, unsigned n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Record i of organisation o: a webhook and a question with its answer. */
static void
add_records(struct store_txn *t, const char *org, unsigned i)
{
	struct st_webhook h, ho;
	struct st_kbsource s, so;
	char q[96];

	memset(&h, 0, sizeof(h));
	h.url = "https://hooks.example/in";
	h.events = ST_HE_ALL;
	h.enabled = 1;
	strlcpy(h.secret, SECRET, sizeof(h.secret));
	if (store_hook_create(t, org, &h, &ho) == 0)
		st_webhook_free(&ho);
	memset(&s, 0, sizeof(s));
	s.source_type = ST_KB_QA;
	snprintf(q, sizeof(q), "Question %u of %s?", i, org);
	s.question = q;
	s.answer = "The answer.";
	if (store_kbsource_create(t, org, &s, &so) == 0)
		st_kbsource_free(&so);
}

static void
fill(struct store *st, unsigned orgs, unsigned per)
{
	struct store_txn t;
	char org[64];
	unsigned i, o, n = 0;
	double t0 = now_us();

	store_begin(st, &t, 0);
	for (i = 0; i < per; i++)
		for (o = 0; o < orgs; o++) {
			org_name(o, org, sizeof(org));
			add_records(&t, org, i);
			if (++n % BATCH == 0) {
				if (store_commit(&t) != 0)
					errx(1, "fill: a batch failed");
				store_begin(st, &t, 0);
			}
		}
	if (store_commit(&t) != 0)
		errx(1, "fill: the last batch failed");
	printf("orglists: %u organisations x %u webhooks and %u sources "
	    "made in %.1f s\n", orgs, per, per, (now_us() - t0) / 1e6);
}

/* One organisation's webhooks listed: its µs, its decodes in *dec. */
static double
list_once(struct store *st, const char *org, unsigned per, uint64_t *dec)
{
	struct store_txn t;
	struct st_webhook *hs;
	uint64_t d0, d1, puts;
	uint32_t n;
	double t0;

	store_costs(st, &d0, &puts);
	t0 = now_us();
	store_begin(st, &t, 1);
	if (store_hook_list(&t, org, &hs, &n) != 0 || n != per)
		errx(1, "list %s: %u webhooks, not %u", org, n, per);
	store_hooks_free(hs, n);
	store_abort(&t);
	t0 = now_us() - t0;
	store_costs(st, &d1, &puts);
	*dec = d1 - d0;
	return t0;
}

/* A source added to org and deleted again: the add's µs and decodes. */
static double
add_once(struct store *st, const char *org, uint64_t *dec)
{
	struct store_txn t;
	struct st_kbsource s, so;
	uint64_t d0, d1, puts;
	double t0;

	memset(&s, 0, sizeof(s));
	s.source_type = ST_KB_QA;
	s.question = "One more question?";
	s.answer = "One more answer.";
	store_costs(st, &d0, &puts);
	t0 = now_us();
	store_begin(st, &t, 0);
	if (store_kbsource_create(&t, org, &s, &so) != 0 ||
	    store_commit(&t) != 0)
		errx(1, "add a source to %s", org);
	t0 = now_us() - t0;
	store_costs(st, &d1, &puts);
	*dec = d1 - d0;
	store_begin(st, &t, 0);
	store_kbsource_delete(&t, org, so.id);
	st_kbsource_free(&so);
	if (store_commit(&t) != 0)
		errx(1, "delete a source of %s", org);
	return t0;
}

int
main(int argc, char **argv)
{
	char dir[] = "/tmp/parley-orglists-XXXXXX", org[64], path[128];
	unsigned orgs, per, repeat, r;
	uint64_t ldec = 0, adec = 0;
	double *lus, *aus;
	struct store *st;

	if (argc != 4 || (orgs = atoi(argv[1])) == 0 ||
	    (per = atoi(argv[2])) == 0 || per > ST_HOOKS_MAX ||
	    (repeat = atoi(argv[3])) == 0)
		errx(2, "usage: orglists ORGS PER(1-%d) REPEAT", ST_HOOKS_MAX);
	log_init("orglists");
	log_set_level(LOG_LEVEL_WARN);
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	if ((st = store_open(dir, 4096, STORE_F_NOSYNC)) == NULL)
		errx(1, "store_open %s", dir);
	if ((lus = calloc(repeat, sizeof(*lus))) == NULL ||
	    (aus = calloc(repeat, sizeof(*aus))) == NULL)
		err(1, "calloc");
	fill(st, orgs, per);
	for (r = 0; r < repeat; r++) {
		org_name(r % orgs, org, sizeof(org));
		lus[r] = list_once(st, org, per, &ldec);
		aus[r] = add_once(st, org, &adec);
	}
	printf("orglists: an organisation's %u webhooks listed, of %u: "
	    "p50 %.1f us, %llu records decoded\n", per, orgs * per,
	    p50(lus, repeat), (unsigned long long)ldec);
	printf("orglists: a source added to an organisation's %u, of %u: "
	    "p50 %.1f us, %llu records decoded\n", per, orgs * per,
	    p50(aus, repeat), (unsigned long long)adec);
	store_close(st);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/wal.log", dir);
	unlink(path);
	rmdir(dir);
	free(lus);
	free(aus);
	return 0;
}
