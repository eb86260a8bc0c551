/**
 * Spool segment records: `u32 length | u32 crc32 | u64 seq | payload`, big-endian. `length` is
 * the payload's size; the CRC-32 (zlib's, as node:zlib crc32) covers the seq and the payload, so
 * a flipped bit anywhere but the length field is caught, and a bad length is caught by the CRC
 * of wherever it points. A segment is a plain concatenation of records.
 */

/** node:zlib's CRC-32, loaded when the spool is first used (not at every agent start). */
const crc32 = (b: Uint8Array): number => process.getBuiltinModule('node:zlib').crc32(b);

export const RECORD_HEADER_BYTES = 16;
/** Sanity bound on one record; anything larger is treated as corruption. */
export const MAX_RECORD_PAYLOAD = 256 * 1024 * 1024;

export function encodeRecord(seq: number, payload: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + payload.length);
  buf.writeUInt32BE(payload.length, 0);
  buf.writeBigUInt64BE(BigInt(seq), 8);
  payload.copy(buf, RECORD_HEADER_BYTES);
  buf.writeUInt32BE(crc32(buf.subarray(8)), 4);
  return buf;
}

export interface ScannedRecord {
  seq: number;
  /** Offset of the record header in the segment. */
  offset: number;
  /** Whole record size (header + payload). */
  size: number;
  payload: Buffer;
}

export interface ScanResult {
  records: ScannedRecord[];
  /** Damaged regions skipped between valid records (each counted once). */
  corrupt: { offset: number; bytes: number }[];
  /** An incomplete record at the end (a write torn by a crash or power loss), if any. */
  tornTail?: { offset: number; bytes: number };
}

function validAt(buf: Buffer, off: number): ScannedRecord | undefined {
  if (buf.length - off < RECORD_HEADER_BYTES) return undefined;
  const length = buf.readUInt32BE(off);
  if (length > MAX_RECORD_PAYLOAD || off + RECORD_HEADER_BYTES + length > buf.length) return undefined;
  const end = off + RECORD_HEADER_BYTES + length;
  if (crc32(buf.subarray(off + 8, end)) !== buf.readUInt32BE(off + 4)) return undefined;
  const seq = buf.readBigUInt64BE(off + 8);
  if (seq === 0n || seq > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return { seq: Number(seq), offset: off, size: end - off, payload: buf.subarray(off + RECORD_HEADER_BYTES, end) };
}

/**
 * Reads every intact record of a segment. A damaged record is skipped by searching forward for
 * the next offset where an intact record starts (CRC-checked), so one bad byte costs one record,
 * not the rest of the segment. Bytes at the end that hold no intact record are a torn tail (a
 * write cut by a crash or power loss), unless they are exactly one complete record whose CRC
 * fails (then it is corrupt). Never throws on content.
 */
export function scanSegment(buf: Buffer): ScanResult {
  const out: ScanResult = { records: [], corrupt: [] };
  let off = 0;
  while (off < buf.length) {
    const rec = validAt(buf, off);
    if (rec) {
      out.records.push(rec);
      off += rec.size;
      continue;
    }
    let next = -1;
    for (let p = off + 1; p + RECORD_HEADER_BYTES <= buf.length; p++) {
      if (validAt(buf, p)) {
        next = p;
        break;
      }
    }
    if (next !== -1) {
      out.corrupt.push({ offset: off, bytes: next - off });
      off = next;
      continue;
    }
    const completeButBad = buf.length - off >= RECORD_HEADER_BYTES && off + RECORD_HEADER_BYTES + buf.readUInt32BE(off) === buf.length;
    if (completeButBad) out.corrupt.push({ offset: off, bytes: buf.length - off });
    else out.tornTail = { offset: off, bytes: buf.length - off };
    break;
  }
  return out;
}
