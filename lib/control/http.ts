import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Counter, Gauge, Registry } from 'prom-client';
import type { MetricDef } from './metrics.ts';

/**
 * Fills a fresh registry with the declared metrics' current samples. Here, beside the /metrics
 * server, because prom-client (and the cluster, http and perf modules it loads) should load only
 * when metrics are served, not with the declarations every program reads at start.
 */
export function collect<S>(defs: readonly MetricDef<S>[], status: S): Registry {
  const registry = new Registry();
  for (const d of defs) {
    const opts = { name: d.name, help: d.help, labelNames: [...d.labels], registers: [registry] };
    const metric = d.type === 'counter' ? new Counter(opts) : new Gauge(opts);
    for (const [labels, value] of d.samples(status)) {
      if (!Number.isFinite(value)) continue;
      if (metric instanceof Counter) metric.inc(labels, value);
      else metric.set(labels, value);
    }
  }
  return registry;
}

/** Anything whose status() can be turned into metrics. */
export interface MetricsSource {
  status(): unknown;
  /** Metrics beyond the status walk (named and labelled on purpose), added at scrape time. */
  metrics?(registry: Registry): void;
  /** /healthz: 200 when ok, else 503 with the reason (sources without it are always ok). */
  health?(): { ok: boolean; status: string; reason?: string };
}

/** More routes on the same endpoint (lang_hot_reload's REST path, the aggregator's API and dashboard): true when it took the request. */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => boolean;

export interface HttpExtras {
  /** Other routes on the same listener, tried in order. */
  routes?: HttpRoute[];
  /** PEM certificate and key: the listener speaks HTTPS only. */
  tls?: { cert: Buffer; key: Buffer };
  /** The program's declared metrics (agent-metrics.ts); without them, every numeric status leaf as a gauge. */
  metrics?: readonly MetricDef[];
}

/**
 * /metrics (Prometheus text, prom-client's encoder) and /healthz on a loopback address, plus
 * the routes handed in (lang_hot_reload's /lang/ REST path, the aggregator's API and dashboard).
 * Metrics are taken from status() at scrape time: numeric leaves of the status become gauges
 * named logloom_<section>_<field> with a `name` label for list items.
 */
export class MetricsServer {
  private server?: Server;
  private readonly listen: string;
  private readonly source: MetricsSource;

  private readonly extras: HttpExtras;

  constructor(listen: string, source: MetricsSource, extras: HttpExtras = {}) {
    this.listen = listen;
    this.source = source;
    this.extras = extras;
  }

  get tls(): boolean {
    return this.extras.tls !== undefined;
  }

  async metrics(): Promise<{ text: string; contentType: string }> {
    if (this.extras.metrics) {
      const declared = collect(this.extras.metrics, this.source.status());
      this.source.metrics?.(declared);
      return { text: await declared.metrics(), contentType: declared.contentType };
    }
    const registry = new Registry();
    const gauges = new Map<string, Gauge>();
    const gauge = (name: string, labelled: boolean) => {
      let g = gauges.get(name);
      if (!g) {
        g = new Gauge({ name, help: `Logloom ${name.replace(/^logloom_/, '').replace(/_/g, ' ')}`, labelNames: labelled ? ['name'] : [], registers: [registry] });
        gauges.set(name, g);
      }
      return g;
    };
    const clean = (s: string) => s.replace(/[^a-zA-Z0-9_]/g, '_');
    const walk = (prefix: string, value: unknown, label?: string) => {
      if (typeof value === 'number' && Number.isFinite(value)) {
        const g = gauge(prefix, label !== undefined);
        if (label !== undefined) g.set({ name: label }, value);
        else g.set(value);
      } else if (typeof value === 'boolean') walk(prefix, value ? 1 : 0, label);
      else if (Array.isArray(value)) {
        for (const item of value) {
          if (item && typeof item === 'object' && 'name' in item) walk(prefix, item, String((item as { name: unknown }).name));
        }
      } else if (value && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) walk(`${prefix}_${clean(k)}`, v, label);
      }
    };
    walk('logloom', this.source.status());
    this.source.metrics?.(registry);
    return { text: await registry.metrics(), contentType: registry.contentType };
  }

  async start(): Promise<void> {
    const [host, port] = [this.listen.slice(0, this.listen.lastIndexOf(':')), Number(this.listen.slice(this.listen.lastIndexOf(':') + 1))];
    const handle = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url === '/metrics') {
        void this.metrics().then(({ text, contentType }) => {
          res.writeHead(200, { 'content-type': contentType });
          res.end(text);
        });
      } else if (req.url === '/healthz') {
        const h = this.source.health?.() ?? { ok: true, status: 'ok' };
        res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: h.status, ...(h.reason ? { reason: h.reason } : {}) }) + '\n');
      } else if (!(this.extras.routes ?? []).some((r) => r(req, res))) {
        res.writeHead(404).end();
      }
    };
    this.server = this.extras.tls ? createHttpsServer({ ...this.extras.tls }, handle) : createServer(handle);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, resolve);
    });
  }

  /** host:port actually bound (port 0 in the config picks a free one). */
  get address(): string {
    return `${this.listen.slice(0, this.listen.lastIndexOf(':'))}:${this.port}`;
  }

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    // Keep-alive and streaming (server-sent events) connections would hold close() open.
    this.server?.closeAllConnections();
    await closed;
  }
}
