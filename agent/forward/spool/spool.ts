/**
 * The forwarder's queue of unacknowledged batches, in sequence order, held in memory and/or in
 * segment files on disk (docs/architecture.md, docs/guarantees.md).
 *
 * - mode memory (default): a batch stays in memory while the uplink is up and memory_max_bytes
 *   is not passed; when the uplink goes down (or the bound is passed, or on an orderly stop) every
 *   memory batch is written out, oldest first, so the disk always holds an oldest-first run.
 * - mode always: every batch is written before it becomes sendable.
 * - An ACK removes batches up to its seq; the ack pointer is replaced atomically and segments
 *   whose records are all acknowledged are deleted.
 * - max_bytes bounds the disk; past it (or on ENOSPC) when_full drops the oldest segment, drops
 *   the new batch, or blocks. Every dropped entry is counted (exactly: a dropped batch that was
 *   already on the wire counts only if the aggregator turns out not to have stored it).
 * - On open, segments are scanned; torn tails and corrupt records are skipped and counted, and
 *   the positions of spooled batches are registered so a replayable input does not read them again.
 */
import { EventEmitter } from 'node:events';
import { mkdir, open, readdir, readFile, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { BatchCodecCode } from '../../../protocol/constants.ts';
import { recordRecoveredPosition, type CheckpointPosition } from '../../../entry/checkpoint.ts';
import { encodeRecord, RECORD_HEADER_BYTES, scanSegment } from './record.ts';
import { damagedEntries, decodeBatchHeader, encodeBatchRecord, entriesOfUndecodable, mergePositions, type BatchData } from './batch-record.ts';
import { readAckPointer, removeStaleTemp, syncDir, writeAckPointer, writeAckPointerSync, type AckPointer } from './ack-pointer.ts';
import type { SpoolConfig } from './config.ts';

/** Sequence numbers reserved at a time; a restart starts above the reservation. */
export const SEQ_RESERVATION = 1_000_000;
const SEGMENT_SUFFIX = '.seg';

export interface SpoolLog {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
}

export interface SpoolOptions extends Omit<SpoolConfig, 'dir'> {
  dir: string;
  log: SpoolLog;
}

interface Segment {
  id: number;
  path: string;
  fh?: FileHandle;
  size: number;
  /** Records not yet acknowledged or dropped. */
  live: number;
  /** No more appends (a new segment was started). */
  sealed: boolean;
}

/** One batch waiting for its ACK. */
export interface SpooledBatch {
  seq: number;
  codec: BatchCodecCode;
  count: number;
  rawBytes: number;
  positions: CheckpointPosition[];
  /** Encoded body, while the batch is held in memory. */
  body?: Buffer;
  /** Where the record is, once written. */
  loc?: { seg: Segment; offset: number; size: number; bodyOffset: number };
  /** Called once when the batch is durable (written, acknowledged or dropped): releases input positions. */
  onDurable?: () => void;
  state: 'queued' | 'acked' | 'dropped';
  /** Handed to the connection at least once. */
  sent: boolean;
  /** Times the aggregator refused the connection while this was the first batch it had not stored. */
  refusals?: number;
}

export interface SpoolStats {
  mode: string;
  queued_batches: number;
  queued_entries: number;
  memory_bytes: number;
  disk_bytes: number;
  segments: number;
  acked_seq: number;
  next_seq: number;
  dropped_entries: number;
  dropped_batches: number;
  /** Entries destroyed by damage to the spool (corrupt records found on open). */
  lost_entries: number;
  /** Batches given new sequence numbers above the aggregator's (spool reset, or a sequence it refused). */
  renumbered_batches: number;
  /** Entries of batches the aggregator refused again and again, set aside (also in dropped_entries). */
  refused_entries: number;
  corrupt_records: number;
  torn_tails: number;
  spilled_batches: number;
  replayed_from_disk: number;
  disk_full: number;
}

export class SpoolFullError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = 'SpoolFullError';
  }
}

export class Spool extends EventEmitter {
  readonly opts: SpoolOptions;
  private queue: SpooledBatch[] = [];
  private head = 0;
  private segments = new Map<number, Segment>();
  private current: Segment | undefined;
  private nextSegmentId = 1;
  private diskBytes = 0;
  private memoryBytes = 0;
  private ackedSeq = 0;
  private nextSeq = 1;
  private reservedSeq = 0;
  private ackedPositions = new Map<string, CheckpointPosition>();
  /** Batches dropped while on the wire: counted only if the aggregator turns out not to hold them. */
  private limbo = new Map<number, number>();
  private io: Promise<unknown> = Promise.resolve();
  private ackChain: Promise<unknown> = Promise.resolve();
  private pointerChain: Promise<unknown> = Promise.resolve();
  private online = false;
  private closed = false;
  private pointerDirty = false;
  private unsynced = new Set<Segment>();
  private syncTimer: NodeJS.Timeout | undefined;
  private spaceWaiters: (() => void)[] = [];
  /** Segments below this id hold only records superseded by renumbered copies. */
  private firstSegment = 0;
  /** While a renumbering's copies are not all on disk: the first segment that holds copies. */
  private rewriteFrom = 0;
  /**
   * Numbers chosen without knowing the aggregator's sequence: a fresh spool directory (first
   * start, or one reset: tmpfs, a replaced SD card, a container without a volume) or a lost
   * pointer, until the first WELCOME. Persisted, so a restart before that WELCOME stays blind.
   */
  private blind = false;
  /** Sequence numbers handed out by allocSeq whose batch is not queued yet, in the order given. */
  private unpushed = new Set<number>();
  /** A renumbering's new number for such a batch (it was numbered before the renumbering). */
  private remap = new Map<number, number>();
  readonly stats = { dropped_entries: 0, dropped_batches: 0, lost_entries: 0, renumbered_batches: 0, refused_entries: 0, corrupt_records: 0, torn_tails: 0, spilled_batches: 0, replayed_from_disk: 0, disk_full: 0 };

  constructor(opts: SpoolOptions) {
    super();
    this.opts = { ...opts, segment_bytes: Math.max(4096, Math.min(opts.segment_bytes, Math.floor(opts.max_bytes / 4))) };
  }

  /** Scans the directory: recovers unacknowledged batches, counts damage, reserves sequence numbers. */
  async open(): Promise<void> {
    const dir = this.opts.dir;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await removeStaleTemp(dir);
    let ptr: AckPointer | undefined;
    try {
      ptr = await readAckPointer(dir);
    } catch (e) {
      // A damaged pointer must not block start-up: replay everything on disk (the aggregator dedups).
      this.opts.log.warn(`${(e as Error).message}; replaying every spooled batch`);
    }
    this.blind = !ptr || ptr.blind === true;
    if (ptr) {
      this.ackedSeq = ptr.ackedSeq;
      this.reservedSeq = ptr.reservedSeq;
      this.firstSegment = ptr.firstSegment ?? 0;
      mergePositions(this.ackedPositions, ptr.positions);
    }
    const recovered: SpooledBatch[] = [];
    let maxSeq = Math.max(this.ackedSeq, this.reservedSeq);
    const ids = (await readdir(dir)).filter((f) => f.endsWith(SEGMENT_SUFFIX)).map((f) => Number.parseInt(f, 10)).filter((n) => Number.isSafeInteger(n) && n > 0).sort((a, b) => a - b);
    for (const id of ids) {
      const path = this.segmentPath(id);
      this.nextSegmentId = Math.max(this.nextSegmentId, id + 1);
      if (id < this.firstSegment) {
        // Superseded by renumbered copies in later segments (a stop between the copy and the delete).
        await unlink(path).catch(() => {});
        continue;
      }
      const buf = await readFile(path);
      const scan = scanSegment(buf);
      const seg: Segment = { id, path, size: buf.length, live: 0, sealed: true };
      this.stats.corrupt_records += scan.corrupt.length;
      if (scan.corrupt.length) {
        // The entries those records held are gone: count them, not only the records.
        let lost = 0;
        let illegible = 0;
        for (const region of scan.corrupt) {
          const d = damagedEntries(buf, region, this.ackedSeq, RECORD_HEADER_BYTES);
          lost += d.entries;
          illegible += d.illegible;
        }
        this.stats.lost_entries += lost + illegible;
        this.opts.log.warn(`spool segment ${path}: skipped ${scan.corrupt.length} corrupt record(s); ${illegible ? `at least ${lost + illegible}` : lost} entries lost`);
      }
      if (scan.tornTail) {
        this.stats.torn_tails++;
        this.opts.log.warn(`spool segment ${path}: torn write of ${scan.tornTail.bytes} bytes at offset ${scan.tornTail.offset} skipped`);
      }
      for (const r of scan.records) {
        maxSeq = Math.max(maxSeq, r.seq);
        let h;
        try {
          h = decodeBatchHeader(r.payload);
        } catch (e) {
          this.stats.corrupt_records++;
          if (r.seq > this.ackedSeq) this.stats.lost_entries += entriesOfUndecodable(r.payload);
          this.opts.log.warn(`spool segment ${path} seq ${r.seq}: ${(e as Error).message}`);
          continue;
        }
        for (const p of h.positions) recordRecoveredPosition(p);
        if (r.seq <= this.ackedSeq) continue;
        seg.live++;
        recovered.push({
          seq: r.seq, codec: h.codec, count: h.count, rawBytes: h.rawBytes, positions: h.positions, state: 'queued', sent: false,
          loc: { seg, offset: r.offset, size: r.size, bodyOffset: RECORD_HEADER_BYTES + h.bodyOffset },
        });
      }
      this.nextSegmentId = Math.max(this.nextSegmentId, id + 1);
      if (seg.live === 0) {
        await unlink(path).catch(() => {});
        continue;
      }
      this.segments.set(id, seg);
      this.diskBytes += seg.size;
    }
    for (const p of this.ackedPositions.values()) recordRecoveredPosition(p);
    // Sequence order, one batch per seq (a spill after a crash could in principle repeat one).
    recovered.sort((a, b) => a.seq - b.seq);
    for (const b of recovered) {
      if (this.queue.length && this.queue[this.queue.length - 1]!.seq === b.seq) {
        b.loc!.seg.live--;
        continue;
      }
      this.queue.push(b);
    }
    this.nextSeq = maxSeq + 1;
    this.reservedSeq = this.nextSeq + SEQ_RESERVATION - 1;
    await this.persistPointer(true);
    if (this.queue.length) {
      this.opts.log.info(`spool: ${this.queue.length} batch(es), ${this.queuedEntries()} entries to replay from ${dir}`);
    }
    if (this.opts.fsync === 'interval') {
      this.syncTimer = setInterval(() => void this.serial(() => this.syncPending()), this.opts.fsync_interval);
      this.syncTimer.unref();
    }
  }

  private segmentPath(id: number): string {
    return join(this.opts.dir, String(id).padStart(12, '0') + SEGMENT_SUFFIX);
  }

  /** Runs disk work one piece at a time, in order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.io.then(fn);
    this.io = p.catch(() => {});
    return p;
  }

  /** A sequence number for a new batch; never one used before, even across crashes. */
  async allocSeq(): Promise<number> {
    const seq = this.nextSeq++;
    this.unpushed.add(seq);
    if (seq > this.reservedSeq) {
      this.reservedSeq = seq + SEQ_RESERVATION - 1;
      await this.serial(() => this.persistPointer(true));
    }
    return seq;
  }

  get lastAcked(): number {
    return this.ackedSeq;
  }

  private queuedEntries(): number {
    let n = 0;
    for (let i = this.head; i < this.queue.length; i++) if (this.queue[i]!.state === 'queued') n += this.queue[i]!.count;
    return n;
  }

  get length(): number {
    return this.queue.length - this.head;
  }

  /**
   * Takes a sealed batch. Resolves once it is held according to the mode (in memory, or written
   * and synced per policy); with when_full block it resolves only when there is room.
   */
  async push(data: BatchData, seq: number, positions: CheckpointPosition[], onDurable?: () => void): Promise<void> {
    if (this.closed) throw new Error('spool is closed');
    // Numbered before a renumbering moved everything above the aggregator's sequence: its new number.
    const given = seq;
    const b: SpooledBatch = { seq: this.remap.get(given) ?? seq, codec: data.codec, count: data.count, rawBytes: data.rawBytes, positions, body: data.body, onDurable, state: 'queued', sent: false };
    const toDisk = this.opts.mode === 'always' || !this.online || this.memoryBytes + data.body.length > this.opts.memory_max_bytes;
    const queued = () => {
      this.unpushed.delete(given);
      this.remap.delete(given);
    };
    if (!toDisk) {
      queued();
      this.enqueue(b);
      this.memoryBytes += data.body.length;
      this.emit('ready');
      return;
    }
    await this.serial(async () => {
      // A renumbering may have run (in this chain) since push was called.
      b.seq = this.remap.get(given) ?? b.seq;
      await this.spillMemory();
      const ok = await this.writeBatch(b);
      queued();
      if (!ok) return;
      b.body = undefined;
      this.enqueue(b);
      await this.syncAfterWrite();
      this.durable(b);
    });
    this.emit('ready');
  }

  private enqueue(b: SpooledBatch): void {
    const last = this.queue[this.queue.length - 1];
    if (last && last.seq > b.seq && this.length > 0) {
      // Batches arrive in seq order; keep the queue sorted even if a caller breaks that.
      let i = this.queue.length;
      while (i > this.head && this.queue[i - 1]!.seq > b.seq) i--;
      this.queue.splice(i, 0, b);
    } else this.queue.push(b);
  }

  private durable(b: SpooledBatch): void {
    const f = b.onDurable;
    b.onDurable = undefined;
    f?.();
  }

  /** Writes every memory-only batch to disk, oldest first (uplink down, memory bound, stop). */
  private async spillMemory(): Promise<void> {
    const spilled: SpooledBatch[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const b = this.queue[i]!;
      if (b.state !== 'queued' || b.loc || !b.body) continue;
      const len = b.body.length;
      if (!(await this.writeBatch(b, true))) continue;
      this.memoryBytes -= len;
      b.body = undefined;
      spilled.push(b);
    }
    if (!spilled.length) return;
    this.stats.spilled_batches += spilled.length;
    await this.syncAfterWrite();
    for (const b of spilled) this.durable(b);
  }

  /**
   * Appends one record, making room per when_full. Returns false when the batch was dropped
   * (drop_newest, or it cannot fit at all); the drop is counted and its positions released.
   */
  private async writeBatch(b: SpooledBatch, alreadyQueued = false): Promise<boolean> {
    const rec = encodeRecord(b.seq, encodeBatchRecord({ codec: b.codec, count: b.count, rawBytes: b.rawBytes, body: b.body! }, b.positions));
    for (let attempt = 0; ; attempt++) {
      if (!(await this.makeRoom(rec.length, b))) {
        this.dropBatch(b, alreadyQueued);
        return false;
      }
      const seg = await this.writableSegment(rec.length);
      try {
        const { bytesWritten } = await seg.fh!.write(rec, 0, rec.length, seg.size);
        if (bytesWritten !== rec.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // Cut what may have landed, so no torn record sits before later appends.
        await seg.fh!.truncate(seg.size).catch(() => {});
        if (code !== 'ENOSPC' && code !== 'EDQUOT') throw e;
        this.stats.disk_full++;
        this.opts.log.warn(`spool: ${this.opts.dir}: disk full (${code}); treating the spool as full`);
        // ENOSPC behaves as full: the bound is now what is on disk.
        if (attempt >= 3 || !(await this.freeForFull(b))) {
          this.dropBatch(b, alreadyQueued);
          return false;
        }
        continue;
      }
      b.loc = { seg, offset: seg.size, size: rec.length, bodyOffset: rec.length - b.body!.length };
      seg.size += rec.length;
      seg.live++;
      this.diskBytes += rec.length;
      this.unsynced.add(seg);
      return true;
    }
  }

  /** After ENOSPC: drop_oldest frees a segment; block waits for acks; drop_newest gives up. */
  private async freeForFull(b: SpooledBatch): Promise<boolean> {
    if (this.opts.when_full === 'drop_oldest') return this.dropOldestSegment(b);
    if (this.opts.when_full === 'block' && !this.closed) {
      await this.waitForSpace();
      return true;
    }
    return false;
  }

  private async makeRoom(bytes: number, b: SpooledBatch): Promise<boolean> {
    if (bytes > this.opts.max_bytes) {
      this.opts.log.warn(`spool: batch ${b.seq} of ${bytes} bytes is larger than max_bytes ${this.opts.max_bytes}`);
      return false;
    }
    while (this.diskBytes + bytes > this.opts.max_bytes) {
      if (this.closed) return true; // On the way out nothing is dropped: overshoot the bound once.
      if (this.opts.when_full === 'drop_newest') return false;
      if (this.opts.when_full === 'block') {
        await this.retireCurrentIfDead();
        if (this.diskBytes + bytes <= this.opts.max_bytes) break;
        await this.waitForSpace();
        continue;
      }
      if (!(await this.dropOldestSegment(b))) return false;
    }
    return true;
  }

  private waitForSpace(): Promise<void> {
    this.emit('blocked');
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  private wakeSpace(): void {
    const w = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const f of w) f();
  }

  /** Drops the oldest segment and every batch in it; false when there is none but the one being written. */
  private async dropOldestSegment(except: SpooledBatch): Promise<boolean> {
    let oldest: Segment | undefined;
    for (const s of this.segments.values()) if (!oldest || s.id < oldest.id) oldest = s;
    if (!oldest) return false;
    for (let i = this.head; i < this.queue.length; i++) {
      const q = this.queue[i]!;
      if (q !== except && q.loc?.seg === oldest && q.state === 'queued') this.dropBatch(q, true);
    }
    this.compact();
    await this.removeSegment(oldest);
    this.opts.log.warn(`spool: full (max_bytes ${this.opts.max_bytes}); dropped the oldest segment ${oldest.path}`);
    return true;
  }

  /** `lost`: destroyed rather than dropped by policy (counted in lost_entries, at once). */
  private dropBatch(b: SpooledBatch, queued: boolean, lost = false): void {
    b.state = 'dropped';
    if (lost) this.stats.lost_entries += b.count;
    else if (b.sent) this.limbo.set(b.seq, b.count);
    else {
      this.stats.dropped_entries += b.count;
      this.stats.dropped_batches++;
    }
    if (b.body && !b.loc && queued) this.memoryBytes -= b.body.length;
    b.body = undefined;
    if (b.loc) b.loc.seg.live--;
    this.durable(b);
  }

  private async writableSegment(bytes: number): Promise<Segment> {
    let seg = this.current;
    if (seg && seg.size > 0 && seg.size + bytes > this.opts.segment_bytes) {
      seg.sealed = true;
      if (this.opts.fsync !== 'interval' && this.unsynced.has(seg)) await this.syncSegment(seg);
      this.current = undefined;
      if (seg.live === 0) await this.removeSegment(seg);
      seg = undefined;
    }
    if (!seg) {
      const id = this.nextSegmentId++;
      seg = { id, path: this.segmentPath(id), size: 0, live: 0, sealed: false };
      try {
        seg.fh = await open(seg.path, 'wx+', 0o600);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        // The spool directory was removed under us (an operator, a tmpfs cleaner): make it again
        // rather than lose every batch from now on.
        this.opts.log.warn(`spool: ${this.opts.dir} vanished; creating it again`);
        await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
        seg.fh = await open(seg.path, 'wx+', 0o600);
      }
      this.segments.set(id, seg);
      this.current = seg;
      if (this.opts.fsync !== 'interval') await syncDir(this.opts.dir);
    }
    return seg;
  }

  private async syncSegment(seg: Segment): Promise<void> {
    this.unsynced.delete(seg);
    await seg.fh?.datasync().catch(() => {});
  }

  private async syncPending(): Promise<void> {
    for (const s of [...this.unsynced]) await this.syncSegment(s);
    if (this.pointerDirty) await this.persistPointer(this.opts.fsync !== 'interval');
  }

  private async syncAfterWrite(): Promise<void> {
    if (this.opts.fsync === 'interval') return;
    for (const s of [...this.unsynced]) await this.syncSegment(s);
  }

  private async removeSegment(seg: Segment): Promise<void> {
    this.segments.delete(seg.id);
    this.unsynced.delete(seg);
    if (this.current === seg) this.current = undefined;
    this.diskBytes -= seg.size;
    const fh = seg.fh;
    seg.fh = undefined;
    await fh?.close().catch(() => {});
    await unlink(seg.path).catch(() => {});
    this.wakeSpace();
  }

  /** The uplink state: going offline writes the memory batches out (mode memory). */
  setOnline(online: boolean): void {
    this.online = online;
    if (!online && this.opts.mode === 'memory' && this.memoryBytes > 0 && !this.closed) void this.serial(() => this.spillMemory()).catch((e) => this.opts.log.error(`spool: ${(e as Error).message}`));
  }

  /** The first queued batch with seq > after, in order. */
  nextAfter(after: number): SpooledBatch | undefined {
    let lo = this.head, hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.queue[mid]!.seq <= after) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.queue.length; i++) if (this.queue[i]!.state === 'queued') return this.queue[i];
    return undefined;
  }

  /** The encoded batch, from memory or read back from its segment. */
  async load(b: SpooledBatch): Promise<BatchData | undefined> {
    b.sent = true;
    if (b.body) return { codec: b.codec, count: b.count, rawBytes: b.rawBytes, body: b.body };
    const loc = b.loc;
    if (!loc || b.state !== 'queued') return undefined;
    const len = loc.size - loc.bodyOffset;
    const body = Buffer.allocUnsafe(len);
    try {
      if (!loc.seg.fh) loc.seg.fh = await open(loc.seg.path, 'r');
      await loc.seg.fh.read(body, 0, len, loc.offset + loc.bodyOffset);
    } catch (e) {
      // The segment was dropped (when_full) while we read it.
      if (b.state !== 'queued') return undefined;
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      // Its file was deleted under us: the batch cannot be sent, ever. Counted, never retried
      // (a retry would fail the same way on every connection).
      this.opts.log.error(`spool: ${loc.seg.path} vanished; batch ${b.seq} (${b.count} entries) is lost`);
      this.dropBatch(b, true, true);
      return undefined;
    }
    if (b.state !== 'queued') return undefined;
    this.stats.replayed_from_disk++;
    return { codec: b.codec, count: b.count, rawBytes: b.rawBytes, body };
  }

  /**
   * The aggregator holds every batch up to seq (cumulative ACK, or WELCOME's last_seq).
   * Removes them, releases their input positions and frees segments.
   */
  ack(seq: number): void {
    if (seq <= this.ackedSeq && this.limbo.size === 0) return;
    if (seq > this.ackedSeq) this.ackedSeq = seq;
    while (this.head < this.queue.length && this.queue[this.head]!.seq <= seq) {
      const b = this.queue[this.head++]!;
      if (b.state === 'queued') {
        b.state = 'acked';
        if (b.body && !b.loc) this.memoryBytes -= b.body.length;
        b.body = undefined;
        if (b.loc) b.loc.seg.live--;
        mergePositions(this.ackedPositions, b.positions);
        this.durable(b);
      }
    }
    for (const s of [...this.limbo.keys()]) if (s <= seq) this.limbo.delete(s);
    this.compact();
    this.pointerDirty = true;
    // Mode memory with nothing on disk writes no pointer per ACK (flash wear); close() writes it.
    // Not behind the write chain: a writer blocked on a full spool waits for exactly this cleanup.
    if (this.segments.size > 0) {
      this.ackChain = this.ackChain.then(() => this.afterAck()).catch((e) => this.opts.log.error(`spool: ${(e as Error).message}`));
    }
  }

  /**
   * The connection was (re)established and the aggregator said what it holds (WELCOME's
   * last_seq). Batches dropped while on the wire and not held by it are now known to be lost:
   * count them. Then either acknowledge up to last_seq, or renumber:
   *
   * - last_seq at or above anything this spool ever numbered means the aggregator's sequence is
   *   not this spool's (the spool directory was reset: tmpfs, a new SD card, a container without
   *   a volume; or another sender used this node id). Every queued batch was numbered without
   *   knowing it and none of them can have been stored: acknowledging them would lose them
   *   unseen. They are renumbered from last_seq + 1, in order.
   * - `refused`: the aggregator refused the last connection's batches (a sequence it will not
   *   take). Batches up to last_seq are stored; the rest are renumbered from last_seq + 1.
   *
   * Renumbered batches on disk are copied, with their new numbers, into fresh segments before
   * anything is sent (the copies are synced, then the pointer records that older segments are
   * superseded, then those are deleted), so a crash at any point replays each batch under one
   * number the aggregator has not stored. Returns how many batches were renumbered, or
   * `exhausted` when numbers above last_seq would pass 2^53-1 (nothing is changed then).
   */
  async welcome(lastSeq: number, refused = false): Promise<number | 'exhausted'> {
    for (const [s, count] of this.limbo) {
      if (s > lastSeq) {
        this.stats.dropped_entries += count;
        this.stats.dropped_batches++;
      }
    }
    this.limbo.clear();
    if (!this.blind && lastSeq < this.nextSeq && !refused && !this.rewriteFrom) {
      this.ack(lastSeq);
      return 0;
    }
    // In the write chain: a batch being written now is queued before the decision, one pushed
    // later is written under its new number.
    return this.serial(async () => {
      let pending: SpooledBatch[] = [];
      for (let i = this.head; i < this.queue.length; i++) if (this.queue[i]!.state === 'queued') pending.push(this.queue[i]!);
      // Blind numbers at or below last_seq: none of those batches was ever sent, so none is stored.
      const foreign = lastSeq >= this.nextSeq || (this.blind && pending.length > 0 && pending[0]!.seq <= lastSeq);
      if (!foreign) {
        this.ack(lastSeq);
        pending = pending.filter((b) => b.state === 'queued');
      }
      const renumber = foreign || (refused && pending.length + this.unpushed.size > 0);
      if (renumber && lastSeq + pending.length + this.unpushed.size >= Number.MAX_SAFE_INTEGER) return 'exhausted';
      const wasBlind = this.blind;
      this.blind = false;
      if (renumber) {
        const highest = this.nextSeq - 1;
        let seq = lastSeq;
        for (const b of pending) b.seq = ++seq;
        // Numbers handed out but not yet queued follow, in the order they were given.
        for (const given of this.unpushed) this.remap.set(given, ++seq);
        // Only queued batches stay: dropped or acknowledged ones keep old numbers and would break the order.
        this.queue = pending;
        this.head = 0;
        this.nextSeq = seq + 1;
        this.reservedSeq = this.nextSeq + SEQ_RESERVATION - 1;
        this.stats.renumbered_batches += pending.length;
        if (pending.length) {
          this.opts.log.warn(foreign
            ? `spool: the aggregator holds seq ${lastSeq}, ${wasBlind ? 'and this spool numbered its batches before it knew that' : 'beyond anything this spool numbered'} (was the spool directory reset?); renumbering ${pending.length} unsent batch(es) from ${lastSeq + 1}`
            : `spool: the aggregator refused this agent's sequence; renumbering ${pending.length} unsent batch(es) from ${lastSeq + 1}`);
        } else if (foreign) this.opts.log.warn(`spool: the aggregator holds seq ${lastSeq}, beyond this agent's ${highest} (was the spool directory reset?); continuing above it`);
      }
      // Only a renumbering (now, or one whose copy was cut short) rewrites records.
      if (renumber || this.rewriteFrom) await this.rewriteRenumbered();
      this.ackedSeq = Math.max(this.ackedSeq, lastSeq);
      this.pointerDirty = true;
      await this.persistPointer(true);
      for (const seg of [...this.segments.values()]) if (seg.id < this.firstSegment && seg.live === 0) await this.removeSegment(seg);
      return renumber ? pending.length : 0;
    });
  }

  /**
   * Copies every queued batch still in a segment older than the renumbering into fresh segments,
   * under its new number, and syncs them; then marks the older segments superseded. Overshoots
   * max_bytes for the moment (the old segments are deleted right after). Resumable: a failure
   * (disk full) leaves rewriteFrom set and the next welcome finishes the copy.
   */
  private async rewriteRenumbered(): Promise<void> {
    // Every segment that exists now is older than the copies (they start at nextSegmentId).
    const stale = (b: SpooledBatch) => b.state === 'queued' && b.loc !== undefined && b.loc.seg.id < (this.rewriteFrom || this.nextSegmentId);
    let any = false;
    for (let i = this.head; i < this.queue.length; i++) if (stale(this.queue[i]!)) any = true;
    if (!any) {
      if (this.rewriteFrom) this.firstSegment = this.rewriteFrom;
      this.rewriteFrom = 0;
      return;
    }
    if (!this.rewriteFrom) {
      // Copies start in a segment of their own, so every older segment holds only superseded records.
      const cur = this.current;
      if (cur) {
        cur.sealed = true;
        this.current = undefined;
      }
      this.rewriteFrom = this.nextSegmentId;
    }
    for (let i = this.head; i < this.queue.length; i++) {
      const b = this.queue[i]!;
      if (!stale(b)) continue;
      const old = b.loc!;
      const payload = Buffer.allocUnsafe(old.size - RECORD_HEADER_BYTES);
      if (!old.seg.fh) old.seg.fh = await open(old.seg.path, 'r');
      await old.seg.fh.read(payload, 0, payload.length, old.offset + RECORD_HEADER_BYTES);
      const rec = encodeRecord(b.seq, payload);
      const seg = await this.writableSegment(rec.length);
      const { bytesWritten } = await seg.fh!.write(rec, 0, rec.length, seg.size);
      if (bytesWritten !== rec.length) {
        await seg.fh!.truncate(seg.size).catch(() => {});
        throw new Error(`spool: short write while renumbering into ${seg.path}`);
      }
      const at = seg.size;
      seg.size += rec.length;
      this.diskBytes += rec.length;
      this.unsynced.add(seg);
      if (b.state !== 'queued' || b.loc !== old) continue; // acknowledged or dropped meanwhile: the copy is dead
      b.loc = { seg, offset: at, size: rec.length, bodyOffset: old.bodyOffset };
      seg.live++;
      old.seg.live--;
    }
    for (const s of [...this.unsynced]) await this.syncSegment(s);
    this.firstSegment = this.rewriteFrom;
    this.rewriteFrom = 0;
  }

  /**
   * The aggregator refused this batch again and again (it is the first one it has not stored,
   * and renumbering did not help): set it aside so the batches behind it can go. Counted in
   * dropped_entries and refused_entries.
   */
  setAside(b: SpooledBatch): void {
    if (b.state !== 'queued') return;
    this.stats.refused_entries += b.count;
    b.sent = false; // known not stored: count it now, not after the next WELCOME
    this.dropBatch(b, true);
    this.pointerDirty = true;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  /** Persists the pointer, then deletes sealed segments with nothing left to send; wakes a blocked writer. */
  private async afterAck(): Promise<void> {
    if (this.pointerDirty && this.opts.fsync !== 'interval') await this.persistPointer(true);
    for (const seg of [...this.segments.values()]) {
      if (seg.live > 0 || seg === this.current) continue;
      if (this.pointerDirty) await this.persistPointer(this.opts.fsync !== 'interval');
      await this.removeSegment(seg);
    }
    // Mode memory: batches went to disk only for a while (the uplink was down, or not yet up at
    // start). Once they are all acknowledged the open segment goes too; otherwise the disk would
    // never be empty again, and every later ACK would rewrite and fsync the pointer (flash wear,
    // and two fsyncs per batch on the forwarding path). In the write chain, where the segment is
    // written; not awaited here, since a writer blocked on a full spool waits for this clean-up.
    if (this.opts.mode === 'memory' && this.current && this.current.live === 0 && this.segments.size === 1) {
      void this.serial(() => this.retireCurrentIfDead()).catch((e) => this.opts.log.error(`spool: ${(e as Error).message}`));
    }
    this.wakeSpace();
  }

  /** Resolves once the disk work asked for so far (ACK clean-up, writes, spills) is done. */
  async settled(): Promise<void> {
    await this.ackChain;
    await this.serial(async () => {});
  }

  /** In the write chain: the current segment holds only acknowledged records; delete it. */
  private async retireCurrentIfDead(): Promise<void> {
    const seg = this.current;
    if (!seg || seg.live > 0 || seg.size === 0) return;
    seg.sealed = true;
    this.current = undefined;
    if (this.pointerDirty) await this.persistPointer(this.opts.fsync !== 'interval');
    await this.removeSegment(seg);
  }

  private pointer(): AckPointer {
    return { ackedSeq: this.ackedSeq, reservedSeq: this.reservedSeq, positions: [...this.ackedPositions.values()], firstSegment: this.firstSegment, blind: this.blind };
  }

  /** One pointer write at a time (the write chain and the ACK chain both write it). */
  private persistPointer(sync: boolean): Promise<void> {
    const p = this.pointerChain.then(async () => {
      this.pointerDirty = false;
      try {
        await writeAckPointer(this.opts.dir, this.pointer(), sync);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        await mkdir(this.opts.dir, { recursive: true, mode: 0o700 });
        await writeAckPointer(this.opts.dir, this.pointer(), sync);
      }
    });
    this.pointerChain = p.catch(() => {});
    return p;
  }

  /**
   * Orderly stop: mode memory writes unacknowledged batches out (so they survive the restart),
   * everything is synced and the pointer written.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.syncTimer);
    this.wakeSpace();
    await this.ackChain;
    await this.serial(async () => {
      await this.spillMemory();
      for (const s of [...this.unsynced]) await this.syncSegment(s);
      await this.persistPointer(true);
      for (const s of this.segments.values()) {
        const fh = s.fh;
        s.fh = undefined;
        await fh?.close().catch(() => {});
      }
    });
  }

  /** Last resort on a fatal signal: write the pointer synchronously. */
  closeSync(): void {
    writeAckPointerSync(this.opts.dir, this.pointer());
  }

  status(): SpoolStats {
    return {
      mode: this.opts.mode, queued_batches: this.queue.slice(this.head).filter((b) => b.state === 'queued').length, queued_entries: this.queuedEntries(), memory_bytes: this.memoryBytes,
      disk_bytes: this.diskBytes, segments: this.segments.size, acked_seq: this.ackedSeq, next_seq: this.nextSeq, ...this.stats,
    };
  }
}
