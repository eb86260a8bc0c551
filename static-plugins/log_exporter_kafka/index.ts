import { definePlugin, type PluginContext, type SinkPlugin } from '../../agent/plugins/types.ts';
import { encodeEntry } from '../../entry/codec.ts';
import type { LogEntry } from '../../entry/entry.ts';
import { checkpointOf, holdEntry, type Checkpoint } from '../../entry/checkpoint.ts';
import { forEachRecord, recordLevelModule, type EntryRecords } from '../../agent/buffer/records.ts';
import { Backoff } from '../../lib/backoff.ts';
import { configSchema, type KafkaConfig } from './config.ts';
import { makeRouter, type Router } from './route.ts';
import { failureOf, openProducer, type Failure, type KafkaMessage, type ProducerHandle } from './producer.ts';
import { info } from './info.generated.ts';

/** Entries on their way to Kafka, in order; `holds` keep their inputs' checkpoints until acknowledged. */
interface Batch {
  messages: KafkaMessage[];
  bytes: number;
  /** Per message (same index), the checkpoint it holds, if its input has one. */
  holds: (Checkpoint | undefined)[];
}

/** Longest the client's close may take at shutdown. */
const CLOSE_BOUND_MS = 2000;

const newBatch = (): Batch => ({ messages: [], bytes: 0, holds: [] });

function release(b: Batch): void {
  for (const cp of b.holds) cp?.release();
}

/** A batch's first or last n messages, with their holds. */
function slice(b: Batch, from: number, to?: number): Batch {
  const messages = b.messages.slice(from, to);
  return { messages, holds: b.holds.slice(from, to), bytes: messages.reduce((n, m) => n + m.value.length, 0) };
}

/**
 * The Kafka exporter (docs/kafka.md). flush() routes each entry (topic, key; value = its NDJSON line)
 * into the open batch and returns; a batch is sealed at batch_max_entries, batch_max_bytes or
 * batch_max_ms and queued. One sender sends the queued batches one at a time, in order, so each
 * partition gets entries in the order they came. While the brokers are unreachable the batch at
 * the head is retried inside the client (same producer id and sequence numbers: the broker drops
 * what it already has) and the rest wait; past max_queued_entries flush() blocks (backpressure to
 * the inputs) or drops by when_full, counted. An input's checkpoint moves only once Kafka
 * acknowledged its entries (acks=all).
 */
export default definePlugin({
  info,
  configSchema,
  // flush may block while the queue is full (when_full: block) and shutdown waits for acks:
  // a short call timeout would count that as a failure.
  limits: { timeout_ms: 120_000, max_inflight: 1 },
  create(): SinkPlugin {
    let ctx: PluginContext;
    let config: KafkaConfig;
    let router: Router;
    let producer: ProducerHandle;
    let open = newBatch();
    let timer: NodeJS.Timeout | undefined;
    const queue: Batch[] = [];
    /** Entries in `queue` and `open`: what max_queued_entries bounds. */
    let queuedEntries = 0;
    let inflight = false;
    let stopping = false;
    let wakeSender: (() => void) | undefined;
    let spaceWaiters: (() => void)[] = [];
    let sender: Promise<void> = Promise.resolve();
    // Figures for status.
    let ackedEntries = 0;
    let ackedBatches = 0;
    let errors = 0;
    let retriesTransient = 0;
    let lastError = '';
    let state: 'idle' | 'up' | Failure['kind'] = 'idle';
    let droppedFull = 0;
    let droppedTooLarge = 0;
    let lostEntries = 0;
    /** Entries already taken: a flush called again with the same batch must not add them twice. */
    const taken = new WeakSet<LogEntry | EntryRecords>();

    /**
     * Logs a failure when it starts or changes (not every retry), and keeps it for status. What
     * needs the user (a topic, credentials, sizes) is an ERROR; brokers coming and going a WARN.
     */
    function failed(f: Failure): void {
      if (f.kind === 'transient') {
        retriesTransient++;
        ctx.log.debug(`${f.text} (retrying)`);
        return;
      }
      errors++;
      if (f.text !== lastError || state !== f.kind) {
        if (f.kind === 'unreachable' || f.kind === 'other') ctx.log.warn(`${f.text} (retrying)`);
        else ctx.log.error(f.text);
      }
      lastError = f.text;
      state = f.kind;
    }

    function seal(): void {
      clearTimeout(timer);
      timer = undefined;
      if (open.messages.length === 0) return;
      queue.push(open);
      open = newBatch();
      wakeSender?.();
    }

    function add(m: KafkaMessage, hold: Checkpoint | undefined): void {
      // when_full block lets the flush in hand finish (afterAdding then waits): only the drop policies drop.
      if (queuedEntries >= config.max_queued_entries && config.when_full !== 'block' && !makeRoom()) {
        droppedFull++;
        hold?.release();
        return;
      }
      open.messages.push(m);
      open.holds.push(hold);
      open.bytes += m.value.length;
      queuedEntries++;
      if (open.messages.length >= config.batch_max_entries || open.bytes >= config.batch_max_bytes) seal();
    }

    /** when_full drop_oldest: the oldest sealed batch not being sent goes. False: keep the new entry out. */
    function makeRoom(): boolean {
      if (config.when_full !== 'drop_oldest') return false;
      const i = inflight ? 1 : 0;
      const victim = queue[i];
      if (!victim) return false;
      queue.splice(i, 1);
      queuedEntries -= victim.messages.length;
      droppedFull += victim.messages.length;
      release(victim);
      return true;
    }

    async function afterAdding(): Promise<void> {
      if (open.messages.length && !timer) timer = setTimeout(seal, config.batch_max_ms);
      // when_full block: wait for acknowledgements to make room (never while stopping).
      while (config.when_full === 'block' && queuedEntries >= config.max_queued_entries && !stopping) {
        seal();
        await new Promise<void>((r) => spaceWaiters.push(r));
      }
    }

    function acknowledged(b: Batch): void {
      queuedEntries -= b.messages.length;
      ackedEntries += b.messages.length;
      ackedBatches++;
      release(b);
      wakeSpace();
    }

    /** Room was made in the queue: flushes blocked by when_full block go on. */
    function wakeSpace(): void {
      const waiters = spaceWaiters;
      spaceWaiters = [];
      for (const w of waiters) w();
    }

    /** Backoff after a refused batch: new batches do not cut it short (that would hammer a refusing broker); shutdown does. */
    let endBackoff: (() => void) | undefined;
    const backoffSleep = (ms: number) => new Promise<void>((r) => {
      const t = setTimeout(() => (endBackoff = undefined, r()), ms);
      endBackoff = () => (clearTimeout(t), endBackoff = undefined, r());
    });

    /** The one sender: the head batch until it is acknowledged (or, too large, split or dropped). */
    async function send(): Promise<void> {
      // Jittered: the brokers serve a fleet of agents.
      const backoff = new Backoff({ minMs: config.backoff_min, maxMs: config.backoff_max, jitter: 'equal' });
      while (!stopping || queue.length) {
        const b = queue[0];
        if (!b) {
          if (stopping) return;
          await new Promise<void>((r) => (wakeSender = () => (wakeSender = undefined, r())));
          continue;
        }
        inflight = true;
        try {
          await producer.send(b.messages);
          inflight = false;
          queue.shift();
          if (state !== 'up' && state !== 'idle') ctx.log.info(`brokers ${producer.brokers().join(', ')} acknowledge again`);
          state = 'up';
          backoff.reset();
          acknowledged(b);
        } catch (e) {
          inflight = false;
          // Closing the client at shutdown ends the retries in progress: what is queued is counted there.
          if (stopping) return;
          const f = failureOf(e);
          failed(f);
          if (f.kind === 'too_large') {
            if (b.messages.length > 1) {
              // Halves keep their order; each is tried again on its own.
              const h = Math.ceil(b.messages.length / 2);
              queue.splice(0, 1, slice(b, 0, h), slice(b, h));
            } else {
              // One entry the broker will never take: the only entry this sink drops without a policy.
              queue.shift();
              queuedEntries--;
              droppedTooLarge++;
              release(b);
              wakeSpace();
              ctx.log.error(`dropped an entry of ${b.messages[0]!.value.length} bytes for topic "${b.messages[0]!.topic}": over the broker's size limit (counted in dropped_too_large)`);
            }
            continue;
          }
          await backoffSleep(backoff.next());
        }
      }
    }

    const routeFields = (e: { node?: string; level: string; module: string }) => ({ node: e.node ?? ctx.node, level: e.level, module: e.module });

    return {
      async init(c) {
        ctx = c;
        config = c.config as KafkaConfig;
        router = makeRouter(config);
        producer = await openProducer({
          config,
          clientId: config.client_id ?? `logloom-${c.node}`,
          onRetry: (f) => failed(f),
        });
        sender = send().catch((e: Error) => ctx.log.error(`sender stopped: ${e.message}`));
      },
      async flush(entries) {
        for (const e of entries) {
          if (taken.has(e)) continue;
          taken.add(e);
          const f = routeFields(e);
          const cp = checkpointOf(e);
          // Our own hold: released when Kafka acknowledged the entry (or it was dropped by policy).
          if (cp) holdEntry(e);
          add({ topic: router.topic(f), key: router.key(f), value: Buffer.from(encodeEntry(e)) }, cp);
        }
        await afterAdding();
      },
      async flushRecords(records) {
        if (!taken.has(records)) {
          taken.add(records);
          // One copy of the run: the messages are views into it, valid after the ring moves on.
          const frames = Buffer.from(records.frames);
          forEachRecord(frames, (start, end) => {
            const lm = recordLevelModule(frames, start, end);
            const node = router.usesNode ? (JSON.parse(frames.toString('utf8', start, end)) as { node?: string }).node : undefined;
            const f = routeFields({ node, ...lm });
            add({ topic: router.topic(f), key: router.key(f), value: frames.subarray(start, end) }, undefined);
          });
        }
        await afterAdding();
      },
      async shutdown() {
        seal();
        stopping = true;
        for (const w of spaceWaiters.splice(0)) w();
        wakeSender?.();
        endBackoff?.();
        // Queued batches get shutdown_timeout to be acknowledged; then the client is closed.
        let deadline: NodeJS.Timeout | undefined;
        await Promise.race([sender, new Promise<void>((r) => (deadline = setTimeout(r, config.shutdown_timeout)))]);
        clearTimeout(deadline);
        // Closing waits for the client's connections to end; one left half-open by a broker that
        // froze would hold the agent's stop for a request timeout: bounded.
        let closeBound: NodeJS.Timeout | undefined;
        await Promise.race([producer.close().catch(() => {}), new Promise<void>((r) => (closeBound = setTimeout(r, CLOSE_BOUND_MS)))]);
        clearTimeout(closeBound);
        await sender;
        if (queuedEntries > 0) {
          lostEntries += queuedEntries;
          ctx.log.warn(`stopped with ${queuedEntries} entries not acknowledged by Kafka (lost_entries; a file input re-reads them at the next start)`);
        }
      },
      status: () => ({
        brokers: producer ? producer.brokers().join(',') : config?.brokers.join(','),
        state,
        inflight_batches: inflight ? 1 : 0,
        queued_batches: queue.length - (inflight ? 1 : 0) + (open.messages.length ? 1 : 0),
        queued_entries: queuedEntries,
        acked_entries: ackedEntries,
        acked_batches: ackedBatches,
        errors,
        transient_retries: retriesTransient,
        last_error: lastError,
        dropped_too_large: droppedTooLarge,
        dropped_full: droppedFull,
        dropped_entries: droppedFull + droppedTooLarge,
        lost_entries: lostEntries,
      }),
    };
  },
});
