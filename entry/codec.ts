import type { LogEntry } from './entry.ts';
import type { EntryDraft } from './build.ts';
import { draftFromJsonLine } from './ndjson.ts';

/** Entries travel as one JSON object per line (NDJSON) on sockets, in files and to plugins. */
export function encodeEntry(entry: LogEntry): string {
  return JSON.stringify(entry);
}

export type DraftResult = { ok: true; draft: EntryDraft } | { ok: false; error: string };

/**
 * Parses one NDJSON line into a draft; plain text (not starting with `{` after spaces and tabs)
 * is a message. The rules are ndjson.ts's, the same as the C codec's.
 */
export function parseLine(line: string): DraftResult {
  let k = 0;
  while (k < line.length && (line.charCodeAt(k) === 32 || line.charCodeAt(k) === 9)) k++;
  if (line.charCodeAt(k) !== 123 /* { */) return { ok: true, draft: { message: line } };
  return draftFromJsonLine(Buffer.from(line, 'utf8'));
}

/**
 * The fields of a received JSON object that can make an entry (one place for every peer:
 * NDJSON lines, plugin results, batches at the aggregator). `node` and `seq` are never taken
 * from the peer: they are the receiver's to set.
 */
export function draftFromObject(o: Record<string, unknown>): EntryDraft {
  return {
    timestamp: typeof o.timestamp === 'string' || typeof o.timestamp === 'number' ? o.timestamp : undefined,
    level: typeof o.level === 'string' ? o.level : undefined,
    module: typeof o.module === 'string' ? o.module : undefined,
    message: o.message ?? o.msg,
    lang_key: o.lang_key,
    args: o.args,
    source: typeof o.source === 'string' ? o.source : undefined,
    fields: o.fields,
    labels: o.labels,
    truncated: o.truncated === true,
  };
}
