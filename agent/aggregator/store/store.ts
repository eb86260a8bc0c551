import type { LogEntry } from '../../entry/entry.ts';

/** One received batch, already decoded and sanitised, in the node's sequence order. */
export interface StoredBatch {
  /** The batch's sequence number from the agent (per node, increasing). */
  seq: number;
  entries: readonly LogEntry[];
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

/** The stored form of an entry: one JSON object per line, as everywhere else. */
export function encodeStored(entries: readonly LogEntry[]): Buffer {
  let text = '';
  for (const e of entries) text += JSON.stringify(e) + '\n';
  return Buffer.from(text, 'utf8');
}
