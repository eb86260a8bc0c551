import { RecordBatch } from './batch.ts';

/**
 * What waits for one sink, in arrival order: batches of entry records as the pipeline handed them
 * over. Its length counts entries, so the pipeline's backpressure bound means entries.
 */
export class SinkQueue {
  private items: RecordBatch[] = [];
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

  /**
   * Appends ignoring the bound (the pipeline checks isFull before handing over). Without its
   * views: the bound counts entries, so a queued batch holds its own frames and nothing more.
   */
  push(batch: RecordBatch): void {
    if (batch.count === 0) return;
    this.items.push(batch.withoutViews());
    this.count += batch.count;
  }

  /**
   * Up to max entries from the head, as one batch: the batches right behind the first are joined
   * while they fit (under a trickle the ring hands over runs of a few records each, and a sink
   * call per run would make the sink the bottleneck), and a batch over max is cut at max.
   */
  take(max: number): RecordBatch {
    const first = this.items[this.head]!;
    if (first.count > max) {
      this.items[this.head] = first.slice(max, first.count);
      this.count -= max;
      return first.slice(0, max);
    }
    this.advance();
    let count = first.count;
    const batches: RecordBatch[] = [first];
    for (let next = this.items[this.head]; next !== undefined && count + next.count <= max; next = this.items[this.head]) {
      batches.push(next);
      count += next.count;
      this.advance();
    }
    this.count -= count;
    return RecordBatch.join(batches);
  }

  /** Puts a failed batch back at the head: it keeps its place. */
  unshift(batch: RecordBatch): void {
    this.items = [batch, ...this.items.slice(this.head)];
    this.head = 0;
    this.count += batch.count;
  }

  private advance(): void {
    this.items[this.head++] = undefined as unknown as RecordBatch;
    // Drop the consumed prefix now and then, so the array does not grow for ever.
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}
