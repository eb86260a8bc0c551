/**
 * The binary forms shared with the C side (native/common/plugin_loader.h, native/common/frames.h):
 * a batch of entries, and the frames of the pipe protocol between the agent and a plugin host.
 */
import type { LogEntry } from '../../entry/entry.ts';

const NULL_LEN = 0xffffffff;

function strSize(s: string | undefined): number {
  return s === undefined ? 4 : 5 + Buffer.byteLength(s, 'utf8');
}

function putStr(buf: Buffer, off: number, s: string | undefined): number {
  if (s === undefined) {
    buf.writeUInt32LE(NULL_LEN, off);
    return off + 4;
  }
  const n = buf.write(s, off + 4, 'utf8');
  buf.writeUInt32LE(n, off);
  buf[off + 4 + n] = 0;
  return off + 5 + n;
}

/**
 * Encodes entries as the C side reads them: u32 n, then per entry 7 strings (timestamp, level,
 * module, message, lang_key, node, source), u32 argc and argc strings; a string is
 * u32 len (0xFFFFFFFF = NULL) + bytes + NUL. `reserve` bytes are left free at the front (for a
 * frame header) so the batch is written only once.
 */
export function encodeBatch(entries: readonly LogEntry[], reserve = 0): Buffer {
  let size = reserve + 4;
  for (const e of entries) {
    size += strSize(e.timestamp) + strSize(e.level) + strSize(e.module) + strSize(e.message) + strSize(e.lang_key) + strSize(e.node) + strSize(e.source) + 4;
    if (e.args) for (const a of e.args) size += strSize(String(a));
  }
  const buf = Buffer.allocUnsafe(size);
  let off = reserve;
  buf.writeUInt32LE(entries.length, off);
  off += 4;
  for (const e of entries) {
    off = putStr(buf, off, e.timestamp);
    off = putStr(buf, off, e.level);
    off = putStr(buf, off, e.module);
    off = putStr(buf, off, e.message);
    off = putStr(buf, off, e.lang_key);
    off = putStr(buf, off, e.node);
    off = putStr(buf, off, e.source);
    const args = e.args ?? [];
    buf.writeUInt32LE(args.length, off);
    off += 4;
    for (const a of args) off = putStr(buf, off, String(a));
  }
  return buf;
}

/** Frame ops (native/common/frames.h): 'R' carries entry records (agent/buffer/records.ts) instead of a batch. */
export const OP = { load: 0x4c, process: 0x50, records: 0x52, quit: 0x51, analyze: 0x41, resolve: 0x56, catalogue: 0x43 } as const;

/** The expected-type byte of a load frame (native/common/plugin_loader.h ll_type_t). */
export const TYPE_CODE = { filter: 0, sink: 1, ai: 2, lang: 3 } as const;

/** A request frame: u32 length | u8 op | body. */
export function requestFrame(op: number, body: Buffer): Buffer {
  const head = Buffer.allocUnsafe(5);
  head.writeUInt32LE(body.length + 1, 0);
  head[4] = op;
  return Buffer.concat([head, body]);
}

/** A process frame without copying the batch: the batch was encoded with 5 bytes reserved. */
export function processFrame(entries: readonly LogEntry[]): Buffer {
  const buf = encodeBatch(entries, 5);
  buf.writeUInt32LE(buf.length - 4, 0);
  buf[4] = OP.process;
  return buf;
}

export interface Reply {
  op: number;
  status: number;
  body: Buffer;
}

/** Splits the host's byte stream into reply frames. */
export class ReplyReader {
  private buf: Buffer = Buffer.alloc(0);
  private readonly onReply: (r: Reply) => void;
  private readonly maxFrame: number;

  constructor(onReply: (r: Reply) => void, maxFrame = 256 * 1024 * 1024) {
    this.onReply = onReply;
    this.maxFrame = maxFrame;
  }

  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (this.buf.length >= 4) {
      const len = this.buf.readUInt32LE(0);
      if (len < 5 || len > this.maxFrame) throw new Error(`malformed reply frame (length ${len})`);
      if (this.buf.length < 4 + len) break;
      const op = this.buf[4]!;
      const status = this.buf.readInt32LE(5);
      const body = this.buf.subarray(9, 4 + len);
      this.buf = this.buf.subarray(4 + len);
      this.onReply({ op, status, body });
    }
  }
}

/** Reads the strings of a reply body: u32 len (0xFFFFFFFF = NULL, read as '') + bytes + NUL each. */
export function readStrings(body: Buffer, offset: number, count: number): { values: string[]; offset: number } {
  const values: string[] = [];
  let off = offset;
  for (let i = 0; i < count; i++) {
    const n = body.readUInt32LE(off);
    if (n === NULL_LEN) {
      values.push('');
      off += 4;
      continue;
    }
    if (off + 5 + n > body.length) throw new Error(`malformed reply: string of ${n} bytes past the end of the frame`);
    values.push(body.toString('utf8', off + 4, off + 4 + n));
    off += 5 + n;
  }
  return { values, offset: off };
}

/** An analyze or catalogue reply body: i32 rc, u32 n, n items of `width` strings each. */
export function readItems(body: Buffer, width: number): { rc: number; items: string[][] } {
  const rc = body.readInt32LE(0);
  const n = body.readUInt32LE(4);
  const items: string[][] = [];
  let off = 8;
  for (let i = 0; i < n; i++) {
    const r = readStrings(body, off, width);
    items.push(r.values);
    off = r.offset;
  }
  return { rc, items };
}
