import { join } from 'node:path';
import type { AggregatorFileConfig } from '../config/config.ts';
import type { AgentLog } from '../../lib/log.ts';
import { EntryIndex } from '../index/entry-index.ts';
import { parseNdjson } from '../index/feed.ts';
import { NdjsonIndexFeed } from '../index/ndjson-feed.ts';
import type { Store, StoredBatch } from '../store/store.ts';
import { IndexWriter, type FlushReport } from '../index/index-writer.ts';
import { STREAM_LAG_BYTES } from '../index/schema.ts';
import { TailHub } from './tail.ts';
import { FleetState, type AgentReport } from './fleet-state.ts';
import { NatsIndexFeed } from './nats-feed.ts';
import { Retention } from './retention.ts';

const STREAM_POSITION = 'jetstream_position';

/**
 * The fleet view of the aggregator: the index (a writer in a worker thread, a reader for the
 * API), live tail, per-node activity and retention, fed through one entry point per source:
 * - received(): every batch this aggregator's store accepted (the core's StoredBatchListener);
 *   with the NDJSON store the same batches feed the index and the tail;
 * - with JetStream, the index and the tail are fed from the stream (every aggregator sees the
 *   whole cluster's entries), while received() still counts what this one took from its agents.
 */
export class Fleet {
  /** The index's read side; set by start() (after the writer created the file). */
  index?: EntryIndex;
  readonly state = new FleetState();
  readonly tail = new TailHub();
  readonly retention: Retention;
  private readonly writer?: IndexWriter;
  private readonly feed?: NatsIndexFeed;
  private readonly log: AgentLog;
  private readonly fromStream: boolean;
  private readonly path: string;
  private readonly maxLag: number;
  /** The NDJSON store's directory (undefined with JetStream). */
  private readonly storeDir: string | undefined;
  /** With the NDJSON store: live batches, and read-backs from the store while the index is behind. */
  private readonly storeFeed?: NdjsonIndexFeed;
  indexErrors = 0;
  badLines = 0;

  constructor(config: AggregatorFileConfig, log: AgentLog) {
    this.log = log;
    const a = config.aggregator;
    this.fromStream = a.store === 'nats';
    this.path = indexPath(config);
    this.maxLag = a.index.max_lag;
    this.storeDir = a.store === 'ndjson' ? (a.ndjson.dir ?? join(config.data_dir, 'store')) : undefined;
    if (a.index.enabled) {
      this.writer = new IndexWriter(this.path, {
        flushMs: a.index.flush_interval,
        maxInFlightBytes: a.index.max_lag,
        nice: a.index.writer_nice,
        deferWhileBusyMs: a.index.defer_while_busy,
        onFlushed: (r: FlushReport) => {
          for (const [node, entries, errors] of r.nodes) this.state.indexed(node, entries, errors);
        },
        onError: (e) => {
          this.indexErrors++;
          log.error(e.message);
        },
      });
      if (this.fromStream) this.feed = new NatsIndexFeed(a.nats, log);
      else if (this.storeDir !== undefined) this.storeFeed = new NdjsonIndexFeed({ storeDir: this.storeDir, writer: this.writer, maxLag: a.index.max_lag, log });
    }
    this.retention = new Retention({
      cfg: a.retention,
      storeDir: this.storeDir,
      index: this.writer ? { writer: this.writer, nodes: () => this.index?.nodeNamesKnown() ?? [] } : undefined,
      log,
    });
  }

  /**
   * Opens the index; with the NDJSON store, the nodes whose stored batches the index lacks (a
   * crash left them unindexed) start being read back (ndjson-feed.ts). The aggregator calls it
   * before it accepts agents.
   */
  async start(store?: Pick<Store, 'knownNodes' | 'state'>): Promise<void> {
    if (this.writer) {
      await this.writer.opened();
      this.index = new EntryIndex(this.path);
      const hourAgo = Date.now() - 3_600_000;
      for (const [node, n] of this.index.errorCounts(hourAgo)) this.state.seedErrors(node, n);
      for (const [node, t] of this.index.lastEntryTimes()) this.state.activity(node).last_stored_ms = Math.min(t, Date.now());
      if (store && this.storeFeed) {
        const stored: { node: string; seq: number }[] = [];
        for (const node of await store.knownNodes()) stored.push({ node, seq: (await store.state(node)).seq });
        this.storeFeed.start(stored, this.index.indexedSeqs());
      }
    }
    if (this.feed && this.writer && this.index) {
      const writer = this.writer;
      const after = Number(this.index.meta(STREAM_POSITION) ?? 0);
      // A full index stops the feed (the stream keeps the rest) instead of leaving batches out.
      const limit = Math.min(this.maxLag, STREAM_LAG_BYTES);
      await this.feed.start(after, {
        offer: (node, seq, ndjson, streamSeq, storedAt) => {
          if (!writer.hasRoom(ndjson.length, limit)) return false;
          this.state.touched(node);
          writer.add(node, seq, ndjson, { meta: [STREAM_POSITION, String(streamSeq)], storedAt });
          this.publish(node, ndjson);
          return true;
        },
        room: () => writer.drained(limit / 2),
      });
    }
    this.retention.start();
  }

  /** The core's StoredBatchListener: a batch this aggregator stored. */
  readonly received = (node: string, b: StoredBatch): void => {
    this.state.received(node, b.count, b.data.length);
    if (this.fromStream && this.writer) return; // indexed and tailed when it comes back from the stream
    this.state.touched(node);
    // The writer copies the bytes it keeps (its worker reads them later), within this call; without
    // the index nothing is copied: counting and the tail are done within this call too.
    if (this.storeFeed) this.storeFeed.offer(node, b.seq, b.data);
    else if (this.writer) this.writer.add(node, b.seq, b.data);
    else this.state.indexed(node, b.count, 0);
    this.publish(node, b.data);
  };

  /** Live tail: entries are parsed here only while someone is watching. */
  private publish(node: string, ndjson: Buffer): void {
    if (this.tail.size === 0) return;
    const { lines, bad } = parseNdjson(ndjson);
    this.badLines += bad;
    this.tail.publish(node, lines);
  }

  /** An agent's STATS report (drops, spool backlog, version). */
  report(node: string, r: AgentReport): void {
    this.state.report(node, r);
  }

  async stop(): Promise<void> {
    this.retention.stop();
    this.tail.close();
    this.state.close();
    await this.feed?.stop();
    await this.storeFeed?.stop();
    await this.writer?.close();
    try {
      this.index?.close();
    } catch (e) {
      this.log.error(`index: closing: ${(e as Error).message}`);
    }
  }

  /** The feed's state; lag_seconds covers batches waiting in the store as well as in memory. */
  private lagStatus(): Record<string, unknown> {
    if (!this.storeFeed || !this.writer) return {};
    const f = this.storeFeed.status();
    return { ...f, lag_seconds: Math.max(this.writer.lag().seconds, f.behind_seconds as number) };
  }

  status(): Record<string, unknown> {
    return {
      enabled: this.writer !== undefined,
      path: this.path,
      ...(this.writer?.status() ?? {}),
      ...(this.feed?.status() ?? { source: 'store' }),
      ...this.lagStatus(),
      errors: this.indexErrors,
      bad_lines_tail: this.badLines,
      tail_clients: this.tail.size,
      tail_entries_skipped: this.tail.skippedTotal,
      retention: this.retention.status(),
    };
  }
}

export function indexPath(config: AggregatorFileConfig): string {
  return config.aggregator.index.path ?? join(config.data_dir, 'index.sqlite');
}
