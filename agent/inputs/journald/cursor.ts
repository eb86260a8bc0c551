/**
 * The journal cursor of the last entry finished downstream, kept with the other inputs'
 * positions (`<data_dir>/inputs/<name>/journal-cursor`): a restart resumes with
 * `journalctl --after-cursor`, so nothing is repeated or skipped. Entries finish mostly in order;
 * the cursor advances over the finished prefix only (like the file input's offsets), and is
 * written atomically at most every commit interval and at stop.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Pending {
  cursor: string;
  done: boolean;
}

export class CursorStore {
  private readonly path: string;
  private readonly dir: string;
  private pending: Pending[] = [];
  private head = 0;
  committed: string | undefined;
  private written: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  writes = 0;
  /** After stop: entries finishing during the drain write the cursor at once (no timer will). */
  closing = false;
  private readonly intervalMs: number;

  constructor(stateDir: string, intervalMs: number) {
    this.intervalMs = intervalMs;
    this.dir = stateDir;
    this.path = join(stateDir, 'journal-cursor');
  }

  load(): string | undefined {
    try {
      const c = readFileSync(this.path, 'utf8').trim();
      this.committed = this.written = c || undefined;
    } catch {
      this.committed = undefined;
    }
    return this.committed;
  }

  /** An entry was emitted; returns the callback that marks it finished. */
  track(cursor: string): () => void {
    const p: Pending = { cursor, done: false };
    this.pending.push(p);
    return () => {
      p.done = true;
      this.advance();
    };
  }

  private advance(): void {
    let moved = false;
    while (this.head < this.pending.length && this.pending[this.head]!.done) {
      this.committed = this.pending[this.head++]!.cursor;
      moved = true;
    }
    if (this.head > 4096 && this.head * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.head);
      this.head = 0;
    }
    if (moved && this.closing) this.flush();
    else if (moved && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, this.intervalMs);
      this.timer.unref();
    }
  }

  get inFlight(): number {
    return this.pending.length - this.head;
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.committed || this.committed === this.written) return;
    mkdirSync(this.dir, { recursive: true });
    const tmp = `${this.path}.tmp`;
    writeFileSync(tmp, this.committed + '\n');
    const fd = openSync(tmp, 'r');
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, this.path);
    this.written = this.committed;
    this.writes++;
  }
}
