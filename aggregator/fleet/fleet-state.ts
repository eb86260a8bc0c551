/** What an agent reports about itself in STATS frames (docs/forward-protocol.md). */
export interface AgentReport {
  version?: string;
  /** Entries the agent dropped (every input, queue and spool policy), since it started. */
  dropped?: number;
  /** Entries and bytes waiting in the agent's spool (not yet acknowledged). */
  spool_entries?: number;
  spool_bytes?: number;
  /** When the aggregator received the report (ISO 8601). */
  received_at?: string;
}

/** Per node: what the fleet table shows beyond the core's connection rows. */
export interface NodeActivity {
  /** Entries and bytes this aggregator received from the node's agent (since it started). */
  received_entries: number;
  received_bytes: number;
  received_batches: number;
  /** ms since the epoch of the last stored batch seen by the fleet view (this aggregator or, with JetStream, the cluster). */
  last_stored_ms: number;
  /** Entries per second, exponentially weighted over 1 and 15 minutes. */
  rate_1m: number;
  rate_15m: number;
  /** ERROR and FATAL entries per minute, the last 60 minutes (ring, index = minute % 60). */
  errorMinutes: number[];
  errorMinuteStamp: number[];
  /** Entries counted since the last rate tick. */
  tickCount: number;
  report?: AgentReport;
}

const TICK_MS = 5000;
const A1 = 1 - Math.exp(-TICK_MS / 60_000);
const A15 = 1 - Math.exp(-TICK_MS / 900_000);

/**
 * Activity per node for /api/nodes, the dashboard and the per-node metrics: rates (EWMA over 1
 * and 15 minutes, like load averages: cheap for thousands of nodes), errors in the last hour
 * (per-minute ring), what this aggregator received, and the agent's own report (drops, spool).
 */
export class FleetState {
  private readonly nodes = new Map<string, NodeActivity>();
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  activity(node: string): NodeActivity {
    let a = this.nodes.get(node);
    if (!a) {
      a = {
        received_entries: 0, received_bytes: 0, received_batches: 0, last_stored_ms: 0, rate_1m: 0, rate_15m: 0,
        errorMinutes: new Array<number>(60).fill(0), errorMinuteStamp: new Array<number>(60).fill(0), tickCount: 0,
      };
      this.nodes.set(node, a);
    }
    return a;
  }

  get(node: string): NodeActivity | undefined {
    return this.nodes.get(node);
  }

  names(): string[] {
    return [...this.nodes.keys()];
  }

  /** A batch this aggregator received and stored (counted in the received metrics). */
  received(node: string, entries: number, bytes: number): void {
    const a = this.activity(node);
    a.received_entries += entries;
    a.received_bytes += bytes;
    a.received_batches++;
  }

  /** A batch of the node was stored (by this aggregator or, with JetStream, by the cluster). */
  touched(node: string): void {
    this.activity(node).last_stored_ms = this.now();
  }

  /** Entries of the node the index wrote (rates) and how many were ERROR or FATAL. */
  indexed(node: string, entries: number, errors: number): void {
    const a = this.activity(node);
    a.tickCount += entries;
    if (errors) this.addErrors(a, this.now(), errors);
  }

  /** Seeds "errors in the last hour" at start-up (from the index), as if they happened now. */
  seedErrors(node: string, n: number): void {
    if (n > 0) this.addErrors(this.activity(node), this.now(), n);
  }

  private addErrors(a: NodeActivity, now: number, n: number): void {
    const minute = Math.floor(now / 60_000);
    const i = minute % 60;
    if (a.errorMinuteStamp[i] !== minute) {
      a.errorMinuteStamp[i] = minute;
      a.errorMinutes[i] = 0;
    }
    a.errorMinutes[i]! += n;
  }

  errorsLastHour(a: NodeActivity): number {
    const minute = Math.floor(this.now() / 60_000);
    let n = 0;
    for (let i = 0; i < 60; i++) if (minute - a.errorMinuteStamp[i]! < 60) n += a.errorMinutes[i]!;
    return n;
  }

  report(node: string, r: AgentReport): void {
    this.activity(node).report = { ...r, received_at: new Date(this.now()).toISOString() };
  }

  private tick(): void {
    for (const a of this.nodes.values()) {
      const inst = a.tickCount / (TICK_MS / 1000);
      a.tickCount = 0;
      a.rate_1m += A1 * (inst - a.rate_1m);
      a.rate_15m += A15 * (inst - a.rate_15m);
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
