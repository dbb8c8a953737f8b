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

static size_t replayed;
static const char *current;	/* the input running, for a failure's report */

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
	current = path;
	alarm(REPLAY_SECONDS);
	LLVMFuzzerTestOneInput(buf, n);
	alarm(0);
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
	if (rc != 0)
		return 1;
	printf("replayed %zu inputs\n", replayed);
	return 0;
}
