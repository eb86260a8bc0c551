/**
 * The fleet view's index (docs/aggregator-api.md, "The index"):
 * 1. index build: entries/s into the SQLite + FTS5 index through the aggregator's IndexWriter (its
 *    worker thread, a real file; the NDJSON is generated in this thread meanwhile), `entries`
 *    entries from `nodes` nodes in batches of up to 1000, timestamps spread over 24 hours; the
 *    median of the rates of 5 equal slices of the one build;
 * (run in the order 1, 3, 2: the ingest runs add to the index)
 * 2. ingest with the index on vs off: a real `logloom aggregator` process fed by 4 raw protocol
 *    clients (pre-encoded batches of 1000) until every batch is acknowledged, NDJSON store with
 *    fsync interval (so the disk does not hide the index's CPU cost); with the index on, the
 *    aggregator writes into the index built in 1 (it grows by `ingest entries` a run), and the
 *    bench also waits until the index has caught up: the index rate while ingesting is the
 *    entries over the time from the first batch to the last entry indexed, and the peak lag is
 *    the largest logloom_aggregator_index_lag_bytes seen (polled every 50 ms). 5 runs each,
 *    interleaved, each after `sync` (the previous run's writes flushed); medians;
 * 3. query latency through the HTTP API of a real aggregator opened on that index: node + time
 *    range, level + time range, full text (p50 and p99 of 200 queries each; the median over 5
 *    rounds), and GET /api/nodes with every node (median of 5).
 * Re-run: nice node bench/query.ts [entries=10000000] [nodes=1000] [ingest entries=200000]
 * (LOGLOOM_BENCH_INDEX=<index.sqlite of an earlier run> skips the build and reuses that index)
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { IndexWriter } from '../aggregator/index/index-writer.ts';
import { encodeBatch, encodeBodySync, joinLines } from '../protocol/index.ts';
import { runCli, tempDir } from '../test/helpers/agent.ts';
import { RawAgent, startAggregator } from '../test/aggregator/helpers.ts';
import { fmt, header, median } from './lib.ts';
import { controlRequest } from '../lib/control/protocol.ts';
import { FLEET_WORDS as WORDS, fleetEntry as entry } from './fleet-entries.ts';

const ENTRIES = Number(process.argv[2] ?? 10_000_000);
const NODES = Number(process.argv[3] ?? 1000);
const INGEST = Number(process.argv[4] ?? 200_000);
const RUNS = 5;
/** Entries per stored batch in the build: 1000, fewer when needed so that every node gets some. */
const PER_BATCH = Math.max(1, Math.min(1000, Math.floor(ENTRIES / NODES)));
const T0 = Date.parse('2026-03-01T00:00:00Z');
const SPAN = 86_400_000;
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function buildIndex(path: string): Promise<number[]> {
  const ix = new IndexWriter(path, { flushMs: 100 });
  await ix.opened();
  const rates: number[] = [];
  const slice = Math.ceil(ENTRIES / RUNS);
  let done = 0;
  const perNode = new Array<number>(NODES).fill(0);
  while (done < ENTRIES) {
    const t0 = performance.now();
    const start = done;
    const end = Math.min(ENTRIES, done + slice);
    while (done < end) {
      const node = Math.floor(done / PER_BATCH) % NODES;
      const n = Math.min(PER_BATCH, end - done);
      let text = '';
      for (let k = 0; k < n; k++) text += JSON.stringify(entry(node, perNode[node]!++, T0 + Math.floor(((done + k) / ENTRIES) * SPAN))) + '\n';
      ix.add(`gw-${String(node).padStart(4, '0')}`, 1 + Math.floor(done / PER_BATCH), Buffer.from(text));
      done += n;
      // Bounded hand-over: wait for the worker every 50,000 entries.
      if (done % 50_000 < n) await ix.flush();
    }
    await ix.flush();
    rates.push((end - start) / ((performance.now() - t0) / 1000));
  }
  await ix.close();
  return rates;
}

/** Pre-encoded BATCH frames of one agent. */
function frames(node: number, entries: number): Buffer[] {
  const out: Buffer[] = [];
  for (let seq = 1, i = 0; i < entries; seq++) {
    const n = Math.min(1000, entries - i);
    const raw = joinLines(Array.from({ length: n }, (_, k) => JSON.stringify(entry(node, i + k, T0 + i + k))));
    const b = encodeBodySync(raw, n, 'deflate');
    out.push(encodeBatch(seq, b.codec, b.count, b.rawBytes, b.body));
    i += n;
  }
  return out;
}

function send(c: RawAgent, fs: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    let next = 0;
    const fill = (acked: number) => {
      while (next < fs.length && next + 1 - acked <= 8) c.socket.write(fs[next++]!);
      if (acked === fs.length) resolve();
    };
    c.onMessage((m) => m.type === 'ACK' && fill(m.seq));
    fill(0);
  });
}

interface IngestRun {
  /** Entries/s until every batch was acknowledged. */
  ingest: number;
  /** CPU time of the aggregator's main thread (sessions, store, ACKs) per entry, µs. */
  mainCpuUs: number;
  /** Entries/s until the last of them was in the index (index on). */
  indexed?: number;
  /** Largest lag seen, bytes (index on). */
  peakLag?: number;
  dropped?: number;
  /** Index status at the end: batches held while busy and released by timeout, entries read back from the store. */
  holdTimeouts?: number;
  readBack?: number;
}

/** CPU time a thread has run, ns (Linux schedstat: exact, unlike the 10 ms ticks of stat). */
function threadCpuNs(pid: number, tid = pid): number {
  return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
}

/** The aggregator's index status over its control socket (cheap: /metrics would list every node's series). */
async function indexStatus(socket: string): Promise<Record<string, number>> {
  const a = await controlRequest(socket, { op: 'status' });
  if (!a.ok) throw new Error(a.error);
  return (a.result as { index: Record<string, number> }).index;
}

async function ingestRun(indexFile: string | undefined, perAgent: Buffer[][]): Promise<IngestRun> {
  // Each run starts with nothing left to write back: the previous run's index writes (over a GB
  // for a million entries) otherwise land in this run's measurement, whichever mode it is.
  execFileSync('sync');
  const index = indexFile ? `      path: ${indexFile}\n` : '      enabled: false\n';
  const agg = await startAggregator('', tempDir('logloom-bench-query-'),
    `    auth:\n      mode: none\n    ndjson:\n      fsync: interval\n    index:\n${index}`);
  try {
    const status = () => indexStatus(agg.control);
    const base = indexFile ? (await status()).entries_indexed! : 0;
    const clients = await Promise.all(perAgent.map(async (_, k) => {
      const c = await RawAgent.connect(agg.port);
      await c.hello(`ingest-${k}`, '');
      return c;
    }));
    const pid = agg.proc.pid!;
    const cpu0 = threadCpuNs(pid);
    const t0 = performance.now();
    let peakLag = 0;
    // Both runs are polled alike (what it costs the aggregator is the same on and off).
    let polling = true;
    const poll = (async () => {
      while (polling) {
        peakLag = Math.max(peakLag, (await status()).lag_bytes ?? 0);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    await Promise.all(clients.map((c, k) => send(c, perAgent[k]!)));
    const secs = (performance.now() - t0) / 1000;
    const mainCpuUs = (threadCpuNs(pid) - cpu0) / 1000 / INGEST;
    await Promise.all(clients.map((c) => c.end()));
    if (!indexFile) {
      polling = false;
      await poll;
      return { ingest: INGEST / secs, mainCpuUs };
    }
    // The index catches up (bounded: twenty minutes at most, then the run reports what it saw).
    let st = await status();
    while (st.entries_indexed! - base + (st.dropped_entries ?? 0) < INGEST && performance.now() - t0 < 1_200_000) {
      await new Promise((r) => setTimeout(r, 100));
      st = await status();
    }
    const indexedSecs = (performance.now() - t0) / 1000;
    polling = false;
    await poll;
    return { ingest: INGEST / secs, mainCpuUs, indexed: INGEST / indexedSecs, peakLag, dropped: st.dropped_entries ?? 0, holdTimeouts: st.hold_timeouts ?? 0, readBack: st.read_back_entries ?? 0 };
  } finally {
    await agg.stop();
  }
}

async function timeGet(url: string, token: string): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  await r.arrayBuffer();
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return performance.now() - t0;
}

async function main(): Promise<void> {
  header('bench/query.ts: the aggregator\'s index and query API', `nice node bench/query.ts ${ENTRIES} ${NODES} ${INGEST}`);
  const dir = tempDir('logloom-bench-index-');
  // LOGLOOM_BENCH_INDEX=<file>: reuse an index an earlier run built (the build takes long).
  const reuse = process.env.LOGLOOM_BENCH_INDEX;
  const indexFile = reuse ?? join(dir, 'index.sqlite');
  let indexSize = ENTRIES;
  if (reuse) {
    const w = new IndexWriter(indexFile, { flushMs: 100 });
    await w.opened(); // an index from an earlier version gets its progress table here, once
    await w.close();
    const db = new DatabaseSync(indexFile, { readOnly: true });
    const n = (db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n;
    db.close();
    indexSize = n;
    console.log(`index build: skipped, reusing ${indexFile} (${fmt(n)} entries)`);
  } else {
    const rates = await buildIndex(indexFile);
    console.log(`index build: ${fmt(ENTRIES)} entries from ${fmt(NODES)} nodes: median ${fmt(median(rates))} entries/s (slices: ${rates.map((r) => fmt(r)).join(', ')})`);
  }

  // Queries first: the ingest runs below add to the index.
  const tokens = join(dir, 'api-tokens');
  const t = await runCli(['aggregator', 'api-token', 'bench', '--tokens', tokens]);
  const token = t.stdout.trim();
  const agg = await startAggregator('', tempDir('logloom-bench-query-'), `    auth:\n      mode: none\n    index:\n      path: ${indexFile}\n    api:\n      tokens_file: ${tokens}\n`);
  try {
    const base = /dashboard at (http:\/\/[^/ ]+)\//.exec(await agg.stderr.waitFor(/dashboard at /))![1]!;
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) >>> 0) % n);
    const hour = () => {
      const from = T0 + rnd(23) * 3_600_000;
      return `since=${from}&until=${from + 3_600_000}`;
    };
    const kinds: Record<string, () => string> = {
      'node + time range': () => `/api/entries?node=gw-${String(rnd(NODES)).padStart(4, '0')}&${hour()}&limit=100`,
      'level + time range': () => `/api/entries?level=ERROR&${hour()}&limit=100`,
      'full text': () => `/api/entries?q=${WORDS[rnd(WORDS.length)]}%20code${rnd(5000)}&limit=100`,
    };
    for (const [name, make] of Object.entries(kinds)) {
      const p50s: number[] = [];
      const p99s: number[] = [];
      for (let r = 0; r < RUNS; r++) {
        const ms: number[] = [];
        for (let i = 0; i < 200; i++) ms.push(await timeGet(`${base}${make()}`, token));
        p50s.push(pct(ms, 50));
        p99s.push(pct(ms, 99));
      }
      console.log(`query ${name}: p50 ${fmt(median(p50s), 1)} ms, p99 ${fmt(median(p99s), 1)} ms (target p50 <= 50 ms)`);
    }
    const nodes: number[] = [];
    for (let r = 0; r < RUNS; r++) nodes.push(await timeGet(`${base}/api/nodes`, token));
    const count = ((await (await fetch(`${base}/api/nodes`, { headers: { authorization: `Bearer ${token}` } })).json()) as { nodes: unknown[] }).nodes.length;
    console.log(`GET /api/nodes with ${fmt(count)} nodes: median ${fmt(median(nodes), 1)} ms (target <= 100 ms)`);
  } finally {
    await agg.stop();
  }

  const agents = 4;
  const perAgent = Array.from({ length: agents }, (_, k) => frames(k, INGEST / agents));
  const on: IngestRun[] = [];
  const off: IngestRun[] = [];
  for (let r = 0; r < RUNS; r++) {
    off.push(await ingestRun(undefined, perAgent));
    on.push(await ingestRun(indexFile, perAgent));
  }
  const mOn = median(on.map((r) => r.ingest));
  const mOff = median(off.map((r) => r.ingest));
  console.log(`ingest (${fmt(INGEST)} entries, ${agents} agents, fsync interval): index off ${fmt(mOff)} entries/s, index on ${fmt(mOn)} entries/s: ${fmt((1 - mOn / mOff) * 100, 1)} % less (target: at most 20 %) (runs off: ${off.map((r) => fmt(r.ingest)).join(', ')}; on: ${on.map((r) => fmt(r.ingest)).join(', ')})`);
  console.log(`aggregator main thread CPU per entry (sessions, store, ACKs; exact, less noisy than the rates): index off ${fmt(median(off.map((r) => r.mainCpuUs)), 2)} µs, index on ${fmt(median(on.map((r) => r.mainCpuUs)), 2)} µs`);
  console.log(`index while ingesting (into the ${fmt(indexSize)}-entry index): median ${fmt(median(on.map((r) => r.indexed!)))} entries/s from the first batch to the last entry indexed; peak lag median ${fmt(median(on.map((r) => r.peakLag!)) / 1048576, 1)} MiB; entries left out ${on.map((r) => fmt(r.dropped!)).join(', ')}; read back from the store ${on.map((r) => fmt(r.readBack!)).join(', ')} (cumulative); held batches released by defer_while_busy ${on.map((r) => fmt(r.holdTimeouts!)).join(', ')}`);

}

await main();
