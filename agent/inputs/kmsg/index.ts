import { constants, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { s, type Infer } from '../../../lib/schema/schema.ts';
import type { EntryDraft } from '../../../entry/build.ts';
import { levelFromSyslogSeverity, type Level } from '../../../lib/level.ts';
import type { Input, InputContext } from '../input.ts';
import { inputSchema } from '../common.ts';
import { facilityName } from '../../buffer/syslog/priority.ts';
import { FragmentJoiner, parseKmsgRecord, RecordAssembler, type KmsgRecord } from './record.ts';
import { currentBootId, PositionStore } from './position.ts';
import { InputStartError } from '../errors.ts';
import { Checkpoint } from '../../../entry/checkpoint.ts';

export const schema = inputSchema('Kernel log records from /dev/kmsg (priority mapped to level, dictionary lines kept as fields, position kept across restarts). Module KERNEL unless `module` is set.', {
  path: s.string({ default: '/dev/kmsg', doc: 'The kmsg device, or a FIFO carrying records in the same format.' }),
  from: s.enum(['end', 'beginning'] as const, {
    default: 'end',
    doc: 'Where to start when no position was saved for this boot: end = only new records, beginning = everything still in the kernel ring. After a restart the saved position wins; after a reboot the new boot is read from its beginning.',
  }),
  poll_interval: s.duration({ min: 10, max: 60_000, default: 250, doc: 'How often to look for new records when there are none (Node has no poll() on character devices).' }),
});
export type KmsgInputConfig = Infer<typeof schema> & { type: 'kmsg' };

/** Kernel messages that mean the kernel itself failed are FATAL whatever their priority. */
const KERNEL_FAILURE = /^(?:Kernel panic|Oops[:\s]|BUG: |general protection fault|Unable to handle kernel)/;
const READ_BYTES = 16 * 1024; // larger than any record (the kernel's limit is 8 KiB with dictionary)
const SAVE_EVERY_MS = 1000;

function levelOf(r: KmsgRecord): Level {
  return KERNEL_FAILURE.test(r.message) ? 'FATAL' : levelFromSyslogSeverity(r.priority & 7);
}

export function create(config: KmsgInputConfig, ctx: InputContext): Input {
  const store = new PositionStore(ctx.stateDir);
  const bootId = currentBootId();
  // Kernel timestamps count from boot on the monotonic clock, like process.hrtime.
  const bootWallMs = Date.now() - Number(process.hrtime.bigint() / 1000n) / 1000;
  let fh: FileHandle | undefined;
  let kind = '';
  let stopped = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  /** Records at or below this seq were delivered before (saved position) or skipped (from: end). */
  let skipUpTo = -1;
  /** from: end with no saved position: drop what is already there, up to the first idle. */
  let skipBacklog = false;
  let lastSeq: number | undefined;
  let savedSeq: number | undefined;
  let lastSaveAt = 0;
  let records = 0;
  let skipped = 0;
  let missed = 0;
  let overruns = 0;
  let parseErrors = 0;
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

  const joiner = new FragmentJoiner((r) => deliver(r));
  const assembler = new RecordAssembler((lines) => {
    const parsed = parseKmsgRecord(lines);
    if (!parsed.ok) {
      parseErrors++;
      ctx.reject(parsed.error);
      return;
    }
    const r = parsed.record;
    if (lastSeq !== undefined && r.seq > lastSeq + 1) missed += r.seq - lastSeq - 1;
    lastSeq = r.seq;
    if (r.seq <= skipUpTo || skipBacklog) {
      skipped++;
      return;
    }
    joiner.push(r);
  });

  function deliver(r: KmsgRecord): void {
    records++;
    const fields: Record<string, string | number> = { facility: facilityName(r.priority >> 3), seq: r.seq, kernel_ts_usec: r.tsUsec };
    if (r.flags && r.flags !== '-') fields.flags = r.flags;
    for (const [k, v] of Object.entries(r.extra)) fields[k.toLowerCase()] = v;
    const cp = new Checkpoint({ input: ctx.name, stream: 'kmsg', offset: r.seq }, finished);
    pending.push(cp);
    const draft: EntryDraft = {
      timestamp: new Date(bootWallMs + r.tsUsec / 1000),
      level: levelOf(r),
      module: config.module ?? 'KERNEL',
      message: r.message,
      source: `kmsg:${config.path}`,
      fields,
      checkpoint: cp,
    };
    if (!ctx.emit(draft) && !blocked) blocked = ctx.drained().then(() => (blocked = undefined));
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

  /** Every record up to this seq is finished downstream (or skipped, or not an entry at all). */
  function finishedSeq(): number | undefined {
    if (lastSeq === undefined) return undefined;
    // While skipping up to a saved position, lastSeq is still below it.
    const read = Math.max(lastSeq, skipUpTo);
    return pendingHead < pending.length ? Math.max(skipUpTo, pending[pendingHead]!.offset - 1) : read;
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

  /** Nothing to read now: complete what is pending, save the position, wait a little. */
  async function idle(): Promise<void> {
    assembler.flush();
    joiner.flush();
    skipBacklog = false;
    await savePosition(false);
    if (stopped) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, config.poll_interval);
    });
    wake = undefined;
  }

  const buf = Buffer.alloc(READ_BYTES);
  const decoder = new StringDecoder('utf8');

  /**
   * from: end: reads (and skips) what is there now before start() returns, so that every record
   * written after the agent said it started is delivered. (Node has no lseek(SEEK_END).)
   */
  async function skipToEnd(handle: FileHandle): Promise<void> {
    for (;;) {
      let n: number;
      try {
        n = (await handle.read(buf, 0, buf.length, null)).bytesRead;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EPIPE') continue;
        break; // EAGAIN: at the end
      }
      if (n === 0) break;
      assembler.push(decoder.write(buf.subarray(0, n)));
      if (kind === 'device') assembler.flush();
    }
    assembler.flush();
    joiner.flush();
    skipBacklog = false;
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
      assembler.push(decoder.write(buf.subarray(0, n)));
      // The device returns exactly one record per read: it is complete now.
      if (kind === 'device') assembler.flush();
      // A kernel that never falls silent still gets its position saved (at most once a second).
      await savePosition(false);
    }
  }

  return {
    async start() {
      const saved = await store.load();
      if (saved && saved.boot_id === bootId) {
        skipUpTo = saved.seq;
        lastSeq = saved.seq; // so that records lost while we were down show up as missed
      }
      else if (!saved && config.from === 'end') skipBacklog = true;
      savedSeq = saved?.boot_id === bootId ? saved.seq : undefined;
      try {
        fh = await open(config.path, constants.O_RDONLY | constants.O_NONBLOCK);
      } catch (e) {
        throw new InputStartError(ctx.name, `cannot open ${config.path}`, e);
      }
      const st: Stats = await fh.stat();
      kind = st.isCharacterDevice() ? 'device' : st.isFIFO() ? 'fifo' : 'file';
      if (skipBacklog) await skipToEnd(fh);
      loop = run(fh);
      ctx.log.debug(`reading ${config.path} (${kind}) ${skipUpTo >= 0 ? `after seq ${skipUpTo}` : `from the ${skipBacklog ? 'end' : 'beginning'}`}`);
    },
    async stop() {
      stopped = true;
      signalStop();
      if (timer) clearTimeout(timer);
      wake?.();
      await loop;
      assembler.flush();
      joiner.flush();
      await savePosition(true);
      await fh?.close();
    },
    status: () => ({
      path: config.path,
      kind,
      records,
      last_seq: lastSeq ?? -1,
      in_flight: pending.length - pendingHead,
      skipped,
      missed,
      overruns,
      parse_errors: parseErrors,
    }),
  };
}
