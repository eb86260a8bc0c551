/**
 * Serial input throughput: lines/s and bytes/s sustained from a real pty (socat pair) into the
 * pipeline of a real agent process (`logloom run`, sink_file json), and the agent's CPU time per
 * million lines (utime+stime from /proc). Median of 5 runs.
 *
 *   node bench/serial.ts            (or: make bench)
 *   LINES=500000 RUNS=5 node bench/serial.ts
 */
import { readFileSync, rmSync } from 'node:fs';
import { controlRequest } from '../lib/control/protocol.ts';
import { startAgent, tempDir } from '../test/helpers/agent.ts';
import { PtyPair } from '../test/helpers/pty.ts';

const LINES = Number(process.env.LINES ?? 200_000);
const RUNS = Number(process.env.RUNS ?? 5);
const CLK_TCK = 100; // Linux USER_HZ

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14 and 15)
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function payload(): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < LINES; i++) {
    const kind = i % 4;
    // A mix of what consoles print: plain, kernel, level-prefixed, ESP-IDF.
    if (kind === 0) lines.push(`seq=${i} sensor=${(i * 7919) % 1000} temp=${(i % 97) / 4} status=ok`);
    else if (kind === 1) lines.push(`[ ${(i / 1000).toFixed(6)}] usb 1-1: reset high-speed USB device number ${i % 128}`);
    else if (kind === 2) lines.push(`WARN: queue depth ${i % 500} above threshold`);
    else lines.push(`I (${i}) wifi: rssi=-${i % 90} channel=${i % 13}`);
  }
  return Buffer.from(lines.join('\r\n') + '\r\n');
}

async function received(control: string): Promise<number> {
  const a = await controlRequest(control, { op: 'status' });
  if (!a.ok) throw new Error(a.error);
  return (a.result as { inputs: { received: number }[] }).inputs[0]!.received;
}

async function once(data: Buffer): Promise<{ seconds: number; cpu: number }> {
  const dir = tempDir('logloom-bench-serial-');
  const pty = await new PtyPair(dir).start();
  const agent = await startAgent(`  inputs:
    - type: serial
      path: ${pty.device}
      baud_rate: 3000000
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json, max_bytes: 1GiB }
`, dir);
  try {
    await agent.stderr.waitFor(/open at 3000000/);
    const pid = agent.proc.pid!;
    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    const writing = pty.write(data);
    // Poll the agent's own counter (status over the control socket) until every line is in.
    while ((await received(agent.control)) < LINES) await new Promise((r) => setTimeout(r, 10));
    const seconds = (performance.now() - t0) / 1000;
    await writing;
    return { seconds, cpu: cpuSeconds(pid) - cpu0 };
  } finally {
    await agent.stop();
    await pty.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

const data = payload();
const results: { seconds: number; cpu: number }[] = [];
for (let i = 0; i < RUNS; i++) results.push(await once(data));
const secs = median(results.map((r) => r.seconds));
console.log(`serial input, ${LINES} lines (${(data.length / 1e6).toFixed(1)} MB, CRLF, mixed formats) from a socat pty into a real agent, median of ${RUNS} runs:`);
console.log(`  lines/s:                 ${Math.round(LINES / secs)}`);
console.log(`  bytes/s:                 ${(data.length / secs / 1e6).toFixed(1)} MB/s`);
console.log(`  agent CPU per 1M lines:  ${median(results.map((r) => (r.cpu / LINES) * 1e6)).toFixed(2)} s`);
console.log(`  runs (s):                ${results.map((r) => r.seconds.toFixed(2)).join(' ')}`);
console.log(`re-run: node --disable-warning=ExperimentalWarning bench/serial.ts   (LINES=${LINES} RUNS=${RUNS})`);
