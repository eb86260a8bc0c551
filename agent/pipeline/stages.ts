import type { LogEntry } from '../entry/entry.ts';
import type { EntryRecords } from '../buffer/records.ts';

/**
 * The pipeline's view of plugins. The plugin framework (agent/plugins/) wraps each loaded plugin,
 * whatever its kind, in one of these; the supervisor inside them owns timeouts, error counting
 * and fail-open, so the pipeline only moves entries.
 */
/**
 * One verdict per entry: true = keep, false = drop, or a replacement entry (a frozen copy, e.g.
 * redacted by filter_redact) that continues in place of the original, which stays untouched.
 */
export type FilterVerdicts = (boolean | LogEntry)[];

export interface FilterStage {
  readonly name: string;
  enabled: boolean;
  /**
   * One verdict per entry, true = keep. Sync for in-process filters; a Promise for filters in
   * other processes (called with a batch). Never rejects: failures are handled by the stage
   * (on_error: keep = fail open).
   */
  keepBatch(entries: readonly LogEntry[]): FilterVerdicts | Promise<FilterVerdicts>;
  /** Whether keepRecords may be called now: the records path (agent/buffer/records.ts). */
  readonly takesRecords?: boolean;
  /** The same decision on entry records: one boolean per record, true = keep. Never rejects. */
  keepRecords?(records: EntryRecords): boolean[] | Promise<boolean[]>;
}

export interface SinkStage {
  readonly name: string;
  enabled: boolean;
  /** Rejects on failure; the runner keeps the batch and retries. */
  flush(entries: readonly LogEntry[]): Promise<void>;
  /** Whether flushRecords may be called now (see FilterStage.takesRecords). */
  readonly takesRecords?: boolean;
  /** flush on entry records; rejects on failure like flush. */
  flushRecords?(records: EntryRecords): Promise<void>;
  reopen?(): void | Promise<void>;
  status?(): Record<string, unknown>;
}

export interface AiStage {
  readonly name: string;
  enabled: boolean;
  /** Offers an entry for analysis; false when its queue is full (the pipeline counts the drop). */
  offer(entry: LogEntry): boolean;
}
