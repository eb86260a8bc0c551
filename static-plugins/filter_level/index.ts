import { definePlugin, type FilterPlugin } from '../../agent/plugins/types.ts';
import { s, type Infer } from '../../agent/config/schema.ts';
import { LEVELS, levelRank } from '../../agent/entry/level.ts';

const configSchema = s.object(
  {
    min_level: s.enum(LEVELS, { default: 'INFO', doc: 'Entries below this level are dropped.' }),
    modules: s.map(s.enum(LEVELS, { doc: '' }), { default: {}, doc: 'Per-module minimum level overriding min_level, e.g. `{ NET: DEBUG, CORE: WARN }`.' }),
  },
  { doc: 'filter_level: drops entries below a minimum level, with per-module overrides.' },
);
type Config = Infer<typeof configSchema>;

/** Keeps entries at or above min_level (or their module's own minimum). */
export default definePlugin({
  info: { name: 'filter_level', version: '1.0.0', author: 'Logloom Team', type: 'filter', capability: ['level'], mode: 'sync' },
  configSchema,
  create(): FilterPlugin {
    let min = levelRank('INFO');
    const perModule = new Map<string, number>();
    return {
      init(ctx) {
        const c = ctx.config as Config;
        min = levelRank(c.min_level);
        for (const [m, l] of Object.entries(c.modules)) perModule.set(m.toUpperCase(), levelRank(l));
      },
      filter: (e) => levelRank(e.level) >= (perModule.get(e.module) ?? min),
    };
  },
});
