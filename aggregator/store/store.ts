/**
 * One received batch, validated and sanitised, in the stored form: NDJSON bytes, one entry per
 * line, each with the authenticated `node` and the batch's `seq` (aggregator/ingest/).
 * Stores write `data` as it is (or cut it at line ends): entries are never objects here.
 * `data` is valid only until append() resolves: the session then reuses its buffer for a later
 * batch (ingest/stored-batch.ts releaseStored). A store or index that keeps bytes copies them.
 */
export interface StoredBatch {
  /** The batch's sequence number from the agent (per node, increasing). */
  seq: number;
  /** Number of entries (lines) in data. */
  count: number;
  /** The entries as stored: NDJSON, each line ending with `\n`. */
  data: Buffer;
  /** End offset in data (after the newline) of each entry. */
  ends: Uint32Array;
  /** Level of each entry, as an index into LEVELS (lib/level.ts). */
  levels: Uint8Array;
}

/** The entries of a stored batch as objects, for consumers that need fields (not on the ingest path). */
export function storedEntries(b: StoredBatch): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let from = 0;
  for (let i = 0; i < b.count; i++) {
    out.push(JSON.parse(b.data.toString('utf8', from, b.ends[i]! - 1)) as Record<string, unknown>);
    from = b.ends[i]!;
  }
  return out;
}

/** What the aggregator durably knows about a node. */
export interface NodeState {
  /** Last stored sequence (0 = nothing stored yet). WELCOME carries it; dedup compares with it. */
  seq: number;
  /** Entries and bytes (of stored NDJSON) ever stored for the node. */
  entries: number;
  bytes: number;
}

/**
 * A storage backend. The aggregator calls a node's methods one at a time (it serialises per node),
 * and sends ACK only after append() resolved: append must not resolve before the batches are as
 * durable as the backend's policy promises, and must store the batch and advance the node's
 * sequence state together, so that a crash between the two cannot store a batch twice.
 */
export interface Store {
  readonly kind: string;
  open(): Promise<void>;
  /** The node's durable state (recovering it after a crash on first use). */
  state(node: string): Promise<NodeState>;
  /** Nodes the store holds state for (so that `status` lists them before they reconnect). */
  knownNodes(): Promise<string[]>;
  /** Stores batches whose seq are all above state(node).seq, in order. */
  append(node: string, batches: readonly StoredBatch[]): Promise<NodeState>;
  close(): Promise<void>;
  status(): Record<string, unknown>;
}

/** The backend could not store a batch; nothing was acknowledged, the agent will retry. */
export class StorageError extends Error {
  readonly node: string;
  constructor(node: string, message: string, options?: { cause?: unknown }) {
    super(`store: node ${node}: ${message}`, options);
    this.name = 'StorageError';
    this.node = node;
  }
}
