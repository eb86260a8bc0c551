import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Limits a plugin process gets; undefined = not limited. */
export interface ResourceLimits {
  memory_max?: number;
  /** Fraction of one core, e.g. 0.2. */
  cpu_max?: number;
  pids_max?: number;
}

/** Usage figures read back from the kernel, for `logloom status` and tests. */
export interface CgroupUsage {
  memory_bytes?: number;
  /** Total CPU time used by the group, nanoseconds. */
  cpu_ns?: number;
  pids?: number;
  /** Times the memory limit was hit and the kernel killed a process. */
  oom_kills?: number;
  /** Forks refused by pids_max. */
  pids_refused?: number;
}

export class LimitsError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'LimitsError';
  }
}

export const CGROUP_ROOT = '/sys/fs/cgroup';
const CPU_PERIOD_US = 100_000;

function readNumber(path: string): number | undefined {
  try {
    const t = readFileSync(path, 'utf8').trim();
    return t === 'max' ? undefined : Number(t);
  } catch {
    return undefined;
  }
}

function readKeyed(path: string, key: string): number | undefined {
  try {
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k === key) return Number(v);
    }
  } catch {
    /* file missing on this kernel */
  }
  return undefined;
}

function write(path: string, value: string): void {
  try {
    writeFileSync(path, value);
  } catch (e) {
    throw new LimitsError(`cannot write ${value} to ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** One plugin's cgroup(s): created on demand, joined by the launcher, removed at stop. */
export interface PluginCgroup {
  readonly mechanism: 'cgroup2' | 'cgroup1';
  /** `cgroup.procs` files the launcher writes its pid into before exec'ing the plugin. */
  readonly procsFiles: string[];
  readonly paths: string[];
  usage(): CgroupUsage;
  /** Kills whatever is left in the group (fork-bomb children) and removes it. */
  remove(): void;
  /** Pids currently in the group. */
  pids(): number[];
}

function pidsIn(procsFile: string): number[] {
  try {
    return readFileSync(procsFile, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function removeDir(dir: string): void {
  for (let i = 0; i < 20; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY') return;
      for (const pid of pidsIn(join(dir, 'cgroup.procs'))) {
        try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
      }
      // The kernel releases the group shortly after its last task is reaped.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
    }
  }
}

/**
 * mkdir -p that survives another agent removing the shared empty `logloom` parent between our
 * creating it and creating our group in it (its rmdir fails once our group exists).
 */
function makeGroupDir(dir: string): void {
  for (let i = 0; ; i++) {
    try {
      mkdirSync(dir, { recursive: true });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || i >= 5) throw e;
    }
  }
}

/** Removes the shared `logloom` parent once no agent has a group in it (EBUSY otherwise: fine). */
function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    /* still used by another agent's plugins */
  }
}

/** cgroup v1: one directory per controller, each under `<controller>/logloom/<group>`. */
export function createV1(group: string, limits: ResourceLimits, root = CGROUP_ROOT): PluginCgroup {
  const dir = (c: string) => join(root, c, 'logloom', group);
  const used: string[] = [];
  const make = (c: string) => {
    makeGroupDir(dir(c));
    used.push(dir(c));
  };
  make('memory');
  make('pids');
  make('cpu');
  if (existsSync(join(root, 'cpuacct')) && !existsSync(join(root, 'cpu', 'cpuacct.usage'))) make('cpuacct');
  write(join(dir('memory'), 'memory.limit_in_bytes'), limits.memory_max ? String(limits.memory_max) : '-1');
  write(join(dir('pids'), 'pids.max'), limits.pids_max ? String(limits.pids_max) : 'max');
  write(join(dir('cpu'), 'cpu.cfs_period_us'), String(CPU_PERIOD_US));
  write(join(dir('cpu'), 'cpu.cfs_quota_us'), limits.cpu_max ? String(Math.max(1000, Math.round(limits.cpu_max * CPU_PERIOD_US))) : '-1');
  const acct = existsSync(join(dir('cpu'), 'cpuacct.usage')) ? dir('cpu') : dir('cpuacct');
  return {
    mechanism: 'cgroup1',
    paths: used,
    procsFiles: used.map((d) => join(d, 'cgroup.procs')),
    usage: () => ({
      memory_bytes: readNumber(join(dir('memory'), 'memory.usage_in_bytes')),
      cpu_ns: readNumber(join(acct, 'cpuacct.usage')),
      pids: readNumber(join(dir('pids'), 'pids.current')),
      oom_kills: readKeyed(join(dir('memory'), 'memory.oom_control'), 'oom_kill') ?? readNumber(join(dir('memory'), 'memory.failcnt')),
      pids_refused: readKeyed(join(dir('pids'), 'pids.events'), 'max'),
    }),
    pids: () => pidsIn(join(dir('pids'), 'cgroup.procs')),
    remove: () => {
      for (const d of used) {
        removeDir(d);
        removeIfEmpty(join(d, '..'));
      }
    },
  };
}

/** cgroup v2: one directory `<root>/logloom/<group>` with memory, cpu and pids enabled in the parent. */
export function createV2(group: string, limits: ResourceLimits, root: string): PluginCgroup {
  const parent = join(root, 'logloom');
  const dir = join(parent, group);
  // Our group first (so the parent cannot be removed under us), then the parent's controllers:
  // they are enabled top-down; the root's subtree_control is the system's business.
  makeGroupDir(dir);
  write(join(parent, 'cgroup.subtree_control'), '+memory +cpu +pids');
  write(join(dir, 'memory.max'), limits.memory_max ? String(limits.memory_max) : 'max');
  try { writeFileSync(join(dir, 'memory.swap.max'), '0'); } catch { /* no swap accounting */ }
  write(join(dir, 'pids.max'), limits.pids_max ? String(limits.pids_max) : 'max');
  write(join(dir, 'cpu.max'), limits.cpu_max ? `${Math.max(1000, Math.round(limits.cpu_max * CPU_PERIOD_US))} ${CPU_PERIOD_US}` : `max ${CPU_PERIOD_US}`);
  return {
    mechanism: 'cgroup2',
    paths: [dir],
    procsFiles: [join(dir, 'cgroup.procs')],
    usage: () => {
      const usec = readKeyed(join(dir, 'cpu.stat'), 'usage_usec');
      return {
        memory_bytes: readNumber(join(dir, 'memory.current')),
        cpu_ns: usec === undefined ? undefined : usec * 1000,
        pids: readNumber(join(dir, 'pids.current')),
        oom_kills: readKeyed(join(dir, 'memory.events'), 'oom_kill'),
        pids_refused: readKeyed(join(dir, 'pids.events'), 'max'),
      };
    },
    pids: () => pidsIn(join(dir, 'cgroup.procs')),
    remove: () => {
      removeDir(dir);
      removeIfEmpty(parent);
    },
  };
}

/** Removes groups left by agents that died without cleaning up (group names start with their pid). */
export function removeStaleGroups(dirs: string[]): void {
  for (const parent of dirs) {
    let names: string[];
    try {
      names = readdirSync(parent, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    } catch {
      continue;
    }
    for (const name of names) {
      const pid = Number(name.split('.')[0]);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      try {
        process.kill(pid, 0);
      } catch {
        removeDir(join(parent, name));
      }
    }
  }
}
