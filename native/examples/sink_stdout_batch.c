/*
 * sink_stdout_batch: a batch sink that writes each batch to stdout in one write, one line per
 * entry: "<timestamp> <LEVEL> [<MODULE>] <message>", followed by "-- batch of N" so that batching
 * is visible. Build: gcc -shared -fPIC -O2 -Inative/include -o sink_stdout_batch.so native/examples/sink_stdout_batch.c
 */
#include <logloom_plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const caps[] = {"batch", NULL};
LOGLOOM_PLUGIN_INFO(info, "sink_stdout_batch", "1.0.0", "Logloom Team", "sink", "async", caps);

const plugin_info_t *plugin_info(void) { return &info; }

int plugin_init(void) { return 0; }

static int write_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int plugin_process_batch(const log_entry_t *entries, size_t n) {
  size_t cap = 64;
  for (size_t i = 0; i < n; i++) cap += strlen(entries[i].message) + strlen(entries[i].timestamp) + 40;
  char *buf = malloc(cap);
  if (!buf) return -1;
  size_t len = 0;
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(buf + len, cap - len, "%s %s [%s] %s\n", entries[i].timestamp, entries[i].level, entries[i].module,
                            entries[i].message);
  len += (size_t)snprintf(buf + len, cap - len, "-- batch of %zu\n", n);
  int rc = write_all(buf, len);
  free(buf);
  return rc;
}

/* One entry at a time, for hosts that do not batch. */
int plugin_process(const log_entry_t *entry) { return plugin_process_batch(entry, 1); }

void plugin_shutdown(void) {}
