import { watch, type FSWatcher } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { SerialPort } from 'serialport';
import type { AgentLog } from '../../../lib/log.ts';
import { Backoff } from '../../../lib/backoff.ts';

export type PortState = 'opening' | 'open' | 'absent' | 'error' | 'stopped';

export interface PortSettings {
  path: string;
  baudRate: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: 'none' | 'even' | 'odd' | 'mark' | 'space';
  stopBits: 1 | 2;
  flowControl: 'none' | 'rtscts' | 'xonxoff';
  reconnectMinMs: number;
  reconnectMaxMs: number;
}

export interface PortEvents {
  /** A read; wallMs/monoMs are when it arrived. */
  data(chunk: Buffer, wallMs: number, monoMs: number): void;
  /** The port is open (again). */
  opened(device: string, reconnect: boolean): void;
  /** The open port went away (unplugged, hung up, I/O error). */
  lost(reason: string): void;
}

/** An open failure with the operator's next step in it. */
export class SerialOpenError extends Error {
  readonly path: string;
  readonly state: 'absent' | 'error';
  constructor(path: string, state: 'absent' | 'error', message: string) {
    super(`${path}: ${message}`);
    this.name = 'SerialOpenError';
    this.path = path;
    this.state = state;
  }
}

function explain(path: string, err: Error & { code?: string }): SerialOpenError {
  const m = err.message.replace(/^Error: /, '');
  if (err.code === 'ENOENT' || /No such file|ENOENT/.test(m)) return new SerialOpenError(path, 'absent', 'not present (unplugged?)');
  if (err.code === 'EACCES' || /Permission denied|EACCES/.test(m)) {
    return new SerialOpenError(path, 'error', 'permission denied (run the agent in the dialout group, see docs/serial.md)');
  }
  if (/Resource temporarily unavailable|lock/i.test(m)) return new SerialOpenError(path, 'error', 'in use by another program (the port is locked)');
  if (/baud/i.test(m)) return new SerialOpenError(path, 'error', `${m} (the driver refuses this baud_rate)`);
  return new SerialOpenError(path, 'error', m);
}

/**
 * One serial port that stays wanted: opened in the background, reopened with exponential backoff
 * after it vanishes or fails, and sooner when its directory changes (udev creating the node or
 * the by-id link). Each outage is reported once, not once per retry. Never throws to the caller
 * and never blocks the event loop, so an absent port stalls nothing else.
 */
export class SerialLink {
  private readonly settings: PortSettings;
  private readonly log: AgentLog;
  private readonly events: PortEvents;
  private port: SerialPort | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private watcher: FSWatcher | undefined;
  private readonly backoff: Backoff;
  private stopped = false;
  private paused = false;
  private everOpened = false;
  /** The current outage was reported (reset when the port opens). */
  private reported = false;
  state: PortState = 'opening';
  device = '';
  reconnects = 0;
  lastError = '';

  constructor(settings: PortSettings, log: AgentLog, events: PortEvents) {
    this.settings = settings;
    this.log = log;
    this.events = events;
    // No jitter: the device is this gateway's own; a re-plugged one is noticed at once anyway.
    this.backoff = new Backoff({ minMs: settings.reconnectMinMs, maxMs: settings.reconnectMaxMs, jitter: 'none' });
  }

  start(): void {
    void this.open();
  }

  /** Backpressure: stop reading (the tty buffers, then flow control holds the device back). */
  pause(): void {
    this.paused = true;
    this.port?.pause();
  }

  resume(): void {
    this.paused = false;
    this.port?.resume();
  }

  private async open(): Promise<void> {
    this.retryTimer = undefined;
    if (this.stopped) return;
    const st = this.settings;
    let port: SerialPort | undefined;
    try {
      this.device = await realpath(st.path).catch((e: Error) => {
        throw explain(st.path, e);
      });
      // Loaded on first use: configurations without a serial input never load serialport or its binding.
      const { SerialPort: Port } = await import('serialport');
      port = new Port({
        path: st.path,
        baudRate: st.baudRate,
        dataBits: st.dataBits,
        parity: st.parity,
        stopBits: st.stopBits,
        rtscts: st.flowControl === 'rtscts',
        xon: st.flowControl === 'xonxoff',
        xoff: st.flowControl === 'xonxoff',
        // Do not drop DTR on close: many boards (Arduino-style) reset on a DTR edge.
        hupcl: false,
        autoOpen: false,
      });
      await new Promise<void>((resolve, reject) => port!.open((err) => (err ? reject(explain(st.path, err)) : resolve())));
    } catch (e) {
      const err = e instanceof SerialOpenError ? e : explain(st.path, e as Error);
      this.failed(err.state, err.message);
      return;
    }
    if (this.stopped) {
      port.close(() => {});
      return;
    }
    this.port = port;
    this.state = 'open';
    this.backoff.reset();
    this.reported = false;
    this.closeWatcher();
    const reconnect = this.everOpened;
    if (reconnect) this.reconnects++;
    this.everOpened = true;
    port.on('data', (chunk: Buffer) => this.events.data(chunk, Date.now(), performance.now()));
    port.on('error', (e: Error) => this.lose(port, e.message));
    port.on('close', (e: (Error & { disconnected?: boolean }) | null) => this.lose(port, e?.disconnected ? 'device disconnected' : 'port closed'));
    if (this.paused) port.pause();
    this.events.opened(this.device, reconnect);
  }

  /** The open port went away: report it once, then retry. */
  private lose(port: SerialPort, reason: string): void {
    if (this.port !== port || this.stopped) return;
    this.port = undefined;
    port.removeAllListeners('data');
    port.removeAllListeners('close');
    port.on('error', () => {});
    if (port.isOpen) port.close(() => {});
    this.state = 'absent';
    this.lastError = reason;
    this.reported = true;
    this.log.warn(`${this.settings.path}: ${reason}; retrying with backoff until it is back`);
    this.events.lost(reason);
    this.scheduleRetry();
  }

  private failed(state: 'absent' | 'error', message: string): void {
    this.state = state;
    this.lastError = message;
    if (!this.reported) {
      this.reported = true;
      this.log.warn(`${message}; retrying with backoff until it opens`);
    }
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => void this.open(), this.backoff.next());
    this.watchForDevice();
  }

  /** Retry at once when the device node or link appears, instead of waiting out the backoff. */
  private watchForDevice(): void {
    if (this.watcher) return;
    const name = basename(this.settings.path);
    try {
      this.watcher = watch(dirname(this.settings.path), (_event, file) => {
        if (file !== null && file !== name) return;
        if (this.retryTimer && !this.stopped) {
          clearTimeout(this.retryTimer);
          this.retryTimer = setTimeout(() => void this.open(), 20);
        }
      });
      this.watcher.on('error', () => this.closeWatcher());
    } catch {
      // The directory itself may be missing (/dev/serial/by-id with no adapter plugged): backoff only.
    }
  }

  private closeWatcher(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.state = 'stopped';
    clearTimeout(this.retryTimer);
    this.closeWatcher();
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
