/**
 * A received BATCH body (NDJSON bytes) becomes the bytes the store writes: each line validated,
 * sanitised, with the authenticated node and the batch's sequence number — without rebuilding
 * entries that are already in stored form (see scan.ts), which is every entry an agent sends.
 *
 * The stored line is the entry's JSON followed by `"seq":<batch seq>`:
 *   {"timestamp":…,"level":…,"module":…,"message":…,…,"node":"<authenticated node>",…,"seq":42}
 * `node` and `seq` are always the aggregator's: whatever a peer wrote there is replaced or
 * dropped, so one gateway cannot write as another or forge positions in a node's sequence.
 */
import { ErrorCode, ProtocolError } from '../../protocol/index.ts';
import { buildEntry } from '../../entry/build.ts';
import { draftFromObject } from '../../entry/codec.ts';
import { levelRank } from '../../lib/level.ts';
import { loadAddon, type NativeAddon } from '../../lib/native-runtime.ts';
import type { StoredBatch } from '../store/store.ts';
import { nodeAt, nodeEnd, nodeSame, scanCanonical, scannedLevel } from './scan.ts';

export interface IngestOptions {
  node: string;
  maxMessageBytes: number;
  /** Which scanner takes the canonical lines: the addon's (C, default when it loads) or the JS one. */
  scanner?: 'native' | 'js';
}

/** Lines taken by the byte path and by the full (parse + rebuild) path, since start. */
export const ingestCounters = { canonical_entries: 0, rebuilt_entries: 0 };

type NativeScan = NativeAddon['ingestScan'];
const DONE = 0, NO_ROOM = 2, MORE_LINES = 3;
let nativeScan: NativeScan | null | undefined;

/**
 * The addon's scanner (native/addon/src/ingest.c), or undefined where the addon cannot load.
 * LOGLOOM_INGEST_SCANNER=js forces the JS scanner (to compare the two: bench/aggregator.ts).
 */
export function nativeScanner(): NativeScan | undefined {
  if (nativeScan === undefined) {
    if (process.env.LOGLOOM_INGEST_SCANNER === 'js') nativeScan = null;
    else try {
      const addon = loadAddon();
      nativeScan = typeof addon.ingestScan === 'function' ? addon.ingestScan.bind(addon) : null;
    } catch {
      nativeScan = null;
    }
  }
  return nativeScan ?? undefined;
}

/**
 * Output buffers come back once their batch is stored (releaseStored): each new one is an
 * off-heap allocation that V8 counts as external memory, and a few hundred KiB per batch of those
 * drive full garbage collections and the RSS peak more than anything else on this path.
 */
const pool: Buffer[] = [];
const POOL_MAX = 32;

function take(size: number): Buffer {
  for (let i = pool.length - 1; i >= 0; i--) {
    const b = pool[i]!;
    if (b.length >= size && b.length <= size * 4) {
      pool.splice(i, 1);
      return b;
    }
  }
  // Rounded up to 64 KiB steps: batches differ by a few bytes, and a buffer sized exactly for one
  // would be too small for the next one (the pool then never hits).
  return Buffer.allocUnsafeSlow(Math.ceil(Math.max(4096, size) / 65536) * 65536);
}

/** Gives the batches' buffers back for reuse; call once the store is done with them (stored or failed). */
export function releaseStored(batches: readonly StoredBatch[]): void {
  for (const b of batches) {
    const buf = Buffer.from(b.data.buffer, 0, b.data.buffer.byteLength);
    if (pool.length < POOL_MAX && b.data.byteOffset === 0 && buf.length >= 4096) pool.push(buf);
  }
}

/** A growable output buffer: lines are copied in, grown by doubling (rarely: sized for the usual case). */
class Out {
  buf: Buffer;
  len = 0;
  constructor(size: number) {
    this.buf = take(size);
  }
  room(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }
  copy(src: Buffer, from: number, to: number): void {
    const n = to - from;
    this.room(n);
    if (n > 48) {
      (src as Buffer).copy(this.buf, this.len, from, to);
    } else {
      // Short spans (node, seq): a plain loop beats the native copy's call overhead.
      const dst = this.buf;
      let o = this.len;
      for (let k = from; k < to; k++) dst[o++] = src[k]!;
    }
    this.len += n;
  }
}

/** The slow path for one line: JSON.parse, buildEntry, JSON.stringify (exactly what the byte path must equal). */
function rebuild(seq: number, index: number, line: string, o: IngestOptions): { text: string; level: number } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${seq}: entry ${index} is not JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${seq}: entry ${index} is not a JSON object`);
  try {
    const e = buildEntry(draftFromObject(v as Record<string, unknown>), { maxMessageBytes: o.maxMessageBytes, defaultLevel: 'INFO', defaultModule: 'APP', node: o.node });
    return { text: JSON.stringify({ ...e, seq }), level: levelRank(e.level) };
  } catch (e) {
    // e.g. a value nested too deep to serialise: this entry cannot be stored; the batch is refused.
    throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${seq}: entry ${index} cannot be stored: ${(e as Error).message}`);
  }
}

/**
 * Turns a batch body into its stored form. Throws ProtocolError BAD_BATCH (nothing of the batch
 * is stored) when the body does not end with a newline, holds another number of lines than
 * `count`, or a line is not a JSON object.
 */
export function storedBatch(seq: number, count: number, raw: Buffer, o: IngestOptions): StoredBatch {
  if (count === 0) {
    if (raw.length !== 0) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${seq}: count 0 with a non-empty body`);
    return { seq, count, data: Buffer.alloc(0), ends: new Uint32Array(0), levels: new Uint8Array(0) };
  }
  if (raw[raw.length - 1] !== 0x0a) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${seq}: body does not end with a newline`);
  const node = Buffer.from(o.node, 'utf8');
  const nodeMember = Buffer.from(`,"node":${JSON.stringify(o.node)}`, 'utf8');
  const suffix = Buffer.from(`,"seq":${seq}}\n`, 'latin1');
  const out = new Out(raw.length + count * (nodeMember.length + suffix.length));
  const ends = new Uint32Array(count);
  const levels = new Uint8Array(count);
  let start = 0;
  let n = 0;
  let rebuilt = 0;
  const native = o.scanner === 'js' ? undefined : nativeScanner();
  if (o.scanner === 'native' && !native) throw new Error('the native ingest scanner is not available (run `make native`)');
  const state = native ? new Uint32Array(3) : undefined;
  while (start < raw.length) {
    if (n >= count) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${seq}: count says ${count}, body holds more lines`);
    let nl: number;
    if (native) {
      // C stores every canonical line it can in one call; it stops at a line for the full path.
      state![0] = start;
      state![1] = out.len;
      state![2] = n;
      const code = native(raw, node, nodeMember, suffix, o.maxMessageBytes, out.buf, ends, levels, state!);
      start = state![0]!;
      out.len = state![1]!;
      n = state![2]!;
      if (code === DONE) break;
      if (code === NO_ROOM) {
        out.room(out.buf.length);
        continue;
      }
      if (code === MORE_LINES) continue; // refused at the top of the loop
      nl = -1;
    } else nl = scanCanonical(raw, start, raw.length, o.maxMessageBytes, node);
    if (nl >= 0) {
      // The line minus its closing brace, the node put in where buildEntry has it, then seq.
      if (nodeSame) out.copy(raw, start, nl - 1);
      else {
        out.copy(raw, start, nodeAt);
        out.copy(nodeMember, 0, nodeMember.length);
        out.copy(raw, nodeEnd, nl - 1);
      }
      out.copy(suffix, 0, suffix.length);
      levels[n] = scannedLevel;
    } else {
      nl = raw.indexOf(0x0a, start);
      const r = rebuild(seq, n, raw.toString('utf8', start, nl), o);
      const bytes = Buffer.from(r.text + '\n', 'utf8');
      out.copy(bytes, 0, bytes.length);
      levels[n] = r.level;
      rebuilt++;
    }
    ends[n++] = out.len;
    start = nl + 1;
  }
  if (n !== count) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${seq}: count says ${count}, body holds ${n} lines`);
  ingestCounters.canonical_entries += count - rebuilt;
  ingestCounters.rebuilt_entries += rebuilt;
  return { seq, count, data: out.buf.subarray(0, out.len), ends, levels };
}
