import type { LogEntry } from './entry.ts';
import { escapeControls } from './sanitise.ts';
import { s } from '../lib/schema/schema.ts';

export type Renderer = (langKey: string, args: readonly (string | number)[]) => string;

/**
 * The text of an entry in the current language: its lang_key rendered with args when it has one
 * (falling back to the message when the key is unknown), else the message. Rendered text is
 * escaped again, since templates and args may come from plugins.
 */
export function entryText(entry: LogEntry, render?: Renderer): string {
  if (entry.lang_key && render) {
    const text = render(entry.lang_key, entry.args ?? []);
    if (!(text.startsWith('[FORMAT ERROR: missing key]') && entry.message)) return escapeControls(text);
  }
  return entry.message;
}

const COLOURS: Record<string, string> = { DEBUG: '\x1b[2m', INFO: '\x1b[32m', WARN: '\x1b[33m', ERROR: '\x1b[31m', FATAL: '\x1b[1;41;97m' };

/** What a text sink (console, file) shows besides level, module, timestamp and message. */
export type TextExtra = 'node' | 'source' | 'fields' | 'labels';
export interface TextLayout {
  /** Start each line with the timestamp, so that files sort and merge by time (`sort`, `grep` ranges). */
  timestampFirst: boolean;
  /** Appended after the message as `key=value`, in this order. */
  show: readonly TextExtra[];
}
export const TEXT_EXTRAS: readonly TextExtra[] = ['node', 'source', 'fields', 'labels'];
const CLASSIC: TextLayout = { timestampFirst: false, show: [] };

/** The config keys of a text layout, shared by sink_console and sink_file. */
export const textLayoutFields = {
  layout: s.enum(['level_first', 'timestamp_first'] as const, { default: 'level_first', doc: 'level_first = `[LEVEL] [MODULE] <timestamp> <message>`; timestamp_first = `<timestamp> [LEVEL] [MODULE] <message>` (files sort and merge by time).' }),
  show: s.array(s.enum(TEXT_EXTRAS, { doc: '' }), { default: [], doc: 'Also show these after the message, as key=value: node, source, fields, labels.' }),
};

/** The layout a text sink's config asks for. */
export function textLayout(c: { layout: 'level_first' | 'timestamp_first'; show: readonly TextExtra[] }): TextLayout {
  return { timestampFirst: c.layout === 'timestamp_first', show: c.show };
}

/** A value as logfmt writes it: bare when it can be, else quoted with JSON escapes. */
function logfmtValue(v: string | number | boolean): string {
  const t = String(v);
  return t !== '' && /^[^\s"=\\]+$/.test(t) ? t : JSON.stringify(t);
}

function extras(entry: LogEntry, show: readonly TextExtra[]): string {
  const parts: string[] = [];
  for (const x of show) {
    if (x === 'node' && entry.node) parts.push(`node=${logfmtValue(entry.node)}`);
    else if (x === 'source' && entry.source) parts.push(`source=${logfmtValue(entry.source)}`);
    else if ((x === 'fields' || x === 'labels') && entry[x]) {
      for (const [k, v] of Object.entries(entry[x]!)) parts.push(`${escapeControls(k)}=${escapeControls(logfmtValue(v))}`);
    }
  }
  return parts.length ? ' ' + parts.join(' ') : '';
}

/**
 * The text line of an entry: `[LEVEL] [MODULE] <timestamp> <message>` (or, timestampFirst,
 * `<timestamp> [LEVEL] [MODULE] <message>`), then the extras the layout shows as key=value;
 * the level coloured on a TTY.
 */
export function consoleLine(entry: LogEntry, text: string, colour: boolean, layout: TextLayout = CLASSIC): string {
  const level = colour ? `${COLOURS[entry.level]}[${entry.level}]\x1b[0m` : `[${entry.level}]`;
  // A multiline message keeps its newlines: the lines after the first are indented, so none can
  // pass for an entry of its own.
  const body = (text.includes('\n') ? text.replace(/\n/g, '\n    ') : text) + (layout.show.length ? extras(entry, layout.show) : '');
  return layout.timestampFirst ? `${entry.timestamp} ${level} [${entry.module}] ${body}` : `${level} [${entry.module}] ${entry.timestamp} ${body}`;
}
