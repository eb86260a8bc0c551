#include "plugin_loader.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ll_type_code(const char *name) {
  static const char *const names[] = {"filter", "sink", "ai", "lang"};
  for (int i = 0; name && i < 4; i++)
    if (strcmp(name, names[i]) == 0) return i;
  return -1;
}

static int refuse(ll_plugin_t *p, char *err, size_t errlen, const char *fmt, const char *a, const char *b) {
  snprintf(err, errlen, fmt, a, b);
  dlclose(p->dl);
  p->dl = NULL;
  return -1;
}

/* The hook each type needs, and the name the reason gives. */
static const char *missing_hook(const ll_plugin_t *p) {
  switch (p->type) {
    case LL_TYPE_FILTER: return p->process ? NULL : "plugin_process";
    case LL_TYPE_SINK: return p->process || p->process_batch ? NULL : "plugin_process";
    case LL_TYPE_AI: return p->analyze ? NULL : "plugin_analyze";
    case LL_TYPE_LANG: return p->resolve ? NULL : "plugin_resolve";
  }
  return "plugin_process";
}

/* Which hook the plugin does export, to say what type it looks like instead. */
static const char *hook_type(const ll_plugin_t *p) {
  return p->analyze ? "ai" : p->resolve ? "lang" : p->process_batch && !p->process ? "sink" : p->process ? "filter or sink" : NULL;
}

int ll_plugin_load(ll_plugin_t *p, const char *path, ll_type_t expected, char *err, size_t errlen) {
  memset(p, 0, sizeof *p);
  p->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!p->dl) {
    const char *why = dlerror();
    snprintf(err, errlen, "dlopen failed: %s", why ? why : "unknown error");
    return -1;
  }
  /* POSIX: casting void* to a function pointer goes through memcpy-free union-less cast. */
  *(void **)&p->init = dlsym(p->dl, "plugin_init");
  *(void **)&p->configure = dlsym(p->dl, "plugin_configure");
  *(void **)&p->process = dlsym(p->dl, "plugin_process");
  *(void **)&p->process_batch = dlsym(p->dl, "plugin_process_batch");
  *(void **)&p->shutdown = dlsym(p->dl, "plugin_shutdown");
  *(void **)&p->info = dlsym(p->dl, "plugin_info");
  *(void **)&p->analyze = dlsym(p->dl, "plugin_analyze");
  *(void **)&p->resolve = dlsym(p->dl, "plugin_resolve");
  *(void **)&p->catalogue = dlsym(p->dl, "plugin_catalogue");
  if (!p->init) return refuse(p, err, errlen, "missing %s()%s", "plugin_init", "");
  if (!p->shutdown) return refuse(p, err, errlen, "missing %s()%s", "plugin_shutdown", "");
  p->type = expected;
  if (p->info) {
    p->info_data = p->info();
    if (!p->info_data) return refuse(p, err, errlen, "%s%s", "plugin_info() returned NULL", "");
    if (p->info_data->abi_version != LOGLOOM_PLUGIN_ABI_VERSION) {
      snprintf(err, errlen, "ABI version %u not supported (this agent speaks ABI %u)", (unsigned)p->info_data->abi_version,
               (unsigned)LOGLOOM_PLUGIN_ABI_VERSION);
      dlclose(p->dl);
      p->dl = NULL;
      return -1;
    }
    int declared = ll_type_code(p->info_data->type);
    if (declared < 0) return refuse(p, err, errlen, "plugin_info() type \"%s\" is not one of filter, sink, ai, lang%s", p->info_data->type ? p->info_data->type : "(null)", "");
    p->type = (ll_type_t)declared;
  }
  const char *missing = missing_hook(p);
  if (missing) {
    const char *looks = hook_type(p);
    char why[160];
    snprintf(why, sizeof why, " (declared type %s; it exports the hook of %s)", p->info_data ? p->info_data->type : "from the file name", looks ? looks : "no type");
    return refuse(p, err, errlen, "missing %s()%s", missing, looks ? why : "");
  }
  return 0;
}

int ll_plugin_start(ll_plugin_t *p, const char *config_json, char *err, size_t errlen) {
  if (p->configure && config_json && config_json[0]) {
    int rc = p->configure(config_json);
    if (rc != 0) {
      snprintf(err, errlen, "plugin_configure() returned %d", rc);
      return -1;
    }
  }
  int rc = p->init();
  if (rc != 0) {
    snprintf(err, errlen, "plugin_init() returned %d", rc);
    return -1;
  }
  p->initialised = 1;
  return 0;
}

void ll_plugin_unload(ll_plugin_t *p) {
  if (p->initialised && p->shutdown) p->shutdown();
  p->initialised = 0;
  if (p->dl) dlclose(p->dl);
  p->dl = NULL;
}

static int read_u32(const uint8_t *buf, size_t len, size_t *off, uint32_t *out) {
  if (*off + 4 > len) return -1;
  memcpy(out, buf + *off, 4); /* little-endian hosts only (x86, arm) */
  *off += 4;
  return 0;
}

static int read_str(const uint8_t *buf, size_t len, size_t *off, const char **out) {
  uint32_t n;
  if (read_u32(buf, len, off, &n)) return -1;
  if (n == 0xFFFFFFFFu) {
    *out = NULL;
    return 0;
  }
  if ((size_t)n + 1 > len - *off || buf[*off + n] != 0) return -1;
  *out = (const char *)buf + *off;
  *off += (size_t)n + 1;
  return 0;
}

logloom_level_t ll_level_num(const char *l) {
  if (!l) return LOGLOOM_INFO;
  switch (l[0]) {
    case 'D': return LOGLOOM_DEBUG;
    case 'W': return LOGLOOM_WARN;
    case 'E': return LOGLOOM_ERROR;
    case 'F': return LOGLOOM_FATAL;
    default: return LOGLOOM_INFO;
  }
}

long ll_batch_decode(const uint8_t *buf, size_t len, log_entry_t **entries, const char ***args_store) {
  size_t off = 0;
  uint32_t n;
  *entries = NULL;
  *args_store = NULL;
  if (read_u32(buf, len, &off, &n)) return -1;
  if ((size_t)n > len / 32 + 1) return -1; /* each entry takes at least 32 bytes: refuse before allocating */
  log_entry_t *es = calloc(n ? n : 1, sizeof *es);
  size_t args_cap = 16, args_used = 0;
  const char **args = malloc(args_cap * sizeof *args);
  if (!es || !args) goto fail;
  /* First pass collects arg pointers in one growing array; entry args point into it afterwards. */
  size_t *arg_start = calloc(n ? n : 1, sizeof *arg_start);
  if (!arg_start) goto fail;
  for (uint32_t i = 0; i < n; i++) {
    log_entry_t *e = &es[i];
    if (read_str(buf, len, &off, &e->timestamp) || read_str(buf, len, &off, &e->level) || read_str(buf, len, &off, &e->module) ||
        read_str(buf, len, &off, &e->message) || read_str(buf, len, &off, &e->lang_key) || read_str(buf, len, &off, &e->node) ||
        read_str(buf, len, &off, &e->source)) {
      free(arg_start);
      goto fail;
    }
    uint32_t argc;
    if (read_u32(buf, len, &off, &argc) || argc > 1024) {
      free(arg_start);
      goto fail;
    }
    arg_start[i] = args_used;
    e->argc = argc;
    for (uint32_t a = 0; a < argc; a++) {
      if (args_used == args_cap) {
        args_cap *= 2;
        const char **grown = realloc(args, args_cap * sizeof *args);
        if (!grown) {
          free(arg_start);
          goto fail;
        }
        args = grown;
      }
      if (read_str(buf, len, &off, &args[args_used])) {
        free(arg_start);
        goto fail;
      }
      args_used++;
    }
    if (!e->message) e->message = "";
    if (!e->level) e->level = "INFO";
    if (!e->module) e->module = "APP";
    if (!e->timestamp) e->timestamp = "";
    e->level_num = ll_level_num(e->level);
  }
  for (uint32_t i = 0; i < n; i++) es[i].args = es[i].argc ? args + arg_start[i] : NULL;
  free(arg_start);
  *entries = es;
  *args_store = args;
  return (long)n;
fail:
  free(es);
  free(args);
  return -1;
}

void ll_batch_run(ll_plugin_t *p, int is_sink, const log_entry_t *entries, size_t n, int32_t *results) {
  if (is_sink && p->process_batch) {
    int rc = p->process_batch(entries, n);
    for (size_t i = 0; i < n; i++) results[i] = rc;
    return;
  }
  /* An ai or lang plugin has no plugin_process: a process frame sent to it fails each entry. */
  for (size_t i = 0; i < n; i++) results[i] = p->process ? p->process(&entries[i]) : -1;
}
