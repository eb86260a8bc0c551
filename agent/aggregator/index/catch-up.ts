import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { IndexWriter } from './index-writer.ts';

/** The store's data files of a node (`<day>-<n>.ndjson`), in the order they were written. */
const DATA_FILE = /^\d{4}-\d{2}-\d{2}-\d{4,}\.ndjson$/;
/** Every stored line ends with the batch sequence the aggregator put there (ingest/stored-batch.ts). */
const LINE_SEQ = /"seq":(\d+)\}$/;
/** Bytes read at the start of a file to find its first line's sequence. */
const HEAD_BYTES = 256 * 1024;

export async function nodeDataFiles(storeDir: string, node: string): Promise<string[]> {
  return (await readdir(join(storeDir, node)).catch(() => [] as string[])).filter((f) => DATA_FILE.test(f)).sort();
}

export interface CatchUpResult {
  /** Nodes whose missing batches were handed to the writer. */
  nodes: number;
  /** Entries (lines) and bytes handed over. */
  entries: number;
  bytes: number;
  /** Nodes the index lacks batches of that were left for `logloom aggregator reindex` (over the budget). */
  leftBehind: string[];
  ms: number;
}

/** The sequence of the first line of a file, or undefined (empty, or a first line too long to tell). */
async function firstSeq(path: string): Promise<number | undefined> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    const nl = buf.subarray(0, bytesRead).indexOf(10);
    if (nl < 0) return undefined;
    const m = LINE_SEQ.exec(buf.toString('utf8', 0, nl));
    return m ? Number(m[1]) : undefined;
  } finally {
    await fh.close();
  }
}

/**
 * The files holding a node's batches above `after`: from the last file whose first line is at or
 * below after+1 (a batch never spans files out of order: the store appends batches in sequence).
 */
async function filesAfter(storeDir: string, node: string, after: number): Promise<string[]> {
  const files = await nodeDataFiles(storeDir, node);
  let from = 0;
  for (let i = files.length - 1; i >= 0; i--) {
    const s = await firstSeq(join(storeDir, node, files[i]!));
    if (s !== undefined && s <= after + 1) {
      from = i;
      break;
    }
  }
  return files.slice(from).map((f) => join(storeDir, node, f));
}

/**
 * Catch-up after a restart (NDJSON store): the batches a node has in the store above the highest
 * sequence the index holds (`indexed`, from its `progress` table) are read back from the store's
 * files and handed to the writer — the batches that were stored and acknowledged but still
 * waiting to be indexed when the aggregator stopped or was killed. It runs before the aggregator
 * accepts agents, so no live batch of a node can overtake its catch-up; it reads at most
 * `maxBytes` (the writer's max_lag: what a crash can have left unindexed), and a node that would
 * exceed the budget is left out whole and reported (`logloom aggregator reindex` rebuilds it).
 */
export async function catchUpFromNdjson(o: {
  storeDir: string;
  /** Every node the store knows, with the last sequence it stored. */
  stored: readonly { node: string; seq: number }[];
  indexed: ReadonlyMap<string, number>;
  writer: Pick<IndexWriter, 'add'>;
  maxBytes: number;
}): Promise<CatchUpResult> {
  const t0 = Date.now();
  const r: CatchUpResult = { nodes: 0, entries: 0, bytes: 0, leftBehind: [], ms: 0 };
  let budget = o.maxBytes;
  for (const { node, seq } of o.stored) {
    const after = o.indexed.get(node) ?? 0;
    if (seq <= after) continue;
    const files = await filesAfter(o.storeDir, node, after);
    let size = 0;
    for (const f of files) size += (await stat(f)).size;
    if (size > budget) {
      r.leftBehind.push(node);
      continue;
    }
    budget -= size;
    r.nodes++;
    for (const f of files) await handOver(f, node, after, o.writer, r);
  }
  r.ms = Date.now() - t0;
  return r;
}

/** Hands a file's lines above `after` to the writer (in whole-line chunks). */
async function handOver(path: string, node: string, after: number, writer: Pick<IndexWriter, 'add'>, r: CatchUpResult): Promise<void> {
  const fh = await open(path, 'r');
  try {
    let found = false;
    let rest: Buffer = Buffer.alloc(0);
    for await (const chunk of fh.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false })) {
      const buf = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
      const cut = buf.lastIndexOf(10) + 1;
      rest = Buffer.from(buf.subarray(cut));
      let from = 0;
      // Until the first line above `after`, look at each line's sequence; from there on every
      // line is above it (batches are stored in order).
      while (!found && from < cut) {
        const nl = buf.indexOf(10, from);
        const m = LINE_SEQ.exec(buf.toString('utf8', from, nl));
        if (m && Number(m[1]) > after) found = true;
        else from = nl + 1;
      }
      if (found && cut > from) {
        const part = buf.subarray(from, cut);
        writer.add(node, 0, part);
        r.bytes += part.length;
        for (let i = part.indexOf(10); i !== -1; i = part.indexOf(10, i + 1)) r.entries++;
      }
    }
    // A torn last line (no newline) is not a stored entry: the store cuts it at its recovery.
  } finally {
    await fh.close();
  }
}
