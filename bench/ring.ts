/**
 * The ring of records, native (the addon) against its JS twin (the fallback, `buffer.native:
 * off`), in this process, and the C filter on a batch of records in process against in its host.
 * Medians of 5 runs; CPU time (this process and its children), so the figures move less with
 * the machine's load than wall time would.
 *  1. bytes → codec → ring → drain: 64 KiB chunks fed to the line codec, its framed records pushed
 *     into the ring and drained in batches of 4096, as the byte inputs (unix, tcp, stdin, file)
 *     and the pipeline do. Two inputs: the 209-byte NDJSON records of bench/pipeline.ts (format
 *     json, the DEBUG tenth filtered: bench/codec.ts has the codec alone on them) and mixed text
 *     lines (plain with levels, syslog-looking, NDJSON, format auto, a quarter DEBUG).
 *  2. entries → ring → shift: entries already built as objects (what syslog, serial, kmsg,
 *     journald build) offered to the agent's buffer (RingEntryQueue: one NDJSON encode per entry)
 *     and shifted back, in steps of 1024.
 *  3. filter_keyword.so on batches of 1000 entry records: in process (trusted, through the addon)
 *     and in its plugin host process (a pipe). bench/records-path.ts has the same choice end to end.
 *
 *   make native && node bench/ring.ts
 *   LOGLOOM_BENCH_RECORDS=50000 LOGLOOM_BENCH_RUNS=1 node bench/ring.ts   (quick)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsRing } from '../agent/buffer/js-ring.ts';
import { JsLineCodec, type CodecOptions, type LineCodec } from '../agent/buffer/line-codec.ts';
import { NativeLineCodec } from '../agent/buffer/native-codec.ts';
import { NativeRing } from '../agent/buffer/native-ring.ts';
import { createRingMemory } from '../agent/buffer/ring-layout.ts';
import { forEachFrame, frameRecords, type Ring } from '../agent/buffer/ring.ts';
import { RingEntryQueue } from '../agent/buffer/entry-buffer.ts';
import { entryRecord } from '../agent/pipeline/batch.ts';
import { encodeEntry } from '../entry/codec.ts';
import { buildEntry } from '../entry/build.ts';
import type { LogEntry } from '../entry/entry.ts';
import { NativeInProcessHost, NativeProcessHost } from '../agent/plugins/hosts/native.ts';
import type { DiscoveredPlugin } from '../agent/plugins/discovered.ts';
import type { PluginContext } from '../agent/plugins/types.ts';
import { compilePlugin } from '../test/native/compile.ts';
import { cpuSeconds, fmt, header, median, pipelineRecords, treeCpuSeconds } from './lib.ts';

const LINES = Number(process.env.LOGLOOM_BENCH_RECORDS ?? 500_000);
const RUNS = Number(process.env.LOGLOOM_BENCH_RUNS ?? 5);

/** CPU seconds of the children of this process (the plugin host), from /proc (10 ms ticks). */
const childCpu = () => treeCpuSeconds(process.pid) - cpuSeconds(process.pid);

/** CPU seconds of this process (µs resolution) and its children for fn; run 0 warms up and is not counted. */
async function cpuMedian(fn: () => unknown): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const own = process.cpuUsage();
    const kids = childCpu();
    await fn();
    const d = process.cpuUsage(own);
    if (run > 0) times.push((d.user + d.system) / 1e6 + childCpu() - kids);
  }
  return median(times);
}

header('ring: the buffer of records, native and JS; a C filter in process and in its host', 'make native && node bench/ring.ts  (LOGLOOM_BENCH_RECORDS, LOGLOOM_BENCH_RUNS)');
console.log(`medians of ${RUNS} (after a warm-up run); CPU time of this process and of the plugin host (10 ms ticks: its batches are many enough for that)`);

// ---- 1. bytes → codec → ring → drain ----
const MIXED = [
  '[INFO] [net] link up on eth0 speed 1000 Mb/s full duplex',
  '<30>dhcpd[812]: DHCPACK on 192.168.1.23 to 00:11:22:33:44:55 via eth1',
  'ERROR: modbus timeout reading register 40001 from slave 3 after 500 ms',
  'DEBUG polling sensor 17: temperature=21.4C humidity=40%',
  '{"level":"warn","module":"pump","message":"pressure high","value":7.9}',
  'plain text from a legacy app without any level at all, a bit longer than the others',
  '[WARN] [serial] framing error on /dev/ttyS1 (3 in the last minute)',
  'DEBUG heartbeat ok',
];
function chunked(all: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let o = 0; o < all.length; o += 65536) chunks.push(all.subarray(o, o + 65536));
  return chunks;
}
const ndjson = pipelineRecords();
const inputs = [
  { name: '209-byte NDJSON records (format json)', format: 'json' as const, chunks: chunked(Buffer.concat(Array.from({ length: Math.ceil(LINES / 1000) }, () => ndjson))), lines: Math.ceil(LINES / 1000) * 1000 },
  { name: 'mixed text lines (format auto)', format: 'auto' as const, chunks: chunked(Buffer.from(Array.from({ length: LINES }, (_, i) => MIXED[i % MIXED.length]).join('\n') + '\n')), lines: LINES },
];

function pipeline(chunks: Buffer[], makeCodec: () => LineCodec, makeRing: () => Ring): () => number {
  return () => {
    const codec = makeCodec();
    const ring = makeRing();
    let records = 0;
    const now = Date.now();
    for (const c of chunks) {
      const frames = codec.feed(c, now);
      if (ring.pushFrames(frames, 'block') !== frames.length) throw new Error('ring too small for the bench');
      for (let f = ring.drain(4096); f; f = ring.drain(4096)) records += forEachFrame(f, () => {});
    }
    return records;
  };
}

console.log('\n1. bytes → codec → ring → drain (64 KiB chunks, batches of 4096)');
console.log('| input | codec + ring | lines/s of CPU | CPU ns/line | records out |');
console.log('|---|---|---:|---:|---:|');
for (const inp of inputs) {
  const opts: CodecOptions = { maxLineBytes: 1 << 20, maxMessageBytes: 16384, minLevel: 'INFO', defaultLevel: 'INFO', defaultModule: 'APP', node: 'bench', source: 'unix', format: inp.format };
  for (const [label, codec, ring] of [
    ['native (addon)', () => new NativeLineCodec(opts), () => new NativeRing(createRingMemory(8 << 20))],
    ['JS fallback', () => new JsLineCodec(opts), () => new JsRing(createRingMemory(8 << 20))],
  ] as const) {
    const run = pipeline(inp.chunks, codec, ring);
    const records = run();
    const s = await cpuMedian(run);
    console.log(`| ${inp.name} | ${label} | ${fmt(inp.lines / s)} | ${fmt((s / inp.lines) * 1e9)} | ${fmt(records)} |`);
  }
}

// ---- 2. entries → ring → shift ----
const build = { maxMessageBytes: 16384, defaultLevel: 'INFO' as const, defaultModule: 'APP', node: 'bench', source: 'syslog' };
const N2 = Math.max(10_000, Math.floor(LINES / 5));
const objs: LogEntry[] = Array.from({ length: N2 }, (_, i) => buildEntry({ message: `${MIXED[i % MIXED.length]} #${i}` }, build));
console.log(`\n2. entries built as objects → the agent's buffer (RingEntryQueue) → shift, ${fmt(N2)} entries in steps of 1024`);
console.log('| ring | entries/s of CPU | CPU ns/entry |');
console.log('|---|---:|---:|');
for (const [label, make] of [
  ['native (addon)', () => new RingEntryQueue(new NativeRing(createRingMemory(64 << 20)), 1 << 20)],
  ['JS fallback', () => new RingEntryQueue(new JsRing(createRingMemory(64 << 20)), 1 << 20)],
] as const) {
  const s = await cpuMedian(() => {
    const q = make();
    for (let i = 0; i < N2; i += 1024) {
      for (let j = i; j < Math.min(N2, i + 1024); j++) q.offer(entryRecord(objs[j]!), 'block');
      for (let j = i; j < Math.min(N2, i + 1024); j++) q.shift();
    }
  });
  console.log(`| ${label} | ${fmt(N2 / s)} | ${fmt((s / N2) * 1e9)} |`);
}

// ---- 3. a C filter on records, in process and in its host ----
const dir = mkdtempSync(join(tmpdir(), 'logloom-bench-ring-'));
const so = compilePlugin(dir, 'filter_keyword.so', { example: 'filter_keyword.c' });
const plugin = (trusted: boolean) =>
  ({ name: 'filter_keyword', kind: 'native', type: 'filter', origin: so, file: so, protocol: 'line', trusted, limits: { timeout_ms: 5000 } }) as unknown as DiscoveredPlugin;
const ctx = { config: { keyword: 'heartbeat', action: 'drop' }, node: 'bench', stateDir: join(dir, 'state'), log: { debug() {}, info() {}, warn() {}, error() {} }, render: (k: string) => k, emit: () => {} } as unknown as PluginContext;
const batch = Array.from({ length: 1000 }, (_, i) => buildEntry({ message: MIXED[i % MIXED.length]! }, build));
const records = { frames: frameRecords(batch.map((e) => Buffer.from(encodeEntry(e)))), count: batch.length };
const BATCHES = Math.max(100, Math.floor(LINES / 250));
console.log(`\n3. filter_keyword.so on ${fmt(BATCHES)} batches of ${batch.length} entry records (CPU of this process and the plugin host)`);
console.log('| where | entries/s of CPU | CPU ns/entry |');
console.log('|---|---:|---:|');
for (const [label, host] of [
  ['in process (trusted, addon)', new NativeInProcessHost(plugin(true))],
  ['host process (pipe)', new NativeProcessHost(plugin(false))],
] as const) {
  await host.start(ctx);
  const s = await cpuMedian(async () => {
    for (let b = 0; b < BATCHES; b++) await host.filterRecords(records, 5000);
  });
  console.log(`| ${label} | ${fmt((BATCHES * batch.length) / s)} | ${fmt((s / (BATCHES * batch.length)) * 1e9)} |`);
  await host.stop();
}
rmSync(dir, { recursive: true, force: true });
