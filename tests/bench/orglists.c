/*
 * What one organisation's records cost to list and to add to, as the
 * install holds more organisations (make bench's lists section): a store
 * in a fresh temporary directory, ORGS organisations of PER webhooks, PER
 * knowledge sources (questions and answers) and CONTACTS contacts (each
 * a visitor's submission through the organisation's widget) each, made
 * round-robin so that each organisation's records lie among everyone's.
 * Then REPEAT times, on an organisation drawn in turn: its webhooks
 * listed (a read batch), one knowledge source added to it and deleted
 * again (a write batch: the create's check counts the organisation's
 * sources), and the first page of its contacts (50, newest first, with
 * their total) read. Standard output: the p50 of each in µs and the
 * records decoded for each (store_costs), beside the total records of
 * that kind.
 *
 *   orglists ORGS PER REPEAT [CONTACTS]
 *
 * With CONTACTS, ORGS is at most 999: each has a widget, and an install
 * holds at most ST_WIDGETS_MAX (the default one among them).
 */
#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "contactstore.h"
#include "hookstore.h"
#include "kbsource.h"
#include "log.h"
#include "random.h"
#include "stmsgs.h"
#include "store.h"
#include "widgetstore.h"

#define SECRET	"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
#define BATCH	200	/* records a committed batch while filling */
#define PAGE	50	/* contacts a page */

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

/* A widget for each organisation, its public id into wids[o]. */
static void
make_widgets(struct store *st, unsigned orgs, char (*wids)[ST_WIDGET_MAX + 1])
{
	struct store_txn t;
	struct st_widget in, out;
	char org[64];
	unsigned o;

	store_begin(st, &t, 0);
	for (o = 0; o < orgs; o++) {
		org_name(o, org, sizeof(org));
		st_widget_defaults(&in);
		if (store_widget_create(&t, org, &in, &out) != 0)
			errx(1, "a widget for %s", org);
		strlcpy(wids[o], out.widget_id, ST_WIDGET_MAX + 1);
		st_widget_free(&in);
		st_widget_free(&out);
	}
	if (store_commit(&t) != 0)
		errx(1, "the widgets' batch failed");
}

/* per contacts of each organisation, each a new visitor's submission. */
static void
fill_contacts(struct store *st, unsigned orgs, unsigned per)
{
	char (*wids)[ST_WIDGET_MAX + 1], email[96];
	uint8_t token[ST_TOKEN_HASH_LEN];
	struct store_txn t;
	struct st_contact c;
	unsigned i, o, n = 0;
	double t0 = now_us();
	int result, created;

	if ((wids = calloc(orgs, sizeof(*wids))) == NULL)
		err(1, "calloc");
	make_widgets(st, orgs, wids);
	store_begin(st, &t, 0);
	for (i = 0; i < per; i++)
		for (o = 0; o < orgs; o++) {
			proto_random(token, sizeof(token));
			snprintf(email, sizeof(email), "c%u@o%u.example", i, o);
			if (store_contact_submit(&t, wids[o], NULL, token, 1,
			    "Ann", email, "", &result, &c, &created) != 0 ||
			    result != ST_WS_OK)
				errx(1, "contact %u of organisation %u", i, o);
			st_contact_free(&c);
			if (++n % BATCH == 0) {
				if (store_commit(&t) != 0)
					errx(1, "contacts: a batch failed");
				store_begin(st, &t, 0);
			}
		}
	if (store_commit(&t) != 0)
		errx(1, "contacts: the last batch failed");
	free(wids);
	printf("orglists: %u organisations x %u contacts made in %.1f s\n",
	    orgs, per, (now_us() - t0) / 1e6);
}

/* One organisation's first page of contacts: its µs, its decodes. */
static double
page_once(struct store *st, const char *org, unsigned per, uint64_t *dec)
{
	struct store_txn t;
	struct st_contact_page pg;
	uint64_t d0, d1, puts;
	double t0;

	store_costs(st, &d0, &puts);
	t0 = now_us();
	store_begin(st, &t, 1);
	t.org = org;
	if (store_contact_list(&t, PAGE, "", &pg) != 0 ||
	    pg.total != per || pg.n != (per < PAGE ? per : PAGE))
		errx(1, "contacts of %s: %u of %llu", org, pg.n,
		    (unsigned long long)pg.total);
	st_rep_free(PROTO_ST_CONTACT_LIST, &pg);
	store_abort(&t);
	t0 = now_us() - t0;
	store_costs(st, &d1, &puts);
	*dec = d1 - d0;
	return t0;
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
	unsigned orgs, per, repeat, contacts = 0, r;
	uint64_t ldec = 0, adec = 0, cdec = 0;
	double *lus, *aus, *cus;
	struct store *st;

	if ((argc != 4 && argc != 5) || (orgs = atoi(argv[1])) == 0 ||
	    (per = atoi(argv[2])) == 0 || per > ST_HOOKS_MAX ||
	    (repeat = atoi(argv[3])) == 0)
		errx(2, "usage: orglists ORGS PER(1-%d) REPEAT [CONTACTS]",
		    ST_HOOKS_MAX);
	if (argc == 5)
		contacts = atoi(argv[4]);
	log_init("orglists");
	log_set_level(LOG_LEVEL_WARN);
	if (mkdtemp(dir) == NULL)
		err(1, "mkdtemp");
	if ((st = store_open(dir, 4096, STORE_F_NOSYNC)) == NULL)
		errx(1, "store_open %s", dir);
	if ((lus = calloc(repeat, sizeof(*lus))) == NULL ||
	    (aus = calloc(repeat, sizeof(*aus))) == NULL ||
	    (cus = calloc(repeat, sizeof(*cus))) == NULL)
		err(1, "calloc");
	fill(st, orgs, per);
	if (contacts > 0)
		fill_contacts(st, orgs, contacts);
	for (r = 0; r < repeat; r++) {
		org_name(r % orgs, org, sizeof(org));
		lus[r] = list_once(st, org, per, &ldec);
		aus[r] = add_once(st, org, &adec);
		if (contacts > 0)
			cus[r] = page_once(st, org, contacts, &cdec);
	}
	printf("orglists: an organisation's %u webhooks listed, of %u: "
	    "p50 %.1f us, %llu records decoded\n", per, orgs * per,
	    p50(lus, repeat), (unsigned long long)ldec);
	printf("orglists: a source added to an organisation's %u, of %u: "
	    "p50 %.1f us, %llu records decoded\n", per, orgs * per,
	    p50(aus, repeat), (unsigned long long)adec);
	if (contacts > 0)
		printf("orglists: the first page of an organisation's %u "
		    "contacts, of %u: p50 %.1f us, %llu records decoded\n",
		    contacts, orgs * contacts, p50(cus, repeat),
		    (unsigned long long)cdec);
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
	free(cus);
	return 0;
}
