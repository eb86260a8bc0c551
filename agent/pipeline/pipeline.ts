import { EventEmitter } from 'node:events';
import type { LogEntry } from '../../entry/entry.ts';
import type { EntryDraft } from '../../entry/build.ts';
import type { Level } from '../../lib/level.ts';
import type { WhenFull } from '../buffer/ring.ts';
import { createEntryBuffer, type EntryBuffer } from '../buffer/entry-buffer.ts';
import { FastIngest, ParseLane, type RawStream, type StreamReplay } from '../buffer/fast-ingest.ts';
import { DraftCodec } from '../buffer/draft-codec.ts';
import { createCodec } from '../buffer/select.ts';
import type { FormatOptions, StreamFormat } from '../buffer/line-codec.ts';
import type { AiStage, FilterStage } from './stages.ts';
import { SinkRunner } from './sink-runner.ts';
import { releaseToken } from '../../entry/checkpoint.ts';
import { releaseRecordTokens } from '../buffer/records.ts';
import type { Router } from './routes/router.ts';
import { RecordBatch } from './batch.ts';

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
 * One path: an entry is a record (agent/buffer/records.ts) from the input to the sink; each step
 * moves a batch of records (batch.ts) through every stage. Backpressure flows backwards: a full
 * sink queue stops the drain loop, the buffer fills, and each input's when_full decides (pause,
 * drop newest, drop oldest). Every drop is counted.
 */
export class Pipeline extends EventEmitter {
  readonly buffer: EntryBuffer;
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
  /** The priority lane (offerUrgent): records drained ahead of the buffer. */
  private urgent: Buffer[] = [];
  processed = 0;
  /** Of those, entries that no stage needed as JS objects (they stayed records throughout); shown in status. */
  recordsProcessed = 0;
  /** Routes (agent/pipeline/routes/): set before inputs start; undefined = every sink takes everything. */
  router?: Router;
  /** Input names by id (index): the id a record carries (records.ts) names its input. */
  private readonly inputNames: string[] = [''];

  /** buffer: the agent passes the one for buffer.native; default the native ring, or the JS one. */
  constructor(opts: PipelineOptions, buffer?: EntryBuffer) {
    super();
    this.opts = { stepEntries: 1024, ...opts };
    this.buffer = buffer ?? createEntryBuffer(opts.bufferEntries, opts.bufferBytes, 'auto');
  }

  /** The input a record's id names (routes by input). */
  inputName(id: number): string | undefined {
    return id > 0 ? this.inputNames[id] : undefined;
  }

  /** The id records of this input carry (u16; 0 = none past 65535 inputs). */
  private inputId(name: string): number {
    const i = this.inputNames.indexOf(name);
    if (i > 0) return i;
    if (this.inputNames.length > 0xffff) return 0;
    this.inputNames.push(name);
    return this.inputNames.length - 1;
  }

  addSink(runner: SinkRunner): void {
    this.sinks.push(runner);
    runner.on('drain', () => this.schedule());
  }

  /**
   * The codec drafts of an input (or a plugin) go through (agent/buffer/draft-codec.ts): format
   * draft, with the input's defaults; native when the buffer is.
   */
  private draftCodec(defaults: { level: Level; module: string }): DraftCodec {
    const o = { maxMessageBytes: this.opts.maxMessageBytes, defaultLevel: defaults.level, defaultModule: defaults.module, node: this.opts.node };
    return new DraftCodec(o, this.buffer.ring.impl === 'native');
  }

  /**
   * A draft into the buffer (or the urgent lane) as its record, counted against counters. false =
   * pause (block policy and full). A draft that makes no record is counted as rejected.
   */
  private emitDraft(codec: DraftCodec, draft: EntryDraft, input: number, policy: WhenFull, counters: InputCounters, urgent: boolean): boolean {
    const r = codec.encode(draft, input);
    if (!r.ok || r.reject !== undefined) {
      counters.rejected++;
      counters.last_reject = r.ok ? r.reject! : r.error;
      if (!r.ok) return true;
    }
    counters.received++;
    return urgent ? this.offerUrgent(r.rec, policy, counters, r.token) : this.offer(r.rec, policy, counters, r.token);
  }

  /** The context an input uses: turns its drafts into records and applies its when_full policy. */
  inputPort(name: string, policy: WhenFull, defaults: { level: Level; module: string }) {
    const counters: InputCounters = { received: 0, rejected: 0, dropped: 0, paused: 0, last_reject: '' };
    this.inputs.set(name, counters);
    const id = this.inputId(name);
    /** Records carry the input id while some route selects by input. */
    const keyInput = () => (this.router?.needsInput ? id : 0);
    const drafts = this.draftCodec(defaults);
    /** The input's streams are parsed one at a time, in the order their bytes came (ParseLane). */
    const parseLane = new ParseLane();
    return {
      emit: (draft: EntryDraft): boolean => this.emitDraft(drafts, draft, keyInput(), policy, counters, false),
      /** For entries that must overtake routine traffic (a kernel oops); see offerUrgent. */
      emitUrgent: (draft: EntryDraft): boolean => this.emitDraft(drafts, draft, keyInput(), policy, counters, true),
      reject: (reason: string) => {
        counters.rejected++;
        counters.last_reject = reason;
      },
      drained: () => this.drained(),
      /**
       * The fast path for byte-stream inputs (agent/buffer/fast-ingest.ts): the codec frames lines
       * into records straight into the ring. A replayable input passes acks (and the stream offset
       * it starts at) so that each record carries its line's checkpoint token, or notes (format
       * kmsg: the position of each record from the codec's 'S' note). options: the format's own
       * (kmsg, serial). A record the codec marks urgent ('U' note) goes into the priority lane.
       */
      openStream: (source: string, maxLineBytes: number, format?: StreamFormat, replay?: StreamReplay, options?: FormatOptions): RawStream => {
        const queue = this.buffer;
        const codec = createCodec({ maxLineBytes, maxMessageBytes: this.opts.maxMessageBytes, minLevel: 'DEBUG', defaultLevel: defaults.level, defaultModule: defaults.module, node: this.opts.node, source, format, ...options }, queue.ring.impl === 'native' ? 'on' : 'off');
        const urgent = (rec: Buffer) => {
          counters.received++;
          return this.offerUrgent(rec, policy, counters, 0);
        };
        return new FastIngest({
          codec, queue, policy, counters, schedule: () => this.schedule(), input: keyInput(), ...replay, drained: () => this.drained(),
          urgent, inline: format === 'serial', lane: parseLane,
        });
      },
    };
  }

  /**
   * The emit of a plugin's context (the compiled-in filters' notices, plugin_logger, analysers'
   * results): drafts of module AI by default, source `plugin:<name>`, dropped (counted) when the
   * buffer is full, never pausing the plugin. One per plugin name, kept across its restarts.
   */
  pluginEmitter(name: string): (draft: EntryDraft) => void {
    let emit = this.pluginEmitters.get(name);
    if (emit) return emit;
    const drafts = this.draftCodec({ level: 'INFO', module: 'AI' });
    const counters: InputCounters = { received: 0, rejected: 0, dropped: 0, paused: 0, last_reject: '' };
    this.pluginInputs.set(name, counters);
    const source = `plugin:${name}`;
    emit = (draft) => void this.emitDraft(drafts, { ...draft, source }, 0, 'drop_newest', counters, false);
    this.pluginEmitters.set(name, emit);
    return emit;
  }

  private readonly pluginEmitters = new Map<string, (draft: EntryDraft) => void>();
  /** What plugins emitted, by plugin (their drops count in totalDropped). */
  readonly pluginInputs = new Map<string, InputCounters>();

  /** Offers one record (its payload, copied in: see EntryBuffer.offer). false = pause (block policy and full). */
  private offer(rec: Buffer, policy: WhenFull, counters: InputCounters, token: number): boolean {
    const before = this.buffer.evicted;
    const r = this.buffer.offer(rec, policy, token);
    // Dropped is finished: its input may commit its position past it.
    if (r === 'dropped' && token) releaseToken(token);
    if (r === 'dropped') counters.dropped++;
    if (r === 'evicted') counters.dropped += this.buffer.evicted - before;
    if (r === 'full') {
      // block: keep the entry anyway (it was accepted from the peer) and ask the input to pause.
      this.buffer.force(rec, token);
      counters.paused++;
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
  private offerUrgent(rec: Buffer, policy: WhenFull, counters: InputCounters, token: number): boolean {
    if (this.urgent.length >= URGENT_MAX) return this.offer(rec, policy, counters, token);
    // A copy: rec may lie in the codec's reused memory.
    this.urgent.push(Buffer.from(rec));
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

  /** How many entries the sinks have room for now (each takes every entry, at most). */
  private sinkRoom(): number {
    let room = this.opts.stepEntries;
    for (const s of this.sinks) if (s.room < room) room = s.room;
    return room;
  }

  /**
   * Moves a batch of records from the buffer (urgent ones first) through the filters in order
   * into sinks and analysers. Only one step runs at a time, so order is kept even when a filter
   * answers asynchronously (a filter in another process).
   */
  private step(): void {
    if (this.stepping) return;
    let batch: RecordBatch | null = null;
    if (this.urgent.length > 0) {
      // Urgent entries go first and are handed over even to a full sink (they are few).
      batch = RecordBatch.of(this.urgent.splice(0, this.opts.stepEntries));
    } else {
      const room = this.sinkRoom();
      const records = room > 0 ? this.buffer.takeRecords(room) : null;
      // Fresh out of the ring: the filters may drop records in place (RecordBatch.apply).
      if (records) batch = new RecordBatch(records, undefined, undefined, true);
    }
    this.wakeInputs();
    if (!batch) {
      if (this.buffer.length === 0) this.emit('empty');
      return;
    }
    this.stepping = true;
    const n = batch.count;
    const done = (kept: RecordBatch) => {
      const routed = this.deliver(kept);
      const finish = () => {
        if (!batch!.hasEntries && !kept.hasEntries && this.sinks.every((s) => s.stage.takesRecords !== false)) this.recordsProcessed += n;
        this.stepDone(n);
      };
      if (routed instanceof Promise) void routed.then(finish);
      else finish();
    };
    const r = this.filterFrom(0, batch);
    if (r instanceof Promise) void r.then(done);
    else done(r);
  }

  private stepDone(n: number): void {
    this.stepping = false;
    this.processed += n;
    if (this.urgent.length > 0 || (this.buffer.length > 0 && !this.sinksFull())) this.schedule();
    if (this.buffer.length === 0) this.emit('empty');
  }

  /** The first stage that needs entries as objects (the others read the records), if any: for the agent's log. */
  objectStage(): string | undefined {
    for (const a of this.ai) if (a.enabled) return a.name;
    for (const f of this.filters) if (f.enabled && f.takesRecords === false) return f.name;
    for (const s of this.sinks) if (s.stage.takesRecords === false) return s.stage.name;
    return undefined;
  }

  /** The stages entries pass through, for the agent's log. */
  recordStages(): string[] {
    return [...this.filters.filter((f) => f.enabled).map((f) => f.name), ...this.sinks.map((s) => s.stage.name)];
  }

  private wakeInputs(): void {
    if (this.waiters.length && !this.buffer.isFull()) {
      const w = this.waiters;
      this.waiters = [];
      for (const resolve of w) resolve();
    }
  }

  /** Runs filters i.. over the batch; stays synchronous until a filter answers with a Promise. */
  private filterFrom(i: number, batch: RecordBatch): RecordBatch | Promise<RecordBatch> {
    for (; i < this.filters.length && batch.count > 0; i++) {
      const f = this.filters[i]!;
      if (!f.enabled || this.router?.owns(f.name)) continue;
      const verdicts = f.keep(batch);
      if (verdicts instanceof Promise) {
        const next = i + 1;
        const before = batch;
        return verdicts.then((v) => this.filterFrom(next, this.applyVerdicts(f, before, v)));
      }
      batch = this.applyVerdicts(f, batch, verdicts);
    }
    return batch;
  }

  private applyVerdicts(f: FilterStage, batch: RecordBatch, verdicts: ArrayLike<boolean | LogEntry>): RecordBatch {
    // Filtered out: finished (the token is released), so its input may commit its position past it.
    const kept = batch.apply(verdicts);
    const out = batch.count - kept.count;
    if (out) this.filteredOut.set(f.name, (this.filteredOut.get(f.name) ?? 0) + out);
    return kept;
  }

  /** Hands the batch to every sink (or the routes), then to the analysers; the pipeline's hold ends. */
  private deliver(batch: RecordBatch): void | Promise<void> {
    const finish = () => {
      // The pipeline's hold ends once every sink had the batch (sinks hold their own).
      releaseRecordTokens(batch.records);
      if (this.ai.some((a) => a.enabled)) for (const e of batch.entries()) this.offerAi(e);
    };
    if (batch.count === 0) return;
    if (this.router) {
      const routed = this.router.route(batch, (id) => this.inputName(id), (f, n) => this.filteredOut.set(f, (this.filteredOut.get(f) ?? 0) + n));
      if (routed instanceof Promise) return routed.then(finish);
      return finish();
    }
    for (const s of this.sinks) s.push(batch);
    finish();
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
    for (const c of this.pluginInputs.values()) d += c.dropped;
    for (const s of this.sinks) {
      const st = s.stage.status?.();
      d += s.dropped + Number(st?.dropped_entries ?? 0) + Number(st?.lost_entries ?? 0);
    }
    for (const v of this.aiDropped.values()) d += v;
    return d;
  }
}
