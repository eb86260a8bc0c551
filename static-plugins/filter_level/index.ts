import { definePlugin, type FilterPlugin } from '../../agent/plugins/types.ts';
import { s, type Infer } from '../../lib/schema/schema.ts';
import { LEVELS, levelRank, type Level } from '../../lib/level.ts';
import { forEachRecord, levelModuleSpanInto, recordLevelModule, recordLevelsAtLeast, spanLevelRank, type EntryRecords, type LevelModuleSpan } from '../../agent/buffer/records.ts';
import { info } from './info.generated.ts';

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
  info,
  configSchema,
  create(): FilterPlugin {
    let min = levelRank('INFO');
    const perModule = new Map<string, number>();
    /** Where the record being read has its level and module (one for every record). */
    const span: LevelModuleSpan = { levelStart: 0, levelEnd: 0, moduleStart: 0, moduleEnd: 0 };
    return {
      init(ctx) {
        const c = ctx.config as Config;
        min = levelRank(c.min_level);
        for (const [m, l] of Object.entries(c.modules)) perModule.set(m.toUpperCase(), levelRank(l));
      },
      filter: (e) => keep(e.level, e.module),
      // The records path: level (and module, when overrides need it) read off the record's bytes.
      filterRecords({ frames, count }) {
        const out = new Array<boolean>(count);
        if (perModule.size === 0 && nativeVerdicts({ frames, count }, out)) return out;
        forEachRecord(frames, (start, end, i) => {
          if (!levelModuleSpanInto(frames, start, end, span)) {
            const { level, module } = recordLevelModule(frames, start, end);
            out[i] = keep(level, module);
            return;
          }
          const floor = perModule.size ? (perModule.get(frames.toString('latin1', span.moduleStart, span.moduleEnd)) ?? min) : min;
          out[i] = (spanLevelRank(frames, span) ?? 0) >= floor;
        });
        return out;
      },
    };
    /**
     * Without per-module overrides, the addon (when the native ring has loaded it) reads every
     * record's level in one call, by the same rule as the loop below (recordLevelsAtLeast): on the
     * forwarding path that loop had been 7 % of the agent's main thread. False when it cannot
     * answer for every record (no addon, a record of another shape): the loop decides.
     */
    function nativeVerdicts(r: EntryRecords, out: boolean[]): boolean {
      const kept = recordLevelsAtLeast(r, min);
      if (!kept) return false;
      for (let i = 0; i < r.count; i++) out[i] = kept[i] === 1;
      return true;
    }
    function keep(level: string, module: string): boolean {
      return levelRank(level as Level) >= (perModule.get(module) ?? min);
    }
  },
});
