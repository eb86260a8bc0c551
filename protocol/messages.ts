/**
 * The typed messages of the forward protocol and their payload layouts (big-endian). Encoding
 * returns a whole frame (header included); decoding takes the type and payload that
 * FrameDecoder produced. Layouts are documented byte by byte in docs/forward-protocol.md.
 */
import { BatchCodec, type BatchCodecCode, ErrorCode, FRAME_HEADER_BYTES, FRAME_TYPE_NAMES, FrameType, MAX_STATS_BYTES, MAX_TOKEN_BYTES, NODE_ID_PATTERN } from './constants.ts';
import { ProtocolError } from './errors.ts';

export interface Hello { type: 'HELLO'; version: number; node: string; token: string }
export interface Welcome { type: 'WELCOME'; version: number; lastSeq: number; maxFrameBytes: number }
/** `body` is the encoded (possibly deflated) entries; see batch-body.ts. */
export interface Batch { type: 'BATCH'; seq: number; codec: BatchCodecCode; count: number; rawBytes: number; body: Buffer }
export interface Ack { type: 'ACK'; seq: number }
export interface ErrorMsg { type: 'ERROR'; code: number; text: string }
export interface Ping { type: 'PING'; nonce: number }
export interface Pong { type: 'PONG'; nonce: number }
/**
 * What an agent reports about itself (revision 2): a JSON object, fields all optional —
 * version (string), dropped (entries dropped since start), spool_entries and spool_bytes (the
 * backlog not yet acknowledged). Unknown fields are ignored, so the object can grow.
 */
export interface AgentStats { version?: string; dropped?: number; spool_entries?: number; spool_bytes?: number }
export interface Stats { type: 'STATS'; stats: AgentStats }
export type Message = Hello | Welcome | Batch | Ack | ErrorMsg | Ping | Pong | Stats;

const MAX_U32 = 0xffff_ffff;

function frame(type: number, payloadLength: number): { buf: Buffer; off: number } {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payloadLength);
  buf.writeUInt32BE(1 + payloadLength, 0);
  buf.writeUInt8(type, 4);
  return { buf, off: FRAME_HEADER_BYTES };
}

function checkU64(n: number, what: string): bigint {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
  return BigInt(n);
}

function readU64(p: Buffer, off: number, what: string): number {
  const v = p.readBigUInt64BE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(ErrorCode.BAD_FRAME, `${what} ${v} is beyond 2^53-1`);
  return Number(v);
}

export function encodeHello(node: string, token: string, version = 1): Buffer {
  const n = Buffer.from(node, 'utf8');
  const t = Buffer.from(token, 'utf8');
  if (n.length > 0xffff || t.length > 0xffff) throw new RangeError('node id or token too long');
  const { buf, off } = frame(FrameType.HELLO, 2 + 2 + n.length + 2 + t.length);
  let o = buf.writeUInt16BE(version, off);
  o = buf.writeUInt16BE(n.length, o);
  o += n.copy(buf, o);
  o = buf.writeUInt16BE(t.length, o);
  t.copy(buf, o);
  return buf;
}

export function encodeWelcome(lastSeq: number, maxFrameBytes: number, version = 1): Buffer {
  const { buf, off } = frame(FrameType.WELCOME, 2 + 8 + 4);
  let o = buf.writeUInt16BE(version, off);
  o = buf.writeBigUInt64BE(checkU64(lastSeq, 'lastSeq'), o);
  buf.writeUInt32BE(Math.min(maxFrameBytes, MAX_U32), o);
  return buf;
}

/** Header of a BATCH payload before the body: u64 seq | u8 codec | u32 count | u32 raw_bytes. */
export const BATCH_HEADER_BYTES = 8 + 1 + 4 + 4;

export function encodeBatch(seq: number, codec: BatchCodecCode, count: number, rawBytes: number, body: Buffer): Buffer {
  const { buf, off } = frame(FrameType.BATCH, BATCH_HEADER_BYTES + body.length);
  let o = buf.writeBigUInt64BE(checkU64(seq, 'seq'), off);
  o = buf.writeUInt8(codec, o);
  o = buf.writeUInt32BE(count, o);
  o = buf.writeUInt32BE(rawBytes, o);
  body.copy(buf, o);
  return buf;
}

export function encodeAck(seq: number): Buffer {
  const { buf, off } = frame(FrameType.ACK, 8);
  buf.writeBigUInt64BE(checkU64(seq, 'seq'), off);
  return buf;
}

/** The text is cut to 1 KiB: an ERROR is for humans and logs, not a channel for data. */
export function encodeError(code: number, text: string): Buffer {
  const t = Buffer.from(text.slice(0, 1024), 'utf8');
  const { buf, off } = frame(FrameType.ERROR, 2 + t.length);
  const o = buf.writeUInt16BE(code, off);
  t.copy(buf, o);
  return buf;
}

export function encodePing(nonce: number): Buffer {
  const { buf, off } = frame(FrameType.PING, 8);
  buf.writeBigUInt64BE(checkU64(nonce, 'nonce'), off);
  return buf;
}

export function encodePong(nonce: number): Buffer {
  const { buf, off } = frame(FrameType.PONG, 8);
  buf.writeBigUInt64BE(checkU64(nonce, 'nonce'), off);
  return buf;
}

export function encodeStats(stats: AgentStats): Buffer {
  const body = Buffer.from(JSON.stringify(stats), 'utf8');
  if (body.length > MAX_STATS_BYTES) throw new RangeError(`STATS payload of ${body.length} bytes is above ${MAX_STATS_BYTES}`);
  const { buf, off } = frame(FrameType.STATS, body.length);
  body.copy(buf, off);
  return buf;
}

/** Keeps the known fields of a STATS object with the right types; the rest is ignored. */
function agentStats(o: Record<string, unknown>): AgentStats {
  const s: AgentStats = {};
  if (typeof o.version === 'string') s.version = o.version.slice(0, 64);
  for (const k of ['dropped', 'spool_entries', 'spool_bytes'] as const) {
    const v = o[k];
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) s[k] = v;
  }
  return s;
}

function need(p: Buffer, n: number, what: string): void {
  if (p.length < n) throw new ProtocolError(ErrorCode.BAD_FRAME, `${what}: payload of ${p.length} bytes is shorter than ${n}`);
}

function exact(p: Buffer, n: number, what: string): void {
  if (p.length !== n) throw new ProtocolError(ErrorCode.BAD_FRAME, `${what}: payload must be ${n} bytes, got ${p.length}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
function text(p: Buffer, what: string): string {
  try {
    return utf8.decode(p);
  } catch {
    throw new ProtocolError(ErrorCode.BAD_FRAME, `${what} is not valid UTF-8`);
  }
}

/**
 * Decodes one frame's payload into a message. Throws ProtocolError (with the ERROR code to answer)
 * on unknown types and malformed payloads. HELLO's node id is checked against NODE_ID_PATTERN;
 * its version is NOT checked here (the aggregator answers UNSUPPORTED_VERSION itself).
 */
export function decodeMessage(type: number, p: Buffer): Message {
  switch (type) {
    case FrameType.HELLO: {
      need(p, 4, 'HELLO');
      const version = p.readUInt16BE(0);
      const nodeLen = p.readUInt16BE(2);
      need(p, 4 + nodeLen + 2, 'HELLO');
      const node = text(p.subarray(4, 4 + nodeLen), 'HELLO node id');
      const tokenLen = p.readUInt16BE(4 + nodeLen);
      exact(p, 4 + nodeLen + 2 + tokenLen, 'HELLO');
      if (tokenLen > MAX_TOKEN_BYTES) throw new ProtocolError(ErrorCode.BAD_FRAME, `HELLO token longer than ${MAX_TOKEN_BYTES} bytes`);
      const token = text(p.subarray(6 + nodeLen), 'HELLO token');
      if (!NODE_ID_PATTERN.test(node)) throw new ProtocolError(ErrorCode.BAD_FRAME, `HELLO node id ${JSON.stringify(node.slice(0, 64))} is not [A-Za-z0-9][A-Za-z0-9_.-]{0,127}`);
      return { type: 'HELLO', version, node, token };
    }
    case FrameType.WELCOME:
      exact(p, 14, 'WELCOME');
      return { type: 'WELCOME', version: p.readUInt16BE(0), lastSeq: readU64(p, 2, 'WELCOME last_seq'), maxFrameBytes: p.readUInt32BE(10) };
    case FrameType.BATCH: {
      need(p, BATCH_HEADER_BYTES, 'BATCH');
      const codec = p.readUInt8(8);
      if (codec !== BatchCodec.NONE && codec !== BatchCodec.DEFLATE) throw new ProtocolError(ErrorCode.BAD_BATCH, `BATCH codec ${codec} is unknown (0 none, 1 deflate)`);
      return {
        type: 'BATCH', seq: readU64(p, 0, 'BATCH seq'), codec, count: p.readUInt32BE(9), rawBytes: p.readUInt32BE(13),
        body: p.subarray(BATCH_HEADER_BYTES),
      };
    }
    case FrameType.ACK:
      exact(p, 8, 'ACK');
      return { type: 'ACK', seq: readU64(p, 0, 'ACK seq') };
    case FrameType.ERROR:
      need(p, 2, 'ERROR');
      return { type: 'ERROR', code: p.readUInt16BE(0), text: p.subarray(2).toString('utf8') };
    case FrameType.PING:
      exact(p, 8, 'PING');
      return { type: 'PING', nonce: readU64(p, 0, 'PING nonce') };
    case FrameType.PONG:
      exact(p, 8, 'PONG');
      return { type: 'PONG', nonce: readU64(p, 0, 'PONG nonce') };
    case FrameType.STATS: {
      if (p.length > MAX_STATS_BYTES) throw new ProtocolError(ErrorCode.BAD_FRAME, `STATS: payload of ${p.length} bytes is above ${MAX_STATS_BYTES}`);
      let o: unknown;
      try {
        o = JSON.parse(text(p, 'STATS'));
      } catch (e) {
        if (e instanceof ProtocolError) throw e;
        throw new ProtocolError(ErrorCode.BAD_FRAME, 'STATS: payload is not JSON');
      }
      if (o === null || typeof o !== 'object' || Array.isArray(o)) throw new ProtocolError(ErrorCode.BAD_FRAME, 'STATS: payload is not a JSON object');
      return { type: 'STATS', stats: agentStats(o as Record<string, unknown>) };
    }
    default:
      throw new ProtocolError(ErrorCode.BAD_FRAME, `unknown frame type 0x${type.toString(16).padStart(2, '0')}`);
  }
}

export function frameTypeName(type: number): string {
  return FRAME_TYPE_NAMES[type] ?? `0x${type.toString(16)}`;
}
