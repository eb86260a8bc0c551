/**
 * `type: serial`: captures one serial console. Bytes flow
 *   port (open/reconnect) ──► raw capture (optional exact copy)
 *                         ──► framer (lines, partial lines) ──► parse (level, module, times)
 *                         ──► oops grouper (FATAL groups, boot banners) ──► pipeline
 */
import { isUtf8 } from 'node:buffer';
import type { Input, InputContext, InputStatus } from '../input.ts';
import type { EntryDraft } from '../../../entry/build.ts';
import { LineFramer, separatorBytes, type FramedLine } from './framing.ts';
import { parseConsoleLine, stripAnsi } from './parse.ts';
import { OopsGrouper } from './oops.ts';
import { SerialLink } from './port.ts';
import { RawCapture } from './raw-capture.ts';
import { bootDraft, lineDraft, oopsDraft, type SerialLine } from './drafts.ts';
import type { SerialInputConfig } from './schema.ts';

export { schema } from './schema.ts';
export type { SerialInputConfig } from './schema.ts';

export function create(config: SerialInputConfig, ctx: InputContext): Input {
  return new SerialInput(config, ctx);
}

export class SerialInput implements Input {
  private readonly config: SerialInputConfig;
  private readonly ctx: InputContext;
  private readonly source: string;
  private readonly link: SerialLink;
  private readonly framer: LineFramer;
  private readonly grouper: OopsGrouper<SerialLine>;
  private readonly raw: RawCapture | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private oopsTimer: NodeJS.Timeout | undefined;
  private waitingForDrain = false;
  private stopped = false;
  private counts = { bytes: 0, lines: 0, cut_lines: 0, invalid_lines: 0, partial_lines: 0, oops_groups: 0, boots: 0 };
  /** Last monotonic stamp given to a line (µs resolution), kept strictly increasing. */
  private lastMono = -1;

  constructor(config: SerialInputConfig, ctx: InputContext) {
    this.config = config;
    this.ctx = ctx;
    this.source = `serial:${config.path}`;
    this.framer = new LineFramer(
      { separator: separatorBytes(config.separator, config.encoding), maxLineBytes: config.max_line_bytes, utf8: config.encoding === 'utf-8' },
      (line) => this.onLine(line),
    );
    this.grouper = new OopsGrouper<SerialLine>(
      { group: config.group_oops, detectBoot: config.detect_boot, maxLines: config.oops_max_lines },
      {
        line: (l) => this.emit(lineDraft(l, this.source)),
        group: (g) => {
          this.counts.oops_groups++;
          this.emit(oopsDraft(g, this.source), true);
        },
        boot: (b) => {
          this.counts.boots++;
          this.emit(bootDraft(b, this.counts.boots, this.source));
        },
      },
    );
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
        data: (chunk, wall, mono) => this.onData(chunk, wall, mono),
        opened: (device, reconnect) => {
          const how = `${config.baud_rate} ${config.data_bits}${config.parity[0]!.toUpperCase()}${config.stop_bits}`;
          const dev = device === config.path ? '' : ` (${device})`;
          ctx.log.info(`${config.path}${dev}: ${reconnect ? `back, capturing again (reconnect ${this.link.reconnects})` : `open at ${how}`}`);
        },
        lost: () => this.endOfStream(),
      },
    );
  }

  async start(): Promise<void> {
    // Opening happens in the background: an absent port must not hold up the agent.
    this.link.start();
  }

  private onData(chunk: Buffer, wall: number, mono: number): void {
    if (this.stopped) return;
    this.counts.bytes += chunk.length;
    this.raw?.write(chunk);
    this.framer.push(chunk, wall, mono);
    if (this.framer.pendingBytes > 0) {
      if (this.idleTimer) this.idleTimer.refresh();
      else this.idleTimer = setTimeout(() => this.framer.flush('idle'), this.config.idle_flush_ms);
    }
    this.armOopsTimer();
  }

  private armOopsTimer(): void {
    if (!this.grouper.active) return;
    if (this.oopsTimer) this.oopsTimer.refresh();
    else this.oopsTimer = setTimeout(() => this.grouper.close('idle'), this.config.oops_idle_ms);
  }

  private onLine(line: FramedLine): void {
    const bytes = line.bytes;
    let text: string;
    let invalid = false;
    if (this.config.encoding === 'latin1') text = bytes.toString('latin1');
    else {
      text = bytes.toString('utf8');
      invalid = text.includes('\ufffd') && !isUtf8(bytes);
    }
    const c = this.counts;
    c.lines++;
    if (invalid) c.invalid_lines++;
    if (line.end === 'max_bytes') c.cut_lines++;
    else if (line.end !== 'separator') c.partial_lines++;
    // Parsed even with `parse` off: oops and boot markers are matched after the kernel prefix.
    const parsed = parseConsoleLine(text);
    const plain = stripAnsi(text);
    // Lines from one read share an arrival time; 1 µs steps keep their order recoverable from
    // mono_ms even after the priority lane let an oops overtake them.
    let mono = Math.round(line.monoMs * 1000) / 1000;
    if (mono <= this.lastMono) mono = Math.round((this.lastMono + 0.001) * 1000) / 1000;
    this.lastMono = mono;
    this.grouper.feed({
      text: plain,
      body: parsed.format === 'kernel' ? parsed.message : plain,
      wallMs: line.wallMs,
      monoMs: mono,
      kernelTime: parsed.kernelTime,
      parsed: this.config.parse ? parsed : undefined,
      end: line.end,
      invalid,
    });
    this.armOopsTimer();
  }

  private emit(draft: EntryDraft, urgent = false): void {
    const ok = urgent && this.ctx.emitUrgent ? this.ctx.emitUrgent(draft) : this.ctx.emit(draft);
    if (ok || this.waitingForDrain || this.stopped) return;
    // Backpressure (when_full: block): stop reading until the buffer has room.
    this.waitingForDrain = true;
    this.link.pause();
    void this.ctx.drained().then(() => {
      this.waitingForDrain = false;
      this.link.resume();
    });
  }

  /** The stream ended (port lost or stopping): emit the partial line and any open oops group. */
  private endOfStream(): void {
    this.framer.flush('close');
    this.grouper.close('close');
  }

  async stop(): Promise<void> {
    await this.link.stop();
    this.endOfStream();
    this.stopped = true;
    clearTimeout(this.idleTimer);
    clearTimeout(this.oopsTimer);
    await this.raw?.close();
  }

  status(): InputStatus {
    const c = this.counts;
    return {
      path: this.config.path,
      device: this.link.device,
      state: this.link.state,
      baud_rate: this.config.baud_rate,
      bytes: c.bytes,
      lines: c.lines,
      // Lines that did not frame cleanly: cut at max_line_bytes or not valid in the encoding
      // (a wrong baud_rate or parity shows up as invalid bytes).
      framing_errors: c.cut_lines + c.invalid_lines,
      cut_lines: c.cut_lines,
      invalid_lines: c.invalid_lines,
      partial_lines: c.partial_lines,
      oops_groups: c.oops_groups,
      boots: c.boots,
      reconnects: this.link.reconnects,
      last_error: this.link.lastError,
      ...(this.raw?.status() ?? {}),
    };
  }
}
