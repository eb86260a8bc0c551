/**
 * The failure-and-restart core every stage class (filter.ts, sink.ts, ai.ts, lang.ts) stands on.
 * It owns what does not depend on the plugin's type: starting the host and checking its info
 * against what discovery expected, stopping, swapping in a reloaded host, the run state, the
 * counters of `logloom status`, the rate-limited `[ERROR] Plugin communication failed: <name>:
 * <reason>` line, marking a plugin failed after failure_threshold consecutive errors (at once when
 * its host dies, or an in-process call overruns timeout_ms), and restarting it with the
 * lib/backoff.ts schedule. The stage classes own their calls and what a failed call means for the
 * data (fail open, keep the batch, drop the entry, answer "no template").
 *
 * `start` (first start, `plugins enable`, reload) and the restart after a failure go through the
 * same `launch` (bounded host start + info check) and `running` (state, info, resume the stage);
 * they differ only in what a failure does: a start rejects with PluginLoadError and leaves the
 * plugin stopped, a restart counts it and schedules the next one.
 */
import type { AgentLog } from '../../../lib/log.ts';
import { Backoff } from '../../../lib/backoff.ts';
import { PluginCallError, PluginLoadError, type HostedPlugin } from '../host.ts';
import type { DiscoveredPlugin } from '../discovered.ts';
import { validateInfo } from '../info.ts';
import type { ChainTracer } from '../chain-tracer.ts';
import type { PluginContext, PluginInfo } from '../types.ts';
import { reasonOf, withTimeout } from './call.ts';

export type SupervisedState = 'starting' | 'running' | 'failed' | 'stopped';

export interface SupervisorOptions {
  /** The agent's untagged log: the fixed lines must read exactly as documented. */
  log: AgentLog;
  context: PluginContext;
  failureThreshold: number;
  restartMinMs?: number;
  restartMaxMs?: number;
  /** Bound for start (spawn, connect, init, info); at least the call timeout. */
  startTimeoutMs?: number;
  /** For replacement entries (filter_redact): the same bound as inputs. */
  maxMessageBytes?: number;
  tracer?: ChainTracer;
  /** Least time between two identical-plugin error lines; the ones between are counted in the next. */
  errorLogIntervalMs?: number;
}

export type ResolvedOptions = Required<Omit<SupervisorOptions, 'tracer'>> & { tracer?: ChainTracer };

/** What every stage shares with the pipeline: the name and the enabled flag. */
export interface StageBase {
  readonly name: string;
  enabled: boolean;
}

export abstract class SupervisorCore<H extends HostedPlugin> {
  /** The plugin type this supervisor serves (the discriminant of the Supervisor union). */
  abstract readonly type: H['type'];
  /** What is running now: replaced by `swap` when the plugin is reloaded. */
  plugin: DiscoveredPlugin;
  host: H;
  protected readonly opts: ResolvedOptions;
  info?: PluginInfo;
  state: SupervisedState = 'stopped';
  enabled = true;
  // Counters for `logloom status`.
  calls = 0;
  failures = 0;
  consecutiveFailures = 0;
  restarts = 0;
  /** In-process calls that overran timeout_ms (they cannot be cut off; each marks the plugin failed). */
  overruns = 0;
  /**
   * Entries that got on_error because the filter failed or was down. Only filters fail open; the
   * counter lives here because status shows it (as 0) for every type, in this place.
   */
  failedOpen = 0;
  lastError = '';
  private readonly restartBackoff: Backoff;
  private restartTimer?: NodeJS.Timeout;
  private lastLogAt = 0;
  private suppressed = 0;

  constructor(plugin: DiscoveredPlugin, host: H, opts: SupervisorOptions) {
    this.plugin = plugin;
    this.host = host;
    this.opts = {
      restartMinMs: 1000, restartMaxMs: 60_000, startTimeoutMs: Math.max(plugin.limits.timeout_ms, 10_000), maxMessageBytes: 16 * 1024,
      // Options passed as undefined (the registry forwards an unset restartMinMs) keep the defaults.
      errorLogIntervalMs: 1000, ...(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) as SupervisorOptions),
    };
    // No jitter: the restart is of this agent's own plugin, there is no shared peer to spread
    // load over, and the log line states the delay exactly.
    this.restartBackoff = new Backoff({ minMs: this.opts.restartMinMs, maxMs: this.opts.restartMaxMs, jitter: 'none' });
    host.onExit = (reason) => this.hostExited(reason);
  }

  get name(): string {
    return this.plugin.name;
  }

  protected get timeout(): number {
    return this.plugin.limits.timeout_ms;
  }

  /** Whether a host built for a reload is of this supervisor's type (the registry refuses a type change before). */
  protected abstract accepts(host: HostedPlugin): host is H;

  /**
   * The plugin runs (again): after start, restart and swap. A stage with work that waited while
   * it was down (the ai queue) takes it up here; the others have none.
   */
  protected resumed(): void {}

  /** Figures of this type for `logloom status`, after the shared ones. */
  protected typeStatus(): Record<string, unknown> {
    return {};
  }

  /** Starts the host and checks its info against what discovery expected. Rejects with PluginLoadError. */
  async start(): Promise<PluginInfo> {
    this.state = 'starting';
    let info: PluginInfo;
    try {
      info = await this.launch();
    } catch (e) {
      this.state = 'stopped';
      await this.host.stop().catch(() => {});
      if (e instanceof PluginLoadError) throw e;
      throw new PluginLoadError(this.plugin.origin, reasonOf(e));
    }
    this.running(info);
    return info;
  }

  /**
   * The one way a host comes up (start and restart): host.start bounded by startTimeoutMs, then
   * its info checked against the plugin's name and type. Rejects with the host's error, or with
   * PluginCallError for a timeout or info that does not match.
   */
  private async launch(): Promise<PluginInfo> {
    const raw = await withTimeout(this.host.start(this.opts.context), this.opts.startTimeoutMs, 'start');
    const { info, reason } = validateInfo(raw, { name: this.plugin.name, type: this.plugin.type });
    if (!info) throw new PluginCallError(reason!);
    return info;
  }

  /** The host came up: the stage works from now on. */
  private running(info: PluginInfo): void {
    this.info = info;
    this.state = 'running';
    this.resumed();
  }

  async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const was = this.state;
    this.state = 'stopped';
    if (was !== 'stopped') await withTimeout(this.host.stop(), Math.max(this.timeout, 5000), 'stop').catch((e) => this.opts.log.warn(`plugin ${this.name}: ${reasonOf(e)}`));
  }

  /**
   * `plugins reload`: stops the running host and starts `host` (built from the plugin's files as
   * they are now) in its place. The stage in the pipeline stays the same object, so nothing
   * that holds it notices. Rejects with PluginLoadError when the new one does not start (the
   * plugin is then stopped: filters fail open, sink batches stay queued).
   */
  async swap(plugin: DiscoveredPlugin, host: HostedPlugin): Promise<PluginInfo> {
    if (!this.accepts(host)) throw new PluginLoadError(plugin.origin, `its type changed from ${this.type} to ${host.type}; restart the agent to hook it in anew`);
    await this.stop();
    this.plugin = plugin;
    this.host = host;
    host.onExit = (reason) => this.hostExited(reason);
    this.consecutiveFailures = 0;
    this.restartBackoff.reset();
    return this.start();
  }

  // ---- failures, restarts ----

  /** The contract line, at most once per errorLogIntervalMs; the ones between are counted in the next. */
  protected report(reason: string): void {
    const now = Date.now();
    if (now - this.lastLogAt < this.opts.errorLogIntervalMs) {
      this.suppressed++;
      return;
    }
    const more = this.suppressed ? ` (and ${this.suppressed} more since the last report)` : '';
    this.suppressed = 0;
    this.lastLogAt = now;
    this.opts.log.error(`Plugin communication failed: ${this.name}: ${reason}${more}`);
  }

  /** A call failed: counted, reported, and the plugin marked failed after failure_threshold in a row. */
  protected failed(e: unknown): void {
    const reason = reasonOf(e);
    this.failures++;
    this.consecutiveFailures++;
    this.lastError = reason;
    this.report(reason);
    if (this.state === 'running' && this.consecutiveFailures >= this.opts.failureThreshold) {
      this.markFailed(`${this.consecutiveFailures} consecutive errors`);
    }
  }

  protected succeeded(): void {
    this.consecutiveFailures = 0;
    this.restartBackoff.reset();
  }

  private hostExited(reason: string): void {
    if (this.state !== 'running') return;
    this.failures++;
    this.lastError = reason;
    this.report(reason);
    this.markFailed(reason);
  }

  /**
   * A sync (in-process) call cannot be interrupted: one slower than the timeout has already
   * blocked the agent for that long. Its answer is used, but the plugin is marked failed at once
   * (not after failure_threshold) and restarted with backoff; the host may change how it runs
   * next time (a trusted .so moves into its plugin host process).
   */
  protected checkSyncTime(t0: number, n: number): void {
    const elapsed = performance.now() - t0;
    if (elapsed / Math.max(n, 1) <= this.timeout) return;
    this.overruns++;
    const note = this.host.overran?.() ?? '';
    const reason = `in-process call took ${Math.round(elapsed)} ms for ${n} entries, over timeout_ms ${this.timeout}, and could not be cut off`;
    this.failures++;
    this.lastError = reason;
    this.report(reason);
    if (this.state === 'running') this.markFailed(`in-process call overran timeout_ms${note ? `; ${note}` : ''}`);
  }

  /** Marks the plugin failed and schedules a restart (stop, then start) with exponential backoff. */
  private markFailed(why: string): void {
    this.state = 'failed';
    const delay = this.restartBackoff.next();
    this.opts.log.error(`Plugin ${this.name} marked failed (${why}); restarting in ${delay} ms`);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
    this.restartTimer.unref?.();
  }

  /** The restart after markFailed: the state stays 'failed' (status says so) until the host is up. */
  private async restart(): Promise<void> {
    this.restartTimer = undefined;
    if (this.state !== 'failed') return;
    await withTimeout(this.host.stop(), Math.max(this.timeout, 5000), 'stop').catch(() => {});
    try {
      const info = await this.launch();
      // Stopped meanwhile (disable, reload, agent stop): the new host must not stay up.
      if ((this.state as SupervisedState) === 'stopped') return void (await this.host.stop().catch(() => {}));
      this.consecutiveFailures = 0;
      this.restarts++;
      this.opts.log.info(`Plugin ${this.name} restarted (restart ${this.restarts})`);
      this.running(info);
    } catch (e) {
      if ((this.state as SupervisedState) === 'stopped') return;
      this.failures++;
      this.lastError = reasonOf(e);
      this.report(`restart failed: ${this.lastError}`);
      this.markFailed('restart failed');
    }
  }

  // ---- what the pipeline and status see ----

  /**
   * What every stage shares: the name and `enabled`, which reads and writes this supervisor's
   * state (so `plugins enable|disable` and the pipeline see one flag). Stage classes add their
   * calls with Object.assign, which keeps the accessor.
   */
  protected stageBase(onEnable?: () => void): StageBase {
    const sup = this;
    return {
      name: this.name,
      get enabled() {
        return sup.enabled;
      },
      set enabled(v: boolean) {
        sup.enabled = v;
        if (v) onEnable?.();
      },
    };
  }

  status(): Record<string, unknown> {
    return {
      // A disabled process plugin is also stopped (its process ended): status says both.
      // Enabled but stopped = it could not be started (e.g. a reload of a broken file): failed.
      state: !this.enabled ? 'disabled' : this.state === 'running' ? 'enabled' : this.state === 'starting' ? 'starting' : 'failed',
      run_state: this.state,
      calls: this.calls, failures: this.failures, consecutive_failures: this.consecutiveFailures, restarts: this.restarts,
      failed_open: this.failedOpen, last_error: this.lastError, ...(this.overruns ? { overruns: this.overruns } : {}),
      ...this.typeStatus(),
      ...(this.host.status?.() ?? {}),
    };
  }
}
