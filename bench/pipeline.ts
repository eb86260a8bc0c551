/**
 * The agent's data plane end to end: 2,000,000 NDJSON records of 209 bytes over TCP into the
 * `tcp` input (format json) → filter_level (drops DEBUG, one record in ten) → sink_tcp → a
 * receiver. A small C generator and C receiver (bench/c/, built here with gcc) stand at both
 * ends so the harness costs nothing measurable. Prints, per agent (the packaged executable when
 * dist/bin has it, and the checkout) and per buffer (native: the C codec and ring; JS fallback:
 * buffer.native off), medians of 5: records/s in, agent CPU µs per record, idle RSS, peak RSS
 * during the run, start-up to ready (wall time, and the agent's CPU time, which a loaded machine
 * inflates less); and the wire limit (generator straight into the receiver).
 *
 *   node bench/pipeline.ts                  (make package TARGET=x64 first for the packaged figures)
 *   LOGLOOM_BENCH_RECORDS=500000 LOGLOOM_BENCH_RUNS=3 node bench/pipeline.ts   (quicker)
 *   LOGLOOM_BENCH_BUFFERS=native node bench/pipeline.ts   (the native buffer only; or js)
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigHead, builds, cpuSeconds, fmt, freePort, header, lineOf, median, peakRssMiB, ROOT, track } from './lib.ts';

const RECORDS = Number(process.env.LOGLOOM_BENCH_RECORDS ?? 2_000_000);
const RUNS = Number(process.env.LOGLOOM_BENCH_RUNS ?? 5);
/** Which buffers to measure: native, js, or both (the default). */
const BUFFERS = (process.env.LOGLOOM_BENCH_BUFFERS ?? 'native,js').split(',').map((b) => {
  const mode = ({ native: 'on', js: 'off' } as const)[b.trim() as 'native' | 'js'];
  if (!mode) throw new Error(`LOGLOOM_BENCH_BUFFERS: native, js or both (native,js), not ${JSON.stringify(process.env.LOGLOOM_BENCH_BUFFERS)}`);
  return mode;
});
const KEPT = RECORDS - Math.ceil(RECORDS / 10); // every tenth record is DEBUG (record 0, 10, 20…)

const work = mkdtempSync(join(tmpdir(), 'logloom-bench-pipeline-'));
const GEN = join(work, 'pipeline-gen');
const RECV = join(work, 'pipeline-recv');
for (const [src, out] of [['pipeline-gen.c', GEN], ['pipeline-recv.c', RECV]] as const) execFileSync('gcc', ['-O2', '-o', out, join(ROOT, 'bench/c', src)]);

/**
 * Resident set of a live process, MiB: all of it, and its anonymous part (heaps, stacks, the
 * ring) apart from the pages of mapped files (the executable's own code and data: clean pages
 * the kernel drops and reads again under memory pressure, shared by every process of the binary).
 */
function rssMiB(pid: number): { all: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024;
  return { all: kb('VmRSS'), anon: kb('RssAnon'), file: kb('RssFile') };
}

interface Run {
  rate: number;
  cpuUs: number;
  idle: number;
  idleAnon: number;
  idleFile: number;
  peak: number;
  startMs: number;
  /** CPU the agent used to reach ready: less sensitive to a loaded machine than the wall time. */
  startCpuMs: number;
}

/** One run: receiver, agent (until ready), generator; the receiver's last byte ends it. */
async function runOnce(argv: string[], native: 'on' | 'off'): Promise<Run> {
  const dir = mkdtempSync(join(work, 'run-'));
  const recv = track(spawn(RECV, [String(KEPT)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const recvPort = Number((await lineOf(recv, /port (\d+)/))[1]);
  const port = await freePort();
  const cfg = join(dir, 'logloom.yaml');
  writeFileSync(cfg, `${agentConfigHead(dir, { node: 'bench', native })}  inputs:
    - type: tcp
      listen: 127.0.0.1:${port}
      format: json
  plugins:
    enabled: [filter_level, sink_tcp]
    config:
      filter_level: { min_level: INFO }
      sink_tcp: { host: 127.0.0.1, port: ${recvPort} }
`);
  const t0 = performance.now();
  const agent = track(spawn(argv[0]!, [...argv.slice(1), 'run', '-c', cfg], { stdio: ['ignore', 'ignore', 'pipe'] }));
  await new Promise<void>((resolve, reject) => {
    let err = '';
    agent.stderr!.on('data', (d) => {
      err += d.toString();
      if (/started on node/.test(err)) resolve();
    });
    agent.once('exit', (code) => reject(new Error(`agent exited with ${code}:\n${err}`)));
  });
  const startMs = performance.now() - t0;
  const startCpuMs = cpuSeconds(agent.pid!) * 1000;
  // Idle: what the agent holds once started and quiet (a moment for start-up garbage to settle).
  // (2 s: the agent releases the executable's start-up pages at once and again a second after it
  // started, see lib/native-runtime.ts STARTUP_RELEASE_AT_MS; idle is what it holds from then on.)
  await new Promise((r) => setTimeout(r, 2000));
  const rss = rssMiB(agent.pid!);
  const cpu0 = cpuSeconds(agent.pid!);
  const gen = track(spawn(GEN, ['127.0.0.1', String(port), String(RECORDS)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const start = BigInt((await lineOf(gen, /start (\d+)/))[1]!);
  const done = await lineOf(recv, /done (\d+) (\d+) (\d+)/);
  const secs = Number(BigInt(done[3]!) - start) / 1e9;
  const run: Run = { rate: RECORDS / secs, cpuUs: ((cpuSeconds(agent.pid!) - cpu0) / RECORDS) * 1e6, idle: rss.all, idleAnon: rss.anon, idleFile: rss.file, peak: peakRssMiB(agent.pid!), startMs, startCpuMs };
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  recv.kill();
  rmSync(dir, { recursive: true, force: true });
  return run;
}

/** The wire limit: the generator straight into the receiver. */
async function wire(): Promise<number> {
  const recv = track(spawn(RECV, [String(RECORDS)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const port = Number((await lineOf(recv, /port (\d+)/))[1]);
  const gen = track(spawn(GEN, ['127.0.0.1', String(port), String(RECORDS)], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const start = BigInt((await lineOf(gen, /start (\d+)/))[1]!);
  const done = await lineOf(recv, /done (\d+) (\d+) (\d+)/);
  return RECORDS / (Number(BigInt(done[3]!) - start) / 1e9);
}

header('pipeline: tcp (json) → filter_level → sink_tcp', 'node bench/pipeline.ts');
console.log(`${fmt(RECORDS)} records of 209 bytes, ${fmt(KEPT)} kept (DEBUG dropped); medians of ${RUNS}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${(await import('node:os')).cpus().length} cores (shared machine: figures are noisy)`);
const wires: number[] = [];
for (let i = 0; i < RUNS; i++) wires.push(await wire());
console.log(`wire limit (generator → receiver): ${fmt(median(wires))} records/s`);

const agents = builds();

console.log('| agent | buffer | records/s in | agent CPU µs/record | idle RSS MiB (anon + file) | peak RSS MiB | start-up ms | start-up CPU ms |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|');
for (const a of agents) {
  for (const native of BUFFERS) {
    const runs: Run[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await runOnce(a.argv, native));
    const m = (k: keyof Run) => median(runs.map((r) => r[k]));
    console.log(`| ${a.label} | ${native === 'on' ? 'native (C codec, ring)' : 'JS fallback'} | ${fmt(m('rate'))} | ${fmt(m('cpuUs'), 2)} | ${fmt(m('idle'))} (${fmt(m('idleAnon'))} + ${fmt(m('idleFile'))}) | ${fmt(m('peak'))} | ${fmt(m('startMs'))} | ${fmt(m('startCpuMs'))} |`);
  }
}
rmSync(work, { recursive: true, force: true });
