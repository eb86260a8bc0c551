/**
 * Applies the restrictions of the shipped systemd unit that reach a plugin launch, the way systemd
 * applies them, for hosts where PID 1 is not systemd (this CI: `systemd-run` cannot run there):
 *   NoNewPrivileges=yes       prctl(PR_SET_NO_NEW_PRIVS)
 *   RestrictNamespaces=…      a seccomp filter refusing unshare/clone with a namespace flag not
 *                             listed (systemd's own implementation is such a filter), clone3 ENOSYS
 *   ProtectSystem=strict      a mount namespace in which everything is read-only except ReadWritePaths
 * Built with gcc by the test, then: unit-restrictions "<RestrictNamespaces value>" RW_DIR… -- PROGRAM ARG…
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../helpers/agent.ts';

export const UNIT_FILE = join(ROOT, 'rootfs/lib/systemd/system/logloom.service');

/** A [Service] setting of the shipped unit. */
export function unitSetting(key: string): string | undefined {
  const m = new RegExp(`^${key}=(.*)$`, 'm').exec(readFileSync(UNIT_FILE, 'utf8'));
  return m?.[1]?.trim();
}

const SOURCE = String.raw`
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

struct ns { const char *name; unsigned long flag; };
static const struct ns ALL[] = {
  {"cgroup", CLONE_NEWCGROUP}, {"ipc", CLONE_NEWIPC}, {"net", CLONE_NEWNET}, {"mnt", CLONE_NEWNS},
  {"pid", CLONE_NEWPID}, {"user", CLONE_NEWUSER}, {"uts", CLONE_NEWUTS},
};

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  const char *restrict_ns = argv[1];
  int i = 2;
  /* ProtectSystem=strict + ReadWritePaths */
  if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) { perror("mount ns"); return 3; }
  int first_rw = i;
  for (; i < argc && strcmp(argv[i], "--"); i++)
    if (mount(argv[i], argv[i], NULL, MS_BIND | MS_REC, NULL)) { perror(argv[i]); return 3; }
  struct { uint64_t set, clr, prop, userns; } ro = {1, 0, 0, 0}, rw = {0, 1, 0, 0};
  if (syscall(442, AT_FDCWD, "/", 0x8000, &ro, sizeof ro)) { perror("mount_setattr"); return 3; }
  for (int k = first_rw; k < i; k++)
    if (syscall(442, AT_FDCWD, argv[k], 0x8000, &rw, sizeof rw)) { perror(argv[k]); return 3; }
  i++;
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd)) (void)chdir(cwd); /* onto the writable bind mount */
  /* RestrictNamespaces */
  unsigned long forbidden = 0;
  for (size_t k = 0; k < sizeof ALL / sizeof ALL[0]; k++) {
    int allowed = strcmp(restrict_ns, "no") == 0 || (strcmp(restrict_ns, "yes") != 0 && strstr(restrict_ns, ALL[k].name));
    if (!allowed) forbidden |= ALL[k].flag;
  }
  struct sock_filter f[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone3, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_unshare, 1, 0),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_clone, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
    BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (uint32_t)forbidden, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  /* NoNewPrivileges=yes */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)) { perror("seccomp"); return 3; }
  execv(argv[i], argv + i);
  perror(argv[i]);
  return 127;
}
`;

/** Builds the emulator into dir; returns its path. */
export function buildUnitRestrictions(dir: string): string {
  const src = join(dir, 'unit-restrictions.c');
  const out = join(dir, 'unit-restrictions');
  writeFileSync(src, SOURCE);
  execFileSync('gcc', ['-O1', '-o', out, src], { stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}
