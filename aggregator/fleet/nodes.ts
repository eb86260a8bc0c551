import type { NodeState } from '../store/store.ts';

/** What `logloom status` shows per node (one row each). */
export interface NodeRow {
  name: string;
  connected: boolean;
  remote: string;
  last_seen: string;
  last_seq: number;
  /** Entries and bytes stored for the node, ever (from the store's durable state). */
  entries: number;
  bytes: number;
  /** Since this aggregator started. */
  batches: number;
  duplicate_batches: number;
  connections: number;
}

/** Something a node can be disconnected through when a newer connection of the same node arrives. */
export interface Replaceable {
  replaced(): void;
}

/**
 * Per-node bookkeeping: the status rows, the live session, and a lock so that one node's store
 * calls never interleave (a reconnecting agent's new session waits for the old one's write).
 */
export class NodeRegistry {
  private readonly rows = new Map<string, NodeRow>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly sessions = new Map<string, Replaceable>();

  row(node: string): NodeRow {
    let r = this.rows.get(node);
    if (!r) {
      r = { name: node, connected: false, remote: '-', last_seen: '-', last_seq: 0, entries: 0, bytes: 0, batches: 0, duplicate_batches: 0, connections: 0 };
      this.rows.set(node, r);
    }
    return r;
  }

  /** Records durable state (after recovery or a store call). */
  stored(node: string, s: NodeState): void {
    const r = this.row(node);
    r.last_seq = s.seq;
    r.entries = s.entries;
    r.bytes = s.bytes;
  }

  seen(node: string): void {
    this.row(node).last_seen = new Date().toISOString();
  }

  /** Runs fn when every earlier call for the node has finished. */
  withLock<T>(node: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(node) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => {});
    this.locks.set(node, tail);
    void tail.then(() => {
      if (this.locks.get(node) === tail) this.locks.delete(node);
    });
    return run;
  }

  /** Makes `session` the node's live session; the previous one (a dead link, usually) is closed. */
  attach(node: string, session: Replaceable, remote: string): Replaceable | undefined {
    const old = this.sessions.get(node);
    this.sessions.set(node, session);
    const r = this.row(node);
    r.connected = true;
    r.remote = remote;
    r.connections++;
    old?.replaced();
    return old;
  }

  detach(node: string, session: Replaceable): void {
    if (this.sessions.get(node) !== session) return;
    this.sessions.delete(node);
    this.row(node).connected = false;
  }

  list(): NodeRow[] {
    return [...this.rows.values()].sort((a, b) => a.name.localeCompare(b.name));
  }
}
