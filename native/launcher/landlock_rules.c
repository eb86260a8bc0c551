/*
 * Landlock (written from linux/landlock.h): the plugin may change the filesystem only under its
 * state directory (and write /dev/null). Reading stays as the user's permissions allow; the
 * launcher has already dropped to the plugin user, so /root and other 0700 places stay closed.
 *
 * The ruleset asks for what this kernel's ABI knows and nothing more, so the same binary runs on
 * old and new kernels (the constants newer than the build host's headers are defined here):
 *   ABI 1  write, remove, make (files, dirs, fifos, sockets, devices, symlinks)
 *   ABI 2  refer (linking or renaming a file into another directory)
 *   ABI 3  truncate
 *   ABI 4  TCP bind/connect (handled when the plugin lacks `network`: a second lock next to seccomp)
 *   ABI 6  scopes: no signals to processes outside this plugin's domain (other plugins, the agent)
 *          and no connecting to abstract Unix sockets outside it
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "launcher.h"

#ifndef __NR_landlock_create_ruleset
#define __NR_landlock_create_ruleset 444
#define __NR_landlock_add_rule 445
#define __NR_landlock_restrict_self 446
#endif

#define LL_WRITE_FILE (1ULL << 1)
#define LL_REMOVE_DIR (1ULL << 4)
#define LL_REMOVE_FILE (1ULL << 5)
#define LL_MAKE_CHAR (1ULL << 6)
#define LL_MAKE_DIR (1ULL << 7)
#define LL_MAKE_REG (1ULL << 8)
#define LL_MAKE_SOCK (1ULL << 9)
#define LL_MAKE_FIFO (1ULL << 10)
#define LL_MAKE_BLOCK (1ULL << 11)
#define LL_MAKE_SYM (1ULL << 12)
#define LL_REFER (1ULL << 13)
#define LL_TRUNCATE (1ULL << 14)
#define LL_NET_BIND_TCP (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)
#define LL_SCOPE_SIGNAL (1ULL << 1)

/* The full attribute of ABI 6; older kernels get a prefix of it (size by ABI). */
struct ruleset_attr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;
  uint64_t scoped;
};

struct path_beneath {
  uint64_t allowed_access;
  int32_t parent_fd;
} __attribute__((packed));

int landlock_abi(void) {
  long abi = syscall(__NR_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
  return abi < 0 ? -errno : (int)abi;
}

static int add_fd(int ruleset, int fd, uint64_t access) {
  struct path_beneath pb = {.allowed_access = access, .parent_fd = fd};
  return syscall(__NR_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) == 0 ? 0 : -errno;
}

static int add_path(int ruleset, const char *path, uint64_t access) {
  int fd = open(path, O_PATH | O_CLOEXEC);
  if (fd < 0) return -errno;
  int rc = add_fd(ruleset, fd, access);
  close(fd);
  return rc;
}

int landlock_apply(const struct launch_opts *o, int abi, char *detail, size_t n) {
  uint64_t fs = LL_WRITE_FILE | LL_REMOVE_DIR | LL_REMOVE_FILE | LL_MAKE_CHAR | LL_MAKE_DIR | LL_MAKE_REG |
                LL_MAKE_SOCK | LL_MAKE_FIFO | LL_MAKE_BLOCK | LL_MAKE_SYM;
  if (abi >= 2) fs |= LL_REFER;
  if (abi >= 3) fs |= LL_TRUNCATE;
  struct ruleset_attr attr = {.handled_access_fs = fs};
  size_t size = sizeof attr.handled_access_fs;
  if (abi >= 4) {
    size = offsetof(struct ruleset_attr, scoped);
    if (!o->network) attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
  }
  if (abi >= 6) {
    size = sizeof attr;
    attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
  }
  int ruleset = (int)syscall(__NR_landlock_create_ruleset, &attr, size, 0);
  if (ruleset < 0) return -errno;
  for (int i = 0; i < o->n_write_dirs; i++) {
    int rc = o->write_fds[i] < 0 ? -ENOENT : add_fd(ruleset, o->write_fds[i], fs);
    if (rc < 0) {
      close(ruleset);
      snprintf(detail, n, "cannot add %s", o->write_dirs[i]);
      return rc;
    }
  }
  /* A file rule may carry only file rights. Missing /dev/null (odd chroots) is not fatal. */
  (void)add_path(ruleset, "/dev/null", LL_WRITE_FILE | (abi >= 3 ? LL_TRUNCATE : 0));
  int rc = (int)syscall(__NR_landlock_restrict_self, ruleset, 0);
  int err = errno;
  close(ruleset);
  if (rc != 0) return -err;
  snprintf(detail, n, "applied (ABI %d%s%s)", abi, attr.handled_access_net ? ", tcp refused" : "",
           attr.scoped ? ", signals and abstract sockets scoped" : "");
  return 0;
}
