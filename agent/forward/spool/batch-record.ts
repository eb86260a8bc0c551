/**
 * The payload of a spool record: one forward batch exactly as it will go on the wire (already
 * encoded and deflated, so a replay costs no CPU), plus the input positions its entries cover.
 *
 * `u8 version (1) | u8 codec | u32 count | u32 raw_bytes | u32 positions_len | positions JSON | body`
 *
 * positions JSON: `[[input, stream, offset], …]`, the highest position per input stream in the
 * batch. After a crash, an input resumes after the highest position found in the spool, so it
 * does not read again what a spooled batch already holds (see docs/guarantees.md).
 */
import type { BatchCodecCode } from '../../../protocol/constants.ts';
import type { CheckpointPosition } from '../../../entry/checkpoint.ts';

export interface BatchData {
  codec: BatchCodecCode;
  count: number;
  rawBytes: number;
  body: Buffer;
}

export interface SpooledBatchHeader {
  codec: BatchCodecCode;
  count: number;
  rawBytes: number;
  positions: CheckpointPosition[];
  /** Offset of the body within the payload. */
  bodyOffset: number;
}

export class BadBatchRecordError extends Error {
  constructor(why: string) {
    super(`spool record: ${why}`);
    this.name = 'BadBatchRecordError';
  }
}

export function encodeBatchRecord(data: BatchData, positions: readonly CheckpointPosition[]): Buffer {
  const pos = Buffer.from(JSON.stringify(positions.map((p) => [p.input, p.stream, p.offset])), 'utf8');
  const head = Buffer.allocUnsafe(14);
  head.writeUInt8(1, 0);
  head.writeUInt8(data.codec, 1);
  head.writeUInt32BE(data.count, 2);
  head.writeUInt32BE(data.rawBytes, 6);
  head.writeUInt32BE(pos.length, 10);
  return Buffer.concat([head, pos, data.body]);
}

export function decodeBatchHeader(payload: Buffer): SpooledBatchHeader {
  if (payload.length < 14) throw new BadBatchRecordError(`payload of ${payload.length} bytes is too short`);
  if (payload.readUInt8(0) !== 1) throw new BadBatchRecordError(`unknown record version ${payload.readUInt8(0)}`);
  const posLen = payload.readUInt32BE(10);
  if (14 + posLen > payload.length) throw new BadBatchRecordError('positions run past the payload');
  let raw: unknown;
  try {
    raw = JSON.parse(payload.subarray(14, 14 + posLen).toString('utf8'));
  } catch {
    throw new BadBatchRecordError('positions are not JSON');
  }
  if (!Array.isArray(raw)) throw new BadBatchRecordError('positions are not a list');
  const positions: CheckpointPosition[] = [];
  for (const p of raw) {
    if (Array.isArray(p) && typeof p[0] === 'string' && typeof p[1] === 'string' && Number.isSafeInteger(p[2])) {
      positions.push({ input: p[0], stream: p[1], offset: p[2] });
    }
  }
  return { codec: payload.readUInt8(1) as BatchCodecCode, count: payload.readUInt32BE(2), rawBytes: payload.readUInt32BE(6), positions, bodyOffset: 14 + posLen };
}

export function decodeBatchRecord(payload: Buffer): BatchData & { positions: CheckpointPosition[] } {
  const h = decodeBatchHeader(payload);
  return { codec: h.codec, count: h.count, rawBytes: h.rawBytes, positions: h.positions, body: payload.subarray(h.bodyOffset) };
}

/** Highest position per (input, stream). */
export function mergePositions(into: Map<string, CheckpointPosition>, positions: Iterable<CheckpointPosition>): void {
  for (const p of positions) {
    const k = `${p.input}\u0000${p.stream}`;
    const cur = into.get(k);
    if (!cur || cur.offset < p.offset) into.set(k, { input: p.input, stream: p.stream, offset: p.offset });
  }
}

/** What a damaged region of a segment held, as far as its headers can still be read. */
export interface DamageEstimate {
  /** Entries counted from legible batch headers of unacknowledged records. */
  entries: number;
  /** Records in the region whose header could not be read (each held at least one entry). */
  illegible: number;
}

/**
 * Reads the record and batch headers inside a damaged region (a record whose CRC failed, or the
 * bytes skipped up to the next intact record) to say how many entries were destroyed. A flipped
 * bit usually sits in the body, so the headers still tell the count; a header that does not hold
 * together (length past the region, unknown version or codec, a count above raw_bytes) is counted
 * as one illegible record. Records at or below `ackedSeq` were already stored: not a loss.
 */
export function damagedEntries(segment: Buffer, region: { offset: number; bytes: number }, ackedSeq: number, recordHeaderBytes: number): DamageEstimate {
  const out: DamageEstimate = { entries: 0, illegible: 0 };
  const end = region.offset + region.bytes;
  let off = region.offset;
  while (off < end) {
    if (end - off < recordHeaderBytes + 14) {
      out.illegible++;
      break;
    }
    const length = segment.readUInt32BE(off);
    const seq = Number(segment.readBigUInt64BE(off + 8));
    const p = off + recordHeaderBytes;
    const count = segment.readUInt32BE(p + 2);
    const legible = off + recordHeaderBytes + length <= end && length >= 14 && segment[p] === 1 && segment[p + 1]! <= 1 && count >= 1 && count <= segment.readUInt32BE(p + 6);
    if (!legible) {
      out.illegible++;
      break;
    }
    if (seq > ackedSeq) out.entries += count;
    off += recordHeaderBytes + length;
  }
  return out;
}

/** Entries of an intact record whose batch header does not decode: its count if legible, else at least one. */
export function entriesOfUndecodable(payload: Buffer): number {
  return payload.length >= 6 && payload[0] === 1 ? Math.max(1, payload.readUInt32BE(2)) : 1;
}
