import type { ServerResponse } from 'node:http';
import type { StoredLine } from '../index/feed.ts';
import { matches, type EntryFilter } from '../index/query.ts';

/** A live-tail client: an open server-sent-events response and its filter. */
interface TailClient {
  res: ServerResponse;
  filter: EntryFilter;
  render: (e: Record<string, unknown>) => Record<string, unknown>;
  /** Entries skipped because the client did not read fast enough (sent as a `gap` event). */
  skipped: number;
}

/** Unread bytes a client may accumulate before entries for it are skipped (and counted). */
const MAX_BUFFERED = 4 * 1024 * 1024;

/**
 * /api/tail: server-sent events, one `entry` event per stored entry that passes the client's
 * filter, as soon as the store has it. A client that does not keep up loses entries rather than
 * holding the aggregator's memory: they are counted, and the client gets a `gap` event with the
 * count once it has caught up (the entries stay queryable through /api/entries).
 */
export class TailHub {
  private readonly clients = new Set<TailClient>();
  private readonly heartbeat: NodeJS.Timeout;
  skippedTotal = 0;

  constructor() {
    // A comment line every 15 s keeps proxies from closing an idle stream.
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) c.res.write(': keep-alive\n\n');
    }, 15_000);
    this.heartbeat.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  add(res: ServerResponse, filter: EntryFilter, render: TailClient['render']): void {
    const c: TailClient = { res, filter, render, skipped: 0 };
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write(': logloom live tail\nretry: 2000\n\n');
    this.clients.add(c);
    res.on('close', () => this.clients.delete(c));
    res.on('drain', () => {
      if (c.skipped) {
        res.write(`event: gap\ndata: ${JSON.stringify({ skipped: c.skipped })}\n\n`);
        c.skipped = 0;
      }
    });
  }

  publish(node: string, lines: readonly StoredLine[]): void {
    if (this.clients.size === 0) return;
    for (const c of this.clients) {
      for (const l of lines) {
        if (!matches(c.filter, node, l.entry)) continue;
        if (c.res.writableLength > MAX_BUFFERED) {
          c.skipped++;
          this.skippedTotal++;
          continue;
        }
        c.res.write(`event: entry\ndata: ${JSON.stringify({ node, entry: c.render(l.entry) })}\n\n`);
      }
    }
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const c of this.clients) c.res.end();
    this.clients.clear();
  }
}
