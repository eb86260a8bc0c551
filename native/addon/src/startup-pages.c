/* See startup-pages.h. */
#define _GNU_SOURCE
#include "startup-pages.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Node's executable has 4–6 mappings; more candidates than this are left as they are. */
#define MAX_RANGES 32

struct range {
  unsigned long lo, hi;
  long rss_kib, anon_kib, dirty_kib;
  int candidate;
};

/* "Key:   123 kB" → 123, for the smaps fields read here. */
static long kib_of(const char *line, const char *key) {
  size_t n = strlen(key);
  if (strncmp(line, key, n) != 0) return -1;
  return strtol(line + n, NULL, 10);
}

int ll_release_startup_pages(size_t *released_kib) {
  *released_kib = 0;
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -errno;
  exe[n] = '\0';
  FILE *f = fopen("/proc/self/smaps", "re");
  if (!f) return -errno;
  struct range r[MAX_RANGES];
  int count = 0;
  struct range *cur = NULL;
  char line[4096 + 256];
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi, off, inode;
    char perms[8];
    int path_at = 0;
    /* A mapping's header: "lo-hi perms offset dev inode [path]"; the fields that follow start
     * with a capital letter and a colon, so a header is the line that parses as one. */
    if (sscanf(line, "%lx-%lx %7s %lx %*s %lu %n", &lo, &hi, perms, &off, &inode, &path_at) == 5) {
      cur = NULL;
      char *path = line + path_at;
      path[strcspn(path, "\n")] = '\0';
      /* Not writable, private, a mapping of the executable itself. */
      if (perms[1] == '-' && perms[3] == 'p' && strcmp(path, exe) == 0 && count < MAX_RANGES) {
        cur = &r[count++];
        *cur = (struct range){.lo = lo, .hi = hi, .rss_kib = 0, .anon_kib = -1, .dirty_kib = -1, .candidate = 1};
      }
      continue;
    }
    if (!cur) continue;
    long v;
    if ((v = kib_of(line, "Rss:")) >= 0) cur->rss_kib = v;
    else if ((v = kib_of(line, "Anonymous:")) >= 0) cur->anon_kib = v;
    else if ((v = kib_of(line, "Private_Dirty:")) >= 0) cur->dirty_kib = v;
  }
  fclose(f);
  int released = 0;
  for (int i = 0; i < count; i++) {
    /* Both fields must have been read as 0: a kernel that did not print them gets no release. */
    if (r[i].anon_kib != 0 || r[i].dirty_kib != 0 || r[i].rss_kib == 0) continue;
    /* MADV_RANDOM first: without it each later fault maps the (cached) pages around the one
     * touched too, 64 KiB at a time, and the code that runs right after this call brings back
     * ~13 MiB of neighbours it never uses. The cost: a page the kernel has meanwhile dropped is
     * read back alone, without read-ahead. */
    madvise((void *)r[i].lo, r[i].hi - r[i].lo, MADV_RANDOM);
    if (madvise((void *)r[i].lo, r[i].hi - r[i].lo, MADV_DONTNEED) == 0) {
      released++;
      *released_kib += (size_t)r[i].rss_kib;
    }
  }
  return released;
}
