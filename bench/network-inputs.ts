/**
 * Entries per second from the network inputs to the file sink, and the agent's peak RSS:
 *  - syslog over TCP, RFC 5424 with structured data, octet-counted frames (RFC 6587);
 *  - syslog over TCP, RFC 3164, newline framing;
 *  - the tcp input, NDJSON lines (with the addon: through the C codec into the ring, the records
 *    path to sink_file, as buffer.native auto chooses).
 * A real agent process per run; one client writes N messages as fast as the socket takes them;
 * a run ends when the file sink has written the last one. Median of 5 runs.
 * Re-run: node bench/network-inputs.ts [messages]   (make bench runs it with the default)
 */
import { fmt, header, measureBurst, median } from './lib.ts';
import { runCli, startAgent } from '../test/helpers/agent.ts';
import { waitForFile } from '../test/helpers/wait.ts';

const N = Number(process.argv[2] ?? 100_000);
const RUNS = 5;

interface Case {
  name: string;
  input: string;
  /** The address from `logloom status` (port 0 in the config). */
  port: (listening: string) => number;
  payload: (i: number) => string;
}

const octet = (m: string) => `${Buffer.byteLength(m)} ${m}`;
const CASES: Case[] = [
  {
    name: 'syslog tcp, RFC 5424 + SD, octet-counted',
    input: '    - type: syslog\n      listen: [tcp:127.0.0.1:0]',
    port: (l) => Number(/tcp:127\.0\.0\.1:(\d+)/.exec(l)![1]),
    payload: (i) => octet(`<165>1 2025-05-01T10:00:00.123Z gw-17 sensord 812 READ [meta@32473 seq="${i}" unit="C"] sensor reading ${i} value=${(i * 7) % 1000} status=ok`),
  },
  {
    name: 'syslog tcp, RFC 3164, newline framing',
    input: '    - type: syslog\n      listen: [tcp:127.0.0.1:0]',
    port: (l) => Number(/tcp:127\.0\.0\.1:(\d+)/.exec(l)![1]),
    payload: (i) => `<30>Oct 11 22:14:15 gw-17 sensord[812]: sensor reading ${i} value=${(i * 7) % 1000} status=ok\n`,
  },
  {
    name: 'tcp input, NDJSON lines',
    input: '    - type: tcp\n      listen: 127.0.0.1:0',
    port: (l) => Number(/:(\d+)$/.exec(l)![1]),
    payload: (i) => `{"level":"INFO","module":"BENCH","message":"sensor reading ${i} value=${(i * 7) % 1000} status=ok"}\n`,
  },
];

async function once(c: Case): Promise<{ eps: number; rss: number; cpuPerM: number }> {
  const agent = await startAgent(`  inputs:\n${c.input}\n  plugins:\n    enabled: [sink_file]\n    config:\n      sink_file: { path: DIR/out.log, format: json, max_bytes: 1GiB }\n`);
  const st = JSON.parse((await runCli(['status', '--json', '--socket', agent.control])).stdout);
  const port = c.port(st.inputs[0].listening);
  const payload = Buffer.from(Array.from({ length: N }, (_, i) => c.payload(i)).join(''));
  const last = `sensor reading ${N - 1} `;
  const { secs, cpu, rss } = await measureBurst(agent.proc.pid!, { port, host: '127.0.0.1' }, payload, () =>
    waitForFile(`${agent.dir}/out.log`, (t) => (t.includes(last) ? true : undefined), 300_000));
  await agent.stop();
  return { eps: N / secs, rss, cpuPerM: (cpu / N) * 1e6 };
}

header(`network inputs -> file sink, ${fmt(N)} messages x ${RUNS} runs`, 'node bench/network-inputs.ts [messages]');
for (const c of CASES) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await once(c));
  console.log(`${c.name}: entries/s median ${fmt(median(runs.map((r) => r.eps)))} (runs: ${runs.map((r) => fmt(r.eps)).join(', ')}); ` +
    `CPU s per million median ${fmt(median(runs.map((r) => r.cpuPerM)), 2)}; peak RSS MiB median ${fmt(median(runs.map((r) => r.rss)), 1)}`);
}
