import { PluginCallError } from '../host.ts';
import { decodeMessage, encodeRequest, LineReader, ProtocolError, type Dialect, type Op, type PluginMessage } from './codec.ts';

/** A call was refused because the plugin's queue (queue_length entries) is full; counted, not a fault. */
export class QueueFullError extends PluginCallError {
  constructor(name: string, queueLength: number) {
    super(`${name}: queue full (${queueLength} entries queued)`);
    this.name = 'QueueFullError';
  }
}

export interface ConnectionOptions {
  name: string;
  dialect: Dialect;
  maxLineBytes: number;
  maxInflight: number;
  /** Entries allowed to wait for an in-flight slot. */
  queueLength: number;
  /** Results one request may stream before it counts as an answer flood. */
  maxStreamResults?: number;
  /** Unsolicited events per second before it counts as a flood. */
  maxEventsPerSecond?: number;
  write(line: string): void;
  /** The plugin broke the protocol: the host drops the process/connection. Called once. */
  onFault(reason: string): void;
  onEvent?(event: string, body: Record<string, unknown>): void;
}

type Answer = Record<string, unknown>;

interface Pending {
  id: number;
  op: Op;
  entries: number;
  timeoutMs: number;
  timer?: NodeJS.Timeout;
  streaming: boolean;
  results: number;
  /** For streams: delivers one result; for plain calls unused. */
  onResult?(r: Answer): void;
  resolve(a: Answer): void;
  reject(e: Error): void;
}

interface Waiting {
  send(): void;
  entries: number;
  fail(e: Error): void;
}

/**
 * Request/answer correlation for one plugin connection: ids, the minimal bare answers matched in
 * order, streaming, per-call timeouts, max_inflight with a bounded waiting queue, and detection
 * of protocol faults (malformed, empty, wrong id, flood) which end the connection.
 */
export class PluginConnection {
  private readonly opts: Required<Omit<ConnectionOptions, 'onEvent'>> & Pick<ConnectionOptions, 'onEvent'>;
  private readonly reader: LineReader;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly waiting: Waiting[] = [];
  private waitingEntries = 0;
  /** Ids that timed out recently: their late answers are ignored, not faults. */
  private readonly expired = new Set<number>();
  private eventWindow = { start: 0, count: 0 };
  private closedReason: string | undefined;
  readonly counters = { requests: 0, timeouts: 0, late_answers: 0, queue_full_dropped_entries: 0, error_answers: 0 };

  constructor(opts: ConnectionOptions) {
    this.opts = { maxStreamResults: 1000, maxEventsPerSecond: 200, onEvent: undefined, ...opts };
    this.reader = new LineReader(opts.maxLineBytes);
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  get inflight(): number {
    return this.pending.size;
  }

  get queued(): number {
    return this.waitingEntries;
  }

  /** Bytes from the plugin. */
  feed(chunk: Buffer): void {
    if (this.closed) return;
    let lines: string[];
    try {
      lines = this.reader.push(chunk);
    } catch (e) {
      this.fault((e as Error).message);
      return;
    }
    for (const line of lines) {
      if (this.closed) return;
      let msg: PluginMessage;
      try {
        msg = decodeMessage(line, this.opts.dialect);
      } catch (e) {
        this.fault((e as ProtocolError).message);
        return;
      }
      this.dispatch(msg);
    }
  }

  private dispatch(msg: PluginMessage): void {
    if (msg.kind === 'event') {
      const now = Date.now();
      if (now - this.eventWindow.start >= 1000) this.eventWindow = { start: now, count: 0 };
      if (++this.eventWindow.count > this.opts.maxEventsPerSecond) return this.fault(`answer flood: more than ${this.opts.maxEventsPerSecond} events per second`);
      this.opts.onEvent?.(msg.event, msg.body);
      return;
    }
    let p: Pending | undefined;
    if (msg.id === undefined) {
      // The minimal bare form: answers without ids come in request order.
      p = this.pending.values().next().value;
      if (!p) return this.fault('answer flood: an answer arrived with no request outstanding');
    } else {
      p = this.pending.get(msg.id);
      if (!p) {
        if (this.expired.has(msg.id)) {
          this.counters.late_answers++;
          if (msg.done || !msg.stream) this.expired.delete(msg.id);
          return;
        }
        return this.fault(msg.id < this.nextId ? `answer flood: second answer for request ${msg.id}` : `wrong id: answer for request ${msg.id}, which was never sent`);
      }
    }
    if (msg.status !== 0) {
      this.counters.error_answers++;
      this.finish(p);
      p.reject(new PluginCallError(`status ${msg.status}${msg.error ? `: ${msg.error}` : ''}`));
      return;
    }
    if (msg.stream) {
      if (!p.streaming) return this.fault(`streamed answer to a ${p.op} request`);
      if (++p.results > this.opts.maxStreamResults) return this.fault(`answer flood: more than ${this.opts.maxStreamResults} results for one request`);
      this.armTimer(p); // a stream stays alive while results keep coming
      p.onResult!((msg.body.result as Answer | undefined) ?? msg.body);
      return;
    }
    this.finish(p);
    p.resolve(msg.body);
  }

  private armTimer(p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => {
      this.counters.timeouts++;
      this.expired.add(p.id);
      if (this.expired.size > 4096) this.expired.delete(this.expired.values().next().value!);
      this.finish(p);
      p.reject(new PluginCallError(`no answer within ${p.timeoutMs} ms (${p.op})`));
    }, p.timeoutMs);
  }

  private finish(p: Pending): void {
    if (p.timer) clearTimeout(p.timer);
    this.pending.delete(p.id);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.pending.size < this.opts.maxInflight && this.waiting.length > 0) {
      const w = this.waiting.shift()!;
      this.waitingEntries -= w.entries;
      w.send();
    }
  }

  private enqueue(op: Op, payload: Record<string, unknown>, timeoutMs: number, entries: number, streaming: boolean, onResult?: (r: Answer) => void): Promise<Answer> {
    if (this.closed) return Promise.reject(new PluginCallError(this.closedReason!));
    return new Promise<Answer>((resolve, reject) => {
      const send = () => {
        const p: Pending = { id: this.nextId++, op, entries, timeoutMs, streaming, results: 0, onResult, resolve, reject };
        this.pending.set(p.id, p);
        this.counters.requests++;
        this.armTimer(p);
        try {
          this.opts.write(encodeRequest({ id: p.id, op, payload }, this.opts.dialect));
        } catch (e) {
          this.fault(`write failed: ${(e as Error).message}`);
        }
      };
      // Control ops (init/info/shutdown/resolve) never wait behind data.
      if (op !== 'process' || this.pending.size < this.opts.maxInflight) return send();
      if (this.waitingEntries + entries > this.opts.queueLength) {
        this.counters.queue_full_dropped_entries += entries;
        return reject(new QueueFullError(this.opts.name, this.opts.queueLength));
      }
      this.waitingEntries += entries;
      this.waiting.push({ send, entries, fail: reject });
    });
  }

  /** One request, one answer (its body without id/status). Rejects with PluginCallError. */
  call(op: Op, payload: Record<string, unknown>, timeoutMs: number, entries = 0): Promise<Answer> {
    return this.enqueue(op, payload, timeoutMs, entries, false);
  }

  /**
   * A request whose answer may stream: yields each streamed result, then the results of the final
   * answer (`results`, `result`, or the answer's own fields when it has neither), ending at `done`
   * or at a plain answer.
   */
  async *stream(op: Op, payload: Record<string, unknown>, timeoutMs: number, entries = 1): AsyncGenerator<Answer> {
    const queue: Answer[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let failure: Error | undefined;
    const done = this.enqueue(op, payload, timeoutMs, entries, true, (r) => {
      queue.push(r);
      wake?.();
    }).then(
      (final) => {
        if (Array.isArray(final.results)) for (const r of final.results) queue.push(r as Answer);
        else if (final.result !== undefined && final.result !== null) queue.push(final.result as Answer);
        // The plain form {"status":0,"summary":"…"}: the answer itself is the result. Its status
        // form {"status":0,"message":"ok"} (only a message) acknowledges the request: no result.
        else if (Object.keys(final).length > 0 && !(Object.keys(final).length === 1 && typeof final.message === 'string')) queue.push(final);
        finished = true;
        wake?.();
      },
      (e: Error) => {
        failure = e;
        finished = true;
        wake?.();
      },
    );
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      if (finished) break;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
    await done;
    if (failure) throw failure;
  }

  private fault(reason: string): void {
    if (this.closed) return;
    this.close(reason);
    this.opts.onFault(reason);
  }

  /** Ends the connection: every pending and waiting call fails with reason. */
  close(reason: string): void {
    if (this.closed) return;
    this.closedReason = reason;
    const err = new PluginCallError(reason);
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    for (const w of this.waiting.splice(0)) w.fail(err);
    this.waitingEntries = 0;
  }
}
