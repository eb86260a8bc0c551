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
  /** Wall-clock ms when the line's first byte arrived, used when the line has no timestamp. */
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
 */
function textOf(value: unknown, json: boolean): string {
  try {
    return json ? JSON.stringify(value) ?? String(value) : String(value);
  } catch (e) {
    return `[unserialisable value: ${(e as Error).message}]`;
  }
}

function cleanArgs(args: unknown): (string | number)[] | undefined {
  if (!Array.isArray(args)) return undefined;
  return args.slice(0, MAX_ARGS).map((a) =>
    typeof a === 'number' && Number.isFinite(a) ? a : cutUnits(escapeControls(typeof a === 'string' ? a : textOf(a, false)), MAX_ARG_CHARS),
  );
}

function cleanFields(fields: unknown): Record<string, string | number | boolean> | undefined {
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) return undefined;
  const out: Record<string, string | number | boolean> = {};
  let n = 0;
  for (const [k, v] of Object.entries(fields)) {
    if (n++ >= MAX_FIELDS) break;
    const key = cutUnits(escapeControls(k), 64);
    if (typeof v === 'number' || typeof v === 'boolean') setOwn(out, key, v);
    else if (v !== null && v !== undefined) setOwn(out, key, cutUnits(escapeControls(typeof v === 'string' ? v : textOf(v, true)), MAX_ARG_CHARS));
  }
  return n > 0 ? out : undefined;
}

const MAX_LABELS = 32;

function cleanLabels(labels: unknown): Record<string, string> | undefined {
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) return undefined;
  const out: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of Object.entries(labels)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') continue;
    if (n++ >= MAX_LABELS) break;
    out[escapeControls(k).slice(0, 64)] = escapeControls(String(v)).slice(0, 256);
  }
  return n > 0 ? out : undefined;
}

/**
 * Normalises and sanitises a draft into a frozen entry. This is the single door through which
 * every input, plugin result and received batch becomes a LogEntry, so the guards apply to all.
 */
export function buildEntry(draft: EntryDraft, opts: BuildOptions): LogEntry {
  const level = (draft.level !== undefined && (isLevel(draft.level) ? draft.level : parseLevel(draft.level))) || opts.defaultLevel;
  const raw = typeof draft.message === 'string' ? draft.message : draft.message === undefined ? '' : textOf(draft.message, true);
  const msg = sanitiseMessage(raw, opts.maxMessageBytes, draft.multiline === true);
  const entry: MutableEntry = {
    timestamp: toIso(draft.timestamp, draft.receivedAt ?? opts.now ?? Date.now()),
    level,
    module: sanitiseModule(draft.module ?? opts.defaultModule),
    message: msg.text,
  };
  if (typeof draft.lang_key === 'string' && LANG_KEY.test(draft.lang_key)) entry.lang_key = draft.lang_key;
  const args = cleanArgs(draft.args);
  if (args) entry.args = args;
  entry.node = opts.node;
  const source = draft.source ?? opts.source;
  if (source) entry.source = cutUnits(escapeControls(source), 256);
  if (msg.truncated || draft.truncated) entry.truncated = true;
  const fields = cleanFields(draft.fields);
  if (fields) entry.fields = fields;
  const labels = cleanLabels(draft.labels);
  if (labels) entry.labels = labels;
  return freezeEntry(entry);
}
