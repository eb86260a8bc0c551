/**
 * The body of a BATCH: `count` entries as NDJSON (each entry one JSON object followed by `\n`;
 * JSON.stringify never emits a raw newline, so the split is unambiguous), optionally deflated
 * (node:zlib, RFC 1950 zlib stream). `raw_bytes` in the BATCH header is the uncompressed size, so
 * the receiver refuses an inflation bomb before inflating: it inflates at most raw_bytes and at
 * most its own bound.
 */
import type { ZlibOptions } from 'node:zlib';
import { promisify } from 'node:util';
import { BatchCodec, type BatchCodecCode, ErrorCode } from './constants.ts';
import { ProtocolError } from './errors.ts';
import type { Batch } from './messages.ts';
import { loadedAddon } from '../lib/native-runtime.ts';

// node:zlib loads with the first batch body, not at every start of a program that imports the protocol.
const zlib = () => process.getBuiltinModule('node:zlib');
let deflateAsync: ((b: Buffer, o: ZlibOptions) => Promise<Buffer>) | undefined;
let inflateAsync: ((b: Buffer, o: ZlibOptions) => Promise<Buffer>) | undefined;

export interface EncodedBody {
  codec: BatchCodecCode;
  count: number;
  rawBytes: number;
  body: Buffer;
}

/** NDJSON bytes of already-encoded entry lines (each a JSON object without newline). */
export function joinLines(lines: readonly string[]): Buffer {
  return Buffer.from(lines.length === 0 ? '' : lines.join('\n') + '\n', 'utf8');
}

/** Builds a body from NDJSON bytes holding `count` lines. Deflate level 1: gateways are slow, logs compress well anyway. */
export async function encodeBody(raw: Buffer, count: number, codec: 'none' | 'deflate'): Promise<EncodedBody> {
  if (codec === 'none') return { codec: BatchCodec.NONE, count, rawBytes: raw.length, body: raw };
  return { codec: BatchCodec.DEFLATE, count, rawBytes: raw.length, body: await (deflateAsync ??= promisify(zlib().deflate) as (b: Buffer, o: ZlibOptions) => Promise<Buffer>)(raw, { level: 1 }) };
}

/**
 * encodeBody for one sender that encodes many batches: one deflate stream, reset after each body,
 * instead of a new zlib stream per batch. Each new stream allocates about 270 KiB of zlib state
 * outside the V8 heap, which V8 counts towards its next full collection: at a batch every
 * couple of milliseconds that churn made the forwarding agent's garbage collector mark its whole
 * heap tens of times a second. Bodies are encoded one at a time, in call order; the bytes are
 * those encodeBody gives (the same deflate level, a whole zlib stream per body).
 */
export class BodyEncoder {
  #stream: import('node:zlib').Deflate | undefined;
  #native: object | undefined;
  #chunks: Buffer[] = [];
  #failed: Error | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  encode(raw: Buffer, count: number, codec: 'none' | 'deflate'): Promise<EncodedBody> {
    if (codec === 'none') return Promise.resolve({ codec: BatchCodec.NONE, count, rawBytes: raw.length, body: raw });
    const next = this.#queue.then(() => this.#deflate(raw)).then((body) => ({ codec: BatchCodec.DEFLATE, count, rawBytes: raw.length, body }));
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /** Frees the zlib state; a later encode opens a new stream. (The addon's is freed with its handle.) */
  close(): void {
    this.#stream?.destroy();
    this.#stream = undefined;
    this.#native = undefined;
  }

  #deflate(raw: Buffer): Promise<Buffer> {
    // The addon's deflater when something has loaded the addon (the native ring): the same bytes,
    // without node:zlib's stream machinery on the main thread for each body (native/addon/src/deflate.h).
    const addon = loadedAddon();
    if (addon) return addon.deflaterRun((this.#native ??= addon.deflaterNew()), raw);
    const z = (this.#stream ??= this.#open());
    return new Promise((resolve, reject) => {
      z.write(raw);
      // Z_FINISH ends this body's zlib stream; reset() then starts the next one on the same state.
      z.flush(zlib().constants.Z_FINISH, (err?: Error | null) => {
        const failed = this.#failed ?? err ?? undefined;
        const out = this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks);
        this.#chunks = [];
        if (failed) {
          this.#failed = undefined;
          this.close();
          reject(failed);
          return;
        }
        z.reset();
        resolve(out);
      });
    });
  }

  #open(): import('node:zlib').Deflate {
    const z = zlib().createDeflate({ level: 1 });
    z.on('data', (c: Buffer) => this.#chunks.push(c));
    // Reported to the body being encoded (its flush callback still runs), and the stream replaced.
    z.on('error', (e: Error) => (this.#failed = e));
    return z;
  }
}

export function encodeBodySync(raw: Buffer, count: number, codec: 'none' | 'deflate'): EncodedBody {
  if (codec === 'none') return { codec: BatchCodec.NONE, count, rawBytes: raw.length, body: raw };
  return { codec: BatchCodec.DEFLATE, count, rawBytes: raw.length, body: zlib().deflateSync(raw, { level: 1 }) };
}

function checkRaw(b: Batch, maxRawBytes: number): void {
  if (b.rawBytes > maxRawBytes) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${b.seq}: raw_bytes ${b.rawBytes} exceeds the limit ${maxRawBytes}`);
  if (b.codec === BatchCodec.NONE && b.body.length !== b.rawBytes) {
    throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${b.seq}: raw_bytes ${b.rawBytes} does not match the body length ${b.body.length}`);
  }
}

function splitLines(b: Batch, raw: Buffer): string[] {
  if (raw.length !== b.rawBytes) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${b.seq}: inflated to ${raw.length} bytes, header says ${b.rawBytes}`);
  const textBody = raw.toString('utf8');
  if (b.count === 0) {
    if (raw.length !== 0) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${b.seq}: count 0 with a non-empty body`);
    return [];
  }
  if (!textBody.endsWith('\n')) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${b.seq}: body does not end with a newline`);
  const lines = textBody.slice(0, -1).split('\n');
  if (lines.length !== b.count) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${b.seq}: count says ${b.count}, body holds ${lines.length} lines`);
  return lines;
}

/**
 * The body of a batch as NDJSON bytes (inflated), not yet split or parsed; throws ProtocolError
 * BAD_BATCH when raw_bytes is over the bound, the deflate stream is bad or inflates to another size.
 */
export async function decodeBodyBytes(b: Batch, maxRawBytes: number): Promise<Buffer> {
  checkRaw(b, maxRawBytes);
  let raw = b.body;
  if (b.codec === BatchCodec.DEFLATE) {
    try {
      // One output chunk of the announced size (bounded: the claim is not trusted) instead of
      // 16 KiB chunks, each a round trip to JS and a copy at the end.
      raw = await (inflateAsync ??= promisify(zlib().inflate) as (b: Buffer, o: ZlibOptions) => Promise<Buffer>)(b.body, { maxOutputLength: Math.max(1, b.rawBytes), chunkSize: Math.max(64, Math.min(b.rawBytes + 1, 4 * 1024 * 1024)) });
    } catch (e) {
      throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${b.seq}: deflate body does not inflate within raw_bytes: ${(e as Error).message}`);
    }
  }
  if (raw.length !== b.rawBytes) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${b.seq}: inflated to ${raw.length} bytes, header says ${b.rawBytes}`);
  return raw;
}

/**
 * decodeBodyBytes on the calling thread: for bodies small enough that inflating them here costs
 * less than handing them to the thread pool (a round trip, a stream and a few promises per batch:
 * about as much CPU as the inflation of an ordinary 1000-entry batch itself).
 */
export function decodeBodyBytesSync(b: Batch, maxRawBytes: number): Buffer {
  checkRaw(b, maxRawBytes);
  let raw = b.body;
  if (b.codec === BatchCodec.DEFLATE) {
    try {
      raw = zlib().inflateSync(b.body, { maxOutputLength: Math.max(1, b.rawBytes), chunkSize: Math.max(64, Math.min(b.rawBytes + 1, 4 * 1024 * 1024)) });
    } catch (e) {
      throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${b.seq}: deflate body does not inflate within raw_bytes: ${(e as Error).message}`);
    }
  }
  if (raw.length !== b.rawBytes) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${b.seq}: inflated to ${raw.length} bytes, header says ${b.rawBytes}`);
  return raw;
}

/** The NDJSON lines of a batch (not yet parsed); throws ProtocolError BAD_BATCH on any mismatch. */
export async function decodeBodyLines(b: Batch, maxRawBytes: number): Promise<string[]> {
  return splitLines(b, await decodeBodyBytes(b, maxRawBytes));
}

export function decodeBodyLinesSync(b: Batch, maxRawBytes: number): string[] {
  checkRaw(b, maxRawBytes);
  let raw = b.body;
  if (b.codec === BatchCodec.DEFLATE) {
    try {
      raw = zlib().inflateSync(b.body, { maxOutputLength: Math.max(1, b.rawBytes) });
    } catch (e) {
      throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${b.seq}: deflate body does not inflate within raw_bytes: ${(e as Error).message}`);
    }
  }
  return splitLines(b, raw);
}

/** Parses each line into a JSON object (entry draft); a line that is not an object is BAD_BATCH. */
export function parseBodyLines(seq: number, lines: readonly string[]): Record<string, unknown>[] {
  return lines.map((l, i) => {
    let v: unknown;
    try {
      v = JSON.parse(l);
    } catch (e) {
      throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${seq}: entry ${i} is not JSON: ${(e as Error).message}`);
    }
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH ${seq}: entry ${i} is not a JSON object`);
    return v as Record<string, unknown>;
  });
}
