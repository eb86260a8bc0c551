/*
 * ai_error_burst: an ai plugin in C. Counts consecutive ERROR/FATAL entries per module and, when a
 * module reaches the threshold, reports one summary result (an entry with module AI), e.g.
 *   {"level":"WARN","message":"3 errors in a row from module AUTH; last: login failed for 192.168.0.5"}
 * Any lower-level entry from that module resets its count. Entries with "AI_FAIL" in the message
 * make plugin_analyze return -1 (used by the tests to show a failed call).
 * Config (plugins.config.ai_error_burst): {"threshold": 3}
 * Build: gcc -shared -fPIC -O2 -Inative/include -o ai_error_burst.so native/examples/ai_error_burst.c
 */
#include <logloom_plugin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MODULES 64

static const char *const caps[] = {"summary", NULL};
LOGLOOM_PLUGIN_INFO(info, "ai_error_burst", "1.0.0", "Logloom Team", "ai", "async", caps);

static struct {
  char module[17];
  unsigned errors;
} seen[MODULES];
static unsigned threshold = 3;

const plugin_info_t *plugin_info(void) { return &info; }

int plugin_configure(const char *json) {
  const char *p = strstr(json, "\"threshold\"");
  if (p && (p = strchr(p, ':'))) {
    long t = strtol(p + 1, NULL, 10);
    if (t < 1 || t > 1000000) return -1;
    threshold = (unsigned)t;
  }
  return 0;
}

int plugin_init(void) {
  memset(seen, 0, sizeof seen);
  return 0;
}

void plugin_shutdown(void) {}

/* The slot of a module (the first free one when new; the last slot is shared when all are taken). */
static unsigned *count_of(const char *module) {
  for (int i = 0; i < MODULES; i++) {
    if (seen[i].module[0] == 0) snprintf(seen[i].module, sizeof seen[i].module, "%s", module);
    if (strcmp(seen[i].module, module) == 0) return &seen[i].errors;
  }
  return &seen[MODULES - 1].errors;
}

int plugin_analyze(const log_entry_t *entry, logloom_emit_fn emit, void *emit_ctx) {
  if (strstr(entry->message, "AI_FAIL")) return -1;
  unsigned *n = count_of(entry->module);
  if (entry->level_num < LOGLOOM_ERROR) {
    *n = 0;
    return 0;
  }
  if (++*n < threshold) return 0;
  char text[512];
  snprintf(text, sizeof text, "%u errors in a row from module %s; last: %.300s", *n, entry->module, entry->message);
  *n = 0;
  ai_result_t r = {"WARN", text, NULL};
  return emit(emit_ctx, &r) == 0 ? 0 : -1;
}
