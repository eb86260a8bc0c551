import { ErrorCode, FRAME_HEADER_BYTES } from './constants.ts';
import { FrameTooLargeError, ProtocolError } from './errors.ts';
import { decodeMessage, type Message } from './messages.ts';

export interface RawFrame {
  type: number;
  payload: Buffer;
}

/**
 * Incremental frame decoder for a byte stream. Chunks of any size go in, whole frames come out.
 * A header announcing more than `maxFrameBytes` throws FrameTooLargeError at once, before any
 * buffer for the frame is allocated and before its bytes are waited for; the caller answers
 * ERROR FRAME_TOO_LARGE and closes. After an error the decoder is unusable (the stream has lost
 * its framing).
 */
export class FrameDecoder {
  readonly maxFrameBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private failed: ProtocolError | undefined;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held that do not yet form a whole frame (a truncated frame at end of stream shows here). */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Feeds bytes; returns the raw frames completed by them, in order. */
  push(chunk: Buffer): RawFrame[] {
    if (this.failed) throw this.failed;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const out: RawFrame[] = [];
    try {
      for (;;) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const head = this.peek(FRAME_HEADER_BYTES);
        const length = head.readUInt32BE(0);
        if (length === 0) throw new ProtocolError(ErrorCode.BAD_FRAME, 'frame length 0 (must count at least the type byte)');
        if (length > this.maxFrameBytes) throw new FrameTooLargeError(length, this.maxFrameBytes);
        if (this.buffered < 4 + length) break;
        const whole = this.take(4 + length);
        out.push({ type: whole[4]!, payload: whole.subarray(FRAME_HEADER_BYTES) });
      }
    } catch (e) {
      this.failed = e as ProtocolError;
      this.chunks = [];
      this.buffered = 0;
      throw e;
    }
    return out;
  }

  /** Like push, and decodes each frame into a typed message. */
  pushMessages(chunk: Buffer): Message[] {
    return this.push(chunk).map((f) => decodeMessage(f.type, f.payload));
  }

  /** The first n buffered bytes (n ≤ buffered), without consuming them. */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    const parts: Buffer[] = [];
    let got = 0;
    for (const c of this.chunks) {
      parts.push(c);
      got += c.length;
      if (got >= n) break;
    }
    return Buffer.concat(parts, got).subarray(0, n);
  }

  /** Consumes exactly n bytes (n ≤ buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    this.buffered -= n;
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let o = 0;
    while (o < n) {
      const c = this.chunks[0]!;
      const want = n - o;
      if (c.length <= want) {
        c.copy(out, o);
        o += c.length;
        this.chunks.shift();
      } else {
        c.copy(out, o, 0, want);
        this.chunks[0] = c.subarray(want);
        o += want;
      }
    }
    return out;
  }
}
