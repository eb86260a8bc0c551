import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { definePlugin, type PluginContext, type SinkPlugin } from '../../agent/plugins/types.ts';
import { encodeEntry } from '../../entry/codec.ts';
import type { LogEntry } from '../../entry/entry.ts';
import { checkpointOf, holdEntry, holdToken, openTokens, tokenCheckpoint, type Checkpoint, type CheckpointPosition } from '../../entry/checkpoint.ts';
import { BodyEncoder, joinLines } from '../../protocol/index.ts';
import { forEachRecord, recordsSpan, forEachToken, recordStart, recordToken, recordsToNdjson, type EntryRecords } from '../../agent/buffer/records.ts';
import { loadedAddon, type NativeAddon } from '../../lib/native-runtime.ts';
import { Spool } from '../../agent/forward/spool/spool.ts';
import { ForwardClient } from '../../agent/forward/client.ts';
import { configSchema, type RemoteConfig } from './config.ts';
import { info } from './info.generated.ts';

/**
 * Entries collected for the next batch: their NDJSON so far, `rawLen` bytes written into `raw` (a
 * buffer from the sink's pool), and the lines of entry objects since the last run of records
 * (written at the next run or the seal).
 */
interface OpenBatch {
  raw: Buffer | undefined;
  rawLen: number;
  lines: string[];
  count: number;
  bytes: number;
  /** Checkpoints to release once the batch is durable. */
  holds: Checkpoint[];
  positions: Map<string, CheckpointPosition>;
}

const newBatch = (): OpenBatch => ({ raw: undefined, rawLen: 0, lines: [], count: 0, bytes: 0, holds: [], positions: new Map() });

/** Batch buffers kept for reuse at most (each about batch_max_bytes). */
const POOL_MAX = 4;

/**
 * The sink that forwards to the aggregator. flush() appends entries to the open batch
 * and returns at once unless the batch was sealed (then it waits until the spool holds it, which
 * is where backpressure comes from when the spool blocks). Sealed batches get the next sequence
 * number and go to the spool, from which the client sends them in order. On the records path
 * (flushRecords) entries arrive as the ring's NDJSON bytes and are copied into the batch as they are.
 */
const LANG_KEY = Buffer.from('"lang_key":"');
const EMPTY_MESSAGE = Buffer.from('"message":""');

export default definePlugin({
  info,
  configSchema,
  // flush returns once entries are in the open batch, but may wait for the spool (when_full:
  // block, a slow disk): a short call timeout would count that as a failure and restart us.
  limits: { timeout_ms: 120_000, max_inflight: 1 },
  create(): SinkPlugin {
    let ctx: PluginContext;
    let config: RemoteConfig;
    let spool: Spool;
    let client: ForwardClient;
    const encoder = new BodyEncoder();
    let open = newBatch();
    let timer: NodeJS.Timeout | undefined;
    /** Seals run one after another so sequence numbers follow the entries' order. */
    let sealing: Promise<void> = Promise.resolve();
    let sealError: Error | undefined;
    /** Entries of batches the spool could not take because of an I/O error (shown in status with the spool's own losses to damage). */
    let lostEntries = 0;
    /** Entries already taken: a flush retried after a timeout must not add them twice. */
    const taken = new WeakSet<LogEntry | EntryRecords>();
    /** Batches sealed but not yet held by the spool; flush waits when too many pile up. */
    let sealBacklog = 0;

    function seal(): Promise<void> {
      clearTimeout(timer);
      timer = undefined;
      if (open.count === 0) return sealing;
      const b = open;
      open = newBatch();
      sealBacklog++;
      sealing = sealing.then(async () => {
        writeLines(b);
        const data = await encoder.encode(b.raw ? b.raw.subarray(0, b.rawLen) : Buffer.alloc(0), b.count, config.compression);
        // Deflated: the batch's buffer is free again (uncompressed, the body is that buffer: kept).
        if (b.raw && data.body.buffer !== b.raw.buffer) recycle(b.raw);
        const seq = await spool.allocSeq();
        await spool.push(data, seq, [...b.positions.values()], () => {
          for (const cp of b.holds) cp.release();
        });
      }).catch((e: Error) => {
        sealError = e;
        lostEntries += b.count;
        ctx.log.error(`spooling a batch of ${b.count} entries failed, they are lost: ${e.message}`);
        for (const cp of b.holds) cp.release();
      }).finally(() => {
        sealBacklog--;
      });
      return sealing;
    }

    const full = () => open.count >= config.batch_max_entries || open.bytes >= config.batch_max_bytes;

    /**
     * Buffers of sealed batches whose NDJSON has been deflated, for the next batches: a new
     * ~200 KiB Buffer per batch was what the forwarding agent's garbage collection spent most on.
     */
    const pool: Buffer[] = [];
    function recycle(b: Buffer): void {
      if (pool.length < POOL_MAX) pool.push(b);
    }
    /** The open batch's buffer with room for n more bytes (from the pool, or grown). */
    function room(b: OpenBatch, n: number): Buffer {
      const need = b.rawLen + n;
      if (b.raw && b.raw.length >= need) return b.raw;
      let next = pool.pop();
      // A little over batch_max_bytes: a batch is sealed once it reaches it, with the run that crossed it.
      if (!next || next.length < need) next = Buffer.allocUnsafeSlow(Math.max(need, config.batch_max_bytes + (config.batch_max_bytes >> 2)));
      if (b.raw) {
        b.raw.copy(next, 0, 0, b.rawLen);
        recycle(b.raw);
      }
      b.raw = next;
      return next;
    }
    /** The pending entry lines into the batch's buffer. */
    function writeLines(b: OpenBatch): void {
      if (b.lines.length === 0) return;
      const text = joinLines(b.lines.splice(0));
      text.copy(room(b, text.length), b.rawLen);
      b.rawLen += text.length;
    }

    /**
     * An entry sent with a lang_key and no message reaches the aggregator with the message rendered
     * in this agent's language, so that every tool downstream shows text; lang_key and args stay,
     * for the aggregator and the dashboard to render it in another language.
     */
    function rendered(e: LogEntry): LogEntry {
      return e.lang_key && !e.message ? { ...e, message: ctx.render(e.lang_key, e.args) } : e;
    }

    /**
     * Where the next empty message of the run being added is (at or after the last search's
     * start; past the end when there is none; reset by addRecords): the run is searched once per
     * match, not once per record. A search per record (a native call and a view each) cost about a microsecond per
     * entry, and a search from each record to the end of the run made the loop quadratic.
     */
    let emptyIn: Buffer | undefined;
    let emptyAt = -1;

    /** A record that carries a lang_key and an empty message: re-encoded with the message rendered. */
    function renderedRecord(frames: Buffer, start: number, end: number): string | undefined {
      if (emptyIn !== frames || emptyAt < start) {
        emptyIn = frames;
        emptyAt = frames.indexOf(EMPTY_MESSAGE, start);
        if (emptyAt < 0) emptyAt = frames.length;
      }
      if (emptyAt >= end) return undefined;
      // An empty message in this record (the rarer match); does it carry a lang_key too?
      const record = frames.subarray(start, end);
      if (record.indexOf(LANG_KEY) < 0) return undefined;
      return encodeEntry(rendered(JSON.parse(record.toString('utf8')) as LogEntry));
    }

    function add(e: LogEntry): boolean {
      const line = encodeEntry(rendered(e));
      open.lines.push(line);
      open.count++;
      open.bytes += Buffer.byteLength(line) + 1;
      const cp = checkpointOf(e);
      if (cp) covers(cp);
      return full();
    }

    /** The open batch covers this input position: it holds it until durable, and the spool records it. */
    function covers(cp: Checkpoint): void {
      open.holds.push(cp);
      const k = `${cp.input}\u0000${cp.stream}`;
      const cur = open.positions.get(k);
      if (!cur || cur.offset < cp.offset) open.positions.set(k, { input: cp.input, stream: cp.stream, offset: cp.offset });
    }

    /** NDJSON of records [from, to) into the open batch, after the lines already there. */
    function addPart(r: EntryRecords, from: number, to: number): void {
      if (from >= to) return;
      writeLines(open);
      const span = recordsSpan(r, from, to).length;
      open.rawLen += recordsToNdjson(r, from, to, room(open, span).subarray(open.rawLen)).length;
    }

    /** Each record's token (0 for none), or undefined when no record of the run carries one. */
    function recordTokens(r: EntryRecords): number[] | undefined {
      // No token open anywhere (no replayable input has records in flight): none to look for.
      if (openTokens() === 0) return undefined;
      let any = false;
      forEachToken(r.frames, () => (any = true));
      if (!any) return undefined;
      const out: number[] = [];
      for (let off = 0; off + 4 <= r.frames.length; off += 4 + r.frames.readUInt32LE(off)) out.push(recordToken(r.frames, off));
      return out;
    }

    /** The records path: a run is cut where a batch fills up, as entries would be. */
    function addRecords(r: EntryRecords): void {
      // Records carrying a checkpoint token (the file input): our own hold, until the batch is durable.
      const tokens = recordTokens(r);
      const addon = tokens ? undefined : loadedAddon();
      if (addon) addRecordsNative(r, addon);
      else addRecordsJs(r, tokens);
    }

    /** [records, frames offset after them, bytes written, why it stopped]: forwardLines' answer, reused. */
    const linesResult = new Float64Array(4);

    /**
     * addRecords through the addon (when the native ring has loaded it), for runs without tokens:
     * one call copies the records' lines into the batch until it is full or a record needs its
     * message rendered (native/addon/src/forward-lines.h, the same rule as addRecordsJs). The
     * per-record loop here had been a tenth of the forwarding agent's main thread.
     */
    function addRecordsNative(r: EntryRecords, addon: NativeAddon): void {
      const f = r.frames;
      for (let off = 0; off + 4 <= f.length;) {
        writeLines(open);
        // A line is never longer than its frame (a 4-byte length pays for the newline).
        const buf = room(open, f.length - off);
        addon.forwardLines(f, off, buf, open.rawLen, config.batch_max_entries - open.count, config.batch_max_bytes - open.bytes, linesResult);
        const [records, next, written, why] = linesResult as unknown as [number, number, number, number];
        open.rawLen += written;
        open.count += records;
        open.bytes += written;
        off = next;
        if (why === 1) {
          // This record holds `"message":""` and `"lang_key":"`: as addRecordsJs sends it.
          const end = off + 4 + f.readUInt32LE(off);
          const line = encodeEntry(rendered(JSON.parse(f.toString('utf8', recordStart(f, off), end)) as LogEntry));
          open.lines.push(line);
          open.count++;
          open.bytes += Buffer.byteLength(line) + 1;
          off = end;
          if (full()) void seal();
        } else if (why === 2) void seal();
        else if (records === 0 && why === 0) break; // nothing more to take (a torn tail)
      }
    }

    /** addRecords in JavaScript: a record at a time (tokens to hold, or no addon). */
    function addRecordsJs(r: EntryRecords, tokens: number[] | undefined): void {
      let from = 0;
      emptyIn = undefined; // a new run: search it afresh (its bytes may sit where another run's were)
      forEachRecord(r.frames, (start, end, i) => {
        const cp = tokens && tokens[i] ? tokenCheckpoint(tokens[i]!) : undefined;
        if (cp) {
          holdToken(tokens![i]!);
          covers(cp);
        }
        const line = renderedRecord(r.frames, start, end);
        if (line !== undefined) {
          // The records before it go as they are, then this one as its re-encoded line.
          addPart(r, from, i);
          open.lines.push(line);
          from = i + 1;
        }
        open.count++;
        open.bytes += (line === undefined ? end - start : Buffer.byteLength(line)) + 1;
        if (!full()) return;
        addPart(r, from, i + 1);
        from = i + 1;
        void seal();
      });
      addPart(r, from, r.count);
    }

    /** What every flush starts and ends with. */
    function takeSealError(): void {
      if (!sealError) return;
      const e = sealError;
      sealError = undefined;
      throw e;
    }
    async function afterAdding(): Promise<void> {
      if (open.count && !timer) timer = setTimeout(() => void seal(), config.batch_max_ms);
      // Backpressure: wait while the spool is behind (blocked when full, or a slow disk).
      while (sealBacklog > 2) await sealing;
    }

    return {
      async init(c) {
        ctx = c;
        config = c.config as RemoteConfig;
        spool = new Spool({ ...config.spool, dir: config.spool.dir ?? join(c.stateDir, 'spool'), log: c.log });
        await spool.open();
        const tokenFile = config.token_file;
        client = new ForwardClient(spool, {
          addresses: config.addresses,
          node: c.node,
          token: () => (tokenFile ? readFileSync(tokenFile, 'utf8').replace(/\r?\n$/, '') : ''),
          tls: config.tls.enabled ? { ca: config.tls.ca, cert: config.tls.cert, key: config.tls.key, serverName: config.tls.server_name } : undefined,
          connectTimeoutMs: config.connect_timeout,
          pingIntervalMs: config.ping_interval,
          pingTimeoutMs: config.ping_timeout,
          backoffMinMs: config.backoff_min,
          backoffMaxMs: Math.max(config.backoff_min, config.backoff_max),
          maxInflightBatches: config.max_inflight_batches,
          maxFrameBytes: config.max_frame_bytes,
          // Shown per node by the aggregator (/api/nodes, the dashboard).
          stats: () => {
            const sp = spool.status();
            return { version: c.agent?.version, dropped: (c.agent?.dropped() ?? sp.dropped_entries) + lostEntries, spool_entries: sp.queued_entries, spool_bytes: sp.memory_bytes + sp.disk_bytes };
          },
          log: c.log,
        });
        client.start();
      },
      async flush(entries) {
        takeSealError();
        for (const e of entries) {
          if (taken.has(e)) continue;
          taken.add(e);
          // Our own hold: released when the batch is durable (spooled to disk or acknowledged).
          holdEntry(e);
          if (add(e)) void seal();
        }
        await afterAdding();
      },
      async flushRecords(records) {
        takeSealError();
        if (!taken.has(records)) {
          taken.add(records);
          addRecords(records);
        }
        await afterAdding();
      },
      async shutdown() {
        await seal();
        await client.stop(1000);
        await spool.close();
        encoder.close();
      },
      status: () => {
        const sp = Object.fromEntries(Object.entries(spool.status()).map(([k, v]) => [`spool_${k}`, v]));
        return { ...client.status(), ...sp, lost_entries: lostEntries + spool.stats.lost_entries, dropped_entries: spool.status().dropped_entries };
      },
    };
  },
});
