import type { AgentLog } from '../../lib/log.ts';
import type { IndexWriter } from './index-writer.ts';
import { readBack } from './catch-up.ts';

/**
 * Feeds the index from the NDJSON store: live batches go straight to the writer while it keeps
 * up; when the writer is more than `maxLag` bytes behind, a node's further batches are not held in
 * memory but read back from the store's files later (catch-up.ts), once the writer has room.
 * So a burst never slows ingest and never costs the index an entry: the index lags (its lag is in
 * status and metrics), then catches up, in order.
 *
 * A node is either live (its next batch goes to the writer) or behind (everything above `after`
 * is in the store and will be read back). The read-back of a behind node reads the lines above
 * `after` up to the last sequence stored when it began; then, if nothing newer was stored
 * meanwhile, the node turns live in the same synchronous step — every batch it stores from then on
 * comes through offer() — else it reads again. All of this runs on the aggregator's main thread,
 * so no stored batch can fall between the read-back and the live feed.
 *
 * After a restart the index's `progress` (the highest sequence indexed per node) against the
 * store's own sequence says which nodes start behind: what a crash left unindexed comes back.
 */
export class NdjsonIndexFeed {
  private readonly storeDir: string;
  private readonly writer: Pick<IndexWriter, 'add' | 'drained' | 'inFlightBytes' | 'busy' | 'quiet'>;
  private readonly maxLag: number;
  private readonly log: AgentLog;
  /** Behind nodes: everything above `after` is to be read back; since when (ms). */
  private readonly behind = new Map<string, { after: number; since: number }>();
  /** The last sequence stored per node (what a read-back reads up to). */
  private readonly lastStored = new Map<string, number>();
  /** The last sequence handed to the writer per live node. */
  private readonly handed = new Map<string, number>();
  private running?: Promise<void>;
  private stopped = false;
  private lastWarning = 0;
  /** Batches not handed over live because the writer was too far behind or the main thread busy (read back later). */
  deferredBatches = 0;
  readBackEntries = 0;
  readBackBytes = 0;
  readBackPasses = 0;
  readErrors = 0;

  constructor(o: { storeDir: string; writer: Pick<IndexWriter, 'add' | 'drained' | 'inFlightBytes' | 'busy' | 'quiet'>; maxLag: number; log: AgentLog }) {
    this.storeDir = o.storeDir;
    this.writer = o.writer;
    this.maxLag = o.maxLag;
    this.log = o.log;
  }

  /**
   * Called before the aggregator accepts agents: every node the store knows, with the last
   * sequence it stored, against the highest the index holds. Nodes behind are read back in the
   * background.
   */
  start(stored: readonly { node: string; seq: number }[], indexed: ReadonlyMap<string, number>): void {
    let nodes = 0;
    for (const { node, seq } of stored) {
      const have = indexed.get(node) ?? 0;
      this.lastStored.set(node, seq);
      if (seq > have) {
        this.behind.set(node, { after: have, since: Date.now() });
        nodes++;
      } else this.handed.set(node, seq);
    }
    if (nodes) this.log.info(`index: ${nodes} nodes have stored batches the index does not hold yet; reading them back from the store`);
    this.kick();
  }

  /** A batch the store has stored (the aggregator's StoredBatchListener, NDJSON store). */
  offer(node: string, seq: number, ndjson: Buffer): void {
    this.lastStored.set(node, seq);
    if (this.behind.has(node)) {
      this.deferredBatches++;
      return;
    }
    if (this.writer.busy()) {
      // Ingest first: while the main thread is busy the batch is not even copied; the read-back
      // takes it from the store's file once the thread is quiet (or defer_while_busy later).
      this.deferredBatches++;
      this.behind.set(node, { after: this.handed.get(node) ?? 0, since: Date.now() });
      this.kick();
      return;
    }
    if (this.writer.inFlightBytes + ndjson.length > this.maxLag) {
      this.deferredBatches++;
      this.behind.set(node, { after: this.handed.get(node) ?? 0, since: Date.now() });
      const now = Date.now();
      if (now - this.lastWarning > 10_000) {
        this.lastWarning = now;
        this.log.warn(`index: ${this.writer.inFlightBytes} bytes wait to be indexed (max_lag ${this.maxLag}); ${this.behind.size} nodes' batches will be read back from the store when the writer has room`);
      }
      this.kick();
      return;
    }
    this.writer.add(node, seq, ndjson);
    this.handed.set(node, seq);
  }

  private kick(): void {
    if (this.behind.size === 0 || this.stopped) return;
    this.running ??= this.catchUp().finally(() => {
      this.running = undefined;
      if (!this.stopped && this.behind.size) setTimeout(() => this.kick(), 1000).unref();
    });
  }

  /** Reads behind nodes back, one pass per node in turn, until every node is live. */
  private async catchUp(): Promise<void> {
    while (!this.stopped && this.behind.size) {
      const [node, b] = this.behind.entries().next().value!;
      const upTo = this.lastStored.get(node) ?? 0;
      if (upTo <= b.after) {
        // Nothing stored since the last pass read: from the next batch on the node is live.
        this.behind.delete(node);
        this.handed.set(node, b.after);
        continue;
      }
      // Round robin: a node that keeps storing faster than it is read back does not starve others.
      this.behind.delete(node);
      this.behind.set(node, b);
      this.readBackPasses++;
      try {
        await this.writer.quiet();
        if (this.stopped) return;
        await readBack(this.storeDir, node, b.after, upTo, async (lines) => {
          // Room for the chunk first (a chunk larger than max_lag waits for an idle writer).
          await this.writer.drained(Math.max(0, this.maxLag - lines.length));
          if (this.stopped) throw new Error('stopping');
          this.writer.add(node, 0, lines, { force: true });
          this.readBackBytes += lines.length;
        }).then((n) => (this.readBackEntries += n));
        b.after = upTo;
      } catch (e) {
        if (this.stopped) return;
        this.readErrors++;
        this.log.error(`index: reading ${node}'s batches ${b.after + 1}–${upTo} back from the store: ${(e as Error).message}; retrying`);
        return; // kick() retries in a second
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running?.catch(() => {});
  }

  status(): Record<string, unknown> {
    let since = Infinity;
    for (const b of this.behind.values()) since = Math.min(since, b.since);
    return {
      behind_nodes: this.behind.size,
      behind_seconds: since === Infinity ? 0 : Math.round((Date.now() - since) / 100) / 10,
      deferred_batches: this.deferredBatches,
      read_back_entries: this.readBackEntries,
      read_back_bytes: this.readBackBytes,
      read_back_passes: this.readBackPasses,
      read_back_errors: this.readErrors,
    };
  }
}
