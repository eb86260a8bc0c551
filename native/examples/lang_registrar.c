/*
 * lang_registrar: a multi-language registrar in C (a lang plugin). It registers its templates for
 * several languages at once through plugin_catalogue(), so the agent answers lookups from its own
 * cache, and answers single lookups through plugin_resolve(). Templates use the agent's
 * printf-style placeholders (%s %d %u %f %x), filled with the entry's args.
 * Build: gcc -shared -fPIC -O2 -Inative/include -o lang_registrar.so native/examples/lang_registrar.c
 */
#include <logloom_plugin.h>
#include <string.h>

static const char *const caps[] = {"registrar", NULL};
LOGLOOM_PLUGIN_INFO(info, "lang_registrar", "1.0.0", "Logloom Team", "lang", "sync", caps);

static const struct {
  const char *lang, *key, *tmpl;
} table[] = {
    {"en", "pump.started", "Pump %s started"},
    {"en", "pump.stopped", "Pump %s stopped after %d s"},
    {"de", "pump.started", "Pumpe %s gestartet"},
    {"de", "pump.stopped", "Pumpe %s nach %d s gestoppt"},
    {"zh", "pump.started", "泵 %s 已启动"},
    {"zh", "pump.stopped", "泵 %s 运行 %d 秒后停止"},
    /* Not registered through plugin_catalogue: found by plugin_resolve only (on demand). */
    {"en", "pump.rare", "Pump %s reports a rare condition"},
};
#define REGISTERED 6

const plugin_info_t *plugin_info(void) { return &info; }
int plugin_init(void) { return 0; }
void plugin_shutdown(void) {}

const char *plugin_resolve(const char *lang_key, const char *lang) {
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
    if (strcmp(table[i].key, lang_key) == 0 && strcmp(table[i].lang, lang) == 0) return table[i].tmpl;
  return NULL;
}

int plugin_catalogue(logloom_template_fn add, void *add_ctx) {
  for (size_t i = 0; i < REGISTERED; i++)
    if (add(add_ctx, table[i].lang, table[i].key, table[i].tmpl) != 0) return -1;
  return 0;
}
