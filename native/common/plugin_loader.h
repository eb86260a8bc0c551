/*
 * Loading and calling a C plugin, shared by the plugin host process (native/plugin-host/) and the
 * in-process (trusted) path of the addon (native/addon/), so both validate and call alike.
 */
#ifndef LOGLOOM_PLUGIN_LOADER_H
#define LOGLOOM_PLUGIN_LOADER_H

#include <stddef.h>
#include <stdint.h>
#include "../include/logloom_plugin.h"

/* The plugin type the agent expects (frames 'L' body, addon pluginLoad): decides which hook is required. */
typedef enum { LL_TYPE_FILTER = 0, LL_TYPE_SINK = 1, LL_TYPE_AI = 2, LL_TYPE_LANG = 3 } ll_type_t;

typedef struct {
  void *dl;
  ll_type_t type; /* what the plugin declared in plugin_info(), else what the agent expected */
  int (*init)(void);
  int (*configure)(const char *json);
  int (*process)(const log_entry_t *entry);
  int (*process_batch)(const log_entry_t *entries, size_t n);
  void (*shutdown)(void);
  const plugin_info_t *(*info)(void);
  int (*analyze)(const log_entry_t *entry, logloom_emit_fn emit, void *emit_ctx);
  const char *(*resolve)(const char *lang_key, const char *lang);
  int (*catalogue)(logloom_template_fn add, void *add_ctx);
  const plugin_info_t *info_data; /* plugin_info() result, or NULL */
  int initialised;
} ll_plugin_t;

/* dlopen + dlsym + ABI check + the hook check: plugin_init and plugin_shutdown always, then the
 * hook of the type plugin_info() declares (or `expected` without plugin_info): plugin_process (or,
 * for sinks, plugin_process_batch), plugin_analyze, plugin_resolve. On failure returns -1 and
 * writes the reason (the text after "Failed to load plugin 'x.so': ", e.g. "missing
 * plugin_process()") into err. Whether the declared type is the expected one is the agent's check. */
int ll_plugin_load(ll_plugin_t *p, const char *path, ll_type_t expected, char *err, size_t errlen);

/* The type name's code, or -1. */
int ll_type_code(const char *name);

/* Runs plugin_configure (if exported and json non-empty) then plugin_init. */
int ll_plugin_start(ll_plugin_t *p, const char *config_json, char *err, size_t errlen);

void ll_plugin_unload(ll_plugin_t *p);

/*
 * A batch of entries in the wire form (little-endian), shared by the pipe protocol and the addon:
 *   u32 n, then per entry: 7 strings (timestamp, level, module, message, lang_key, node, source),
 *   u32 argc, argc strings; a string is u32 len (0xFFFFFFFF = NULL) + len bytes + one NUL byte.
 * ll_batch_decode points the entries' strings into buf (no copies). Returns the entry count or -1.
 * *entries is malloc'd (caller frees); *args_store too.
 */
long ll_batch_decode(const uint8_t *buf, size_t len, log_entry_t **entries, const char ***args_store);

/* The level name's number (unknown names count as INFO). */
logloom_level_t ll_level_num(const char *level);

/* Filters: one plugin_process call per entry. Sinks: plugin_process_batch when exported
 * (its result repeated for every entry), else one plugin_process per entry. */
void ll_batch_run(ll_plugin_t *p, int is_sink, const log_entry_t *entries, size_t n, int32_t *results);

#endif
