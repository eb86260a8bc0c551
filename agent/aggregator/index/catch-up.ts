import { createReadStream } from 'node:fs';
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
 * Where a node's batches above `after` start: the file (the last whose first line is at or below
 * after+1; the store appends batches in sequence, so later files hold only later batches) and the
 * offset of the first line above `after` in it. Undefined when no stored line is above `after`.
 */
async function locate(storeDir: string, node: string, after: number): Promise<{ files: string[]; offset: number } | undefined> {
  const names = await nodeDataFiles(storeDir, node);
  let from = 0;
  for (let i = names.length - 1; i >= 0; i--) {
    const s = await firstSeq(join(storeDir, node, names[i]!));
    if (s !== undefined && s <= after + 1) {
      from = i;
      break;
    }
  }
  const files = names.slice(from).map((f) => join(storeDir, node, f));
  for (let i = 0; i < files.length; i++) {
    const offset = await firstLineAbove(files[i]!, after);
    if (offset !== undefined) return { files: files.slice(i), offset };
  }
  return undefined;
}

/** Offset of the first whole line of a file whose sequence is above `after`. */
async function firstLineAbove(path: string, after: number): Promise<number | undefined> {
  let pos = 0;
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    const buf = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    let from = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, from)) {
      const m = LINE_SEQ.exec(buf.toString('utf8', from, nl));
      if (m && Number(m[1]) > after) return pos + from;
      from = nl + 1;
    }
    pos += from;
    rest = Buffer.from(buf.subarray(from));
  }
  return undefined;
}

/**
 * Catch-up after a restart (NDJSON store): the batches a node has in the store above the highest
 * sequence the index holds (`indexed`, from its `progress` table) are read back from the store's
 * files and handed to the writer — the batches that were stored and acknowledged but still
 * waiting to be indexed when the aggregator stopped or was killed. It runs before the aggregator
 * accepts agents, so no live batch of a node can overtake its catch-up; it hands over at most
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
    const at = await locate(o.storeDir, node, after);
    if (!at) continue;
    let size = -at.offset;
    for (const f of at.files) size += (await stat(f)).size;
    if (size > budget) {
      r.leftBehind.push(node);
      continue;
    }
    budget -= size;
    r.nodes++;
    for (const [i, f] of at.files.entries()) await handOver(f, i === 0 ? at.offset : 0, node, o.writer, r);
  }
  r.ms = Date.now() - t0;
  return r;
}

/** Hands a file's whole lines from `start` on to the writer, in chunks. */
async function handOver(path: string, start: number, node: string, writer: Pick<IndexWriter, 'add'>, r: CatchUpResult): Promise<void> {
  let rest: Buffer = Buffer.alloc(0);
  for await (const chunk of createReadStream(path, { start, highWaterMark: 1024 * 1024 })) {
    const buf = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
    const cut = buf.lastIndexOf(10) + 1;
    rest = Buffer.from(buf.subarray(cut));
    if (cut === 0) continue;
    const part = buf.subarray(0, cut);
    writer.add(node, 0, part);
    r.bytes += part.length;
    for (let i = part.indexOf(10); i !== -1; i = part.indexOf(10, i + 1)) r.entries++;
  }
  // A torn last line (no newline) is not a stored entry: the store cuts it at its recovery.
}
