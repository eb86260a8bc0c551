import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nanos, StorageType, type JetStreamClient, type KV, type NatsConnection } from 'nats';
import type { AgentLog } from '../../log.ts';
import type { NatsStoreConfig } from '../config.ts';
import { StorageError, type NodeState, type Store, type StoredBatch } from './store.ts';

/**
 * Scale-out store: every entry becomes one JetStream message on `<prefix>.<node>.<level>` in the
 * stream LOGLOOM. The agent's ACK is sent only after JetStream acknowledged every message of the
 * batch (and it acknowledges only once the stream's replicas hold it).
 *
 * Exactly-once: each message carries `Nats-Msg-Id: <node>:<batch seq>:<index>`, so a batch that is
 * published again (the aggregator died before the ACK, or the agent reconnected to another
 * aggregator) is dropped by JetStream's de-duplication window; and each node's last stored
 * sequence is kept in a JetStream key-value bucket shared by all aggregators, so a batch older
 * than that is acknowledged without publishing at all.
 */
export class NatsStore implements Store {
  readonly kind = 'nats';
  private readonly cfg: NatsStoreConfig;
  private readonly log: AgentLog;
  private nc?: NatsConnection;
  private js?: JetStreamClient;
  private kv?: KV;
  private readonly cache = new Map<string, NodeState>();
  private published = 0;
  private duplicates = 0;

  constructor(cfg: NatsStoreConfig, log: AgentLog) {
    this.cfg = cfg;
    this.log = log;
  }

  async open(): Promise<void> {
    const c = this.cfg;
    try {
      this.nc = await connect({
        servers: c.servers,
        name: 'logloom-aggregator',
        timeout: c.timeout,
        maxReconnectAttempts: -1,
        user: c.user,
        pass: c.password_file ? readFileSync(c.password_file, 'utf8').trim() : undefined,
        authenticator: c.creds_file ? credsAuthenticator(readFileSync(c.creds_file)) : undefined,
      });
    } catch (e) {
      throw new Error(`nats: cannot connect to ${c.servers.join(', ')}: ${(e as Error).message}`, { cause: e });
    }
    void (async () => {
      for await (const s of this.nc!.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect') this.log.warn(`nats: ${s.type} ${String(s.data ?? '')}`);
      }
    })();
    const jsm = await this.nc.jetstreamManager({ timeout: c.timeout });
    const subjects = [`${c.subject_prefix}.>`];
    try {
      await jsm.streams.info(c.stream);
    } catch (e) {
      if (!c.create_stream) throw new Error(`nats: stream ${c.stream} does not exist and nats.create_stream is false: ${(e as Error).message}`);
      await jsm.streams.add({ name: c.stream, subjects, storage: StorageType.File, num_replicas: c.replicas, duplicate_window: nanos(c.duplicate_window) });
      this.log.info(`nats: created stream ${c.stream} (${subjects[0]}, ${c.replicas} replica(s))`);
    }
    this.js = this.nc.jetstream({ timeout: c.timeout });
    this.kv = await this.js.views.kv(c.state_bucket, { history: 1, replicas: c.replicas, bindOnly: !c.create_stream, timeout: c.timeout });
  }

  /** Subjects split on dots, so a node id's dots become underscores there (the entry keeps the real id). */
  subject(node: string, level: string): string {
    return `${this.cfg.subject_prefix}.${node.replaceAll('.', '_')}.${level}`;
  }

  /** Bucket keys may not start or end with a dot or hold empty tokens; such ids are hex-encoded. */
  private key(node: string): string {
    return /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(node) ? node : `hex_${Buffer.from(node).toString('hex')}`;
  }

  async state(node: string): Promise<NodeState> {
    try {
      const e = await this.kv!.get(this.key(node));
      const s: NodeState = e && e.length ? (e.json() as NodeState) : { seq: 0, entries: 0, bytes: 0 };
      this.cache.set(node, s);
      return { ...s };
    } catch (e) {
      throw new StorageError(node, `reading sequence state from bucket ${this.cfg.state_bucket}: ${(e as Error).message}`, { cause: e });
    }
  }

  async append(node: string, batches: readonly StoredBatch[]): Promise<NodeState> {
    const js = this.js!;
    const prev = this.cache.get(node) ?? (await this.state(node));
    const acks: Promise<{ duplicate: boolean }>[] = [];
    let bytes = 0;
    let entries = 0;
    for (const b of batches) {
      b.entries.forEach((entry, i) => {
        const data = Buffer.from(JSON.stringify(entry));
        bytes += data.length;
        entries++;
        acks.push(js.publish(this.subject(node, entry.level), data, { msgID: `${node}:${b.seq}:${i}`, timeout: this.cfg.timeout }));
      });
    }
    // Publishes go out in order on one connection, so the stream keeps the node's order.
    const results = await Promise.allSettled(acks);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw new StorageError(node, `JetStream did not acknowledge the batch: ${(failed.reason as Error).message}`, { cause: failed.reason });
    const dup = results.filter((r) => r.status === 'fulfilled' && r.value.duplicate).length;
    this.duplicates += dup;
    this.published += entries - dup;
    const next: NodeState = { seq: batches[batches.length - 1]!.seq, entries: prev.entries + entries - dup, bytes: prev.bytes + bytes };
    try {
      await this.kv!.put(this.key(node), JSON.stringify(next));
    } catch (e) {
      throw new StorageError(node, `saving sequence state: ${(e as Error).message}`, { cause: e });
    }
    this.cache.set(node, next);
    return { ...next };
  }

  async close(): Promise<void> {
    await this.nc?.drain().catch(() => {});
  }

  status(): Record<string, unknown> {
    return {
      type: this.kind,
      servers: this.cfg.servers.join(','),
      stream: this.cfg.stream,
      connected: this.nc !== undefined && !this.nc.isClosed(),
      published: this.published,
      duplicates_dropped_by_jetstream: this.duplicates,
    };
  }
}
