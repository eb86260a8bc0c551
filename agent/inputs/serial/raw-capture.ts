import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { rotate } from '../../../lib/rotate.ts';
import type { AgentLog } from '../../../lib/log.ts';

export interface RawCaptureOptions {
  path: string;
  maxBytes: number;
  maxBackups: number;
}

/** Raw bytes waiting for the disk beyond this are dropped (and counted) rather than held in memory. */
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/**
 * An exact copy of the bytes read from a port, appended to a file that rotates by size
 * (path → path.1 … path.N). Writes are queued and never block the structured path; if the disk
 * falls behind by more than MAX_QUEUED_BYTES, raw bytes are dropped and counted.
 * Rotation happens between reads, so concatenating path.N … path.1, path gives the stream back.
 */
export class RawCapture {
  private readonly opts: RawCaptureOptions;
  private readonly log: AgentLog;
  private fh: FileHandle | undefined;
  private size = 0;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private writing: Promise<void> | undefined;
  private failing = false;
  bytes = 0;
  dropped = 0;
  rotations = 0;
  lastError = '';

  constructor(opts: RawCaptureOptions, log: AgentLog) {
    this.opts = opts;
    this.log = log;
  }

  write(chunk: Buffer): void {
    if (this.queuedBytes + chunk.length > MAX_QUEUED_BYTES) {
      this.dropped += chunk.length;
      return;
    }
    // The read buffer may be reused by the caller: keep a copy.
    this.queue.push(Buffer.from(chunk));
    this.queuedBytes += chunk.length;
    this.writing ??= this.writeLoop().finally(() => (this.writing = undefined));
  }

  private async writeLoop(): Promise<void> {
    while (this.queue.length > 0) {
      const data = this.queue.length === 1 ? this.queue[0]! : Buffer.concat(this.queue);
      this.queue = [];
      this.queuedBytes = 0;
      try {
        if (!this.fh) await this.openFile();
        if (this.size > 0 && this.size + data.length > this.opts.maxBytes) {
          await this.fh!.close();
          this.fh = undefined;
          await rotate(this.opts.path, 'numbered', this.opts.maxBackups);
          this.rotations++;
          await this.openFile();
        }
        await this.fh!.write(data);
        this.size += data.length;
        this.bytes += data.length;
        if (this.failing) this.log.info(`raw capture ${this.opts.path}: writing again`);
        this.failing = false;
      } catch (e) {
        this.dropped += data.length;
        this.lastError = (e as Error).message;
        // Report once per failure streak, not per read.
        if (!this.failing) this.log.warn(`raw capture ${this.opts.path}: ${this.lastError}; raw bytes are dropped (and counted) until it works again`);
        this.failing = true;
        await this.fh?.close().catch(() => {});
        this.fh = undefined;
      }
    }
  }

  private async openFile(): Promise<void> {
    await mkdir(dirname(this.opts.path), { recursive: true });
    this.fh = await open(this.opts.path, 'a', 0o640);
    this.size = (await this.fh.stat()).size;
  }

  /** Writes what is queued and closes the file. */
  async close(): Promise<void> {
    while (this.writing) await this.writing;
    await this.fh?.close().catch(() => {});
    this.fh = undefined;
  }

  status() {
    return { raw_path: this.opts.path, raw_bytes: this.bytes, raw_dropped_bytes: this.dropped, raw_rotations: this.rotations };
  }
}
