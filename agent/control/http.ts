import { createServer, type Server } from 'node:http';
import { Registry, Gauge } from 'prom-client';
import { collect, type MetricDef } from './metrics.ts';

/** Anything whose status() can be turned into metrics. */
export interface MetricsSource {
  status(): unknown;
}

/**
 * /metrics (Prometheus text, prom-client's encoder) and /healthz on a loopback address.
 * Metrics are taken from status() at scrape time: numeric leaves of the status become gauges
 * named logloom_<section>_<field> with a `name` label for list items.
 */
export class MetricsServer {
  private server?: Server;
  private readonly listen: string;
  private readonly source: MetricsSource;
  private readonly defs: readonly MetricDef[] | undefined;

  /** defs: the program's declared metrics (agent-metrics.ts); without them, every numeric status leaf as a gauge. */
  constructor(listen: string, source: MetricsSource, defs?: readonly MetricDef[]) {
    this.listen = listen;
    this.source = source;
    this.defs = defs;
  }

  async metrics(): Promise<{ text: string; contentType: string }> {
    if (this.defs) {
      const declared = collect(this.defs, this.source.status());
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
    return { text: await registry.metrics(), contentType: registry.contentType };
  }

  async start(): Promise<void> {
    const [host, port] = [this.listen.slice(0, this.listen.lastIndexOf(':')), Number(this.listen.slice(this.listen.lastIndexOf(':') + 1))];
    this.server = createServer((req, res) => {
      if (req.url === '/metrics') {
        void this.metrics().then(({ text, contentType }) => {
          res.writeHead(200, { 'content-type': contentType });
          res.end(text);
        });
      } else if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'ok' }) + '\n');
      } else {
        res.writeHead(404).end();
      }
    });
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
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
