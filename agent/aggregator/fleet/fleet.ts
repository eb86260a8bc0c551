import { join } from 'node:path';
import type { AgentConfig } from '../../config/agent-schema.ts';
import type { AgentLog } from '../../log.ts';
import { EntryIndex } from '../index/entry-index.ts';
import { parseNdjson, type StoredLine } from '../index/feed.ts';
import { TailHub } from '../api/tail.ts';
import { FleetState, type AgentReport } from './fleet-state.ts';
import { NatsIndexFeed } from './nats-feed.ts';
import { Retention } from './retention.ts';

const STREAM_POSITION = 'jetstream_position';

/**
 * The fleet view of the aggregator: the index, live tail, per-node activity and retention, fed
 * through one entry point per source:
 * - received(): every batch this aggregator's store accepted (from the core's StoredBatchListener);
 * - with the NDJSON store, the same batches feed the index and the tail;
 * - with JetStream, the index and the tail are fed from the stream (every aggregator sees the
 *   whole cluster's entries), while received() still counts what this one took from its agents.
 */
export class Fleet {
  readonly index?: EntryIndex;
  readonly state = new FleetState();
  readonly tail = new TailHub();
  readonly retention: Retention;
  private readonly feed?: NatsIndexFeed;
  private readonly log: AgentLog;
  private readonly fromStream: boolean;
  indexErrors = 0;
  badLines = 0;

  constructor(config: AgentConfig, log: AgentLog) {
    this.log = log;
    const a = config.aggregator;
    this.fromStream = a.store === 'nats';
    if (a.index.enabled) {
      this.index = new EntryIndex(indexPath(config), {
        flushMs: a.index.flush_interval,
        onError: (e) => {
          this.indexErrors++;
          log.error(e.message);
        },
      });
      if (this.fromStream) this.feed = new NatsIndexFeed(a.nats, log);
    }
    this.retention = new Retention({
      cfg: a.retention,
      storeDir: a.store === 'ndjson' ? (a.ndjson.dir ?? join(config.data_dir, 'store')) : undefined,
      index: this.index,
      log,
    });
  }

  async start(): Promise<void> {
    if (this.index) {
      const hourAgo = Date.now() - 3_600_000;
      for (const [node, n] of this.index.errorCounts(hourAgo)) this.state.seedErrors(node, n);
      for (const [node, t] of this.index.lastEntryTimes()) this.state.activity(node).last_stored_ms = Math.min(t, Date.now());
    }
    if (this.feed && this.index) {
      const after = Number(this.index.meta(STREAM_POSITION) ?? 0);
      await this.feed.start(after, (node, seq, ndjson, streamSeq) => {
        const { lines, bad } = parseNdjson(ndjson);
        this.badLines += bad;
        this.view(node, seq, lines, [STREAM_POSITION, String(streamSeq)]);
      });
    }
    this.retention.start();
  }

  /** The core's StoredBatchListener: a batch this aggregator stored. */
  readonly received = (node: string, seq: number, ndjson: Buffer): void => {
    if (this.fromStream && this.index) {
      // Counted here; indexed when it comes back from the stream.
      this.state.received(node, countLines(ndjson), ndjson.length);
      return;
    }
    const { lines, bad } = parseNdjson(ndjson);
    this.badLines += bad;
    this.state.received(node, lines.length, ndjson.length);
    this.view(node, seq, lines);
  };

  private view(node: string, seq: number, lines: readonly StoredLine[], meta?: [string, string]): void {
    this.state.stored(node, lines);
    this.index?.addLines(node, seq, lines, Date.now(), meta);
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
    try {
      this.index?.close();
    } catch (e) {
      this.log.error(`index: closing: ${(e as Error).message}`);
    }
  }

  status(): Record<string, unknown> {
    return {
      enabled: this.index !== undefined,
      ...(this.index?.status() ?? {}),
      ...(this.feed?.status() ?? { source: 'store' }),
      errors: this.indexErrors,
      bad_lines: this.badLines,
      tail_clients: this.tail.size,
      tail_entries_skipped: this.tail.skippedTotal,
      retention: this.retention.status(),
    };
  }
}

export function indexPath(config: AgentConfig): string {
  return config.aggregator.index.path ?? join(config.data_dir, 'index.sqlite');
}

function countLines(b: Buffer): number {
  let n = 0;
  let i = -1;
  while ((i = b.indexOf(10, i + 1)) !== -1) n++;
  return n;
}
