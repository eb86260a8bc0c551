/**
 * The one retry schedule of Logloom: after the n-th consecutive failure (n from 0) wait
 * minMs * 2^n, capped at maxMs. Every place that retries uses it: plugin restarts (supervisor),
 * sink batch retries, serial port reopening, socket plugin reconnects, the forwarder's reconnects
 * and the Kafka exporter.
 *
 * Jitter: where many agents of a fleet may retry against the same peer (the aggregator, a broker,
 * a shared socket service), `equal` jitter waits a random time in [d/2, d], so that agents that
 * lost the peer together do not come back in step. Where the thing retried is local to this
 * process (its own plugin child, a serial device) there is nobody to spread, and `none` keeps the
 * delay exact, as the log line that announces it says.
 */
export type Jitter = 'equal' | 'none';

export interface BackoffOptions {
  /** Delay after the first failure. */
  minMs: number;
  /** Longest delay; a value below minMs counts as minMs. */
  maxMs: number;
  jitter: Jitter;
  /** Source of randomness in [0, 1) for the jitter (tests pass a seeded one). */
  random?: () => number;
}

/** Past this many doublings every delay is the cap anyway; it keeps 2^n finite. */
const MAX_DOUBLINGS = 40;

/** The delay before the next attempt after `failures` earlier consecutive failures (0 = the first). */
export function backoffDelay(failures: number, opts: BackoffOptions): number {
  const cap = Math.max(opts.minMs, opts.maxMs);
  const base = Math.min(cap, opts.minMs * 2 ** Math.min(Math.max(0, failures), MAX_DOUBLINGS));
  if (opts.jitter === 'none') return base;
  return Math.round(base / 2 + (opts.random ?? Math.random)() * (base / 2));
}

/** The schedule of one thing that retries: call next() on each failure, reset() on success. */
export class Backoff {
  private failures = 0;
  private readonly opts: BackoffOptions;

  constructor(opts: BackoffOptions) {
    this.opts = opts;
  }

  /** Counts a failure and returns how long to wait before the next attempt. */
  next(): number {
    return backoffDelay(this.failures++, this.opts);
  }

  /** A success: the next failure waits minMs again. */
  reset(): void {
    this.failures = 0;
  }

  /** The peer said that retrying soon is pointless: from now on wait the longest delay. */
  toMax(): void {
    this.failures = Math.max(this.failures, MAX_DOUBLINGS);
  }

  /** Consecutive failures since the last success. */
  get attempts(): number {
    return this.failures;
  }
}
