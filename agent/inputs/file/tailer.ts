/**
 * Follows one file identity (device + inode) from a start offset: reads chunks, splits lines,
 * emits each line with a Checkpoint (the offset just after it), and tracks which lines are
 * finished downstream so that the committed offset only ever covers lines that are durable.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { Checkpoint } from '../../../entry/checkpoint.ts';
import { draftFromLine } from '../common.ts';
import { LineSplitter } from '../../../lib/line-splitter.ts';
import type { InputContext } from '../input.ts';
import type { RawStream } from '../../buffer/fast-ingest.ts';

export const FINGERPRINT_BYTES = 256;
const CHUNK_BYTES = 64 * 1024;

export function fileKey(st: Stats): string {
  return `${st.dev}:${st.ino}`;
}

export async function fingerprint(fh: FileHandle, bytes: number): Promise<string> {
  const buf = Buffer.alloc(bytes);
  const { bytesRead } = await fh.read(buf, 0, bytes, 0);
  // node:crypto (and OpenSSL's set-up) loads when first used, not at every start (start-up-modules.test.ts).
  return process.getBuiltinModule('node:crypto').createHash('sha256').update(buf.subarray(0, bytesRead)).digest('hex').slice(0, 16);
}

export type ReadResult = 'eof' | 'more' | 'paused';

export interface TailerEvents {
  /** The committed offset advanced (every line before it is durable downstream). */
  committed(t: FileTailer): void;
}

export class FileTailer {
  readonly key: string;
  path: string;
  private fh: FileHandle;
  private readonly ctx: InputContext;
  private readonly maxLineBytes: number;
  private readonly events: TailerEvents;
  /** Next byte to read. */
  offset: number;
  /** Every line before this offset is finished downstream. */
  committed: number;
  fp = '';
  fpBytes = 0;
  /** Lines into entries: the codec straight into the ring (each record carrying its line's checkpoint token), or drafts where a line stage needs them. */
  private stream: RawStream | undefined;
  private splitter: LineSplitter | undefined;
  private base = 0;
  private paused = false;
  /** Checkpoints of emitted lines not yet finished, in file order. */
  private pending: Checkpoint[] = [];
  private pendingHead = 0;
  /** When the path stopped pointing at this file (rotation); undefined while it does. */
  orphanedSince: number | undefined;
  lines = 0;
  truncations = 0;
  /** Lines whose conversion or hand-over threw (counted as rejected too). */
  poisonLines = 0;

  private constructor(key: string, path: string, fh: FileHandle, offset: number, ctx: InputContext, maxLineBytes: number, events: TailerEvents) {
    this.key = key;
    this.path = path;
    this.fh = fh;
    this.offset = offset;
    this.committed = offset;
    this.ctx = ctx;
    this.maxLineBytes = maxLineBytes;
    this.events = events;
    this.resetSplitter(offset);
  }

  static async open(path: string, offsetFor: (key: string, fh: FileHandle, size: number) => Promise<number>, ctx: InputContext, maxLineBytes: number, events: TailerEvents): Promise<FileTailer> {
    const fh = await open(path, 'r');
    try {
      const real = await fh.stat();
      // The path may have been replaced between stat and open: trust what we opened.
      const key = fileKey(real);
      const offset = await offsetFor(key, fh, real.size);
      const t = new FileTailer(key, path, fh, offset, ctx, maxLineBytes, events);
      await t.refreshFingerprint(real.size);
      return t;
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  }

  private resetSplitter(at: number): void {
    this.base = at;
    const acks = { line: (end: number, framed: boolean) => this.lineAt(end, framed) };
    this.stream = this.ctx.openStream?.(`file:${this.path}`, this.maxLineBytes, 'auto', { acks, offset: at });
    this.splitter = this.stream ? undefined : new LineSplitter(this.maxLineBytes, (line, cut) => this.onLine(line, cut));
  }

  /** The codec path: a line ending at end; its checkpoint when it became an entry. */
  private lineAt(end: number, framed: boolean): Checkpoint | undefined {
    if (!framed) {
      this.advanceEmpty(end);
      return undefined;
    }
    const cp = new Checkpoint({ input: this.ctx.name, stream: this.key, offset: end }, () => this.finished());
    this.pending.push(cp);
    this.lines++;
    return cp;
  }

  private async refreshFingerprint(size: number): Promise<void> {
    const n = Math.min(FINGERPRINT_BYTES, size);
    if (n <= this.fpBytes) return;
    this.fp = await fingerprint(this.fh, n);
    this.fpBytes = n;
  }

  /**
   * One line, isolated from the others: the splitter calls this for every line of a chunk in one
   * loop and the chunk's bytes are already read, so an exception escaping here would silently
   * lose every later line of the same read. A line that cannot be turned into an entry is counted
   * as rejected (with its offset) and the position moves past it.
   */
  private onLine(line: Buffer, cut: boolean): void {
    const end = this.base + this.splitter!.lineEnd;
    let draft;
    try {
      draft = draftFromLine(line, cut, `file:${this.path}`, (why) => this.ctx.reject(why));
    } catch (e) {
      this.poisoned(end, line.length, e);
      return;
    }
    if (!draft) {
      // An empty line: nothing to deliver, but the position moves past it.
      this.advanceEmpty(end);
      return;
    }
    const cp = new Checkpoint({ input: this.ctx.name, stream: this.key, offset: end }, () => this.finished());
    this.pending.push(cp);
    this.lines++;
    draft.checkpoint = cp;
    let accepted: boolean;
    try {
      accepted = this.ctx.emit(draft);
    } catch (e) {
      // Not taken: finish its checkpoint so the committed position can move past it.
      cp.hold();
      cp.release();
      this.lines--;
      this.poisoned(end, line.length, e, false);
      return;
    }
    if (!accepted) this.paused = true;
  }

  private poisoned(end: number, bytes: number, e: unknown, advance = true): void {
    this.poisonLines++;
    const why = `${this.path}: the line of ${bytes} bytes ending at offset ${end} was not taken: ${(e as Error)?.message ?? String(e)}`;
    this.ctx.reject(why);
    this.ctx.log.warn(`file input: ${why}`);
    if (advance) this.advanceEmpty(end);
  }

  private advanceEmpty(end: number): void {
    if (this.pendingHead === this.pending.length) {
      this.committed = end;
      this.events.committed(this);
    } else {
      // Behind an unfinished line: finishes with a dummy checkpoint in order.
      const cp = new Checkpoint({ input: this.ctx.name, stream: this.key, offset: end }, () => this.finished());
      cp.hold();
      this.pending.push(cp);
      cp.release();
    }
  }

  /** Lines finish mostly in order; the committed offset advances over the finished prefix. */
  private finished(): void {
    let moved = false;
    while (this.pendingHead < this.pending.length && this.pending[this.pendingHead]!.done) {
      this.committed = this.pending[this.pendingHead++]!.offset;
      moved = true;
    }
    if (this.pendingHead > 4096 && this.pendingHead * 2 > this.pending.length) {
      this.pending = this.pending.slice(this.pendingHead);
      this.pendingHead = 0;
    }
    if (moved) this.events.committed(this);
  }

  get inFlight(): number {
    return this.pending.length - this.pendingHead;
  }

  /**
   * Reads up to budget bytes. 'paused' = the pipeline asked to wait (the caller awaits drained),
   * 'eof' = nothing more for now, 'more' = the budget ran out first.
   */
  async read(budget: number): Promise<ReadResult> {
    let used = 0;
    while (used < budget) {
      const buf = Buffer.allocUnsafe(CHUNK_BYTES);
      const { bytesRead } = await this.fh.read(buf, 0, CHUNK_BYTES, this.offset);
      if (bytesRead === 0) {
        await this.checkTruncated();
        return 'eof';
      }
      this.offset += bytesRead;
      used += bytesRead;
      if (this.fpBytes < FINGERPRINT_BYTES) await this.refreshFingerprint(this.offset);
      if (this.stream) {
        if (!this.stream.feed(buf.subarray(0, bytesRead))) this.paused = true;
      } else this.splitter!.push(buf.subarray(0, bytesRead));
      if (this.paused) {
        this.paused = false;
        return 'paused';
      }
    }
    return 'more';
  }

  /** copytruncate: the file shrank under us. Start again from its beginning. */
  private async checkTruncated(): Promise<void> {
    const st = await this.fh.stat();
    if (st.size >= this.offset) return;
    this.truncations++;
    this.ctx.log.warn(`${this.path} was truncated (size ${st.size} < offset ${this.offset}); reading it from the start`);
    this.offset = 0;
    this.fp = '';
    this.fpBytes = 0;
    this.resetSplitter(0);
    await this.refreshFingerprint(st.size);
  }

  /** A rotated-away file is finished: emit a last line without newline, if any. */
  flushPartial(): void {
    if (this.stream) {
      if (!this.stream.end()) this.paused = true;
    } else this.splitter!.end();
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }

  status(): Record<string, unknown> {
    return { path: this.path, key: this.key, offset: this.offset, committed: this.committed, in_flight: this.inFlight, lines: this.lines, truncations: this.truncations, poison_lines: this.poisonLines };
  }
}
