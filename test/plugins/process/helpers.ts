import { accessSync, chmodSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlRequest } from '../../../lib/control/protocol.ts';
import { ROOT, startAgent, tempDir, type RunningAgent } from '../../helpers/agent.ts';
import { sendLines } from '../../helpers/socket.ts';
import { status as cliStatus } from '../../helpers/status.ts';

export const FIXTURES = join(ROOT, 'test/fixtures/plugins');
export const PY_FIXTURES = join(FIXTURES, 'python');

/**
 * An agent with a unix input, the given plugins and a JSON file sink at DIR/out.log. The temp dir
 * is made searchable so that a plugin running as nobody can reach its state dir.
 */
export async function agentWith(plugins: string, prepare?: (dir: string) => void): Promise<RunningAgent> {
  const dir = tempDir('logloom-proc-');
  chmodSync(dir, 0o755);
  prepare?.(dir);
  return startAgent(`  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
${plugins}`, dir);
}

/** Sends NDJSON lines (or plain messages) to the agent's unix input. */
export function send(agent: RunningAgent, ...messages: (string | Record<string, unknown>)[]): Promise<void> {
  return sendLines(agent.ingest, messages.map((m) => JSON.stringify(typeof m === 'string' ? { message: m } : m)));
}

/** Status over the control socket (what `logloom status --json` prints), without spawning a CLI. */
export async function status(agent: RunningAgent, viaCli = false): Promise<Record<string, any>> {
  if (viaCli) return cliStatus(agent);
  const a = await controlRequest(agent.control, { op: 'status' });
  if (!a.ok) throw new Error(`status failed: ${a.error}`);
  return a.result as Record<string, any>;
}

/** The status block of one plugin. */
export async function pluginStatus(agent: RunningAgent, name: string, viaCli = false): Promise<Record<string, any>> {
  const s = await status(agent, viaCli);
  const p = (s.plugins as Record<string, any>[]).find((x) => x.name === name);
  if (!p) throw new Error(`no plugin ${name} in status: ${JSON.stringify(s.plugins)}`);
  return p;
}

export function messages(lines: string[]): string[] {
  return lines.map((l) => JSON.parse(l).message as string);
}

/**
 * What this host offers for plugin limits, found independently of the agent's own detection:
 * the cgroup mounts in /proc/mounts (v2 with memory, cpu and pids controllers, else a v1 memory
 * hierarchy), writable by us (root); anything else means rlimits.
 */
export function hostLimitsMechanism(): 'cgroup2' | 'cgroup1' | 'rlimit' {
  if (process.getuid?.() !== 0) return 'rlimit';
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' '));
  const writable = (d: string) => {
    try {
      accessSync(d, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };
  for (const [, dir, type] of mounts) {
    if (type !== 'cgroup2' || !dir) continue;
    try {
      const ctrls = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/);
      if (['memory', 'cpu', 'pids'].every((c) => ctrls.includes(c)) && writable(dir)) return 'cgroup2';
    } catch {
      /* not readable: not usable */
    }
  }
  const v1 = mounts.find(([, dir, type, opts]) => type === 'cgroup' && dir && opts?.split(',').includes('memory'));
  return v1 && writable(v1[1]!) ? 'cgroup1' : 'rlimit';
}

/** The cgroup paths a process is in (/proc/PID/cgroup), e.g. ["memory:/logloom/123.filter_x", "::/…"]. */
export function cgroupsOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').map((l) => l.split(':').slice(1).join(':'));
}
