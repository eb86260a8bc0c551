/**
 * Forwarding end to end: a real agent (unix input -> filter_level -> log_aggregator_remote) and a
 * real `logloom aggregator` (embedded NDJSON store, fsync always) on loopback. A client writes N
 * NDJSON entries into the unix socket; a run ends when the aggregator's store holds all of them.
 * Prints entries/s and input bytes/s, agent CPU seconds per million entries, agent peak RSS, and
 * the spool's write and replay rates (the Spool module on a temp dir: mode always, fsync batch,
 * deflated batches of 1000 entries; replay = reopen, scan, read every batch back). Median of 5.
 * buffer.native as given (default auto, which takes the records path here).
 * Re-run: node bench/forward.ts [entries] [auto|on|off]
 */
import { cpuSeconds, fmt, header, median, peakRssMiB, sendAll } from './lib.ts';
import { tempDir } from '../test/helpers/agent.ts';
import { aggregatorFixture, startAgent, storedCount } from '../test/forward/helpers.ts';
import { Spool } from '../agent/forward/spool/spool.ts';
import { encodeBody, joinLines } from '../agent/forward/protocol/index.ts';

const N = Number(process.argv[2] ?? 200_000);
const RUNS = 5;
const NATIVE = process.argv[3] ?? 'auto';
const line = (i: number) => `{"level":"${i % 10 === 0 ? 'DEBUG' : 'INFO'}","module":"BENCH","message":"sensor reading ${i} value=${(i * 7) % 1000} status=ok"}\n`;
/** filter_level min_level INFO drops the DEBUG tenth: that is work the filter does, and entries the store must not get. */
const EXPECTED = N - Math.ceil(N / 10);

async function endToEnd(): Promise<{ eps: number; mibps: number; rss: number; cpuPerM: number }> {
  const agg = await aggregatorFixture();
  await agg.start();
  const agent = await startAgent(`
  buffer:
    native: ${NATIVE}
  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    enabled: [filter_level, log_aggregator_remote]
    config:
      filter_level: { min_level: INFO }
      log_aggregator_remote:
        addresses: ["127.0.0.1:${agg.port}"]
`);
  try {
    const pid = agent.proc.pid!;
    const cpu0 = cpuSeconds(pid);
    const payload = Buffer.from(Array.from({ length: N }, (_, i) => line(i)).join(''));
    const t0 = process.hrtime.bigint();
    await sendAll({ path: agent.ingest }, payload);
    for (;;) {
      const n = await storedCount(agg.store, 'test-node');
      if (n >= EXPECTED) break;
      if (Number(process.hrtime.bigint() - t0) / 1e9 > 600) throw new Error(`only ${n} of ${EXPECTED} stored after 600 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    return { eps: N / secs, mibps: payload.length / secs / 2 ** 20, rss: peakRssMiB(pid), cpuPerM: ((cpuSeconds(pid) - cpu0) / N) * 1e6 };
  } finally {
    await agent.stop();
    await agg.stop();
  }
}

async function spoolRates(): Promise<{ writeEps: number; writeMiBps: number; replayEps: number; replayMiBps: number }> {
  const dir = tempDir('logloom-bench-spool-');
  const log = { info() {}, warn() {}, error() {} };
  const opts = { dir, mode: 'always' as const, fsync: 'batch' as const, fsync_interval: 1000, max_bytes: 4 * 1024 ** 3, segment_bytes: 8 * 1024 * 1024, memory_max_bytes: 0, when_full: 'block' as const, log };
  const per = 1000;
  const batches = [];
  for (let b = 0; b < N / per; b++) batches.push(await encodeBody(joinLines(Array.from({ length: per }, (_, i) => line(b * per + i).trimEnd())), per, 'deflate'));
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
  if (count !== N) throw new Error(`replayed ${count} of ${N}`);
  return { writeEps: N / w, writeMiBps: bytes / w / 2 ** 20, replayEps: N / r, replayMiBps: bytes / r / 2 ** 20 };
}

header(`forward: unix -> filter_level -> log_aggregator_remote -> logloom aggregator (NDJSON store), buffer.native ${NATIVE}, ${fmt(N)} entries x ${RUNS} runs`, 'node bench/forward.ts [entries] [auto|on|off]');
const runs = [];
for (let i = 0; i < RUNS; i++) runs.push(await endToEnd());
console.log(`end-to-end entries/s   median ${fmt(median(runs.map((r) => r.eps)))}   (runs: ${runs.map((r) => fmt(r.eps)).join(', ')})`);
console.log(`end-to-end input MiB/s median ${fmt(median(runs.map((r) => r.mibps)), 1)}`);
console.log(`agent CPU s per million entries median ${fmt(median(runs.map((r) => r.cpuPerM)), 2)}`);
console.log(`agent peak RSS MiB median ${fmt(median(runs.map((r) => r.rss)), 1)}`);
const sp = [];
for (let i = 0; i < RUNS; i++) sp.push(await spoolRates());
console.log(`spool write  entries/s median ${fmt(median(sp.map((r) => r.writeEps)))}  (${fmt(median(sp.map((r) => r.writeMiBps)), 1)} MiB/s deflated, fsync batch)`);
console.log(`spool replay entries/s median ${fmt(median(sp.map((r) => r.replayEps)))}  (${fmt(median(sp.map((r) => r.replayMiBps)), 1)} MiB/s deflated)`);
