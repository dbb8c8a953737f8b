/*
 * The fetcher, parley-fetch (main.c), which parley-masterd runs once
 * beside the workers and the notifier (masterd/procs.c). Its comm,
 * process title and log name are parley-fetch. It takes no connections.
 *
 * It is where the knowledge base's untrusted documents are fetched and
 * parsed (html.c, chunk.c, robots.c, sitemap.c: libxml2 and our own
 * readers of bytes any site chooses; pdf.c, poppler, in a child process
 * of one document each, docchild.h, for the crawl's PDFs and the
 * attachments' alike: a PDF that spins poppler or runs it out of memory
 * ends that child alone), so it is kept apart: no database
 * (storaged's requests it may make are its own: ST_KB_DUE, _PAGE_GET,
 * _PAGE_PUT, _SYNC_DONE, and for attachments' PDFs ST_ATT_EXTRACT_DUE,
 * ST_ATT_READ and ST_ATT_TEXT_PUT (attextract.c), none led by who
 * asks), its own
 * address-space limit (PARLEY_FETCH_MEMORY_MB, set before anything is
 * fetched and never raised again), its own CPU time bound (below,
 * limit_cpu), and outgoing connections under the
 * same address policy as webhooks (no private, loopback or link-local
 * address unless the source is the default organisation's and
 * PARLEY_KNOWLEDGE_ALLOW_PRIVATE=on).
 *
 * Its loop: while it runs fewer than SYNCS_MAX syncs it asks storaged
 * for one due source (ST_KB_DUE, leased for the sync's time bound and a
 * minute more: one it never ends comes back) of an organisation none of
 * its syncs is for, every POLL_MS, once a second when none was due
 * (storec_poll_ms: less in a test build);
 * then crawls it (crawl.c) beside the others and asks again. So an
 * organisation's syncs run one at a time, and its slow site (a sync may
 * take PARLEY_FETCH_SYNC_MINUTES) holds up no other organisation's
 * sources: theirs run beside it. Quitting (MW_QUIT,
 * masterd gone, SIGTERM): the syncs' transfers end at once and the syncs
 * are given back, due now (GIVE_BACK_MS at most), for the next fetcher.
 * One killed outright (SIGKILL: the kernel's OOM killer, kill -9), where
 * no handler runs, leaves SPUN_FILE as it kept it all along (spun_put):
 * the next takes its syncs again at once, not after their lease.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "attextract.h"
#include "crawl.h"
#include "docchild.h"
#include "embed.h"
#include "fetcher.h"
#include "log.h"
#include "loop.h"
#include "notify.h"
#include "sandbox.h"
#include "stmsgs.h"
#include "urlpolicy.h"
#include "workerd.h"

#define POLL_MS		250
#define IDLE_POLL_MS	1000
#define LEASE_MARGIN_MS	60000
#define GIVE_BACK_MS	2000	/* at quit: storaged takes its sync back in time */
/* The CPU time bound moved on this often (cpu_rearm). */
#define CPU_REARM_MS	1000
/* In PARLEY_RUN_DIR: what the fetcher read when it spun (on_fatal). */
#define SPUN_FILE	"parley-fetch.spun"
/*
 * Syncs run at once, each of another organisation (fetches at once:
 * SYNCS_MAX x crawl_conf's inflight).
 */
#define SYNCS_MAX	3
/* A sync's record alone (crawl_sync_record) fits in this. */
#define SYNC_REC_MAX	(ST_KB_SOURCE_ID_LEN + 64)
_Static_assert(SYNCS_MAX <= ST_KB_BUSY_MAX, "its organisations fit ST_KB_DUE");

/* A sync running, and the organisation it is for ("": not known). */
struct slot {
	struct crawl *crawl;
	char org[ST_WHO_ORG_MAX + 1];
};

static struct {
	struct crawl_conf conf;
	struct slot syncs[SYNCS_MAX];
	struct storec_req *due_req;
	struct loop_timer poll;
	struct loop_timer cpu;
	rlim_t cpu_s;		/* PARLEY_FETCH_CPU_SECONDS */
	char *spun;		/* the last fetcher's SPUN_FILE, to recover */
	int quitting;
} F;

/*
 * The lines on_fatal writes: what is being read (fetcher_reading), at
 * the CPU time bound or at a crash, made before, as a signal handler may
 * not format. Length 0: nothing read.
 */
static char xcpu_line[600], crash_line[600];
static volatile sig_atomic_t xcpu_len, crash_len;
/*
 * SPUN_FILE (spun_fd, -1: none) holds at every moment what the next
 * fetcher should do (spun_recover) were this one to end then, a line a
 * sync: nothing (empty) while no sync runs; the running syncs' records
 * while none reads anything (taken again); while a sync reads
 * something, its record (fetcher_reading_sync, kept in spun_rec for
 * on_fatal) after a "!": a crash of it, which on_fatal turns into the
 * CPU time bound's (no "!") when that is what ended it, then the other
 * syncs' records.
 */
static char spun_rec[ST_KB_URL_MAX + 256 + SYNCS_MAX * SYNC_REC_MAX];
static volatile sig_atomic_t spun_len;
static int spun_fd = -1;

/* SPUN_FILE made rec (n bytes), after a "!" when crash. Signal-safe. */
static void
spun_put(int crash, const char *rec, size_t n)
{
	ssize_t w = 0;

	if (spun_fd < 0)
		return;
	if (crash)
		w = pwrite(spun_fd, "!", 1, 0);
	if (n > 0 && w >= 0)
		w = pwrite(spun_fd, rec, n, crash);
	if (w >= 0)
		w = ftruncate(spun_fd, (off_t)(crash + n));
	(void)w;
}

/* The length of the source id of rec, a sync's record, at *id. */
static size_t
rec_id(const char *rec, const char **id)
{
	*id = rec + strcspn(rec, "\t");
	if (**id == '\t')
		(*id)++;
	return strcspn(*id, "\t\n");
}

/*
 * The records of the running syncs but the one of but (a record, or
 * NULL) written into buf of size bytes: their length.
 */
static size_t
syncs_record(const char *but, char *buf, size_t size)
{
	const char *bid = NULL, *id;
	size_t n = 0, m, blen = 0;
	char rec[SYNC_REC_MAX];
	int i;

	if (but != NULL)
		blen = rec_id(but, &bid);
	for (i = 0; i < SYNCS_MAX; i++) {
		if (F.syncs[i].crawl == NULL || (m = crawl_sync_record(
		    F.syncs[i].crawl, rec, sizeof(rec))) == 0)
			continue;
		if (bid != NULL && rec_id(rec, &id) == blen &&
		    memcmp(id, bid, blen) == 0)
			continue;	/* its own record is but */
		if (n + m > size)
			break;
		memcpy(buf + n, rec, m);
		n += m;
	}
	return n;
}

/* SPUN_FILE between readings: the running syncs' records, or empty. */
static void
spun_idle(void)
{
	char rec[SYNCS_MAX * SYNC_REC_MAX];

	spun_put(0, rec, syncs_record(NULL, rec, sizeof(rec)));
}

/* How many syncs run now. */
static int
syncs_running(void)
{
	int i, n = 0;

	for (i = 0; i < SYNCS_MAX; i++)
		n += F.syncs[i].crawl != NULL;
	return n;
}

/* A free slot, or NULL. */
static struct slot *
slot_free(void)
{
	int i;

	for (i = 0; i < SYNCS_MAX; i++)
		if (F.syncs[i].crawl == NULL)
			return &F.syncs[i];
	return NULL;
}

static void poll_due(void *);

static void
crawl_over(void *arg)
{
	struct slot *sl = arg;

	sl->crawl = NULL;
	sl->org[0] = '\0';
	spun_idle();
	if (F.quitting) {
		if (syncs_running() == 0)
			loop_stop();	/* their syncs given back */
	} else if (F.due_req == NULL)
		loop_timer_after(&F.poll, storec_poll_ms(POLL_MS));
}

/* Every sync stopped at once, nothing told; their slots freed. */
static void
syncs_stop(void)
{
	int i;

	for (i = 0; i < SYNCS_MAX; i++) {
		crawl_stop(F.syncs[i].crawl);
		F.syncs[i].crawl = NULL;
	}
}

/*
 * The syncs' give-back took too long: the fetcher ends without them,
 * their records left in SPUN_FILE for the next fetcher.
 */
static void
give_back_late(void *arg)
{
	syncs_stop();
	loop_stop();
}

/* A due crawl source taken: its sync started. */
static void
due_done(const struct storec_result *r, void *arg)
{
	struct st_kb_jobs js;
	struct crawl_conf conf;
	struct slot *sl = NULL;
	uint32_t i;

	F.due_req = NULL;
	if (r->status != STOREC_OK ||
	    storec_decode(r, PROTO_ST_KB_DUE, &js) < 0) {
		if (r->status == STOREC_ERROR)
			log_warnx("ST_KB_DUE failed: %s", r->message);
		loop_timer_after(&F.poll, storec_poll_ms(IDLE_POLL_MS));
		return;
	}
	for (i = 0; i < js.n && !F.quitting && (sl = slot_free()) != NULL;
	    i++) {
		conf = F.conf;
		/* Private addresses: the default organisation's alone. */
		conf.allow_private = urlpol_private_ok(js.jobs[i].s.org, NULL,
		    F.conf.allow_private, NULL);
		strlcpy(sl->org, js.jobs[i].s.org, sizeof(sl->org));
		sl->crawl = crawl_start(&js.jobs[i], &conf, crawl_over, sl);
	}
	st_rep_free(PROTO_ST_KB_DUE, &js);
	spun_idle();
	if (!F.quitting && slot_free() != NULL)
		loop_timer_after(&F.poll, storec_poll_ms(js.n == 0 ?
		    IDLE_POLL_MS : POLL_MS));
}

/*
 * The last fetcher's records of its syncs and of what it read when it
 * ended at its CPU time bound told to storaged (crawl_recover), a sync
 * each, before any sync is taken; one given up when it cannot be.
 */
static void
spun_recover(void)
{
	char *rec = F.spun, *line, *next;
	struct slot *sl;

	F.spun = NULL;
	for (line = rec; *line != '\0' && (sl = slot_free()) != NULL;
	    line = next) {
		next = line + strcspn(line, "\n");
		if (*next == '\n')
			*next++ = '\0';
		sl->org[0] = '\0';
		sl->crawl = crawl_recover(line, &F.conf, (unsigned)F.cpu_s,
		    crawl_over, sl);
	}
	free(rec);
	spun_idle();
	if (syncs_running() == 0)
		loop_timer_after(&F.poll, storec_poll_ms(POLL_MS));
}

static void
poll_due(void *arg)
{
	struct st_str busy[SYNCS_MAX];
	struct st_kb_due_req q;
	int i;

	if (F.quitting || slot_free() == NULL || F.due_req != NULL)
		return;
	if (!storec_connected()) {
		loop_timer_after(&F.poll, storec_poll_ms(POLL_MS));
		return;
	}
	if (F.spun != NULL) {
		spun_recover();
		return;
	}
	memset(&q, 0, sizeof(q));
	q.max = 1;
	q.lease_ms = (uint32_t)(F.conf.time_ms + LEASE_MARGIN_MS);
	/* Not another sync of an organisation with one running. */
	q.busy = busy;
	for (i = 0; i < SYNCS_MAX; i++)
		if (F.syncs[i].crawl != NULL && F.syncs[i].org[0] != '\0')
			busy[q.nbusy++].s = F.syncs[i].org;
	if (storec_ask(NULL, PROTO_ST_KB_DUE, &q, due_done, NULL,
	    &F.due_req) < 0)
		loop_timer_after(&F.poll, storec_poll_ms(POLL_MS));
}

static void
fetcher_quit(uint32_t grace_ms, int close_idle)
{
	if (F.quitting)
		return;
	int i;

	log_info("quitting%s", syncs_running() > 0 ? ": its sync given back, "
	    "due now" : "");
	F.quitting = 1;
	loop_timer_stop(&F.poll);
	loop_timer_stop(&F.cpu);
	attextract_stop();
	storec_cancel(F.due_req);
	F.due_req = NULL;
	if (syncs_running() == 0 || !storec_connected()) {
		syncs_stop();
		loop_stop();
		return;
	}
	/* The next fetcher takes them at once, not after their lease. */
	loop_timer_init(&F.poll, give_back_late, NULL);
	loop_timer_after(&F.poll, GIVE_BACK_MS);
	for (i = 0; i < SYNCS_MAX; i++)
		if (F.syncs[i].crawl != NULL)
			crawl_give_back(F.syncs[i].crawl);
}

static void
on_signal(int signo)
{
	if (!F.quitting)
		log_info("%s", strsignal(signo));
	fetcher_quit(0, 1);
}

/* Webhook outcomes: none here (deliver.c's multi carries our fetches). */
static void
no_hooks(struct st_hook_job *job, const struct notify_outcome *o)
{
	free(job);
}

/*
 * Our address space bounded, softly and hard, so a document that makes
 * a parser allocate without end ends this process alone (a PDF's reader,
 * a child, inherits the bound: it ends alone). Not under
 * AddressSanitizer, whose shadow memory reserves terabytes.
 */
static void
limit_memory(unsigned mb)
{
#if defined(__SANITIZE_ADDRESS__)
	log_debug("address space not limited (AddressSanitizer)");
#else
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = (rlim_t)mb << 20;
	if (setrlimit(RLIMIT_AS, &rl) < 0)
		fatal("setrlimit RLIMIT_AS");
#endif
}

/* CPU seconds this process has used, both user and system, rounded up. */
static rlim_t
cpu_used(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (rlim_t)ru.ru_utime.tv_sec + (rlim_t)ru.ru_stime.tv_sec + 1;
}

/*
 * RLIMIT_CPU's soft limit moved to the CPU used and F.cpu_s more, every
 * CPU_REARM_MS while the loop turns: a turn that holds the loop (a
 * parser that spins on a document) past that much CPU time gets
 * SIGXCPU (on_fatal). The hard limit is left as it is: the process is
 * long-lived, and one lowered could never be raised again; the soft
 * limit is at most the hard one.
 */
static void
cpu_rearm(void *arg)
{
	struct rlimit rl;

	loop_timer_after(&F.cpu, CPU_REARM_MS);
	if (getrlimit(RLIMIT_CPU, &rl) == 0) {
		rl.rlim_cur = cpu_used() + F.cpu_s;
		if (rl.rlim_max != RLIM_INFINITY && rl.rlim_cur > rl.rlim_max)
			rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_CPU, &rl) < 0)
			log_warn("setrlimit RLIMIT_CPU");
	}
}

/*
 * SIGXCPU: a turn of the loop used its CPU time; SIGABRT, SIGSEGV,
 * SIGBUS: a parser in the fetcher (libxml2, ours; poppler runs in a
 * child, docchild.h, which undoes these handlers) ran out of memory or
 * failed. What was being read is logged (async-signal-safe: one
 * write of a line made before), and a sync's record of it written to
 * SPUN_FILE, then the signal's own action ends the process, no core
 * written: masterd logs it and starts another, which reads SPUN_FILE
 * (spun_take): the page is stored as failed and its sync taken again at
 * once (crawl_recover). Without a record the sync comes back with its
 * lease (2 hours), the crash's page read again then.
 */
static void
on_fatal(int signo)
{
	static const char cpu[] = "<4>" FETCHER_NAME ": error: CPU time "
	    "bound (PARLEY_FETCH_CPU_SECONDS) used up: the fetcher ends\n";
	static const char crash[] = "<4>" FETCHER_NAME ": error: the fetcher "
	    "ends (out of memory, or a fault)\n";
	struct rlimit nocore = { 0, 0 };
	int spun = signo == SIGXCPU;
	ssize_t n = 0;

	if (spun_len > 0)
		spun_put(!spun, spun_rec, (size_t)spun_len);
	if (spun && xcpu_len > 0)
		n = write(STDERR_FILENO, xcpu_line, (size_t)xcpu_len);
	else if (!spun && crash_len > 0)
		n = write(STDERR_FILENO, crash_line, (size_t)crash_len);
	else
		n = write(STDERR_FILENO, spun ? cpu : crash, spun ?
		    sizeof(cpu) - 1 : sizeof(crash) - 1);
	(void)n;
	(void)setrlimit(RLIMIT_CORE, &nocore);
	signal(signo, SIG_DFL);
	raise(signo);
}

/* The length of a line snprintf made (n) in buf, cut to end in '\n'. */
static int
line_cut(char *buf, size_t size, int n)
{
	if (n > 0 && (size_t)n >= size) {
		n = (int)size - 1;
		buf[n - 1] = '\n';
	}
	return n > 0 ? n : 0;
}

void
fetcher_reading(const char *what, const char *name)
{
	int n;

	xcpu_len = crash_len = 0;
	spun_len = 0;
	/*
	 * A read ended: it may have held the loop for seconds, so the
	 * loop's time is read again; what is timed next counts from now.
	 */
	if (what == NULL) {
		spun_idle();
		(void)loop_clock();
		return;
	}
	n = snprintf(xcpu_line, sizeof(xcpu_line), "<4>%s[%d]: error: "
	    "%s %.400s: CPU time bound (PARLEY_FETCH_CPU_SECONDS, %us) used "
	    "up reading it: the fetcher ends\n", FETCHER_NAME, (int)getpid(),
	    what, name != NULL ? name : "", (unsigned)F.cpu_s);
	xcpu_len = line_cut(xcpu_line, sizeof(xcpu_line), n);
	n = snprintf(crash_line, sizeof(crash_line), "<4>%s[%d]: error: "
	    "%s %.400s: out of memory, or a fault, reading it: the fetcher "
	    "ends\n", FETCHER_NAME, (int)getpid(), what,
	    name != NULL ? name : "");
	crash_len = line_cut(crash_line, sizeof(crash_line), n);
}

void
fetcher_reading_sync(const char *rec)
{
	size_t n = strlen(rec);

	spun_len = 0;
	if (n >= sizeof(spun_rec) - SYNCS_MAX * SYNC_REC_MAX)
		return;		/* not cut: crawl_recover would not read it */
	memcpy(spun_rec, rec, n);
	/* The other syncs taken again too, should it end the fetcher. */
	n += syncs_record(rec, spun_rec + n, sizeof(spun_rec) - n);
	spun_len = (sig_atomic_t)n;
	spun_put(1, spun_rec, n);	/* SIGKILL reading it: a crash */
}

/*
 * SPUN_FILE in dir read into F.spun (the last fetcher ended at its CPU
 * time bound: what it read), then emptied and kept open as spun_fd for
 * on_fatal. A run directory we cannot write: logged, no record kept.
 */
static void
spun_take(const char *dir)
{
	char path[1024], buf[sizeof(spun_rec)];
	ssize_t n = 0;
	int fd;

	if (dir == NULL || (size_t)snprintf(path, sizeof(path), "%s/%s",
	    dir, SPUN_FILE) >= sizeof(path))
		return;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	if (n > 0) {
		buf[n] = '\0';
		F.spun = strdup(buf);
	}
	spun_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (spun_fd < 0)
		log_warnx("%s: %s: a sync that spins comes back with its "
		    "lease", path, strerror(errno));
}

/*
 * The CPU time bound set (cpu_rearm), and on_fatal the handler of
 * SIGXCPU and of a crash's signals (a fault's not under
 * AddressSanitizer, whose own handler reports it).
 */
static void
limit_cpu(unsigned seconds)
{
	static const int sigs[] = { SIGXCPU, SIGABRT,
#if !defined(__SANITIZE_ADDRESS__)
	    SIGSEGV, SIGBUS,
#endif
	};
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			fatal("sigaction");
	F.cpu_s = seconds;
	loop_timer_init(&F.cpu, cpu_rearm, NULL);
	cpu_rearm(NULL);
}

/*
 * In a document reader's child (docchild_wipe_with; wsettings' secrets
 * are docchild's own to zero): the keys the fetcher holds besides, each
 * zeroed where it is. Its syncs' agents' keys, its embedding jobs'
 * Authorization headers, and its channels' buffers (masterd's settings
 * message, storaged's replies that brought agents' keys).
 */
static void
fetcher_wipe(void)
{
	int i;

	for (i = 0; i < SYNCS_MAX; i++)
		crawl_wipe(F.syncs[i].crawl);
	embed_wipe();
	master_wipe();
	storec_wipe();
}

int
fetcher_run(const struct settings *set)
{
	limit_memory(set->fetch_memory_mb);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	F.conf.max_pages = set->fetch_max_pages;
	F.conf.max_depth = set->fetch_max_depth;
	F.conf.page_bytes = (size_t)set->fetch_page_mb << 20;
	F.conf.time_ms = (uint64_t)set->fetch_sync_minutes * 60000;
	F.conf.inflight = 4;
	F.conf.allow_private = set->knowledge_allow_private;
	F.conf.cpu_s = set->fetch_cpu_seconds;

	loop_init();
	loop_signal(SIGTERM, on_signal);
	loop_signal(SIGINT, on_signal);
	loop_timer_init(&F.poll, poll_due, NULL);
	limit_cpu(set->fetch_cpu_seconds);
	docchild_wipe_with(fetcher_wipe);
	sandbox_files_say();
	spun_take(set->run_dir);
	if (deliver_init(no_hooks) < 0 || embed_init() < 0)
		fatalx("fetcher: cannot set up libcurl");
	F.conf.embed = embed_install(EMBED_FOR_PAGES);
	master_init(fetcher_quit, 0);
	/* storaged takes the fetcher's own requests from us, no other. */
	storec_hello_name(FETCHER_NAME);
	storec_init_settings(set);
	master_ready();
	log_debug("ready");
	loop_timer_after(&F.poll, storec_poll_ms(POLL_MS));
	attextract_start();

	loop_run();
	syncs_stop();
	free(F.spun);
	if (spun_fd >= 0)
		close(spun_fd);
	embed_shutdown();
	deliver_shutdown();
	storec_shutdown();
	log_debug("exiting");
	return 0;
}
