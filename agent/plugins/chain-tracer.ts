import type { LogEntry } from '../entry/entry.ts';
import type { ChainStep } from './types.ts';

/**
 * Records, per entry, the filters it passed and how long each took (for plugin_logger, seed
 * §6.5). Off unless a running plugin declares capability `trace`, so the hot path pays nothing.
 * Entries are keys of a WeakMap: the record goes away with the entry.
 */
export class ChainTracer {
  enabled = false;
  private readonly steps = new WeakMap<LogEntry, ChainStep[]>();

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
}
