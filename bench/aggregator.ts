/**
 * The aggregator's ingest rate: entries and bytes per second from several agents (raw protocol
 * clients in this process, batches pre-encoded so their cost is not measured) into a real
 * `logloom aggregator` process, until every batch is acknowledged, i.e. durably stored. Also the
 * aggregator's CPU seconds per million entries and peak RSS. Stores: NDJSON with fsync always,
 * NDJSON with fsync interval (with the addon's C scanner, and with the JS one), NATS JetStream (a
 * real single nats-server). Median of 5 runs (BENCH_RUNS=n for fewer while iterating).
 * Targets (2 cores): NDJSON >= 1,000,000 entries/s at <= 1.0 µs CPU per entry; JetStream >=
 * 300,000 entries/s at <= 3 µs, aggregator peak RSS <= 160 MiB.
 * Re-run: make bench  (or: node bench/aggregator.ts [entries] [agents] [row name prefix])
 */
import { loadavg } from 'node:os';
import { encodeBatch, encodeBodySync, joinLines } from '../protocol/index.ts';
import { tempDir } from '../test/helpers/agent.ts';
import { RawAgent, startAggregator } from '../test/aggregator/helpers.ts';
import { startNats } from '../test/aggregator/nats-server.ts';
import { heapArgv } from '../toolchain/package.ts';
import { cpuSeconds, fmt, header, median, peakRssMiB } from './lib.ts';

// A million entries: with fewer, start-up effects (code not yet optimised, the first buffers and
// collections) weigh in the per-entry CPU; a run still takes only a second or two.
const N = Number(process.argv[2] ?? 1_000_000);
const AGENTS = Number(process.argv[3] ?? 4);
const PER_BATCH = 1000;
const WINDOW = 8;
const RUNS = Number(process.env.BENCH_RUNS ?? 5);

const line = (node: number, i: number) => JSON.stringify({ timestamp: '2026-01-01T00:00:00.000Z', level: i % 10 === 0 ? 'WARN' : 'INFO', module: 'BENCH', message: `gw${node} sensor reading ${i} value=${(i * 7) % 1000} status=ok` });

/** Pre-encoded BATCH frames of one agent and the raw NDJSON bytes they carry. */
function frames(node: number, entries: number): { frames: Buffer[]; rawBytes: number } {
  const out: Buffer[] = [];
  let rawBytes = 0;
  for (let seq = 1, i = 0; i < entries; seq++) {
    const n = Math.min(PER_BATCH, entries - i);
    const raw = joinLines(Array.from({ length: n }, (_, k) => line(node, i + k)));
    rawBytes += raw.length;
    const b = encodeBodySync(raw, n, 'deflate');
    out.push(encodeBatch(seq, b.codec, b.count, b.rawBytes, b.body));
    i += n;
  }
  return { frames: out, rawBytes };
}

/** Sends one agent's frames with at most WINDOW unacknowledged; resolves at the last ACK. */
function send(c: RawAgent, fs: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    let next = 0;
    const fill = (acked: number) => {
      while (next < fs.length && next + 1 - acked <= WINDOW) c.socket.write(fs[next++]!);
      if (acked === fs.length) resolve();
    };
    c.onMessage((m) => m.type === 'ACK' && fill(m.seq));
    fill(0);
  });
}

let runId = 0;

async function once(store: string, nodeFrames: { frames: Buffer[]; rawBytes: number }[]) {
  // Fresh node ids each run: the JetStream bucket outlives the aggregator, and would (rightly)
  // acknowledge a second run's batches as duplicates without storing them.
  const run = ++runId;
  const agg = await startAggregator('', tempDir('logloom-bench-agg-'), '    auth:\n      mode: none\n' + store);
  const pid = agg.proc.pid!;
  const clients = await Promise.all(nodeFrames.map(async (_, k) => {
    const c = await RawAgent.connect(agg.port);
    await c.hello(`bench-${run}-${k}`, '');
    return c;
  }));
  const cpu0 = cpuSeconds(pid);
  const t0 = process.hrtime.bigint();
  await Promise.all(clients.map((c, k) => send(c, nodeFrames[k]!.frames)));
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = cpuSeconds(pid) - cpu0;
  const rss = peakRssMiB(pid);
  await Promise.all(clients.map((c) => c.end()));
  await agg.stop();
  const raw = nodeFrames.reduce((a, f) => a + f.rawBytes, 0);
  return { eps: N / secs, mibps: raw / secs / 2 ** 20, cpuPerM: (cpu / N) * 1e6, rss };
}

header(`aggregator ingest: ${AGENTS} agents -> logloom aggregator, ${fmt(N)} entries (${PER_BATCH}/batch, deflate, ${WINDOW} in flight) x ${RUNS} runs`, 'node bench/aggregator.ts [entries] [agents] [row name prefix, e.g. "ndjson, fsync interval" or nats]');
const nodeFrames = Array.from({ length: AGENTS }, (_, k) => frames(k, Math.ceil(N / AGENTS)));
const nats = await startNats(tempDir('logloom-bench-nats-'));
const only = process.argv[4];
// The JS scanner row shows what the aggregator does where the addon cannot load; the "packaged
// heap" rows run it with the V8 heap limits the packaged executable bakes in (toolchain/package.ts).
// Ingest is measured with the fleet index off (aggregator.index.enabled: false); the "with the
// index" rows add what the index costs (its worker thread parses and inserts every entry).
const packagedHeap = { NODE_OPTIONS: heapArgv().join(' ') };
const noIndex = '    index:\n      enabled: false\n';
const natsCfg = `    store: nats\n    nats:\n      servers: [${nats.url}]\n`;
const stores: [string, string, Record<string, string>][] = ([
  ['ndjson, fsync always', noIndex + '    ndjson:\n      fsync: always\n', {}],
  ['ndjson, fsync interval', noIndex + '    ndjson:\n      fsync: interval\n', {}],
  ['ndjson, fsync interval, JS scanner', noIndex + '    ndjson:\n      fsync: interval\n', { LOGLOOM_INGEST_SCANNER: 'js' }],
  ['ndjson, fsync interval, packaged heap', noIndex + '    ndjson:\n      fsync: interval\n', packagedHeap],
  ['ndjson, fsync interval, with the index', '    ndjson:\n      fsync: interval\n', {}],
  ['ndjson, fsync interval, with the index, packaged heap', '    ndjson:\n      fsync: interval\n', packagedHeap],
  ['nats jetstream (1 server)', noIndex + natsCfg, {}],
  ['nats jetstream, packaged heap', noIndex + natsCfg, packagedHeap],
  ['nats jetstream, with the index', natsCfg, {}],
  ['nats jetstream, with the index, packaged heap', natsCfg, packagedHeap],
] as [string, string, Record<string, string>][]).filter(([name]) => !only || name.startsWith(only));
for (const [name, cfg, env] of stores) {
  const runs = [];
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  for (let i = 0; i < RUNS; i++) runs.push(await once(cfg, nodeFrames));
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  // The machine may be shared: the load average says how much the figures can be trusted.
  console.log(`${name.padEnd(47)} entries/s median ${fmt(median(runs.map((r) => r.eps)))}  (runs: ${runs.map((r) => fmt(r.eps)).join(', ')})` +
    `  NDJSON MiB/s ${fmt(median(runs.map((r) => r.mibps)), 1)}  CPU µs/entry ${fmt(median(runs.map((r) => r.cpuPerM)), 2)}  peak RSS MiB ${fmt(median(runs.map((r) => r.rss)), 1)}` +
    `  (load average ${loadavg().map((l) => l.toFixed(1)).join(' ')})`);
}
await nats.kill();
