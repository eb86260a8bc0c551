/**
 * One plugin process, as the Python and the C host both run theirs: the plugin user (root agents
 * only, nobody unless limits.user says otherwise), its state directory, its limits (cgroup, else
 * rlimits), the confined start through the sandbox launcher (launcher.ts) and the layers it
 * reports, why the process ended (the launcher's own codes, the memory limit's OOM kill, a signal,
 * an exit code), and killing it with whatever it forked. Each host keeps its own protocol on the
 * descriptors it asks for.
 */
import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import { PluginLoadError } from '../host.ts';
import type { PluginLimits } from '../config.ts';
import { applyLimits, type AppliedLimits } from '../limits/mechanism.ts';
import { lookupUser, type UserIds } from '../limits/user.ts';
import { launchCommand, launchExitReason, prepareStateDir, readLayers, type SandboxLayers } from './launcher.ts';

export interface PluginProcessSpawn {
  /** Absolute path of the program (python3, logloom-plugin-host). */
  program: string;
  args: readonly string[];
  /** The plugin has the `network` capability. */
  network: boolean;
  stateDir: string;
  /** The child's descriptors; `statusFd` among them must be a pipe (the launcher reports on it). */
  stdio: StdioOptions;
  statusFd: number;
  env?: NodeJS.ProcessEnv;
  /** Where a bundled launcher is unpacked (<runtime_dir>/native). */
  nativeDir?: string;
}

/** Resolves when the child has exited (true) or after `ms` (false). */
export function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => (child.off('exit', done), resolve(false)), ms);
    const done = () => (clearTimeout(t), resolve(true));
    child.once('exit', done);
  });
}

export class PluginProcess {
  /** The plugin user of the current start (undefined when the agent is not root). */
  user?: UserIds;
  limits?: AppliedLimits;
  /** What the launcher reported it applied, for `logloom status` (sandbox). */
  layers?: SandboxLayers;
  child?: ChildProcess;
  /** Limit events of earlier (removed) cgroups of this plugin: status shows the totals. */
  readonly pastEvents = { oom_kills: 0, pids_refused: 0 };
  private oomBefore = 0;
  private generation = 0;
  private readonly name: string;
  /** How load errors name the plugin (its file). */
  private readonly shownAs: string;
  /** How exit reasons name the process: `process`, `plugin host`. */
  private readonly what: string;

  constructor(name: string, shownAs: string, what: string) {
    this.name = name;
    this.shownAs = shownAs;
    this.what = what;
  }

  /**
   * Before a start: the plugin user, its state directory (the one writable place), and fresh
   * limits (the previous start's cgroup is removed, its events kept for status). With
   * `onlyWhenSet`, no limits are applied when the plugin has none.
   */
  prepare(stateDir: string, limits: Partial<PluginLimits>, warn: (msg: string) => void, onlyWhenSet = false): void {
    const root = process.getuid?.() === 0;
    try {
      this.user = root ? lookupUser(limits.user ?? 'nobody') : undefined;
    } catch (e) {
      throw new PluginLoadError(this.shownAs, (e as Error).message);
    }
    prepareStateDir(stateDir, this.user);
    this.releaseLimits();
    const { memory_max, cpu_max, pids_max } = limits;
    if (!onlyWhenSet || memory_max || cpu_max || pids_max) this.limits = applyLimits(this.name, { memory_max, cpu_max, pids_max });
    if (this.limits?.notEnforced.length) warn(`limits not enforced: ${this.limits.notEnforced.join('; ')}`);
    this.oomBefore = this.limits?.usage().oom_kills ?? 0;
  }

  /** Removes this plugin's cgroup (after its process is gone), keeping its event counts. */
  releaseLimits(): void {
    if (!this.limits) return;
    const u = this.limits.usage();
    this.pastEvents.oom_kills += u.oom_kills ?? 0;
    this.pastEvents.pids_refused += u.pids_refused ?? 0;
    this.limits.remove();
    this.limits = undefined;
  }

  /**
   * Starts the program confined. `layers` resolves once the launcher has reported (just before
   * its exec, or at its exit); a start awaits it before it returns, so status shows the layers.
   */
  spawn(s: PluginProcessSpawn): { child: ChildProcess; layers: Promise<void> } {
    const launch = launchCommand({
      program: s.program, args: s.args, user: this.user, network: s.network, writeDirs: [s.stateDir], limits: this.limits, statusFd: s.statusFd,
      nativeDir: s.nativeDir,
    });
    // node:child_process loads with the first plugin process, not at every start.
    const child = process.getBuiltinModule('node:child_process').spawn(launch.command, launch.args, { stdio: s.stdio, cwd: s.stateDir, ...(s.env ? { env: s.env } : {}) });
    const gen = ++this.generation;
    this.layers = undefined;
    this.child = child;
    const layers = readLayers(child.stdio[s.statusFd] as Readable, launch.unavailable).then((l) => {
      if (gen === this.generation) this.layers = l;
    });
    return { child, layers };
  }

  /**
   * Why the process ended, as the supervisor and status say it. The wording is what each host has
   * always logged (operators grep for it): a Python plugin's launcher and memory-limit reasons
   * name no subject, the C plugin host's say `plugin host`.
   */
  exitReason(code: number | null, signal: NodeJS.Signals | null, memoryMax: number | undefined): string {
    const subject = this.what === 'process' ? '' : `${this.what} `;
    const launcher = launchExitReason(code);
    if (launcher) return subject ? `${this.what}: ${launcher}` : launcher;
    // The kernel's OOM killer sends SIGKILL; the cgroup's oom_kill count tells it from a plain kill -9.
    const oom = (this.limits?.usage().oom_kills ?? 0) > this.oomBefore;
    if (oom && (signal === 'SIGKILL' || code === 137)) return `${subject}killed by the memory limit (memory_max ${memoryMax})`;
    return signal ? `${this.what} killed by ${signal}` : `${this.what} exited with code ${code}`;
  }

  /** SIGKILL for the child and whatever it managed to fork into its cgroup despite the sandbox. */
  killAll(): void {
    try {
      this.child?.kill('SIGKILL');
    } catch {
      /* already gone */
    }
    for (const pid of this.limits?.pids() ?? []) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}
