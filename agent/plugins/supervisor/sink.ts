/**
 * The sink stage: one flush per batch. A failed flush rejects, and the SinkRunner
 * (agent/pipeline/sink-runner.ts) keeps the batch queued and retries it; while the plugin is
 * failed every flush rejects at once, so batches wait for the restart instead of being lost.
 */
import type { LogEntry } from '../../../entry/entry.ts';
import type { SinkStage } from '../../pipeline/stages.ts';
import type { RecordBatch } from '../../pipeline/batch.ts';
import { PluginCallError, type HostedPlugin, type SinkHost } from '../host.ts';
import { summarise } from '../chain-tracer.ts';
import { reasonOf, withTimeout } from './call.ts';
import { RecordsStageSupervisor } from './records-stage.ts';

export class SinkSupervisor extends RecordsStageSupervisor<SinkHost> {
  readonly type = 'sink' as const;

  protected accepts(host: HostedPlugin): host is SinkHost {
    return host.type === 'sink';
  }

  stage(): SinkStage {
    return this.withRecords(Object.assign(this.stageBase(), {
      flush: (batch: RecordBatch) => (this.readsRecords()
        ? this.traceSink(batch.frames, batch.count, this.flushCall(batch.count, () => this.host.flushRecords(batch.records, this.timeout)))
        : this.flushBatch(batch.entries())),
      // Whether there is one is read when the stage is made; the call goes to the host of the
      // time (a reload swaps it).
      reopen: this.host.reopen ? () => this.host.reopen?.() : undefined,
      status: () => this.status(),
    }));
  }

  flushBatch(entries: readonly LogEntry[]): Promise<void> {
    return this.traceSink(entries, entries.length, this.flushCall(entries.length, () => this.host.flush(entries, this.timeout)));
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
}
