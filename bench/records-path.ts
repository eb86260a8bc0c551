/**
 * The records path end to end: a real agent (unix input -> filter_level -> filter_keyword.so ->
 * log_aggregator_remote) and a real `logloom aggregator` (NDJSON store, fsync interval), with
 * `buffer.native: off` (the JS ring and codec) against `on` (the native ones); either way the
 * records go through both filters and the forwarder as bytes; the C filter trusted (in-process)
 * and in its host process. The input is plain-text device lines, as a serial console or app prints them; a
 * tenth is DEBUG (filter_level drops it) and a fourteenth a heartbeat (the C filter drops it).
 * Prints entries/s, CPU seconds per million entries of the agent with its plugin host process,
 * and the agent's peak RSS; median of 5 runs each, the variants interleaved.
 * Re-run: make native && node bench/records-path.ts [entries]
 */
import { fmt, header, measureBurst, median, treeCpuSeconds } from './lib.ts';
import { runCli } from '../test/helpers/agent.ts';
import { storedCount } from '../test/forward/helpers.ts';
import { startRecordsPath } from '../test/native/records-fixture.ts';

const N = Number(process.argv[2] ?? 200_000);
const RUNS = Number(process.env.RUNS ?? 5);

const lines: string[] = [];
let expected = 0;
for (let i = 0; i < N; i++) {
  if (i % 10 === 0) lines.push(`[DEBUG] [pump] sample ${i} raw=${(i * 13) % 4096}`);
  else if (i % 14 === 0) lines.push(`heartbeat ${i} uptime=${i * 3}s`);
  else {
    lines.push(i % 3 ? `[INFO] [sensor] reading ${i} value=${(i * 7) % 1000} status=ok` : `WARN: valve ${i % 16} pressure ${(i * 11) % 200} kPa above limit`);
    expected++;
  }
}
const payload = Buffer.from(lines.join('\n') + '\n');

type Variant = { native: 'off' | 'on'; trusted: boolean };

async function once(v: Variant): Promise<{ eps: number; cpuPerM: number; rss: number; recordsPath: number }> {
  // fsync interval: the aggregator keeps up, so the figures are the agent's.
  const { agent, agg, stop } = await startRecordsPath({ native: v.native, trusted: v.trusted, aggregator: '    ndjson:\n      fsync: interval\n' });
  try {
    const r = await measureBurst(agent.proc.pid!, { path: agent.ingest }, payload, async () => {
      const t0 = Date.now();
      for (;;) {
        const n = await storedCount(agg.store, 'test-node');
        if (n >= expected) return;
        if (Date.now() - t0 > 600_000) throw new Error(`only ${n} of ${expected} stored after 600 s`);
        await new Promise((res) => setTimeout(res, 50));
      }
    }, treeCpuSeconds);
    const status = JSON.parse((await runCli(['status', '--json', '--socket', agent.control])).stdout);
    return { eps: N / r.secs, cpuPerM: (r.cpu / N) * 1e6, rss: r.rss, recordsPath: status.buffer.records_path };
  } finally {
    await stop();
  }
}

header(`records path: unix (plain text) -> filter_level -> filter_keyword.so -> log_aggregator_remote -> aggregator, ${fmt(N)} lines x ${RUNS} runs`, 'make native && node bench/records-path.ts [entries]');
const variants: Variant[] = [
  { native: 'off', trusted: true },
  { native: 'on', trusted: true },
  { native: 'off', trusted: false },
  { native: 'on', trusted: false },
].filter((v) => !process.env.ONLY || process.env.ONLY === `${v.native}-${v.trusted ? 'trusted' : 'host'}`) as Variant[];
const results = new Map<Variant, Awaited<ReturnType<typeof once>>[]>(variants.map((v) => [v, []]));
// Interleaved, so a change in the machine's load falls on every variant alike.
for (let i = 0; i < RUNS; i++) for (const v of variants) results.get(v)!.push(await once(v));
console.log('buffer.native  C filter     entries/s   CPU s/M entries  peak RSS MiB  via records path   runs (entries/s)');
for (const v of variants) {
  const rs = results.get(v)!;
  console.log(
    `${v.native.padEnd(14)} ${(v.trusted ? 'trusted' : 'host process').padEnd(12)} ${fmt(median(rs.map((r) => r.eps))).padStart(9)}   ` +
      `${fmt(median(rs.map((r) => r.cpuPerM)), 2).padStart(14)}  ${fmt(median(rs.map((r) => r.rss)), 1).padStart(12)}  ` +
      `${fmt(median(rs.map((r) => r.recordsPath))).padStart(15)}   ${rs.map((r) => fmt(r.eps)).join(', ')}`,
  );
}
