import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentLog } from '../../lib/log.ts';
import type { IndexWriter } from '../index/index-writer.ts';
import type { RetentionConfig } from '../index/config.ts';

/** The index as retention sees it: the writer that deletes, and the nodes it holds. */
export interface RetainedIndex {
  writer: Pick<IndexWriter, 'deleteOlderThan' | 'trimNode'>;
  nodes(): string[];
}

const DATA_FILE = /^(\d{4}-\d{2}-\d{2})-(\d{4,})\.ndjson$/;
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Per-node retention by age and by size, applied to the NDJSON store (whole files; never the
 * file a node is writing, which state.json names) and to the index (entries). Runs every
 * `interval`; deletions are counted in status.
 */
export class Retention {
  private readonly cfg: RetentionConfig;
  private readonly storeDir: string | undefined;
  private readonly index: RetainedIndex | undefined;
  private readonly log: AgentLog;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  filesDeleted = 0;
  bytesDeleted = 0;
  entriesDeleted = 0;
  runs = 0;

  constructor(o: { cfg: RetentionConfig; storeDir?: string; index?: RetainedIndex; log: AgentLog; now?: () => number }) {
    this.cfg = o.cfg;
    this.storeDir = o.storeDir;
    this.index = o.index;
    this.log = o.log;
    this.now = o.now ?? Date.now;
  }

  get active(): boolean {
    return this.cfg.max_age !== undefined || this.cfg.max_bytes_per_node !== undefined;
  }

  start(): void {
    if (!this.active) return;
    this.timer = setInterval(() => void this.run(), this.cfg.interval);
    this.timer.unref();
  }

  /** One pass (also called by tests and at start-up). */
  run(): Promise<void> {
    this.running ??= this.pass().catch((e: Error) => this.log.warn(`retention: ${e.message}`)).finally(() => (this.running = undefined));
    return this.running;
  }

  private async pass(): Promise<void> {
    this.runs++;
    const { max_age: maxAge, max_bytes_per_node: maxBytes } = this.cfg;
    if (this.storeDir) {
      for (const d of await readdir(this.storeDir, { withFileTypes: true }).catch(() => [])) {
        if (d.isDirectory() && NODE_ID.test(d.name)) await this.storeNode(join(this.storeDir, d.name), maxAge, maxBytes);
      }
    }
    if (this.index) {
      if (maxAge !== undefined) this.entriesDeleted += await this.index.writer.deleteOlderThan(this.now() - maxAge);
      if (maxBytes !== undefined) for (const n of this.index.nodes()) this.entriesDeleted += await this.index.writer.trimNode(n, maxBytes);
    }
  }

  private async storeNode(dir: string, maxAge: number | undefined, maxBytes: number | undefined): Promise<void> {
    let current = '';
    try {
      current = (JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { file?: string }).file ?? '';
    } catch {
      return; // no committed state: nothing of this node is safe to judge
    }
    const files: { name: string; size: number; day: string }[] = [];
    for (const f of (await readdir(dir)).sort()) {
      const m = DATA_FILE.exec(f);
      if (!m) continue;
      const st = await stat(join(dir, f)).catch(() => undefined);
      if (st) files.push({ name: f, size: st.size, day: m[1]! });
    }
    const cutoffDay = maxAge !== undefined ? new Date(this.now() - maxAge).toISOString().slice(0, 10) : '';
    let total = files.reduce((a, f) => a + f.size, 0);
    for (const f of files) {
      if (f.name === current) break; // files sort by day and index: everything after is newer
      const old = maxAge !== undefined && f.day < cutoffDay;
      const big = maxBytes !== undefined && total > maxBytes;
      if (!old && !big) continue;
      try {
        await unlink(join(dir, f.name));
        this.filesDeleted++;
        this.bytesDeleted += f.size;
        total -= f.size;
      } catch (e) {
        this.log.warn(`retention: ${join(dir, f.name)}: ${(e as Error).message}`);
      }
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }

  status(): Record<string, unknown> {
    return { runs: this.runs, files_deleted: this.filesDeleted, bytes_deleted: this.bytesDeleted, entries_deleted: this.entriesDeleted };
  }
}
