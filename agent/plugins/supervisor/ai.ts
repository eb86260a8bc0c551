/**
 * The ai stage: entries are offered one by one into a bounded queue (queue_length), analysed at
 * most max_inflight at a time, and each analysis is bounded by timeout_ms as a whole. Results
 * come back as entries of module AI through the plugin context's emit. An entry offered while the
 * queue is full or the plugin is down is dropped and counted (ai_dropped): analysis is advisory,
 * it must never hold up the flow of logs.
 */
import type { LogEntry } from '../../../entry/entry.ts';
import type { AiStage } from '../../pipeline/stages.ts';
import { PluginCallError, type AiHost, type HostedPlugin } from '../host.ts';
import { summarise } from '../chain-tracer.ts';
import type { AiResult } from '../types.ts';
import { reasonOf, withTimeout } from './call.ts';
import { SupervisorCore } from './core.ts';

export class AiSupervisor extends SupervisorCore<AiHost> {
  readonly type = 'ai' as const;
  private aiQueue: LogEntry[] = [];
  private aiInflight = 0;
  aiDropped = 0;
  aiResults = 0;

  protected accepts(host: HostedPlugin): host is AiHost {
    return host.type === 'ai';
  }

  /** Entries that waited while the plugin was down or disabled are analysed once it runs again. */
  protected override resumed(): void {
    this.pumpAi();
  }

  protected override typeStatus(): Record<string, unknown> {
    return { ai_queued: this.aiQueue.length, ai_inflight: this.aiInflight, ai_dropped: this.aiDropped, ai_results: this.aiResults };
  }

  stage(): AiStage {
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

  /** plugin_logger: one stage event per analysed entry, with the results it produced. */
  private traceAi(entry: LogEntry, t0: number, results: readonly AiResult[], error?: string): void {
    const tracer = this.opts.tracer;
    if (!tracer?.listening) return;
    tracer.stage({
      stage: 'ai', plugin: this.name, kind: this.plugin.kind, verdict: error ? 'error' : 'results', micros: Math.round((performance.now() - t0) * 1000),
      entry, in: summarise([entry]), out: summarise(results), results: results.length, ...(error ? { error } : {}),
    });
  }

  /**
   * One analysis. With `call` (the queue), streamed results are emitted as they arrive and the
   * timeout bounds the whole answer; without (`plugins check`), they are returned.
   */
  private async collect(entry: LogEntry, call?: { abandoned: boolean; results?: AiResult[] }): Promise<AiResult[]> {
    const out: AiResult[] = [];
    for await (const r of this.host.analyze(entry, this.timeout)) {
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
}
