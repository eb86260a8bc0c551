import { createReadStream } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Reading a node's batches back from the NDJSON store, for the index (ndjson-feed.ts): the lines
 * of the batches above one sequence and up to another, in the order they were stored. Every
 * stored line ends with the batch sequence the aggregator put there (ingest/stored-batch.ts), and
 * the store appends a node's batches in sequence, file after file.
 */

/** The store's data files of a node (`<day>-<n>.ndjson`), in the order they were written. */
const DATA_FILE = /^\d{4}-\d{2}-\d{2}-\d{4,}\.ndjson$/;
const LINE_SEQ = /"seq":(\d+)\}$/;
/** Bytes read at the start of a file to find its first line's sequence. */
const HEAD_BYTES = 256 * 1024;

export async function nodeDataFiles(storeDir: string, node: string): Promise<string[]> {
  return (await readdir(join(storeDir, node)).catch(() => [] as string[])).filter((f) => DATA_FILE.test(f)).sort();
}

/** The batch sequence of a stored line (without its newline), or undefined. */
function lineSeq(buf: Buffer, from: number, to: number): number | undefined {
  const m = LINE_SEQ.exec(buf.toString('latin1', Math.max(from, to - 32), to));
  return m ? Number(m[1]) : undefined;
}

/** The sequence of the first line of a file, or undefined (empty, or a first line too long to tell). */
async function firstSeq(path: string): Promise<number | undefined> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, HEAD_BYTES, 0);
    const nl = buf.subarray(0, bytesRead).indexOf(10);
    return nl < 0 ? undefined : lineSeq(buf, 0, nl);
  } finally {
    await fh.close();
  }
}

/**
 * The files that can hold a node's batches above `after`: from the last whose first line is at or
 * below after+1 (earlier files hold only earlier batches).
 */
async function filesFrom(storeDir: string, node: string, after: number): Promise<string[]> {
  const names = await nodeDataFiles(storeDir, node);
  let from = 0;
  for (let i = names.length - 1; i >= 0; i--) {
    const s = await firstSeq(join(storeDir, node, names[i]!));
    if (s !== undefined && s <= after + 1) {
      from = i;
      break;
    }
  }
  return names.slice(from).map((f) => join(storeDir, node, f));
}

/**
 * Which whole lines of buf[0, cut) to hand over: from the first above `after` to the last at or
 * below `upTo`; `done` when a line above `upTo` was met (nothing further is wanted).
 */
function select(buf: Buffer, cut: number, after: number, upTo: number): { from: number; end: number; done: boolean } {
  if (cut === 0) return { from: 0, end: 0, done: false };
  const lastStart = cut > 1 ? buf.lastIndexOf(10, cut - 2) + 1 : 0;
  const first = lineSeq(buf, 0, buf.indexOf(10));
  const last = lineSeq(buf, lastStart, cut - 1);
  // The common case — every line of the chunk wanted — without looking at each line.
  if (first !== undefined && first > after && last !== undefined && last <= upTo) return { from: 0, end: cut, done: false };
  let start = -1;
  let end = 0;
  for (let p = 0; p < cut;) {
    const nl = buf.indexOf(10, p);
    const s = lineSeq(buf, p, nl);
    if (s !== undefined && s > upTo) return { from: start < 0 ? end : start, end, done: true };
    if (s !== undefined && s > after && start < 0) start = p;
    p = nl + 1;
    if (start >= 0) end = p;
  }
  return { from: start < 0 ? end : start, end, done: false };
}

/** Where the last batch of some whole lines starts (the lines with the last line's sequence). */
function lastBatchStart(part: Buffer): number {
  if (part.length === 0) return 0;
  let lineEnd = part.length - 1;
  let start = part.lastIndexOf(10, lineEnd - 1) + 1;
  const seq = lineSeq(part, start, lineEnd);
  while (start > 0) {
    const prevEnd = start - 1;
    const prevStart = prevEnd > 0 ? part.lastIndexOf(10, prevEnd - 1) + 1 : 0;
    if (lineSeq(part, prevStart, prevEnd) !== seq) break;
    start = prevStart;
    lineEnd = prevEnd;
  }
  return start;
}

/**
 * Calls `hand` with the node's stored lines of batches after < seq <= upTo, in chunks of whole
 * batches (awaiting it: the caller's flow control). Whole batches, because the index records
 * what it holds per batch (its `progress`): a transaction must never end inside one. Lines above
 * `upTo` (batches stored after the read began) and a torn last line are left out. Returns the
 * entries handed over.
 */
export async function readBack(storeDir: string, node: string, after: number, upTo: number, hand: (lines: Buffer) => Promise<void>): Promise<number> {
  let entries = 0;
  const give = async (part: Buffer) => {
    for (let i = part.indexOf(10); i !== -1; i = part.indexOf(10, i + 1)) entries++;
    await hand(part);
  };
  for (const path of await filesFrom(storeDir, node, after)) {
    // Wanted lines held back: the last batch seen may go on in the next chunk.
    let pending: Buffer = Buffer.alloc(0);
    let rest: Buffer = Buffer.alloc(0);
    for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
      const buf = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
      const cut = buf.lastIndexOf(10) + 1;
      rest = Buffer.from(buf.subarray(cut));
      const { from, end, done } = select(buf, cut, after, upTo);
      let part = pending.length ? Buffer.concat([pending, buf.subarray(from, end)]) : buf.subarray(from, end);
      pending = Buffer.alloc(0);
      if (!done) {
        const keep = lastBatchStart(part);
        pending = Buffer.from(part.subarray(keep));
        part = part.subarray(0, keep);
      }
      if (part.length) await give(part);
      if (done) return entries;
    }
    // The end of the file ends a batch (the store writes whole batches; a torn tail is in `rest`).
    if (pending.length) await give(pending);
  }
  return entries;
}
