/**
 * Per-entry cost of plugins, in process (no I/O):
 *   direct     the 3 static filters (filter_level, filter_grep, filter_redact) called straight,
 *              as a baseline for what the plugins themselves cost;
 *   supervisor the same 3 filters through the real registry + supervisor + pipeline filter loop
 *              (verdict checks, replacement copies, counters), batches of 1024;
 *   noop       one filter that keeps everything, through the supervisor: the framework's own cost.
 * Median of 5 runs of N entries each. Re-run: make bench  (or: node bench/plugins.ts [entries])
 */
import { entryRecord, RecordBatch } from '../agent/pipeline/batch.ts';
import { performance } from 'node:perf_hooks';
import { fmt, header, median } from './lib.ts';
import { buildEntry } from '../entry/build.ts';
import type { LogEntry } from '../entry/entry.ts';
import filterLevel from '../static-plugins/filter_level/index.ts';
import filterGrep from '../static-plugins/filter_grep/index.ts';
import filterRedact from '../static-plugins/filter_redact/index.ts';
import { definePlugin, type FilterPlugin, type PluginContext, type StaticPluginModule } from '../agent/plugins/types.ts';
import { startHarness } from '../test/plugins/harness.ts';

const N = Number(process.argv[2] ?? 200_000);
const RUNS = 5;
const BATCH = 1024;

const CONFIG = {
  filter_level: { min_level: 'INFO', modules: { NET: 'DEBUG' } },
  filter_grep: { rules: [{ field: 'message', pattern: 'heartbeat', action: 'drop', ignore_case: true }] },
  filter_redact: { patterns: ['ipv4', 'email', 'token'], custom: [], mask: '***', args: true },
};

function entries(n: number): LogEntry[] {
  const msgs = ['sensor reading 42 value=17 status=ok', 'dhcp lease from 192.168.1.20 ok', 'heartbeat', 'user bob@example.com logged in', 'pump pressure 3 bar'];
  const levels = ['INFO', 'DEBUG', 'WARN', 'INFO', 'ERROR'];
  return Array.from({ length: n }, (_, i) =>
    buildEntry({ level: levels[i % 5], module: i % 7 === 0 ? 'NET' : 'APP', message: `${msgs[i % 5]} #${i}` }, { maxMessageBytes: 16384, defaultLevel: 'INFO', defaultModule: 'APP', node: 'bench' }));
}

const ctx = (name: string): PluginContext => ({
  config: CONFIG[name as keyof typeof CONFIG] ?? {}, node: 'bench', stateDir: '/tmp', render: (k) => k, emit: () => {},
  log: { debug() {}, info() {}, warn() {}, error() {} },
});

async function direct(input: LogEntry[]): Promise<number> {
  const fs = [filterLevel, filterGrep, filterRedact].map((m) => ({ m, f: m.create() as FilterPlugin }));
  for (const { m, f } of fs) await f.init?.(ctx(m.info.name));
  const t0 = performance.now();
  let kept = 0;
  for (let e of input) {
    let keep = true;
    for (const { f } of fs) {
      const v = f.filter(e);
      if (v === false) { keep = false; break; }
      if (typeof v === 'object') e = v as LogEntry;
    }
    if (keep) kept++;
  }
  const ns = ((performance.now() - t0) * 1e6) / input.length;
  if (kept === 0) throw new Error('nothing kept');
  return ns;
}

async function supervised(input: LogEntry[], mods: StaticPluginModule[]): Promise<number> {
  const h = await startHarness({ statics: mods, config: { enabled: mods.map((m) => m.info.name), config: CONFIG } });
  const filters = h.pipeline.filters;
  // What the pipeline hands the filters: batches of records (decoded for the stages that need objects).
  const batches = Array.from({ length: Math.ceil(input.length / BATCH) }, (_, k) => input.slice(k * BATCH, (k + 1) * BATCH).map((e) => entryRecord(e)));
  const t0 = performance.now();
  for (const recs of batches) {
    let batch = RecordBatch.of(recs);
    for (const f of filters) batch = batch.apply(f.keep(batch) as (boolean | LogEntry)[]);
  }
  const ns = ((performance.now() - t0) * 1e6) / input.length;
  await h.stop();
  return ns;
}

const noop = definePlugin({
  info: { name: 'filter_noop', version: '1.0.0', author: 'bench', type: 'filter', capability: [], mode: 'sync' },
  create: (): FilterPlugin => ({ filter: () => true }),
});

header('plugins: per-entry cost of static filters, direct and through the supervisor', 'make bench  (or: node bench/plugins.ts [entries])');
const input = entries(N);
const results: Record<string, number[]> = { direct: [], supervisor: [], noop: [] };
for (let r = 0; r < RUNS; r++) {
  results.direct!.push(await direct(input));
  results.supervisor!.push(await supervised(input, [filterLevel, filterGrep, filterRedact]));
  results.noop!.push(await supervised(input, [noop]));
}
console.log(`entries per run: ${fmt(N)}, runs: ${RUNS}, batch: ${BATCH}`);
console.log(`3 static filters, called directly:        ${fmt(median(results.direct!))} ns/entry (median)`);
console.log(`3 static filters, through the supervisor: ${fmt(median(results.supervisor!))} ns/entry (median)`);
console.log(`1 no-op filter, through the supervisor:   ${fmt(median(results.noop!))} ns/entry (median; the framework's own cost)`);
