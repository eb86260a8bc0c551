import type { LogEntry } from '../../entry/entry.ts';
import type { ChainStep, PluginKind, PluginType } from './types.ts';

/** Size and short hash of what went into or out of a stage: enough to tell two inputs apart. */
export interface DataSummary {
  entries: number;
  bytes: number;
  /** First 16 hex digits of the SHA-256 of the entries' JSON (or record bytes). */
  sha256: string;
}

/**
 * One stage an entry (or a sink's batch) met, for plugin_logger: which plugin, the
 * verdict, the time, and a summary of what went in and came out.
 */
export interface StageEvent {
  stage: PluginType;
  plugin: string;
  kind: PluginKind;
  /** filter: keep | drop | replace | error; sink: accepted | error; ai: results | error. */
  verdict: string;
  micros: number;
  /** The entry (filter, ai) or the batch's first entry (sink), when the stage had objects. */
  entry?: LogEntry;
  in: DataSummary;
  /** filter replace: the copy; ai: the results. */
  out?: DataSummary;
  /** filter replace: the fields the replacement copy changed. */
  changed?: string[];
  /** ai: how many results; error verdicts: why. */
  results?: number;
  error?: string;
}

export function summarise(data: readonly unknown[] | Uint8Array, entries = Array.isArray(data) ? data.length : 0): DataSummary {
  const h = process.getBuiltinModule('node:crypto').createHash('sha256');
  let bytes = 0;
  if (data instanceof Uint8Array) {
    h.update(data);
    bytes = data.length;
  } else {
    for (const d of data) {
      const s = JSON.stringify(d) + '\n';
      h.update(s);
      bytes += Buffer.byteLength(s) - 1;
    }
  }
  return { entries, bytes, sha256: h.digest('hex').slice(0, 16) };
}

/** The top-level fields whose values differ between an entry and its replacement copy. */
export function changedFields(from: object, to: object): string[] {
  const a = from as Record<string, unknown>;
  const b = to as Record<string, unknown>;
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) out.push(k);
  return out.sort();
}

/**
 * Records, per entry, the filters it passed and how long each took, and tells listeners about
 * every stage an entry meets (filters, sinks, ai analysers) — for plugin_logger. Off
 * unless a running plugin declares capability `trace`, so the hot path pays nothing. Entries are
 * keys of a WeakMap: the record goes away with the entry.
 */
export class ChainTracer {
  enabled = false;
  private readonly steps = new WeakMap<LogEntry, ChainStep[]>();
  private readonly listeners = new Set<(e: StageEvent) => void>();

  record(entry: LogEntry, step: ChainStep): void {
    const list = this.steps.get(entry);
    if (list) list.push(step);
    else this.steps.set(entry, [step]);
  }

  /** A replacement copy continues the original's chain. */
  carry(from: LogEntry, to: LogEntry): void {
    const list = this.steps.get(from);
    if (list) this.steps.set(to, list.slice());
  }

  chain(entry: LogEntry): readonly ChainStep[] {
    return this.steps.get(entry) ?? [];
  }

  /** Subscribes to stage events; returns the unsubscribe function. */
  listen(fn: (e: StageEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  get listening(): boolean {
    return this.enabled && this.listeners.size > 0;
  }

  /** Called by the supervisor after each stage; a listener's exception never reaches the pipeline. */
  stage(event: StageEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(event);
      } catch {
        // A tracer must not change what it traces.
      }
    }
  }
}
