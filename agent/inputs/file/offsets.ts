/**
 * The file input's committed positions: `<state dir>/offsets.json`, one record per file identity
 * (`<dev>:<inode>`) with the path it was last seen at, the committed offset, and a fingerprint of
 * its first bytes (so a new file that happens to reuse an inode is not mistaken for the old one).
 * Replaced atomically (temp file, fsync, rename). Written at most every commit_interval, and
 * synchronously when the process exits, so an orderly stop commits everything finished.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import { join } from 'node:path';

export interface FileRecord {
  path: string;
  offset: number;
  /** sha256 (hex, first 16 chars) of the first fpBytes bytes. */
  fp: string;
  fpBytes: number;
}

let tmpSeq = 0;

export class OffsetStore {
  readonly path: string;
  private readonly dir: string;
  private readonly intervalMs: number;
  private readonly fsync: boolean;
  private records = new Map<string, FileRecord>();
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private readonly onExit = () => this.writeSync();
  private exitHooked = false;
  writes = 0;

  constructor(dir: string, intervalMs: number, fsync: boolean) {
    this.dir = dir;
    this.path = join(dir, 'offsets.json');
    this.intervalMs = intervalMs;
    this.fsync = fsync;
  }

  /** Loads committed positions; a damaged file is reported and ignored (start as if new). True when a file existed. */
  load(warn: (m: string) => void): boolean {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return false;
    }
    try {
      const o = JSON.parse(text) as { files?: Record<string, FileRecord> };
      for (const [k, r] of Object.entries(o.files ?? {})) {
        if (r && typeof r.path === 'string' && Number.isSafeInteger(r.offset) && typeof r.fp === 'string' && Number.isSafeInteger(r.fpBytes)) this.records.set(k, r);
      }
    } catch (e) {
      warn(`${this.path}: ${(e as Error).message}; starting without committed positions`);
    }
    return true;
  }

  get(key: string): FileRecord | undefined {
    return this.records.get(key);
  }

  set(key: string, rec: FileRecord): void {
    this.records.set(key, rec);
    this.touch();
  }

  delete(key: string): void {
    if (this.records.delete(key)) this.touch();
  }

  private touch(): void {
    this.dirty = true;
    // Whatever is finished when the process exits is written then, even after close().
    if (!this.exitHooked) {
      this.exitHooked = true;
      process.on('exit', this.onExit);
    }
    if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        // A failed write (disk full, directory removed) must not take the agent down: the
        // positions stay dirty and are written at the next change or at exit.
        this.write().catch(() => (this.dirty = true));
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  private serialise(): string {
    return JSON.stringify({ version: 1, files: Object.fromEntries(this.records) }) + '\n';
  }

  async write(): Promise<void> {
    if (this.writing) await this.writing;
    if (!this.dirty) return;
    this.dirty = false;
    const text = this.serialise();
    this.writing = (async () => {
      await mkdir(this.dir, { recursive: true });
      // Unique per write: after a reload restarted the input, the old store (its last lines still
      // finishing) and the new one may write at the same moment.
      const tmp = `${this.path}.${process.pid}.${++tmpSeq}.tmp`;
      const fh = await open(tmp, 'w', 0o600);
      try {
        await fh.writeFile(text);
        if (this.fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
      this.writes++;
    })();
    try {
      await this.writing;
    } finally {
      this.writing = undefined;
    }
  }

  /** On the way out (process exit): nothing asynchronous can run any more. */
  writeSync(): void {
    if (!this.dirty) return;
    this.dirty = false;
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.path}.${process.pid}.${++tmpSeq}.sync.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, this.serialise());
      if (this.fsync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.path);
    this.writes++;
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writeSync();
  }
}
