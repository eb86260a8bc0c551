/**
 * What the pipeline moves in one step, and what every filter and sink is handed: a run of entry
 * records (agent/buffer/records.ts) as they came out of the ring, with whatever travels in each
 * record's header (checkpoint token, input id). A stage that works on bytes (C plugins, the
 * compiled-in filters but plugin_logger, the forwarder, the static sinks) reads the records; a
 * stage that needs fields reads lazy views (view(i), records.view), one per record, carried on
 * with the records a filter keeps so that the next filter reads what one decoded for free; a
 * stage that needs whole objects (a Python or socket plugin, a chain trace) reads entries(),
 * decoded once per batch and shared by every stage after it, so a chain trace and a replacement
 * copy follow the same object.
 *
 * A filter's verdicts make the next batch: kept records are copied as they are, a replacement
 * entry becomes a new record with the original's header (so its token and input follow it), and
 * a dropped record releases its token (finished: its input may move on).
 */
import { encodeEntry } from '../../entry/codec.ts';
import { freezeEntry, type LogEntry } from '../../entry/entry.ts';
import { KEYED, keyedRecord, recordStart, type EntryRecords } from '../buffer/records.ts';
import { RecordView } from '../buffer/record-view.ts';
import { moveCheckpoint, releaseToken, tokenToEntry } from '../../entry/checkpoint.ts';

/** One verdict per entry: keep, drop, or a replacement entry that continues in its place. */
export type Verdict = boolean | LogEntry;

export class RecordBatch {
  readonly records: EntryRecords;
  private offs?: Uint32Array;
  private decoded?: LogEntry[];
  private viewed?: RecordView[];
  /**
   * The frames are this batch's alone (fresh out of the ring, not yet handed to a sink): a
   * filter's drops may then close the gaps in place (apply) instead of copying the kept records
   * into a new Buffer, memory V8 counts towards its next full collection.
   */
  private owned: boolean;

  constructor(records: EntryRecords, entries?: LogEntry[], views?: RecordView[], owned = false) {
    this.records = { frames: records.frames, count: records.count, view: (i) => this.view(i) };
    this.decoded = entries;
    this.viewed = views;
    this.owned = owned;
  }

  /** Frames records (payloads with their headers) into a batch. */
  static of(payloads: readonly Buffer[]): RecordBatch {
    let total = 0;
    for (const p of payloads) total += 4 + p.length;
    const frames = Buffer.allocUnsafe(total);
    let o = 0;
    for (const p of payloads) {
      frames.writeUInt32LE(p.length, o);
      o += 4 + p.copy(frames, o + 4);
    }
    return new RecordBatch({ frames, count: payloads.length });
  }

  get count(): number {
    return this.records.count;
  }

  get frames(): Buffer {
    return this.records.frames;
  }

  /** Where record i's frame starts (its u32 length). */
  offset(i: number): number {
    if (!this.offs) {
      const f = this.records.frames;
      const offs = new Uint32Array(this.records.count + 1);
      let off = 0;
      for (let k = 0; k < this.records.count; k++) {
        offs[k] = off;
        off += 4 + f.readUInt32LE(off);
      }
      offs[this.records.count] = off;
      this.offs = offs;
    }
    return this.offs[i]!;
  }

  /** Record i's token and input id (0 when it carries none). */
  token(i: number): number {
    const off = this.offset(i);
    return this.records.frames[off + 4] === KEYED ? this.records.frames.readUInt32LE(off + 5) : 0;
  }

  input(i: number): number {
    const off = this.offset(i);
    return this.records.frames[off + 4] === KEYED ? this.records.frames.readUInt16LE(off + 9) : 0;
  }

  /** A lazy read-only view of record i (decodes only the fields read). */
  view(i: number): LogEntry {
    if (this.decoded) return this.decoded[i]!;
    const views = (this.viewed ??= new Array(this.records.count));
    let v = views[i];
    if (!v) {
      const off = this.offset(i);
      v = views[i] = new RecordView(this.records.frames, recordStart(this.records.frames, off), off + 4 + this.records.frames.readUInt32LE(off));
    }
    return v;
  }

  /**
   * The batch without its views, for a queue that holds it: a view apply() carried on reads the
   * frames of the batch it was made in, and would keep that whole buffer alive behind the few
   * records a filter kept of it. Views are made again, of these frames, when read.
   */
  withoutViews(): RecordBatch {
    return this.viewed ? new RecordBatch(this.records, this.decoded) : this;
  }

  /** Whether entries() was already decoded (a stage needed objects). */
  get hasEntries(): boolean {
    return this.decoded !== undefined;
  }

  /**
   * The entries as frozen objects, decoded once and shared by the stages that need them. Each
   * answers for its record's checkpoint (checkpointOf), so holds on either count together.
   */
  entries(): LogEntry[] {
    if (this.decoded) return this.decoded;
    const f = this.records.frames;
    const out: LogEntry[] = new Array(this.records.count);
    for (let i = 0; i < this.records.count; i++) {
      const off = this.offset(i);
      const e = freezeEntry(JSON.parse(f.toString('utf8', recordStart(f, off), off + 4 + f.readUInt32LE(off))) as LogEntry);
      const t = this.token(i);
      if (t) tokenToEntry(t, e);
      out[i] = e;
    }
    return (this.decoded = out);
  }

  /** Records [from, to) as a batch of their own (the entries or views too, when made). */
  slice(from: number, to: number): RecordBatch {
    if (from === 0 && to >= this.count) return this;
    const frames = this.records.frames.subarray(this.offset(from), this.offset(to));
    return new RecordBatch({ frames, count: to - from }, this.decoded?.slice(from, to), this.viewed?.slice(from, to));
  }

  /** The records whose index is selected, in order (a route's selection). */
  select(keep: ArrayLike<boolean>): RecordBatch {
    return this.apply(Array.from({ length: this.count }, (_, i) => keep[i] === true), false);
  }

  /**
   * The next batch after a filter's verdicts. release: a dropped record is finished (the global
   * chain); a route's filter drops it for that route only (the pipeline's hold covers the rest).
   */
  apply(verdicts: ArrayLike<Verdict>, release = true): RecordBatch {
    let same = true;
    let replaced = false;
    for (let i = 0; i < this.count; i++) {
      const v = verdicts[i];
      if (v !== true) same = false;
      if (v !== true && v !== false && v !== undefined && v !== null) replaced = true;
    }
    if (same) return this;
    if (this.owned && release && !replaced && !this.decoded && !this.viewed) return this.dropInPlace(verdicts);
    const f = this.records.frames;
    const parts: Buffer[] = [];
    const entries: LogEntry[] | undefined = this.decoded ? [] : undefined;
    // A kept record's view goes on with it (a view reads the bytes it was made on, which are
    // the same in the next batch's frames), so what it decoded is not decoded again.
    const views: RecordView[] | undefined = this.viewed && !this.decoded ? [] : undefined;
    let runStart = -1;
    let count = 0;
    const endRun = (i: number) => {
      if (runStart >= 0) parts.push(f.subarray(this.offset(runStart), this.offset(i)));
      runStart = -1;
    };
    for (let i = 0; i < this.count; i++) {
      const v = verdicts[i];
      if (v === true) {
        if (runStart < 0) runStart = i;
        entries?.push(this.decoded![i]!);
        if (views) views[count] = this.viewed![i]!;
        count++;
        continue;
      }
      endRun(i);
      if (v === false || v === undefined || v === null) {
        if (release) {
          const t = this.token(i);
          if (t) releaseToken(t);
        }
        continue;
      }
      // A replacement: a new record behind the original's header, so its token and input follow it.
      const token = this.token(i);
      const input = this.input(i);
      const json = encodeEntry(v);
      const rec = token || input ? keyedRecord(json, token, input) : Buffer.from(json, 'utf8');
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32LE(rec.length, 0);
      parts.push(len, rec);
      if (entries) {
        moveCheckpoint(this.decoded![i]!, v);
        entries.push(v);
      }
      count++;
    }
    endRun(this.count);
    if (views) views.length = count;
    // One run that is most of the frames is kept as a view of them; a smaller one is copied, so that
    // a few records kept of a batch do not keep the whole batch's buffer alive in a sink queue.
    const frames = parts.length === 1 && parts[0]!.length * 2 >= f.length ? parts[0]! : Buffer.concat(parts);
    return new RecordBatch({ frames, count }, entries, views);
  }

  /**
   * apply() for an owned batch whose verdicts only keep or drop: the kept runs move down over the
   * dropped records in the same Buffer (each run to an offset at or before its own, so what is
   * still to be read is never overwritten). This batch is spent: its frames now belong to the
   * result, and nothing reads it again (the pipeline goes on with the result).
   */
  private dropInPlace(verdicts: ArrayLike<Verdict>): RecordBatch {
    const f = this.records.frames;
    this.offset(0); // every offset, read before anything moves
    let to = 0;
    let count = 0;
    let runStart = -1;
    const endRun = (i: number) => {
      if (runStart < 0) return;
      const from = this.offset(runStart);
      const end = this.offset(i);
      if (from !== to) f.copyWithin(to, from, end);
      to += end - from;
      runStart = -1;
    };
    for (let i = 0; i < this.count; i++) {
      if (verdicts[i] === true) {
        if (runStart < 0) runStart = i;
        count++;
        continue;
      }
      // Dropped is finished: its token is released (read before the run after it moves down).
      const t = this.token(i);
      if (t) releaseToken(t);
      endRun(i);
    }
    endRun(this.count);
    this.owned = false;
    return new RecordBatch({ frames: f.subarray(0, to), count }, undefined, undefined, true);
  }

  /** Batches back to back, as one (a sink's queue joins small runs). */
  static join(batches: readonly RecordBatch[]): RecordBatch {
    if (batches.length === 1) return batches[0]!;
    let count = 0;
    for (const b of batches) count += b.count;
    const entries = batches.every((b) => b.decoded) ? batches.flatMap((b) => b.decoded!) : undefined;
    return new RecordBatch({ frames: Buffer.concat(batches.map((b) => b.records.frames)), count }, entries);
  }
}

/** A JS entry as a record for a batch (tests and benches; inputs' drafts become records through their codec): keyed when something travels with it. */
export function entryRecord(entry: LogEntry, token = 0, input = 0): Buffer {
  const json = encodeEntry(entry);
  return token || input ? keyedRecord(json, token, input) : Buffer.from(json, 'utf8');
}
