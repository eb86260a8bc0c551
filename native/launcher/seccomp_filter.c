/*
 * The seccomp-bpf filter every plugin process runs under (written from linux/seccomp.h and
 * linux/filter.h). It is installed last, just before the launcher's own execveat of the target,
 * and is inherited by everything the target does; the target cannot remove it.
 *
 * Refused (EPERM unless said otherwise):
 *   - execve; execveat except of the one descriptor o->exec_fd with AT_EMPTY_PATH. That
 *     descriptor number is at the hard RLIMIT_NOFILE (set by launcher.c), so after our exec nothing
 *     can ever own that number again (open, dup2, F_DUPFD and SCM_RIGHTS all stop below the limit):
 *     the launcher's exec is the only one that can pass.
 *   - fork, vfork, clone without CLONE_THREAD (threads stay possible); clone3 gets ENOSYS so that
 *     the C library falls back to clone, whose flags the filter can see.
 *   - socket (EACCES) unless the plugin has the `network` capability; socketpair stays allowed
 *     (a connected pair reaches nothing).
 *   - ptrace, reading/writing other processes' memory, taking their descriptors (pidfd_getfd),
 *     kcmp, process_madvise; mount and the new mount API; chroot,
 *     pivot_root; unshare and setns; module, kexec, bpf, perf, keyring, io_uring, userfaultfd,
 *     reboot, swap, accounting and clock changes.
 *   - any other architecture's calling convention (x32 on x86-64, the 32-bit ABIs): killed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher.h"

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#elif defined(__arm__) && defined(__ARMEL__)
#define NATIVE_ARCH AUDIT_ARCH_ARM
#else
#error "logloom-launcher: add the audit arch of this target"
#endif

#ifndef __NR_clone3
#define __NR_clone3 435
#endif
#ifndef __NR_open_tree
#define __NR_open_tree 428
#define __NR_move_mount 429
#define __NR_fsopen 430
#define __NR_fsconfig 431
#define __NR_fsmount 432
#define __NR_fspick 433
#endif
#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef __NR_pidfd_getfd
#define __NR_pidfd_getfd 438
#endif
#ifndef __NR_process_madvise
#define __NR_process_madvise 440
#endif
#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#define __NR_io_uring_enter 426
#define __NR_io_uring_register 427
#endif

/* Little-endian targets only (x86-64, arm64, armv7): the low word of an argument comes first. */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + (i) * sizeof(uint64_t))

#define MAX_INSNS 256

struct prog {
  struct sock_filter f[MAX_INSNS];
  unsigned n;
};

static void emit(struct prog *p, struct sock_filter insn) {
  if (p->n < MAX_INSNS) p->f[p->n] = insn;
  p->n++;
}

/* if (nr == sys) return ERRNO(err); with nr in the accumulator, which stays loaded. */
static void refuse(struct prog *p, long sys, int err) {
  emit(p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)sys, 0, 1));
  emit(p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)));
}

static const long REFUSED[] = {
  __NR_execve,
#ifdef __NR_fork
  __NR_fork,
#endif
#ifdef __NR_vfork
  __NR_vfork,
#endif
  /* Other processes of the same user (every plugin runs as nobody): no reading their memory, no
   * taking their descriptors (pidfd_getfd), no comparing or advising them. */
  __NR_ptrace, __NR_process_vm_readv, __NR_process_vm_writev, __NR_pidfd_getfd, __NR_process_madvise, __NR_kcmp,
  __NR_mount, __NR_umount2, __NR_pivot_root, __NR_chroot,
  __NR_open_tree, __NR_move_mount, __NR_fsopen, __NR_fsconfig, __NR_fsmount, __NR_fspick, __NR_mount_setattr,
  __NR_unshare, __NR_setns,
  __NR_init_module, __NR_finit_module, __NR_delete_module, __NR_kexec_load,
#ifdef __NR_kexec_file_load
  __NR_kexec_file_load,
#endif
  __NR_bpf, __NR_perf_event_open, __NR_userfaultfd,
  __NR_keyctl, __NR_add_key, __NR_request_key,
  __NR_io_uring_setup, __NR_io_uring_enter, __NR_io_uring_register,
  __NR_reboot, __NR_swapon, __NR_swapoff, __NR_acct, __NR_settimeofday, __NR_clock_settime,
};

int seccomp_install(const struct launch_opts *o) {
  struct prog p = {.n = 0};
  /* Architecture first: a syscall number means nothing without it. */
  emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)));
  emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0));
  emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
  emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)));
#if defined(__x86_64__)
  /* x32 system calls carry this bit; the same numbers would otherwise slip past the list. */
  emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1));
  emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
#endif

  /* execveat(exec_fd, "", argv, envp, AT_EMPTY_PATH): the launcher's own exec, nothing else. */
  emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_execveat, 0, 6));
  emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)));
  emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)o->exec_fd, 0, 3));
  emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(4)));
  emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AT_EMPTY_PATH, 0, 1));
  emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));

  /* clone: threads only. */
  emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 4));
  emit(&p, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)));
  emit(&p, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 0, 1));
  emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));
  emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM));

  /* clone3 passes its flags in memory the filter cannot read: make the C library use clone. */
  refuse(&p, __NR_clone3, ENOSYS);
  for (size_t i = 0; i < sizeof REFUSED / sizeof REFUSED[0]; i++) refuse(&p, REFUSED[i], EPERM);
  if (!o->network) refuse(&p, __NR_socket, EACCES);
  emit(&p, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW));

  if (p.n > MAX_INSNS) return -E2BIG;
  struct sock_fprog prog = {.len = (unsigned short)p.n, .filter = p.f};
  if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    /* Kernels before 3.17 have only the prctl form. */
    if (errno != ENOSYS || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) return -errno;
  }
  return 0;
}
