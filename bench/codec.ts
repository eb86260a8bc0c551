/**
 * The line codec alone, C and JS (agent/buffer/line-codec.ts, the fallback), on the records of
 * bench/pipeline.ts: 209-byte NDJSON lines (format json, DEBUG filtered), 64 KiB chunks. Prints
 * CPU ns per line (medians of 5) and, where valgrind is installed, the C codec's instructions per
 * line (callgrind: exact and independent of load, so it can be compared across machines and runs).
 *
 *   node bench/codec.ts
 *   LOGLOOM_BENCH_RECORDS=200000 LOGLOOM_BENCH_RUNS=1 node bench/codec.ts   (quick)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsLineCodec } from '../agent/buffer/line-codec.ts';
import { fmt, header, median, pipelineRecords } from './lib.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LINES = Number(process.env.LOGLOOM_BENCH_RECORDS ?? 2_000_000);
const RUNS = Number(process.env.LOGLOOM_BENCH_RUNS ?? 5);
const work = mkdtempSync(join(tmpdir(), 'logloom-bench-codec-'));
const BIN = join(work, 'codec-bench');
const src = join(ROOT, 'native/addon/src');
// The codec and the formats it dispatches to (syslog, kmsg, serial's console).
execFileSync('gcc', ['-O2', `-I${src}`, '-o', BIN, join(ROOT, 'bench/c/codec-bench.c'), ...['codec.c', 'entry.c', 'ndjson.c', 'syslog.c', 'kmsg.c', 'console.c'].map((f) => join(src, f)), '-lm']);

header('codec: 209-byte NDJSON lines → framed records', 'node bench/codec.ts  (LOGLOOM_BENCH_RECORDS, LOGLOOM_BENCH_RUNS)');
const c: number[] = [];
for (let i = 0; i < RUNS; i++) c.push(Number(/ns_per_line ([\d.]+)/.exec(execFileSync(BIN, [String(LINES)], { encoding: 'utf8' }))![1]));

// The JS codec on the same bytes (a tenth as many lines: it is the slow one).
const block = pipelineRecords();
const js: number[] = [];
const jsLines = Math.max(1000, Math.floor(LINES / 10));
for (let r = 0; r < RUNS; r++) {
  const codec = new JsLineCodec({ maxLineBytes: 1 << 20, maxMessageBytes: 65536, minLevel: 'INFO', defaultLevel: 'INFO', defaultModule: 'APP', node: 'bench', format: 'json' });
  const t0 = process.cpuUsage();
  for (let done = 0; done < jsLines; done += 1000)
    for (let off = 0; off < block.length; off += 65536) codec.feed(block.subarray(off, Math.min(off + 65536, block.length)), 1.7e12);
  const t = process.cpuUsage(t0);
  js.push(((t.user + t.system) * 1000) / jsLines);
}

let instructions = 'valgrind not installed';
const cg = join(work, 'callgrind.out');
const v = spawnSync('valgrind', ['--tool=callgrind', `--callgrind-out-file=${cg}`, BIN, '20000'], { encoding: 'utf8' });
if (v.status === 0) {
  const total = Number(/summary: (\d+)/.exec(readFileSync(cg, 'utf8'))![1]);
  instructions = fmt(total / 20000);
}
console.log(`${fmt(LINES)} lines (C), ${fmt(jsLines)} (JS); medians of ${RUNS}; shared machine: CPU figures are noisy, instruction counts are not`);
console.log('| codec | CPU ns/line | instructions/line |');
console.log('|---|---:|---:|');
console.log(`| C (native/addon/src/codec.c) | ${fmt(median(c))} | ${instructions} |`);
console.log(`| JS fallback (line-codec.ts) | ${fmt(median(js))} | |`);
rmSync(work, { recursive: true, force: true });
