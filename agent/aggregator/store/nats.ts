import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nanos, StorageType, type JetStreamClient, type KV, type NatsConnection } from 'nats';
import type { AgentLog } from '../../log.ts';
import type { NatsStoreConfig } from '../config.ts';
import { StorageError, type NodeState, type Store, type StoredBatch } from './store.ts';

/**
 * Scale-out store: entries go to the stream LOGLOOM on `<prefix>.<node>.<level>`. A message holds
 * a run of consecutive entries of one level as NDJSON (one entry when levels alternate): a
 * JetStream publish is a request/reply round trip, and per-entry messages cost ~15 times the CPU
 * of a core publish (bench/aggregator.ts). The agent's ACK is sent only after JetStream
 * acknowledged every message of the batch (and it acknowledges only once the stream's replicas
 * hold it).
 *
 * Exactly-once: each message carries `Nats-Msg-Id: <node>:<batch seq>:<index of its first entry>`, so a batch that is
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
  private messagesPublished = 0;

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

  async knownNodes(): Promise<string[]> {
    const out: string[] = [];
    for await (const k of await this.kv!.keys()) out.push(k.startsWith('hex_') ? Buffer.from(k.slice(4), 'hex').toString() : k);
    return out;
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

  /**
   * Cuts a batch into messages: each a run of consecutive entries of one level (so the node's
   * order survives, across subjects too), as NDJSON, below the server's max_payload.
   */
  private messages(node: string, b: StoredBatch): { subject: string; data: Buffer; msgID: string; count: number }[] {
    const limit = Math.max(1024, Math.min(this.nc!.info?.max_payload ?? 1024 * 1024, 1024 * 1024) - 4096);
    const out: { subject: string; data: Buffer; msgID: string; count: number }[] = [];
    let lines: string[] = [];
    let size = 0;
    let level = '';
    let start = 0;
    const cut = (next: number) => {
      if (lines.length === 0) return;
      // The id names the batch and the run's first entry: a resent batch maps onto the same ids.
      out.push({ subject: this.subject(node, level), data: Buffer.from(lines.join('')), msgID: `${node}:${b.seq}:${start}`, count: lines.length });
      lines = [];
      size = 0;
      start = next;
    };
    b.entries.forEach((entry, i) => {
      const line = JSON.stringify(entry) + '\n';
      const len = Buffer.byteLength(line);
      if (entry.level !== level || size + len > limit) cut(i);
      level = entry.level;
      lines.push(line);
      size += len;
    });
    cut(b.entries.length);
    return out;
  }

  async append(node: string, batches: readonly StoredBatch[]): Promise<NodeState> {
    const js = this.js!;
    const prev = this.cache.get(node) ?? (await this.state(node));
    const acks: Promise<{ duplicate: boolean }>[] = [];
    const counts: number[] = [];
    let bytes = 0;
    let entries = 0;
    for (const b of batches) {
      for (const m of this.messages(node, b)) {
        bytes += m.data.length;
        entries += m.count;
        counts.push(m.count);
        acks.push(js.publish(m.subject, m.data, { msgID: m.msgID, timeout: this.cfg.timeout }));
      }
    }
    // Publishes go out in order on one connection, so the stream keeps the node's order.
    const results = await Promise.allSettled(acks);
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw new StorageError(node, `JetStream did not acknowledge the batch: ${(failed.reason as Error).message}`, { cause: failed.reason });
    const dup = results.reduce((a, r, i) => a + (r.status === 'fulfilled' && r.value.duplicate ? counts[i]! : 0), 0);
    this.duplicates += dup;
    this.published += entries - dup;
    this.messagesPublished += results.length;
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
    const nc = this.nc;
    if (!nc || nc.isClosed()) return;
    // drain() waits for the server to confirm; with the cluster unreachable it would wait forever.
    const timer = new Promise((r) => setTimeout(r, this.cfg.timeout).unref());
    await Promise.race([nc.drain().catch(() => {}), timer]);
    if (!nc.isClosed()) await nc.close().catch(() => {});
  }

  status(): Record<string, unknown> {
    return {
      type: this.kind,
      servers: this.cfg.servers.join(','),
      stream: this.cfg.stream,
      connected: this.nc !== undefined && !this.nc.isClosed(),
      entries_published: this.published,
      messages_published: this.messagesPublished,
      duplicate_entries_dropped_by_jetstream: this.duplicates,
    };
  }
}
