/**
 * Entry records and the records path (ARCHITECTURE §9, docs/c-plugins.md). In the ring, entries
 * are records framed `u32 length (LE) | payload`, each payload one entry as NDJSON (encodeEntry's
 * bytes), optionally preceded by 'E' (made by the fast codec). When every stage an entry meets can
 * work on these bytes (C filters, filter_level, the forwarder), the pipeline hands them a run of
 * records as they came out of the ring, and the entries never become JS objects.
 * native/common/records.c is the C reader of the same form.
 */
import { freezeEntry, type LogEntry } from '../entry/entry.ts';
import { forEachFrame } from './ring.ts';

const E = 0x45;
const NL = 0x0a;

/** A run of entry records: `count` frames back to back. */
export interface EntryRecords {
  readonly frames: Buffer;
  readonly count: number;
}

export function isRecords(x: unknown): x is EntryRecords {
  return typeof x === 'object' && x !== null && Buffer.isBuffer((x as EntryRecords).frames);
}

/** The NDJSON bytes of a record's payload (without the codec's 'E'). */
export function recordJson(payload: Buffer): Buffer {
  return payload[0] === E ? payload.subarray(1) : payload;
}

/** The records whose verdict is true, in order (one copy into a new buffer). */
export function keepRecords(r: EntryRecords, keep: ArrayLike<boolean>): EntryRecords {
  let bytes = 0;
  let count = 0;
  forEachFrame(r.frames, (p, i) => {
    if (keep[i]) (bytes += 4 + p.length), count++;
  });
  if (count === r.count) return r;
  const out = Buffer.allocUnsafe(bytes);
  let off = 0;
  forEachFrame(r.frames, (p, i) => {
    if (!keep[i]) return;
    out.writeUInt32LE(p.length, off);
    p.copy(out, off + 4);
    off += 4 + p.length;
  });
  return { frames: out, count };
}

/**
 * NDJSON (each entry then `\n`) for records [from, to): the body of a forward BATCH. `to` past the
 * end means all. One allocation: every frame's 4-byte header pays for its newline.
 */
export function recordsToNdjson(r: EntryRecords, from = 0, to = r.count): Buffer {
  const out = Buffer.allocUnsafe(r.frames.length);
  let off = 0;
  forEachFrame(r.frames, (p, i) => {
    if (i < from || i >= to) return;
    const j = recordJson(p);
    j.copy(out, off);
    out[off + j.length] = NL;
    off += j.length + 1;
  });
  return out.subarray(0, off);
}

/** The entries as objects, for a stage that cannot take records (and for tests). */
export function recordsToEntries(r: EntryRecords): LogEntry[] {
  const out: LogEntry[] = [];
  forEachFrame(r.frames, (p) => out.push(freezeEntry(JSON.parse(recordJson(p).toString('utf8')) as LogEntry)));
  return out;
}

const HEAD = Buffer.from('{"timestamp":"');
const LEVEL_KEY = Buffer.from('","level":"');
const MODULE_KEY = Buffer.from('","module":"');

/**
 * Level and module of a record without parsing it: encodeEntry writes timestamp, level and module
 * first, and none of the three is ever escaped (an ISO time, a level name, a sanitised tag). A
 * record of another shape is parsed instead.
 */
export function recordLevelModule(payload: Buffer): { level: string; module: string } {
  const p = recordJson(payload);
  if (p.subarray(0, HEAD.length).equals(HEAD)) {
    const tsEnd = p.indexOf(0x22, HEAD.length);
    if (tsEnd > 0 && p.subarray(tsEnd, tsEnd + LEVEL_KEY.length).equals(LEVEL_KEY)) {
      const ls = tsEnd + LEVEL_KEY.length;
      const le = p.indexOf(0x22, ls);
      if (le > 0 && p.subarray(le, le + MODULE_KEY.length).equals(MODULE_KEY)) {
        const ms = le + MODULE_KEY.length;
        const me = p.indexOf(0x22, ms);
        if (me > 0) return { level: p.toString('latin1', ls, le), module: p.toString('latin1', ms, me) };
      }
    }
  }
  const e = JSON.parse(p.toString('utf8')) as Partial<LogEntry>;
  return { level: String(e.level ?? 'INFO'), module: String(e.module ?? 'APP') };
}
