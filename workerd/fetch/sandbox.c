/*
 * A document reader's system-call filter (sandbox.h: the contract, the
 * allowlist and why). Built with libseccomp: three lists (allowed,
 * allowed on conditions, killing), EPERM for the rest, loaded once.
 * With Landlock, the file system cut to poppler-data's, read-only,
 * first, and the opens that read let through the filter then.
 * Which calls a reader makes was measured with strace -f on the
 * fetcher's children in the knowledge and attachments tests and on
 * test_pdf's poppler (docs/internals.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <seccomp.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * What a reader may open, read-only, where the kernel has Landlock:
 * poppler-data's CMaps and CID-to-Unicode maps, with which poppler reads
 * a PDF's CJK text in a font the file does not embed. Nothing else.
 */
static const char *const readable[] = { "/usr/share/poppler" };

/* Landlock's first ABI's file system rights: each one refused unless allowed. */
#define FS_RIGHTS_V1	(LANDLOCK_ACCESS_FS_EXECUTE |			\
	LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE |	\
	LANDLOCK_ACCESS_FS_READ_DIR | LANDLOCK_ACCESS_FS_REMOVE_DIR |	\
	LANDLOCK_ACCESS_FS_REMOVE_FILE | LANDLOCK_ACCESS_FS_MAKE_CHAR |	\
	LANDLOCK_ACCESS_FS_MAKE_DIR | LANDLOCK_ACCESS_FS_MAKE_REG |	\
	LANDLOCK_ACCESS_FS_MAKE_SOCK | LANDLOCK_ACCESS_FS_MAKE_FIFO |	\
	LANDLOCK_ACCESS_FS_MAKE_BLOCK | LANDLOCK_ACCESS_FS_MAKE_SYM)
/*
 * An open that reads: no write, creation, truncation or unnamed file
 * (O_TMPFILE's own bit: the flag is that bit and O_DIRECTORY, which a
 * directory's listing sets).
 */
#define OPEN_WRITES	(O_ACCMODE | O_CREAT | O_TRUNC | (O_TMPFILE & ~O_DIRECTORY))

/* What a reader calls: its fds, memory, time, its end. */
static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(readv), SCMP_SYS(pread64),
	SCMP_SYS(write), SCMP_SYS(writev), SCMP_SYS(pwrite64),
	SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(close),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(brk), SCMP_SYS(madvise),
	SCMP_SYS(futex), SCMP_SYS(sched_yield),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(pause),
	SCMP_SYS(getrandom), SCMP_SYS(getpid), SCMP_SYS(gettid),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* What no reader calls and an attack would: the process killed. */
static const int hostile[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat),
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev), SCMP_SYS(kcmp),
	SCMP_SYS(pidfd_open), SCMP_SYS(pidfd_getfd),
	SCMP_SYS(pidfd_send_signal), SCMP_SYS(rt_sigqueueinfo),
	SCMP_SYS(rt_tgsigqueueinfo),
	SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(listen),
	SCMP_SYS(accept), SCMP_SYS(accept4), SCMP_SYS(sendto),
	SCMP_SYS(sendmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvfrom),
	SCMP_SYS(recvmsg), SCMP_SYS(recvmmsg),
	SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd),
	SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
	SCMP_SYS(io_uring_register), SCMP_SYS(keyctl), SCMP_SYS(add_key),
	SCMP_SYS(request_key), SCMP_SYS(unshare), SCMP_SYS(setns),
	SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root),
	SCMP_SYS(chroot), SCMP_SYS(init_module), SCMP_SYS(finit_module),
	SCMP_SYS(delete_module), SCMP_SYS(kexec_load),
	SCMP_SYS(kexec_file_load), SCMP_SYS(reboot),
};

/* Signals: kill, tkill and tgkill (first argument) of self alone. */
static const int signals[] = {
	SCMP_SYS(kill), SCMP_SYS(tkill), SCMP_SYS(tgkill),
};

/* f's rules for each call of list (n) with action act: 0, or -1. */
static int
rules_add(scmp_filter_ctx f, uint32_t act, const int *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (seccomp_rule_add(f, act, list[i], 0) < 0)
			return -1;
	return 0;
}

/*
 * f's calls allowed on their arguments: signals to self (pid: the child
 * is one thread, its tid its pid), kill for any other; an fd's status
 * (glibc's fstat, newfstatat with AT_EMPTY_PATH: stat(2) of a path,
 * without it, is refused; fcntl's two reads). 0, or -1.
 */
static int
conditions_add(scmp_filter_ctx f, uint32_t die, pid_t pid)
{
	const scmp_datum_t self = (scmp_datum_t)pid;
	size_t i;

	/*
	 * Each comparison's second datum given (0: EQ and NE read only the
	 * first): clang's -Wextra (the fuzz build) wants every field set.
	 */

	for (i = 0; i < NELEM(signals); i++)
		if (seccomp_rule_add(f, SCMP_ACT_ALLOW, signals[i], 1,
		    SCMP_A0(SCMP_CMP_EQ, self, 0)) < 0 ||
		    seccomp_rule_add(f, die, signals[i], 1,
		    SCMP_A0(SCMP_CMP_NE, self, 0)) < 0)
			return -1;
	if (seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
	    SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH)) < 0 ||
	    seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
	    SCMP_A1(SCMP_CMP_EQ, F_GETFD, 0)) < 0 ||
	    seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
	    SCMP_A1(SCMP_CMP_EQ, F_GETFL, 0)) < 0)
		return -1;
	return 0;
}

/* This kernel's Landlock ABI, 0 for none. */
static long
landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	return abi > 0 ? abi : 0;
}

/*
 * The calling process's file system cut to readable[], read-only, with
 * Landlock (Linux 5.13; NO_NEW_PRIVS set first): 1 done, and its opens
 * that only read may then pass the filter; 0 not (no Landlock in this
 * kernel, or it refused: its opens stay refused, as everywhere else).
 * A directory of readable[] that is not there is left out.
 */
static int
files_cut(void)
{
	struct landlock_ruleset_attr attr;
	struct landlock_path_beneath_attr under;
	long abi;
	size_t i;
	int rs, fd, done;

	if ((abi = landlock_abi()) == 0)
		return 0;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = FS_RIGHTS_V1 |
	    (abi >= 2 ? LANDLOCK_ACCESS_FS_REFER : 0);
	if ((rs = (int)syscall(SYS_landlock_create_ruleset, &attr,
	    sizeof(attr), 0)) < 0)
		return 0;
	for (i = 0; i < NELEM(readable); i++) {
		if ((fd = open(readable[i], O_PATH | O_CLOEXEC)) < 0)
			continue;
		memset(&under, 0, sizeof(under));
		under.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE |
		    LANDLOCK_ACCESS_FS_READ_DIR;
		under.parent_fd = fd;
		(void)syscall(SYS_landlock_add_rule, rs,
		    LANDLOCK_RULE_PATH_BENEATH, &under, 0);
		close(fd);
	}
	done = syscall(SYS_landlock_restrict_self, rs, 0) == 0;
	close(rs);
	return done;
}

/*
 * f's opens that only read, and directories' listings, let through:
 * the file system is cut already (files_cut). 0, or -1.
 */
static int
reads_add(scmp_filter_ctx f)
{
	if (seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, OPEN_WRITES, O_RDONLY)) < 0 ||
	    seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(getdents64), 0) < 0)
		return -1;
	return 0;
}

/*
 * The action that kills: the process (Linux 4.14), else the thread,
 * the same in a child of one thread.
 */
static uint32_t
kill_action(void)
{
	return seccomp_api_get() >= 3 ? SCMP_ACT_KILL_PROCESS :
	    SCMP_ACT_KILL_THREAD;
}

void
sandbox_files_say(void)
{
	long abi = landlock_abi();

	if (abi > 0 && access(readable[0], R_OK) == 0)
		log_info("document readers may open %s alone, read-only "
		    "(Landlock ABI %ld)", readable[0], abi);
	else if (abi > 0)
		log_warnx("%s is missing (Debian's poppler-data): a PDF's CJK "
		    "text in a font it does not embed is not read", readable[0]);
	else
		log_warnx("this kernel has no Landlock: document readers open "
		    "no file, and a PDF's CJK text in a font it does not embed "
		    "is not read");
}

int
sandbox_enter(const char **why)
{
	const uint32_t die = kill_action();
	scmp_filter_ctx f;
	int rc = -1, cut;

	tzset();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		*why = "not read: no system-call filter (no_new_privs)";
		return -1;
	}
	cut = files_cut();
	if ((f = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		*why = "not read: no system-call filter (out of memory)";
		return -1;
	}
	if (rules_add(f, SCMP_ACT_ALLOW, allowed, NELEM(allowed)) < 0 ||
	    rules_add(f, die, hostile, NELEM(hostile)) < 0 ||
	    conditions_add(f, die, getpid()) < 0 ||
	    (cut && reads_add(f) < 0))
		*why = "not read: no system-call filter (a rule refused)";
	else if (seccomp_load(f) < 0)
		*why = "not read: this system cannot filter a reader's "
		    "system calls (seccomp)";
	else
		rc = 0;
	seccomp_release(f);
	return rc;
}
