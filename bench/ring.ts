/**
 * Native fast path vs JS on the same input. Re-run: `make native && node bench/ring.ts`
 * (or `make bench`). Prints the median of 5 runs for each case.
 *  1. ingest → filter → framed batch: 64 KiB chunks of mixed log lines (plain with levels, syslog,
 *     NDJSON, 1/4 DEBUG dropped by the level filter) split, sanitised, level-filtered, framed,
 *     pushed into the ring and drained in batches of 4096 records ready for the forwarder.
 *  2. a C filter (filter_keyword.so) in-process (trusted, through the addon) vs in the host process,
 *     given JS objects (encoded as a binary batch) or entry records (the records path).
 *  3. the pipeline buffer for entries that are already JS objects (inputs that emit drafts):
 *     RingEntryQueue on the native and the JS ring.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsRing } from '../agent/buffer/js-ring.ts';
import { JsLineCodec, type CodecOptions, type LineCodec } from '../agent/buffer/line-codec.ts';
import { NativeLineCodec } from '../agent/buffer/native-codec.ts';
import { NativeRing } from '../agent/buffer/native-ring.ts';
import { createRingMemory } from '../agent/buffer/ring-layout.ts';
import { forEachFrame, frameRecords, type Ring } from '../agent/buffer/ring.ts';
import { encodeEntry } from '../entry/codec.ts';
import { buildEntry } from '../entry/build.ts';
import { RingEntryQueue, type EntryBuffer } from '../agent/buffer/entry-buffer.ts';
import type { LogEntry } from '../entry/entry.ts';
import { NativeInProcessHost, NativeProcessHost } from '../agent/plugins/hosts/native.ts';
import type { DiscoveredPlugin } from '../agent/plugins/discovered.ts';
import type { PluginContext } from '../agent/plugins/types.ts';

const RUNS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)} M` : `${(n / 1e3).toFixed(1)} k`);

// ---- 1. ingest → filter → framed batch ----
const LINES = [
  '[INFO] [net] link up on eth0 speed 1000 Mb/s full duplex',
  '<30>dhcpd[812]: DHCPACK on 192.168.1.23 to 00:11:22:33:44:55 via eth1',
  'ERROR: modbus timeout reading register 40001 from slave 3 after 500 ms',
  'DEBUG polling sensor 17: temperature=21.4C humidity=40%',
  '{"level":"warn","module":"pump","message":"pressure high","value":7.9}',
  'plain text from a legacy app without any level at all, a bit longer than the others',
  '[WARN] [serial] framing error on /dev/ttyS1 (3 in the last minute)',
  'DEBUG heartbeat ok',
];
const TOTAL_LINES = 200_000;
function input(): Buffer[] {
  const text = Array.from({ length: TOTAL_LINES }, (_, i) => LINES[i % LINES.length]).join('\n') + '\n';
  const all = Buffer.from(text);
  const chunks: Buffer[] = [];
  for (let o = 0; o < all.length; o += 65536) chunks.push(all.subarray(o, o + 65536));
  return chunks;
}
const chunks = input();
const inputBytes = chunks.reduce((a, c) => a + c.length, 0);
const opts: CodecOptions = { maxLineBytes: 1 << 20, maxMessageBytes: 16384, minLevel: 'INFO', defaultLevel: 'INFO', defaultModule: 'app', node: 'gw-1', source: 'unix' };

function drainAll(ring: Ring): { records: number; bytes: number } {
  let records = 0, bytes = 0;
  for (let f = ring.drain(4096); f; f = ring.drain(4096)) {
    records += forEachFrame(f, () => {});
    bytes += f.length;
  }
  return { records, bytes };
}

type Pipeline = () => { records: number; bytes: number };
function viaPushFrames(makeCodec: () => LineCodec, makeRing: () => Ring): Pipeline {
  return () => {
    const codec = makeCodec();
    const ring = makeRing();
    let records = 0, bytes = 0;
    const now = Date.now();
    for (const c of chunks) {
      const frames = codec.feed(c, now);
      if (ring.pushFrames(frames, 'block') !== frames.length) throw new Error('ring too small for the bench');
      const d = drainAll(ring);
      records += d.records;
      bytes += d.bytes;
    }
    return { records, bytes };
  };
}
function measure(name: string, fn: Pipeline): number {
  const times: number[] = [];
  let out = { records: 0, bytes: 0 };
  fn(); // warm-up
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    out = fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  const s = median(times);
  console.log(`  ${name.padEnd(44)} ${fmt(TOTAL_LINES / s).padStart(9)} lines/s  ${fmt(out.records / s).padStart(9)} records/s  ${(inputBytes / s / 1048576).toFixed(1).padStart(7)} MiB/s in  (${out.records} records, median of ${RUNS}: ${(s * 1000).toFixed(0)} ms)`);
  return s;
}

console.log(`ingest → level filter → framed batch: ${TOTAL_LINES} lines, ${(inputBytes / 1048576).toFixed(1)} MiB in 64 KiB chunks`);
const js = measure('JS codec + JS ring', viaPushFrames(() => new JsLineCodec(opts), () => new JsRing(createRingMemory(8 << 20))));
const nat = measure('native codec + native ring', viaPushFrames(() => new NativeLineCodec(opts), () => new NativeRing(createRingMemory(8 << 20))));
console.log(`  native gain: ${(js / nat).toFixed(1)}x`);

// ---- 2. a C filter in-process vs in the host process ----
const dir = mkdtempSync(join(tmpdir(), 'logloom-bench-'));
const so = join(dir, 'filter_keyword.so');
execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-I', new URL('../native/include', import.meta.url).pathname, '-o', so, new URL('../native/examples/filter_keyword.c', import.meta.url).pathname]);
const plugin = (trusted: boolean) =>
  ({ name: 'filter_keyword', kind: 'native', type: 'filter', origin: so, file: so, protocol: 'line', trusted, limits: { timeout_ms: 5000 } }) as unknown as DiscoveredPlugin;
const ctx = { config: { keyword: 'heartbeat', action: 'drop' } } as unknown as PluginContext;
const build = { maxMessageBytes: 16384, defaultLevel: 'INFO' as const, defaultModule: 'APP', node: 'gw-1', source: 'unix' };
const entries: LogEntry[] = Array.from({ length: 1000 }, (_, i) => buildEntry({ message: LINES[i % LINES.length] }, build));
const BATCHES = 100;
// The records path's form of the same entries: what the ring holds (agent/buffer/records.ts).
const records = { frames: frameRecords(entries.map((e) => Buffer.from(encodeEntry(e)))), count: entries.length };
console.log(`C filter (filter_keyword.so), ${BATCHES} batches of ${entries.length} entries, as JS objects (binary batch) and as entry records:`);
for (const [name, host, form] of [
  ['in-process (trusted, addon), objects', new NativeInProcessHost(plugin(true)), 'objects'],
  ['in-process (trusted, addon), records', new NativeInProcessHost(plugin(true)), 'records'],
  ['host process (isolated, pipe), objects', new NativeProcessHost(plugin(false)), 'objects'],
  ['host process (isolated, pipe), records', new NativeProcessHost(plugin(false)), 'records'],
] as const) {
  await host.start(ctx);
  const times: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const t = process.hrtime.bigint();
    for (let b = 0; b < BATCHES; b++) await (form === 'objects' ? host.filter(entries, 5000) : host.filterRecords(records, 5000));
    if (run > 0) times.push(Number(process.hrtime.bigint() - t) / 1e9); // run 0 warms up
  }
  const s = median(times);
  console.log(`  ${name.padEnd(44)} ${fmt((BATCHES * entries.length) / s).padStart(9)} entries/s  (median of ${RUNS}: ${(s * 1000).toFixed(0)} ms)`);
  await host.stop();
}

// ---- 3. the pipeline buffer for entries already built as objects ----
const N3 = 100_000;
const objs: LogEntry[] = Array.from({ length: N3 }, (_, i) => buildEntry({ message: `${LINES[i % LINES.length]} #${i}` }, build));
console.log(`pipeline buffer, ${N3} entries offered then shifted in steps of 1024 (entries already JS objects):`);
for (const [name, make] of [
  ['RingEntryQueue, native ring', () => new RingEntryQueue(new NativeRing(createRingMemory(64 << 20)), 1 << 20)],
  ['RingEntryQueue, JS ring', () => new RingEntryQueue(new JsRing(createRingMemory(64 << 20)), 1 << 20)],
] as const) {
  const times: number[] = [];
  for (let run = 0; run <= RUNS; run++) {
    const q: EntryBuffer = make();
    const t = process.hrtime.bigint();
    for (let i = 0; i < N3; i += 1024) {
      for (let j = i; j < Math.min(N3, i + 1024); j++) q.offer(objs[j]!, 'block');
      for (let j = i; j < Math.min(N3, i + 1024); j++) q.shift();
    }
    if (run > 0) times.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  const s3 = median(times);
  console.log(`  ${name.padEnd(44)} ${fmt(N3 / s3).padStart(9)} entries/s  (median of ${RUNS}: ${(s3 * 1000).toFixed(0)} ms)`);
}
