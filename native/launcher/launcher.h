/*
 * logloom-launcher: the kernel-enforced part of the plugin sandbox. One small program the agent
 * runs in place of a plugin process (python3 with the SDK runner, or logloom-plugin-host); it
 * confines itself and then execs the target, so no plugin code ever runs unconfined.
 *
 * Each layer lives in its own file; each reports what it applied (or why it could not) into one
 * status record that the launcher writes as a JSON line to --status-fd before the exec, so the
 * agent's status says which layers are in force on this kernel rather than assuming them.
 */
#ifndef LOGLOOM_LAUNCHER_H
#define LOGLOOM_LAUNCHER_H

#include <stddef.h>

/* Exit codes the agent turns into a reason (agent/plugins/launch/). */
#define LAUNCH_EXIT_CGROUP 97 /* could not join a cgroup or set an rlimit */
#define LAUNCH_EXIT_SETUP 96  /* a layer that must not degrade failed (bad args, user drop, no_new_privs) */
#define LAUNCH_EXIT_EXEC 127  /* the target could not be executed */

#define MAX_WRITE_DIRS 8
#define STATUS_TEXT 160

/* What the launcher did, layer by layer: "applied…", "off: why", "unavailable: why". */
struct launch_status {
  char user[STATUS_TEXT];
  char seccomp[STATUS_TEXT];
  char landlock[STATUS_TEXT];
  char mount_ns[STATUS_TEXT];
  char net_ns[STATUS_TEXT];
};

struct launch_opts {
  int have_user;
  unsigned uid, gid;
  const char *user_name;
  int network;       /* the plugin has the `network` capability */
  int no_landlock;   /* tests: behave as on a kernel without Landlock (mount-namespace fallback) */
  int status_fd;     /* -1: none */
  const char *write_dirs[MAX_WRITE_DIRS];
  /* O_PATH descriptors of write_dirs, opened while still root (their parents may be root-only). */
  int write_fds[MAX_WRITE_DIRS];
  int n_write_dirs;
  int exec_fd;       /* the only descriptor execveat may run (see seccomp_filter.c) */
};

/* seccomp_filter.c: installs the filter; 0 on success, else -errno (status says why). */
int seccomp_install(const struct launch_opts *o);

/* landlock_rules.c: the highest Landlock ABI of this kernel, or -errno (ENOSYS: no such system
 * call here; EOPNOTSUPP: built in but not enabled at boot). */
int landlock_abi(void);
/* Restricts writes to o->write_dirs (+ /dev/null); 0 on success, else -errno. */
int landlock_apply(const struct launch_opts *o, int abi, char *detail, size_t n);

/* mount_readonly.c: new mount namespace, everything read-only but o->write_dirs. Root only. */
int mount_readonly(const struct launch_opts *o, char *detail, size_t n);

#endif
