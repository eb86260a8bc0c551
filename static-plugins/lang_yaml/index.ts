import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { definePlugin, type LangPlugin } from '../../agent/plugins/types.ts';
import { s, type Infer } from '../../lib/schema/schema.ts';
import { builtinTable, parseLocale, BUILTIN_LANGUAGES } from '../../lib/i18n/catalogue.ts';
import { info } from './info.generated.ts';

const configSchema = s.object(
  {
    dir: s.optional(s.string({ doc: '' }), { doc: 'Directory of <lang>.yaml files (nested keys, like locales/en.yaml). Omitted: the built-in catalogue only.' }),
    builtin: s.bool({ default: true, doc: 'Also answer from the built-in locales (locales/*.yaml) for keys the directory lacks.' }),
  },
  {
    doc: 'lang_yaml: the locale catalogue as a lang plugin. Lang plugins are asked in the order of plugins.enabled and the first answer wins, so a plugin listed before lang_yaml overrides its keys.',
  },
);
type Config = Infer<typeof configSchema>;

/** Answers templates from YAML locale files; a language missing from them answers null (next resolver). */
export default definePlugin({
  info,
  configSchema,
  create(): LangPlugin {
    const tables = new Map<string, Map<string, string>>();
    return {
      init(ctx) {
        const c = ctx.config as Config;
        if (c.builtin) for (const lang of BUILTIN_LANGUAGES) tables.set(lang, builtinTable(lang));
        if (c.dir !== undefined) {
          if (!existsSync(c.dir)) throw new Error(`dir ${c.dir} does not exist`);
          for (const f of readdirSync(c.dir).filter((n) => /^[A-Za-z_-]{2,16}\.ya?ml$/.test(n))) {
            const lang = f.replace(/\.ya?ml$/, '');
            let own: Map<string, string>;
            try {
              own = parseLocale(readFileSync(join(c.dir, f), 'utf8'));
            } catch (e) {
              throw new Error(`${join(c.dir, f)}: ${(e as Error).message.split('\n')[0]}`);
            }
            tables.set(lang, new Map([...(tables.get(lang) ?? []), ...own]));
          }
        }
      },
      resolve: (key, lang) => tables.get(lang)?.get(key) ?? null,
    };
  },
});
