/*
 * filter_faulty: a deliberately broken filter for the isolation tests. Keeps every entry except:
 *   message contains CRASH_ME -> segfault (write through NULL)
 *   message contains ABORT_ME -> abort()
 *   message contains FPE_ME   -> integer division by zero (SIGFPE)
 *   message contains HANG_ME  -> endless loop
 *   message contains DROP_ME  -> dropped (proves it is really called)
 * Build: gcc -shared -fPIC -O0 -Inative/include -o filter_faulty.so native/examples/filter_faulty.c
 */
#include <logloom_plugin.h>
#include <stdlib.h>
#include <string.h>

static const char *const caps[] = {"test", NULL};
LOGLOOM_PLUGIN_INFO(info, "filter_faulty", "0.1.0", "Logloom Team", "filter", "sync", caps);

const plugin_info_t *plugin_info(void) { return &info; }

int plugin_init(void) { return 0; }

int plugin_process(const log_entry_t *entry) {
  const char *m = entry->message;
  if (strstr(m, "CRASH_ME")) {
    volatile int *nowhere = NULL;
    *nowhere = 42;
  }
  if (strstr(m, "ABORT_ME")) abort();
  if (strstr(m, "FPE_ME")) {
    /* both volatile: gcc must emit a real idiv (it rewrites 1/x without dividing) */
    volatile int seven = 7, zero = 0;
    return seven / zero;
  }
  if (strstr(m, "HANG_ME")) {
    for (volatile int spin = 1; spin;) {}
  }
  return strstr(m, "DROP_ME") ? LOGLOOM_DROP : LOGLOOM_KEEP;
}

void plugin_shutdown(void) {}
