import { constants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { AgentLog } from '../../../lib/log.ts';
import type { NdjsonStoreConfig } from './config.ts';
import { StorageError, type NodeState, type Store, type StoredBatch } from '../store.ts';

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
  /** The data file fh refers to (ahead of state.file while a rotating append is uncommitted). */
  fhFile?: string;
  /** Unsynced writes are pending (fsync: interval). */
  dirty: boolean;
  /** state.json, kept open for commits in place (fsync interval or never). */
  stateFh?: FileHandle;
}

/**
 * With fsync interval or never, state.json is rewritten in place: one positional write of a
 * fixed-size slot (the JSON, padded with spaces) instead of write-temp, close, rename. A process
 * killed at any moment leaves the slot whole (the write reaches the page cache entirely or not at
 * all); after power loss these policies already allow state.json to be damaged (docs/aggregator.md).
 * With fsync always the state is still replaced atomically (temp file, fsync, rename).
 */
const STATE_SLOT = 512;

/** Node directories (the forward protocol's node id pattern). */
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
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
  private pruned = 0;

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

  async knownNodes(): Promise<string[]> {
    const dirents = await readdir(this.dir, { withFileTypes: true }).catch(() => []);
    return dirents.filter((d) => d.isDirectory() && NODE_ID.test(d.name)).map((d) => d.name);
  }

  async state(node: string): Promise<NodeState> {
    const { state } = await this.node(node);
    return { seq: state.seq, entries: state.entries, bytes: state.bytes };
  }

  /** Opens (creating when new) the data file `file` of the node for positional writes. */
  private async use(n: OpenNode, file: string): Promise<void> {
    if (n.fh && n.fhFile === file) return;
    await this.closeFile(n);
    const fresh = file !== n.state.file;
    n.fh = await open(join(n.dir, file), fresh ? 'w+' : 'r+');
    n.fhFile = file;
    if (fresh && this.cfg.fsync === 'always') await syncDir(n.dir);
    if (fresh) await this.prune(n);
  }

  /** Retention (max_age): deletes files of days before the cut-off; never the committed file. */
  private async prune(n: OpenNode): Promise<void> {
    if (this.cfg.max_age === undefined) return;
    const cutoff = day(this.now() - this.cfg.max_age);
    for (const f of await readdir(n.dir)) {
      const m = DATA_FILE.exec(f);
      if (!m || m[1]! >= cutoff || f === n.state.file) continue;
      await unlink(join(n.dir, f)).then(() => this.pruned++, (e: Error) => this.log.warn(`store: retention: ${f}: ${e.message}`));
    }
  }

  /** The name of the file after `file` (next index the same day, else index 1 of today). */
  private next(file: string, today: string): string {
    const cur = DATA_FILE.exec(file);
    const index = cur && cur[1] === today ? Number(cur[2]) + 1 : 1;
    return `${today}-${String(index).padStart(4, '0')}.ndjson`;
  }

  async append(node: string, batches: readonly StoredBatch[]): Promise<NodeState> {
    const n = await this.node(node);
    const last = batches[batches.length - 1];
    if (!last) return this.state(node);
    const today = day(this.now());
    let file = n.state.file;
    let offset = n.state.offset;
    let entries = 0;
    let bytes = 0;
    let chunk: Buffer[] = [];
    let chunkLen = 0;
    const write = async () => {
      if (chunkLen === 0) return;
      await this.use(n, file);
      let written = 0;
      // Batches go out as they are (one writev, no copy); a short write finishes byte-wise.
      if (chunk.length > 1) written = (await n.fh!.writev(chunk, offset)).bytesWritten;
      const data = written >= chunkLen ? undefined : chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk, chunkLen);
      while (data && written < data.length) {
        const { bytesWritten } = await n.fh!.write(data, written, data.length - written, offset + written);
        written += bytesWritten;
      }
      n.dirty = true;
      this.writes++;
      offset += chunkLen;
      chunk = [];
      chunkLen = 0;
    };
    try {
      // Rotation happens between batches, so a file never ends inside a batch.
      for (const b of batches) {
        const data = b.data;
        entries += b.count;
        bytes += data.length;
        const size = offset + chunkLen;
        if (file === '' || DATA_FILE.exec(file)![1] !== today || (size > 0 && size + data.length > this.cfg.max_file_bytes)) {
          await write();
          file = this.next(file, today);
          offset = 0;
        }
        chunk.push(data);
        chunkLen += data.length;
      }
      await write();
      if (this.cfg.fsync === 'always') {
        await n.fh!.datasync();
        n.dirty = false;
        this.fsyncs++;
      }
    } catch (e) {
      // Forget the in-memory node: the next call recovers it from disk, cutting this partial write.
      await this.closeFile(n).catch(() => {});
      await this.closeState(n).catch(() => {});
      this.nodes.delete(node);
      throw new StorageError(node, `writing ${file}: ${(e as Error).message}`, { cause: e });
    }
    const next: PersistedState = { seq: last.seq, file, offset, entries: n.state.entries + entries, bytes: n.state.bytes + bytes };
    try {
      await this.commit(n, next);
    } catch (e) {
      await this.closeFile(n).catch(() => {});
      await this.closeState(n).catch(() => {});
      this.nodes.delete(node);
      throw new StorageError(node, `committing state.json: ${(e as Error).message}`, { cause: e });
    }
    n.state = next;
    return { seq: next.seq, entries: next.entries, bytes: next.bytes };
  }

  /** Makes `next` the node's committed state (see STATE_SLOT). */
  private async commit(n: OpenNode, next: PersistedState): Promise<void> {
    const path = join(n.dir, 'state.json');
    const text = JSON.stringify(next) + '\n';
    if (this.cfg.fsync === 'always' || Buffer.byteLength(text) > STATE_SLOT) {
      // The rename replaces the file: a handle still open would write into the old one.
      await this.closeState(n);
      return writeAtomic(path, text, this.cfg.fsync === 'always');
    }
    n.stateFh ??= await open(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    const slot = Buffer.alloc(STATE_SLOT, 0x20);
    slot.write(text);
    slot[STATE_SLOT - 1] = 0x0a;
    const { bytesWritten } = await n.stateFh.write(slot, 0, STATE_SLOT, 0);
    if (bytesWritten !== STATE_SLOT) throw new Error(`short write of state.json (${bytesWritten} of ${STATE_SLOT} bytes)`);
  }

  private async closeState(n: OpenNode): Promise<void> {
    const fh = n.stateFh;
    n.stateFh = undefined;
    await fh?.close();
  }

  private async closeFile(n: OpenNode): Promise<void> {
    const fh = n.fh;
    n.fh = undefined;
    n.fhFile = undefined;
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
        // Then the commit point, so that after power loss state.json is whole and never ahead of
        // data that reached the disk in an earlier interval.
        await (n.stateFh ? n.stateFh.datasync() : syncFile(join(n.dir, 'state.json'))).catch((e: Error) => this.log.warn(`store: fsync state.json of ${n.dir}: ${e.message}`));
        this.fsyncs++;
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    for (const p of this.nodes.values()) {
      const n = await p.catch(() => undefined);
      if (n) await this.closeFile(n).catch(() => {});
      if (n) await this.closeState(n).catch(() => {});
    }
    this.nodes.clear();
  }

  status(): Record<string, unknown> {
    return { type: this.kind, dir: this.dir, fsync: this.cfg.fsync, writes: this.writes, fsyncs: this.fsyncs, files_deleted_by_retention: this.pruned };
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

async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
