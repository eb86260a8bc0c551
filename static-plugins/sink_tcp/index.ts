import { connect, type Socket } from 'node:net';
import { definePlugin, type PluginContext, type SinkPlugin } from '../../agent/plugins/types.ts';
import { s, type Infer } from '../../lib/schema/schema.ts';
import { encodeEntry } from '../../entry/codec.ts';
import type { LogEntry } from '../../entry/entry.ts';
import { recordsToNdjson, type EntryRecords } from '../../agent/buffer/records.ts';
import { info } from './info.generated.ts';

/** Bounds of the reused NDJSON buffer (flushRecords): its first size, and the largest batch written through it. */
const SCRATCH_MIN = 256 * 1024;
const SCRATCH_MAX = 4 * 1024 * 1024;

const configSchema = s.object(
  {
    host: s.string({ default: '127.0.0.1', doc: 'Host to send to.' }),
    port: s.int({ min: 1, max: 65535, default: 5170, doc: 'TCP port (5170 is Fluent Bit in_tcp\'s default).' }),
    format: s.enum(['json_lines'] as const, { default: 'json_lines', doc: 'json_lines: one JSON entry per line (NDJSON), like Fluent Bit out_tcp.' }),
    connect_timeout: s.duration({ min: 10, max: 600_000, default: 5000, doc: 'How long a connection attempt may take.' }),
  },
  { doc: 'sink_tcp: sends entries as NDJSON lines to host:port; reconnects on the next batch after an error; a failed batch is retried.' },
);
type Config = Infer<typeof configSchema>;

/**
 * One connection, opened on demand. A batch is one write; it counts as delivered when the kernel
 * accepted it (like Fluent Bit's out_tcp, there is no application-level ack), and an error closes
 * the socket so that the next flush reconnects. The supervisor retries a rejected batch, so a
 * receiver may see a batch twice (at-least-once).
 */
export default definePlugin({
  info,
  configSchema,
  create(): SinkPlugin {
    let config: Config;
    let log: PluginContext['log'];
    let sock: Socket | undefined;
    let connects = 0;
    let sent = 0;
    let lastError = '';
    /**
     * The NDJSON of a batch of records is written here, reused once the socket is done with the
     * last batch (its write callback ran): a batch is some 100 KiB, and a new buffer per batch is
     * memory outside the V8 heap that piles up until a full collection. A flush while another
     * is in flight, or a batch over SCRATCH_MAX, gets a buffer of its own.
     */
    let scratch: Buffer | undefined;
    let scratchBusy = false;

    const drop = (why: string) => {
      if (sock) log.debug(`connection to ${config.host}:${config.port} closed: ${why}`);
      sock?.destroy();
      sock = undefined;
    };

    const open = (): Promise<Socket> =>
      new Promise((resolve, reject) => {
        const s = connect({ host: config.host, port: config.port });
        const timer = setTimeout(() => (s.destroy(), reject(new Error(`connect to ${config.host}:${config.port} timed out after ${config.connect_timeout} ms`))), config.connect_timeout);
        s.once('connect', () => {
          clearTimeout(timer);
          s.setKeepAlive(true, 30_000);
          s.setNoDelay(true);
          // Errors between batches only mark the socket dead; the next flush reconnects.
          s.on('error', (e) => (lastError = e.message));
          s.on('close', () => {
            if (sock === s) sock = undefined;
          });
          // Anything the peer sends is ignored (one-way like out_tcp), but must not pile up.
          s.resume();
          connects++;
          resolve(s);
        });
        s.once('error', (e) => {
          clearTimeout(timer);
          reject(new Error(`connect to ${config.host}:${config.port}: ${e.message}`));
        });
      });

    return {
      init(ctx) {
        config = ctx.config as Config;
        log = ctx.log;
      },
      async flush(entries: readonly LogEntry[]) {
        await send(entries.map(encodeEntry).join('\n') + '\n', entries.length);
      },
      // The records path: the records' bytes are already the NDJSON lines; no entry is re-encoded.
      async flushRecords(records: EntryRecords) {
        const size = records.frames.length;
        if (scratchBusy || size > SCRATCH_MAX) return send(recordsToNdjson(records), records.count);
        if (!scratch || scratch.length < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, SCRATCH_MIN));
        scratchBusy = true;
        try {
          await send(recordsToNdjson(records, 0, records.count, scratch), records.count);
        } finally {
          scratchBusy = false;
        }
      },
      shutdown() {
        sock?.end();
        sock = undefined;
      },
      status: () => ({ target: `${config.host}:${config.port}`, connected: sock !== undefined && !sock.destroyed, connects, sent, last_socket_error: lastError }),
    };

    async function send(data: string | Buffer, count: number): Promise<void> {
      if (!sock || sock.destroyed) sock = await open();
      const s = sock;
      await new Promise<void>((resolve, reject) => {
        s.write(data, (err) => {
          if (err) {
            lastError = err.message;
            drop(err.message);
            reject(err);
          } else resolve();
        });
      });
      sent += count;
    }
  },
});
