/**
 * filter_dedupe: an entry identical to one seen within `window` (same level, module, source and
 * message) is dropped and counted; when the window of the first one ends, one entry says
 * "last message repeated N times" (like syslogd), with the count in `fields.repeated`. A device
 * stuck printing the same error thus costs two entries per window instead of thousands.
 *
 * One function decides for entries (filter) and for records (filterRecords, each record read
 * through a lazy view: level, module, source and message are read off its bytes, nothing else).
 */
import { definePlugin, type FilterPlugin, type PluginContext } from '../../agent/plugins/types.ts';
import { s, type Infer } from '../../lib/schema/schema.ts';
import type { LogEntry } from '../../entry/entry.ts';
import type { Level } from '../../lib/level.ts';
import { mapRecordViews } from '../../agent/buffer/record-view.ts';
import { info } from './info.generated.ts';

const configSchema = s.object(
  {
    window: s.duration({ min: 10, max: 86_400_000, default: 10_000, doc: 'How long after an entry its repeats are collapsed.' }),
    ignore_source: s.bool({ default: false, doc: 'Treat equal messages from different sources (files, peers) as repeats too.' }),
    max_keys: s.int({ min: 1, max: 1_000_000, default: 10_000, doc: 'Distinct messages remembered at once; past it the oldest is reported and forgotten.' }),
  },
  { doc: 'filter_dedupe: collapses identical entries within a window into the first one plus one "last message repeated N times" entry.' },
);
type Config = Infer<typeof configSchema>;

interface Seen {
  since: number;
  repeated: number;
  level: Level;
  module: string;
  source?: string;
  message: string;
}

export default definePlugin({
  info,
  configSchema,
  create(): FilterPlugin {
    let cfg: Config;
    let ctx: PluginContext;
    /** In first-seen order (Map keeps insertion order): the oldest window ends first. */
    const seen = new Map<string, Seen>();
    let timer: NodeJS.Timeout | undefined;
    const OWN_SOURCE = 'plugin:filter_dedupe';

    function report(key: string, s: Seen): void {
      seen.delete(key);
      if (s.repeated === 0) return;
      ctx.emit({
        level: s.level,
        module: s.module,
        message: `last message repeated ${s.repeated} times: ${s.message.length > 200 ? s.message.slice(0, 200) + '…' : s.message}`,
        fields: { event: 'repeated', repeated: s.repeated, window_ms: cfg.window, ...(s.source ? { repeated_source: s.source } : {}) },
      });
    }

    /** Ends every window that is over (the oldest are first in the map). */
    function sweep(now = Date.now()): void {
      for (const [key, s] of seen) {
        if (now - s.since < cfg.window) break;
        report(key, s);
      }
    }

    /**
     * The oldest entry, for eviction once max_keys are remembered. One iterator serves every
     * eviction: a fresh seen.entries() would step over every entry deleted since the map was last
     * compacted (V8 keeps them as holes until then), thousands per call once the map is full.
     * Each entry it returns is deleted at once (report), and a key seen again is re-inserted at
     * the end, so everything before its position is gone and its next entry is the oldest.
     */
    let front: MapIterator<[string, Seen]> | undefined;
    function oldest(): [string, Seen] {
      let r = front?.next();
      if (!r || r.done) r = (front = seen.entries()).next();
      return r.value!;
    }

    /** Keep the first of its window, drop (and count) a repeat. Reads each field once (a view decodes on every read). */
    function verdict(e: LogEntry): boolean {
      const source = e.source;
      if (source === OWN_SOURCE) return true;
      const now = Date.now();
      const level = e.level;
      const module = e.module;
      const message = e.message;
      const key = `${level}\u0000${module}\u0000${cfg.ignore_source ? '' : (source ?? '')}\u0000${message}`;
      const s = seen.get(key);
      if (s && now - s.since < cfg.window) {
        s.repeated++;
        return false;
      }
      if (s) report(key, s);
      if (seen.size >= cfg.max_keys) {
        const [oldKey, old] = oldest();
        report(oldKey, old);
      }
      seen.set(key, { since: now, repeated: 0, level, module, source, message });
      return true;
    }

    return {
      init(c) {
        ctx = c;
        cfg = c.config as Config;
        timer = setInterval(() => sweep(), Math.max(10, Math.floor(cfg.window / 4)));
        timer.unref();
      },
      filter: verdict,
      filterRecords: (records) => mapRecordViews(records, verdict),
      shutdown() {
        clearInterval(timer);
        for (const [key, s] of [...seen]) report(key, s);
      },
    };
  },
});
