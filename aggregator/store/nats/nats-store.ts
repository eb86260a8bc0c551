import { readFileSync } from 'node:fs';
import type { JetStreamClient, KV, NatsConnection } from 'nats';
import type { AgentLog } from '../../../lib/log.ts';
import type { NatsStoreConfig } from './config.ts';
import { LEVELS } from '../../../lib/level.ts';
import { StorageError, type NodeState, type Store, type StoredBatch } from '../store.ts';

/**
 * Scale-out store: entries go to the stream LOGLOOM on `<prefix>.<node token>.<level>`. A message
 * holds the entries of one level of one batch as NDJSON (in the batch's order; more parts only
 * past max_payload): a JetStream publish is a request/reply round trip, and its cost, not the
 * bytes', sets the aggregator's CPU (bench/aggregator.ts). The agent's ACK is sent only after JetStream
 * acknowledged every message of the batch (and it acknowledges only once the stream's replicas
 * hold it).
 *
 * Exactly-once: each message carries `Nats-Msg-Id: <node>:<batch seq>:<level>:<part>`, so a batch that is
 * published again (the aggregator died before the ACK, or the agent reconnected to another
 * aggregator) is dropped by JetStream's de-duplication window; and each node's last stored
 * sequence is kept in a JetStream key-value bucket shared by all aggregators, so a batch older
 * than that is acknowledged without publishing at all.
 */
/** What JetStream answers while its cluster is forming (no peers heard yet, no leader for the request). */
const CLUSTER_NOT_READY = /no suitable peers for placement|temporarily unavailable|insufficient resources|jetstream not (?:enabled|ready)/i;
/** How long the aggregator's start waits for a forming JetStream cluster. */
const CLUSTER_READY_MS = 30_000;

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
    // The client library loads here, only when this store is the configured one.
    const { connect, credsAuthenticator, nanos, StorageType } = await import('nats');
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
      await this.whenClusterReady('creating the stream', () => jsm.streams.add({ name: c.stream, subjects, storage: StorageType.File, num_replicas: c.replicas, duplicate_window: nanos(c.duplicate_window) }));
      this.log.info(`nats: created stream ${c.stream} (${subjects[0]}, ${c.replicas} replica(s))`);
    }
    this.js = this.nc.jetstream({ timeout: c.timeout });
    const js = this.js;
    this.kv = await this.whenClusterReady('opening the state bucket', () => js.views.kv(c.state_bucket, { history: 1, replicas: c.replicas, bindOnly: !c.create_stream, timeout: c.timeout }));
  }

  /**
   * Runs fn again while JetStream answers that its cluster is not ready yet: a cluster that has
   * just elected its metadata leader has not yet heard from every peer, and places no replicated
   * stream until it has ("no suitable peers for placement"). An aggregator started with its NATS
   * servers (a reboot, a deployment) waits for them, up to CLUSTER_READY_MS, instead of exiting.
   */
  private async whenClusterReady<T>(what: string, fn: () => Promise<T>): Promise<T> {
    const until = Date.now() + CLUSTER_READY_MS;
    for (let delay = 250, said = false; ; delay = Math.min(delay * 2, 2000)) {
      try {
        return await fn();
      } catch (e) {
        const msg = (e as Error).message;
        if (!CLUSTER_NOT_READY.test(msg) || Date.now() + delay > until) throw e;
        if (!said) this.log.warn(`nats: JetStream is not ready for ${what} (${msg}); trying again for up to ${CLUSTER_READY_MS / 1000} s`);
        said = true;
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** The subject of a node's entries of one level: `<prefix>.<node token>.<level>` (see natsToken). */
  subject(node: string, level: string): string {
    return `${this.cfg.subject_prefix}.${natsToken(node)}.${level}`;
  }
  async knownNodes(): Promise<string[]> {
    const out = new Set<string>();
    for await (const k of await this.kv!.keys()) {
      const node = nodeOfToken(k) ?? legacyNodeOfKey(k);
      if (node !== undefined) out.add(node);
    }
    return [...out];
  }

  async state(node: string): Promise<NodeState> {
    try {
      let e = await this.kv!.get(natsToken(node));
      // Aggregators before the injective encoding keyed some ids differently: read their state once.
      const legacy = legacyKey(node);
      if ((!e || !e.length) && legacy !== undefined) e = await this.kv!.get(legacy);
      const s: NodeState = e && e.length ? (e.json() as NodeState) : { seq: 0, entries: 0, bytes: 0 };
      this.cache.set(node, s);
      return { ...s };
    } catch (e) {
      throw new StorageError(node, `reading sequence state from bucket ${this.cfg.state_bucket}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Cuts a batch into messages: per level present in the batch, its entries in the batch's order,
   * as NDJSON, in parts below the server's max_payload — usually one message per level per
   * batch. A JetStream publish is a request/reply round trip that costs far more than the bytes
   * it carries, so messages per batch, not entries, set the aggregator's CPU (bench/aggregator.ts);
   * runs of one level, as before, cost ~200 publishes per 1000 entries of ordinary logs.
   */
  private messages(node: string, b: StoredBatch, arena: Arena): { subject: string; data: Buffer; msgID: string; count: number }[] {
    const limit = Math.max(1024, Math.min(this.nc!.info?.max_payload ?? 1024 * 1024, 1024 * 1024) - 4096);
    const out: { subject: string; data: Buffer; msgID: string; count: number }[] = [];
    for (let level = 0; level < LEVELS.length; level++) {
      let parts: [number, number][] = []; // byte spans of runs of this level
      let size = 0;
      let count = 0;
      let part = 0;
      const cut = () => {
        if (count === 0) return;
        const data = parts.length === 1 ? b.data.subarray(parts[0]![0], parts[0]![1]) : arena.take(size);
        if (parts.length > 1) {
          let o = 0;
          for (const [from, to] of parts) o += b.data.copy(data, o, from, to);
        }
        // The id names the batch, the level and the part: a resent batch maps onto the same ids.
        out.push({ subject: this.subject(node, LEVELS[level]!), data, msgID: `${node}:${b.seq}:${LEVELS[level]}:${part++}`, count });
        parts = [];
        size = 0;
        count = 0;
      };
      for (let i = 0; i < b.count; i++) {
        if (b.levels[i] !== level) continue;
        const from = i === 0 ? 0 : b.ends[i - 1]!;
        const to = b.ends[i]!;
        if (size > 0 && size + (to - from) > limit) cut();
        const last = parts[parts.length - 1];
        if (last && last[1] === from) last[1] = to;
        else parts.push([from, to]);
        size += to - from;
        count++;
      }
      cut();
    }
    return out;
  }

  async append(node: string, batches: readonly StoredBatch[]): Promise<NodeState> {
    const js = this.js!;
    const prev = this.cache.get(node) ?? (await this.state(node));
    const acks: Promise<{ duplicate: boolean }>[] = [];
    const counts: number[] = [];
    let bytes = 0;
    let entries = 0;
    const arena = takeArena(batches.reduce((a, b) => a + b.data.length, 0));
    for (const b of batches) {
      for (const m of this.messages(node, b, arena)) {
        bytes += m.data.length;
        entries += m.count;
        counts.push(m.count);
        acks.push(js.publish(m.subject, m.data, { msgID: m.msgID, timeout: this.cfg.timeout }));
      }
    }
    // Publishes go out in order on one connection, so the stream keeps the node's order.
    const results = await Promise.allSettled(acks);
    const failed = results.find((r) => r.status === 'rejected');
    // Every publish was answered: the client holds no part of the arena any more. (After a failure
    // it is left to the GC: a publish that timed out may still sit in the client's reconnect buffer.)
    if (!failed) arenas.push(arena);
    if (failed) throw new StorageError(node, `JetStream did not acknowledge the batch: ${(failed.reason as Error).message}`, { cause: failed.reason });
    const dup = results.reduce((a, r, i) => a + (r.status === 'fulfilled' && r.value.duplicate ? counts[i]! : 0), 0);
    this.duplicates += dup;
    this.published += entries - dup;
    this.messagesPublished += results.length;
    const next: NodeState = { seq: batches[batches.length - 1]!.seq, entries: prev.entries + entries - dup, bytes: prev.bytes + bytes };
    try {
      await this.kv!.put(natsToken(node), JSON.stringify(next));
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

/**
 * Where a group's messages of more than one run are gathered: one buffer per append, reused by
 * later appends. A fresh buffer per message (~100 KiB each) costs more in page faults and garbage
 * collection than the copy into it.
 */
class Arena {
  buf: Buffer;
  used = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }
  take(n: number): Buffer {
    if (this.used + n > this.buf.length) return Buffer.allocUnsafe(n); // (cannot happen: parts of a batch are at most the batch)
    const b = this.buf.subarray(this.used, this.used + n);
    this.used += n;
    return b;
  }
}

/** Arenas not in use (as many as appends ran at once: one per connected node at most, usually a few). */
const arenas: Arena[] = [];

function takeArena(size: number): Arena {
  const i = arenas.findIndex((a) => a.buf.length >= size);
  const a = i >= 0 ? arenas.splice(i, 1)[0]! : new Arena(Math.ceil(Math.max(size, 65536) / 65536) * 65536);
  a.used = 0;
  return a;
}

/**
 * A node id as one NATS subject token and key-value key, injectively: ids made only of
 * [A-Za-z0-9-] stay as they are (`gw-0001`); any other id (with `.` or `_`) becomes `_` + the hex
 * of its UTF-8 (`a.b` → `_612e62`, `a_b` → `_615f62`). A plain id never holds `_`, so the two
 * forms cannot meet, and no two ids share a subject or a sequence state.
 */
export function natsToken(node: string): string {
  return /^[A-Za-z0-9-]+$/.test(node) ? node : `_${Buffer.from(node, 'utf8').toString('hex')}`;
}

/** The node id of a token made by natsToken, or undefined for any other key. */
export function nodeOfToken(token: string): string | undefined {
  if (/^[A-Za-z0-9-]+$/.test(token)) return token;
  if (/^_(?:[0-9a-f]{2})+$/.test(token)) {
    const node = Buffer.from(token.slice(1), 'hex').toString('utf8');
    return natsToken(node) === token ? node : undefined;
  }
  return undefined;
}

/**
 * How aggregators before natsToken keyed a node's state, when that differs from natsToken and is
 * unambiguous (that scheme was not injective: an id starting with `hex_` could meet an encoded
 * one, so such ids get no fallback). Read only, never written.
 */
function legacyKey(node: string): string | undefined {
  const key = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(node) ? node : `hex_${Buffer.from(node).toString('hex')}`;
  return key === natsToken(node) || node.startsWith('hex_') ? undefined : key;
}

function legacyNodeOfKey(key: string): string | undefined {
  if (key.startsWith('hex_')) return Buffer.from(key.slice(4), 'hex').toString();
  return /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(key) ? key : undefined;
}
