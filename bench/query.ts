/**
 * The fleet view's index (docs/aggregator-api.md):
 * 1. index build rate: entries/s into the SQLite + FTS5 index (the aggregator's IndexWriter, its
 *    worker thread, a real file; the NDJSON is generated in this thread meanwhile), `entries` entries from `nodes` nodes in batches of up to 1000, timestamps
 *    spread over 24 hours; the median of the rates of 5 equal slices of the build;
 * 2. ingest with the index on vs off: a real `logloom aggregator` process fed by raw protocol
 *    clients (pre-encoded batches) until every batch is acknowledged, NDJSON store with fsync
 *    interval (so the disk does not hide the index's CPU cost), median of 5 runs each;
 * 3. query latency through the HTTP API of a real aggregator opened on the index built in 1:
 *    node + time range, level + time range, full text (p50 and p99 of 200 queries each; the
 *    median over 5 rounds), and GET /api/nodes with every node.
 * Re-run: node bench/query.ts [entries=10000000] [nodes=1000] [ingest entries=200000]
 */
import { join } from 'node:path';
import { IndexWriter } from '../aggregator/index/index-writer.ts';
import { encodeBatch, encodeBodySync, joinLines } from '../protocol/index.ts';
import { runCli, tempDir } from '../test/helpers/agent.ts';
import { RawAgent, startAggregator } from '../test/aggregator/helpers.ts';
import { fmt, header, median } from './lib.ts';

const ENTRIES = Number(process.argv[2] ?? 10_000_000);
const NODES = Number(process.argv[3] ?? 1000);
const INGEST = Number(process.argv[4] ?? 200_000);
const RUNS = 5;
/** Entries per stored batch in the build: 1000, fewer when needed so that every node gets some. */
const PER_BATCH = Math.max(1, Math.min(1000, Math.floor(ENTRIES / NODES)));
const T0 = Date.parse('2026-03-01T00:00:00Z');
const SPAN = 86_400_000;
const WORDS = ['sensor', 'pump', 'valve', 'uplink', 'modem', 'disk', 'battery', 'relay', 'fan', 'door'];
const LEVELS = ['DEBUG', 'INFO', 'INFO', 'INFO', 'INFO', 'INFO', 'WARN', 'INFO', 'ERROR', 'INFO'];

function entry(node: number, i: number, ts: number): Record<string, unknown> {
  const w = WORDS[(i * 7 + node) % WORDS.length]!;
  return { timestamp: new Date(ts).toISOString(), level: LEVELS[i % 10], module: w.toUpperCase().slice(0, 8), message: `gw-${node} ${w} reading ${i} value=${(i * 31) % 1000} code${i % 5000} status=ok`, node: `gw-${String(node).padStart(4, '0')}`, source: 'unix' };
}

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

async function ingestRate(indexOn: boolean, perAgent: Buffer[][]): Promise<number> {
  const agg = await startAggregator('', tempDir('logloom-bench-query-'),
    `    auth:\n      mode: none\n    ndjson:\n      fsync: interval\n    index:\n      enabled: ${indexOn}\n`);
  try {
    const clients = await Promise.all(perAgent.map(async (_, k) => {
      const c = await RawAgent.connect(agg.port);
      await c.hello(`ingest-${k}`, '');
      return c;
    }));
    const t0 = performance.now();
    await Promise.all(clients.map((c, k) => send(c, perAgent[k]!)));
    const secs = (performance.now() - t0) / 1000;
    await Promise.all(clients.map((c) => c.end()));
    return INGEST / secs;
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
  header('bench/query.ts: the aggregator\'s index and query API', `node bench/query.ts ${ENTRIES} ${NODES} ${INGEST}`);
  const dir = tempDir('logloom-bench-index-');
  const indexFile = join(dir, 'index.sqlite');

  const rates = await buildIndex(indexFile);
  console.log(`index build: ${fmt(ENTRIES)} entries from ${fmt(NODES)} nodes: median ${fmt(median(rates))} entries/s (slices: ${rates.map((r) => fmt(r)).join(', ')})`);

  const agents = 4;
  const perAgent = Array.from({ length: agents }, (_, k) => frames(k, INGEST / agents));
  const on: number[] = [];
  const off: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    off.push(await ingestRate(false, perAgent));
    on.push(await ingestRate(true, perAgent));
  }
  const mOn = median(on);
  const mOff = median(off);
  console.log(`ingest (${fmt(INGEST)} entries, ${agents} agents, fsync interval): index off ${fmt(mOff)} entries/s, index on ${fmt(mOn)} entries/s: ${fmt((1 - mOn / mOff) * 100, 1)} % less (target: at most 20 %)`);

  const tokens = join(dir, 'api-tokens');
  const t = await runCli(['aggregator', 'api-token', 'bench', '--tokens', tokens]);
  const token = t.stdout.trim();
  const agg = await startAggregator('', dir, `    auth:\n      mode: none\n    index:\n      path: ${indexFile}\n    api:\n      tokens_file: ${tokens}\n`);
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
}

await main();
