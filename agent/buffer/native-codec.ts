import { LEVELS, levelRank } from '../../lib/level.ts';
import { loadAddon, type NativeAddon } from '../../lib/native-runtime.ts';
import { CODEC_FORMATS, SERIAL_FLUSH, normaliseCodecOptions, type CodecCounters, type CodecOptions, type FormatCounters, type LineCodec, type SerialFlush } from './line-codec.ts';

/**
 * What feedTransient writes into, shared by every codec (one JS thread; see LineCodec.feedTransient):
 * room for the records of a 64 KiB socket read and more; a larger output gets a Buffer of its own.
 */
let transientOut: Buffer | undefined;

/** The fast codec in C (native/addon/src/codec.c); same output as JsLineCodec. */
export class NativeLineCodec implements LineCodec {
  readonly impl = 'native' as const;
  private readonly addon: NativeAddon;
  private readonly handle: object;
  /** A feed runs on the thread pool (feedOffThread). */
  private busy = false;
  private last: CodecCounters = { lines: 0, records: 0, filtered: 0, cut: 0, rejected: 0 };
  private lastFormat: FormatCounters = {};

  constructor(options: CodecOptions, addon: NativeAddon = loadAddon()) {
    const o = normaliseCodecOptions(options);
    this.addon = addon;
    const s = o.serial;
    // Format-specific options travel in one object (codecNew's 9th argument).
    const extra = s && o.format === 'serial'
      ? { serial: { separator: s.separator === 'auto' ? undefined : s.separator, latin1: s.encoding === 'latin1', parse: s.parse, groupOops: s.groupOops, detectBoot: s.detectBoot, oopsMaxLines: s.oopsMaxLines, lineNotes: s.lineNotes } }
      : o.kmsg && o.format === 'kmsg' ? { kmsg: o.kmsg } : undefined;
    this.handle = addon.codecNew(o.maxLineBytes, o.maxMessageBytes, levelRank(o.minLevel), levelRank(o.defaultLevel), o.defaultModule, o.node, o.source, CODEC_FORMATS.indexOf(o.format), extra);
  }

  feedAt(chunk: Uint8Array, wallMs: number, monoMs: number): Buffer {
    return this.addon.codecFeedAt(this.handle, chunk, wallMs, monoMs);
  }

  flush(what: SerialFlush): Buffer {
    return this.addon.codecFlush(this.handle, SERIAL_FLUSH.indexOf(what));
  }

  feed(chunk: Uint8Array, receivedMs: number): Buffer {
    return this.addon.codecFeed(this.handle, chunk, receivedMs);
  }

  feedTransient(chunk: Uint8Array, receivedMs: number): Buffer {
    const out = (transientOut ??= Buffer.allocUnsafeSlow(256 * 1024));
    const r = this.addon.codecFeedInto(this.handle, chunk, receivedMs, out);
    return typeof r === 'number' ? out.subarray(0, r) : r;
  }

  feedOffThread(chunk: Buffer | Buffer[], receivedMs: number, out: Buffer, done: (err: Error | null, records?: number | Buffer) => void): void {
    this.busy = true;
    this.addon.codecFeedOffThread(this.handle, chunk, receivedMs, out, (err, records) => {
      this.busy = false;
      done(err, records);
    });
  }

  feedDatagrams(data: Buffer, meta: Int32Array, receivedMs: number): Buffer {
    return this.addon.codecFeedDatagrams(this.handle, data, meta, receivedMs);
  }

  end(receivedMs: number): Buffer {
    return this.addon.codecEnd(this.handle, receivedMs);
  }

  counters(): CodecCounters {
    // While a feed runs on the thread pool the codec is its thread's: the figures as they were.
    if (this.busy) return { ...this.last };
    const [lines, records, filtered, cut, rejected] = this.addon.codecCounters(this.handle);
    return (this.last = { lines, records, filtered, cut, rejected });
  }

  formatCounters(): FormatCounters {
    if (this.busy) return { ...this.lastFormat };
    return (this.lastFormat = this.addon.codecFormatCounters(this.handle));
  }
}

export { LEVELS };
