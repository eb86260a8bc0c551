/**
 * The one supervisor: wraps any HostedPlugin, whatever its kind,
 * into the pipeline's stages. It owns per-call timeouts, the
 * `[ERROR] Plugin communication failed: <name>: <reason>` line, fail-open for filters
 * (on_error), sink batches that stay queued (the SinkRunner retries what a rejected flush
 * returns), bounded ai queues with counted drops, and marking a plugin failed after
 * failure_threshold consecutive errors followed by restarts with exponential backoff.
 */
import { performance } from 'node:perf_hooks';
import type { LogEntry } from '../../entry/entry.ts';
import { buildEntry } from '../../entry/build.ts';
import { freezeEntry, type MutableEntry } from '../../entry/entry.ts';
import { sanitiseMessage, sanitiseModule } from '../../entry/sanitise.ts';
import { isLevel, parseLevel } from '../../lib/level.ts';
import type { AgentLog } from '../../lib/log.ts';
import { Backoff } from '../../lib/backoff.ts';
import type { AiStage, FilterStage, FilterVerdicts, SinkStage } from '../pipeline/stages.ts';
import type { RecordBatch } from '../pipeline/batch.ts';
import type { TemplateResolver } from '../../lib/i18n/catalogue.ts';
import { PartialFilterError, PluginCallError, PluginLoadError, type HostedPlugin } from './host.ts';
import type { DiscoveredPlugin } from './discovered.ts';
import { validateInfo } from './info.ts';
import { changedFields, summarise, type ChainTracer } from './chain-tracer.ts';
import { FIXED_ENTRY_FIELDS } from './validate-output.ts';
import type { AiResult, FilterVerdict, PluginContext, PluginInfo } from './types.ts';

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

function reasonOf(e: unknown): string {
  if (e instanceof PluginCallError || e instanceof PluginLoadError) return e.message;
  if (e instanceof Error) return e.name && e.name !== 'Error' ? `${e.name}: ${e.message}` : e.message;
  return String(e);
}

/** Resolves as p does, or rejects with PluginCallError after ms. */
export function withTimeout<T>(p: Promise<T>, ms: number, what = 'call'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new PluginCallError(`${what} timed out after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e) => (clearTimeout(timer), reject(e)),
    );
  });
}

export class Supervisor {
  /** What is running now: replaced by `swap` when the plugin is reloaded. */
  plugin: DiscoveredPlugin;
  host: HostedPlugin;
  private readonly opts: Required<Omit<SupervisorOptions, 'tracer'>> & { tracer?: ChainTracer };
  info?: PluginInfo;
  state: SupervisedState = 'stopped';
  enabled = true;
  // Counters for `logloom status`.
  calls = 0;
  failures = 0;
  consecutiveFailures = 0;
  restarts = 0;
  /** Replacement copies that tried to change timestamp, node, source or seq (kept from the original). */
  fixedFieldChanges = 0;
  private readonly warnedFixed = new Set<string>();
  /** In-process calls that overran timeout_ms (they cannot be cut off; each marks the plugin failed). */
  overruns = 0;
  /** Entries that got on_error because the filter failed or was down. */
  failedOpen = 0;
  lastError = '';
  private readonly restartBackoff: Backoff;
  private restartTimer?: NodeJS.Timeout;
  private lastLogAt = 0;
  private suppressed = 0;
  // ai
  private aiQueue: LogEntry[] = [];
  private aiInflight = 0;
  aiDropped = 0;
  aiResults = 0;

  constructor(plugin: DiscoveredPlugin, host: HostedPlugin, opts: SupervisorOptions) {
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

  private get timeout(): number {
    return this.plugin.limits.timeout_ms;
  }

  /** Starts the host and checks its info against what discovery expected. Rejects with PluginLoadError. */
  async start(): Promise<PluginInfo> {
    this.state = 'starting';
    let raw: PluginInfo;
    try {
      raw = await withTimeout(this.host.start(this.opts.context), this.opts.startTimeoutMs, 'start');
    } catch (e) {
      this.state = 'stopped';
      await this.host.stop().catch(() => {});
      if (e instanceof PluginLoadError) throw e;
      throw new PluginLoadError(this.plugin.origin, reasonOf(e));
    }
    const { info, reason } = validateInfo(raw, { name: this.plugin.name, type: this.plugin.type });
    if (!info) {
      this.state = 'stopped';
      await this.host.stop().catch(() => {});
      throw new PluginLoadError(this.plugin.origin, reason!);
    }
    this.info = info;
    this.state = 'running';
    return info;
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
    await this.stop();
    this.plugin = plugin;
    this.host = host;
    host.onExit = (reason) => this.hostExited(reason);
    this.consecutiveFailures = 0;
    this.restartBackoff.reset();
    const info = await this.start();
    this.pumpAi();
    return info;
  }

  // ---- failures, restarts ----

  private report(reason: string): void {
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

  private failed(e: unknown): void {
    const reason = reasonOf(e);
    this.failures++;
    this.consecutiveFailures++;
    this.lastError = reason;
    this.report(reason);
    if (this.state === 'running' && this.consecutiveFailures >= this.opts.failureThreshold) {
      this.markFailed(`${this.consecutiveFailures} consecutive errors`);
    }
  }

  private succeeded(): void {
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

  /** Marks the plugin failed and schedules a restart (stop, then start) with exponential backoff. */
  private markFailed(why: string): void {
    this.state = 'failed';
    const delay = this.restartBackoff.next();
    this.opts.log.error(`Plugin ${this.name} marked failed (${why}); restarting in ${delay} ms`);
    clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => void this.restart(), delay);
    this.restartTimer.unref?.();
  }

  private async restart(): Promise<void> {
    this.restartTimer = undefined;
    if (this.state !== 'failed') return;
    await withTimeout(this.host.stop(), Math.max(this.timeout, 5000), 'stop').catch(() => {});
    try {
      const raw = await withTimeout(this.host.start(this.opts.context), this.opts.startTimeoutMs, 'start');
      const { info, reason } = validateInfo(raw, { name: this.plugin.name, type: this.plugin.type });
      if (!info) throw new PluginCallError(reason!);
      if ((this.state as SupervisedState) === 'stopped') return void (await this.host.stop().catch(() => {}));
      this.info = info;
      this.state = 'running';
      this.consecutiveFailures = 0;
      this.restarts++;
      this.opts.log.info(`Plugin ${this.name} restarted (restart ${this.restarts})`);
      this.pumpAi();
    } catch (e) {
      if ((this.state as SupervisedState) === 'stopped') return;
      this.failures++;
      this.lastError = reasonOf(e);
      this.report(`restart failed: ${this.lastError}`);
      this.markFailed('restart failed');
    }
  }

  // ---- filter ----

  /**
   * What every stage shares: the name and `enabled`, which reads and writes this supervisor's
   * state (so `plugins enable|disable` and the pipeline see one flag). Callers add their calls
   * with Object.assign, which keeps the accessor.
   */
  private stageBase(onEnable?: () => void): { readonly name: string; enabled: boolean } {
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

  /**
   * The filter as the pipeline sees it: one call per batch of records. A host that reads records
   * (C plugins, the static filters that do) gets them as they are; any other gets the batch's
   * entries, decoded once for every stage that needs them.
   */
  filterStage(): FilterStage {
    return this.withRecords(Object.assign(this.stageBase(), {
      keep: (batch: RecordBatch) => (this.readsRecords() ? this.filterRecords(batch) : this.filterBatch(batch.entries())),
    }));
  }

  /** Whether the host reads records now: it can, and no chain trace wants the entries as objects. */
  private readsRecords(): boolean {
    return this.host.takesRecords?.() === true && !this.opts.tracer?.enabled;
  }

  /** Adds `takesRecords` (readsRecords, read when asked), for the agent's log. */
  private withRecords<T extends object>(stage: T): T & { readonly takesRecords: boolean } {
    return Object.defineProperty(stage, 'takesRecords', {
      get: () => this.readsRecords(),
      enumerable: true,
    }) as T & { readonly takesRecords: boolean };
  }

  private onError(n: number): boolean[] {
    this.failedOpen += n;
    return new Array<boolean>(n).fill(this.plugin.limits.on_error === 'keep');
  }

  /**
   * A sync (in-process) call cannot be interrupted: one slower than the timeout has already
   * blocked the agent for that long. Its answer is used, but the plugin is marked failed at once
   * (not after failure_threshold) and restarted with backoff; the host may change how it runs
   * next time (a trusted .so moves into its plugin host process).
   */
  private checkSyncTime(t0: number, n: number): void {
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

  filterBatch(entries: readonly LogEntry[]): FilterVerdicts | Promise<FilterVerdicts> {
    if (this.state !== 'running') return this.onError(entries.length);
    this.calls++;
    const t0 = performance.now();
    let r: FilterVerdict[] | Promise<FilterVerdict[]>;
    try {
      r = this.host.filter!(entries, this.timeout);
    } catch (e) {
      return this.filterFailed(entries, e, t0);
    }
    if (r instanceof Promise) {
      return withTimeout(r, this.timeout).then(
        (v) => this.filterAnswered(entries, v, t0),
        (e) => this.filterFailed(entries, e, t0),
      );
    }
    this.checkSyncTime(t0, entries.length);
    return this.filterAnswered(entries, r, t0);
  }

  /**
   * filterBatch on the batch's records, for hosts that read them: the same failure handling. A
   * replacement copy among the answers (a process plugin may send one) is checked against the
   * decoded entry like any other.
   */
  filterRecords(batch: RecordBatch): FilterVerdicts | Promise<FilterVerdicts> {
    const n = batch.count;
    if (this.state !== 'running') return this.onError(n);
    this.calls++;
    const t0 = performance.now();
    let r: FilterVerdict[] | Promise<FilterVerdict[]>;
    try {
      r = this.host.filterRecords!(batch.records, this.timeout);
    } catch (e) {
      return this.recordsFailed(batch, e, t0);
    }
    if (r instanceof Promise) {
      return withTimeout(r, this.timeout).then(
        (v) => this.recordsAnswered(batch, v, t0),
        (e) => this.recordsFailed(batch, e, t0),
      );
    }
    this.checkSyncTime(t0, n);
    return this.recordsAnswered(batch, r, t0);
  }

  private recordsAnswered(batch: RecordBatch, verdicts: unknown, t0: number): FilterVerdicts {
    const n = batch.count;
    if (Array.isArray(verdicts) && verdicts.length === n && verdicts.some((v) => v !== null && typeof v === 'object')) return this.filterAnswered(batch.entries(), verdicts, t0);
    if (!Array.isArray(verdicts) || verdicts.length !== n || !verdicts.every((v) => typeof v === 'boolean')) {
      return this.recordsFailed(batch, new PluginCallError(Array.isArray(verdicts) && verdicts.length !== n ? `answered ${verdicts.length} verdicts for ${n} entries` : 'malformed answer (expected one boolean per record)'), t0);
    }
    this.succeeded();
    return verdicts as boolean[];
  }

  private recordsFailed(batch: RecordBatch, e: unknown, t0: number): FilterVerdicts {
    const n = batch.count;
    if (e instanceof PartialFilterError && e.verdicts.some((v) => v !== null && typeof v === 'object')) return this.filterFailed(batch.entries(), e, t0);
    this.failed(e);
    if (e instanceof PartialFilterError && e.verdicts.length === n && e.verdicts.every((v) => v === undefined || typeof v === 'boolean')) {
      const fallback = this.plugin.limits.on_error === 'keep';
      return e.verdicts.map((v) => (v === undefined ? (this.failedOpen++, fallback) : (v as boolean)));
    }
    return this.onError(n);
  }

  private filterAnswered(entries: readonly LogEntry[], verdicts: unknown, t0: number): FilterVerdicts {
    if (!Array.isArray(verdicts) || verdicts.length !== entries.length) {
      return this.filterFailed(entries, new PluginCallError(Array.isArray(verdicts) ? `answered ${verdicts.length} verdicts for ${entries.length} entries` : 'malformed answer'), t0);
    }
    const out = this.checkVerdicts(entries, verdicts, t0);
    if (out) this.succeeded();
    return out ?? this.filterFailed(entries, new PluginCallError('malformed verdict (expected true, false or an entry)'), t0);
  }

  private filterFailed(entries: readonly LogEntry[], e: unknown, t0: number): FilterVerdicts {
    this.failed(e);
    if (e instanceof PartialFilterError && e.verdicts.length === entries.length) {
      const fallback = this.plugin.limits.on_error === 'keep';
      const verdicts = e.verdicts.map((v) => (v === undefined ? (this.failedOpen++, fallback) : v));
      const checked = this.checkVerdicts(entries, verdicts, t0, e.verdicts);
      if (checked) return checked;
    }
    const out = this.onError(entries.length);
    this.trace(entries, out, t0, true);
    return out;
  }

  /** Normalises verdicts: booleans pass, objects become checked frozen replacement copies. undefined = malformed. */
  private checkVerdicts(entries: readonly LogEntry[], verdicts: readonly unknown[], t0: number, errored?: readonly unknown[]): FilterVerdicts | undefined {
    const out: FilterVerdicts = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const v = verdicts[i];
      if (v === true || v === false) out[i] = v;
      else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const copy = this.replacement(entries[i]!, v as Record<string, unknown>);
        if (!copy) return undefined;
        out[i] = copy;
      } else return undefined;
    }
    this.trace(entries, out, t0, false, errored);
    return out;
  }

  /**
   * A filter's replacement for an entry (e.g. redacted): a new frozen entry that keeps the
   * original's timestamp, node, source and seq. What the plugin changed goes through the same
   * sanitising as inputs: the message, level and module here directly (the common case, e.g. a
   * masked message), args, fields and lang_key through buildEntry. The original object is not
   * touched, so nothing else that holds it sees a change.
   */
  private replacement(orig: LogEntry, v: Record<string, unknown>): LogEntry | undefined {
    if ((v as unknown) === orig) return orig;
    if (typeof v.message !== 'string') return undefined;
    const fixed = FIXED_ENTRY_FIELDS.filter((f) => f in v && v[f] !== undefined && v[f] !== (orig as unknown as Record<string, unknown>)[f]);
    if (fixed.length) this.fixedFieldsChanged(fixed);
    const copy: MutableEntry = { ...orig };
    if (v.message !== orig.message) {
      const m = sanitiseMessage(v.message, this.opts.maxMessageBytes);
      copy.message = m.text;
      if (m.truncated) copy.truncated = true;
    }
    if (v.level !== orig.level) copy.level = (typeof v.level === 'string' && (isLevel(v.level) ? v.level : parseLevel(v.level))) || orig.level;
    if (v.module !== orig.module && typeof v.module === 'string') copy.module = sanitiseModule(v.module);
    if (v.args !== orig.args || v.fields !== orig.fields || v.lang_key !== orig.lang_key) {
      const b = buildEntry({ message: '', args: v.args, fields: v.fields, lang_key: v.lang_key }, { maxMessageBytes: 1, defaultLevel: 'INFO', defaultModule: 'X', node: '' });
      for (const k of ['args', 'fields', 'lang_key'] as const) {
        if (b[k] === undefined) delete copy[k];
        else (copy as Record<string, unknown>)[k] = b[k];
      }
    }
    const frozen = freezeEntry(copy);
    this.opts.tracer?.carry(orig, frozen);
    return frozen;
  }

  /**
   * A replacement copy changed fields only the agent sets: they are kept from the original (the
   * copy is still used). Said once per plugin and set of fields, not once per entry.
   */
  private fixedFieldsChanged(fields: readonly string[]): void {
    this.fixedFieldChanges++;
    const key = fields.join(',');
    if (this.warnedFixed.has(key)) return;
    this.warnedFixed.add(key);
    this.opts.log.warn(`plugin ${this.name}: a replacement copy changed ${fields.join(', ')}; kept from the original (a filter may change message, level, module, lang_key, args and fields only)`);
  }

  private trace(entries: readonly LogEntry[], verdicts: FilterVerdicts, t0: number, error: boolean, errored?: readonly unknown[]): void {
    const tracer = this.opts.tracer;
    if (!tracer?.enabled) return;
    const micros = Math.round(((performance.now() - t0) * 1000) / Math.max(entries.length, 1));
    for (let i = 0; i < entries.length; i++) {
      const v = verdicts[i];
      const verdict = error || (errored && errored[i] === undefined) ? 'error' : v === true ? 'keep' : v === false ? 'drop' : 'replace';
      const step = { plugin: this.name, kind: this.plugin.kind, micros, verdict } as const;
      tracer.record(entries[i]!, step);
      if (typeof v === 'object' && v !== entries[i]) tracer.record(v, step);
      if (tracer.listening) {
        const copy = typeof v === 'object' && v !== entries[i] ? v : undefined;
        tracer.stage({
          stage: 'filter', plugin: this.name, kind: this.plugin.kind, verdict, micros, entry: entries[i], in: summarise([entries[i]]),
          ...(copy ? { out: summarise([copy]), changed: changedFields(entries[i]!, copy) } : {}),
          ...(verdict === 'error' ? { error: this.lastError } : {}),
        });
      }
    }
  }

  // ---- sink ----

  sinkStage(): SinkStage {
    return this.withRecords(Object.assign(this.stageBase(), {
      flush: (batch: RecordBatch) => (this.readsRecords()
        ? this.traceSink(batch.frames, batch.count, this.flushCall(batch.count, () => this.host.flushRecords!(batch.records, this.timeout)))
        : this.flushBatch(batch.entries())),
      reopen: this.host.reopen ? () => this.host.reopen!() : undefined,
      status: () => this.status(),
    }));
  }

  flushBatch(entries: readonly LogEntry[]): Promise<void> {
    return this.traceSink(entries, entries.length, this.flushCall(entries.length, () => this.host.flush!(entries, this.timeout)));
  }

  /** plugin_logger: one stage event per sink batch (accepted or error), with the batch's summary. */
  private traceSink(batch: readonly LogEntry[] | Uint8Array, n: number, call: Promise<void>): Promise<void> {
    const tracer = this.opts.tracer;
    if (!tracer?.listening) return call;
    const t0 = performance.now();
    const event = (verdict: string, error?: string) => tracer.stage({
      stage: 'sink', plugin: this.name, kind: this.plugin.kind, verdict, micros: Math.round((performance.now() - t0) * 1000),
      entry: Array.isArray(batch) ? batch[0] : undefined, in: summarise(batch as readonly LogEntry[] | Uint8Array, n), ...(error ? { error } : {}),
    });
    return call.then(() => event('accepted'), (e) => (event('error', reasonOf(e)), Promise.reject(e)));
  }

  /** One sink call (entries or records), n entries long. */
  private async flushCall(n: number, flush: () => Promise<void>): Promise<void> {
    // While failed the batch stays queued (the runner retries with backoff) until the restart.
    if (this.state !== 'running') throw new PluginCallError(`${this.name} is ${this.state}`);
    this.calls++;
    try {
      const call = Promise.resolve().then(flush);
      // An in-process (static) flush cannot be interrupted: cutting it off would only make the
      // runner retry the batch while the first write is still going on, duplicating output. It is
      // awaited; a slow one is reported. Other kinds are cut off (their host abandons the call).
      if (this.plugin.kind === 'static') {
        const t0 = performance.now();
        await call;
        const ms = performance.now() - t0;
        if (ms > this.timeout) this.opts.log.debug(`plugin ${this.name}: flush of ${n} entries took ${Math.round(ms)} ms (timeout_ms ${this.timeout})`);
      } else {
        await withTimeout(call, this.timeout, 'flush');
      }
    } catch (e) {
      this.failed(e);
      throw e;
    }
    this.succeeded();
  }

  // ---- ai ----

  aiStage(): AiStage {
    return Object.assign(this.stageBase(() => this.pumpAi()), { offer: (entry: LogEntry) => this.offerAi(entry) });
  }

  /** false = dropped (queue full or plugin down); the pipeline counts it. */
  offerAi(entry: LogEntry): boolean {
    // Results of analysers come back as entries: never analyse them again (no feedback loop).
    if (entry.source?.startsWith('plugin:')) return true;
    if (this.state !== 'running' || this.aiQueue.length >= this.plugin.limits.queue_length) {
      this.aiDropped++;
      return false;
    }
    this.aiQueue.push(entry);
    this.pumpAi();
    return true;
  }

  private pumpAi(): void {
    while (this.enabled && this.state === 'running' && this.aiInflight < this.plugin.limits.max_inflight && this.aiQueue.length > 0) {
      const entry = this.aiQueue.shift()!;
      this.aiInflight++;
      this.calls++;
      // After a timeout the call is abandoned: results it streams later are not used.
      const call = { abandoned: false, results: [] as AiResult[] };
      const t0 = performance.now();
      void withTimeout(this.collect(entry, call), this.timeout, 'analyze').then(
        () => (this.succeeded(), this.traceAi(entry, t0, call.results)),
        (e) => ((call.abandoned = true), this.failed(e), this.traceAi(entry, t0, call.results, reasonOf(e))),
      ).finally(() => {
        this.aiInflight--;
        this.pumpAi();
      });
    }
  }

  /** Streamed results are emitted as they arrive; the timeout bounds the whole answer. */
  /** plugin_logger: one stage event per analysed entry, with the results it produced. */
  private traceAi(entry: LogEntry, t0: number, results: readonly AiResult[], error?: string): void {
    const tracer = this.opts.tracer;
    if (!tracer?.listening) return;
    tracer.stage({
      stage: 'ai', plugin: this.name, kind: this.plugin.kind, verdict: error ? 'error' : 'results', micros: Math.round((performance.now() - t0) * 1000),
      entry, in: summarise([entry]), out: summarise(results), results: results.length, ...(error ? { error } : {}),
    });
  }

  private async collect(entry: LogEntry, call?: { abandoned: boolean; results?: AiResult[] }): Promise<AiResult[]> {
    const out: AiResult[] = [];
    for await (const r of this.host.analyze!(entry, this.timeout)) {
      if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new PluginCallError('malformed ai result (expected an object)');
      if (this.state !== 'running' || call?.abandoned) break;
      if (call) {
        this.emitResult(r);
        if (this.opts.tracer?.listening) call.results?.push(r);
      } else out.push(r);
    }
    return out;
  }

  /** One supervised analysis, results returned instead of emitted (`plugins check`). */
  async analyzeOnce(entry: LogEntry): Promise<AiResult[]> {
    if (this.state !== 'running') throw new PluginCallError(`${this.name} is ${this.state}`);
    this.calls++;
    try {
      const r = await withTimeout(this.collect(entry), this.timeout, 'analyze');
      this.succeeded();
      return r;
    } catch (e) {
      this.failed(e);
      throw e;
    }
  }

  private emitResult(r: AiResult): void {
    this.aiResults++;
    this.opts.context.emit({
      level: r.level, module: 'AI', message: r.message ?? r.summary ?? '', lang_key: r.lang_key, args: r.args, fields: r.fields,
    });
  }

  get aiQueued(): number {
    return this.aiQueue.length;
  }

  // ---- lang ----

  /** A catalogue resolver: errors are counted and answered as "no template". */
  langResolver(): TemplateResolver {
    return (key, lang) => {
      if (!this.enabled || this.state !== 'running') return null;
      try {
        const t = this.host.resolve!(key, lang);
        if (t !== null && typeof t !== 'string') throw new PluginCallError('malformed answer (expected a string or null)');
        return t;
      } catch (e) {
        this.failed(e);
        return null;
      }
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
      ...(this.fixedFieldChanges ? { fixed_field_changes: this.fixedFieldChanges } : {}),
      ...(this.plugin.type === 'ai' ? { ai_queued: this.aiQueue.length, ai_inflight: this.aiInflight, ai_dropped: this.aiDropped, ai_results: this.aiResults } : {}),
      ...(this.host.status?.() ?? {}),
    };
  }
}
