/**
 * Which input an entry came from, for routes that select by input. Entries are frozen and the
 * input name is not part of the entry's wire form, so it lives in a side table keyed by the entry
 * object (like checkpoints); the pipeline tags entries only while some route needs it, and then
 * keeps entries as objects (no byte fast path, no records path) so the tag survives the buffer.
 */
import type { LogEntry } from '../../entry/entry.ts';

const table = new WeakMap<LogEntry, string>();

export function tagInput(entry: LogEntry, input: string): void {
  table.set(entry, input);
}

export function inputOf(entry: LogEntry): string | undefined {
  return table.get(entry);
}

/** A filter replaced an entry by a copy: the copy comes from the same input. */
export function moveInputTag(from: LogEntry, to: LogEntry): void {
  const input = table.get(from);
  if (input !== undefined && from !== to) table.set(to, input);
}
