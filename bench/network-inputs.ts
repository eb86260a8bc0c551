/**
 * The network inputs of a real agent, each on its own: records in through the input, out through
 * sink_tcp (no filter: every record comes back) to a receiver. One small C tool
 * (bench/c/inputs-load.c, built here with gcc) writes the records and counts the lines that come
 * back, in one poll loop, so the harness costs next to nothing. The cases:
 *  - tcp input, format json: the 209-byte NDJSON records of bench/pipeline.ts (bytes → codec → ring);
 *  - unix input (a stream socket, what `logloom send` writes to): the same records;
 *  - syslog over TCP, RFC 5424 with structured data, octet-counted (RFC 6587);
 *  - syslog over TCP, RFC 3164, newline-framed;
 *  - syslog over UDP, RFC 5424, one datagram each, offered at a fixed rate (UDP has no
 *    backpressure: what the agent cannot read in time is lost, and the table says how much).
 * Prints, per case, per agent (the packaged executable when dist/bin has it, and the checkout) and
 * per buffer (native: the C codec and ring; JS fallback: buffer.native off), medians of 5 runs:
 * records/s (first byte out to last line back), agent CPU µs per record, agent peak RSS.
 *
 *   node bench/network-inputs.ts            (make package TARGET=x64 first for the packaged figures)
 *   LOGLOOM_BENCH_RECORDS=100000 LOGLOOM_BENCH_RUNS=1 node bench/network-inputs.ts   (quick)
 *   LOGLOOM_BENCH_UDP_RATE=50000   datagrams per second offered to the UDP case (default 50,000: about what one agent reads; above it the kernel drops)
 *   LOGLOOM_BENCH_CASES=tcp,unix   only these cases (tcp, unix, syslog-5424, syslog-3164, syslog-udp)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlRequest } from '../lib/control/protocol.ts';
import { agentConfigHead, buildC, builds, type Build, fmt, freePort, header, loadRun, median, type LoadRun } from './lib.ts';

const RECORDS = Number(process.env.LOGLOOM_BENCH_RECORDS ?? 500_000);
const RUNS = Number(process.env.LOGLOOM_BENCH_RUNS ?? 5);
const UDP_RATE = Number(process.env.LOGLOOM_BENCH_UDP_RATE ?? 50_000);

const work = mkdtempSync(join(tmpdir(), 'logloom-bench-inputs-'));
const TOOL = buildC('inputs-load.c', work);

interface Case {
  id: string;
  name: string;
  /** The input's YAML (under `inputs:`) for a listening port and a run directory. */
  input: (port: number, dir: string) => string;
  transport: 'tcp' | 'unix' | 'udp';
  target: (port: number, dir: string) => string;
  format: string;
  rate?: number;
}

const ALL_CASES: Case[] = [
  { id: 'tcp', name: 'tcp, NDJSON (format json)', input: (p) => `    - type: tcp\n      listen: 127.0.0.1:${p}\n      format: json`, transport: 'tcp', target: (p) => `127.0.0.1:${p}`, format: 'ndjson' },
  { id: 'unix', name: 'unix, NDJSON', input: (_p, d) => `    - type: unix\n      path: ${d}/in.sock`, transport: 'unix', target: (_p, d) => `${d}/in.sock`, format: 'ndjson' },
  { id: 'syslog-5424', name: 'syslog tcp, RFC 5424 + SD, octet-counted', input: (p) => `    - type: syslog\n      listen: [tcp:127.0.0.1:${p}]`, transport: 'tcp', target: (p) => `127.0.0.1:${p}`, format: 'rfc5424' },
  { id: 'syslog-3164', name: 'syslog tcp, RFC 3164, newline-framed', input: (p) => `    - type: syslog\n      listen: [tcp:127.0.0.1:${p}]`, transport: 'tcp', target: (p) => `127.0.0.1:${p}`, format: 'rfc3164' },
  { id: 'syslog-udp', name: `syslog udp, RFC 5424, offered at ${fmt(UDP_RATE)}/s`, input: (p) => `    - type: syslog\n      listen: [udp:127.0.0.1:${p}]`, transport: 'udp', target: (p) => `127.0.0.1:${p}`, format: 'rfc5424', rate: UDP_RATE },
];
const CASES = ALL_CASES.filter((c) => !process.env.LOGLOOM_BENCH_CASES || process.env.LOGLOOM_BENCH_CASES.split(',').includes(c.id));

/** Datagrams the kernel dropped at a UDP port's socket (its receive queue full): /proc/net/udp's last column. */
function kernelUdpDrops(port: number): number {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')} `;
  // Rows are "  sl: local rem st …  drops" (sl right-aligned in 5 columns: no leading space past 9999).
  const row = readFileSync('/proc/net/udp', 'utf8').split('\n').map((l) => l.trim().split(/\s+/)).find((f) => f[1]?.endsWith(hex.trim()));
  return row ? Number(row.at(-1)) : 0;
}

interface Run extends LoadRun {
  /** Records that did not come back (UDP: dropped by the kernel or by the input, counted in udp_dropped). */
  lost: number;
  udpDropped: number;
  kernelDrops: number;
}

async function once(c: Case, build: Build, native: 'on' | 'off'): Promise<Run> {
  const dir = mkdtempSync(join(work, 'run-'));
  const port = await freePort();
  let udpDropped = 0, kernelDrops = 0;
  try {
    const r = await loadRun({
      tool: TOOL, build, cfgPath: join(dir, 'logloom.yaml'), count: RECORDS, expect: RECORDS,
      load: { transport: c.transport, target: c.target(port, dir), format: c.format, rate: c.rate },
      config: (recv) => `${agentConfigHead(dir, { node: 'bench', native })}  inputs:
${c.input(port, dir)}
  plugins:
    enabled: [sink_tcp]
    config:
      sink_tcp: { host: 127.0.0.1, port: ${recv} }
`,
      after: async () => {
        if (c.transport !== 'udp') return;
        kernelDrops = kernelUdpDrops(port);
        const a = await controlRequest(`${dir}/run/control.sock`, { op: 'status' });
        if (a.ok) udpDropped = Number((a.result as { inputs: { udp_dropped?: number }[] }).inputs[0]?.udp_dropped ?? 0);
      },
    });
    return { ...r, lost: RECORDS - r.lines, udpDropped, kernelDrops };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

header('network inputs: tcp, unix, syslog tcp/udp → sink_tcp → a receiver', 'node bench/network-inputs.ts  (LOGLOOM_BENCH_RECORDS, LOGLOOM_BENCH_RUNS, LOGLOOM_BENCH_UDP_RATE, LOGLOOM_BENCH_CASES; make package TARGET=x64 first for the packaged figures)');
console.log(`${fmt(RECORDS)} records per run; medians of ${RUNS}, agents and buffers interleaved; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores (shared machine: rates are noisy, compare CPU µs per record)`);
const agents = builds();
console.log('| input | agent | buffer | records/s | agent CPU µs/record | agent peak RSS MiB | lost (udp_dropped + kernel) |');
console.log('|---|---|---|---:|---:|---:|---:|');
for (const c of CASES) {
  const variants = agents.flatMap((a) => (['on', 'off'] as const).map((native) => ({ a, native, runs: [] as Run[] })));
  // Interleaved, so a change in the machine's load falls on every variant alike.
  for (let i = 0; i < RUNS; i++) for (const v of variants) v.runs.push(await once(c, v.a, v.native));
  for (const v of variants) {
    const m = (k: keyof Run) => median(v.runs.map((r) => r[k]));
    const lost = c.transport === 'udp' ? `${fmt(m('lost'))} (${fmt(m('udpDropped'))} + ${fmt(m('kernelDrops'))})` : fmt(m('lost'));
    console.log(`| ${c.name} | ${v.a.label} | ${v.native === 'on' ? 'native (C codec, ring)' : 'JS fallback'} | ${fmt(m('rate'))} | ${fmt(m('cpuUs'), 2)} | ${fmt(m('peak'))} | ${lost} |`);
  }
}
rmSync(work, { recursive: true, force: true });
