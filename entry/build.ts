/**
 * The entry's rules in JavaScript: a draft (what an input, a plugin or a peer's line says of an
 * entry) normalised and sanitised into a frozen LogEntry. The C codec applies the same rules
 * (native/addon/src/entry.c, ndjson.c) and is held to this by test/buffer/codec-conformance.test.ts
 * and draft-conformance.test.ts. Who builds entries with it: the JS codec twin
 * (agent/buffer/line-codec.ts) and the JS fallback of the drafts' codec
 * (agent/buffer/draft-codec.ts) where the addon cannot load; the aggregator's slow path for a
 * line that is not canonical (aggregator/ingest/stored-batch.ts); a filter's replacement copy
 * (agent/plugins/supervisor/replacement.ts). On the agent's input path with the addon loaded no
 * entry is built here: drafts become records in C.
 */
import { freezeEntry, type LogEntry, type MutableEntry } from './entry.ts';
import { isLevel, parseLevel, type Level } from '../lib/level.ts';
import { cutUnits, escapeControls, sanitiseMessage, sanitiseModule } from './sanitise.ts';
import { toIso } from './timestamp.ts';
import { setOwn } from './ndjson.ts';
import type { Checkpoint } from './checkpoint.ts';

/** What an input knows about a line before it becomes an entry; everything is optional. */
export interface EntryDraft {
  timestamp?: string | number | Date;
  level?: string;
  module?: string;
  message?: unknown;
  lang_key?: unknown;
  args?: unknown;
  source?: string;
  fields?: unknown;
  /** Static labels (agent/processing/labels.ts); string values only. */
  labels?: unknown;
  /** The input already cut the raw line (e.g. at its line-size bound). */
  truncated?: boolean;
  /** Wall-clock ms when the line's first byte arrived, used when the line has no timestamp (see receivedAtOf). */
  receivedAt?: number;
  /**
   * The line as the input read it, before it took a level, module or NDJSON fields from it: what
   * a configured parser reads (agent/processing). Not part of the entry.
   */
  line?: string;
  /** The message joins several lines (multiline): its newlines are kept, not escaped. */
  multiline?: boolean;
  /** Replayable inputs: the position just after this line (see entry/checkpoint.ts). Not part of the entry. */
  checkpoint?: Checkpoint;
}

export interface BuildOptions {
  maxMessageBytes: number;
  defaultLevel: Level;
  defaultModule: string;
  node: string;
  source?: string;
  /** Wall clock for entries without a timestamp (inputs pass the time the first byte arrived). */
  now?: number;
}

const MAX_ARGS = 32;
const MAX_ARG_CHARS = 1024;
const MAX_FIELDS = 64;
const LANG_KEY = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * A value as text, never throwing: values from plugins or peers may be too deep to serialise (a
 * RangeError from the stack) or have a throwing toJSON; such a value must not take the agent down.
 * json: JSON.stringify's text (String's for what it cannot write), else String's.
 */
export function textOf(value: unknown, json: boolean): string {
  try {
    return json ? JSON.stringify(value) ?? String(value) : String(value);
  } catch (e) {
    return `[unserialisable value: ${(e as Error).message}]`;
  }
}

function cleanArgs(args: unknown): (string | number)[] | undefined {
  if (!Array.isArray(args)) return undefined;
  // An index loop, not map: a hole is undefined (its text), as everywhere else, not a null in the record.
  const out: (string | number)[] = [];
  for (let i = 0; i < args.length && i < MAX_ARGS; i++) {
    const a: unknown = args[i];
    out.push(typeof a === 'number' && Number.isFinite(a) ? a : cutUnits(escapeControls(typeof a === 'string' ? a : textOf(a, false)), MAX_ARG_CHARS));
  }
  return out;
}

function cleanFields(fields: unknown): Record<string, string | number | boolean> | undefined {
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) return undefined;
  const out: Record<string, string | number | boolean> = {};
  let n = 0;
  let kept = 0;
  for (const [k, v] of Object.entries(fields)) {
    if (n++ >= MAX_FIELDS) break;
    if (v === null || v === undefined) continue;
    kept++;
    const key = cutUnits(escapeControls(k), 64);
    // A number JSON cannot write (NaN, ±Infinity) is written null, as one past a double's range in an NDJSON line.
    if (typeof v === 'number' || typeof v === 'boolean') setOwn(out, key, v);
    else setOwn(out, key, cutUnits(escapeControls(typeof v === 'string' ? v : textOf(v, true)), MAX_ARG_CHARS));
  }
  // Only null members: no fields (an NDJSON line's null members are not there at all).
  return kept > 0 ? out : undefined;
}

const MAX_LABELS = 32;

function cleanLabels(labels: unknown): Record<string, string> | undefined {
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) return undefined;
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
    if (n++ >= MAX_LABELS) break;
    // cutUnits: a cut never leaves half a surrogate pair; setOwn: "__proto__" is a label like any other.
    setOwn(out, cutUnits(escapeControls(k), 64), cutUnits(escapeControls(String(v)), 256));
  }
  return n > 0 ? out : undefined;
}

/** A draft's receivedAt as a time an entry can take (Date's integral ms), or undefined when it is not one. */
export function receivedAtOf(draft: EntryDraft): number | undefined {
  const r = draft.receivedAt;
  return typeof r === 'number' && Math.abs(r) <= 8.64e15 ? Math.trunc(r) + 0 : undefined;
}

/**
 * Normalises and sanitises a draft into a frozen entry: the JS statement of the rules every entry
 * gets, whichever codec applies them (see the module comment).
 */
export function buildEntry(draft: EntryDraft, opts: BuildOptions): LogEntry {
  // Level, module and source are taken when they are strings (as from an NDJSON line); anything else is as if absent.
  const level = (typeof draft.level === 'string' && (isLevel(draft.level) ? draft.level : parseLevel(draft.level))) || opts.defaultLevel;
  const raw = typeof draft.message === 'string' ? draft.message : draft.message === undefined ? '' : textOf(draft.message, true);
  const msg = sanitiseMessage(raw, opts.maxMessageBytes, draft.multiline === true);
  const entry: MutableEntry = {
    timestamp: toIso(draft.timestamp, receivedAtOf(draft) ?? opts.now ?? Date.now()),
    level,
    module: sanitiseModule(typeof draft.module === 'string' ? draft.module : opts.defaultModule),
    message: msg.text,
  };
  if (typeof draft.lang_key === 'string' && LANG_KEY.test(draft.lang_key)) entry.lang_key = draft.lang_key;
  const args = cleanArgs(draft.args);
  if (args) entry.args = args;
  entry.node = opts.node;
  const source = typeof draft.source === 'string' ? draft.source : opts.source;
  if (source) entry.source = cutUnits(escapeControls(source), 256);
  if (msg.truncated || draft.truncated) entry.truncated = true;
  const fields = cleanFields(draft.fields);
  if (fields) entry.fields = fields;
  const labels = cleanLabels(draft.labels);
  if (labels) entry.labels = labels;
  return freezeEntry(entry);
}
