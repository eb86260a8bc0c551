/**
 * `type: serial`: captures one serial console. Bytes flow
 *   port (open/reconnect) ──► raw capture (optional exact copy)
 *                         ──► codec stream, format serial (agent/buffer/console/, console.c):
 *                             lines, partial lines, level/module/times, FATAL oops groups, boot banners
 *                         ──► buffer (an oops group through the priority lane)
 * The input keeps the port, the raw capture, reconnects, backpressure and the two timers: a
 * partial line is flushed after idle_flush_ms of silence, an oops group without its end marker
 * closed after oops_idle_ms; the codec says whether either is pending.
 */
import type { Input, InputContext, InputStatus } from '../input.ts';
import type { CodecCounters, CodecOptions, SerialCodecOptions, SerialFlush } from '../../buffer/line-codec.ts';
import { separatorBytes } from '../../buffer/console/framing.ts';
import { guardData } from '../common.ts';
import { SerialLink } from './port.ts';
import { RawCapture } from './raw-capture.ts';
import { DraftStream } from '../draft-stream.ts';
import type { SerialInputConfig } from './schema.ts';

export { schema } from './schema.ts';
export type { SerialInputConfig } from './schema.ts';

export function create(config: SerialInputConfig, ctx: InputContext): Input {
  return new SerialInput(config, ctx);
}

/** What the input needs of its stream: the pipeline's (RawStream) or, with a line stage, a DraftStream (stagedStream). */
interface SerialStream {
  feedAt(chunk: Buffer, wallMs: number, monoMs: number): boolean;
  flush(what: SerialFlush): boolean;
  drained(): Promise<void>;
  settled(): Promise<void>;
  stats(): CodecCounters;
  formatCounters(): Record<string, number>;
}

/**
 * The codec's bound on messages when its records become drafts: the pipeline cuts them at the
 * agent's max_message_bytes when the drafts become records, so this one only has to be at least
 * that (the agent's maximum).
 */
const STAGED_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * The stream when the agent gives none (ctx.openStream undefined: a line stage or labels need
 * drafts): the same codec, its records turned back into drafts (DraftStream), each with the line
 * as read (the 'L' note) for a configured parser, an oops through emitUrgent.
 */
export function stagedStream(options: Omit<CodecOptions, 'maxMessageBytes' | 'minLevel' | 'format'>, ctx: InputContext): SerialStream {
  const codec: CodecOptions = { ...options, maxMessageBytes: STAGED_MAX_MESSAGE_BYTES, minLevel: 'DEBUG', format: 'serial', serial: { ...options.serial, lineNotes: true } };
  return new DraftStream(ctx, codec);
}

export class SerialInput implements Input {
  private readonly config: SerialInputConfig;
  private readonly ctx: InputContext;
  private readonly link: SerialLink;
  private readonly stream: SerialStream;
  private readonly raw: RawCapture | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private oopsTimer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  private stopped = false;
  private bytes = 0;

  constructor(config: SerialInputConfig, ctx: InputContext) {
    this.config = config;
    this.ctx = ctx;
    const source = `serial:${config.path}`;
    const serial: SerialCodecOptions = {
      separator: separatorBytes(config.separator, config.encoding), encoding: config.encoding, parse: config.parse,
      groupOops: config.group_oops, detectBoot: config.detect_boot, oopsMaxLines: config.oops_max_lines,
    };
    const fast = ctx.openStream?.(source, config.max_line_bytes, 'serial', undefined, { serial });
    this.stream = fast?.feedAt && fast.flush
      ? (fast as SerialStream)
      : stagedStream({ maxLineBytes: config.max_line_bytes, defaultLevel: config.default_level, defaultModule: config.module ?? 'SERIAL', node: '', source, serial }, ctx);
    if (config.raw_capture) {
      this.raw = new RawCapture({ path: config.raw_capture.path, maxBytes: config.raw_capture.max_bytes, maxBackups: config.raw_capture.max_backups }, ctx.log);
    }
    this.link = new SerialLink(
      {
        path: config.path, baudRate: config.baud_rate, dataBits: config.data_bits as 5 | 6 | 7 | 8, parity: config.parity,
        stopBits: config.stop_bits as 1 | 2, flowControl: config.flow_control,
        reconnectMinMs: config.reconnect_min_ms, reconnectMaxMs: Math.max(config.reconnect_min_ms, config.reconnect_max_ms),
      },
      ctx.log,
      {
        data: guardData(ctx, (chunk: Buffer, wall: number, mono: number) => this.onData(chunk, wall, mono)),
        opened: (device, reconnect) => {
          const how = `${config.baud_rate} ${config.data_bits}${config.parity[0]!.toUpperCase()}${config.stop_bits}`;
          const dev = device === config.path ? '' : ` (${device})`;
          ctx.log.info(`${config.path}${dev}: ${reconnect ? `back, capturing again (reconnect ${this.link.reconnects})` : `open at ${how}`}`);
        },
        lost: guardData(ctx, () => this.endOfStream()),
      },
    );
  }

  async start(): Promise<void> {
    // Opening happens in the background: an absent port must not hold up the agent.
    this.link.start();
  }

  private onData(chunk: Buffer, wall: number, mono: number): void {
    if (this.stopped) return;
    this.bytes += chunk.length;
    this.raw?.write(chunk);
    this.after(this.stream.feedAt(chunk, wall, mono));
  }

  /** A timer fired: the partial line, or the open oops group, into the buffer. */
  private flush(what: SerialFlush): void {
    if (this.stopped) return;
    this.after(this.stream.flush(what));
  }

  /** After the codec took bytes or a flush: backpressure, and the timers for what is pending. */
  private after(ok: boolean): void {
    const pending = this.stream.formatCounters();
    if (pending.pending_bytes! > 0) {
      if (this.idleTimer) this.idleTimer.refresh();
      else this.idleTimer = setTimeout(guardData(this.ctx, () => this.flush('line')), this.config.idle_flush_ms);
    }
    if (pending.open_group_lines! > 0) {
      if (this.oopsTimer) this.oopsTimer.refresh();
      else this.oopsTimer = setTimeout(guardData(this.ctx, () => this.flush('group')), this.config.oops_idle_ms);
    }
    if (ok || this.waitingForDrain || this.stopped) return;
    // Backpressure (when_full: block): stop reading until the buffer has room.
    this.waitingForDrain = true;
    this.link.pause();
    void this.stream.drained().then(() => {
      this.waitingForDrain = false;
      this.link.resume();
    });
  }

  /** The stream ended (port lost or stopping): the partial line and any open oops group go out. */
  private endOfStream(): void {
    if (!this.stopped) this.after(this.stream.flush('close'));
  }

  async stop(): Promise<void> {
    await this.link.stop();
    this.endOfStream();
    this.stopped = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.oopsTimer);
    await this.stream.settled();
    await this.raw?.close();
  }

  status(): InputStatus {
    const c = this.stream.stats();
    const f = this.stream.formatCounters();
    return {
      path: this.config.path,
      device: this.link.device,
      state: this.link.state,
      baud_rate: this.config.baud_rate,
      bytes: this.bytes,
      lines: c.lines,
      // Lines that did not frame cleanly: cut at max_line_bytes or not valid in the encoding
      // (a wrong baud_rate or parity shows up as invalid bytes).
      framing_errors: c.cut + f.invalid_lines!,
      cut_lines: c.cut,
      invalid_lines: f.invalid_lines!,
      partial_lines: f.partial_lines!,
      oops_groups: f.oops_groups!,
      boots: f.boots!,
      reconnects: this.link.reconnects,
      last_error: this.link.lastError,
      ...(this.raw?.status() ?? {}),
    };
  }
}
