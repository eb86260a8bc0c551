import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CGROUP_ROOT, createV1, createV2, LimitsError, removeStaleGroups, type CgroupUsage, type PluginCgroup, type ResourceLimits } from './cgroup.ts';

export type LimitsMechanism = 'cgroup2' | 'cgroup1' | 'rlimit' | 'none';

/** What applies the limits of one plugin process, and how the launcher joins it. */
export interface AppliedLimits {
  readonly mechanism: LimitsMechanism;
  /** cgroup.procs files the child writes its own pid into before exec (empty for rlimits). */
  readonly procsFiles: string[];
  /** For the rlimit fallback: what the runner sets on itself (memory_max → RLIMIT_AS, pids_max → RLIMIT_NPROC). */
  readonly rlimits?: { memory_max?: number; pids_max?: number };
  /** Limits that could not be applied by this mechanism (e.g. cpu_max with rlimits). */
  readonly notEnforced: string[];
  usage(): CgroupUsage;
  pids(): number[];
  remove(): void;
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Where a usable cgroup v2 hierarchy is mounted: the root in pure v2, else a hybrid's unified mount. */
function v2Root(root: string): string | undefined {
  for (const dir of [root, join(root, 'unified')]) {
    try {
      const ctrls = readFileSync(join(dir, 'cgroup.controllers'), 'utf8').split(/\s+/);
      if (['memory', 'cpu', 'pids'].every((c) => ctrls.includes(c)) && writable(dir)) return dir;
    } catch {
      /* not a v2 mount */
    }
  }
  return undefined;
}

function v1Usable(root: string): boolean {
  return ['memory', 'cpu', 'pids'].every((c) => existsSync(join(root, c, 'cgroup.procs')) && writable(join(root, c)));
}

let cleaned = false;

/** Picks the strongest mechanism available: cgroup v2, else v1, else rlimits. */
export function detectMechanism(root = CGROUP_ROOT): LimitsMechanism {
  if (process.getuid?.() !== 0) return 'rlimit';
  if (v2Root(root)) return 'cgroup2';
  if (v1Usable(root)) return 'cgroup1';
  return 'rlimit';
}

function fromCgroup(cg: PluginCgroup): AppliedLimits {
  return { mechanism: cg.mechanism, procsFiles: cg.procsFiles, notEnforced: [], usage: () => cg.usage(), pids: () => cg.pids(), remove: () => cg.remove() };
}

function rlimitFallback(limits: ResourceLimits, why?: string): AppliedLimits {
  const notEnforced = limits.cpu_max !== undefined ? ['cpu_max'] : [];
  return {
    mechanism: 'rlimit',
    procsFiles: [],
    rlimits: { memory_max: limits.memory_max, pids_max: limits.pids_max },
    notEnforced: why ? [...notEnforced, `cgroups: ${why}`] : notEnforced,
    usage: () => ({}),
    pids: () => [],
    remove: () => {},
  };
}

/**
 * Creates the limits for one plugin process. Groups are named `<agent pid>.<plugin>` under a
 * `logloom` parent so that an agent removes its own groups at stop and any an earlier, killed
 * agent left behind at start. Falls back to rlimits when cgroups cannot be written.
 */
export function applyLimits(plugin: string, limits: ResourceLimits, root = CGROUP_ROOT): AppliedLimits {
  const mechanism = detectMechanism(root);
  if (mechanism === 'rlimit' || mechanism === 'none') return rlimitFallback(limits);
  const group = `${process.pid}.${plugin.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  try {
    if (mechanism === 'cgroup2') {
      const r = v2Root(root)!;
      if (!cleaned) removeStaleGroups([join(r, 'logloom')]);
      cleaned = true;
      return fromCgroup(createV2(group, limits, r));
    }
    if (!cleaned) removeStaleGroups(['memory', 'cpu', 'cpuacct', 'pids'].map((c) => join(root, c, 'logloom')));
    cleaned = true;
    return fromCgroup(createV1(group, limits, root));
  } catch (e) {
    if (e instanceof LimitsError || (e as NodeJS.ErrnoException).code) return rlimitFallback(limits, (e as Error).message);
    throw e;
  }
}
