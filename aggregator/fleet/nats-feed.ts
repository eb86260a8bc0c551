import { readFileSync } from 'node:fs';
import type { Consumer, ConsumerMessages, NatsConnection } from 'nats';
import type { AgentLog } from '../../lib/log.ts';
import type { NatsStoreConfig } from '../store/nats/config.ts';

/**
 * With the JetStream store, every aggregator of the cluster feeds its index from the stream
 * itself (an ordered consumer of its own, on its own connection), not from what its own agents
 * sent: so each one can answer queries about the whole fleet. The stream position reached is
 * saved with the indexed entries (one transaction), so a restart resumes where it stopped.
 *
 * A message's node and batch sequence come from its Nats-Msg-Id `<node>:<batch seq>:<level>:<part>`
 * (see store/nats.ts); node ids never contain ':'. A batch arrives as one message per level, so
 * the index lists a batch's entries level by level (each level in the batch's order).
 */
/**
 * Where the feed's batches go: the index writer, through the fleet. `offer` returns false when the
 * index has no room for the batch now (its lag is at max_lag): the feed then stops consuming and,
 * once `room()` resolves, starts a new consumer at that very message. The stream keeps what the
 * index has not taken, so nothing is left out and the aggregator holds at most max_lag of it.
 */
export interface StreamIndexSink {
  /** storedAt: when the stream took the message (ms): the index's lag counts from it. */
  offer(node: string, seq: number, ndjson: Buffer, streamSeq: number, storedAt: number): boolean;
  room(): Promise<void>;
}

/**
 * Messages the consumer may have pulled ahead of the index. A message is one level of one batch,
 * usually some tens of KiB, at most 1 MiB (nats-store.ts). A byte bound (max_bytes) would suit
 * better, but nats.js 2.29's ordered consumer, recreating itself after a reconnect, then throws
 * "only specify one of max_messages or max_bytes" outside any caller, which ends the process.
 */
const CONSUME_MESSAGES = 64;
/** Wait before trying again to open a consumer the server refused (it may be restarting). */
const RETRY_MS = 1000;

export class NatsIndexFeed {
  private readonly cfg: NatsStoreConfig;
  private readonly log: AgentLog;
  private nc?: NatsConnection;
  private messages?: ConsumerMessages;
  /** The consumer behind `messages`: deleted on the server when the feed stops it for room. */
  private consumer?: Consumer;
  private running?: Promise<void>;
  private stopping = false;
  private wake: () => void = () => {};
  private readonly stopped = new Promise<void>((resolve) => (this.wake = resolve));
  /** The stream sequence of the last message handed to the index (or skipped). */
  private position = 0;
  consumed = 0;
  skipped = 0;
  /** Times the index was full and the feed stopped consuming until it had room. */
  pauses = 0;

  constructor(cfg: NatsStoreConfig, log: AgentLog) {
    this.cfg = cfg;
    this.log = log;
  }

  /**
   * Starts consuming after stream sequence `after` (0 = from the start of the stream). (Pausing
   * the iteration while the aggregator is busy was tried and measured worse in bench/aggregator.ts,
   * 377k entries/s and a 564 MiB peak against 661k and 290 MiB: the consumer's flow control does
   * not like a reader that stops. The index writer holds batches instead: IndexWriter's
   * deferWhileBusyMs. When the index is full the consumer is not paused but closed, and a new one
   * starts at the first message not taken.)
   */
  async start(after: number, sink: StreamIndexSink): Promise<void> {
    const c = this.cfg;
    // The client library loads here: only with the JetStream store and the index on.
    const { connect, credsAuthenticator } = await import('nats');
    this.nc = await connect({
      servers: c.servers,
      name: 'logloom-aggregator-index',
      timeout: c.timeout,
      maxReconnectAttempts: -1,
      user: c.user,
      pass: c.password_file ? readFileSync(c.password_file, 'utf8').trim() : undefined,
      authenticator: c.creds_file ? credsAuthenticator(readFileSync(c.creds_file)) : undefined,
    });
    this.position = after;
    // The first consumer opens here, so that a stream that cannot be read fails the start.
    this.messages = await this.consume();
    this.running = this.run(sink).catch((e: Error) => this.log.error(`index feed stopped: ${e.message}`));
  }

  /** An ordered consumer of the stream from the message after `position`. */
  private async consume(): Promise<ConsumerMessages> {
    const c = this.cfg;
    const { DeliverPolicy } = await import('nats');
    const js = this.nc!.jetstream({ timeout: c.timeout });
    const consumer = (this.consumer = await js.consumers.get(c.stream, this.position > 0
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.position + 1, filterSubjects: `${c.subject_prefix}.>` }
      // From the beginning: the ordered consumer's default (an explicit DeliverPolicy.All makes consume() hang in nats.js 2.29).
      : { filterSubjects: `${c.subject_prefix}.>` }));
    return consumer.consume({ max_messages: CONSUME_MESSAGES });
  }

  private async run(sink: StreamIndexSink): Promise<void> {
    for (;;) {
      let full = false;
      for await (const m of this.messages!) {
        const id = m.headers?.get('Nats-Msg-Id') ?? '';
        const parts = /^([^:]+):(\d+):[^:]+:\d+$/.exec(id);
        if (!parts) {
          this.skipped++;
          this.position = m.seq;
          this.log.warn(`index feed: stream message ${m.seq} on ${m.subject} has no Logloom Nats-Msg-Id (${JSON.stringify(id.slice(0, 80))}); not indexed`);
          continue;
        }
        let taken = true;
        try {
          // A view, not a copy: the sink copies what it keeps, within the call.
          taken = sink.offer(parts[1]!, Number(parts[2]), Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), m.seq, Math.floor(m.info.timestampNanos / 1e6));
        } catch (e) {
          this.log.error(`index feed: message ${m.seq}: ${(e as Error).message}`);
        }
        if (!taken) {
          full = true;
          break;
        }
        this.consumed++;
        this.position = m.seq;
      }
      this.messages!.stop();
      if (!full || this.stopping) return;
      this.pauses++;
      await this.dropConsumer();
      await Promise.race([sink.room(), this.stopped]);
      for (;;) {
        if (this.stopping) return;
        try {
          this.messages = await this.consume();
          break;
        } catch (e) {
          this.log.error(`index feed: resuming at stream message ${this.position + 1}: ${(e as Error).message}; trying again`);
          await Promise.race([new Promise((r) => setTimeout(r, RETRY_MS).unref()), this.stopped]);
        }
      }
    }
  }

  /**
   * Deletes the stopped consumer on the server. An ordered consumer the client stops using would
   * otherwise stay there for its inactivity threshold (5 minutes in nats.js), one per pause of a
   * long catch-up. A failure only leaves it to that threshold.
   */
  private async dropConsumer(): Promise<void> {
    const name = (this.consumer as { currentConsumer?: { name?: string } | null } | undefined)?.currentConsumer?.name;
    if (!name) return;
    try {
      const jsm = await this.nc!.jetstreamManager({ timeout: this.cfg.timeout });
      await jsm.consumers.delete(this.cfg.stream, name);
    } catch (e) {
      this.log.debug(`index feed: deleting the paused consumer ${name}: ${(e as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    this.messages?.stop();
    await this.running;
    const nc = this.nc;
    if (nc && !nc.isClosed()) {
      const timer = new Promise((r) => setTimeout(r, this.cfg.timeout).unref());
      await Promise.race([nc.drain().catch(() => {}), timer]);
      if (!nc.isClosed()) await nc.close().catch(() => {});
    }
  }

  status(): Record<string, unknown> {
    return { source: 'jetstream', messages_consumed: this.consumed, messages_skipped: this.skipped, stream_position: this.position, full_pauses: this.pauses };
  }
}
