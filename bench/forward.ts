/**
 * Forwarding end to end: a C generator (bench/c/pipeline-gen.c, the records of bench/pipeline.ts:
 * ~209 bytes of NDJSON, every tenth DEBUG) writes N records over TCP into a real agent (`tcp`
 * input, format json → filter_level min INFO → log_aggregator_remote, memory-first spool), which
 * forwards them to a real `logloom aggregator` (NDJSON store, fsync interval, index off). A run
 * ends when the aggregator's store has committed every kept entry (its state.json says so).
 *
 * Prints, per build (the packaged executable when dist/bin has it, and the checkout), medians of
 * 5: entries/s end to end, agent and aggregator CPU µs per entry (per record sent, DEBUG ones
 * included), agent and aggregator peak RSS; then the spool's own rates (the Spool module on a
 * temp dir, mode always, fsync batch, deflated batches of 1000): write, and replay from disk
 * (reopen, scan, read every batch back). Targets (2 cores): >= 700,000 entries/s, <= 1.3 µs agent
 * and <= 1.0 µs aggregator CPU per entry, agent peak <= 96 MiB, aggregator peak <= 160 MiB, spool
 * replay >= 700,000 entries/s. The machine is shared: the load average is printed with the figures.
 *
 *   node bench/forward.ts                      (make package TARGET=x64 first for the packaged figures)
 *   LOGLOOM_BENCH_RECORDS=500000 LOGLOOM_BENCH_RUNS=3 node bench/forward.ts   (quicker)
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigHead, aggregatorConfig, builds, committedEntries, cpuSeconds, fmt, freePort, header, median, peakRssMiB, ROOT, startLogloom, stopProcess, track } from './lib.ts';
import { Spool } from '../agent/forward/spool/spool.ts';
import { encodeBody, joinLines } from '../protocol/index.ts';

const RECORDS = Number(process.env.LOGLOOM_BENCH_RECORDS ?? 2_000_000);
const RUNS = Number(process.env.LOGLOOM_BENCH_RUNS ?? 5);
/** Every tenth record is DEBUG (record 0, 10, 20…): filter_level drops it, the store must not get it. */
const KEPT = RECORDS - Math.ceil(RECORDS / 10);
const NODE = 'bench-fwd';

const work = mkdtempSync(join(tmpdir(), 'logloom-bench-forward-'));
const GEN = join(work, 'pipeline-gen');
execFileSync('gcc', ['-O2', '-o', GEN, join(ROOT, 'bench/c/pipeline-gen.c')]);

const committed = (storeDir: string) => committedEntries(storeDir, NODE);

interface Run {
  rate: number;
  agentUs: number;
  aggUs: number;
  agentPeak: number;
  aggPeak: number;
}

async function runOnce(argv: string[]): Promise<Run> {
  const dir = mkdtempSync(join(work, 'run-'));
  const aggPort = await freePort();
  const aggCfg = join(dir, 'aggregator.yaml');
  writeFileSync(aggCfg, aggregatorConfig(dir, aggPort));
  const inPort = await freePort();
  const agentCfg = join(dir, 'agent.yaml');
  writeFileSync(agentCfg, `${agentConfigHead(dir, { node: NODE, tag: 'agent' })}  inputs:
    - type: tcp
      listen: 127.0.0.1:${inPort}
      format: json
  plugins:
    enabled: [filter_level, log_aggregator_remote]
    config:
      filter_level: { min_level: INFO }
      log_aggregator_remote:
        addresses: ["127.0.0.1:${aggPort}"]
        spool:
          mode: memory
`);
  const agg = await startLogloom(argv, ['aggregator', '-c', aggCfg], [/aggregator listening on/]);
  let agent: ChildProcess | undefined;
  try {
    agent = await startLogloom(argv, ['run', '-c', agentCfg], [/started on node/]);
    const store = join(dir, 'agg/store');
    const agentCpu0 = cpuSeconds(agent.pid!);
    const aggCpu0 = cpuSeconds(agg.pid!);
    const gen = track(spawn(GEN, ['127.0.0.1', String(inPort), String(RECORDS)], { stdio: ['ignore', 'pipe', 'inherit'] }));
    const t0 = await new Promise<bigint>((resolve) => {
      let out = '';
      gen.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /start (\d+)/.exec(out);
        if (m) resolve(BigInt(m[1]!));
      });
    });
    // Polled (a small file, every 5 ms): the end is known to within that.
    for (const deadline = Date.now() + 600_000; committed(store) < KEPT;) {
      if (Date.now() > deadline) throw new Error(`only ${committed(store)} of ${KEPT} entries stored after 600 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (committed(store) !== KEPT) throw new Error(`the store holds ${committed(store)} entries, expected ${KEPT}`);
    return {
      rate: RECORDS / secs,
      agentUs: ((cpuSeconds(agent.pid!) - agentCpu0) / RECORDS) * 1e6,
      aggUs: ((cpuSeconds(agg.pid!) - aggCpu0) / RECORDS) * 1e6,
      agentPeak: peakRssMiB(agent.pid!),
      aggPeak: peakRssMiB(agg.pid!),
    };
  } finally {
    if (agent) await stopProcess(agent);
    await stopProcess(agg);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function spoolRates(): Promise<{ writeEps: number; writeMiBps: number; replayEps: number; replayMiBps: number }> {
  const dir = mkdtempSync(join(work, 'spool-'));
  const line = (i: number) => `{"timestamp":"2026-01-01T00:00:00.000Z","level":"INFO","module":"BENCH","message":"sensor reading ${i} value=${(i * 7) % 1000} status=ok","node":"${NODE}"}`;
  const log = { info() {}, warn() {}, error() {} };
  const opts = { dir, mode: 'always' as const, fsync: 'batch' as const, fsync_interval: 1000, max_bytes: 4 * 1024 ** 3, segment_bytes: 8 * 1024 * 1024, memory_max_bytes: 0, when_full: 'block' as const, log };
  const per = 1000;
  const n = Math.ceil(RECORDS / per) * per;
  const batches = [];
  for (let b = 0; b < n / per; b++) batches.push(await encodeBody(joinLines(Array.from({ length: per }, (_, i) => line(b * per + i))), per, 'deflate'));
  const bytes = batches.reduce((a, b) => a + b.body.length, 0);
  const sp = new Spool(opts);
  await sp.open();
  let t0 = process.hrtime.bigint();
  for (const b of batches) await sp.push(b, await sp.allocSeq(), [{ input: 'bench', stream: '1:1', offset: 1 }]);
  await sp.close();
  const w = Number(process.hrtime.bigint() - t0) / 1e9;
  t0 = process.hrtime.bigint();
  const again = new Spool(opts);
  await again.open();
  let after = 0, count = 0;
  for (let b = again.nextAfter(after); b; b = again.nextAfter(after)) {
    const data = await again.load(b);
    count += data!.count;
    after = b.seq;
  }
  const r = Number(process.hrtime.bigint() - t0) / 1e9;
  await again.close();
  rmSync(dir, { recursive: true, force: true });
  if (count !== n) throw new Error(`replayed ${count} of ${n}`);
  return { writeEps: n / w, writeMiBps: bytes / w / 2 ** 20, replayEps: n / r, replayMiBps: bytes / r / 2 ** 20 };
}

const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
header('forward: tcp (json) → filter_level → log_aggregator_remote (memory-first spool) → logloom aggregator (NDJSON store, fsync interval)', 'node bench/forward.ts  (LOGLOOM_BENCH_RECORDS, LOGLOOM_BENCH_RUNS; make package TARGET=x64 first for the packaged figures)');
console.log(`${fmt(RECORDS)} records of 209 bytes, ${fmt(KEPT)} kept (DEBUG dropped); medians of ${RUNS}; load average ${load()} on ${(await import('node:os')).cpus().length} cores (shared machine: figures are noisy)`);
console.log('targets: >= 700,000 entries/s; agent <= 1.3 µs, aggregator <= 1.0 µs CPU per entry; agent peak <= 96 MiB, aggregator peak <= 160 MiB; spool replay >= 700,000 entries/s');

const agents = builds();

console.log('| build | entries/s end to end | agent CPU µs/entry | aggregator CPU µs/entry | agent peak RSS MiB | aggregator peak RSS MiB | load average |');
console.log('|---|---:|---:|---:|---:|---:|---|');
for (const b of agents) {
  const runs: Run[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await runOnce(b.argv));
  const m = (k: keyof Run) => median(runs.map((r) => r[k]));
  console.log(`| ${b.label} | ${fmt(m('rate'))} (runs: ${runs.map((r) => fmt(r.rate)).join(', ')}) | ${fmt(m('agentUs'), 2)} | ${fmt(m('aggUs'), 2)} | ${fmt(m('agentPeak'), 1)} | ${fmt(m('aggPeak'), 1)} | ${load()} |`);
}
const sp = [];
for (let i = 0; i < RUNS; i++) sp.push(await spoolRates());
console.log(`spool write  (mode always, fsync batch): ${fmt(median(sp.map((r) => r.writeEps)))} entries/s median (${fmt(median(sp.map((r) => r.writeMiBps)), 1)} MiB/s deflated)`);
console.log(`spool replay from disk:                 ${fmt(median(sp.map((r) => r.replayEps)))} entries/s median (${fmt(median(sp.map((r) => r.replayMiBps)), 1)} MiB/s deflated)  (load average ${load()})`);
rmSync(work, { recursive: true, force: true });
