import type { Level } from '../lib/level.ts';

/**
 * One structured log entry: the JSON form of the C `log_entry_t` (docs/architecture.md).
 * Entries are immutable once built; plugins get frozen copies and may only read, copy or forward.
 */
export interface LogEntry {
  /** ISO 8601 UTC with milliseconds, e.g. 2025-04-30T12:00:00.000Z */
  readonly timestamp: string;
  readonly level: Level;
  /** Upper-case tag, at most 16 characters. */
  readonly module: string;
  readonly message: string;
  /** Locale catalogue key; with `args` the text can be rendered later in any language. */
  readonly lang_key?: string;
  readonly args?: readonly (string | number)[];
  /** Node id of the gateway that captured the entry. */
  readonly node?: string;
  /** Where it was captured, e.g. `serial:/dev/ttyS0`, `unix`, `file:/var/log/app.log`. */
  readonly source?: string;
  /** Per-node sequence number, set by the forwarder. */
  readonly seq?: number;
  /** Set when the message was cut at `max_message_bytes`. */
  readonly truncated?: true;
  /** Free-form structured fields carried along (string/number/boolean values only). */
  readonly fields?: Readonly<Record<string, string | number | boolean>>;
  /** Static labels of the gateway or its input (site, firmware…), configured, not read from the line. */
  readonly labels?: Readonly<Record<string, string>>;
}

export type MutableEntry = { -readonly [K in keyof LogEntry]: LogEntry[K] };

export const MODULE_MAX = 16;

/** Deep-freezes an entry so that no plugin can change what others see. */
export function freezeEntry(entry: MutableEntry | LogEntry): LogEntry {
  if (entry.args) Object.freeze(entry.args);
  if (entry.fields) Object.freeze(entry.fields);
  if (entry.labels) Object.freeze(entry.labels);
  return Object.freeze(entry) as LogEntry;
}
