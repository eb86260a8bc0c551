/**
 * Entries per second through out-of-process filters: a Python filter (SDK runner, real python3
 * child as the plugin user, in its cgroup) and a socket filter (the C example on a Unix socket),
 * with batches of 1, 64 and 512 entries, one batch in flight at a time as the pipeline calls a
 * filter. Each batch goes as the pipeline hands it to a process plugin: entry records (framed
 * NDJSON, agent/buffer/records.ts), encoded before the clock starts. Prints entries/s (wall time:
 * the plugin runs in another process), the median of 5 runs per case.
 *
 *   node --disable-warning=ExperimentalWarning bench/process-plugins.ts
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildEntry } from '../entry/build.ts';
import type { LogEntry } from '../entry/entry.ts';
import { createLog } from '../lib/log.ts';
import type { FilterAndSinkCalls } from '../agent/plugins/host.ts';
import { PythonHost } from '../agent/plugins/hosts/python.ts';
import { SocketHost } from '../agent/plugins/hosts/socket.ts';
import type { PluginContext } from '../agent/plugins/types.ts';
import { frameRecords } from '../agent/buffer/ring.ts';
import type { EntryRecords } from '../agent/buffer/records.ts';
import { encodeEntry } from '../entry/codec.ts';
import { header, median } from './lib.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const RUNS = 5;
const BATCHES = [1, 64, 512];
const ENTRIES: Record<number, number> = { 1: 2000, 64: 20_000, 512: 40_000 };

const dir = mkdtempSync(join(tmpdir(), 'logloom-bench-'));
chmodSync(dir, 0o755);
const log = createLog('WARN');
const limits = { timeout_ms: 10_000, max_inflight: 4, queue_length: 100_000, on_error: 'keep' as const };
const ctx = (name: string): PluginContext => ({
  config: { words: ['secret'] }, node: 'bench', stateDir: join(dir, name), log: log.child(name), render: (k: string) => k, emit: () => {},
}) as unknown as PluginContext;

function entries(n: number): LogEntry[] {
  const opts = { maxMessageBytes: 16384, defaultLevel: 'INFO' as const, defaultModule: 'BENCH', node: 'bench' };
  return Array.from({ length: n }, (_, i) => buildEntry({ message: i % 10 === 0 ? `secret token ${i}` : `sensor ${i % 7} reads ${i % 40}.5 C`, module: 'SENSOR' }, opts));
}

async function rate(host: FilterAndSinkCalls, batch: number): Promise<number> {
  const all = entries(ENTRIES[batch]!);
  const batches: EntryRecords[] = [];
  for (let i = 0; i < all.length; i += batch) {
    const slice = all.slice(i, i + batch);
    batches.push({ frames: frameRecords(slice.map((e) => Buffer.from(encodeEntry(e)))), count: slice.length });
  }
  const t0 = process.hrtime.bigint();
  for (const b of batches) await host.filterRecords(b, 10_000);
  return all.length / (Number(process.hrtime.bigint() - t0) / 1e9);
}

async function bench(name: string, host: FilterAndSinkCalls): Promise<void> {
  await host.start(ctx(name));
  await rate(host, 64); // warm-up
  for (const b of BATCHES) {
    const runs: number[] = [];
    for (let r = 0; r < RUNS; r++) runs.push(await rate(host, b));
    console.log(`${name.padEnd(28)} batch ${String(b).padStart(3)}: ${Math.round(median(runs)).toLocaleString('en').padStart(9)} entries/s  (median of ${RUNS}; runs ${runs.map((x) => Math.round(x)).join(', ')})`);
  }
  await host.stop();
}

header('process plugins: Python and socket filters on batches of entry records', 'node --disable-warning=ExperimentalWarning bench/process-plugins.ts');
const env = { python: '/usr/bin/python3', runtimeDir: dir, dataDir: dir, log };
await bench('python filter_keyword', new PythonHost({
  name: 'filter_keyword', kind: 'python', type: 'filter', origin: 'bench', file: join(ROOT, 'test/fixtures/plugins/python/filter_keyword.py'), protocol: 'line', trusted: false, limits,
} as never, env));

const bin = join(dir, 'socket_filter');
execFileSync('gcc', ['-O2', '-o', bin, join(ROOT, 'test/fixtures/plugins/socket_c/socket_filter.c')]);
const sock = join(dir, 'sf.sock');
const svc = spawn(bin, [sock], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise<void>((r) => svc.stdout!.once('data', () => r()));
const manifest = { name: 'socket_filter', version: '1.0.0', author: 'Logloom Team', type: 'filter', capability: [], entry: { kind: 'socket', protocol: 'line', trusted: false }, limits: {} };
await bench('socket (C) socket_filter', new SocketHost({
  name: 'socket_filter', kind: 'socket', type: 'filter', origin: 'bench', address: `unix:${sock}`, protocol: 'line', trusted: false, limits, manifest,
} as never, env));
svc.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
