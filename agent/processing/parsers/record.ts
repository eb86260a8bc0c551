/**
 * Turns a flat record of named values (regex captures, logfmt pairs, a JSON object) into a
 * ParsedLine: the keys named for time, level, module and message fill those parts and every
 * other key is kept as a field. Shared by every parser that produces named values.
 */
import type { FieldValue, KeyNames, ParsedLine, ParserOptions } from './types.ts';

const MAX_FIELDS = 64;

function pick(record: Record<string, unknown>, keys: readonly string[]): { key: string; value: unknown } | undefined {
  for (const key of keys) {
    const value = record[key];
    if (value !== undefined && value !== null && value !== '') return { key, value };
  }
  return undefined;
}

function scalar(v: unknown): FieldValue | undefined {
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (v === null || v === undefined) return undefined;
  return JSON.stringify(v);
}

export function fromRecord(record: Record<string, unknown>, opts: ParserOptions, keys: KeyNames = opts.keys): ParsedLine {
  const out: ParsedLine = {};
  // The keys that became the entry's parts (at most four; plain variables beat a Set per line).
  let usedTime: string | undefined, usedLevel: string | undefined, usedModule: string | undefined, usedMessage: string | undefined;
  const t = pick(record, keys.time);
  if (t) {
    const ms = opts.time.read(scalar(t.value));
    if (ms !== undefined) {
      out.timestamp = ms;
      usedTime = t.key;
    } else out.timeError = true;
  }
  const l = pick(record, keys.level);
  if (l) {
    const level = opts.levels.lookup(scalar(l.value));
    if (level) {
      out.level = level;
      usedLevel = l.key;
    }
  }
  const mod = pick(record, keys.module);
  if (mod && typeof mod.value === 'string') {
    out.module = mod.value;
    usedModule = mod.key;
  }
  const msg = pick(record, keys.message);
  if (msg) {
    out.message = typeof msg.value === 'string' ? msg.value : JSON.stringify(msg.value);
    usedMessage = msg.key;
  }
  let n = 0;
  let fields: Record<string, FieldValue> | undefined;
  for (const k in record) {
    if (k === usedTime || k === usedLevel || k === usedModule || k === usedMessage) continue;
    const value = scalar(record[k]);
    if (value === undefined) continue;
    if (n++ >= MAX_FIELDS) break;
    (fields ??= {})[k] = value;
  }
  if (fields) out.fields = fields;
  return out;
}
