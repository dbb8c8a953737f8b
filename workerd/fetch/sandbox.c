/*
 * A document reader's system-call filter (sandbox.h: the contract, the
 * allowlist and why). Built with libseccomp: three lists (allowed,
 * allowed on conditions, killing), EPERM for the rest, loaded once.
 * Which calls a reader makes was measured with strace -f on the
 * fetcher's children in the knowledge and attachments tests and on
 * test_pdf's poppler (docs/internals.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

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

int
sandbox_enter(const char **why)
{
	const uint32_t die = kill_action();
	scmp_filter_ctx f;
	int rc = -1;

	tzset();
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		*why = "not read: no system-call filter (no_new_privs)";
		return -1;
	}
	if ((f = seccomp_init(SCMP_ACT_ERRNO(EPERM))) == NULL) {
		*why = "not read: no system-call filter (out of memory)";
		return -1;
	}
	if (rules_add(f, SCMP_ACT_ALLOW, allowed, NELEM(allowed)) < 0 ||
	    rules_add(f, die, hostile, NELEM(hostile)) < 0 ||
	    conditions_add(f, die, getpid()) < 0)
		*why = "not read: no system-call filter (a rule refused)";
	else if (seccomp_load(f) < 0)
		*why = "not read: this system cannot filter a reader's "
		    "system calls (seccomp)";
	else
		rc = 0;
	seccomp_release(f);
	return rc;
}
