import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { FLUSH_BYTES, INDEX_SQL, LEVEL_RANK, MAX_LAG_BYTES, SCHEMA_SQL, WRITER_NICE } from './schema.ts';
import { indexWriterMain } from './writer-worker.ts';

/** How long the caller must have been quiet before held batches go to the worker, ms. */
const QUIET_MS = 200;

/** What one flush wrote, per node: entries and ERROR/FATAL entries. */
export interface FlushReport {
  nodes: [string, number, number][];
  indexed: number;
  bad: number;
  /** NDJSON bytes the flush consumed. */
  bytes: number;
  ms: number;
}


/**
 * The only writer of the index: a worker thread (writer-worker.ts) that parses stored NDJSON and
 * inserts it, so the aggregator's main thread — sessions, ACKs, the API — spends almost nothing
 * on indexing. add() hands the bytes over and returns; the worker writes one transaction per
 * flush interval and reports what it wrote (onFlushed: the fleet's rates and error counts).
 * Readers open the same file (WAL: they see every committed transaction, never block the writer).
 */
export class IndexWriter {
  readonly path: string;
  private readonly worker: Worker;
  private readonly ready: Promise<void>;
  private readonly pending = new Map<number, { resolve: (n: number) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;
  indexed = 0;
  badLines = 0;
  flushes = 0;
  lastFlushMs = 0;
  errors = 0;
  /** Bytes handed to the worker and not yet reported written. */
  inFlightBytes = 0;
  /** Batches left out of the index because it was too far behind. */
  droppedBatches = 0;
  droppedBytes = 0;
  droppedEntries = 0;
  /**
   * The lag: per batch handed over and not yet reported written, when and how many bytes (in
   * order: the worker writes in the order it was given). `lagHead` indexes the oldest.
   */
  private lagAt: number[] = [];
  private lagBytes: number[] = [];
  private lagHead = 0;
  /** The worker thread's nice value as applied, or why it could not be. */
  writerNice: number | string = 'unset';
  private lastDropWarning = 0;
  private readonly onError: (e: Error) => void;

  private readonly maxInFlight: number;
  /**
   * Batches held back while the calling thread is busy (deferWhileBusyMs), oldest first. They
   * count in the lag like batches handed over.
   */
  private held: { op: 'add'; node: string; seq: number; data: Uint8Array<ArrayBuffer>; meta?: [string, string]; received: number }[] = [];
  /** Set while a quiet() waits to release the held batches. */
  private releasing: Promise<void> | undefined;
  private readonly deferMs: number;
  private elu: EventLoopUtilization = performance.eventLoopUtilization();
  private eluAt = 0;
  /** When a 10 ms window was last seen busy. */
  private busyAt = -Infinity;
  /** Times batches were held back, and handed over because the oldest had waited deferMs. */
  holds = 0;
  holdTimeouts = 0;

  /**
   * deferWhileBusyMs: while this thread is busy (callerBusy), batches are held here instead of
   * handed to the worker, for at most this long; 0 or
   * unset: hand over at once (reindex, tools). Why: on a machine with few cores the worker's
   * parsing and B-tree work competes with the thread that stores and acknowledges batches, so a
   * burst is stored slower (on 2 cores, 30 % slower while the worker ran alongside). Held, the
   * burst is stored at full speed and indexed as soon as it is over, or every deferWhileBusyMs
   * under sustained load; the lag bound (maxInFlightBytes) holds either way.
   */
  constructor(path: string, o: { flushMs: number; maxInFlightBytes?: number; nice?: number; deferWhileBusyMs?: number; onFlushed?: (r: FlushReport) => void; onError?: (e: Error) => void }) {
    this.path = path;
    this.maxInFlight = o.maxInFlightBytes ?? MAX_LAG_BYTES;
    this.deferMs = o.deferWhileBusyMs ?? 0;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const onError = (this.onError = o.onError ?? (() => {}));
    this.worker = new Worker(`(${indexWriterMain.toString()})()`, {
      eval: true,
      name: 'logloom-index-writer',
      workerData: { path, flushMs: o.flushMs, flushBytes: FLUSH_BYTES, schema: SCHEMA_SQL, sql: INDEX_SQL, ranks: LEVEL_RANK, nice: o.nice ?? WRITER_NICE },
    });
    let readyResolve!: () => void;
    let readyReject!: (e: Error) => void;
    this.ready = new Promise((res, rej) => ((readyResolve = res), (readyReject = rej)));
    this.ready.catch(() => {});
    this.worker.on('message', (m: { op: string; id?: number; result?: number; message?: string; bytes?: number; nice?: number | string } & Partial<FlushReport>) => {
      switch (m.op) {
        case 'ready':
          this.writerNice = m.nice!;
          return readyResolve();
        case 'flushed':
          this.flushes++;
          this.indexed += m.indexed!;
          this.badLines += m.bad!;
          this.lastFlushMs = m.ms!;
          this.written(m.bytes!);
          o.onFlushed?.(m as FlushReport);
          return;
        case 'done':
          this.pending.get(m.id!)?.resolve(m.result ?? 0);
          this.pending.delete(m.id!);
          return;
        case 'failed': {
          this.errors++;
          if (m.bytes) this.written(m.bytes);
          const e = new Error(m.message);
          if (m.id !== undefined && this.pending.has(m.id)) {
            this.pending.get(m.id)!.reject(e);
            this.pending.delete(m.id);
          } else onError(e);
          return;
        }
      }
    });
    this.worker.on('error', (e) => {
      this.errors++;
      for (const w of this.drainWaiters.splice(0)) w.resolve();
      readyReject(e);
      onError(new Error(`index writer: ${e.message}`));
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  /** Resolves once the worker has opened the file and created the schema. */
  opened(): Promise<void> {
    return this.ready;
  }

  /**
   * Hands a stored batch's NDJSON to the worker (copied; the caller keeps its buffer). Beyond the
   * lag bound it is left out (counted) unless `force` (a read-back that waited for room, whose
   * chunk may be larger than the room there is). `meta` is written in the same transaction;
   * `storedAt` (ms) is when the store took the batch, if not just now: the lag's age counts from
   * it, and entries without a timestamp of their own get it.
   */
  add(node: string, seq: number, ndjson: Buffer | Uint8Array, o: { meta?: [string, string]; force?: boolean; storedAt?: number } = {}): void {
    if (this.closed) return;
    if (!o.force && !this.hasRoom(ndjson.length)) {
      this.droppedBatches++;
      this.droppedBytes += ndjson.length;
      this.droppedEntries += countLines(ndjson);
      const now = Date.now();
      if (now - this.lastDropWarning > 10_000) {
        this.lastDropWarning = now;
        this.onError(new Error(`index: ${this.inFlightBytes} bytes wait to be indexed; batches are left out of the index (${this.droppedBatches} so far; the store has them: logloom aggregator reindex restores them)`));
      }
      return;
    }
    const data = new Uint8Array(ndjson);
    const now = Date.now();
    const received = o.storedAt ?? now;
    this.inFlightBytes += data.length;
    this.lagAt.push(received);
    this.lagBytes.push(data.length);
    const message = { op: 'add' as const, node, seq, data, meta: o.meta, received };
    if (this.deferMs > 0 && (this.held.length > 0 || this.callerBusy(now))) {
      if (this.held.length === 0) this.holds++;
      this.held.push(message);
      this.releasing ??= this.quiet().then(() => {
        this.releasing = undefined;
        this.releaseHeld(false);
      });
      return;
    }
    this.worker.postMessage(message, [data.buffer]);
  }

  /**
   * Whether a batch of `bytes` fits within the lag bound (or a lower `limit`) now. An empty lag
   * takes any batch, so that one larger than the bound is not refused for ever.
   */
  hasRoom(bytes: number, limit = this.maxInFlight): boolean {
    return this.inFlightBytes === 0 || this.inFlightBytes + bytes <= Math.min(limit, this.maxInFlight);
  }

  /**
   * Whether this thread is busy: its event loop was busy more than half of some 10 ms window in
   * the last QUIET_MS. A burst has short gaps (senders waiting for ACKs); the writer, once given
   * a held backlog, works for seconds, so it waits for a quiet stretch, not a gap.
   */
  private callerBusy(now: number): boolean {
    if (now - this.eluAt >= 10) {
      const next = performance.eventLoopUtilization();
      if (performance.eventLoopUtilization(next, this.elu).utilization > 0.5) this.busyAt = now;
      this.elu = next;
      this.eluAt = now;
    }
    return now - this.busyAt < QUIET_MS;
  }

  /** Whether batches are held back now (deferral on and the caller busy): a feed that can read them back later need not hand them over. */
  busy(): boolean {
    return this.deferMs > 0 && this.callerBusy(Date.now());
  }

  /** Resolves once the caller is quiet, or after deferWhileBusyMs (at once when deferral is off). */
  quiet(): Promise<void> {
    if (!this.busy()) return Promise.resolve();
    const until = Date.now() + this.deferMs;
    return new Promise((resolve) => {
      const look = () => (this.closed || Date.now() >= until || !this.callerBusy(Date.now()) ? resolve() : setTimeout(look, 10));
      setTimeout(look, 10);
    });
  }

  /**
   * Hands every held batch to the worker: once the caller is quiet or the oldest has waited
   * deferWhileBusyMs (quiet() resolved; still busy = a time-out), or at once before a request
   * (`now`: a flush acts on everything added before it).
   */
  private releaseHeld(now: boolean): void {
    if (this.held.length === 0 || this.closed) return;
    if (!now && this.callerBusy(Date.now())) this.holdTimeouts++;
    for (const m of this.held.splice(0)) this.worker.postMessage(m, [m.data.buffer]);
  }

  private drainWaiters: { limit: number; resolve: () => void }[] = [];

  /** Resolves once at most `limit` bytes wait to be written (flow control for read-backs). */
  drained(limit: number): Promise<void> {
    if (this.inFlightBytes <= limit || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push({ limit, resolve }));
  }

  /** The worker wrote (or failed to write) the oldest `bytes` handed over: they leave the lag. */
  private written(bytes: number): void {
    this.inFlightBytes = Math.max(0, this.inFlightBytes - bytes);
    if (this.drainWaiters.length) {
      const ready = this.drainWaiters.filter((w) => this.inFlightBytes <= w.limit);
      this.drainWaiters = this.drainWaiters.filter((w) => this.inFlightBytes > w.limit);
      for (const w of ready) w.resolve();
    }
    let left = bytes;
    while (this.lagHead < this.lagBytes.length && left >= this.lagBytes[this.lagHead]!) left -= this.lagBytes[this.lagHead++]!;
    if (this.lagHead > 1024 && this.lagHead * 2 > this.lagBytes.length) {
      this.lagAt = this.lagAt.slice(this.lagHead);
      this.lagBytes = this.lagBytes.slice(this.lagHead);
      this.lagHead = 0;
    }
  }

  /** How far the index is behind what was handed to it: batches, bytes, and the oldest one's age. */
  lag(now = Date.now()): { batches: number; bytes: number; seconds: number } {
    const batches = this.lagBytes.length - this.lagHead;
    return { batches, bytes: this.inFlightBytes, seconds: batches ? Math.max(0, now - this.lagAt[this.lagHead]!) / 1000 : 0 };
  }

  private request(m: Record<string, unknown>): Promise<number> {
    if (this.closed) return Promise.reject(new Error('index writer closed'));
    this.releaseHeld(true);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...m, id });
    });
  }

  /** Writes everything handed over so far; resolves when it is committed. */
  flush(): Promise<number> {
    return this.request({ op: 'flush' });
  }

  deleteOlderThan(cutoffMs: number): Promise<number> {
    return this.request({ op: 'deleteOlderThan', cutoff: cutoffMs });
  }

  trimNode(node: string, maxBytes: number): Promise<number> {
    return this.request({ op: 'trimNode', node, maxBytes });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.ready;
      await this.request({ op: 'close' });
    } catch {
      // A failed worker has nothing left to write.
    } finally {
      this.closed = true;
      for (const w of this.drainWaiters.splice(0)) w.resolve();
      await this.worker.terminate();
    }
  }

  status(): Record<string, unknown> {
    const lag = this.lag();
    return {
      writer: 'worker thread', writer_nice: this.writerNice, entries_indexed: this.indexed,
      held_batches: this.held.length, holds: this.holds, hold_timeouts: this.holdTimeouts,
      lag_batches: lag.batches, lag_bytes: lag.bytes, lag_seconds: Math.round(lag.seconds * 10) / 10, max_lag_bytes: this.maxInFlight,
      // The same as lag_bytes, under its earlier name.
      in_flight_bytes: this.inFlightBytes,
      dropped_batches: this.droppedBatches, dropped_entries: this.droppedEntries, dropped_bytes: this.droppedBytes,
      flushes: this.flushes, last_flush_ms: Math.round(this.lastFlushMs * 10) / 10, bad_lines: this.badLines, write_errors: this.errors,
    };
  }
}

function countLines(b: Uint8Array): number {
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  return n;
}
