/*
 * make test's run of a fuzz target: every input of its committed corpus
 * through LLVMFuzzerTestOneInput once, on the test build (gcc, ASan and
 * UBSan, the unit tests' objects), with no fuzzing engine. It is the
 * corpus as a regression test; finding new inputs is `make fuzz`'s
 * (libFuzzer, scripts/fuzz.sh), which links the same targets with clang.
 *
 *	fuzz_<target> DIR|FILE...
 *
 * An input runs at most REPLAY_SECONDS (SIGALRM ends the run, as
 * libFuzzer's -timeout would); a sanitizer report fails the run. Prints
 * "replayed N inputs" and exits 0, or names the input and exits 1.
 *
 * A target that keeps state between inputs (fuzz_dispatch's store) may
 * group its inputs (fuzz_replay_group): after the pass in name order,
 * each group's inputs run again, twice, after fuzz_replay_fresh(group).
 * The order of a corpus can keep an input from what it reaches alone (a
 * reply another input's request prevents): the group pass reaches it.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#define REPLAY_SECONDS	10
/* What one input may be: scripts/fuzz.sh keeps them to 24 KiB. */
#define REPLAY_MAX_LEN	(1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* A target's own set-up, when it has one (fuzz_dispatch's store). */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
/* The group of an input (0 to 65535), or -1 for none: see above. */
int fuzz_replay_group(const uint8_t *data, size_t size) __attribute__((weak));
/* The target starts afresh before a group's inputs run again. */
void fuzz_replay_fresh(int group) __attribute__((weak));

#define REPLAY_GROUP_RUNS	2	/* each group's inputs, again and again */

/* An input read in the first pass, kept for the group pass. */
struct grouped {
	char *path;
	int group;
};

static size_t replayed;
static const char *current;	/* the input running, for a failure's report */
static struct grouped *groups;
static size_t ngroups, capgroups;
static int grouping;		/* the group pass is running */
static size_t regrouped;	/* inputs the group pass ran */

/* A sanitizer's report ends the run: which input it was. */
static void
say_input(void)
{
	fprintf(stderr, "replay: the input was %s\n", current);
}

/* A target's own abort() (a check it makes): which input, then die of it. */
static void
on_abort(int sig)
{
	static const char m[] = "replay: the input was ";

	if (write(2, m, sizeof(m) - 1) < 0 || (current != NULL &&
	    write(2, current, strlen(current)) < 0) || write(2, "\n", 1) < 0)
		_exit(1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* An input over REPLAY_SECONDS (async-signal-safe: write, _exit). */
static void
on_alarm(int sig)
{
	static const char m[] = "replay: an input ran over 10 s: ";

	(void)sig;
	if (write(2, m, sizeof(m) - 1) < 0 ||
	    write(2, current, strlen(current)) < 0 || write(2, "\n", 1) < 0)
		_exit(1);
	_exit(1);
}

/* path's group noted for the group pass. 0, or -1 (out of memory, said). */
static int
keep_group(const char *path, const uint8_t *buf, size_t n)
{
	struct grouped *g;
	int group;

	if (fuzz_replay_group == NULL ||
	    (group = fuzz_replay_group(buf, n)) < 0)
		return 0;
	if (ngroups == capgroups) {
		capgroups = capgroups ? 2 * capgroups : 256;
		if ((g = realloc(groups, capgroups * sizeof(*g))) == NULL) {
			fprintf(stderr, "replay: out of memory\n");
			return -1;
		}
		groups = g;
	}
	if ((groups[ngroups].path = strdup(path)) == NULL) {
		fprintf(stderr, "replay: out of memory\n");
		return -1;
	}
	groups[ngroups++].group = group;
	return 0;
}

/* By group, then in the first pass's order (name order). */
static int
by_group(const void *a, const void *b)
{
	const struct grouped *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* Runs the file at path: 0, or -1 when it cannot be read (said). */
static int
replay_file(const char *path)
{
	uint8_t *buf = NULL;
	size_t n;
	FILE *f;
	int rc = -1;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(REPLAY_MAX_LEN + 1)) == NULL) {
		fprintf(stderr, "replay: out of memory\n");
		goto done;
	}
	n = fread(buf, 1, REPLAY_MAX_LEN + 1, f);
	if (ferror(f) || n > REPLAY_MAX_LEN) {
		fprintf(stderr, "replay: %s: %s\n", path, ferror(f) ?
		    "read error" : "longer than 1 MiB");
		goto done;
	}
	if (!grouping && keep_group(path, buf, n) < 0)
		goto done;
	current = path;
	alarm(REPLAY_SECONDS);
	LLVMFuzzerTestOneInput(buf, n);
	alarm(0);
	if (grouping)
		regrouped++;
	else
		replayed++;
	rc = 0;
done:
	free(buf);
	fclose(f);
	return rc;
}

/* Each regular file of dir, in name order (a rerun runs the same order). */
static int
replay_dir(const char *dir)
{
	struct dirent **ents;
	char path[4096];
	int i, n, rc = 0;

	if ((n = scandir(dir, &ents, NULL, alphasort)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (rc == 0 && ents[i]->d_name[0] != '.') {
			if (snprintf(path, sizeof(path), "%s/%s", dir,
			    ents[i]->d_name) >= (int)sizeof(path)) {
				fprintf(stderr, "replay: %s: name too long\n",
				    dir);
				rc = -1;
			} else if (ents[i]->d_type == DT_REG ||
			    ents[i]->d_type == DT_UNKNOWN)
				rc = replay_file(path);
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

/* Each group's inputs REPLAY_GROUP_RUNS times, after a fresh start. */
static int
replay_groups(void)
{
	size_t i, j, end;
	int run, rc = 0;

	if (ngroups == 0)
		return 0;
	grouping = 1;
	qsort(groups, ngroups, sizeof(*groups), by_group);
	for (i = 0; i < ngroups && rc == 0; i = end) {
		for (end = i; end < ngroups &&
		    groups[end].group == groups[i].group; end++)
			;
		if (fuzz_replay_fresh != NULL)
			fuzz_replay_fresh(groups[i].group);
		for (run = 0; run < REPLAY_GROUP_RUNS && rc == 0; run++)
			for (j = i; j < end && rc == 0; j++)
				rc = replay_file(groups[j].path);
	}
	for (i = 0; i < ngroups; i++)
		free(groups[i].path);
	free(groups);
	return rc;
}

int
main(int argc, char **argv)
{
	int i, rc = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	__sanitizer_set_death_callback(say_input);
	signal(SIGALRM, on_alarm);
	signal(SIGABRT, on_abort);
	if (LLVMFuzzerInitialize != NULL)
		LLVMFuzzerInitialize(&argc, &argv);
	for (i = 1; i < argc && rc == 0; i++) {
		DIR *d = opendir(argv[i]);

		if (d != NULL) {
			closedir(d);
			rc = replay_dir(argv[i]);
		} else
			rc = replay_file(argv[i]);
	}
	if (rc == 0)
		rc = replay_groups();
	if (rc != 0)
		return 1;
	if (regrouped > 0)
		printf("replayed %zu inputs (and %zu again by group)\n",
		    replayed, regrouped);
	else
		printf("replayed %zu inputs\n", replayed);
	return 0;
}
