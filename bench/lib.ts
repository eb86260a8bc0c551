/**
 * Shared bits for benchmarks: medians, peak RSS and CPU of a process, the printed header, and the
 * harness of the benches that drive a real agent (the builds to compare, starting and stopping
 * `logloom`, the C load tool of bench/c/inputs-load.c).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type NetConnectOpts } from 'node:net';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Peak resident set size (VmHWM) of a live process, in MiB. */
export function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** User + system CPU seconds a live process has used so far. */
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/**
 * CPU seconds of a live process and all its live descendants (e.g. the agent and its plugin
 * host processes), so work moved into a child still counts.
 */
export function treeCpuSeconds(pid: number): number {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(d)]);
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  const todo = [pid];
  while (todo.length) {
    const p = todo.pop()!;
    try {
      total += cpuSeconds(p);
    } catch {
      continue;
    }
    todo.push(...(children.get(p) ?? []));
  }
  return total;
}

export function header(name: string, rerun: string): void {
  console.log(`# ${name}  (node ${process.versions.node}, ${process.arch}; re-run: ${rerun})`);
}

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** Writes a payload on one connection as fast as the peer takes it; resolves when it is closed. */
export function sendAll(to: NetConnectOpts, payload: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createConnection(to, () => s.end(payload));
    s.on('close', () => resolve());
    s.on('error', reject);
  });
}

/** Every process a bench starts through track(), killed when the bench exits for any reason (a failed run leaves nothing behind). */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
// A bench stopped by a signal exits through 'exit' too, so its agents do not outlive it.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(128 + (sig === 'SIGINT' ? 2 : 15)));
export function track(c: ChildProcess): ChildProcess {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}

/** A build of the agent to measure: how to start it. */
export interface Build {
  label: string;
  argv: string[];
}

/**
 * The packaged executable (dist/bin/logloom-linux-x64, from `make package TARGET=x64`) when it is
 * there, and the checkout run by this Node. Says so when the packaged one is missing.
 */
export function builds(): Build[] {
  // LOGLOOM_BENCH_EXECUTABLES=a,b: measure these executables instead (e.g. two builds side by side).
  const chosen = process.env.LOGLOOM_BENCH_EXECUTABLES;
  if (chosen) return chosen.split(',').map((p) => ({ label: p, argv: [p] }));
  const out: Build[] = [];
  const packaged = join(ROOT, 'dist/bin/logloom-linux-x64');
  if (existsSync(packaged)) out.push({ label: 'packaged x64', argv: [packaged] });
  else console.log('(no dist/bin/logloom-linux-x64: run `make package TARGET=x64` for the packaged figures)');
  // The build with a V8 start-up snapshot, when made (make package TARGET=x64 STARTUP=snapshot).
  const snapshot = join(ROOT, 'dist/bin/logloom-linux-x64-snapshot');
  if (existsSync(snapshot)) out.push({ label: 'packaged x64, snapshot', argv: [snapshot] });
  out.push({ label: 'checkout', argv: [process.execPath, '--disable-warning=ExperimentalWarning', join(ROOT, 'cli/main.ts')] });
  return out;
}

/** Builds bench/c/<src> with gcc -O2 into dir; returns the executable's path. */
export function buildC(src: string, dir: string, extra: string[] = []): string {
  const out = join(dir, src.replace(/\.c$/, ''));
  execFileSync('gcc', ['-O2', '-o', out, join(ROOT, 'bench/c', src), ...extra]);
  return out;
}

/** A free TCP port on 127.0.0.1 (free when asked: the caller binds it soon after). */
/**
 * The head of a bench agent's configuration (`logloom:` through the buffer): node, data and
 * runtime directories under dir (`data`/`run`, or `<tag>`/`<tag>-run` beside an aggregator), the
 * control socket and, when given, `buffer.native`. The caller appends its inputs and plugins.
 */
export function agentConfigHead(dir: string, o: { node: string; tag?: string; native?: 'on' | 'off' }): string {
  const data = o.tag ? `${dir}/${o.tag}` : `${dir}/data`;
  const run = o.tag ? `${dir}/${o.tag}-run` : `${dir}/run`;
  return `logloom:
  node_id: ${o.node}
  data_dir: ${data}
  runtime_dir: ${run}
  control:
    socket: ${run}/control.sock
${o.native ? `  buffer:\n    native: ${o.native}\n` : ''}`;
}

/** A bench aggregator's configuration: no auth, NDJSON store with fsync interval, index off (ingest alone). */
export function aggregatorConfig(dir: string, port: number): string {
  return `logloom:
  node_id: aggregator
  data_dir: ${dir}/agg
  runtime_dir: ${dir}/agg-run
  control:
    socket: ${dir}/agg-run/control.sock
  aggregator:
    listen: 127.0.0.1:${port}
    auth:
      mode: none
    ndjson:
      fsync: interval
    index:
      enabled: false
`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** The first match of re in what a child prints on stdout (the C tools print a few words each). */
export function lineOf(p: ChildProcess, re: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const on = (d: Buffer) => {
      buf += d.toString();
      const m = re.exec(buf);
      if (m) {
        p.stdout!.off('data', on);
        p.off('exit', onExit);
        resolve(m);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`${p.spawnfile} exited with ${code} before printing ${re}`));
    p.stdout!.on('data', on);
    p.once('exit', onExit);
  });
}

/**
 * Starts `logloom <args>` of a build and resolves once its log (stderr) has matched every one of
 * `ready`; its stderr is drained from then on. A start that fails rejects with the log.
 */
export function startLogloom(argv: string[], args: string[], ready: RegExp[]): Promise<ChildProcess> {
  const p = track(spawn(argv[0]!, [...argv.slice(1), ...args], { stdio: ['ignore', 'ignore', 'pipe'] }));
  return new Promise((resolve, reject) => {
    let err = '';
    const on = (d: Buffer) => {
      err += d.toString();
      if (ready.every((r) => r.test(err))) {
        p.stderr!.off('data', on);
        p.off('exit', onExit);
        p.stderr!.resume();
        resolve(p);
      }
    };
    const onExit = (code: number | null) => reject(new Error(`logloom ${args[0]} exited with ${code}:\n${err}`));
    p.stderr!.on('data', on);
    p.once('exit', onExit);
  });
}

/** SIGTERM, and resolves once the process has exited. */
export function stopProcess(p: ChildProcess): Promise<unknown> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  return done;
}

/**
 * The agent's own start-up work goes on for a moment after "started" (it gives back the
 * executable's start-up pages a second in, lib/native-runtime.ts STARTUP_SETTLE_MS): a run starts
 * measuring after this, so that work is not counted per record.
 */
export const SETTLE_MS = 1500;

/** What bench/c/inputs-load.c measured in one run, and the agent's cost for it. */
export interface LoadRun {
  /** Lines the receiver got back (the records that went through). */
  lines: number;
  /** Records per second: lines over the time from the load's start to the last line back. */
  rate: number;
  /** Agent CPU (its process and any children, e.g. a plugin host) per line, µs. */
  cpuUs: number;
  /** Peak RSS of the agent (VmHWM), MiB. */
  peak: number;
  /** Bytes written into the input. */
  inBytes: number;
}

/**
 * One run of an input bench: bench/c/inputs-load.c (built by the caller) as both ends, the agent
 * between them. `config(recvPort)` is the agent's configuration for the receiver's port (its
 * sink_tcp goes there); `load` is the tool's TRANSPORT TARGET FORMAT (and RATE) arguments;
 * `ready` what the agent's log must say besides "started" before the load starts (after
 * SETTLE_MS more). Ends when `expect` lines are back, or the tool gave up waiting (3 s without a
 * line; the rate still ends at the last line's arrival, and `lines` says how many came).
 */
export async function loadRun(o: {
  tool: string;
  build: Build;
  config: (recvPort: number) => string;
  cfgPath: string;
  load: { transport: string; target: string; format: string; rate?: number };
  count: number;
  expect: number;
  ready?: RegExp[];
  /** Called with the agent, after the run, before it stops: e.g. to read its status. */
  after?: (agent: ChildProcess) => Promise<void>;
}): Promise<LoadRun> {
  const tool = track(spawn(o.tool, [o.load.transport, o.load.target, o.load.format, String(o.count), String(o.expect), String(o.load.rate ?? 0)], { stdio: ['pipe', 'pipe', 'inherit'] }));
  try {
    const port = Number((await lineOf(tool, /port (\d+)/))[1]);
    writeFileSync(o.cfgPath, o.config(port));
    const agent = await startLogloom(o.build.argv, ['run', '-c', o.cfgPath], [/started on node/, ...(o.ready ?? [])]);
    try {
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const cpu0 = treeCpuSeconds(agent.pid!);
      const started = lineOf(tool, /start (\d+)/);
      const done = lineOf(tool, /done (\d+) (\d+) (\d+) (\d+)/);
      tool.stdin!.write('go\n');
      const start = BigInt((await started)[1]!);
      const d = await done;
      const lines = Number(d[1]);
      const secs = Number(BigInt(d[3]!) - start) / 1e9;
      const run = { lines, rate: lines / secs, cpuUs: ((treeCpuSeconds(agent.pid!) - cpu0) / Math.max(1, lines)) * 1e6, peak: peakRssMiB(agent.pid!), inBytes: Number(d[4]) };
      await o.after?.(agent);
      return run;
    } finally {
      await stopProcess(agent);
    }
  } finally {
    tool.kill();
  }
}

/**
 * Entries a `logloom aggregator` has committed for a node: its NDJSON store's state.json (0 before
 * the first batch). A small file, cheap to poll.
 */
export function committedEntries(storeDir: string, node: string): number {
  try {
    return (JSON.parse(readFileSync(join(storeDir, node, 'state.json'), 'utf8')) as { entries: number }).entries;
  } catch {
    return 0;
  }
}

/**
 * The records of bench/pipeline.ts as bench/c/pipeline-gen.c writes them, byte for byte: 1000
 * NDJSON lines of exactly 209 bytes (newline included), every tenth DEBUG. For the benches that
 * feed a codec in this process (bench/codec.ts, bench/ring.ts).
 */
export function pipelineRecords(): Buffer {
  return Buffer.from(
    Array.from({ length: 1000 }, (_, i) => {
      const s = `{"timestamp":"2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.${String(i % 1000).padStart(3, '0')}Z","level":"${i % 10 === 0 ? 'DEBUG' : 'INFO'}","module":"sensor","message":"reading ${String(i).padStart(6, '0')} temperature=21.5C humidity=40% status=ok","fields":{"device":"gw-0042","seq":${i}},"pad":"`;
      return s + 'x'.repeat(209 - 3 - s.length) + '"}\n';
    }).join(''),
  );
}
