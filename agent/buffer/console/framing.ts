/**
 * Byte-level line framing for a serial console. Bytes are framed before they are decoded, so a
 * multi-byte character split across reads, or a separator split across reads, is handled the
 * same as one that arrived whole. The JS twin of serial_feed / serial_flush in
 * native/addon/src/console.c.
 */

/** Why a line ended. Anything but `separator` is a partial line. */
export type LineEnd = 'separator' | 'idle' | 'max_bytes' | 'close';

export interface FramedLine {
  /** Only valid during the callback (it may view a read buffer that is reused). */
  readonly bytes: Buffer;
  /** Wall-clock ms when the line's first byte arrived. */
  readonly wallMs: number;
  /** Monotonic ms (performance.now()) when the line's first byte arrived, for ordering. */
  readonly monoMs: number;
  readonly end: LineEnd;
}

export interface FramerOptions {
  /** 'auto' = \n, \r\n or a lone \r; else the exact separator bytes. */
  separator: 'auto' | Buffer;
  maxLineBytes: number;
  /** Cut over-long lines at a UTF-8 character boundary. */
  utf8: boolean;
}

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

/** Parses the `separator` config value: 'auto', or its bytes in the port's encoding. */
export function separatorBytes(text: string, encoding: 'utf-8' | 'latin1'): 'auto' | Buffer {
  return text === 'auto' ? 'auto' : Buffer.from(text, encoding === 'latin1' ? 'latin1' : 'utf8');
}

export class LineFramer {
  private readonly opts: FramerOptions;
  private readonly onLine: (line: FramedLine) => void;
  /** Bytes of the line in progress (at most maxLineBytes). */
  private pending: Buffer = EMPTY;
  private pendingWall = 0;
  private pendingMono = 0;
  /** The last line ended with a \r at the very end of a read: a \n starting the next read belongs to it. */
  private skipLf = false;

  constructor(opts: FramerOptions, onLine: (line: FramedLine) => void) {
    this.opts = opts;
    this.onLine = onLine;
  }

  get pendingBytes(): number {
    return this.pending.length;
  }

  /** Frames one read; wallMs/monoMs are when it arrived. */
  push(chunk: Buffer, wallMs: number, monoMs: number): void {
    if (chunk.length === 0) return;
    let buf: Buffer;
    let scanFrom: number;
    let start = 0;
    const sep = this.opts.separator;
    if (this.pending.length === 0) {
      buf = chunk;
      scanFrom = 0;
      this.pendingWall = wallMs;
      this.pendingMono = monoMs;
      if (this.skipLf && buf[0] === LF) start = scanFrom = 1;
    } else {
      buf = Buffer.concat([this.pending, chunk]);
      // A multi-byte separator may straddle the old pending bytes and the new read.
      scanFrom = sep === 'auto' ? this.pending.length : Math.max(0, this.pending.length - sep.length + 1);
    }
    this.skipLf = false;
    let wall = this.pendingWall;
    let mono = this.pendingMono;
    let lfAt = -2;
    let crAt = -2;
    for (;;) {
      let idx: number;
      let sepLen: number;
      const from = Math.max(scanFrom, start);
      if (sep === 'auto') {
        if (lfAt !== -1 && lfAt < from) lfAt = buf.indexOf(LF, from);
        if (crAt !== -1 && crAt < from) crAt = buf.indexOf(CR, from);
        if (crAt !== -1 && (lfAt === -1 || crAt < lfAt)) {
          idx = crAt;
          if (crAt + 1 < buf.length) sepLen = buf[crAt + 1] === LF ? 2 : 1;
          else {
            sepLen = 1;
            this.skipLf = true;
          }
        } else {
          idx = lfAt;
          sepLen = 1;
        }
      } else {
        idx = buf.indexOf(sep, from);
        sepLen = sep.length;
      }
      const lineEnd = idx === -1 ? buf.length : idx;
      while (lineEnd - start > this.opts.maxLineBytes) {
        const cut = this.cutPoint(buf, start);
        this.deliver(buf.subarray(start, cut), wall, mono, 'max_bytes');
        start = cut;
        wall = wallMs;
        mono = monoMs;
      }
      if (idx === -1) break;
      if (idx > start) this.deliver(buf.subarray(start, idx), wall, mono, 'separator');
      start = idx + sepLen;
      wall = wallMs;
      mono = monoMs;
      if (start >= buf.length) break;
    }
    // Copy the rest so that a large read is not kept alive by a small partial line.
    this.pending = start >= buf.length ? EMPTY : Buffer.from(buf.subarray(start));
    this.pendingWall = wall;
    this.pendingMono = mono;
  }

  /** Emits the partial line (silence, or the port closed). */
  flush(end: 'idle' | 'close'): void {
    if (this.pending.length === 0) return;
    const line = this.pending;
    this.pending = EMPTY;
    this.deliver(line, this.pendingWall, this.pendingMono, end);
  }

  /** Where to cut a line that is too long: at the bound, stepping back to a UTF-8 character start. */
  private cutPoint(buf: Buffer, start: number): number {
    let cut = start + this.opts.maxLineBytes;
    if (this.opts.utf8) {
      let back = cut;
      // At most 3 continuation bytes (10xxxxxx) precede the byte that starts a character.
      while (back > start && cut - back < 3 && (buf[back]! & 0xc0) === 0x80) back--;
      if (back > start && (buf[back]! & 0xc0) !== 0x80) cut = back;
    }
    return cut;
  }

  private deliver(bytes: Buffer, wallMs: number, monoMs: number, end: LineEnd): void {
    this.onLine({ bytes, wallMs, monoMs, end });
  }
}
