/**
 * The serial input of a real agent: console lines written into a socat pty pair (a virtual
 * null-modem cable, docs/serial.md) by the C load tool (bench/c/inputs-load.c, built here with
 * gcc), read by the agent's `serial` input (3,000,000 baud) and sent on by sink_tcp to the same
 * tool, which counts the lines that come back. The lines are what consoles print, CRLF: plain
 * key=value, kernel-style "[ 12.345678] usb …", level-prefixed "WARN: …", ESP-IDF "I (123) wifi: …".
 * The input hands its reads to the codec (format serial), which frames, parses and writes the
 * records into the ring: the C codec with the native ring, its JS twin with the JS fallback.
 * Prints, per agent (the packaged executable when dist/bin has it, and the checkout) and per
 * buffer (native ring; JS fallback: buffer.native off), medians of 5 runs: lines/s and MB/s
 * (first byte written to last line back), agent CPU µs per line, agent peak RSS. A real UART at
 * 3,000,000 baud carries at most 300 KB/s; the pty carries more, so this is the agent's ceiling.
 *
 *   node bench/serial.ts            (make package TARGET=x64 first for the packaged figures)
 *   LOGLOOM_BENCH_RECORDS=100000 LOGLOOM_BENCH_RUNS=1 node bench/serial.ts   (quick)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PtyPair } from '../test/helpers/pty.ts';
import { agentConfigHead, buildC, builds, fmt, header, loadRun, median, type Build, type LoadRun } from './lib.ts';

const LINES = Number(process.env.LOGLOOM_BENCH_RECORDS ?? 200_000);
const RUNS = Number(process.env.LOGLOOM_BENCH_RUNS ?? 5);

const work = mkdtempSync(join(tmpdir(), 'logloom-bench-serial-'));
const TOOL = buildC('inputs-load.c', work);

async function once(build: Build, native: 'on' | 'off'): Promise<LoadRun> {
  const dir = mkdtempSync(join(work, 'run-'));
  const pty = await new PtyPair(dir).start();
  try {
    return await loadRun({
      tool: TOOL, build, cfgPath: join(dir, 'logloom.yaml'), count: LINES, expect: LINES,
      load: { transport: 'tty', target: pty.console, format: 'console' },
      // The port is opened a moment after "started": the run begins once the input says so.
      ready: [/open at 3000000/],
      config: (recv) => `${agentConfigHead(dir, { node: 'bench', native })}  inputs:
    - type: serial
      path: ${pty.device}
      baud_rate: 3000000
  plugins:
    enabled: [sink_tcp]
    config:
      sink_tcp: { host: 127.0.0.1, port: ${recv} }
`,
    });
  } finally {
    await pty.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}


header('serial: socat pty → serial input (3,000,000 baud) → sink_tcp → a receiver', 'node bench/serial.ts  (LOGLOOM_BENCH_RECORDS, LOGLOOM_BENCH_RUNS; make package TARGET=x64 first for the packaged figures)');
console.log(`${fmt(LINES)} console lines per run (CRLF, 4 kinds, about 44 bytes each); medians of ${RUNS}, agents and buffers interleaved; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores (shared machine: rates are noisy, compare CPU µs per line)`);
const variants = builds().flatMap((a) => (['on', 'off'] as const).map((native) => ({ a, native, runs: [] as LoadRun[] })));
for (let i = 0; i < RUNS; i++) for (const v of variants) v.runs.push(await once(v.a, v.native));
console.log('| agent | buffer | lines/s | MB/s | agent CPU µs/line | agent peak RSS MiB | lines lost |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const v of variants) {
  const m = (k: keyof LoadRun) => median(v.runs.map((r) => r[k]));
  console.log(`| ${v.a.label} | ${v.native === 'on' ? 'native ring' : 'JS fallback'} | ${fmt(m('rate'))} | ${fmt(median(v.runs.map((r) => (r.rate * r.inBytes) / r.lines / 1e6)), 1)} | ${fmt(m('cpuUs'), 2)} | ${fmt(m('peak'))} | ${fmt(LINES - m('lines'))} |`);
}
rmSync(work, { recursive: true, force: true });
