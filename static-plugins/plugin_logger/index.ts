import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import { definePlugin, type FilterPlugin, type PluginContext } from '../../agent/plugins/types.ts';
import { s, type Infer } from '../../agent/config/schema.ts';
import type { LogEntry } from '../../agent/entry/entry.ts';

const configSchema = s.object(
  {
    output: s.enum(['file', 'debug'] as const, { default: 'debug', doc: 'file: one JSON line per entry into path; debug: a DEBUG entry (module PLUGINLOG) per entry.' }),
    path: s.string({ default: '/var/log/logloom/plugin-chain.log', doc: 'File for output: file.' }),
    sample: s.int({ min: 1, max: 1_000_000, default: 1, doc: 'Record one entry in this many.' }),
  },
  { doc: 'plugin_logger (seed §6.5): a transparent filter that records, per entry, the filters it passed before this one, with each one\'s verdict and time.' },
);
type Config = Infer<typeof configSchema>;

const SELF_SOURCE = 'plugin:plugin_logger';

/**
 * Always keeps the entry. Capability `trace` asks the supervisor to record chains, so put
 * plugin_logger after the filters to watch (plugins.enabled order). Its own DEBUG entries are
 * recognised by their source and not recorded again.
 */
export default definePlugin({
  info: { name: 'plugin_logger', version: '1.0.0', author: 'Logloom Team', type: 'filter', capability: ['trace', 'debug'], mode: 'sync' },
  configSchema,
  create(): FilterPlugin {
    let ctx: PluginContext;
    let config: Config;
    let out: WriteStream | undefined;
    let n = 0;
    return {
      init(c) {
        ctx = c;
        config = c.config as Config;
        if (config.output === 'file') {
          mkdirSync(dirname(config.path), { recursive: true });
          out = createWriteStream(config.path, { flags: 'a', mode: 0o640 });
          out.on('error', (e) => ctx.log.warn(`${config.path}: ${e.message}`));
        }
      },
      filter(e: LogEntry) {
        if (e.source === SELF_SOURCE || n++ % config.sample !== 0) return true;
        const chain = ctx.chain?.(e) ?? [];
        const total = chain.reduce((a, st) => a + st.micros, 0);
        if (out) {
          out.write(JSON.stringify({ timestamp: e.timestamp, module: e.module, level: e.level, message: e.message.slice(0, 200), source: e.source, chain, total_micros: total }) + '\n');
        } else {
          const path = chain.map((st) => `${st.plugin} ${st.micros}us ${st.verdict}`).join(' -> ') || '(no filters before plugin_logger)';
          ctx.emit({ level: 'DEBUG', module: 'PLUGINLOG', message: `[${e.module}] ${e.message.slice(0, 80)} | ${path} | total ${total}us`, source: SELF_SOURCE });
        }
        return true;
      },
      async shutdown() {
        const o = out;
        out = undefined;
        if (o) await new Promise<void>((r) => o.end(() => r()));
      },
    };
  },
});
