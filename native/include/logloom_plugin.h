/*
 * logloom_plugin.h — the C ABI of Logloom plugins (shared objects loaded with dlopen/dlsym).
 *
 * A plugin exports, with C linkage:
 *   int  plugin_init(void);                                    required, 0 = ok
 *   int  plugin_configure(const char *json);                   optional, plugins.config.<name> as JSON, 0 = ok
 *   void plugin_shutdown(void);                                required
 *   const plugin_info_t *plugin_info(void);                    required unless a plugin.yaml describes the plugin
 * and the hook of its type (the loader refuses a plugin without the hook its declared type needs):
 *   filter  int plugin_process(const log_entry_t *entry);      0 keep / 1 drop; <0 error
 *   sink    int plugin_process(const log_entry_t *entry);      0 ok; <0 error
 *           int plugin_process_batch(const log_entry_t *entries, size_t n);  optional (or instead), see below
 *   ai      int plugin_analyze(const log_entry_t *entry, logloom_emit_fn emit, void *emit_ctx);
 *           calls emit() once per result (zero or more; each becomes an entry with module AI), 0 = ok
 *   lang    const char *plugin_resolve(const char *lang_key, const char *lang);
 *           the template for a key in a language ("en", "zh"…), or NULL when this plugin has none
 *           int plugin_catalogue(logloom_template_fn add, void *add_ctx);   optional: registers every
 *           template it has at once (a multi-language registrar), so the agent can answer from its cache
 *
 * plugin_process_batch: used for sinks only; the whole batch in one call (0 = accepted, <0 = error:
 * the agent keeps the batch and retries it later, so a sink may see a batch again). Sinks without
 * it get one plugin_process call per entry. Filters always get plugin_process (one verdict each).
 *
 * Entries are read-only: a plugin may read, copy or forward them, never modify them. Pointers are
 * valid only during the call. Strings are NUL-terminated UTF-8, already sanitised (no control
 * characters other than tab).
 *
 * Build: gcc -shared -fPIC -O2 -o filter_x.so filter_x.c $(pkg-config --cflags logloom_plugin)
 */
#ifndef LOGLOOM_PLUGIN_H
#define LOGLOOM_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change to the structures below. The loader refuses a plugin whose
 * plugin_info()->abi_version differs. */
#define LOGLOOM_PLUGIN_ABI_VERSION 1

/* Levels, lowest first (same order as the agent's DEBUG < INFO < WARN < ERROR < FATAL). */
typedef enum {
  LOGLOOM_DEBUG = 0,
  LOGLOOM_INFO = 1,
  LOGLOOM_WARN = 2,
  LOGLOOM_ERROR = 3,
  LOGLOOM_FATAL = 4
} logloom_level_t;

/* One log entry: the C log_entry_t plus the lang_key arguments. */
typedef struct log_entry {
  const char *timestamp;   /* ISO 8601 UTC, e.g. "2025-04-30T12:00:00.000Z" */
  const char *level;       /* "DEBUG" | "INFO" | "WARN" | "ERROR" | "FATAL" */
  const char *module;      /* upper-case tag, at most 16 characters */
  const char *message;     /* the text (may be empty when lang_key carries the meaning) */
  const char *lang_key;    /* locale key or NULL */
  const char *const *args; /* lang_key arguments rendered as strings, argc of them (NULL if none) */
  size_t argc;
  logloom_level_t level_num; /* level as a number, for cheap comparisons */
  const char *node;        /* gateway id, or NULL */
  const char *source;      /* where it was captured ("unix", "serial:/dev/ttyS0"), or NULL */
} log_entry_t;

/* What a plugin says about itself. Static storage owned by the plugin. */
typedef struct plugin_info {
  uint32_t abi_version;          /* must be LOGLOOM_PLUGIN_ABI_VERSION */
  const char *name;              /* unique name, what plugins.enabled lists */
  const char *version;           /* semver, e.g. "1.2.0" */
  const char *author;
  const char *type;              /* "filter" | "sink" | "ai" | "lang" */
  const char *mode;              /* "sync" | "async" */
  const char *const *capability; /* NULL-terminated list of strings, or NULL */
} plugin_info_t;

/* One ai result ({"status":0,"summary":"…"}). Strings are copied during emit(); NULL = unset. */
typedef struct ai_result {
  const char *level;    /* "DEBUG" … "FATAL"; NULL = INFO */
  const char *message;  /* the summary text */
  const char *lang_key; /* a locale key instead of (or besides) the text, or NULL */
} ai_result_t;

/* Handed to plugin_analyze: delivers one result. Returns 0, or -1 when the result was refused
 * (more than LOGLOOM_MAX_AI_RESULTS for one entry). */
typedef int (*logloom_emit_fn)(void *emit_ctx, const ai_result_t *result);
#define LOGLOOM_MAX_AI_RESULTS 64

/* Handed to plugin_catalogue: registers one template (copied). Returns 0, or -1 when refused. */
typedef int (*logloom_template_fn)(void *add_ctx, const char *lang, const char *lang_key, const char *tmpl);

/* Return values of plugin_process for filters. */
#define LOGLOOM_KEEP 0
#define LOGLOOM_DROP 1

/* Helper for a static plugin_info. */
#define LOGLOOM_PLUGIN_INFO(var, name_, version_, author_, type_, mode_, caps_) \
  static const plugin_info_t var = {LOGLOOM_PLUGIN_ABI_VERSION, name_, version_, author_, type_, mode_, caps_}

/* Marks the entry points as exported even when built with -fvisibility=hidden. */
#if defined(__GNUC__)
#define LOGLOOM_EXPORT __attribute__((visibility("default")))
#else
#define LOGLOOM_EXPORT
#endif

LOGLOOM_EXPORT int plugin_init(void);
LOGLOOM_EXPORT int plugin_configure(const char *json);
LOGLOOM_EXPORT int plugin_process(const log_entry_t *entry);
LOGLOOM_EXPORT int plugin_process_batch(const log_entry_t *entries, size_t n);
LOGLOOM_EXPORT void plugin_shutdown(void);
LOGLOOM_EXPORT const plugin_info_t *plugin_info(void);
LOGLOOM_EXPORT int plugin_analyze(const log_entry_t *entry, logloom_emit_fn emit, void *emit_ctx);
LOGLOOM_EXPORT const char *plugin_resolve(const char *lang_key, const char *lang);
LOGLOOM_EXPORT int plugin_catalogue(logloom_template_fn add, void *add_ctx);

#ifdef __cplusplus
}
#endif

#endif /* LOGLOOM_PLUGIN_H */
