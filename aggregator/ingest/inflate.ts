/**
 * A received batch's body as NDJSON bytes, inflated on the main thread into one buffer that is
 * reused for every batch (the addon's zlib call, native/addon/src/inflate.c). node:zlib gives
 * each batch a fresh off-heap output buffer; at a few hundred KiB per batch those allocations set
 * off most of the aggregator's major garbage collections, which cost more CPU than the inflation.
 *
 * The returned bytes are valid until the next call: the caller turns them into its stored form
 * (storedBatch copies every line out) before it awaits anything. Big bodies, which would hold up
 * the other connections, go to the thread pool (node:zlib) as before, and so does everything
 * where the addon cannot load.
 */
import { BatchCodec, decodeBodyBytesSync, ErrorCode, ProtocolError, type Batch } from '../../protocol/index.ts';
import { loadAddon, type NativeAddon } from '../../lib/native-runtime.ts';

/** Bodies up to this size (inflated) are inflated here: about a millisecond of work. */
export const INLINE_INFLATE_MAX_BYTES = 1024 * 1024;

const REASONS: Record<number, string> = { [-1]: 'corrupt deflate data', [-2]: 'it inflates to more bytes', [-3]: 'the deflate stream is truncated', [-4]: 'out of memory' };

let nativeInflate: NativeAddon['ingestInflate'] | null | undefined;
let scratch = Buffer.alloc(0);

function native(): NativeAddon['ingestInflate'] | null {
  if (nativeInflate === undefined) {
    try {
      const addon = loadAddon();
      nativeInflate = typeof addon.ingestInflate === 'function' ? addon.ingestInflate.bind(addon) : null;
    } catch {
      nativeInflate = null;
    }
  }
  return nativeInflate;
}

/**
 * The body of `b` inflated, or undefined for a body over INLINE_INFLATE_MAX_BYTES (the caller
 * awaits decodeBodyBytes for those). ProtocolError BAD_BATCH when it does not inflate to exactly
 * raw_bytes. Synchronous on purpose: another connection's batch would overwrite the scratch
 * buffer if the caller awaited between this call and its use of the bytes.
 */
export function inlineBatchBytes(b: Batch, maxRawBytes: number): Buffer | undefined {
  if (b.rawBytes > INLINE_INFLATE_MAX_BYTES) return undefined;
  const inflate = b.codec === BatchCodec.DEFLATE ? native() : null;
  // (Over the bound: decodeBodyBytesSync refuses it with the usual message.)
  if (!inflate || b.rawBytes > maxRawBytes) return decodeBodyBytesSync(b, maxRawBytes);
  if (scratch.length < b.rawBytes + 1) scratch = Buffer.allocUnsafeSlow(Math.max(b.rawBytes + 1, 64 * 1024));
  // One byte of room past raw_bytes tells "inflates to more" apart from "inflates to exactly".
  let n = inflate(b.body, scratch.subarray(0, b.rawBytes + 1));
  if (n > b.rawBytes) n = -2;
  if (n < 0) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${b.seq}: deflate body does not inflate within raw_bytes: ${REASONS[n] ?? `error ${n}`}`);
  if (n !== b.rawBytes) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${b.seq}: inflated to ${n} bytes, header says ${b.rawBytes}`);
  return scratch.subarray(0, n);
}
