/**
 * filter_throttle: at most `rate` entries per `interval` for each key (module, source, level…),
 * like Fluent Bit's throttle filter. What goes over is dropped, counted, and summarised: when the
 * interval ends, one WARN entry per key says how many were dropped ("throttled 4312 entries of
 * module PUMP in 1s"), so a flood is visible without flooding the uplink.
 *
 * One function decides for entries (filter) and for records (filterRecords, each record read
 * through a lazy view: its level, source, and the fields of the key, nothing else).
 */
import { definePlugin, type FilterPlugin, type PluginContext } from '../../agent/plugins/types.ts';
import { s, type Infer } from '../../lib/schema/schema.ts';
import { LEVELS, levelRank, type Level } from '../../lib/level.ts';
import type { LogEntry } from '../../entry/entry.ts';
import { mapRecordViews } from '../../agent/buffer/record-view.ts';
import { info } from './info.generated.ts';

const KEY_PARTS = ['module', 'source', 'level', 'message'] as const;
type KeyPart = (typeof KEY_PARTS)[number];

const configSchema = s.object(
  {
    rate: s.int({ min: 1, max: 10_000_000, default: 100, doc: 'Entries let through per interval for each key.' }),
    interval: s.duration({ min: 10, max: 86_400_000, default: 1000, doc: 'The window the rate applies to.' }),
    key: s.array(s.enum(KEY_PARTS, { doc: '' }), { default: ['module'], doc: 'What makes entries one stream for the count: any of module, source, level, message; [] = all entries together.' }),
    exempt_level: s.enum(LEVELS, { default: 'FATAL', doc: 'Entries at or above this level are never throttled (nor counted).' }),
    max_keys: s.int({ min: 1, max: 1_000_000, default: 10_000, doc: 'Keys tracked at once; entries of further keys share one key "(other)".' }),
  },
  { doc: 'filter_throttle: at most `rate` entries per `interval` per key; the overflow is dropped, counted and summarised in one WARN entry per key and interval.' },
);
type Config = Infer<typeof configSchema>;

interface Window {
  passed: number;
  dropped: number;
  module: string;
}

export default definePlugin({
  info,
  configSchema,
  create(): FilterPlugin {
    let cfg: Config;
    let ctx: PluginContext;
    let exempt = levelRank('FATAL');
    let windows = new Map<string, Window>();
    let timer: NodeJS.Timeout | undefined;
    let windowStart = 0;
    const OWN_SOURCE = 'plugin:filter_throttle';

    function keyOf(e: LogEntry): string {
      let k = '';
      for (const part of cfg.key as KeyPart[]) k += (e[part] ?? '') + '\u0000';
      return k;
    }

    /** Ends the window: one summary per key that dropped something, then fresh counts. */
    function roll(): void {
      const ended = windows;
      windows = new Map();
      windowStart = Date.now();
      for (const [key, w] of ended) {
        if (w.dropped === 0) continue;
        const what = cfg.key.length ? cfg.key.map((p, i) => `${p} ${key.split('\u0000')[i]}`).join(', ') : 'all entries';
        ctx.emit({
          level: 'WARN',
          module: w.module,
          message: `throttled ${w.dropped} entries of ${what} in ${cfg.interval} ms (${w.passed} let through, rate ${cfg.rate})`,
          fields: { event: 'throttled', throttled: w.dropped, passed: w.passed, interval_ms: cfg.interval, rate: cfg.rate },
        });
      }
    }

    function verdict(e: LogEntry): boolean {
      if (e.source === OWN_SOURCE || levelRank(e.level) >= exempt) return true;
      let key = keyOf(e);
      let w = windows.get(key);
      if (!w) {
        if (windows.size >= cfg.max_keys) {
          key = '(other)';
          w = windows.get(key);
        }
        if (!w) windows.set(key, (w = { passed: 0, dropped: 0, module: cfg.key.includes('module') ? e.module : 'THROTTLE' }));
      }
      if (w.passed < cfg.rate) {
        w.passed++;
        return true;
      }
      w.dropped++;
      return false;
    }

    return {
      init(c) {
        ctx = c;
        cfg = c.config as Config;
        exempt = levelRank(cfg.exempt_level as Level);
        windowStart = Date.now();
        timer = setInterval(roll, cfg.interval);
        timer.unref();
      },
      filter: verdict,
      filterRecords: (records) => mapRecordViews(records, verdict),
      shutdown() {
        clearInterval(timer);
        // The last window's summary is offered too; plugins stop after the drain, so it reaches
        // only sinks still running (the drops themselves are counted in dropped_by_filter).
        if (Date.now() > windowStart) roll();
      },
    };
  },
});
