import type { LogEntry } from '../entry/entry.ts';
import { isRecords, type EntryRecords } from '../buffer/records.ts';

/** A batch for one sink call: entries, or one run of entry records (the records path). */
export type SinkBatch = { entries: LogEntry[]; records?: undefined } | { records: EntryRecords; entries?: undefined };

type Unit = LogEntry | EntryRecords;

/**
 * What waits for one sink, in arrival order: entries, and runs of entry records handed over whole
 * by the records path. Its length counts entries (a run counts as its records), so the pipeline's
 * backpressure bound means the same in both forms. A batch is never mixed and a run never split:
 * the sink gets it in the form it arrived in.
 */
export class SinkQueue {
  private items: Unit[] = [];
  private head = 0;
  private count = 0;
  readonly maxEntries: number;

  constructor(maxEntries: number) {
    this.maxEntries = maxEntries;
  }

  get length(): number {
    return this.count;
  }

  isFull(): boolean {
    return this.count >= this.maxEntries;
  }

  /** Appends ignoring the bound (the pipeline checks isFull before handing over). */
  push(unit: Unit): void {
    this.items.push(unit);
    this.count += isRecords(unit) ? unit.count : 1;
  }

  /**
   * Up to max entries from the head; or the run of records at the head, joined with the runs
   * right behind it while they fit in max. Under a trickle the ring hands over runs of a few
   * records each, and a sink call per run would make the sink (a write, a forward batch) the
   * bottleneck; a run over max is still never split.
   */
  take(max: number): SinkBatch {
    const first = this.items[this.head];
    if (first !== undefined && isRecords(first)) {
      this.advance();
      let count = first.count;
      const runs: EntryRecords[] = [first];
      for (let next = this.items[this.head]; next !== undefined && isRecords(next) && count + next.count <= max; next = this.items[this.head]) {
        runs.push(next);
        count += next.count;
        this.advance();
      }
      this.count -= count;
      return { records: runs.length === 1 ? first : { frames: Buffer.concat(runs.map((r) => r.frames)), count } };
    }
    const entries: LogEntry[] = [];
    while (entries.length < max && this.head < this.items.length) {
      const u = this.items[this.head]!;
      if (isRecords(u)) break;
      entries.push(u);
      this.advance();
    }
    this.count -= entries.length;
    return { entries };
  }

  /** Puts a failed batch back at the head: it keeps its place. */
  unshift(batch: SinkBatch): void {
    const units: Unit[] = batch.records ? [batch.records] : batch.entries;
    this.items = [...units, ...this.items.slice(this.head)];
    this.head = 0;
    this.count += batch.records ? batch.records.count : batch.entries.length;
  }

  private advance(): void {
    this.items[this.head++] = undefined as unknown as Unit;
    // Drop the consumed prefix now and then, so the array does not grow for ever.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
