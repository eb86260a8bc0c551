import { EventEmitter } from 'node:events';
import type { LogEntry } from '../entry/entry.ts';
import { buildEntry, type BuildOptions, type EntryDraft } from '../entry/build.ts';
import type { Level } from '../../lib/level.ts';
import { EntryQueue, type WhenFull } from '../buffer/entry-queue.ts';
import { RingEntryQueue, type EntryBuffer } from '../buffer/entry-buffer.ts';
import { FastIngest, type RawStream } from '../buffer/fast-ingest.ts';
import { keepRecords, recordsToEntries, type EntryRecords } from '../buffer/records.ts';
import { createCodec } from '../buffer/select.ts';
import type { CodecFormat } from '../buffer/line-codec.ts';
import type { AiStage, FilterStage, FilterVerdicts } from './stages.ts';
import { SinkRunner } from './sink-runner.ts';
import { moveCheckpoint, releaseEntry, trackEntry } from './checkpoint.ts';
import type { Router } from './routes/router.ts';
import { moveInputTag, tagInput } from './routes/input-tag.ts';

/** How many entries the priority lane holds before they queue in the buffer instead. */
const URGENT_MAX = 1024;

/** Per-input counters shown by `logloom status` and /metrics. */
export interface InputCounters {
  received: number;
  rejected: number;
  /** Dropped by when_full (drop_newest: this entry; drop_oldest: entries this input evicted). */
  dropped: number;
  /** Times the input was paused by backpressure (block). */
  paused: number;
  last_reject: string;
}

export interface PipelineOptions {
  node: string;
  maxMessageBytes: number;
  bufferEntries: number;
  bufferBytes: number;
  /** How many entries one drain step moves before yielding to I/O. */
  stepEntries?: number;
}

/**
 * inputs ──► buffer ──► filters (sync, in order) ──► sinks (async, batched) and ai analysers.
 * Backpressure flows backwards: a full sink queue stops the drain loop, the buffer fills, and each
 * input's when_full decides (pause, drop newest, drop oldest). Every drop is counted.
 */
export class Pipeline extends EventEmitter {
  /** Set once at construction, or by useBuffer before inputs start. */
  buffer: EntryBuffer;
  readonly inputs = new Map<string, InputCounters>();
  readonly filters: FilterStage[] = [];
  readonly sinks: SinkRunner[] = [];
  readonly ai: AiStage[] = [];
  readonly filteredOut = new Map<string, number>();
  aiDropped = new Map<string, number>();
  private readonly opts: Required<PipelineOptions>;
  private scheduled = false;
  private waiters: (() => void)[] = [];
  private stopped = false;
  private stepping = false;
  /** The priority lane (offerUrgent): drained ahead of the buffer. */
  private readonly urgent: LogEntry[] = [];
  processed = 0;
  /** Of those, entries moved by the records path (never made JS objects); shown in status. */
  recordsProcessed = 0;
  /** Routes (agent/pipeline/routes/): set before inputs start; undefined = every sink takes everything. */
  router?: Router;

  /** buffer: the agent passes the ring-backed one (buffer.native); default an in-memory queue. */
  constructor(opts: PipelineOptions, buffer?: EntryBuffer) {
    super();
    this.opts = { stepEntries: 1024, ...opts };
    this.buffer = buffer ?? new EntryQueue(opts.bufferEntries, opts.bufferBytes);
  }

  addSink(runner: SinkRunner): void {
    this.sinks.push(runner);
    runner.on('drain', () => this.schedule());
  }

  /** The context an input uses: builds entries and applies its when_full policy. */
  inputPort(name: string, policy: WhenFull, defaults: { level: Level; module: string }) {
    const counters: InputCounters = { received: 0, rejected: 0, dropped: 0, paused: 0, last_reject: '' };
    this.inputs.set(name, counters);
    const build: BuildOptions = {
      maxMessageBytes: this.opts.maxMessageBytes, defaultLevel: defaults.level, defaultModule: defaults.module, node: this.opts.node,
    };
    return {
      emit: (draft: EntryDraft): boolean => {
        const entry = buildEntry(draft, build);
        if (draft.checkpoint) trackEntry(entry, draft.checkpoint);
        if (this.router?.needsInput) tagInput(entry, name);
        counters.received++;
        return this.offer(entry, policy, counters);
      },
      /** For entries that must overtake routine traffic (a kernel oops); see offerUrgent. */
      emitUrgent: (draft: EntryDraft): boolean => {
        const entry = buildEntry(draft, build);
        if (draft.checkpoint) trackEntry(entry, draft.checkpoint);
        if (this.router?.needsInput) tagInput(entry, name);
        counters.received++;
        return this.offerUrgent(entry, policy, counters);
      },
      reject: (reason: string) => {
        counters.rejected++;
        counters.last_reject = reason;
      },
      drained: () => this.drained(),
      /** The fast path for byte-stream inputs, when the buffer is the ring (agent/buffer/fast-ingest.ts). */
      // Routes that select by input need entries as objects tagged with their input: no byte fast path.
      openStream: this.buffer instanceof RingEntryQueue && !this.router?.needsInput ? (source: string, maxLineBytes: number, format?: CodecFormat): RawStream => {
        const queue = this.buffer as RingEntryQueue;
        const codec = createCodec({ maxLineBytes, maxMessageBytes: this.opts.maxMessageBytes, minLevel: 'DEBUG', defaultLevel: defaults.level, defaultModule: defaults.module, node: this.opts.node, source, format }, queue.ring.impl === 'native' ? 'on' : 'off');
        return new FastIngest({ codec, queue, policy, counters, schedule: () => this.schedule() });
      } : undefined,
    };
  }

  /** Offers a built entry (inputs, ai results). false = pause (block policy and full). */
  offer(entry: LogEntry, policy: WhenFull, counters?: InputCounters): boolean {
    const before = this.buffer.evicted;
    const r = this.buffer.offer(entry, policy);
    if (r === 'dropped') releaseEntry(entry);
    if (counters) {
      if (r === 'dropped') counters.dropped++;
      if (r === 'evicted') counters.dropped += this.buffer.evicted - before;
    }
    if (r === 'full') {
      // block: keep the entry anyway (it was accepted from the peer) and ask the input to pause.
      this.buffer.force(entry);
      if (counters) counters.paused++;
      this.schedule();
      return false;
    }
    this.schedule();
    return true;
  }

  /**
   * The priority lane, for the few entries an input marks as urgent (a kernel panic or oops
   * grouped by the serial input): they overtake routine entries still waiting in the buffer.
   * Opt-in per entry rather than by level, so that inputs which only relay levels (kmsg, syslog
   * EMERG) keep their order. Past URGENT_MAX queued, they wait in the buffer like any entry.
   */
  offerUrgent(entry: LogEntry, policy: WhenFull, counters?: InputCounters): boolean {
    if (this.urgent.length >= URGENT_MAX) return this.offer(entry, policy, counters);
    this.urgent.push(entry);
    this.schedule();
    return true;
  }

  /** Resolves when the buffer has room again. */
  drained(): Promise<void> {
    if (!this.buffer.isFull()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.step();
    });
  }

  private sinksFull(): boolean {
    for (const s of this.sinks) if (s.isFull()) return true;
    return false;
  }

  /**
   * Moves up to stepEntries entries from the buffer through the filters (in order, batch-wise)
   * into sinks and analysers. Only one step runs at a time, so order is kept even when a
   * filter answers asynchronously (a filter in another process).
   */
  private step(): void {
    if (this.stepping) return;
    if (this.recordsPathOpen() && !this.sinksFull()) {
      const records = (this.buffer as RingEntryQueue).takeRecords(this.opts.stepEntries);
      if (records) return this.stepRecords(records);
    }
    // Urgent entries go first and are handed over even to a full sink (they are few).
    const batch: LogEntry[] = this.urgent.splice(0, this.opts.stepEntries);
    while (batch.length < this.opts.stepEntries && this.buffer.length > 0 && !this.sinksFull()) batch.push(this.buffer.shift()!);
    this.wakeInputs();
    if (batch.length === 0) {
      if (this.buffer.length === 0) this.emit('empty');
      return;
    }
    this.stepping = true;
    const r = this.filterFrom(0, batch);
    const done = (kept: LogEntry[]) => {
      const routed = this.routeAll(kept);
      if (routed instanceof Promise) void routed.then(() => this.stepDone(batch.length));
      else this.stepDone(batch.length);
    };
    if (r instanceof Promise) void r.then(done);
    else done(r);
  }

  private stepDone(n: number): void {
    this.stepping = false;
    this.processed += n;
    if (this.urgent.length > 0 || (this.buffer.length > 0 && !this.sinksFull())) this.schedule();
    if (this.buffer.length === 0) this.emit('empty');
  }

  /**
   * The records path (agent/buffer/records.ts): when the buffer is the ring and every enabled
   * filter and every sink can take entry records (C filters, filter_level, the forwarder), runs of
   * records go from the ring through them as bytes and never become JS objects. Urgent entries
   * and analysers need objects, so they close it while present.
   */
  private recordsPathOpen(): boolean {
    return this.buffer instanceof RingEntryQueue && this.urgent.length === 0 && this.recordsBlocker() === undefined;
  }

  /** The first stage that cannot take entry records now (it keeps the records path closed), if any. */
  recordsBlocker(): string | undefined {
    if (this.sinks.length === 0) return 'no sink';
    if (this.router) return 'routes';
    for (const a of this.ai) if (a.enabled) return a.name;
    for (const f of this.filters) if (f.enabled && !f.takesRecords) return f.name;
    for (const s of this.sinks) if (!s.stage.takesRecords) return s.stage.name;
    return undefined;
  }

  /** The stages the records path goes through, for the agent's log. */
  recordStages(): string[] {
    return [...this.filters.filter((f) => f.enabled).map((f) => f.name), ...this.sinks.map((s) => s.stage.name)];
  }

  /**
   * Swaps the buffer before inputs start (buffer.native: auto decides once plugins are loaded);
   * anything already queued (an analyser's early result) moves over in order.
   */
  useBuffer(buffer: EntryBuffer): void {
    const old = this.buffer;
    this.buffer = buffer;
    for (let e = old.shift(); e; e = old.shift()) buffer.force(e);
  }

  private stepRecords(records: EntryRecords): void {
    this.wakeInputs();
    this.stepping = true;
    const route = (kept: EntryRecords | LogEntry[]) => {
      if (Array.isArray(kept)) this.routeAll(kept);
      else this.routeRecords(kept);
      this.recordsProcessed += records.count;
      this.stepDone(records.count);
    };
    const r = this.filterRecordsFrom(0, records);
    if (r instanceof Promise) void r.then(route);
    else route(r);
  }

  /**
   * filterFrom for records. A filter that cannot take records after all (it changed since the
   * step began, e.g. a chain trace started) gets entries: from there on the step is the object path.
   */
  private filterRecordsFrom(i: number, records: EntryRecords): EntryRecords | LogEntry[] | Promise<EntryRecords | LogEntry[]> {
    for (; i < this.filters.length && records.count > 0; i++) {
      const f = this.filters[i]!;
      if (!f.enabled) continue;
      if (!f.takesRecords || !f.keepRecords) return this.filterFrom(i, recordsToEntries(records));
      const keep = f.keepRecords(records);
      const r = records;
      if (keep instanceof Promise) {
        const next = i + 1;
        return keep.then((k) => this.filterRecordsFrom(next, this.keptRecords(f, r, k)));
      }
      records = this.keptRecords(f, r, keep);
    }
    return records;
  }

  private keptRecords(f: FilterStage, records: EntryRecords, keep: readonly boolean[]): EntryRecords {
    const kept = keepRecords(records, keep);
    const out = records.count - kept.count;
    if (out) this.filteredOut.set(f.name, (this.filteredOut.get(f.name) ?? 0) + out);
    return kept;
  }

  /** Hands a run to every sink, as records where the sink takes them, else as entries. */
  private routeRecords(records: EntryRecords): void {
    if (records.count === 0) return;
    let entries: LogEntry[] | undefined;
    for (const s of this.sinks) {
      if (s.stage.takesRecords && s.stage.flushRecords) s.pushRecords(records);
      else for (const e of (entries ??= recordsToEntries(records))) s.push(e);
    }
  }

  private wakeInputs(): void {
    if (this.waiters.length && !this.buffer.isFull()) {
      const w = this.waiters;
      this.waiters = [];
      for (const resolve of w) resolve();
    }
  }

  /** Runs filters i.. over entries; stays synchronous until a filter answers with a Promise. */
  private filterFrom(i: number, entries: LogEntry[]): LogEntry[] | Promise<LogEntry[]> {
    for (; i < this.filters.length && entries.length > 0; i++) {
      const f = this.filters[i]!;
      if (!f.enabled || this.router?.owns(f.name)) continue;
      const verdicts = f.keepBatch(entries);
      if (verdicts instanceof Promise) {
        const next = i + 1;
        return verdicts.then((v) => this.filterFrom(next, this.applyVerdicts(f, entries, v)));
      }
      entries = this.applyVerdicts(f, entries, verdicts);
    }
    return entries;
  }

  private applyVerdicts(f: FilterStage, entries: LogEntry[], verdicts: FilterVerdicts): LogEntry[] {
    const kept: LogEntry[] = [];
    for (let j = 0; j < entries.length; j++) {
      const v = verdicts[j];
      // An object is a replacement copy (e.g. redacted); the original entry is left as it was.
      if (v === false) {
        // Filtered out: finished, so its input may commit its position past it.
        releaseEntry(entries[j]!);
        continue;
      }
      if (typeof v === 'object' && v !== null) {
        moveCheckpoint(entries[j]!, v);
        moveInputTag(entries[j]!, v);
      }
      kept.push(typeof v === 'object' && v !== null ? v : entries[j]!);
    }
    const out = entries.length - kept.length;
    if (out) this.filteredOut.set(f.name, (this.filteredOut.get(f.name) ?? 0) + out);
    return kept;
  }

  private routeAll(entries: LogEntry[]): void | Promise<void> {
    if (this.router) {
      const routed = this.router.route(entries, (f, n) => this.filteredOut.set(f, (this.filteredOut.get(f) ?? 0) + n));
      // The pipeline's hold ends once every route had the entry (sinks hold their own).
      const finish = () => {
        for (const entry of entries) {
          releaseEntry(entry);
          this.offerAi(entry);
        }
      };
      if (routed instanceof Promise) return routed.then(finish);
      return finish();
    }
    for (const entry of entries) {
      for (const s of this.sinks) s.push(entry);
      releaseEntry(entry);
      this.offerAi(entry);
    }
  }

  private offerAi(entry: LogEntry): void {
    for (const a of this.ai) {
      if (a.enabled && !a.offer(entry)) this.aiDropped.set(a.name, (this.aiDropped.get(a.name) ?? 0) + 1);
    }
  }

  /**
   * Drains the buffer into sinks and flushes them, until everything is delivered or the deadline.
   * Returns how many entries are still undelivered.
   */
  async drain(graceMs: number): Promise<number> {
    const deadline = Date.now() + graceMs;
    while ((this.buffer.length > 0 || this.urgent.length > 0 || this.stepping) && Date.now() < deadline) {
      this.step();
      await new Promise((r) => setTimeout(r, 5));
    }
    await Promise.all(this.sinks.map((s) => s.flushAll(deadline)));
    this.stopped = true;
    for (const s of this.sinks) s.stop();
    return this.buffer.length + this.urgent.length + this.sinks.reduce((a, s) => a + s.queued, 0);
  }

  /** Sum of all drops, for health checks. */
  totalDropped(): number {
    let d = 0;
    for (const c of this.inputs.values()) d += c.dropped;
    for (const s of this.sinks) {
      const st = s.stage.status?.();
      d += s.dropped + Number(st?.dropped_entries ?? 0) + Number(st?.lost_entries ?? 0);
    }
    for (const v of this.aiDropped.values()) d += v;
    return d;
  }
}
