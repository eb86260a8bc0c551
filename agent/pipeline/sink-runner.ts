import { EventEmitter } from 'node:events';
import { SinkQueue } from './sink-queue.ts';
import type { SinkStage } from './stages.ts';
import type { RecordBatch } from './batch.ts';
import { holdRecordTokens, recordLevelsAtLeast, releaseRecordTokens } from '../buffer/records.ts';
import { Backoff } from '../../lib/backoff.ts';

/** A FATAL entry (panic, oops) in a batch: its level is written unescaped, so this finds it. */
const FATAL = Buffer.from('"level":"FATAL"');
const FATAL_RANK = 4;

/**
 * Whether a batch holds a FATAL entry. With the addon loaded, its levels are read where the codec
 * writes them (recordLevelsAtLeast): scanning the whole batch for the text had been 3 % of the
 * forwarding agent's main thread. A record of another shape, or no addon: the scan (which also
 * matches the text inside a field; a false FATAL only flushes early).
 */
function hasFatal(batch: RecordBatch): boolean {
  const fatal = recordLevelsAtLeast(batch.records, FATAL_RANK);
  return fatal ? fatal.indexOf(1) >= 0 : batch.frames.includes(FATAL);
}

export interface SinkRunnerOptions {
  queueLength: number;
  batchMaxEntries: number;
  /** How long a partial batch may wait for more entries. */
  batchMaxMs: number;
  maxInflight: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** A disabled sink keeps queuing (keep) or drops entries (drop, counted). */
  whenDisabled: 'keep' | 'drop';
}

export const defaultSinkRunnerOptions: SinkRunnerOptions = {
  queueLength: 10_000, batchMaxEntries: 512, batchMaxMs: 50, maxInflight: 1, retryMinMs: 100, retryMaxMs: 30_000, whenDisabled: 'keep',
};

/**
 * Feeds one sink: a bounded queue, batches by count and time, bounded in-flight flushes, and
 * retry with exponential backoff. A failed batch goes back to the head of the queue, so nothing
 * accepted is lost and order is kept (with maxInflight 1). Emits 'drain' when it has room again.
 */
export class SinkRunner extends EventEmitter {
  readonly stage: SinkStage;
  private readonly opts: SinkRunnerOptions;
  private readonly queue: SinkQueue;
  private inflight = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly retryBackoff: Backoff;
  private retryTimer: NodeJS.Timeout | undefined;
  private wasFull = false;
  delivered = 0;
  failures = 0;
  dropped = 0;
  lastError = '';
  private stopped = false;

  constructor(stage: SinkStage, opts: Partial<SinkRunnerOptions> = {}) {
    super();
    this.stage = stage;
    this.opts = { ...defaultSinkRunnerOptions, ...opts };
    this.queue = new SinkQueue(this.opts.queueLength);
    // Jittered: a sink's peer (a broker, a TCP collector) is often shared by a fleet of agents.
    this.retryBackoff = new Backoff({ minMs: this.opts.retryMinMs, maxMs: this.opts.retryMaxMs, jitter: 'equal' });
  }

  get queued(): number {
    return this.queue.length;
  }

  get busy(): boolean {
    return this.inflight > 0 || this.queue.length > 0;
  }

  /** True when the pipeline should stop handing entries to this sink (backpressure). */
  isFull(): boolean {
    return this.stage.enabled || this.opts.whenDisabled === 'keep' ? this.queue.isFull() : false;
  }

  /** How many more entries the queue takes before it is full (a disabled sink that drops takes any number). */
  get room(): number {
    if (!this.stage.enabled && this.opts.whenDisabled === 'drop') return Number.MAX_SAFE_INTEGER;
    return Math.max(0, this.opts.queueLength - this.queue.length);
  }

  /** A batch of entry records for this sink. */
  push(batch: RecordBatch): void {
    if (batch.count === 0) return;
    if (!this.stage.enabled && this.opts.whenDisabled === 'drop') {
      this.dropped += batch.count;
      return;
    }
    // Held while queued or in flight: the tokens travel in the records. The pipeline checks
    // isFull before handing batches over; past the bound we still keep them.
    holdRecordTokens(batch.records);
    this.queue.push(batch);
    if (this.queue.isFull()) this.wasFull = true;
    // A FATAL entry (panic, oops) is flushed now rather than after batchMaxMs.
    if (hasFatal(batch)) this.pump();
    else this.schedule();
  }

  private schedule(): void {
    if (this.stopped || !this.stage.enabled || this.retryTimer) return;
    if (this.queue.length >= this.opts.batchMaxEntries) {
      this.pump();
    } else if (this.queue.length > 0 && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, this.opts.batchMaxMs);
    }
  }

  /** Starts flushes while there is room in flight. */
  pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.stage.enabled && !this.retryTimer && this.inflight < this.opts.maxInflight && this.queue.length > 0) {
      const batch = this.queue.take(this.opts.batchMaxEntries);
      this.inflight++;
      const call = this.stage.flush(batch);
      call.then(
        () => this.done(batch, undefined),
        (err: unknown) => this.done(batch, err),
      );
    }
  }

  private done(batch: RecordBatch, err: unknown): void {
    this.inflight--;
    if (err === undefined) {
      this.delivered += batch.count;
      releaseRecordTokens(batch.records);
      this.retryBackoff.reset();
    } else {
      this.failures++;
      this.lastError = err instanceof Error ? err.message : String(err);
      this.queue.unshift(batch);
      // After stop() nothing is retried: a retry timer would keep the stopping process alive.
      if (this.stopped) return;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pump();
      }, this.retryBackoff.next());
    }
    if (this.wasFull && !this.queue.isFull()) {
      this.wasFull = false;
      this.emit('drain');
    }
    if (this.inflight === 0) this.emit('idle');
    this.schedule();
  }

  /** Flushes everything queued (used on shutdown); resolves when empty or the deadline passes. */
  async flushAll(deadline: number): Promise<boolean> {
    while (this.busy && Date.now() < deadline) {
      if (this.retryTimer === undefined) this.pump();
      await new Promise((r) => setTimeout(r, 10));
    }
    return !this.busy;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.retryTimer);
  }

  status(): Record<string, unknown> {
    return {
      name: this.stage.name, enabled: this.stage.enabled, queued: this.queue.length, inflight: this.inflight,
      delivered: this.delivered, failures: this.failures, dropped: this.dropped, last_error: this.lastError,
      ...(this.stage.status?.() ?? {}),
    };
  }
}
