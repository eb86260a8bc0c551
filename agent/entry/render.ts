import type { LogEntry } from './entry.ts';
import { escapeControls } from './sanitise.ts';

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

/** The console line format: `[LEVEL] [MODULE] <timestamp> <message>`, coloured on a TTY. */
export function consoleLine(entry: LogEntry, text: string, colour: boolean): string {
  const level = colour ? `${COLOURS[entry.level]}[${entry.level}]\x1b[0m` : `[${entry.level}]`;
  // A multiline message keeps its newlines: the lines after the first are indented, so none can
  // pass for an entry of its own.
  const body = text.includes('\n') ? text.replace(/\n/g, '\n    ') : text;
  return `${level} [${entry.module}] ${entry.timestamp} ${body}`;
}
