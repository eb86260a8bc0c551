import type { NodeState, Store, StoredBatch } from '../store/store.ts';

/**
 * The one interface between the aggregator core and the fleet view (index, live tail, node
 * statistics): a listener called with each stored batch's node and the batch (its NDJSON lines
 * are the bytes as stored, one entry per line). It is called after the store has made the batch
 * durable, never for a batch the store refused, at most once per stored batch. The batch's bytes
 * are valid only during the call (the ingest path reuses the buffer): a listener that keeps them
 * copies them (the index writer does, within the call).
 */
export type StoredBatchListener = (node: string, batch: StoredBatch) => void;

/** One line of a stored batch: its text and the parsed entry. */
export interface StoredLine {
  line: string;
  entry: Record<string, unknown>;
}

/** Splits NDJSON into lines and parses each; lines that are not JSON objects are counted, not thrown. */
export function parseNdjson(ndjson: Buffer): { lines: StoredLine[]; bad: number } {
  const text = ndjson.toString('utf8');
  const lines: StoredLine[] = [];
  let bad = 0;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (line.length === 0) continue;
    try {
      const entry = JSON.parse(line) as unknown;
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new Error('not an object');
      lines.push({ line, entry: entry as Record<string, unknown> });
    } catch {
      bad++;
    }
  }
  return { lines, bad };
}

/**
 * A Store that tells a listener about every batch the wrapped store stored (the hook the
 * aggregator installs; the stores themselves know nothing about the index). A listener that
 * throws is reported through onError and never fails the append: the batch is stored and will be
 * acknowledged whatever the fleet view does with it.
 */
export class ObservedStore implements Store {
  private readonly inner: Store;
  private readonly listeners: StoredBatchListener[] = [];
  private readonly onError: (e: Error) => void;

  constructor(inner: Store, onError: (e: Error) => void) {
    this.inner = inner;
    this.onError = onError;
  }

  get kind(): string {
    return this.inner.kind;
  }

  /** The wrapped store (its own methods, e.g. for tests and status). */
  get store(): Store {
    return this.inner;
  }

  listen(l: StoredBatchListener): void {
    this.listeners.push(l);
  }

  open(): Promise<void> {
    return this.inner.open();
  }

  state(node: string): Promise<NodeState> {
    return this.inner.state(node);
  }

  knownNodes(): Promise<string[]> {
    return this.inner.knownNodes();
  }

  async append(node: string, batches: readonly StoredBatch[]): Promise<NodeState> {
    const st = await this.inner.append(node, batches);
    if (this.listeners.length) {
      for (const b of batches) {
        for (const l of this.listeners) {
          try {
            l(node, b);
          } catch (e) {
            this.onError(e as Error);
          }
        }
      }
    }
    return st;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  status(): Record<string, unknown> {
    return this.inner.status();
  }
}
