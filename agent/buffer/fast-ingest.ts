/**
 * The fast path for byte-stream inputs (unix, tcp, file): bytes → codec (split, parse NDJSON,
 * sanitise, level/module, frame; native when the addon is loaded) → pushed into the ring in one
 * call per chunk. No line becomes a JS object. One stream per connection or file (a codec keeps
 * the partial line); counters are the input's. When something travels with the records (a
 * replayable input's checkpoint tokens, the input id routes select by) the codec's records are
 * rewritten with the 'K' header (records.ts) in one copy before they are pushed.
 *
 * Off the main thread: a large chunk (a busy connection's socket read) is parsed by the C codec on
 * a thread-pool thread (LineCodec.feedOffThread) while the main thread runs the pipeline, and its
 * records are pushed when it is done. One chunk at a time per stream (the codec holds the stream's
 * partial line), in order: what arrives meanwhile waits (past OFF_THREAD_WAITING chunks feed
 * answers false, and end always does, so that the input pauses until drained()). A replayable
 * input's stream (acks) stays on the main thread: its checkpoints are told line by line as bytes are fed, or record by record as the codec's 'S' notes
 * give their positions (format kmsg).
 *
 * A serial console's stream (codec format serial) is fed with each read's arrival times (feedAt)
 * and flushed by the input's timers (flush); its oops groups come behind a 'U' note, and take()
 * hands such a record to the pipeline's priority lane (the urgent option) instead of the ring.
 */
import type { RingEntryQueue } from './entry-buffer.ts';
import type { CodecCounters, FormatCounters, LineCodec, SerialFlush } from './line-codec.ts';
import { countFrames, type WhenFull } from './ring.ts';
import { KEYED, keyRecords, releaseRecordTokens } from './records.ts';
import { issueToken, type Checkpoint } from '../../entry/checkpoint.ts';

export interface StreamCounters {
  received: number;
  rejected: number;
  dropped: number;
  paused: number;
  last_reject: string;
}

/**
 * For a replayable input (the file input): told of every complete line fed, in order, with the
 * stream offset just after it and whether the codec made an entry of it (empty lines make none).
 * For a line that became an entry it returns the checkpoint whose token the record carries.
 */
export interface LineAcks {
  line(end: number, framed: boolean): Checkpoint | undefined;
}

/**
 * For a replayable input whose codec says each record's position in an 'S' note before it (format
 * kmsg: the record's seq): told of each position, in order, as the codec's output is taken; returns
 * the checkpoint whose token the record carries.
 */
export interface NoteAcks {
  position(pos: number): Checkpoint | undefined;
}

/** What a replayable input passes to openStream: acks by line end from offset, or by the codec's 'S' notes. */
export type StreamReplay = { acks: LineAcks; offset: number } | { notes: NoteAcks };

/**
 * What an input gets from InputContext.openStream: feed bytes; false = pause until drained()
 * (the buffer is full under block, or the stream's previous chunk is still being parsed).
 */
export interface RawStream {
  feed(chunk: Buffer): boolean;
  /** Format syslog_datagram: datagrams with their senders' credentials (LineCodec.feedDatagrams). */
  feedDatagrams(data: Buffer, meta: Int32Array): boolean;
  end(): boolean;
  /** Resolves when the stream takes bytes again: nothing of it is being parsed and the buffer has room. */
  drained(): Promise<void>;
  /** Resolves when every byte fed so far is in the buffer (or counted as dropped): for stop(). */
  settled(): Promise<void>;
  /** The codec's figures for this stream (lines, cut lines, rejects…). */
  stats(): CodecCounters;
  /** The figures only the codec's format has (LineCodec.formatCounters; {} for none). */
  formatCounters(): FormatCounters;
  /** Format serial: one read with its wall-clock and monotonic (performance.now()) arrival times. */
  feedAt?(chunk: Buffer, wallMs: number, monoMs: number): boolean;
  /** Format serial: the partial line, the open oops group, or both (the port closed) into the buffer. */
  flush?(what: SerialFlush): boolean;
}

/** Chunks at least this large are parsed off the main thread (a socket read is up to 64 KiB). */
const OFF_THREAD_MIN_BYTES = 16 * 1024;
/**
 * Where off-thread parses write their records: room for those of the OFF_THREAD_WAITING socket
 * reads of 64 KiB one job may take; a bigger output gets its own Buffer. (Pages are touched as
 * they are written.)
 */
const OFF_THREAD_OUT_BYTES = 1024 * 1024;
/** Outputs kept for reuse between parses (one per parse running at once; the thread pool has four threads). */
const OFF_THREAD_OUTS_KEPT = 4;
const spareOuts: Buffer[] = [];
/** Chunks a stream may hold while one is parsed before its input pauses; they are parsed together next. */
const OFF_THREAD_WAITING = 4;
/** At most this many chunks per job (the addon's FEED_JOB_CHUNKS): more wait for the next one. */
const OFF_THREAD_JOB_CHUNKS = 8;
/** What end() leaves in the queue of a stream whose chunk is being parsed. */
const END = Symbol('end');
/**
 * The tags of the codec's records: an entry, and the notes before one (codec.h): the position
 * (format kmsg), urgent (format serial), kept as text after a reject. Other notes are not the
 * stream's business (a line note is for a line stage) and are skipped.
 */
const E = 0x45;
const S = 0x53;
const U = 0x55;
const R = 0x52;

/**
 * The streams of one input (its connections, its peers) share a lane: while a chunk of any of them
 * is parsed on the thread pool, what the others feed waits behind it, so that records reach the
 * buffer in the order their bytes arrived, across connections as within one (a client that sends,
 * closes and connects again expects its lines in order; parses running side by side would finish
 * in any order). One parse at a time per input; the main thread never waits for one.
 */
export class ParseLane {
  /** A chunk of one of the lane's streams is being parsed on the thread pool. */
  parsing = false;
  /** Chunks (and ends) that arrived meanwhile, in order, with their streams. */
  readonly waiting: { stream: FastIngest; item: Buffer | typeof END }[] = [];
  /** Who waits for the lane, each until its condition holds (room, idle): checked after each parse. */
  private waiters: { ready: () => boolean; resolve: () => void }[] = [];
  private readonly hasRoom = () => this.waiting.length < OFF_THREAD_WAITING;
  private readonly isIdle = () => !this.parsing && this.waiting.length === 0;

  /**
   * Resolves when the lane takes chunks again: fewer than OFF_THREAD_WAITING wait. A paused input
   * resumes then, not once the lane is idle: its next reads arrive while the chunks that waited
   * are parsed, so the socket and the thread pool work at the same time (resuming only when idle
   * had them take turns: a parse with the socket paused, then reads with the pool idle).
   */
  room(): Promise<void> {
    return this.until(this.hasRoom);
  }

  /** Resolves when nothing of the lane is being parsed or waiting to be. */
  idle(): Promise<void> {
    return this.until(this.isIdle);
  }

  /** Resolves once ready() holds; asked again when woken (a feed may have come in between). */
  private until(ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve();
    return new Promise<void>((resolve) => this.waiters.push({ ready, resolve })).then(() => this.until(ready));
  }

  /** After a parse: what waited, in order, until the next parse starts; then wake who waits. */
  next(): void {
    const waiting = this.waiting;
    while (!this.parsing && waiting.length > 0) {
      const stream = waiting[0]!.stream;
      try {
        // Their answers need no one: the inputs are paused until drained(), which asks the buffer.
        if (waiting[0]!.item === END) {
          waiting.shift();
          stream.endNow();
          continue;
        }
        // One stream's chunks that waited in a row go to the parser together: one job, one pool
        // thread's wake-up.
        let n = 0;
        let bytes = 0;
        for (; n < waiting.length && n < OFF_THREAD_JOB_CHUNKS && waiting[n]!.stream === stream && waiting[n]!.item !== END; n++) bytes += (waiting[n]!.item as Buffer).length;
        const chunks = waiting.splice(0, n).map((w) => w.item as Buffer);
        if (stream.parsesOffThread(bytes)) stream.parseOffThread(chunks.length === 1 ? chunks[0]! : chunks);
        else for (const chunk of chunks) stream.feedNow(chunk);
      } catch (e) {
        stream.failed(e);
      }
    }
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (w.ready()) w.resolve();
      else this.waiters.push(w);
    }
  }
}

export class FastIngest implements RawStream {
  private readonly codec: LineCodec;
  private readonly queue: RingEntryQueue;
  private readonly policy: WhenFull;
  private readonly counters: StreamCounters;
  private readonly scheduled: () => void;
  /** The input's id, recorded in every record when routes select by input (0: not needed). */
  private readonly input: number;
  private readonly acks: LineAcks | undefined;
  /** Positions from the codec's 'S' notes instead (acks and notes are never both set). */
  private readonly notes: NoteAcks | undefined;
  /** Stream offset of the next byte fed, and the partial line's length and last byte so far. */
  private offset: number;
  private lineLen = 0;
  private lastByte = -1;
  /** Whether the frames the current take() works on are transient (see take). */
  private transient = false;
  /** The pipeline's drained(): the buffer has room. */
  private readonly bufferDrained: () => Promise<void>;
  /** The input's lane: one parse at a time for all its streams, in the order their bytes came. */
  private readonly lane: ParseLane;
  /** The pipeline's priority lane, for a record behind a 'U' note (undefined: it goes with the others). */
  private readonly urgent: ((rec: Buffer) => boolean) | undefined;
  /** Never parsed off the main thread (see parsesOffThread). */
  private readonly inline: boolean;

  constructor(o: {
    codec: LineCodec; queue: RingEntryQueue; policy: WhenFull; counters: StreamCounters;
    /** Tells the pipeline records arrived. */
    schedule: () => void;
    input?: number;
    acks?: LineAcks;
    notes?: NoteAcks;
    /** Stream offset of the first byte fed (acks). */
    offset?: number;
    /** The pipeline's drained() (default: resolved). */
    drained?: () => Promise<void>;
    /** Takes a record (its payload) the codec marked urgent ('U' note) into the priority lane; false = pause. */
    urgent?: (rec: Buffer) => boolean;
    /** Parse every chunk on the main thread (format serial). */
    inline?: boolean;
    /** The lane shared by the input's streams (default: one of its own). */
    lane?: ParseLane;
  }) {
    this.codec = o.codec;
    this.queue = o.queue;
    this.policy = o.policy;
    this.counters = o.counters;
    this.scheduled = o.schedule;
    this.input = o.input ?? 0;
    this.acks = o.acks;
    this.notes = o.notes;
    this.offset = o.offset ?? 0;
    this.bufferDrained = o.drained ?? (() => Promise.resolve());
    this.urgent = o.urgent;
    this.inline = o.inline ?? false;
    this.lane = o.lane ?? new ParseLane();
  }

  feed(chunk: Buffer): boolean {
    const lane = this.lane;
    if (lane.parsing) {
      // A few chunks may wait (the socket goes on reading, so the next parse has them at once);
      // past OFF_THREAD_WAITING the input is asked to pause until drained(). One that does not
      // pause (a UDP listener) still has its chunks queued in order.
      lane.waiting.push({ stream: this, item: chunk });
      return lane.waiting.length < OFF_THREAD_WAITING;
    }
    if (this.parsesOffThread(chunk.length)) {
      this.parseOffThread(chunk);
      return true;
    }
    return this.feedNow(chunk);
  }

  /**
   * Whether bytes of this size go to the thread pool (the C codec, no line-by-line or
   * note-by-note checkpoints). Never for an inline stream: a serial console is low rate (a UART
   * carries at most a few hundred KB/s), its reads are small, and its codec needs each read's
   * arrival times (feedAt) and the input's flushes in order with the reads, which a parse on the
   * thread pool would reorder.
   */
  parsesOffThread(bytes: number): boolean {
    return this.codec.feedOffThread !== undefined && !this.acks && !this.notes && !this.inline && bytes >= OFF_THREAD_MIN_BYTES;
  }

  /** Format serial: always on the main thread (an inline stream has nothing parsing meanwhile). */
  feedAt(chunk: Buffer, wallMs: number, monoMs: number): boolean {
    if (!this.codec.feedAt) throw new TypeError('feedAt: the stream\'s codec is not of format serial');
    return this.take(this.codec.feedAt(chunk, wallMs, monoMs), undefined, false);
  }

  flush(what: SerialFlush): boolean {
    if (!this.codec.flush) throw new TypeError('flush: the stream\'s codec is not of format serial');
    return this.take(this.codec.flush(what), undefined, false);
  }

  /** (Also for the lane: a chunk that waited.) */
  feedNow(chunk: Buffer): boolean {
    const cps = this.acks ? this.lineEnds(chunk) : undefined;
    const c = this.codec;
    return c.feedTransient ? this.take(c.feedTransient(chunk, Date.now()), cps, true) : this.take(c.feed(chunk, Date.now()), cps, false);
  }

  feedDatagrams(data: Buffer, meta: Int32Array): boolean {
    return this.take(this.codec.feedDatagrams(data, meta, Date.now()), undefined, false);
  }

  end(): boolean {
    if (this.lane.parsing) {
      this.lane.waiting.push({ stream: this, item: END });
      return false;
    }
    return this.endNow();
  }

  drained(): Promise<void> {
    return this.lane.room().then(() => this.bufferDrained());
  }

  settled(): Promise<void> {
    return this.lane.idle();
  }

  /**
   * One chunk (or the chunks that waited) to the thread pool; its records are taken when it is
   * done, then what waited in the lane. The callback runs outside the input's guard: a failure
   * there is counted as this stream's reject, never thrown into the event loop.
   */
  parseOffThread(chunk: Buffer | Buffer[]): void {
    const lane = this.lane;
    lane.parsing = true;
    const out = spareOuts.pop() ?? Buffer.allocUnsafeSlow(OFF_THREAD_OUT_BYTES);
    this.codec.feedOffThread!(chunk, Date.now(), out, (err, records) => {
      // (Date.now() at dispatch: a line without a timestamp gets the time its chunk arrived.)
      lane.parsing = false;
      try {
        if (err) throw err;
        // In out: transient (take copies what it keeps beside the ring); else a Buffer of their own.
        if (typeof records === 'number') this.take(out.subarray(0, records), undefined, true);
        else this.take(records!, undefined, false);
      } catch (e) {
        this.failed(e);
      }
      if (spareOuts.length < OFF_THREAD_OUTS_KEPT) spareOuts.push(out);
      lane.next();
    });
  }

  failed(e: unknown): void {
    this.counters.rejected++;
    this.counters.last_reject = `data could not be processed (${(e as Error)?.message ?? String(e)}); the rest of this chunk was dropped`;
  }

  endNow(): boolean {
    let cps: (Checkpoint | undefined)[] | undefined;
    if (this.acks && this.lineLen > 0) {
      // The last line, without its newline: it ends where the stream does.
      const framed = !(this.lineLen === 1 && this.lastByte === 0x0d);
      const cp = this.acks.line(this.offset, framed);
      cps = framed ? [cp] : [];
      this.lineLen = 0;
      this.lastByte = -1;
    }
    return this.take(this.codec.end(Date.now()), cps, false);
  }

  /**
   * The lines complete in chunk, told to acks, and the checkpoints of those the codec frames, in
   * order. The codec frames every line except an empty one (nothing, or only \r, before the \n).
   */
  private lineEnds(chunk: Buffer): (Checkpoint | undefined)[] {
    const cps: (Checkpoint | undefined)[] = [];
    let pos = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, pos);
      if (nl < 0) {
        if (chunk.length > pos) {
          this.lineLen += chunk.length - pos;
          this.lastByte = chunk[chunk.length - 1]!;
        }
        break;
      }
      const len = this.lineLen + nl - pos;
      const last = nl > pos ? chunk[nl - 1]! : this.lastByte;
      const framed = !(len === 0 || (len === 1 && last === 0x0d));
      const cp = this.acks!.line(this.offset + nl + 1, framed);
      if (framed) cps.push(cp);
      this.lineLen = 0;
      this.lastByte = -1;
      pos = nl + 1;
    }
    this.offset += chunk.length;
    return cps;
  }

  /**
   * The codec's 'E' records as keyed records ('K': token, input id), when something travels with
   * them: record i of the entries gets the token of cps[i]. 'R' notes stay as they are.
   */
  private keyed(frames: Buffer, cps: (Checkpoint | undefined)[] | undefined): Buffer {
    let used = 0;
    const out = keyRecords(frames, this.input, (i) => {
      used = i + 1;
      const cp = cps?.[i];
      return cp ? issueToken(cp) : 0;
    });
    // Lines the codec did not frame after all (never expected): finish their checkpoints.
    for (const cp of cps?.slice(used) ?? []) {
      cp?.hold();
      cp?.release();
    }
    this.queue.adopt(out);
    return out;
  }

  /** Frames kept past take() (beside the ring): a copy when they lie in transient memory. */
  private keep(frames: Buffer): Buffer {
    return this.transient ? Buffer.from(frames) : frames;
  }

  stats(): CodecCounters {
    return this.codec.counters();
  }

  formatCounters(): FormatCounters {
    return this.codec.formatCounters?.() ?? {};
  }

  /**
   * notes: the checkpoints of the entry records in frames, from the 'S' note before each. A note
   * no entry follows (never expected: the codec takes it back with a filtered entry) finishes its
   * checkpoint, so that it holds no position back.
   */
  private noteCheckpoints(frames: Buffer): (Checkpoint | undefined)[] {
    const cps: (Checkpoint | undefined)[] = [];
    let open: Checkpoint | undefined;
    const finish = (cp: Checkpoint | undefined) => {
      cp?.hold();
      cp?.release();
    };
    for (let off = 0; off + 4 <= frames.length; off += 4 + frames.readUInt32LE(off)) {
      const tag = frames[off + 4];
      if (tag === S) {
        finish(open);
        open = this.notes!.position(Number(frames.toString('latin1', off + 5, off + 4 + frames.readUInt32LE(off))));
      } else if (tag === E) {
        cps.push(open);
        open = undefined;
      }
    }
    finish(open);
    return cps;
  }

  /**
   * transient: frames lie in the codec's shared output (LineCodec.feedTransient), overwritten by
   * its next call: they go into the ring (a copy) or are copied where they are kept (keep).
   */
  private take(frames: Buffer, cps: (Checkpoint | undefined)[] | undefined, transient: boolean): boolean {
    if (this.notes && frames.length) cps = this.noteCheckpoints(frames);
    if (frames.length && (cps || this.input)) {
      frames = this.keyed(frames, cps);
      transient = false; // keyed wrote a Buffer of its own
    }
    this.transient = transient;
    let ok = true;
    let runStart = -1;
    let runCount = 0;
    let off = 0;
    /** A 'U' note came: the next record goes to the priority lane. */
    let urgentNext = false;
    const flushRun = (end: number) => {
      if (runStart >= 0) ok = this.pushRun(frames.subarray(runStart, end), runCount) && ok;
      runStart = -1;
      runCount = 0;
    };
    while (off + 4 <= frames.length) {
      const n = frames.readUInt32LE(off);
      const tag = frames[off + 4];
      if ((tag === E || tag === KEYED) && urgentNext && this.urgent) {
        flushRun(off);
        ok = this.urgent(frames.subarray(off + 4, off + 4 + n)) && ok;
        urgentNext = false;
      } else if (tag === E || tag === KEYED) {
        if (runStart < 0) runStart = off;
        runCount++;
      } else if (tag === U) {
        // The next record is urgent (a grouped kernel oops): the runs before it go first.
        flushRun(off);
        urgentNext = true;
      } else if (tag === S) {
        // A position note (format kmsg): told to notes above, its record keyed; never queued.
        flushRun(off);
      } else if (tag === R) {
        // 'R': the codec kept the next line as text because it was not valid JSON; count it.
        flushRun(off);
        this.counters.rejected++;
        this.counters.last_reject = frames.toString('utf8', off + 5, off + 4 + n);
      }
      off += 4 + n;
    }
    flushRun(off);
    if (frames.length) this.scheduled();
    return ok;
  }

  /**
   * Pushes a run of complete-entry records with one call. The part past the count bound
   * (buffer.max_entries), or all of it while entries wait beside the ring, goes to overflow.
   */
  private pushRun(run: Buffer, count: number): boolean {
    this.counters.received += count;
    const q = this.queue;
    if (q.hasSpill()) return this.overflow(run, count);
    const room = Math.max(0, q.maxEntries - q.length);
    if (room >= count) return this.toRing(run, count);
    const cut = frameOffset(run, room);
    const ok = room > 0 ? this.toRing(run.subarray(0, cut), room) : true;
    // toRing paused the input and kept what it could not push: the rest waits behind it.
    if (!ok) return (q.forceFrames(this.keep(run.subarray(cut)), count - room), false);
    return this.overflow(run.subarray(cut), count - room);
  }

  /** Into the ring; its byte bound applies the policy (drops counted as this input's). */
  private toRing(run: Buffer, count: number): boolean {
    const q = this.queue;
    const before = q.ring.lost();
    const used = q.ring.pushFrames(run, this.policy);
    // Tokens of records the ring dropped or evicted are released by the buffer (adopted above).
    this.counters.dropped += q.ring.lost() - before;
    if (used === run.length) return true;
    // block and full: these lines were accepted from the peer, so they wait beside the ring
    // (in order, as bytes) and the input pauses.
    this.counters.paused++;
    const rest = run.subarray(used);
    q.forceFrames(this.keep(rest), countFrames(rest));
    return false;
  }

  /** Records the count bound or entries already waiting leave no room for: when_full decides. */
  private overflow(run: Buffer, count: number): boolean {
    const q = this.queue;
    switch (this.policy) {
      case 'drop_newest':
        this.counters.dropped += count;
        releaseRecordTokens({ frames: run, count });
        return true;
      case 'drop_oldest': {
        // A run longer than the whole bound loses its own oldest records too.
        const own = count - q.maxEntries;
        if (own > 0) {
          releaseRecordTokens({ frames: run.subarray(0, frameOffset(run, own)), count: own });
          run = run.subarray(frameOffset(run, own));
          count -= own;
          this.counters.dropped += own;
        }
        this.counters.dropped += q.evictOldest(q.length + count - q.maxEntries);
        if (q.hasSpill()) q.forceFrames(this.keep(run), count);
        else this.toRing(run, count);
        return true;
      }
      case 'block':
        // Accepted from the peer already: they wait beside the ring as bytes; the input pauses.
        this.counters.paused++;
        q.forceFrames(this.keep(run), count);
        return false;
    }
  }
}

/** Byte offset of record n in a framed run. */
function frameOffset(frames: Buffer, n: number): number {
  let off = 0;
  for (let i = 0; i < n && off + 4 <= frames.length; i++) off += 4 + frames.readUInt32LE(off);
  return off;
}
