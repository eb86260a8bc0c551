/*
 * logloom-launcher: confines itself, then execs a plugin process (docs/plugin-sandbox.md).
 *
 *   logloom-launcher [--uid N --gid N --user NAME] [--cgroup-procs FILE]… [--rlimit-as BYTES]
 *                    [--rlimit-nproc N] [--write DIR]… [--network] [--status-fd N]
 *                    [--no-landlock] -- PROGRAM ARG…
 *
 * Order matters; each step needs what the one before still has:
 *   1. join the plugin's cgroups and set rlimits (root may still write cgroup.procs);
 *   2. open PROGRAM as an O_PATH descriptor at the number just below the new hard RLIMIT_NOFILE,
 *      the only descriptor the seccomp filter will let execveat run (seccomp_filter.c);
 *   3. as root: a network namespace when the plugin lacks `network` (no interfaces but a down
 *      loopback), and, where Landlock is missing, a read-only mount namespace (mount_readonly.c);
 *   4. drop to the plugin user (no supplementary groups; checked that root cannot come back);
 *   5. no_new_privs (required: nothing the plugin runs may gain privileges);
 *   6. Landlock: writes only under --write directories (landlock_rules.c);
 *   7. the seccomp filter;
 *   8. one JSON line on --status-fd saying which layers are in force, then execveat.
 * A layer this kernel lacks is reported ("unavailable: …") and the others still apply; only a
 * failure of 1, 4 or 5 stops the launch, since the plugin must never run as root or unlimited.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher.h"

#define DEFAULT_EXEC_FD 1023

static void die(int code, const char *what, int err) {
  dprintf(2, "logloom-launcher: %s%s%s\n", what, err ? ": " : "", err ? strerror(err) : "");
  _exit(code);
}

/* True inside a user namespace that does not map every uid (e.g. qemu-userns.sh, rootless containers). */
static int partial_uid_map(void) {
  FILE *f = fopen("/proc/self/uid_map", "re");
  if (!f) return 0;
  unsigned long inside, outside, count;
  int n = fscanf(f, "%lu %lu %lu", &inside, &outside, &count);
  fclose(f);
  return n == 3 && !(inside == 0 && outside == 0 && count == 4294967295UL);
}

static int parse_num(const char *s, unsigned long long *out) {
  char *end;
  errno = 0;
  *out = strtoull(s, &end, 10);
  return errno == 0 && end != s && *end == '\0' ? 0 : -1;
}

static void join_cgroup(const char *procs) {
  int fd = open(procs, O_WRONLY | O_CLOEXEC);
  if (fd < 0) die(LAUNCH_EXIT_CGROUP, procs, errno);
  char pid[24];
  int len = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  if (write(fd, pid, (size_t)len) != len) die(LAUNCH_EXIT_CGROUP, procs, errno);
  close(fd);
}

static void set_limit(int resource, unsigned long long v, const char *name) {
  struct rlimit r = {.rlim_cur = v, .rlim_max = v};
  if (setrlimit(resource, &r) != 0) die(LAUNCH_EXIT_CGROUP, name, errno);
}

/* JSON string body: the texts here are ours, but a user name or path could hold a quote. */
static void json_text(char *out, size_t n, const char *s) {
  size_t j = 0;
  for (; *s && j + 7 < n; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[j++] = '\\';
      out[j++] = (char)c;
    } else if (c < 0x20) {
      j += (size_t)snprintf(out + j, n - j, "\\u%04x", c);
    } else {
      out[j++] = (char)c;
    }
  }
  out[j] = '\0';
}

static void write_status(int fd, const struct launch_status *s) {
  if (fd < 0) return;
  char u[2 * STATUS_TEXT], sc[2 * STATUS_TEXT], ll[2 * STATUS_TEXT], mn[2 * STATUS_TEXT], nn[2 * STATUS_TEXT];
  json_text(u, sizeof u, s->user);
  json_text(sc, sizeof sc, s->seccomp);
  json_text(ll, sizeof ll, s->landlock);
  json_text(mn, sizeof mn, s->mount_ns);
  json_text(nn, sizeof nn, s->net_ns);
  dprintf(fd, "{\"launcher\":1,\"user\":\"%s\",\"no_new_privs\":true,\"seccomp\":\"%s\",\"landlock\":\"%s\",\"mount_ns\":\"%s\",\"net_ns\":\"%s\"}\n",
          u, sc, ll, mn, nn);
  close(fd);
}

int main(int argc, char **argv) {
  struct launch_opts o = {.status_fd = -1, .exec_fd = DEFAULT_EXEC_FD};
  struct launch_status st;
  memset(&st, 0, sizeof st);
  const char *procs[8];
  int n_procs = 0;
  unsigned long long rl_as = 0, rl_nproc = 0, v;
  int i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    const char *next = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--") == 0) {
      i++;
      break;
    } else if (strcmp(a, "--network") == 0) {
      o.network = 1;
    } else if (strcmp(a, "--no-landlock") == 0) {
      o.no_landlock = 1;
    } else if (!next) {
      die(LAUNCH_EXIT_SETUP, "missing value after an option (usage: see docs/plugin-sandbox.md)", 0);
    } else if (strcmp(a, "--uid") == 0 || strcmp(a, "--gid") == 0) {
      if (parse_num(next, &v) != 0 || v > 0xfffffffeULL) die(LAUNCH_EXIT_SETUP, "bad --uid/--gid", 0);
      if (a[2] == 'u') o.uid = (unsigned)v;
      else o.gid = (unsigned)v;
      o.have_user = 1;
      i++;
    } else if (strcmp(a, "--user") == 0) {
      o.user_name = next;
      i++;
    } else if (strcmp(a, "--cgroup-procs") == 0) {
      if (n_procs == (int)(sizeof procs / sizeof procs[0])) die(LAUNCH_EXIT_SETUP, "too many --cgroup-procs", 0);
      procs[n_procs++] = next;
      i++;
    } else if (strcmp(a, "--rlimit-as") == 0 || strcmp(a, "--rlimit-nproc") == 0) {
      if (parse_num(next, &v) != 0 || v == 0) die(LAUNCH_EXIT_SETUP, "bad rlimit value", 0);
      if (a[9] == 'a') rl_as = v;
      else rl_nproc = v;
      i++;
    } else if (strcmp(a, "--write") == 0) {
      if (o.n_write_dirs == MAX_WRITE_DIRS) die(LAUNCH_EXIT_SETUP, "too many --write", 0);
      o.write_dirs[o.n_write_dirs++] = next;
      i++;
    } else if (strcmp(a, "--status-fd") == 0) {
      if (parse_num(next, &v) != 0 || v < 3 || v > 1000) die(LAUNCH_EXIT_SETUP, "bad --status-fd", 0);
      o.status_fd = (int)v;
      i++;
    } else {
      dprintf(2, "logloom-launcher: unknown option %s\n", a);
      _exit(LAUNCH_EXIT_SETUP);
    }
  }
  if (i >= argc || argv[i][0] != '/') die(LAUNCH_EXIT_SETUP, "expected -- /absolute/program [args]", 0);
  char **target = argv + i;
  if (o.status_fd >= 0) fcntl(o.status_fd, F_SETFD, FD_CLOEXEC);
  int root = geteuid() == 0;

  /* 1. limits, while we may still write cgroup.procs. */
  for (int k = 0; k < n_procs; k++) join_cgroup(procs[k]);
  if (rl_as) set_limit(RLIMIT_AS, rl_as, "RLIMIT_AS");
  if (rl_nproc) set_limit(RLIMIT_NPROC, rl_nproc, "RLIMIT_NPROC");

  /* 2. the one executable descriptor, just below a hard descriptor limit nothing can raise. */
  struct rlimit nofile;
  if (getrlimit(RLIMIT_NOFILE, &nofile) != 0) die(LAUNCH_EXIT_SETUP, "getrlimit", errno);
  if (nofile.rlim_max != RLIM_INFINITY && nofile.rlim_max <= (rlim_t)o.exec_fd) o.exec_fd = (int)nofile.rlim_max - 1;
  if (nofile.rlim_cur <= (rlim_t)o.exec_fd) {
    nofile.rlim_cur = (rlim_t)o.exec_fd + 1;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }
  int pfd = open(target[0], O_PATH | O_CLOEXEC);
  if (pfd < 0) die(LAUNCH_EXIT_EXEC, target[0], errno);
  if (pfd != o.exec_fd) {
    if (dup3(pfd, o.exec_fd, O_CLOEXEC) < 0) die(LAUNCH_EXIT_SETUP, "dup3", errno);
    close(pfd);
  }
  set_limit(RLIMIT_NOFILE, (unsigned long long)o.exec_fd, "RLIMIT_NOFILE");

  /* The writable directories, opened while still root: their parents may be closed to the plugin user. */
  for (int k = 0; k < o.n_write_dirs; k++) o.write_fds[k] = open(o.write_dirs[k], O_PATH | O_DIRECTORY | O_CLOEXEC);

  /* 3. namespaces, which need root. */
  int abi = o.no_landlock ? 0 : landlock_abi();
  int abi_err = abi < 0 ? -abi : 0;
  if (abi < 0) abi = 0;
  if (o.network) snprintf(st.net_ns, sizeof st.net_ns, "off: plugin has the network capability");
  else if (!root) snprintf(st.net_ns, sizeof st.net_ns, "unavailable: the agent is not root");
  else if (unshare(CLONE_NEWNET) == 0) snprintf(st.net_ns, sizeof st.net_ns, "applied");
  else snprintf(st.net_ns, sizeof st.net_ns, "unavailable: %s", strerror(errno));
  if (abi > 0) snprintf(st.mount_ns, sizeof st.mount_ns, "off: Landlock is in force");
  else if (!root) snprintf(st.mount_ns, sizeof st.mount_ns, "unavailable: the agent is not root");
  else mount_readonly(&o, st.mount_ns, sizeof st.mount_ns);

  /* 4. the plugin user. In a user namespace that maps only root (root there is an unprivileged
   * user outside), the plugin user may not exist: stay, and say so, rather than not start. */
  int dropped = 0;
  if (o.have_user && root) {
    int rc = setgroups(0, NULL);
    if (rc == 0) rc = setresgid(o.gid, o.gid, o.gid);
    if (rc == 0) rc = setresuid(o.uid, o.uid, o.uid);
    if (rc != 0) {
      int err = errno;
      if (!(err == EINVAL || err == EPERM) || !partial_uid_map()) die(LAUNCH_EXIT_SETUP, "dropping to the plugin user", err);
    } else {
      dropped = 1;
      if (o.uid != 0 && (setuid(0) == 0 || geteuid() == 0)) die(LAUNCH_EXIT_SETUP, "root privileges could be regained", 0);
    }
  }
  if (dropped || !o.have_user || !root) snprintf(st.user, sizeof st.user, "%s", o.user_name ? o.user_name : "");
  else snprintf(st.user, sizeof st.user, "root of a user namespace (%s is not mapped there: not dropped)", o.user_name ? o.user_name : "the plugin user");
  if (!st.user[0]) snprintf(st.user, sizeof st.user, "%u", (unsigned)geteuid());

  /* 5. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) die(LAUNCH_EXIT_SETUP, "PR_SET_NO_NEW_PRIVS", errno);

  /* 6. */
  if (o.no_landlock) snprintf(st.landlock, sizeof st.landlock, "off: --no-landlock");
  else if (abi == 0 && abi_err == EOPNOTSUPP) snprintf(st.landlock, sizeof st.landlock, "unavailable: Landlock is not enabled in this kernel (lsm= boot parameter)");
  else if (abi == 0) snprintf(st.landlock, sizeof st.landlock, "unavailable: no Landlock system calls here (%s)", strerror(abi_err));
  else if (o.n_write_dirs == 0) snprintf(st.landlock, sizeof st.landlock, "off: no --write directory given");
  else {
    char detail[STATUS_TEXT / 2] = "";
    int rc = landlock_apply(&o, abi, detail, sizeof detail);
    if (rc == 0) snprintf(st.landlock, sizeof st.landlock, "%s", detail);
    else snprintf(st.landlock, sizeof st.landlock, "failed: %s%s%s", detail, detail[0] ? ": " : "", strerror(-rc));
  }

  /* 7. */
  int rc = seccomp_install(&o);
  if (rc == 0) snprintf(st.seccomp, sizeof st.seccomp, "applied (no exec, fork, ptrace, mount, namespaces%s)", o.network ? "" : ", sockets");
  else snprintf(st.seccomp, sizeof st.seccomp, "unavailable: %s", strerror(-rc));

  /* 8. */
  for (int k = 0; k < o.n_write_dirs; k++)
    if (o.write_fds[k] >= 0) close(o.write_fds[k]);
  write_status(o.status_fd, &st);
  syscall(__NR_execveat, o.exec_fd, "", target, environ, AT_EMPTY_PATH);
  /* Only where the filter could not be installed (user-mode emulators, which also may lack
   * execveat or run foreign binaries through binfmt_misc, which cannot reopen a close-on-exec
   * descriptor): exec by path. With the filter in place, execve is refused anyway. */
  if (rc != 0) execve(target[0], target, environ);
  die(LAUNCH_EXIT_EXEC, target[0], errno);
  return LAUNCH_EXIT_EXEC;
}
