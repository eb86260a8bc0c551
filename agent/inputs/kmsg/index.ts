import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { s, type Infer } from '../../../lib/schema/schema.ts';
import type { Input, InputContext } from '../input.ts';
import { inputSchema } from '../common.ts';
import { currentBootId, PositionStore } from './position.ts';
import { InputStartError } from '../errors.ts';
import { Checkpoint } from '../../../entry/checkpoint.ts';
import type { NoteAcks, RawStream } from '../../buffer/fast-ingest.ts';
import type { KmsgCodecOptions } from '../../buffer/kmsg/framer.ts';
import { DraftStream } from '../draft-stream.ts';

export const schema = inputSchema('Kernel log records from /dev/kmsg (priority mapped to level, dictionary lines kept as fields, position kept across restarts). Module KERNEL unless `module` is set.', {
  path: s.string({ default: '/dev/kmsg', doc: 'The kmsg device, or a FIFO carrying records in the same format.' }),
  from: s.enum(['end', 'beginning'] as const, {
    default: 'end',
    doc: 'Where to start when no position was saved for this boot: end = only new records, beginning = everything still in the kernel ring. After a restart the saved position wins; after a reboot the new boot is read from its beginning.',
  }),
  poll_interval: s.duration({ min: 10, max: 60_000, default: 250, doc: 'How often to look for new records when there are none (Node has no poll() on character devices).' }),
});
export type KmsgInputConfig = Infer<typeof schema> & { type: 'kmsg' };

/**
 * The kernel's log. The bytes read go to the codec, format kmsg (native/addon/src/kmsg.c, its JS
 * twin agent/buffer/kmsg/), which assembles the records (header, dictionary lines, pre-4.9
 * fragments), parses them into entries, counts bad headers, gaps and skipped records, and puts an
 * 'S' note with its seq before each entry: the fast path (ctx.openStream) takes the entries into the
 * ring with the checkpoint that note gives (FastIngest), and when the agent needs drafts (a line
 * stage or labels) the same codec's entries become drafts for emit (DraftStream). Either way this
 * input only reads, tracks positions and saves them.
 */
const READ_BYTES = 16 * 1024; // larger than any record (the kernel's limit is 8 KiB with dictionary)
/** The most a record keeps (header and dictionary lines): the kernel's are far smaller; a longer one (a FIFO's) is cut. */
const MAX_RECORD_BYTES = 64 * 1024;
const SAVE_EVERY_MS = 1000;

export function create(config: KmsgInputConfig, ctx: InputContext): Input {
  const store = new PositionStore(ctx.stateDir);
  const bootId = currentBootId();
  // Kernel timestamps count from boot on the monotonic clock, like process.hrtime.
  const bootWallMs = Date.now() - Number(process.hrtime.bigint() / 1000n) / 1000;
  const source = `kmsg:${config.path}`;
  let fh: FileHandle | undefined;
  let kind = '';
  let stopped = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  /** The records' codec stream (opened by start). */
  let stream: RawStream | undefined;
  /** from: end with no saved position: what reading (and skipping) the backlog counted. */
  const backlog = { skipped: 0, missed: 0, rejected: 0 };
  /** Records at or below this seq were delivered before (saved position) or skipped (from: end). */
  let skipUpTo = -1;
  let savedSeq: number | undefined;
  let lastSaveAt = 0;
  let records = 0;
  let overruns = 0;
  let blocked: Promise<void> | undefined;
  /**
   * Delivered records not yet finished downstream, in seq order: each record carries its
   * checkpoint's token through the buffer to the sinks, and the saved position never passes the
   * first unfinished one, so a restart repeats nothing delivered and skips nothing that was not.
   */
  let pending: Checkpoint[] = [];
  let pendingHead = 0;
  let saving: Promise<void> = Promise.resolve();
  let signalStop!: () => void;
  const stopping = new Promise<void>((resolve) => (signalStop = resolve));

  /** The codec's 'S' note of each entry: its checkpoint, at the record's seq. */
  const notes: NoteAcks = {
    position(seq) {
      records++;
      const cp = new Checkpoint({ input: ctx.name, stream: 'kmsg', offset: seq }, finished);
      pending.push(cp);
      return cp;
    },
  };

  /** A codec stream of the records: the fast path, or drafts for emit when the agent needs them. */
  function openRecords(kmsg: KmsgCodecOptions, acks?: NoteAcks): RawStream {
    return (
      ctx.openStream?.(source, MAX_RECORD_BYTES, 'kmsg', acks ? { notes: acks } : undefined, { kmsg }) ??
      new DraftStream(ctx, { maxLineBytes: MAX_RECORD_BYTES, maxMessageBytes: MAX_RECORD_BYTES, minLevel: 'DEBUG', defaultLevel: config.default_level, defaultModule: 'KERNEL', node: '', source, format: 'kmsg', kmsg }, acks)
    );
  }

  /** false from the stream: read nothing more until it drains (the kernel ring keeps the records). */
  function pauseUnless(ok: boolean): void {
    if (!ok && !blocked) blocked = stream!.drained().then(() => (blocked = undefined));
  }

  /** Records finish mostly in order: the finished prefix leaves pending. */
  function finished(): void {
    while (pendingHead < pending.length && pending[pendingHead]!.done) pendingHead++;
    if (pendingHead > 4096 && pendingHead * 2 > pending.length) {
      pending = pending.slice(pendingHead);
      pendingHead = 0;
    }
    // After stop the last records finish while the pipeline drains: their position is saved then.
    if (stopped) void savePosition(true);
  }

  /**
   * Every record up to this seq is finished downstream (or skipped, or not an entry at all); never
   * past a fragment the codec holds back to join the next ones to.
   */
  function finishedSeq(): number | undefined {
    const c = stream?.formatCounters();
    if (!c || !(c.last_seq! >= 0)) return undefined;
    let seq = pendingHead < pending.length ? pending[pendingHead]!.offset - 1 : c.last_seq!;
    if (c.held_seq! >= 0) seq = Math.min(seq, c.held_seq! - 1);
    // While skipping up to a saved position, the last seq read is still below it.
    return Math.max(seq, skipUpTo);
  }

  function savePosition(force: boolean): Promise<void> {
    // One save at a time, so that positions are written in the order they were reached.
    saving = saving.then(async () => {
      const seq = finishedSeq();
      if (seq === undefined || seq < 0 || seq === savedSeq || (!force && Date.now() - lastSaveAt < SAVE_EVERY_MS)) return;
      lastSaveAt = Date.now();
      try {
        await store.save({ boot_id: bootId, seq });
        savedSeq = seq;
      } catch (e) {
        ctx.log.warn(`cannot save position to ${store.path}: ${(e as Error).message}`);
      }
    });
    return saving;
  }

  /** Nothing to read now: the codec completes what it holds, the position is saved, wait a little. */
  async function idle(): Promise<void> {
    pauseUnless(stream!.end());
    await savePosition(false);
    if (stopped) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, config.poll_interval);
    });
    wake = undefined;
  }

  const buf = Buffer.alloc(READ_BYTES);

  /**
   * from: end: reads (and skips, in a codec of its own that skips every record) what is there now
   * before start() returns, so that every record written after the agent said it started is
   * delivered; returns the last seq read (-1: none). (Node has no lseek(SEEK_END).)
   */
  async function skipBacklog(handle: FileHandle, kmsg: KmsgCodecOptions): Promise<number> {
    const skipping = openRecords({ ...kmsg, skipAll: true });
    for (;;) {
      let n: number;
      try {
        n = (await handle.read(buf, 0, buf.length, null)).bytesRead;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') continue;
        break; // EAGAIN: at the end
      }
      if (n === 0) break;
      skipping.feed(buf.subarray(0, n));
    }
    skipping.end();
    await skipping.settled();
    const c = skipping.formatCounters();
    backlog.skipped = c.skipped ?? 0;
    backlog.missed = c.missed ?? 0;
    backlog.rejected = skipping.stats().rejected;
    return c.last_seq ?? -1;
  }

  async function run(handle: FileHandle): Promise<void> {
    while (!stopped) {
      // Backpressure: read nothing more until the pipeline has room (the kernel ring keeps the records).
      if (blocked) await Promise.race([blocked, stopping]);
      if (stopped) break;
      let n: number;
      try {
        n = (await handle.read(buf, 0, buf.length, null)).bytesRead;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN') {
          await idle();
          continue;
        }
        if (code === 'EPIPE') {
          // The ring overwrote records we had not read yet; the next read returns the oldest kept one.
          overruns++;
          continue;
        }
        ctx.log.error(`read ${config.path}: ${(e as Error).message}`);
        await idle();
        continue;
      }
      if (n === 0) {
        await idle(); // a FIFO with no writer
        continue;
      }
      // From the device each read is one whole record (the codec completes it with the read).
      pauseUnless(stream!.feed(buf.subarray(0, n)));
      // A kernel that never falls silent still gets its position saved (at most once a second).
      await savePosition(false);
    }
  }

  return {
    async start() {
      const saved = await store.load();
      const sameBoot = saved !== undefined && saved.boot_id === bootId;
      if (sameBoot) skipUpTo = saved.seq;
      savedSeq = sameBoot ? saved.seq : undefined;
      try {
        fh = await open(config.path, constants.O_RDONLY | constants.O_NONBLOCK);
      } catch (e) {
        throw new InputStartError(ctx.name, `cannot open ${config.path}`, e);
      }
      const st: Stats = await fh.stat();
      kind = st.isCharacterDevice() ? 'device' : st.isFIFO() ? 'fifo' : 'file';
      const kmsg: KmsgCodecOptions = { bootWallMs, module: config.module ?? 'KERNEL', whole: kind === 'device' };
      const fromEnd = !saved && config.from === 'end';
      if (fromEnd) skipUpTo = await skipBacklog(fh, kmsg);
      // Records up to skipUpTo are skipped by the codec, and gaps counted from it (records lost while we were down).
      stream = openRecords({ ...kmsg, lastSeq: skipUpTo }, notes);
      loop = run(fh);
      ctx.log.debug(`reading ${config.path} (${kind}) ${sameBoot ? `after seq ${skipUpTo}` : `from the ${fromEnd ? 'end' : 'beginning'}`}`);
    },
    async stop() {
      stopped = true;
      signalStop();
      if (timer) clearTimeout(timer);
      wake?.();
      await loop;
      stream?.end();
      await stream?.settled();
      await savePosition(true);
      await fh?.close();
    },
    status: () => {
      const c = stream?.formatCounters() ?? {};
      return {
        path: config.path,
        kind,
        records,
        last_seq: c.last_seq ?? -1,
        in_flight: pending.length - pendingHead,
        skipped: backlog.skipped + (c.skipped ?? 0),
        missed: backlog.missed + (c.missed ?? 0),
        overruns,
        parse_errors: backlog.rejected + (stream?.stats().rejected ?? 0),
      };
    },
  };
}
