import { mkdir } from 'node:fs/promises';
import type { Socket } from 'node:net';
import type { AggregatorFileConfig } from './config/config.ts';
import type { AgentLog } from '../lib/log.ts';
import { VERSION } from '../lib/version.ts';
import { scheduleStartupRelease } from '../lib/native-runtime.ts';
import { ControlServer } from '../lib/control/server.ts';
import { MetricsServer } from '../lib/control/http.ts';
import { AGGREGATOR_METRICS } from './metrics.ts';
import { Authenticator, TokenStore } from './auth.ts';
import { NodeRegistry } from './fleet/nodes.ts';
import { AgentListener } from './server.ts';
import { ingestCounters, nativeScanner } from './ingest/stored-batch.ts';
import { peerSafeLog } from './peer-text.ts';
import { Session } from './session.ts';
import { createStore } from './store/index.ts';
import type { Store } from './store/store.ts';
import { readFileSync } from 'node:fs';
import { Counter, Gauge, type Registry } from 'prom-client';
import { Fleet } from './fleet/fleet.ts';
import { ObservedStore } from './index/feed.ts';
import { ApiRoutes } from './api/routes.ts';

/**
 * The composition root of `logloom aggregator`: the agent listener, the store, per-node state,
 * the control socket (`logloom status`) and /metrics + /healthz.
 */
export class Aggregator {
  readonly config: AggregatorFileConfig;
  readonly log: AgentLog;
  readonly store: Store;
  readonly nodes = new NodeRegistry();
  readonly startedAt = Date.now();
  private readonly auth: Authenticator;
  private readonly listener: AgentListener;
  private readonly sessions = new Set<Session>();
  private readonly rejected: Record<string, number> = {};
  private control?: ControlServer;
  private http?: MetricsServer;
  private stopping = false;
  /** The log for everything built from what peers say (sanitised: see peer-text.ts). */
  private readonly peerLog: AgentLog;
  /** The fleet view (index, live tail, per-node activity, retention) and its HTTP API. */
  readonly fleet: Fleet;
  private readonly api?: ApiRoutes;

  constructor(config: AggregatorFileConfig, log: AgentLog) {
    this.config = config;
    this.log = log;
    const a = config.aggregator;
    const store = createStore(a, { dataDir: config.data_dir, log });
    // The fleet view hears of every stored batch through this one listener.
    this.fleet = new Fleet(config, log);
    const observed = new ObservedStore(store, (e) => log.error(`fleet view: ${e.message}`));
    observed.listen(this.fleet.received);
    this.store = observed;
    if (a.api.enabled) this.api = new ApiRoutes({ fleet: this.fleet, nodes: this.nodes, config: a.api, status: () => this.status(), warn: (m) => log.warn(m) });
    const tokens = a.auth.mode === 'token' || a.auth.mode === 'token_and_mtls' ? new TokenStore(a.auth.tokens_file, (m) => log.warn(m)) : undefined;
    this.auth = new Authenticator(a.auth.mode, tokens);
    this.peerLog = peerSafeLog(log);
    this.listener = new AgentListener({
      tls: a.tls,
      log: this.peerLog,
      limits: { maxConnections: a.max_connections, maxPending: a.max_pending_handshakes, maxPendingPerAddress: a.max_pending_per_address, handshakeTimeoutMs: a.hello_timeout },
      reject: (r) => this.count(r),
      onSocket: (s) => this.serve(s),
    });
  }

  private count(reason: string): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
  }

  private serve(socket: Socket): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    const a = this.config.aggregator;
    const session = new Session(socket, {
      store: this.store,
      nodes: this.nodes,
      auth: this.auth,
      log: this.peerLog,
      admit: () => this.listener.authenticated(socket),
      maxFrameBytes: a.max_frame_bytes,
      maxBatchEntries: a.max_batch_entries,
      maxMessageBytes: this.config.max_message_bytes,
      maxSeqJump: a.max_seq_jump,
      helloTimeoutMs: a.hello_timeout,
      idleTimeoutMs: a.idle_timeout,
      reject: (r) => this.count(r),
      onStats: (node, stats) => this.fleet.report(node, stats),
    });
    this.sessions.add(session);
    void session.closed.then(() => this.sessions.delete(session));
  }

  get port(): number {
    return this.listener.port;
  }

  get metricsPort(): number {
    return this.http?.port ?? 0;
  }

  async start(): Promise<void> {
    try {
      await this.startParts();
    } catch (e) {
      // The index writer is a worker thread: a failed start must not leave it keeping the process alive.
      await this.fleet.stop().catch(() => {});
      throw e;
    }
  }

  private async startParts(): Promise<void> {
    await mkdir(this.config.data_dir, { recursive: true });
    this.auth.tokens?.refresh();
    await this.store.open();
    await this.loadKnownNodes();
    await this.fleet.start(this.store);
    await this.listener.listen(this.config.aggregator.listen);
    this.control = new ControlServer(this.config.control.socket, this, this.log);
    await this.control.start();
    if (this.config.control.http) {
      const t = this.config.aggregator.api.tls;
      if ((t.cert === undefined) !== (t.key === undefined)) throw new Error('aggregator.api.tls: give both cert and key (or neither)');
      const read = (what: string, path: string) => {
        try {
          return readFileSync(path);
        } catch (e) {
          throw new Error(`aggregator.api.tls.${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      };
      this.http = new MetricsServer(this.config.control.http, this, {
        routes: this.api ? [(req, res) => this.api!.handle(req, res)] : [],
        metrics: AGGREGATOR_METRICS,
        tls: t.cert && t.key ? { cert: read('cert', t.cert), key: read('key', t.key) } : undefined,
      });
      await this.http.start();
      const url = `${this.http.tls ? 'https' : 'http'}://${this.config.control.http.replace(/:0$/, `:${this.http.port}`)}`;
      this.log.info(`metrics and health at ${url}`);
      if (this.api) this.log.info(`dashboard at ${url}/ and API at ${url}/api/`);
    }
    const a = this.config.aggregator;
    this.log.info(`logloom ${VERSION} aggregator listening on ${a.listen.replace(/:0$/, `:${this.port}`)} (${a.tls.enabled ? `TLS, client certificates: ${a.tls.client_cert}` : 'TCP'}, auth ${a.auth.mode}, store ${this.store.kind})`);
    // Start-up's pages of the executable go back (lib/native-runtime.ts says when).
    scheduleStartupRelease(this.log);
  }

  /** Nodes the store knows show in `status` before they reconnect. */
  private async loadKnownNodes(): Promise<void> {
    for (const n of await this.store.knownNodes()) this.nodes.stored(n, await this.store.state(n));
  }

  /** Re-reads the tokens file (SIGHUP); it is also re-read whenever it changes. */
  async reopen(): Promise<void> {
    this.auth.tokens?.refresh();
    this.log.info(`SIGHUP: tokens file re-read (${this.auth.tokens?.size ?? 0} nodes)`);
  }

  /**
   * Stops within shutdown_grace plus a bounded second or two, whatever the peers do: stop
   * accepting, let sessions finish what they are storing (and ACK it), then destroy every socket
   * still open — sessions, pending handshakes and refused peers alike.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const grace = this.config.shutdown_grace;
    const closed = this.listener.close(grace + 2000);
    await Promise.race([
      Promise.all([...this.sessions].map((s) => s.shutdown())),
      new Promise((r) => setTimeout(r, grace).unref()),
    ]);
    this.listener.destroyAll();
    await closed;
    await this.store.close();
    await this.fleet.stop();
    await this.control?.stop();
    await this.http?.stop();
    this.log.info('aggregator stopped');
  }

  /** /healthz: ok only while the agent listener accepts connections and the aggregator is not stopping. */
  health(): { ok: boolean; status: string; reason?: string } {
    const h = this.listener.health();
    if (this.stopping) return { ok: false, status: 'stopping', reason: 'the aggregator is stopping' };
    return h.accepting ? { ok: true, status: 'ok' } : { ok: false, status: 'not accepting', reason: h.reason };
  }

  status() {
    const a = this.config.aggregator;
    return {
      role: 'aggregator',
      version: VERSION,
      listen: a.listen.replace(/:0$/, `:${this.port}`),
      transport: a.tls.enabled ? `tls (client certificates: ${a.tls.client_cert})` : 'tcp',
      auth: a.auth.mode,
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      connections: this.listener.connections,
      pending_handshakes: this.listener.pendingHandshakes,
      store: this.store.status(),
      ingest: { scanner: nativeScanner() ? 'native' : 'js', ...ingestCounters },
      rejected: { ...this.rejected },
      nodes: this.nodes.list(),
      index: this.fleet.status(),
      ...(this.api ? { api: this.api.status() } : {}),
    };
  }

  /** Per-node metrics for alerting (docs/aggregator-api.md), added to /metrics at scrape time. */
  metrics(registry: Registry): void {
    const lastSeen = new Gauge({ name: 'logloom_aggregator_node_last_seen_timestamp_seconds', help: 'When the aggregator last heard from the node (any frame, or a stored batch), Unix seconds', labelNames: ['node'], registers: [registry] });
    const connected = new Gauge({ name: 'logloom_aggregator_node_connected', help: '1 while the node has a connection to this aggregator', labelNames: ['node'], registers: [registry] });
    const entries = new Counter({ name: 'logloom_aggregator_node_received_entries_total', help: 'Entries this aggregator received from the node and stored, since it started', labelNames: ['node'], registers: [registry] });
    const bytes = new Counter({ name: 'logloom_aggregator_node_received_bytes_total', help: 'Bytes of stored NDJSON this aggregator received from the node, since it started', labelNames: ['node'], registers: [registry] });
    const batches = new Counter({ name: 'logloom_aggregator_node_received_batches_total', help: 'Batches this aggregator received from the node and stored, since it started', labelNames: ['node'], registers: [registry] });
    const rows = new Map(this.nodes.list().map((r) => [r.name, r]));
    for (const name of new Set([...rows.keys(), ...this.fleet.state.names()])) {
      const r = rows.get(name);
      const a = this.fleet.state.get(name);
      const seen = Math.max(r && r.last_seen !== '-' ? Date.parse(r.last_seen) : 0, a?.last_stored_ms ?? 0);
      if (seen > 0) lastSeen.set({ node: name }, seen / 1000);
      connected.set({ node: name }, r?.connected ? 1 : 0);
      entries.inc({ node: name }, a?.received_entries ?? 0);
      bytes.inc({ node: name }, a?.received_bytes ?? 0);
      batches.inc({ node: name }, a?.received_batches ?? 0);
    }
  }
}
