/**
 * The records path with a C filter, end to end: plain-text device lines written into the `unix`
 * input of a real agent by the C load tool (bench/c/inputs-load.c, built here with gcc) →
 * filter_level (min INFO: drops the DEBUG tenth) → filter_keyword.so (native/examples, drops the
 * heartbeat lines: one in fourteen of the rest) → log_aggregator_remote → a real `logloom
 * aggregator` (NDJSON store, fsync interval, index off) of the same build. The text lines take the
 * codec's text path (level and module read from "[INFO] [sensor] …" and "WARN: …"); every stage
 * reads the records as bytes. A run ends when the aggregator has committed every kept entry.
 * Prints, per agent (the packaged executable when dist/bin has it, and the checkout), per buffer
 * (native: the C codec and ring; JS fallback: buffer.native off) and per place of the C filter
 * (trusted: in the agent's process through the addon; host: in its own plugin host process),
 * medians of 5 interleaved runs: entries/s end to end (per line written), agent CPU µs per line
 * (the agent and its plugin host), aggregator CPU µs per line, agent peak RSS, and the entries no
 * stage had to decode (status `buffer.records_path`).
 *
 *   node bench/records-path.ts         (make package TARGET=x64 first for the packaged figures)
 *   LOGLOOM_BENCH_RECORDS=100000 LOGLOOM_BENCH_RUNS=1 node bench/records-path.ts   (quick)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlRequest } from '../lib/control/protocol.ts';
import { compilePlugin } from '../test/native/compile.ts';
import { agentConfigHead, aggregatorConfig, buildC, builds, committedEntries, cpuSeconds, fmt, freePort, header, lineOf, median, peakRssMiB, SETTLE_MS, startLogloom, stopProcess, track, treeCpuSeconds, type Build } from './lib.ts';

const RECORDS = Number(process.env.LOGLOOM_BENCH_RECORDS ?? 200_000);
const RUNS = Number(process.env.LOGLOOM_BENCH_RUNS ?? 5);
const NODE = 'bench-records';
/** The lines inputs-load.c's `text` format keeps past both filters: not every tenth (DEBUG), not every fourteenth of the rest (heartbeat). */
let KEPT = 0;
for (let i = 0; i < RECORDS; i++) if (i % 10 !== 0 && i % 14 !== 0) KEPT++;

const work = mkdtempSync(join(tmpdir(), 'logloom-bench-records-'));
const TOOL = buildC('inputs-load.c', work);
const PLUGINS = { trusted: join(work, 'plugins-trusted'), host: join(work, 'plugins-host') };
for (const [where, dir] of Object.entries(PLUGINS)) {
  mkdirSync(dir);
  compilePlugin(dir, 'filter_keyword.so', { example: 'filter_keyword.c' });
  // Without a manifest a .so runs in its host process; trusted: true loads it into the agent.
  if (where === 'trusted') writeFileSync(join(dir, 'filter_keyword.yaml'), 'name: filter_keyword\nversion: 1.0.0\nauthor: Logloom Team\ntype: filter\nentry: { kind: native, path: filter_keyword.so, trusted: true }\n');
}

interface Run {
  rate: number;
  agentUs: number;
  aggUs: number;
  agentPeak: number;
  recordsPath: number;
}

async function once(build: Build, native: 'on' | 'off', where: 'trusted' | 'host'): Promise<Run> {
  const dir = mkdtempSync(join(work, 'run-'));
  const aggPort = await freePort();
  writeFileSync(join(dir, 'aggregator.yaml'), aggregatorConfig(dir, aggPort));
  writeFileSync(join(dir, 'agent.yaml'), `${agentConfigHead(dir, { node: NODE, tag: 'agent', native })}  inputs:
    - type: unix
      path: ${dir}/in.sock
  plugins:
    dirs: [${PLUGINS[where]}]
    enabled: [filter_level, filter_keyword, log_aggregator_remote]
    config:
      filter_level: { min_level: INFO }
      filter_keyword: { keyword: heartbeat, action: drop }
      log_aggregator_remote:
        addresses: ["127.0.0.1:${aggPort}"]
`);
  const agg = await startLogloom(build.argv, ['aggregator', '-c', join(dir, 'aggregator.yaml')], [/aggregator listening on/]);
  let agent: ChildProcess | undefined;
  const tool = track(spawn(TOOL, ['unix', join(dir, 'in.sock'), 'text', String(RECORDS), '0'], { stdio: ['pipe', 'pipe', 'inherit'] }));
  try {
    await lineOf(tool, /port \d+/);
    agent = await startLogloom(build.argv, ['run', '-c', join(dir, 'agent.yaml')], [/started on node/]);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const store = join(dir, 'agg/store');
    const agentCpu0 = treeCpuSeconds(agent.pid!);
    const aggCpu0 = cpuSeconds(agg.pid!);
    const started = lineOf(tool, /start (\d+)/);
    tool.stdin!.write('go\n');
    const t0 = BigInt((await started)[1]!);
    // Polled (a small file, every 5 ms): the end is known to within that.
    for (const deadline = Date.now() + 600_000; committedEntries(store, NODE) < KEPT;) {
      if (Date.now() > deadline) throw new Error(`only ${committedEntries(store, NODE)} of ${KEPT} entries stored after 600 s`);
      await new Promise((r) => setTimeout(r, 5));
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (committedEntries(store, NODE) !== KEPT) throw new Error(`the store holds ${committedEntries(store, NODE)} entries, expected ${KEPT}`);
    const run = {
      rate: RECORDS / secs,
      agentUs: ((treeCpuSeconds(agent.pid!) - agentCpu0) / RECORDS) * 1e6,
      aggUs: ((cpuSeconds(agg.pid!) - aggCpu0) / RECORDS) * 1e6,
      agentPeak: peakRssMiB(agent.pid!),
      recordsPath: 0,
    };
    const st = await controlRequest(join(dir, 'agent-run/control.sock'), { op: 'status' });
    if (st.ok) run.recordsPath = Number((st.result as { buffer: { records_path: number } }).buffer.records_path);
    return run;
  } finally {
    tool.kill();
    if (agent) await stopProcess(agent);
    await stopProcess(agg);
    rmSync(dir, { recursive: true, force: true });
  }
}

header('records path: unix (plain text) → filter_level → filter_keyword.so → log_aggregator_remote → logloom aggregator', 'node bench/records-path.ts  (LOGLOOM_BENCH_RECORDS, LOGLOOM_BENCH_RUNS; make package TARGET=x64 first for the packaged figures)');
console.log(`${fmt(RECORDS)} lines per run, ${fmt(KEPT)} kept (DEBUG and heartbeat dropped); medians of ${RUNS}, variants interleaved; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores (shared machine: rates are noisy, compare CPU µs per line)`);
const variants = builds().flatMap((a) => (['on', 'off'] as const).flatMap((native) => (['trusted', 'host'] as const).map((where) => ({ a, native, where, runs: [] as Run[] }))));
for (let i = 0; i < RUNS; i++) for (const v of variants) v.runs.push(await once(v.a, v.native, v.where));
console.log('| agent | buffer | C filter | entries/s | agent CPU µs/line (with plugin host) | aggregator CPU µs/line | agent peak RSS MiB | entries no stage decoded |');
console.log('|---|---|---|---:|---:|---:|---:|---:|');
for (const v of variants) {
  const m = (k: keyof Run) => median(v.runs.map((r) => r[k]));
  console.log(`| ${v.a.label} | ${v.native === 'on' ? 'native (C codec, ring)' : 'JS fallback'} | ${v.where === 'trusted' ? 'trusted (in process)' : 'host process'} | ${fmt(m('rate'))} | ${fmt(m('agentUs'), 2)} | ${fmt(m('aggUs'), 2)} | ${fmt(m('agentPeak'))} | ${fmt(m('recordsPath'))} |`);
}
rmSync(work, { recursive: true, force: true });
