/*
 * The fallback for kernels without Landlock: a private mount namespace in which every mount is
 * read-only except a bind mount of each writable directory. Needs CAP_SYS_ADMIN, so it is done
 * while the launcher is still root, before it drops to the plugin user. Uses mount_setattr
 * (Linux 5.12) to make the whole tree read-only in one call, and remounts each mount listed in
 * /proc/self/mountinfo where that call is missing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher.h"

#ifndef __NR_mount_setattr
#define __NR_mount_setattr 442
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define ATTR_RDONLY 0x00000001ULL

struct mount_attr_v0 {
  uint64_t attr_set, attr_clr, propagation, userns_fd;
};

static int setattr(const char *path, uint64_t set, uint64_t clr) {
  struct mount_attr_v0 a = {.attr_set = set, .attr_clr = clr};
  return (int)syscall(__NR_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &a, sizeof a);
}

/* Older kernels: remount every mount point read-only, one by one (bind remounts keep their flags). */
static int remount_each_readonly(void) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) return -errno;
  char line[4096];
  int failed = 0;
  while (fgets(line, sizeof line, f)) {
    char mnt[2048];
    /* id parent major:minor root mountpoint … */
    if (sscanf(line, "%*s %*s %*s %*s %2047s", mnt) != 1) continue;
    if (mount(NULL, mnt, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0 && errno != EACCES) failed++;
  }
  fclose(f);
  return failed ? -EPERM : 0;
}

/* The working directory still points into the mount as it was before the bind mounts: enter it
 * again by path so that a plugin started in its state directory writes to the writable mount. */
static void reenter_cwd(void) {
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd)) (void)chdir(cwd);
}

int mount_readonly(const struct launch_opts *o, char *detail, size_t n) {
  if (unshare(CLONE_NEWNS) != 0) {
    snprintf(detail, n, "unavailable: unshare(CLONE_NEWNS): %s", strerror(errno));
    return -errno;
  }
  /* Nothing done here may reach the host's namespace. */
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
    snprintf(detail, n, "failed: making / private: %s", strerror(errno));
    return -errno;
  }
  for (int i = 0; i < o->n_write_dirs; i++) {
    if (mount(o->write_dirs[i], o->write_dirs[i], NULL, MS_BIND | MS_REC, NULL) != 0) {
      snprintf(detail, n, "failed: bind %s: %s", o->write_dirs[i], strerror(errno));
      return -errno;
    }
  }
  if (setattr("/", ATTR_RDONLY, 0) == 0) {
    for (int i = 0; i < o->n_write_dirs; i++) {
      if (setattr(o->write_dirs[i], 0, ATTR_RDONLY) != 0) {
        snprintf(detail, n, "failed: making %s writable: %s", o->write_dirs[i], strerror(errno));
        return -errno;
      }
    }
    reenter_cwd();
    snprintf(detail, n, "applied (read-only except the state directory)");
    return 0;
  }
  if (errno != ENOSYS) {
    snprintf(detail, n, "failed: mount_setattr: %s", strerror(errno));
    return -errno;
  }
  int rc = remount_each_readonly();
  for (int i = 0; i < o->n_write_dirs; i++) mount(NULL, o->write_dirs[i], NULL, MS_REMOUNT | MS_BIND, NULL);
  reenter_cwd();
  snprintf(detail, n, rc == 0 ? "applied (read-only except the state directory; per-mount remount)" : "partial: some mounts stayed writable");
  return rc;
}
