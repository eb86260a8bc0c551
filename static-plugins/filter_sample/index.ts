/**
 * filter_sample: keeps 1 entry in `every` below a level (DEBUG and INFO chatter), per key, and
 * every entry at or above it. Kept samples carry `fields.sample_rate` so that counts made from
 * them can be scaled back; what is left out is counted in the filter's dropped figure.
 *
 * One function decides for entries (filter) and for records (filterRecords, each record read
 * through a lazy view: its level, and its module or source for the key; only a kept sample is
 * decoded whole, to be copied with sample_rate).
 */
import { definePlugin, type FilterPlugin, type FilterVerdict } from '../../agent/plugins/types.ts';
import { s, type Infer } from '../../lib/schema/schema.ts';
import { LEVELS, levelRank, type Level } from '../../lib/level.ts';
import type { LogEntry } from '../../entry/entry.ts';
import { mapRecordViews, RecordView } from '../../agent/buffer/record-view.ts';
import { info } from './info.generated.ts';

const configSchema = s.object(
  {
    every: s.int({ min: 1, max: 1_000_000, default: 10, doc: 'Keep 1 entry in this many (the first, then every N-th) of each key.' }),
    below: s.enum(LEVELS, { default: 'WARN', doc: 'Only entries below this level are sampled; the others are all kept.' }),
    key: s.enum(['module', 'source', 'none'] as const, { default: 'module', doc: 'Count separately per module, per source, or over all entries (none).' }),
    max_keys: s.int({ min: 1, max: 1_000_000, default: 10_000, doc: 'Keys counted at once; further keys share one count.' }),
  },
  { doc: 'filter_sample: keeps 1 in `every` entries below a level (per key) and all others; kept samples carry fields.sample_rate.' },
);
type Config = Infer<typeof configSchema>;

export default definePlugin({
  info,
  configSchema,
  create(): FilterPlugin {
    let cfg: Config;
    let below = levelRank('WARN');
    const counts = new Map<string, number>();
    const keyOf = (e: LogEntry) => (cfg.key === 'none' ? '' : cfg.key === 'module' ? e.module : (e.source ?? ''));
    function verdict(e: LogEntry): FilterVerdict {
      if (levelRank(e.level) >= below || cfg.every === 1) return true;
      let key = keyOf(e);
      if (!counts.has(key) && counts.size >= cfg.max_keys) key = '\u0000other';
      const n = counts.get(key) ?? 0;
      counts.set(key, (n + 1) % cfg.every);
      if (n !== 0) return false;
      // A view's fields are getters: the copy is made of the whole entry.
      const whole = e instanceof RecordView ? e.toEntry() : e;
      return { ...whole, fields: { ...(whole.fields ?? {}), sample_rate: cfg.every } };
    }
    return {
      init(c) {
        cfg = c.config as Config;
        below = levelRank(cfg.below as Level);
      },
      filter: verdict,
      filterRecords: (records) => mapRecordViews(records, verdict),
    };
  },
});
