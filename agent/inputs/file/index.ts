/**
 * The `file` input: tails files (a path or a glob), follows rotation by inode (mv + recreate) and
 * by size (copytruncate), and commits each file's position only over lines that are finished
 * downstream, so a restart neither repeats nor skips lines (docs/guarantees.md).
 */
import { glob, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { s, type Infer } from '../../../lib/schema/schema.ts';
import { recoveredPosition } from '../../../entry/checkpoint.ts';
import type { Input, InputContext } from '../input.ts';
import { inputSchema } from '../common.ts';
import { OffsetStore } from './offsets.ts';
import { fileKey, FileTailer, fingerprint } from './tailer.ts';

export const schema = inputSchema('Tails files: follows rotation (mv + recreate by inode, copytruncate by size) and commits positions so that a restart neither repeats nor skips lines.', {
  path: s.string({ doc: 'File to follow, or a glob (`*`, `?`, `[…]`, `**`) matching several; a glob that also matches rotated names (app.log*) lets a restart finish a file rotated while the agent was down.', minLength: 1 }),
  read_from: s.enum(['beginning', 'end'] as const, {
    default: 'beginning',
    doc: 'Where to start in the files found at the very first start (no committed positions yet). Files appearing later, also while the agent was down, are read from the beginning.',
  }),
  poll_interval: s.duration({ min: 10, max: 60_000, default: 250, doc: 'How often files at their end are checked for growth, rotation and new matches.' }),
  rotate_wait: s.duration({ min: 0, max: 3_600_000, default: 5000, doc: 'How long a file rotated away (no longer at the path) is still followed for late writes before it is closed.' }),
  max_line_bytes: s.size({ min: 64, max: 64 * 1024 * 1024, default: 1024 * 1024, doc: 'Longest line kept; the rest of a longer line is discarded and the entry marked truncated.' }),
  commit_interval: s.duration({ min: 10, max: 600_000, default: 1000, doc: 'How often committed positions are written to <data_dir>/inputs/<name>/offsets.json (and always on exit).' }),
  fsync: s.bool({ default: true, doc: 'fsync the positions file on each write (survives power loss).' }),
});
export type FileInputConfig = Infer<typeof schema> & { type: 'file' };

const GLOB_CHARS = /[*?[\]{}]/;
/** Bytes read from one file before the others (and the rotation scan) get a turn. */
const ROUND_BUDGET = 1024 * 1024;

export function create(config: FileInputConfig, ctx: InputContext): Input {
  const store = new OffsetStore(ctx.stateDir, config.commit_interval, config.fsync);
  /** In the order files were opened: older files are read to their end before newer ones. */
  const tailers: FileTailer[] = [];
  let stopped = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let startup = true;
  let firstRun = true;
  let rotations = 0;
  let errors = 0;
  let lastError = '';

  const events = {
    committed(t: FileTailer) {
      store.set(t.key, { path: t.path, offset: t.committed, fp: t.fp, fpBytes: t.fpBytes });
    },
  };

  /** Where to start reading a file identity: committed or spooled position, else read_from. */
  async function offsetFor(key: string, fh: FileHandle, size: number): Promise<number> {
    const rec = store.get(key);
    let own: number | undefined;
    if (rec) {
      const same = rec.fpBytes === 0 || (size >= rec.fpBytes && (await fingerprint(fh, rec.fpBytes)) === rec.fp);
      if (same) own = rec.offset;
      else ctx.log.info(`${rec.path}: a different file now has the same inode; reading it from the start`);
    }
    const spooled = rec && own === undefined ? undefined : recoveredPosition(ctx.name, key);
    let start = Math.max(own ?? -1, spooled ?? -1);
    // read_from applies to the very first run only: a file that appeared while the agent was down is new data.
    if (start < 0) start = startup && firstRun && config.read_from === 'end' ? size : 0;
    if (start > size) {
      ctx.log.warn(`file ${key} is shorter (${size}) than its committed position (${start}); reading it from the start`);
      start = 0;
    }
    return start;
  }

  async function matches(): Promise<string[]> {
    if (!GLOB_CHARS.test(config.path)) return [config.path];
    const out: string[] = [];
    for await (const p of glob(config.path)) out.push(p);
    return out.sort();
  }

  /** Finds new files and rotations; closes rotated-away files that are done. */
  async function scan(): Promise<void> {
    const seen = new Set<string>();
    const found: { path: string; st: Stats }[] = [];
    for (const path of await matches()) {
      try {
        const st = await stat(path);
        if (st.isFile()) found.push({ path, st });
      } catch {
        // Gone between glob and stat.
      }
    }
    // Older files first (known ones, then by modification time), so a file rotated away is read before its successor.
    const known = (st: Stats) => (store.get(fileKey(st)) ? 0 : 1);
    found.sort((a, b) => known(a.st) - known(b.st) || a.st.mtimeMs - b.st.mtimeMs || a.path.localeCompare(b.path));
    for (const { path, st } of found) {
      const key = fileKey(st);
      seen.add(key);
      const t = tailers.find((x) => x.key === key);
      if (t) {
        t.path = path;
        t.orphanedSince = undefined;
        continue;
      }
      try {
        const nt = await FileTailer.open(path, offsetFor, ctx, config.max_line_bytes, events);
        if (tailers.some((x) => x.key === nt.key)) {
          await nt.close();
          continue;
        }
        if (tailers.some((x) => x.path === path)) rotations++;
        tailers.push(nt);
        ctx.log.debug(`following ${path} (${nt.key}) from offset ${nt.offset}`);
      } catch (e) {
        errors++;
        lastError = `${path}: ${(e as Error).message}`;
      }
    }
    const now = Date.now();
    for (const t of [...tailers]) {
      if (seen.has(t.key)) continue;
      t.orphanedSince ??= now;
    }
    startup = false;
  }

  async function closeTailer(t: FileTailer): Promise<void> {
    t.flushPartial();
    tailers.splice(tailers.indexOf(t), 1);
    await t.close();
    // Forget it once everything read from it is finished (else the position stays for a restart).
    if (t.inFlight === 0) store.delete(t.key);
    ctx.log.debug(`closed ${t.path} (${t.key}) after rotation`);
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => ((wake = undefined), resolve()), ms);
      wake = () => (clearTimeout(timer), (wake = undefined), resolve());
    });
  }

  async function run(): Promise<void> {
    while (!stopped) {
      try {
        await scan();
        let busy = false;
        for (const t of [...tailers]) {
          if (stopped) break;
          const r = await t.read(ROUND_BUDGET);
          if (r === 'paused') {
            await ctx.drained();
            busy = true;
            break;
          }
          if (r === 'more') {
            // Older files first: keeps lines of a rotated file ahead of its successor's.
            busy = true;
            break;
          }
          if (t.orphanedSince !== undefined && Date.now() - t.orphanedSince >= config.rotate_wait) await closeTailer(t);
        }
        if (!busy && !stopped) await sleep(config.poll_interval);
      } catch (e) {
        errors++;
        lastError = (e as Error).message;
        ctx.log.warn(`file input: ${lastError}`);
        await sleep(config.poll_interval);
      }
    }
  }

  return {
    async start() {
      firstRun = !store.load((m) => ctx.log.warn(m));
      await scan();
      if (tailers.length === 0) ctx.log.info(`no file matches ${config.path} yet; waiting for one`);
      loop = run();
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      for (const t of tailers) await t.close();
      // Lines still in flight finish later (drain, spool); their positions are written on exit.
      store.close();
    },
    status: () => ({ path: config.path, files: tailers.map((t) => t.status()), rotations, errors, last_error: lastError, position_writes: store.writes }),
  };
}
