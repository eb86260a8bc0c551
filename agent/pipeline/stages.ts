import type { LogEntry } from '../../entry/entry.ts';
import type { RecordBatch, Verdict } from './batch.ts';

/**
 * The pipeline's view of plugins. The plugin framework (agent/plugins/) wraps each loaded plugin,
 * whatever its kind, in one of these; the supervisor inside them owns timeouts, error counting
 * and fail-open, so the pipeline only moves batches of entry records (batch.ts).
 */
/**
 * One verdict per entry: true = keep, false = drop, or a replacement entry (a frozen copy, e.g.
 * redacted by filter_redact) that continues in place of the original, which stays untouched.
 */
export type FilterVerdicts = Verdict[];

export interface FilterStage {
  readonly name: string;
  enabled: boolean;
  /**
   * One verdict per entry of the batch. Sync for in-process filters; a Promise for filters in
   * other processes. Never rejects: failures are handled by the stage (on_error: keep = fail open).
   */
  keep(batch: RecordBatch): FilterVerdicts | Promise<FilterVerdicts>;
  /** Whether the stage works on the records themselves now (false: it reads batch.entries()). Informational. */
  readonly takesRecords?: boolean;
}

export interface SinkStage {
  readonly name: string;
  enabled: boolean;
  /** Rejects on failure; the runner keeps the batch and retries. */
  flush(batch: RecordBatch): Promise<void>;
  /** As FilterStage.takesRecords. */
  readonly takesRecords?: boolean;
  reopen?(): void | Promise<void>;
  status?(): Record<string, unknown>;
}

export interface AiStage {
  readonly name: string;
  enabled: boolean;
  /** Offers an entry for analysis; false when its queue is full (the pipeline counts the drop). */
  offer(entry: LogEntry): boolean;
}
