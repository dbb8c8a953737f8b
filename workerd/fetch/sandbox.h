/*
 * A system-call filter for a document's reader (sandbox.c), and a cut of
 * its file system where the kernel has Landlock, installed by
 * its child (docchild.h) once the fetcher's fds are closed and its keys
 * zeroed, just before the reader runs: a reader a document subverts
 * (poppler, GLib, cairo) keeps the bytes already in its memory, its fds
 * (stdio and its pipe) and what the kernel gives any computation, and
 * nothing else. seccomp, through libseccomp; PR_SET_NO_NEW_PRIVS first.
 *
 * The filter, an allowlist:
 * - allowed: reading and writing its fds (read, write, their vector and
 *   positioned forms, lseek, fstat, newfstatat with AT_EMPTY_PATH
 *   (glibc's fstat; the filter cannot read the path it is given, so a
 *   path's status, never its bytes, can still be had), close, fcntl's
 *   F_GETFD and F_GETFL), memory (mmap, munmap, mremap,
 *   mprotect, brk, madvise), futex, sched_yield, the clocks and sleeps,
 *   getrandom, getpid, gettid, its own signals (rt_sigaction,
 *   rt_sigprocmask, rt_sigreturn, sigaltstack, restart_syscall; kill,
 *   tkill and tgkill of itself: abort), exit and exit_group;
 * - the process killed (SIGSYS, its reader then a crash to the fetcher)
 *   at a call no reader makes but an attack would: running a program
 *   (execve, execveat), another process (ptrace, process_vm_readv and
 *   _writev, kill and the like of any other process, the pidfd calls),
 *   the network past making a socket (connect, bind, listen, accept,
 *   send and receive), the kernel's wider surfaces (bpf,
 *   perf_event_open, userfaultfd, io_uring, the key calls, namespaces,
 *   mounts, modules, kexec, reboot), and every other architecture's
 *   calls (libseccomp's default);
 * - any other call fails with EPERM: a library that probes (opens a
 *   font configuration, a locale file, makes a socket to nscd) fails
 *   that probe gracefully, the document read all the same. No socket is
 *   made, no process or thread started.
 * - files: where the kernel has Landlock (Linux 5.13), the process's file
 *   system is first cut to /usr/share/poppler, read-only (poppler-data's
 *   CMaps and CID-to-Unicode maps: a PDF's CJK text in a font it does not
 *   embed is read with them), and the filter lets through openat when it
 *   only reads (no write access, O_CREAT, O_TRUNC or O_TMPFILE) and
 *   getdents64: any other path's open fails (EACCES), and nothing can be
 *   written, made or removed. Without Landlock no file is opened at all
 *   (openat fails with EPERM), and such a PDF loses that text.
 *
 * The local time zone is read before (tzset: poppler's dates, in
 * glibc's cache), as the filter opens no /etc/localtime after.
 */
#ifndef PARLEY_FETCH_SANDBOX_H
#define PARLEY_FETCH_SANDBOX_H

/*
 * The calling process (a forked child of one thread) filtered as above,
 * for the rest of its life: 0, or -1 and *why a static reason (nothing
 * filtered: no seccomp in this kernel, or no memory), when the caller
 * must not run its reader.
 */
int sandbox_enter(const char **why);
/*
 * Logs once (the fetcher's start) what its readers may open: poppler-data
 * (info), or why not (a warning: no Landlock, or no poppler-data), when
 * a PDF's CJK text in a font it does not embed is lost.
 */
void sandbox_files_say(void);

#endif
