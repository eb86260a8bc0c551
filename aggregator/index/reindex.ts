import { createReadStream, existsSync, renameSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { IndexWriter } from './index-writer.ts';
import { nodeDataFiles } from './catch-up.ts';

const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
/** Bytes handed to the writer before waiting for it to catch up (bounds the memory a rebuild takes). */
const IN_FLIGHT = 32 * 1024 * 1024;

export interface ReindexResult {
  nodes: number;
  files: number;
  entries: number;
  badLines: number;
  ms: number;
}

/**
 * Rebuilds the index from the NDJSON store: every node's files in order, through the same writer
 * the aggregator uses, into a new file that then replaces the old index (so a failed rebuild
 * leaves the old one). The aggregator must not be running (it holds the index open). Lines that
 * are not JSON objects (a torn tail) are counted and skipped.
 */
export async function reindexFromNdjson(storeDir: string, indexPath: string, progress: (m: string) => void = () => {}): Promise<ReindexResult> {
  const t0 = Date.now();
  const tmp = `${indexPath}.rebuild`;
  const remove = (p: string) => { for (const f of [p, `${p}-wal`, `${p}-shm`]) rmSync(f, { force: true }); };
  remove(tmp);
  let failure: Error | undefined;
  const writer = new IndexWriter(tmp, { flushMs: 1000, onError: (e) => (failure ??= e) });
  const r: ReindexResult = { nodes: 0, files: 0, entries: 0, badLines: 0, ms: 0 };
  try {
    await writer.opened();
    const nodes = (await readdir(storeDir, { withFileTypes: true })).filter((d) => d.isDirectory() && NODE_ID.test(d.name)).map((d) => d.name).sort();
    let inFlight = 0;
    for (const node of nodes) {
      r.nodes++;
      const files = await nodeDataFiles(storeDir, node);
      for (const f of files) {
        r.files++;
        // Whole lines only go to the writer: a chunk is cut after its last newline.
        let rest: Buffer = Buffer.alloc(0);
        for await (const chunk of createReadStream(join(storeDir, node, f), { highWaterMark: 1024 * 1024 })) {
          const buf = rest.length ? Buffer.concat([rest, chunk as Buffer]) : (chunk as Buffer);
          const cut = buf.lastIndexOf(10) + 1;
          rest = buf.subarray(cut);
          if (cut === 0) continue;
          writer.add(node, 0, buf.subarray(0, cut));
          inFlight += cut;
          if (inFlight >= IN_FLIGHT) {
            await writer.flush();
            inFlight = 0;
          }
        }
        if (rest.length) writer.add(node, 0, rest);
      }
      progress(`${node}: ${files.length} files`);
    }
    await writer.flush();
    if (failure) throw failure;
    r.entries = writer.indexed;
    r.badLines = writer.badLines;
    await writer.close();
  } catch (e) {
    await writer.close();
    remove(tmp);
    throw e;
  }
  remove(indexPath);
  renameSync(tmp, indexPath);
  for (const f of [`${tmp}-wal`, `${tmp}-shm`]) if (existsSync(f)) rmSync(f, { force: true });
  r.ms = Date.now() - t0;
  return r;
}

/** With the JetStream store the index is rebuilt by consuming the stream again from its start. */
export function resetStreamIndex(indexPath: string): void {
  for (const f of [indexPath, `${indexPath}-wal`, `${indexPath}-shm`]) rmSync(f, { force: true });
}
