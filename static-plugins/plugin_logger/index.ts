import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { definePlugin, type FilterPlugin, type PluginContext, type StageEvent } from '../../agent/plugins/types.ts';
import { s, type Infer } from '../../lib/schema/schema.ts';
import type { LogEntry } from '../../entry/entry.ts';
import { info } from './info.generated.ts';

const configSchema = s.object(
  {
    output: s.enum(['file', 'debug'] as const, { default: 'debug', doc: 'file: one JSON line per record into path; debug: a DEBUG entry (module PLUGINLOG) per record.' }),
    path: s.string({ default: '/var/log/logloom/plugin-chain.log', doc: 'File for output: file.' }),
    sample: s.int({ min: 1, max: 1_000_000, default: 1, doc: 'Record one entry (and one stage event) in this many.' }),
    stages: s.array(s.enum(['filter', 'sink', 'ai'] as const, { doc: 'A stage.' }), { default: ['filter', 'sink', 'ai'], doc: 'Which stages to trace: every filter call per entry, every sink batch, every ai analysis.' }),
  },
  { doc: 'plugin_logger: a transparent filter that records every stage an entry meets (filters, sinks, ai analysers) with verdict, time and a summary of what went in and out, plus each entry\'s filter chain when it passes plugin_logger.' },
);
type Config = Infer<typeof configSchema>;

const SELF_SOURCE = 'plugin:plugin_logger';

/** The JSON line of one stage event (file output). */
function stageRecord(ev: StageEvent): Record<string, unknown> {
  const e = ev.entry;
  return {
    record: 'stage', stage: ev.stage, plugin: ev.plugin, kind: ev.kind, verdict: ev.verdict, micros: ev.micros,
    ...(e ? { timestamp: e.timestamp, module: e.module, level: e.level, message: e.message.slice(0, 200) } : {}),
    in: ev.in, ...(ev.out ? { out: ev.out } : {}), ...(ev.changed ? { changed: ev.changed } : {}),
    ...(ev.results !== undefined ? { results: ev.results } : {}), ...(ev.error ? { error: ev.error.slice(0, 300) } : {}),
  };
}

/** The text of one stage event (debug output). */
function stageText(ev: StageEvent): string {
  const io = (d: StageEvent['in']) => `${d.entries} entries ${d.bytes} B ${d.sha256}`;
  const what = ev.entry ? `[${ev.entry.module}] ${ev.entry.message.slice(0, 60)} | ` : '';
  return `${what}${ev.stage} ${ev.plugin} ${ev.verdict} ${ev.micros}us | in ${io(ev.in)}${ev.out ? ` | out ${io(ev.out)}` : ''}${ev.changed ? ` | changed ${ev.changed.join(',')}` : ''}${ev.error ? ` | ${ev.error.slice(0, 120)}` : ''}`;
}

/**
 * Always keeps the entry. Capability `trace` asks the supervisor to record chains and stage
 * events, so put plugin_logger after the filters to watch (plugins.enabled order) for the chain
 * records; stage events come from every filter, sink and ai analyser wherever they are. Its own
 * DEBUG entries are recognised by their source and not recorded again.
 */
export default definePlugin({
  info,
  configSchema,
  create(): FilterPlugin {
    let ctx: PluginContext;
    let config: Config;
    let out: WriteStream | undefined;
    let unlisten: (() => void) | undefined;
    let n = 0;
    let events = 0;
    const write = (record: Record<string, unknown>, text: string) => {
      if (out) out.write(JSON.stringify(record) + '\n');
      else ctx.emit({ level: 'DEBUG', module: 'PLUGINLOG', message: text, source: SELF_SOURCE });
    };
    const onStage = (ev: StageEvent) => {
      if (!(config.stages ?? ['filter', 'sink', 'ai']).includes(ev.stage as Config['stages'][number])) return;
      if (ev.plugin === 'plugin_logger') return; // its own pass is the chain record
      // Never trace our own DEBUG entries (or a batch holding only those): no feedback loop.
      if (ev.entry?.source === SELF_SOURCE && (ev.stage !== 'sink' || ev.in.entries === 1)) return;
      if (events++ % config.sample !== 0) return;
      write(stageRecord(ev), stageText(ev));
    };
    return {
      init(c) {
        ctx = c;
        config = c.config as Config;
        if (config.output === 'file') {
          mkdirSync(dirname(config.path), { recursive: true });
          out = createWriteStream(config.path, { flags: 'a', mode: 0o640 });
          out.on('error', (e) => ctx.log.warn(`${config.path}: ${e.message}`));
        }
        unlisten = ctx.onStage?.(onStage);
      },
      filter(e: LogEntry) {
        if (e.source === SELF_SOURCE || n++ % config.sample !== 0) return true;
        const chain = ctx.chain?.(e) ?? [];
        const total = chain.reduce((a, st) => a + st.micros, 0);
        const path = chain.map((st) => `${st.plugin} ${st.micros}us ${st.verdict}`).join(' -> ') || '(no filters before plugin_logger)';
        write(
          { record: 'chain', timestamp: e.timestamp, module: e.module, level: e.level, message: e.message.slice(0, 200), source: e.source, chain, total_micros: total },
          `[${e.module}] ${e.message.slice(0, 80)} | ${path} | total ${total}us`,
        );
        return true;
      },
      async shutdown() {
        unlisten?.();
        unlisten = undefined;
        const o = out;
        out = undefined;
        if (o) await new Promise<void>((r) => o.end(() => r()));
      },
    };
  },
});
