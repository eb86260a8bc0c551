/**
 * The filter stage: one call per batch, answered with one verdict per entry (keep, drop, or a
 * replacement copy). A filter never stops the flow: a failed or malformed answer, a timeout, or a
 * plugin that is down gives the entries the plugin's on_error (keep = fail open, counted as
 * failed_open), and the answer for the entries that did not fail is still used (PartialFilterError).
 */
import type { LogEntry } from '../../../entry/entry.ts';
import type { FilterStage, FilterVerdicts } from '../../pipeline/stages.ts';
import type { RecordBatch } from '../../pipeline/batch.ts';
import { RecordView } from '../../buffer/record-view.ts';
import { PartialFilterError, PluginCallError, type FilterHost, type HostedPlugin } from '../host.ts';
import type { DiscoveredPlugin } from '../discovered.ts';
import { changedFields, summarise } from '../chain-tracer.ts';
import type { FilterVerdict } from '../types.ts';
import { withTimeout } from './call.ts';
import type { SupervisorOptions } from './core.ts';
import { RecordsStageSupervisor } from './records-stage.ts';
import { ReplacementCopies } from './replacement.ts';

export class FilterSupervisor extends RecordsStageSupervisor<FilterHost> {
  readonly type = 'filter' as const;
  private readonly copies: ReplacementCopies;

  constructor(plugin: DiscoveredPlugin, host: FilterHost, opts: SupervisorOptions) {
    super(plugin, host, opts);
    this.copies = new ReplacementCopies(() => this.name, this.opts.log, this.opts.maxMessageBytes, this.opts.tracer);
  }

  protected accepts(host: HostedPlugin): host is FilterHost {
    return host.type === 'filter';
  }

  /** Replacement copies that tried to change timestamp, node, source or seq (kept from the original). */
  get fixedFieldChanges(): number {
    return this.copies.fixedFieldChanges;
  }

  protected override typeStatus(): Record<string, unknown> {
    return this.fixedFieldChanges ? { fixed_field_changes: this.fixedFieldChanges } : {};
  }

  /**
   * The filter as the pipeline sees it: one call per batch of records. A host that reads records
   * (C plugins, the static filters that do) gets them as they are; any other gets the batch's
   * entries, decoded once for every stage that needs them.
   */
  stage(): FilterStage {
    return this.withRecords(Object.assign(this.stageBase(), {
      keep: (batch: RecordBatch) => (this.readsRecords() ? this.filterRecords(batch) : this.filterBatch(batch.entries())),
    }));
  }

  private onError(n: number): boolean[] {
    this.failedOpen += n;
    return new Array<boolean>(n).fill(this.plugin.limits.on_error === 'keep');
  }

  filterBatch(entries: readonly LogEntry[]): FilterVerdicts | Promise<FilterVerdicts> {
    if (this.state !== 'running') return this.onError(entries.length);
    this.calls++;
    const t0 = performance.now();
    let r: FilterVerdict[] | Promise<FilterVerdict[]>;
    try {
      r = this.host.filter(entries, this.timeout);
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
   * replacement copy among the answers (a process plugin may send one) is checked against its
   * original like any other; only that original is decoded.
   */
  filterRecords(batch: RecordBatch): FilterVerdicts | Promise<FilterVerdicts> {
    const n = batch.count;
    if (this.state !== 'running') return this.onError(n);
    this.calls++;
    const t0 = performance.now();
    let r: FilterVerdict[] | Promise<FilterVerdict[]>;
    try {
      r = this.host.filterRecords(batch.records, this.timeout);
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
    if (Array.isArray(verdicts) && verdicts.length === n && verdicts.some((v) => v !== null && typeof v === 'object')) return this.recordsReplaced(batch, verdicts, t0);
    if (!Array.isArray(verdicts) || verdicts.length !== n || !verdicts.every((v) => typeof v === 'boolean')) {
      return this.recordsFailed(batch, new PluginCallError(Array.isArray(verdicts) && verdicts.length !== n ? `answered ${verdicts.length} verdicts for ${n} entries` : 'malformed answer (expected one boolean per record)'), t0);
    }
    this.succeeded();
    return verdicts as boolean[];
  }

  /**
   * Verdicts with replacement copies (filter_redact's masked entries, filter_sample's samples):
   * each copy is checked against its original, and only those originals are decoded, so the batch
   * goes on as records (apply() writes each copy as a new record behind its original's header).
   * A batch already decoded, or a chain trace (which follows objects), takes the object path.
   */
  private recordsReplaced(batch: RecordBatch, verdicts: readonly unknown[], t0: number): FilterVerdicts {
    if (this.opts.tracer?.enabled || batch.hasEntries) return this.filterAnswered(batch.entries(), verdicts, t0);
    const out: FilterVerdicts = new Array(verdicts.length);
    for (let i = 0; i < verdicts.length; i++) {
      const v = verdicts[i];
      let copy: LogEntry | undefined;
      if (v === true || v === false) out[i] = v;
      else if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        const orig = batch.view(i);
        if ((copy = this.copies.make(orig instanceof RecordView ? orig.toEntry() : orig, v as Record<string, unknown>))) out[i] = copy;
      }
      if (out[i] === undefined) return this.recordsFailed(batch, new PluginCallError('malformed verdict (expected true, false or an entry)'), t0);
    }
    this.succeeded();
    return out;
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
        const copy = this.copies.make(entries[i]!, v as Record<string, unknown>);
        if (!copy) return undefined;
        out[i] = copy;
      } else return undefined;
    }
    this.trace(entries, out, t0, false, errored);
    return out;
  }

  /** plugin_logger: the chain of each entry, and one stage event per entry when someone listens. */
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
}
