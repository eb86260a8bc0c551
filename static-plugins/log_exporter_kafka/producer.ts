/**
 * The Kafka client behind log_exporter_kafka: @platformatic/kafka (docs/kafka.md says why), loaded
 * with a dynamic import the first time the plugin starts, so an agent without this sink neither
 * evaluates nor pays memory for it.
 *
 * The producer is idempotent with acks=all. The client retries a produce request with the same
 * producer id and sequence numbers for as long as the error is retriable (broker down, leader
 * moving, request timed out), so the broker discards a batch it already wrote: a retry never
 * duplicates. Only an error the client gives up on (refused authentication, unknown topic after a
 * metadata refresh, a batch too large) comes back to the plugin; nothing was written then.
 */
import { readFileSync } from 'node:fs';
import type { Producer as KafkaProducer } from '@platformatic/kafka';
import { backoffDelay } from '../../lib/backoff.ts';
import type { KafkaConfig } from './config.ts';

export interface KafkaMessage {
  topic: string;
  key: Buffer | undefined;
  value: Buffer;
}

/** What went wrong, in the plugin's terms: decides what it does next and what it tells the user. */
export type FailureKind = 'transient' | 'unreachable' | 'unknown_topic' | 'auth' | 'too_large' | 'other';

/** Errors a healthy cluster answers now and then (a coordinator loading, a leader moving): retried quietly. */
const TRANSIENT = new Set([
  'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR', 'LEADER_NOT_AVAILABLE', 'NOT_LEADER_OR_FOLLOWER',
  'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'CONCURRENT_TRANSACTIONS',
]);

export interface Failure {
  kind: FailureKind;
  /** One line for the log and status, naming the broker, topic or user concerned. */
  text: string;
}

export interface ProducerHandle {
  send(messages: readonly KafkaMessage[]): Promise<void>;
  /** Brokers the client knows (from metadata; the bootstrap list until it has some). */
  brokers(): string[];
  close(): Promise<void>;
}

export interface ProducerOptions {
  config: KafkaConfig;
  clientId: string;
  /** Every failed attempt the client is about to retry on its own (for status and the log). */
  onRetry(f: Failure): void;
}

interface ErrorLike {
  message?: string;
  code?: string;
  apiId?: string;
  serverErrorMessage?: string | null;
  path?: string;
  errors?: unknown[];
  cause?: unknown;
}

/** The library nests errors (MultipleErrors of ResponseErrors of ProtocolErrors, causes): all of them. */
function flatten(e: unknown, out: ErrorLike[] = [], depth = 0): ErrorLike[] {
  if (!e || typeof e !== 'object' || depth > 8) return out;
  const x = e as ErrorLike;
  out.push(x);
  for (const inner of Array.isArray(x.errors) ? x.errors : []) flatten(inner, out, depth + 1);
  if (x.cause) flatten(x.cause, out, depth + 1);
  return out;
}

/**
 * Turns a client error into a Failure. `topics` are the topics the request was for (the broker's
 * answer names partitions by index only).
 */
export function describeFailure(e: unknown, ctx: { topics: readonly string[]; brokers: readonly string[]; user?: string; mechanism?: string; tls?: 'server' | 'mutual' }): Failure {
  const all = flatten(e);
  const ids = new Set(all.map((x) => x.apiId).filter(Boolean));
  const server = all.map((x) => x.serverErrorMessage).find((m) => typeof m === 'string' && m.length > 0);
  const topics = ctx.topics.length ? ctx.topics.map((t) => `"${t}"`).join(', ') : '(none)';
  if (ids.has('MESSAGE_TOO_LARGE') || ids.has('RECORD_LIST_TOO_LARGE')) {
    return { kind: 'too_large', text: `the broker refused a batch for topic ${topics} as too large (message.max.bytes, or the topic's max.message.bytes)${server ? `: ${server}` : ''}` };
  }
  if (ids.has('SASL_AUTHENTICATION_FAILED') || ids.has('UNSUPPORTED_SASL_MECHANISM') || ids.has('ILLEGAL_SASL_STATE') || all.some((x) => x.code === 'PLT_KFK_AUTHENTICATION')) {
    return { kind: 'auth', text: `the brokers refused SASL authentication${ctx.user ? ` as "${ctx.user}"` : ''}${ctx.mechanism ? ` (${ctx.mechanism})` : ''}: ${server ?? innermost(all)}` };
  }
  if (ids.has('TOPIC_AUTHORIZATION_FAILED') || ids.has('CLUSTER_AUTHORIZATION_FAILED') || ids.has('TRANSACTIONAL_ID_AUTHORIZATION_FAILED')) {
    return { kind: 'auth', text: `the brokers do not allow ${ctx.user ? `"${ctx.user}"` : 'this client'} to write to topic ${topics} (${[...ids].join(', ')})` };
  }
  if (ids.has('UNKNOWN_TOPIC_OR_PARTITION') || ids.has('UNKNOWN_TOPIC_ID') || ids.has('INVALID_TOPIC_EXCEPTION')) {
    return { kind: 'unknown_topic', text: `topic ${topics} does not exist on the brokers (and they do not create topics on their own): create it, or change plugins.config.log_exporter_kafka.topic; entries wait queued` };
  }
  if (ids.size > 0 && [...ids].every((id) => TRANSIENT.has(id!))) {
    return { kind: 'transient', text: `${[...ids].join(', ')}: ${server ?? innermost(all)}` };
  }
  if (all.some((x) => x.code === 'PLT_KFK_NETWORK') || all.some((x) => /^E[A-Z]+$/.test(x.code ?? ''))) {
    const why = innermost(all);
    // A TLS broker that wants a client certificate (or a port that does not speak TLS) just closes
    // the connection after the handshake: say what that usually means.
    const hint = ctx.tls && /^Connection closed/.test(why)
      ? ctx.tls === 'server' ? ' (the brokers may require a client certificate: tls.cert and tls.key)' : ' (the brokers may not accept this client certificate)'
      : '';
    return { kind: 'unreachable', text: `brokers ${ctx.brokers.join(', ')} unreachable: ${why}${hint}` };
  }
  return { kind: 'other', text: `${[...ids].join(', ') || 'error'}: ${server ?? innermost(all)}` };
}

/** The most specific message: the deepest error's, which names the socket error or the server's reason. */
function innermost(all: ErrorLike[]): string {
  const msgs = all.map((x) => x.message).filter((m): m is string => typeof m === 'string' && m.length > 0);
  const specific = msgs.filter((m) => !/^(Received response with error|.* failed \d+ times\.|Producing messages failed\.)/.test(m));
  return (specific.at(-1) ?? msgs.at(-1) ?? 'unknown error').replace(/\s+/g, ' ');
}

const MECHANISMS = { plain: 'PLAIN', 'scram-sha-256': 'SCRAM-SHA-256', 'scram-sha-512': 'SCRAM-SHA-512' } as const;

/** Checks what the schema cannot (fields that depend on each other) and reads the TLS files once. */
export function clientOptions(config: KafkaConfig) {
  const { tls, sasl } = config;
  if ((tls.cert === undefined) !== (tls.key === undefined)) throw new Error('tls: cert and key go together (mutual TLS needs both)');
  const read = (what: string, file: string) => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(`${what}: cannot read ${file}: ${(e as Error).message}`);
    }
  };
  const tlsOptions = tls.enabled
    ? {
      ...(tls.ca ? { ca: read('tls.ca', tls.ca) } : {}),
      ...(tls.cert ? { cert: read('tls.cert', tls.cert) } : {}),
      ...(tls.key ? { key: read('tls.key', tls.key) } : {}),
      ...(tls.server_name ? { servername: tls.server_name } : {}),
    }
    : undefined;
  let saslOptions: { mechanism: (typeof MECHANISMS)[keyof typeof MECHANISMS]; username: string; password: () => string } | undefined;
  if (sasl.mechanism !== 'none') {
    if (!sasl.username) throw new Error(`sasl.username is required with sasl.mechanism ${sasl.mechanism}`);
    if (!sasl.password_file) throw new Error(`sasl.password_file is required with sasl.mechanism ${sasl.mechanism}`);
    const file = sasl.password_file;
    read('sasl.password_file', file);
    saslOptions = { mechanism: MECHANISMS[sasl.mechanism], username: sasl.username, password: () => readFileSync(file, 'utf8').replace(/\r?\n$/, '') };
  }
  // Without server_name Node checks the certificate against the broker's host (IP or name) itself.
  return { tls: tlsOptions, tlsServerName: tls.enabled ? tls.server_name : undefined, sasl: saslOptions };
}

export async function openProducer(opts: ProducerOptions): Promise<ProducerHandle> {
  const { config } = opts;
  const extra = clientOptions(config);
  const { Producer } = await import('@platformatic/kafka');
  const ctx = {
    topics: [] as string[], brokers: config.brokers, user: config.sasl.username, mechanism: extra.sasl?.mechanism,
    tls: config.tls.enabled ? (config.tls.cert ? 'mutual' as const : 'server' as const) : undefined,
  };
  const producer: KafkaProducer<Buffer, Buffer, string, string> = new Producer({
    clientId: opts.clientId,
    bootstrapBrokers: config.brokers,
    idempotent: true,
    acks: -1,
    // Retriable errors are retried inside the client for ever (that keeps the sequence numbers);
    // the delay grows like the rest of Logloom's backoffs and every attempt is reported.
    retries: Number.MAX_SAFE_INTEGER,
    retryDelay: (_client: unknown, _op: string, attempt: number, _retries: number, error: Error) => {
      opts.onRetry(describeFailure(error, ctx));
      return backoffDelay(attempt - 1, { minMs: config.backoff_min, maxMs: config.backoff_max, jitter: 'equal' });
    },
    compression: config.compression,
    autocreateTopics: false,
    connectTimeout: config.connect_timeout,
    requestTimeout: config.request_timeout,
    timeout: config.request_timeout,
    ...(extra.tls ? { tls: extra.tls } : {}),
    ...(extra.tlsServerName ? { tlsServerName: extra.tlsServerName } : {}),
    ...(extra.sasl ? { sasl: extra.sasl } : {}),
  });
  return {
    async send(messages) {
      ctx.topics = [...new Set(messages.map((m) => m.topic))];
      try {
        await producer.send({ messages: messages as KafkaMessage[] });
      } catch (e) {
        const f = describeFailure(e, ctx);
        throw Object.assign(new Error(f.text, { cause: e }), { failure: f });
      }
    },
    brokers() {
      const known = producer.currentMetadata?.brokers;
      return known?.size ? [...known.values()].map((b) => `${b.host}:${b.port}`) : [...config.brokers];
    },
    async close() {
      // force: abandon retries in progress (what is still queued is counted by the plugin).
      await producer.close(true);
    },
  };
}

export function failureOf(e: unknown): Failure {
  const f = (e as { failure?: Failure } | null)?.failure;
  return f ?? { kind: 'other', text: e instanceof Error ? e.message : String(e) };
}
