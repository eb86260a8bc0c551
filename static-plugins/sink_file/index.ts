import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { definePlugin, type PluginContext, type SinkPlugin } from '../../agent/plugins/types.ts';
import { s, type Infer } from '../../lib/schema/schema.ts';
import { consoleLine, entryText, textLayout, textLayoutFields } from '../../entry/render.ts';
import { encodeEntry } from '../../entry/codec.ts';
import type { LogEntry } from '../../entry/entry.ts';
import { forEachRecord, type EntryRecords } from '../../agent/buffer/records.ts';
import { RecordView } from '../../agent/buffer/record-view.ts';
import { rotate } from '../../lib/rotate.ts';
import { info } from './info.generated.ts';

const configSchema = s.object(
  {
    path: s.string({ default: '/var/log/logloom/logloom.log', doc: 'File to append to.' }),
    format: s.enum(['text', 'json'] as const, { default: 'text', doc: 'text = the console format without colour; json = one entry per line (NDJSON).' }),
    max_bytes: s.size({ min: 1024, max: 1024 ** 4, default: 10 * 1024 * 1024, doc: 'Rotate when the file would grow past this size.' }),
    max_backups: s.int({ min: 0, max: 10_000, default: 5, doc: 'Rotated files kept.' }),
    rotate_mode: s.enum(['numbered', 'timestamp'] as const, { default: 'numbered', doc: 'numbered: x.log.1…N; timestamp: x.log.YYYYMMDD-HHMMSS.' }),
    fsync: s.bool({ default: false, doc: 'fsync after each batch (durable, slower, wears flash).' }),
    ...textLayoutFields,
  },
  { doc: 'sink_file: appends entries to a file with size-based rotation; SIGHUP reopens it.' },
);
type Config = Infer<typeof configSchema>;

/**
 * Appends whole lines, so a line is never split across files; rotation happens before the
 * write that would pass max_bytes. SIGHUP (reopen) reopens the path
 * for external logrotate.
 */
export default definePlugin({
  info,
  configSchema,
  create(): SinkPlugin {
    let ctx: PluginContext;
    let config: Config;
    let fh: FileHandle | undefined;
    let size = 0;
    let rotations = 0;

    async function openFile() {
      await mkdir(dirname(config.path), { recursive: true });
      fh = await open(config.path, 'a', 0o640);
      size = (await fh.stat()).size;
    }

    async function closeFile() {
      const f = fh;
      fh = undefined;
      await f?.close();
    }

    const line = (e: LogEntry) => (config.format === 'json' ? encodeEntry(e) : consoleLine(e, entryText(e, (k, a) => ctx.render(k, a)), false, textLayout(config)));

    /** One line per entry, '\n' included: the record's own NDJSON bytes for json, the text format through a lazy view. */
    function recordLines(records: EntryRecords): Buffer[] {
      const out: Buffer[] = [];
      const f = records.frames;
      forEachRecord(f, (start, end) => {
        if (config.format === 'json') {
          const b = Buffer.allocUnsafe(end - start + 1);
          f.copy(b, 0, start, end);
          b[end - start] = 0x0a;
          out.push(b);
        } else out.push(Buffer.from(line(new RecordView(f, start, end)) + '\n', 'utf8'));
      });
      return out;
    }

    return {
      async init(c) {
        ctx = c;
        config = c.config as Config;
        await openFile();
      },
      async flush(entries) {
        await append(entries.map((e) => Buffer.from(line(e) + '\n', 'utf8')));
      },
      // The records path: json lines are the records' bytes (no re-encode); text goes through lazy views.
      async flushRecords(records: EntryRecords) {
        await append(recordLines(records));
      },
      async reopen() {
        await closeFile();
        await openFile();
      },
      async shutdown() {
        await closeFile();
      },
      status: () => ({ path: config.path, bytes: size, rotations }),
    };

    async function append(lines: readonly Buffer[]): Promise<void> {
      if (!fh) await openFile();
      // Write line-aligned chunks; rotate before a chunk that would pass max_bytes, so no file
      // grows past it (except a single line longer than max_bytes, written alone) and no line
      // is split across files.
      let chunk: Buffer[] = [];
      let chunkBytes = 0;
      const writeChunk = async () => {
        if (chunkBytes === 0) return;
        await fh!.write(chunk.length === 1 ? chunk[0]! : Buffer.concat(chunk, chunkBytes));
        size += chunkBytes;
        chunk = [];
        chunkBytes = 0;
      };
      for (const data of lines) {
        if (size + chunkBytes + data.length > config.max_bytes && size + chunkBytes > 0) {
          await writeChunk();
          if (size > 0) {
            await closeFile();
            await rotate(config.path, config.rotate_mode, config.max_backups);
            rotations++;
            await openFile();
          }
        }
        chunk.push(data);
        chunkBytes += data.length;
      }
      await writeChunk();
      if (config.fsync) await fh!.sync();
    }
  },
});
