/**
 * The fast codec, JS twin (the C one is native/addon/src/codec.c; the conformance test checks that
 * both produce identical bytes). Bytes from a stream input → lines → records framed as
 * `u32 length | payload`, ready for the ring:
 *   'E' + NDJSON entry: exactly buildEntry(...) + encodeEntry(...) of the line;
 *   'R' + reason: the next record is a line kept as text because it was not valid JSON (or, with
 *       format json, not a JSON object); the input counts the reject, the record is not queued.
 * Splitting is LineSplitter's (max line bytes, \r\n), NDJSON lines follow entry/ndjson.ts,
 * sanitising is sanitise.ts's. Level and module of a plain line come from its start:
 * `<PRI>tag[pid]: msg` (syslog), `[LEVEL] [MODULE] msg`, `LEVEL: msg` or `LEVEL msg`; entries
 * below minLevel are filtered (counted) before framing.
 * The syslog formats take messages instead of lines: `syslog`, a TCP/TLS stream framed as RFC 6587
 * says (SyslogFramer), `syslog_datagram`, one message per feed (a UDP datagram, cut at
 * maxLineBytes); each message is parsed as RFC 5424 or RFC 3164 (syslog/draft.ts), and one that does
 * not parse is kept as text after an 'R' record saying why. Their counters count messages.
 * The `draft` format takes one draft line per feed (agent/buffer/draft-ingest.ts: an input's draft
 * written as a JSON object by the agent itself), read as format json reads a line, with the
 * draft's labels and multiline too (entry/ndjson.ts); no bound on its length, nothing held back.
 * The `kmsg` format takes the kernel's log records (/dev/kmsg, or a FIFO carrying them) and makes
 * one entry per record, after an 'S' note giving its seq (kmsg/framer.ts; options in `kmsg`, its
 * own counters from formatCounters()).
 */
import { buildEntry, type BuildOptions, type EntryDraft } from '../../entry/build.ts';
import { encodeEntry } from '../../entry/codec.ts';
import { freezeEntry, type LogEntry } from '../../entry/entry.ts';
import { draftFromJsonLine } from '../../entry/ndjson.ts';
import { LEVELS, levelFromSyslogSeverity, levelRank, parseLevel, type Level } from '../../lib/level.ts';
import { cutUnits, decodeUtf8, escapeControls, sanitiseModule } from '../../entry/sanitise.ts';
import { LineSplitter } from '../../lib/line-splitter.ts';
import { SyslogFramer } from './syslog/framing.ts';
import { syslogDraft } from './syslog/draft.ts';
import { KmsgFramer, type KmsgCodecOptions } from './kmsg/framer.ts';
import { SERIAL_FLUSH, SerialStream, type SerialCodecOptions, type SerialCounters, type SerialFlush } from './console/codec.ts';

export type { SerialCodecOptions, SerialCounters, SerialFlush };
export { SERIAL_FLUSH };

export interface CodecOptions {
  maxLineBytes: number;
  maxMessageBytes: number;
  /** Lines below this level are filtered out (counted). */
  minLevel: Level;
  defaultLevel: Level;
  defaultModule: string;
  node: string;
  source?: string;
  /**
   * auto: a line starting with { is NDJSON; json: every line must be (others are rejected, kept as
   * text); text: never parsed; syslog: RFC 6587 frames of syslog messages (maxLineBytes bounds a
   * message); syslog_datagram: each chunk fed is one syslog message; draft: each chunk fed is one
   * draft line (agent/buffer/draft-ingest.ts; never bytes from a peer); kmsg: kernel log records
   * (maxLineBytes bounds a line and a record); serial: a serial console (agent/buffer/console/:
   * framing, console forms, oops groups, boot banners; fed with feedAt).
   */
  format?: CodecFormat;
  /** Format kmsg: its options (the boot time, the position to skip to). */
  kmsg?: KmsgCodecOptions;
  /** Format serial's options. */
  serial?: SerialCodecOptions;
}

export type CodecFormat = 'auto' | 'json' | 'text' | 'syslog' | 'syslog_datagram' | 'draft' | 'kmsg' | 'serial';
/** The formats a stream input may ask for (draft is the pipeline's own). */
export type StreamFormat = Exclude<CodecFormat, 'draft'>;
/** In the order of the C codec's CODEC_* numbers (codec.h). */
export const CODEC_FORMATS: readonly CodecFormat[] = ['auto', 'json', 'text', 'syslog', 'syslog_datagram', 'draft', 'kmsg', 'serial'];

export interface CodecCounters {
  /** Lines (syslog formats: non-empty messages). */
  lines: number;
  records: number;
  /** Below minLevel. */
  filtered: number;
  /** Longer than maxLineBytes (the rest was discarded; entry truncated). */
  cut: number;
  /** Not valid JSON (or not an object under format json): kept as text, and an 'R' record says why. */
  rejected: number;
}

/** The options only some formats have (CodecOptions' per-format fields), as openStream passes them on. */
export type FormatOptions = Pick<CodecOptions, 'kmsg' | 'serial'>;

/** Counters only a format has (kmsg: KmsgCounters, serial: SerialCounters), by name. */
export type FormatCounters = Record<string, number>;

export interface LineCodec {
  readonly impl: 'native' | 'js';
  /** Framed records for the complete lines in chunk (a partial line waits for the next chunk). */
  feed(chunk: Uint8Array, receivedMs: number): Buffer;
  /**
   * feed, where the records may lie in memory the next feedTransient call (of any codec) writes
   * over: for a caller that is done with them before, or copies what it keeps (FastIngest). Saves
   * a Buffer per chunk. A codec without it: feed.
   */
  feedTransient?(chunk: Uint8Array, receivedMs: number): Buffer;
  /**
   * feedTransient on a thread-pool thread (the C codec only): done gets the byte count of the
   * records written into out, or a Buffer of their own when they did not fit, or the error. Until
   * done runs the codec takes no other call and the caller leaves chunk and out alone.
   */
  feedOffThread?(chunk: Buffer | Buffer[], receivedMs: number, out: Buffer, done: (err: Error | null, records?: number | Buffer) => void): void;
  /**
   * Format syslog_datagram: datagrams back to back in data, as the datagram socket reads them
   * (native/addon/src/dgram.c), meta holding [length, sender's pid, sender's uid, 1 when cut] for
   * each. Each is one message, whose entry gets the sender's pid (above 0) and uid (0 or above) as
   * fields after its own (the devlog input's credentials).
   */
  feedDatagrams(data: Buffer, meta: Int32Array, receivedMs: number): Buffer;
  /** End of stream: the partial line, if any. */
  end(receivedMs: number): Buffer;
  counters(): CodecCounters;
  /** Format serial: one read with its wall-clock and monotonic (performance.now()) arrival times. */
  feedAt?(chunk: Uint8Array, wallMs: number, monoMs: number): Buffer;
  /** Format serial: the partial line (silence), the open oops group (silence) or both (the port closed) as records. */
  flush?(what: SerialFlush): Buffer;
  /** The figures only the codec's format has (codecFormatCounters); {} for a format without any. */
  formatCounters?(): FormatCounters;
}

/** CodecOptions with the defaults filled in (the format's own options stay optional). */
export type NormalisedCodecOptions = Required<Omit<CodecOptions, 'kmsg' | 'serial'>> & FormatOptions;

/** Options as both codecs take them (module sanitised, source escaped and cut, like buildEntry). */
export function normaliseCodecOptions(o: CodecOptions): NormalisedCodecOptions {
  return { ...o, defaultModule: sanitiseModule(o.defaultModule), source: o.source ? cutUnits(escapeControls(o.source), 256) : '', format: o.format ?? 'auto' };
}

const isAlpha = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
const isDigit = (c: number) => c >= 48 && c <= 57;
const isTag = (c: number) => isAlpha(c) || isDigit(c) || c === 95 || c === 46 || c === 45;

interface Extracted {
  level?: Level;
  module?: string;
  offset: number;
}

/** Level/module at the start of a line; the same steps as extract() in codec.c. */
export function extractLevelModule(s: string): Extracted {
  const n = s.length;
  const at = (i: number) => s.charCodeAt(i);
  if (n > 0 && at(0) === 60 /* < */) {
    let q = 1;
    let v = 0;
    while (q < n && q <= 3 && isDigit(at(q))) v = v * 10 + (at(q++) - 48);
    if (q > 1 && q < n && at(q) === 62 /* > */ && v <= 191) {
      const level = levelFromSyslogSeverity(v & 7);
      let p = q + 1;
      let t = p;
      while (t < n && t - p < 32 && isTag(at(t))) t++;
      const tagEnd = t;
      if (t > p && t < n && at(t) === 91 /* [ */) {
        let u = t + 1;
        while (u < n && isDigit(at(u))) u++;
        t = u > t + 1 && u < n && at(u) === 93 ? u + 1 : 0;
      }
      if (t > p && t + 1 < n && at(t) === 58 /* : */ && at(t + 1) === 32) return { level, module: s.slice(p, tagEnd), offset: t + 2 };
      return { level, offset: p };
    }
  }
  let q = 0;
  const bracket = n > 0 && at(0) === 91;
  if (bracket) q++;
  const w = q;
  while (q < n && q - w < 9 && isAlpha(at(q))) q++;
  const level = q > w && q - w <= 8 ? parseLevel(s.slice(w, q)) : undefined;
  if (!level) return { offset: 0 };
  if (bracket) {
    if (q >= n || at(q) !== 93) return { offset: 0 };
    q++;
  } else if (q < n && at(q) === 58) q++;
  if (q < n && at(q) !== 32 && at(q) !== 9) return { offset: 0 };
  while (q < n && (at(q) === 32 || at(q) === 9)) q++;
  let p = q;
  if (p < n && at(p) === 91) {
    let t = p + 1;
    while (t < n && t - p - 1 < 16 && isTag(at(t))) t++;
    if (t > p + 1 && t < n && at(t) === 93) {
      const module = s.slice(p + 1, t);
      p = t + 1;
      while (p < n && (at(p) === 32 || at(p) === 9)) p++;
      return { level, module, offset: p };
    }
  }
  return { level, offset: p };
}

export class JsLineCodec implements LineCodec {
  readonly impl = 'js' as const;
  private readonly opts: NormalisedCodecOptions;
  private readonly build: BuildOptions;
  private readonly splitter: LineSplitter;
  /** Format syslog: the stream's framer (the other formats split lines). */
  private readonly framer: SyslogFramer | undefined;
  /** Format kmsg: the records' framer. */
  private readonly kmsg: KmsgFramer | undefined;
  /** Format serial: the console's framing, parsing and grouping (console/codec.ts). */
  private readonly serial: SerialStream | undefined;
  private readonly minRank: number;
  private out: Buffer[] = [];
  private now = 0;
  private readonly count: CodecCounters = { lines: 0, records: 0, filtered: 0, cut: 0, rejected: 0 };

  constructor(options: CodecOptions) {
    this.opts = normaliseCodecOptions(options);
    this.minRank = levelRank(this.opts.minLevel);
    this.build = {
      maxMessageBytes: this.opts.maxMessageBytes, defaultLevel: this.opts.defaultLevel, defaultModule: this.opts.defaultModule,
      node: this.opts.node, source: this.opts.source || undefined,
    };
    this.splitter = new LineSplitter(this.opts.maxLineBytes, (line, cut) => this.line(line, cut));
    this.framer = this.opts.format === 'syslog' ? new SyslogFramer(this.opts.maxLineBytes, (msg, cut) => this.syslog(msg, cut)) : undefined;
    this.kmsg = this.opts.format === 'kmsg' ? new KmsgFramer(this.opts.maxLineBytes, this.opts.kmsg, this.kmsgOut()) : undefined;
    const sink = { entry: (d: EntryDraft) => this.entry(d), note: (p: string) => this.frame(p), count: this.count };
    this.serial = this.opts.format === 'serial' ? new SerialStream(this.opts.serial ?? {}, this.opts.maxLineBytes, sink) : undefined;
  }

  /** Where the kmsg framer writes: 'R' notes, and each entry after its 'S' note (both taken back when it is filtered out). */
  private kmsgOut() {
    return {
      count: this.count,
      reject: (why: string) => this.frame('R' + why),
      entry: (draft: EntryDraft, seq: number) => {
        const at = this.out.length;
        const records = this.count.records;
        this.frame('S' + String(seq));
        this.entry({ ...draft, receivedAt: this.now });
        if (this.count.records === records) this.out.length = at;
      },
    };
  }

  /** One syslog message: its entry, after an 'R' record when it did not parse (kept as text). creds: its sender's (feedDatagrams). */
  private syslog(bytes: Buffer, cut: boolean, creds?: { pid: number; uid: number }): void {
    const r = syslogDraft(bytes, cut, undefined, this.now);
    if (!r) return;
    if (creds) {
      const fields = (r.draft.fields ?? {}) as Record<string, unknown>;
      if (creds.pid > 0) fields.pid = creds.pid;
      if (creds.uid >= 0) fields.uid = creds.uid;
      r.draft.fields = fields;
    }
    this.count.lines++;
    if (cut) this.count.cut++;
    if (r.error !== undefined) {
      this.count.rejected++;
      this.frame('R' + r.error);
    }
    this.entry(r.draft);
  }

  private line(bytes: Buffer, cut: boolean): void {
    this.count.lines++;
    if (cut) this.count.cut++;
    const text = decodeUtf8(bytes);
    if (text.length === 0) return;
    const format = this.opts.format;
    if (format === 'text') return this.text(text, cut, false);
    if (cut) return this.text(text, cut, true);
    let k = 0;
    while (k < text.length && (text[k] === ' ' || text[k] === '\t')) k++;
    if (text[k] === '{') {
      const r = draftFromJsonLine(Buffer.from(text, 'utf8'), format === 'draft');
      if (!r.ok) return this.rejectAsText(text, r.error);
      if (this.opts.source) r.draft.source = this.opts.source;
      this.entry({ ...r.draft, receivedAt: this.now });
      return;
    }
    if (format === 'json' || format === 'draft') return this.rejectAsText(text, 'not a JSON object');
    this.text(text, false, true);
  }

  /** Counted, and kept as text rather than lost: 'R' + why, then the entry. */
  private rejectAsText(text: string, why: string): void {
    this.count.rejected++;
    this.frame('R' + why);
    this.text(text, false, false);
  }

  private text(text: string, cut: boolean, extract: boolean): void {
    const x = extract ? extractLevelModule(text) : { offset: 0, level: undefined, module: undefined };
    this.entry({ message: text.slice(x.offset), level: x.level, module: x.module, truncated: cut || undefined, receivedAt: this.now });
  }

  private entry(draft: EntryDraft): void {
    const entry = buildEntry(draft, this.build);
    if (levelRank(entry.level) < this.minRank) return void this.count.filtered++;
    this.frame('E' + encodeEntry(entry));
    this.count.records++;
  }

  /** One record, `u32 length | payload`, written into one Buffer (a chunk of one record is then taken without a copy). */
  private frame(payload: string): void {
    const n = Buffer.byteLength(payload, 'utf8');
    const rec = Buffer.allocUnsafe(4 + n);
    rec.writeUInt32LE(n, 0);
    rec.write(payload, 4, 'utf8');
    this.out.push(rec);
  }

  private take(): Buffer {
    const b = this.out.length === 1 ? this.out[0]! : Buffer.concat(this.out);
    this.out = [];
    return b;
  }

  feed(chunk: Uint8Array, receivedMs: number): Buffer {
    this.now = receivedMs;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (this.opts.format === 'syslog_datagram') {
      const cut = buf.length > this.opts.maxLineBytes;
      this.syslog(cut ? buf.subarray(0, this.opts.maxLineBytes) : buf, cut);
    } else if (this.opts.format === 'draft') this.line(buf, false);
    else if (this.kmsg) this.kmsg.push(buf);
    else if (this.serial) this.serial.feed(buf, receivedMs, receivedMs);
    else if (this.framer) this.framer.push(buf);
    else this.splitter.push(buf);
    return this.take();
  }

  feedDatagrams(data: Buffer, meta: Int32Array, receivedMs: number): Buffer {
    if (this.opts.format !== 'syslog_datagram') throw new TypeError('feedDatagrams: not a datagram codec');
    this.now = receivedMs;
    let off = 0;
    for (let i = 0; i + 3 < meta.length; i += 4) {
      const len = meta[i]!;
      if (len < 0 || len > data.length - off) throw new TypeError('feedDatagrams: the lengths in meta run past data');
      const cut = meta[i + 3] === 1 || len > this.opts.maxLineBytes;
      this.syslog(data.subarray(off, off + Math.min(len, this.opts.maxLineBytes)), cut, { pid: meta[i + 1]!, uid: meta[i + 2]! });
      off += len;
    }
    return this.take();
  }

  feedAt(chunk: Uint8Array, wallMs: number, monoMs: number): Buffer {
    if (!this.serial) throw new TypeError('feedAt: not a serial codec');
    if (!(Math.abs(wallMs) <= 8.64e15) || !Number.isFinite(monoMs)) throw new TypeError('feedAt: wallMs and monoMs must be finite times');
    this.serial.feed(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), wallMs, monoMs);
    return this.take();
  }

  flush(what: SerialFlush): Buffer {
    if (!this.serial) throw new TypeError('flush: not a serial codec');
    this.serial.flush(what);
    return this.take();
  }

  end(receivedMs: number): Buffer {
    this.now = receivedMs;
    if (this.serial) this.serial.flush('close');
    else if (this.framer) this.framer.end();
    else if (this.kmsg) this.kmsg.end();
    else if (this.opts.format !== 'syslog_datagram' && this.opts.format !== 'draft') this.splitter.end();
    return this.take();
  }

  counters(): CodecCounters {
    return { ...this.count };
  }

  formatCounters(): FormatCounters {
    if (this.kmsg) return { ...this.kmsg.counters() };
    return this.serial ? { ...this.serial.counters() } : {};
  }
}

/** An 'E' record back into an entry (for JS filters and sinks that need objects). */
export function recordToEntry(rec: Buffer): LogEntry {
  return freezeEntry(JSON.parse(rec.toString('utf8', 1)) as LogEntry);
}

export const LEVEL_NAMES = LEVELS;
