/** Shared bits for benchmarks: medians, peak RSS and CPU of a process, and the printed header. */
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection, type NetConnectOpts } from 'node:net';
import type { ChildProcess } from 'node:child_process';

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

/**
 * One burst against a running agent: send the payload, wait until `delivered` resolves, and
 * report wall seconds, the agent's CPU seconds for the burst (by `cpu`, default the process's
 * own) and its peak RSS.
 */
export async function measureBurst(pid: number, to: NetConnectOpts, payload: Buffer, delivered: () => Promise<unknown>, cpu = cpuSeconds): Promise<{ secs: number; cpu: number; rss: number }> {
  const cpu0 = cpu(pid);
  const t0 = process.hrtime.bigint();
  await sendAll(to, payload);
  await delivered();
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  return { secs, cpu: cpu(pid) - cpu0, rss: peakRssMiB(pid) };
}

/** Every process a bench starts through track(), killed when the bench exits for any reason (a failed run leaves nothing behind). */
const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});
export function track(c: ChildProcess): ChildProcess {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}
