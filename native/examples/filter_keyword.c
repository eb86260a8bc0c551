/*
 * filter_keyword: drops (or keeps only) entries whose message contains a keyword.
 * Config (plugins.config.filter_keyword): {"keyword": "heartbeat", "action": "drop" | "keep"}
 *   drop (default): entries containing the keyword are dropped, others kept;
 *   keep: only entries containing the keyword are kept.
 * Build: gcc -shared -fPIC -O2 -Inative/include -o filter_keyword.so native/examples/filter_keyword.c
 */
#include <logloom_plugin.h>
#include <stdio.h>
#include <string.h>

static char keyword[256] = "heartbeat";
static int keep_matching = 0;

static const char *const caps[] = {"keyword", NULL};
LOGLOOM_PLUGIN_INFO(info, "filter_keyword", "1.0.0", "Logloom Team", "filter", "sync", caps);

const plugin_info_t *plugin_info(void) { return &info; }

/* Copies the JSON string value of "key" (no escapes beyond \" and \\) into out; 0 when found. */
static int json_string(const char *json, const char *key, char *out, size_t outlen) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  const char *p = strstr(json, pat);
  if (!p) return -1;
  p = strchr(p + strlen(pat), ':');
  if (!p) return -1;
  while (*++p == ' ') {}
  if (*p != '"') return -1;
  size_t n = 0;
  for (p++; *p && *p != '"' && n + 1 < outlen; p++) {
    if (*p == '\\' && p[1]) p++;
    out[n++] = *p;
  }
  out[n] = 0;
  return 0;
}

int plugin_configure(const char *json) {
  char action[16];
  json_string(json, "keyword", keyword, sizeof keyword);
  if (json_string(json, "action", action, sizeof action) == 0) {
    if (strcmp(action, "keep") == 0) keep_matching = 1;
    else if (strcmp(action, "drop") == 0) keep_matching = 0;
    else return -1; /* unknown action: refuse to start rather than guess */
  }
  return 0;
}

int plugin_init(void) { return keyword[0] ? 0 : -1; }

int plugin_process(const log_entry_t *entry) {
  int match = strstr(entry->message, keyword) != NULL;
  return match == keep_matching ? LOGLOOM_KEEP : LOGLOOM_DROP;
}

void plugin_shutdown(void) {}
