/**
 * `type: devlog`: the local syslog socket, /dev/log: a Unix *datagram* socket that syslog(3),
 * logger(1) and most daemons write to. Node has no AF_UNIX datagram sockets, so the socket is
 * bound and read by the C addon (native/addon/src/dgram.c). Each datagram is one message, parsed
 * as RFC 3164 (what glibc's syslog() sends: `<PRI>Mmm dd hh:mm:ss tag[pid]: text`) or RFC 5424;
 * the sender's pid and uid come from the kernel (SO_PASSCRED), not from the message.
 * Each batch of datagrams the socket read goes to the codec in one call (ctx.openStream, format
 * syslog_datagram: parsed, sanitised and framed in C, the credentials added as fields) and its
 * records into the ring; when a line stage or labels need drafts, each message is parsed by the
 * same rules in JavaScript (syslogDraft) and emitted.
 * Backpressure: under `when_full: block` the socket is not read while the buffer is full, so the
 * kernel's queue fills and senders wait, as with journald or rsyslog.
 */
import { unlink, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { s, type Infer } from '../../../lib/schema/schema.ts';
import { loadAddon } from '../../../lib/native-runtime.ts';
import type { Input, InputContext } from '../input.ts';
import { inputSchema } from '../common.ts';
import { InputStartError } from '../errors.ts';
import { syslogDraft } from '../../buffer/syslog/draft.ts';

export const schema = inputSchema('The local syslog socket (/dev/log): a Unix datagram socket, read through the C addon, that syslog(3) and logger(1) write to.', {
  path: s.string({ default: '/dev/log', doc: 'Socket path to bind (replaces a stale socket there). Another syslog daemon must not own it.' }),
  mode: s.int({ min: 0, max: 0o777, default: 0o666, doc: 'Permissions of the socket file (every program may log by default, as with /dev/log).' }),
  max_message_bytes: s.size({ min: 480, max: 1024 * 1024, default: 64 * 1024, doc: 'Longest datagram kept; a longer one is cut and the entry marked truncated.' }),
});
export type DevlogInputConfig = Infer<typeof schema> & { type: 'devlog' };

export function create(config: DevlogInputConfig, ctx: InputContext): Input {
  let handle: object | undefined;
  let addon: ReturnType<typeof loadAddon> | undefined;
  let paused = false;
  const counts = { messages: 0, bytes: 0, parse_errors: 0, truncated: 0, pauses: 0 };
  const source = `devlog:${config.path}`;
  /** The codec stream (undefined: the draft path, for a line stage or labels). */
  const stream = ctx.openStream?.(source, config.max_message_bytes, 'syslog_datagram');

  /** Stop reading: the datagrams wait in the kernel's queue, senders wait when it is full. */
  function pause(): void {
    if (paused || !handle) return;
    paused = true;
    counts.pauses++;
    addon!.dgramPause(handle, true);
    void ctx.drained().then(() => {
      paused = false;
      if (handle) addon!.dgramPause(handle, false);
    });
  }

  function onBatch(data: Buffer, meta: Int32Array): void {
    if (stream) {
      for (let i = 0; i < meta.length; i += 4) {
        counts.messages++;
        counts.bytes += meta[i]!;
        if (meta[i + 3] === 1) counts.truncated++;
      }
      if (!stream.feedDatagrams(data, meta)) pause();
      return;
    }
    let off = 0;
    for (let i = 0; i < meta.length; i += 4) {
      const len = meta[i]!;
      const bytes = data.subarray(off, off + len);
      off += len;
      counts.messages++;
      counts.bytes += len;
      const cut = meta[i + 3] === 1;
      if (cut) counts.truncated++;
      // Parsed by the syslog input's rules (one that does not parse is kept as text, and counted).
      const r = syslogDraft(bytes, cut, source, Date.now());
      if (!r) continue;
      if (r.error !== undefined) {
        counts.parse_errors++;
        ctx.reject(r.error);
      }
      const draft = r.draft;
      const fields = (draft.fields ?? {}) as Record<string, string | number>;
      if (meta[i + 1]! > 0) fields.pid = meta[i + 1]!;
      if (meta[i + 2]! >= 0) fields.uid = meta[i + 2]!;
      draft.fields = fields;
      if (!ctx.emit(draft)) pause();
    }
  }

  return {
    async start() {
      try {
        addon = loadAddon();
        await mkdir(dirname(config.path), { recursive: true });
        handle = addon.dgramOpen(config.path, config.mode, config.max_message_bytes, onBatch);
      } catch (e) {
        throw new InputStartError(ctx.name, `cannot open the datagram socket ${config.path}`, e);
      }
      ctx.log.info(`listening on unix-dgram:${config.path}`);
    },
    async stop() {
      if (handle) addon!.dgramClose(handle);
      handle = undefined;
      await unlink(config.path).catch(() => {});
    },
    // parse_errors: the codec's rejects (kept as text) on the codec path.
    status: () => ({ path: config.path, paused, ...counts, parse_errors: stream ? stream.stats().rejected : counts.parse_errors }),
  };
}
