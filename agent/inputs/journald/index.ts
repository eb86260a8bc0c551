/**
 * `type: journald`: follows the systemd journal through `journalctl --follow --output=json` (as
 * Vector's journald source does: the journal's own reader, no libsystemd binding). PRIORITY gives
 * the level, SYSLOG_IDENTIFIER (else _COMM) the module, __REALTIME_TIMESTAMP the time, and the
 * journal's other fields are kept. The cursor of the last entry finished downstream is kept with
 * the other inputs' positions, so a restart resumes after it (journal-cursor).
 */
import type { ChildProcess } from 'node:child_process';
import { s, type Infer } from '../../../lib/schema/schema.ts';
import { levelFromSyslogSeverity } from '../../../lib/level.ts';
import { Checkpoint } from '../../../entry/checkpoint.ts';
import type { EntryDraft } from '../../../entry/build.ts';
import type { Input, InputContext } from '../input.ts';
import { inputSchema } from '../common.ts';
import { LineSplitter } from '../../../lib/line-splitter.ts';
import { CursorStore } from './cursor.ts';

export const schema = inputSchema('The systemd journal, followed with journalctl (cursor kept across restarts).', {
  journalctl: s.string({ default: 'journalctl', doc: 'The journalctl program (a path, or a name looked up in PATH).' }),
  directory: s.optional(s.string({ doc: '' }), { doc: 'Read the journal files in this directory (journalctl --directory) instead of the system journal, e.g. files from systemd-journal-remote.' }),
  file: s.optional(s.string({ doc: '' }), { doc: 'Read this journal file (journalctl --file; a glob is allowed).' }),
  units: s.array(s.string({ doc: '', minLength: 1 }), { default: [], doc: 'Only these systemd units (journalctl --unit each); [] = all.' }),
  matches: s.array(s.string({ doc: '', pattern: /^[A-Z0-9_]+=.*$/, patternDoc: 'FIELD=value, e.g. _TRANSPORT=kernel' }), { default: [], doc: 'journalctl field matches (FIELD=value), all of which must hold.' }),
  read_from: s.enum(['beginning', 'end'] as const, { default: 'end', doc: 'Where to start when no cursor was kept yet: the whole journal, or only new entries.' }),
  commit_interval: s.duration({ min: 10, max: 600_000, default: 1000, doc: 'How often the cursor is written (and always at stop).' }),
  restart_delay: s.duration({ min: 10, max: 600_000, default: 1000, doc: 'Wait before restarting journalctl after it exited.' }),
  max_line_bytes: s.size({ min: 1024, max: 64 * 1024 * 1024, default: 8 * 1024 * 1024, doc: 'Longest journal entry (JSON) kept; a longer one is skipped and counted.' }),
});
export type JournaldInputConfig = Infer<typeof schema> & { type: 'journald' };

/** Journal fields that are the entry itself or journal bookkeeping, not worth a field. */
const NOT_FIELDS = new Set(['MESSAGE', 'PRIORITY', '__CURSOR', '__REALTIME_TIMESTAMP', '__MONOTONIC_TIMESTAMP', '__SEQNUM', '__SEQNUM_ID']);

/** journalctl writes a binary field (invalid UTF-8, control bytes) as an array of byte values. */
function fieldText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return Buffer.from(v as number[]).toString('utf8');
  // A field that occurs several times in one entry: an array of values.
  if (Array.isArray(v)) return v.map(fieldText).filter((x) => x !== undefined).join('\n');
  return undefined;
}

export function draftFromJournal(o: Record<string, unknown>, source: string): EntryDraft {
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (NOT_FIELDS.has(k)) continue;
    const t = fieldText(v);
    if (t !== undefined) fields[k] = t;
  }
  const draft: EntryDraft = { message: fieldText(o.MESSAGE) ?? '', source, fields };
  const pri = Number(fieldText(o.PRIORITY));
  if (Number.isInteger(pri) && pri >= 0 && pri <= 7) draft.level = levelFromSyslogSeverity(pri);
  const ident = fieldText(o.SYSLOG_IDENTIFIER) ?? fieldText(o._COMM);
  if (ident) draft.module = ident;
  const us = Number(fieldText(o.__REALTIME_TIMESTAMP));
  if (Number.isFinite(us) && us > 0) draft.timestamp = Math.floor(us / 1000);
  if ((draft.message as string).includes('\n')) draft.multiline = true;
  return draft;
}

export function create(config: JournaldInputConfig, ctx: InputContext): Input {
  const store = new CursorStore(ctx.stateDir, config.commit_interval);
  const source = config.directory ? `journald:${config.directory}` : config.file ? `journald:${config.file}` : 'journald';
  let child: ChildProcess | undefined;
  let stopped = false;
  let restartTimer: NodeJS.Timeout | undefined;
  /** Cursor of the last entry emitted (not necessarily finished): where a restarted journalctl resumes. */
  let lastEmitted: string | undefined;
  const counts = { entries: 0, bad_lines: 0, restarts: 0, last_error: '' };
  let seq = 0;

  function args(): string[] {
    const a = ['--follow', '--output=json', '--no-pager', '--quiet'];
    if (config.directory) a.push(`--directory=${config.directory}`);
    if (config.file) a.push(`--file=${config.file}`);
    for (const u of config.units) a.push(`--unit=${u}`);
    const after = lastEmitted ?? store.committed;
    if (after) a.push(`--after-cursor=${after}`);
    else a.push(config.read_from === 'beginning' ? '--no-tail' : '--lines=0');
    a.push(...config.matches);
    return a;
  }

  function onLine(line: Buffer, cut: boolean): void {
    if (line.length === 0) return;
    if (cut) {
      counts.bad_lines++;
      return ctx.reject('journal entry over max_line_bytes');
    }
    let o: unknown;
    try {
      o = JSON.parse(line.toString('utf8'));
    } catch (e) {
      counts.bad_lines++;
      return ctx.reject(`journalctl printed a line that is not JSON: ${(e as Error).message}`);
    }
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return;
    const rec = o as Record<string, unknown>;
    const draft = draftFromJournal(rec, source);
    const cursor = typeof rec.__CURSOR === 'string' ? rec.__CURSOR : undefined;
    if (cursor) {
      lastEmitted = cursor;
      draft.checkpoint = new Checkpoint({ input: ctx.name, stream: 'journal', offset: ++seq }, store.track(cursor));
    }
    counts.entries++;
    if (!ctx.emit(draft) && child?.stdout && !child.stdout.isPaused()) {
      const out = child.stdout;
      out.pause();
      void ctx.drained().then(() => out.resume());
    }
  }

  function launch(): void {
    const splitter = new LineSplitter(config.max_line_bytes, onLine);
    const c = process.getBuiltinModule('node:child_process').spawn(config.journalctl, args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    child = c;
    let stderr = '';
    let spawnError: string | undefined;
    c.stdout!.on('data', (chunk: Buffer) => splitter.push(chunk));
    c.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    // Could not be started (missing, not executable): that reason, not the exit code, is the news.
    c.on('error', (e) => (spawnError = `${config.journalctl}: ${e.message}`));
    c.on('close', (code, signal) => {
      splitter.end();
      if (child === c) child = undefined;
      if (stopped) return;
      counts.restarts++;
      counts.last_error = spawnError ?? `journalctl exited (${code ?? signal})${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`;
      ctx.log.warn(`${counts.last_error}; restarting in ${config.restart_delay} ms`);
      restartTimer = setTimeout(launch, config.restart_delay);
    });
  }

  return {
    async start() {
      store.load();
      launch();
      ctx.log.info(`following the journal${config.directory ? ` in ${config.directory}` : config.file ? ` in ${config.file}` : ''}${store.committed ? ' after the kept cursor' : ` from the ${config.read_from}`}`);
    },
    async stop() {
      stopped = true;
      clearTimeout(restartTimer);
      const c = child;
      if (c) {
        const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
        c.kill('SIGTERM');
        await closed;
      }
      // Entries still in flight finish later (drain): write the cursor now and again when they do.
      store.closing = true;
      store.flush();
    },
    status: () => ({ source, cursor: store.committed ?? '', in_flight: store.inFlight, cursor_writes: store.writes, ...counts }),
  };
}
