/**
 * Entries per second from the unix socket to the file sink, and the agent's peak RSS.
 * A real agent process; a client writes N NDJSON entries as fast as the socket takes them;
 * the run ends when the file sink has written the last one. Median of 5 runs.
 * buffer.native as given (default auto: the unix input's bytes go through the C codec into the
 * native ring and the file gets the records' NDJSON as it is; off: the same records through the
 * JS codec and ring, the fallback). Re-run: make bench  (or: node bench/ingest.ts [entries] [off|on|auto])
 */

import { fmt, header, measureBurst, median } from './lib.ts';
import { startAgent } from '../test/helpers/agent.ts';
import { waitForFile } from '../test/helpers/wait.ts';

const N = Number(process.argv[2] ?? 200_000);
const RUNS = 5;
const NATIVE = process.argv[3] ?? 'auto';

async function once(): Promise<{ eps: number; mibps: number; rss: number; cpuPerM: number }> {
  const agent = await startAgent(`
  buffer:
    native: ${NATIVE}
  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json, max_bytes: 1GiB }
`);
  const line = (i: number) => `{"level":"INFO","module":"BENCH","message":"sensor reading ${i} value=${(i * 7) % 1000} status=ok"}\n`;
  const payload = Buffer.from(Array.from({ length: N }, (_, i) => line(i)).join(''));
  const last = `sensor reading ${N - 1} `;
  const { secs, cpu, rss } = await measureBurst(agent.proc.pid!, { path: agent.ingest }, payload, () =>
    waitForFile(`${agent.dir}/out.log`, (t) => (t.includes(last) ? true : undefined), 300_000));
  await agent.stop();
  return { eps: N / secs, mibps: payload.length / secs / 2 ** 20, rss, cpuPerM: (cpu / N) * 1e6 };
}

header(`ingest: unix socket -> file sink, buffer.native ${NATIVE}, ${fmt(N)} entries x ${RUNS} runs`, 'node bench/ingest.ts [entries] [off|on|auto]');
const runs = [];
for (let i = 0; i < RUNS; i++) runs.push(await once());
console.log(`entries/s   median ${fmt(median(runs.map((r) => r.eps)))}   (runs: ${runs.map((r) => fmt(r.eps)).join(', ')})`);
console.log(`input MiB/s median ${fmt(median(runs.map((r) => r.mibps)), 1)}`);
console.log(`agent CPU s per million entries median ${fmt(median(runs.map((r) => r.cpuPerM)), 2)}`);
console.log(`agent peak RSS MiB median ${fmt(median(runs.map((r) => r.rss)), 1)}`);
