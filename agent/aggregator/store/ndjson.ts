import { mkdir, open, readdir, readFile, rename, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentLog } from '../../log.ts';
import type { NdjsonStoreConfig } from '../config.ts';
import { encodeStored, StorageError, type NodeState, type Store, type StoredBatch } from './store.ts';

/**
 * The embedded store: per node, NDJSON files `<dir>/<node>/<YYYY-MM-DD>-<NNNN>.ndjson`, rotated
 * by size and by UTC day, and `<dir>/<node>/state.json` = {seq, file, offset, entries, bytes}.
 *
 * Exactly-once: a group of batches is appended to the data file (fsync per policy), then the
 * state is replaced atomically (write, fsync, rename), then the agent gets its ACK. The state
 * is the commit point: after a crash, bytes in the data files beyond state.offset (and files
 * newer than state.file) belong to batches that were never acknowledged; recovery cuts them
 * off, and the agent's replay stores them again, once.
 */
interface PersistedState extends NodeState {
  /** Current data file name (in the node's directory), '' before the first batch. */
  file: string;
  /** Committed length of that file. */
  offset: number;
}

interface OpenNode {
  dir: string;
  state: PersistedState;
  fh?: FileHandle;
  /** Unsynced writes are pending (fsync: interval). */
  dirty: boolean;
}

const DATA_FILE = /^(\d{4}-\d{2}-\d{2})-(\d{4,})\.ndjson$/;

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export class NdjsonStore implements Store {
  readonly kind = 'ndjson';
  readonly dir: string;
  private readonly cfg: NdjsonStoreConfig;
  private readonly log: AgentLog;
  private readonly nodes = new Map<string, Promise<OpenNode>>();
  private timer?: NodeJS.Timeout;
  private readonly now: () => number;
  private writes = 0;
  private fsyncs = 0;

  constructor(dir: string, cfg: NdjsonStoreConfig, log: AgentLog, now: () => number = Date.now) {
    this.dir = dir;
    this.cfg = cfg;
    this.log = log;
    this.now = now;
  }

  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    if (this.cfg.fsync === 'interval') {
      this.timer = setInterval(() => void this.flushAll(), this.cfg.fsync_interval);
      this.timer.unref();
    }
  }

  private node(node: string): Promise<OpenNode> {
    let n = this.nodes.get(node);
    if (!n) {
      n = this.recover(node);
      this.nodes.set(node, n);
      n.catch(() => this.nodes.delete(node));
    }
    return n;
  }

  /** Loads a node's state and cuts off whatever was written but never committed. */
  private async recover(node: string): Promise<OpenNode> {
    const dir = join(this.dir, node);
    await mkdir(dir, { recursive: true });
    let state: PersistedState = { seq: 0, entries: 0, bytes: 0, file: '', offset: 0 };
    let hadState = false;
    try {
      const parsed = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as PersistedState;
      if (typeof parsed.seq !== 'number' || typeof parsed.offset !== 'number' || typeof parsed.file !== 'string') throw new Error('missing fields');
      state = parsed;
      hadState = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new StorageError(node, `state.json is unreadable (${(e as Error).message}); refusing to guess the sequence`);
    }
    const files = (await readdir(dir)).filter((f) => DATA_FILE.test(f)).sort();
    if (!hadState) {
      // Never committed anything: any data file holds only unacknowledged batches — unless an
      // operator removed state.json, in which case we keep the files and start a new one.
      if (files.length) this.log.warn(`store: node ${node} has data files but no state.json; keeping them, sequence starts at 0`);
      return { dir, state, dirty: false };
    }
    for (const f of files) {
      if (state.file === '' || f > state.file) {
        this.log.warn(`store: node ${node}: removing ${f}, written after the last committed batch (it will be replayed by the agent)`);
        await unlink(join(dir, f));
      }
    }
    if (state.file) {
      const size = await stat(join(dir, state.file)).then((s) => s.size, () => -1);
      if (size > state.offset) {
        this.log.warn(`store: node ${node}: cutting ${size - state.offset} uncommitted bytes from ${state.file} (they will be replayed by the agent)`);
        await truncate(join(dir, state.file), state.offset);
      } else if (size < state.offset) {
        // Only possible after power loss with fsync: interval/never: acknowledged data is gone.
        this.log.error(`store: node ${node}: ${state.file} is ${size < 0 ? 'missing' : `${state.offset - size} bytes shorter than committed`}; acknowledged entries were lost (fsync policy ${this.cfg.fsync})`);
        state.offset = Math.max(0, size);
        if (size < 0) state.file = '';
      }
    }
    return { dir, state, dirty: false };
  }

  async state(node: string): Promise<NodeState> {
    const { state } = await this.node(node);
    return { seq: state.seq, entries: state.entries, bytes: state.bytes };
  }

  /** The file the next write goes to: rotated at the UTC day and before max_file_bytes. */
  private async target(n: OpenNode, incoming: number): Promise<void> {
    const today = day(this.now());
    const cur = DATA_FILE.exec(n.state.file);
    const fits = n.state.offset === 0 || n.state.offset + incoming <= this.cfg.max_file_bytes;
    if (cur && cur[1] === today && fits) {
      n.fh ??= await open(join(n.dir, n.state.file), 'r+');
      return;
    }
    await this.closeFile(n);
    const index = cur && cur[1] === today ? Number(cur[2]) + 1 : 1;
    n.state.file = `${today}-${String(index).padStart(4, '0')}.ndjson`;
    n.state.offset = 0;
    n.fh = await open(join(n.dir, n.state.file), 'w+');
    if (this.cfg.fsync === 'always') await syncDir(n.dir);
  }

  async append(node: string, batches: readonly StoredBatch[]): Promise<NodeState> {
    const n = await this.node(node);
    const data = encodeStored(batches.flatMap((b) => b.entries));
    const entries = batches.reduce((a, b) => a + b.entries.length, 0);
    const last = batches[batches.length - 1];
    if (!last) return this.state(node);
    try {
      await this.target(n, data.length);
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await n.fh!.write(data, written, data.length - written, n.state.offset + written);
        written += bytesWritten;
      }
      this.writes++;
      if (this.cfg.fsync === 'always') {
        await n.fh!.datasync();
        this.fsyncs++;
      } else n.dirty = true;
    } catch (e) {
      // Keep the committed prefix, drop the partial write; the agent retries the batch.
      await this.closeFile(n).catch(() => {});
      await truncate(join(n.dir, n.state.file), n.state.offset).catch(() => {});
      throw new StorageError(node, `writing ${n.state.file}: ${(e as Error).message}`, { cause: e });
    }
    const next: PersistedState = { ...n.state, seq: last.seq, offset: n.state.offset + data.length, entries: n.state.entries + entries, bytes: n.state.bytes + data.length };
    try {
      await writeAtomic(join(n.dir, 'state.json'), JSON.stringify(next) + '\n', this.cfg.fsync === 'always');
    } catch (e) {
      throw new StorageError(node, `committing state.json: ${(e as Error).message}`, { cause: e });
    }
    n.state = next;
    return { seq: next.seq, entries: next.entries, bytes: next.bytes };
  }

  private async closeFile(n: OpenNode): Promise<void> {
    const fh = n.fh;
    n.fh = undefined;
    if (!fh) return;
    if (n.dirty) await fh.datasync().catch(() => {});
    n.dirty = false;
    await fh.close();
  }

  private async flushAll(): Promise<void> {
    for (const p of this.nodes.values()) {
      const n = await p.catch(() => undefined);
      if (n?.fh && n.dirty) {
        n.dirty = false;
        await n.fh.datasync().catch((e: Error) => this.log.warn(`store: fsync ${n.state.file}: ${e.message}`));
        this.fsyncs++;
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const p of this.nodes.values()) {
      const n = await p.catch(() => undefined);
      if (n) await this.closeFile(n).catch(() => {});
    }
    this.nodes.clear();
  }

  status(): Record<string, unknown> {
    return { type: this.kind, dir: this.dir, fsync: this.cfg.fsync, writes: this.writes, fsyncs: this.fsyncs };
  }
}

/** Replaces a small file atomically: write a temporary file, fsync it (when asked), rename. */
async function writeAtomic(path: string, text: string, sync: boolean): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(text);
    if (sync) await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
