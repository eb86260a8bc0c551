import { createReadStream, existsSync, renameSync, rmSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { EntryIndex } from './entry-index.ts';
import type { StoredLine } from './feed.ts';

const DATA_FILE = /^\d{4}-\d{2}-\d{2}-\d{4,}\.ndjson$/;
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface ReindexResult {
  nodes: number;
  files: number;
  entries: number;
  badLines: number;
  ms: number;
}

/**
 * Rebuilds the index from the NDJSON store: every node's files in order, into a new file that
 * then replaces the old index (so a failed rebuild leaves the old one). The aggregator must not
 * be running (it holds the index open). Lines that are not JSON objects are counted and skipped.
 */
export async function reindexFromNdjson(storeDir: string, indexPath: string, progress: (m: string) => void = () => {}): Promise<ReindexResult> {
  const t0 = Date.now();
  const tmp = `${indexPath}.rebuild`;
  for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
  const index = new EntryIndex(tmp, { flushMs: 60_000 });
  const r: ReindexResult = { nodes: 0, files: 0, entries: 0, badLines: 0, ms: 0 };
  try {
    const nodes = (await readdir(storeDir, { withFileTypes: true })).filter((d) => d.isDirectory() && NODE_ID.test(d.name)).map((d) => d.name).sort();
    for (const node of nodes) {
      r.nodes++;
      const files = (await readdir(join(storeDir, node))).filter((f) => DATA_FILE.test(f)).sort();
      for (const f of files) {
        r.files++;
        let chunk: StoredLine[] = [];
        const rl = createInterface({ input: createReadStream(join(storeDir, node, f)), crlfDelay: Infinity });
        for await (const line of rl) {
          if (!line) continue;
          try {
            const entry = JSON.parse(line) as unknown;
            if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new Error('not an object');
            chunk.push({ line, entry: entry as Record<string, unknown> });
          } catch {
            r.badLines++;
            continue;
          }
          if (chunk.length >= 5000) {
            index.addLines(node, 0, chunk);
            index.flush();
            r.entries += chunk.length;
            chunk = [];
          }
        }
        index.addLines(node, 0, chunk);
        index.flush();
        r.entries += chunk.length;
      }
      progress(`${node}: ${files.length} files`);
    }
    index.close();
  } catch (e) {
    try { index.close(); } catch { /* already failing */ }
    for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
    throw e;
  }
  for (const f of [`${indexPath}-wal`, `${indexPath}-shm`]) rmSync(f, { force: true });
  renameSync(tmp, indexPath);
  for (const f of [`${tmp}-wal`, `${tmp}-shm`]) if (existsSync(f)) rmSync(f, { force: true });
  r.ms = Date.now() - t0;
  return r;
}

/** With the JetStream store the index is rebuilt by consuming the stream again from its start. */
export function resetStreamIndex(indexPath: string): void {
  for (const f of [indexPath, `${indexPath}-wal`, `${indexPath}-shm`]) rmSync(f, { force: true });
}
