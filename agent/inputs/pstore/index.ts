/**
 * `type: pstore`: what the previous boot left in the persistent store (/sys/fs/pstore): the
 * kernel log of a panic or oops (`dmesg-*`), the console (`console-*`), user messages (`pmsg-*`).
 * At start each record becomes one FATAL entry with its whole text (newlines kept); once that
 * entry is finished downstream (stored, forwarded or spooled) the record is marked sent, so it is
 * sent exactly once however often the agent restarts — and, with `delete: true`, removed from
 * pstore to make room for the next crash (as systemd-pstore does).
 */
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { s, type Infer } from '../../../lib/schema/schema.ts';
import { Checkpoint } from '../../../entry/checkpoint.ts';
import { decodeUtf8 } from '../../../entry/sanitise.ts';
import type { Input, InputContext } from '../input.ts';
import { inputSchema } from '../common.ts';
import { SentRecords } from './sent.ts';

export const schema = inputSchema('The previous boot\'s panic, oops and console records from pstore (/sys/fs/pstore): one FATAL entry each, sent once.', {
  path: s.string({ default: '/sys/fs/pstore', doc: 'The pstore directory (where the kernel mounts it).' }),
  delete: s.bool({ default: false, doc: 'Remove a record from pstore once its entry is delivered (frees the backend\'s room for the next crash; systemd-pstore does the same).' }),
  kinds: s.array(s.string({ doc: '', pattern: /^[a-z0-9_-]{1,32}$/, patternDoc: 'a record kind such as dmesg, console, pmsg, ftrace, mce' }), {
    default: ['dmesg', 'console', 'pmsg', 'mce'],
    doc: 'Record kinds taken (the file name up to its first -: dmesg-ramoops-0 is dmesg).',
  }),
});
export type PstoreInputConfig = Infer<typeof schema> & { type: 'pstore' };

/** dmesg-ramoops-0 → kind dmesg, backend ramoops; dmesg-efi-171234567801001 → dmesg, efi. */
function describeRecord(name: string): { kind: string; backend: string } {
  const [kind = name, backend = ''] = name.replace(/\.enc\.z$/, '').split('-');
  return { kind, backend };
}

export function create(config: PstoreInputConfig, ctx: InputContext): Input {
  const sent = new SentRecords(ctx.stateDir);
  const counts = { records: 0, sent: 0, already_sent: 0, deleted: 0, errors: 0 };
  let lastError = '';

  async function scan(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(config.path)).sort();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      // No pstore on this machine (not mounted, no backend): nothing to send, not an error.
      if (code === 'ENOENT') return ctx.log.info(`${config.path} does not exist; no pstore records`);
      throw e;
    }
    const present = new Set(names);
    for (const name of names) {
      const { kind, backend } = describeRecord(name);
      if (!config.kinds.includes(kind)) continue;
      const file = join(config.path, name);
      try {
        const st = await stat(file);
        if (!st.isFile()) continue;
        let bytes = await readFile(file);
        const hash = process.getBuiltinModule('node:crypto').createHash('sha256').update(bytes).digest('hex').slice(0, 32);
        counts.records++;
        if (sent.has(name, hash)) {
          counts.already_sent++;
          continue;
        }
        let compressed = false;
        if (name.endsWith('.enc.z')) {
          // A record the kernel could not decompress itself: zlib, as ramoops writes it.
          try {
            bytes = process.getBuiltinModule('node:zlib').inflateSync(bytes); // zlib loads only for compressed records
          } catch {
            compressed = true;
          }
        }
        const text = compressed ? `(compressed record, ${bytes.length} bytes, base64) ${bytes.toString('base64')}` : decodeUtf8(bytes).replace(/\s+$/, '');
        const cp = new Checkpoint({ input: ctx.name, stream: `pstore:${name}`, offset: bytes.length }, () => {
          counts.sent++;
          sent.mark(name, hash, present);
          if (config.delete) {
            unlink(file).then(() => counts.deleted++, (e: Error) => ctx.log.warn(`cannot delete ${file}: ${e.message}`));
          }
        });
        ctx.emit({
          level: 'FATAL',
          message: text,
          multiline: true,
          timestamp: st.mtimeMs,
          source: `pstore:${file}`,
          fields: { event: `pstore_${kind}`, record: name, backend, bytes: bytes.length },
          checkpoint: cp,
        });
      } catch (e) {
        counts.errors++;
        lastError = `${file}: ${(e as Error).message}`;
        ctx.log.warn(lastError);
      }
    }
  }

  return {
    async start() {
      sent.load((m) => ctx.log.warn(m));
      await scan();
    },
    async stop() {},
    status: () => ({ path: config.path, ...counts, last_error: lastError }),
  };
}
