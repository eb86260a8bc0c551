import { readFileSync } from 'node:fs';
import type { ConsumerMessages, NatsConnection } from 'nats';
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
export type StreamBatchListener = (node: string, seq: number, ndjson: Buffer, streamSeq: number) => void;

export class NatsIndexFeed {
  private readonly cfg: NatsStoreConfig;
  private readonly log: AgentLog;
  private nc?: NatsConnection;
  private messages?: ConsumerMessages;
  private running?: Promise<void>;
  consumed = 0;
  skipped = 0;

  constructor(cfg: NatsStoreConfig, log: AgentLog) {
    this.cfg = cfg;
    this.log = log;
  }

  /**
   * Starts consuming after stream sequence `after` (0 = from the start of the stream). (Pausing
   * the iteration while the aggregator is busy was tried and measured worse in bench/aggregator.ts,
   * 377k entries/s and a 564 MiB peak against 661k and 290 MiB: the consumer's flow control does
   * not like a reader that stops. The index writer holds batches instead: IndexWriter's
   * deferWhileBusyMs.)
   */
  async start(after: number, listener: StreamBatchListener): Promise<void> {
    const c = this.cfg;
    // The client library loads here: only with the JetStream store and the index on.
    const { connect, credsAuthenticator, DeliverPolicy } = await import('nats');
    this.nc = await connect({
      servers: c.servers,
      name: 'logloom-aggregator-index',
      timeout: c.timeout,
      maxReconnectAttempts: -1,
      user: c.user,
      pass: c.password_file ? readFileSync(c.password_file, 'utf8').trim() : undefined,
      authenticator: c.creds_file ? credsAuthenticator(readFileSync(c.creds_file)) : undefined,
    });
    const js = this.nc.jetstream({ timeout: c.timeout });
    const consumer = await js.consumers.get(c.stream, after > 0
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1, filterSubjects: `${c.subject_prefix}.>` }
      // From the beginning: the ordered consumer's default (an explicit DeliverPolicy.All makes consume() hang in nats.js 2.29).
      : { filterSubjects: `${c.subject_prefix}.>` });
    this.messages = await consumer.consume({ max_messages: 512 });
    this.running = (async () => {
      for await (const m of this.messages!) {
        const id = m.headers?.get('Nats-Msg-Id') ?? '';
        const parts = /^([^:]+):(\d+):[^:]+:\d+$/.exec(id);
        if (!parts) {
          this.skipped++;
          this.log.warn(`index feed: stream message ${m.seq} on ${m.subject} has no Logloom Nats-Msg-Id (${JSON.stringify(id.slice(0, 80))}); not indexed`);
          continue;
        }
        this.consumed++;
        try {
          // A view, not a copy: the listener copies what it keeps, within the call.
          listener(parts[1]!, Number(parts[2]), Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength), m.seq);
        } catch (e) {
          this.log.error(`index feed: message ${m.seq}: ${(e as Error).message}`);
        }
      }
    })().catch((e: Error) => this.log.error(`index feed stopped: ${e.message}`));
  }

  async stop(): Promise<void> {
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
    return { source: 'jetstream', messages_consumed: this.consumed, messages_skipped: this.skipped };
  }
}
