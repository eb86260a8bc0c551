/**
 * The one codec for out-of-process plugins (Python children and socket services): newline-
 * delimited JSON in two dialects, the Logloom line protocol (docs/architecture.md) and JSON-RPC 2.0.
 * Public contract: docs/plugin-protocol.md. Both hosts frame with LineReader (which enforces the
 * maximum line length before anything is parsed) and translate with encodeRequest/decodeMessage.
 */

export type Dialect = 'line' | 'jsonrpc';
export type Op = 'init' | 'info' | 'process' | 'resolve' | 'shutdown';
export const OPS: readonly Op[] = ['init', 'info', 'process', 'resolve', 'shutdown'];

/** Default bound on one line in either direction. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

/** The plugin broke the protocol; the connection is no longer trusted (the host restarts it). */
export class ProtocolError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ProtocolError';
  }
}

/** Splits a byte stream into lines, refusing any line longer than maxBytes before it is parsed. */
export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;
  readonly maxBytes: number;

  constructor(maxBytes = DEFAULT_MAX_LINE_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** Returns the complete lines in chunk; throws ProtocolError once a line exceeds the bound. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) break;
      const piece = chunk.subarray(start, nl);
      if (this.size + piece.length > this.maxBytes) throw this.tooLong(this.size + piece.length);
      this.parts.push(piece);
      const line = Buffer.concat(this.parts).toString('utf8');
      this.parts = [];
      this.size = 0;
      lines.push(line.endsWith('\r') ? line.slice(0, -1) : line);
      start = nl + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.size += rest.length;
      // Refuse as soon as the unterminated line is over the bound: never buffer a flood.
      if (this.size > this.maxBytes) throw this.tooLong(this.size);
      this.parts.push(Buffer.from(rest));
    }
    return lines;
  }

  private tooLong(n: number): ProtocolError {
    this.parts = [];
    this.size = 0;
    return new ProtocolError(`answer line longer than ${this.maxBytes} bytes (${n}+ bytes without newline)`);
  }
}

/** What the host asks. `payload` holds the op's fields: entry | batch | config | lang_key, lang, since. */
export interface Request {
  id: number;
  op: Op;
  payload: Record<string, unknown>;
}

/**
 * JSON text that goes into a request as it is: entries sent as the NDJSON their records already
 * hold (an entry object or an array of them), so nothing is decoded and encoded again.
 */
export class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

export function encodeRequest(req: Request, dialect: Dialect): string {
  let plain = req.payload;
  let raw = '';
  for (const [k, v] of Object.entries(req.payload)) {
    if (!(v instanceof RawJson)) continue;
    if (plain === req.payload) plain = { ...req.payload };
    delete plain[k];
    raw += `,${JSON.stringify(k)}:${v.text}`;
  }
  if (dialect === 'jsonrpc') {
    const line = JSON.stringify({ jsonrpc: '2.0', id: req.id, method: req.op, params: plain });
    // The raw fields go last inside params: {...,"params":{…}} → {...,"params":{…,"batch":[…]}}.
    if (!raw) return line + '\n';
    return line.slice(0, -2) + (Object.keys(plain).length ? raw : raw.slice(1)) + '}}\n';
  }
  const line = JSON.stringify({ id: req.id, op: req.op, ...plain });
  return (raw ? line.slice(0, -1) + raw + '}' : line) + '\n';
}

/**
 * One decoded line from a plugin:
 * - answer: to request `id` (undefined = the minimal bare form, matched in order); `status` 0 = ok;
 *   `stream` = one of several results for that request, `done` = the end of a stream;
 *   `body` = the remaining fields (keep, info, result(s), template(s), version, message…).
 * - event: unsolicited notice (`{"event":"sandbox",…}`, `{"event":"changed","version":3}`).
 */
export type PluginMessage =
  | { kind: 'answer'; id: number | undefined; status: number; error?: string; stream: boolean; done: boolean; body: Record<string, unknown> }
  | { kind: 'event'; event: string; body: Record<string, unknown> };

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function shortText(line: string): string {
  return JSON.stringify(line.length > 80 ? line.slice(0, 80) + '…' : line);
}

function parseId(v: unknown, line: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new ProtocolError(`answer id is not an integer: ${shortText(line)}`);
  return v;
}

/** Parses and shape-checks one line; throws ProtocolError for empty, malformed or ill-shaped lines. */
export function decodeMessage(line: string, dialect: Dialect): PluginMessage {
  if (line.trim() === '') throw new ProtocolError('empty answer');
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch (e) {
    throw new ProtocolError(`malformed JSON: ${(e as Error).message}: ${shortText(line)}`);
  }
  if (!isObject(v)) throw new ProtocolError(`answer is not a JSON object: ${shortText(line)}`);
  return dialect === 'jsonrpc' ? decodeJsonRpc(v, line) : decodeLine(v, line);
}

function decodeLine(v: Record<string, unknown>, line: string): PluginMessage {
  if (typeof v.event === 'string' && v.status === undefined) {
    const { event, ...body } = v;
    return { kind: 'event', event, body };
  }
  const { id, status, error, stream, done, ...body } = v;
  if (typeof status !== 'number' || !Number.isInteger(status)) throw new ProtocolError(`answer without integer "status": ${shortText(line)}`);
  if (error !== undefined && typeof error !== 'string') throw new ProtocolError(`"error" is not a string: ${shortText(line)}`);
  return { kind: 'answer', id: parseId(id, line), status, error: error as string | undefined, stream: stream === true, done: done === true, body };
}

/**
 * JSON-RPC 2.0: a response's `result` object carries the same fields as a line-protocol answer
 * (keep, info, results, template…); `error` {code, message} maps to status 1. Notifications
 * (method, no id) are events: `{"jsonrpc":"2.0","method":"changed","params":{"version":3}}`.
 */
function decodeJsonRpc(v: Record<string, unknown>, line: string): PluginMessage {
  if (v.jsonrpc !== '2.0') throw new ProtocolError(`not a JSON-RPC 2.0 message: ${shortText(line)}`);
  if (typeof v.method === 'string' && v.id === undefined) {
    return { kind: 'event', event: v.method, body: isObject(v.params) ? v.params : {} };
  }
  const id = parseId(v.id, line);
  if (id === undefined) throw new ProtocolError(`JSON-RPC response without id: ${shortText(line)}`);
  if (v.error !== undefined) {
    const err = isObject(v.error) ? v.error : {};
    const message = typeof err.message === 'string' ? err.message : 'error';
    return { kind: 'answer', id, status: typeof err.code === 'number' && err.code > 0 ? err.code : 1, error: message, stream: false, done: false, body: {} };
  }
  if (!('result' in v)) throw new ProtocolError(`JSON-RPC response without result or error: ${shortText(line)}`);
  const body: Record<string, unknown> = isObject(v.result) ? { ...v.result } : { value: v.result };
  const stream = body.stream === true;
  const done = body.done === true;
  delete body.stream;
  delete body.done;
  return { kind: 'answer', id, status: 0, stream, done, body };
}
