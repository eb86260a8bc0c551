/**
 * The socket kind: an independent service, in any language, listening on
 * a Unix socket (default, `unix:PATH`) or TCP (`tcp:HOST:PORT`, loopback only unless the operator
 * lists the plugin in plugins.remote_tcp), speaking docs/plugin-protocol.md, or JSON-RPC 2.0 when
 * the manifest says `protocol: jsonrpc`. The agent is the client. A dropped connection is reported
 * to the supervisor, whose restarts (exponential backoff) reconnect; while the service is away
 * filters fail open and sink batches stay queued, and when it comes back the plugin resumes.
 * At agent start a service that is not up yet is waited for in the background (a manifest gives
 * the info), so the agent and the service can start in any order.
 */
import { statSync } from 'node:fs';
import { connect, isIP, type Socket } from 'node:net';
import { PluginCallError, PluginLoadError, type HostEnv, type HostFactory, type HostedPlugin } from '../host.ts';
import type { DiscoveredPlugin } from '../discovered.ts';
import { ProtocolClient } from '../protocol/client.ts';
import { DEFAULT_MAX_LINE_BYTES } from '../protocol/codec.ts';
import { PluginConnection } from '../protocol/connection.ts';
import type { PluginContext, PluginInfo } from '../types.ts';
import { manifestInfo } from './manifest-info.ts';
import { Backoff } from '../../../lib/backoff.ts';
import { ProtocolHost } from './protocol-host.ts';

export type SocketAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export class AddressError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'AddressError';
  }
}

export function parseAddress(address: string): SocketAddress {
  if (address.startsWith('unix:') && address.length > 5) return { kind: 'unix', path: address.slice(5) };
  const m = /^tcp:(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(address);
  if (m && Number(m[2]) > 0 && Number(m[2]) < 65536) return { kind: 'tcp', host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  throw new AddressError(`invalid address ${JSON.stringify(address)} (expected unix:PATH or tcp:HOST:PORT)`);
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host.startsWith('::ffff:127.');
  return false;
}

const CONNECT_TIMEOUT_MS = 3000;
// Jittered: a socket service may be shared by many agents (plugins.remote_tcp).
const BACKGROUND_RETRY = { minMs: 200, maxMs: 5000, jitter: 'equal' } as const;

export class SocketHost extends ProtocolHost implements HostedPlugin {
  readonly kind = 'socket' as const;
  readonly origin: string;
  private readonly plugin: DiscoveredPlugin;
  private readonly address: SocketAddress;
  private socket?: Socket;
  private ctx?: PluginContext;
  private stopping = false;
  private generation = 0;
  private everStarted = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly retryBackoff = new Backoff(BACKGROUND_RETRY);
  readonly counters = { connects: 0, disconnects: 0, connect_failures: 0 };
  private lastError = '';
  onExit?: (reason: string) => void;

  private readonly maxLineBytes: number;

  constructor(plugin: DiscoveredPlugin, env: HostEnv, remoteAllowed = false) {
    super();
    this.plugin = plugin;
    this.maxLineBytes = env.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
    this.origin = plugin.manifestPath ?? plugin.origin;
    try {
      this.address = parseAddress(plugin.address ?? '');
    } catch (e) {
      throw new PluginLoadError(this.origin, (e as Error).message);
    }
    if (this.address.kind === 'tcp' && !isLoopback(this.address.host) && !remoteAllowed) {
      throw new PluginLoadError(this.origin, `tcp address ${this.address.host} is not loopback; list ${plugin.name} in plugins.remote_tcp to allow it`);
    }
  }

  private open(): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const s = this.address.kind === 'unix' ? connect({ path: this.address.path }) : connect({ host: this.address.host, port: this.address.port });
      const t = setTimeout(() => (s.destroy(), reject(new Error(`connect timed out after ${CONNECT_TIMEOUT_MS} ms`))), CONNECT_TIMEOUT_MS);
      s.once('connect', () => (clearTimeout(t), s.removeAllListeners('error'), resolve(s)));
      s.once('error', (e: NodeJS.ErrnoException) => (clearTimeout(t), reject(new Error(e.code ?? e.message))));
    });
  }

  /** Connects, wires the protocol and runs info + init. */
  private async connectAndInit(ctx: PluginContext): Promise<PluginInfo> {
    const gen = ++this.generation;
    let sock: Socket;
    try {
      sock = await this.open();
    } catch (e) {
      this.counters.connect_failures++;
      this.lastError = `cannot connect to ${this.plugin.address}: ${(e as Error).message}`;
      throw new PluginCallError(this.lastError);
    }
    this.counters.connects++;
    this.socket = sock;
    if (this.address.kind === 'unix') this.checkSocketMode(ctx, this.address.path);
    sock.setNoDelay(true);
    const { limits, name } = this.plugin;
    const client = new ProtocolClient(name, ctx.log, this.maxLineBytes);
    const conn = new PluginConnection({
      name, dialect: this.plugin.protocol, maxLineBytes: this.maxLineBytes, maxInflight: limits.max_inflight, queueLength: limits.queue_length,
      write: (line) => void sock.write(line),
      onFault: (reason) => this.lost(gen, reason),
      onEvent: (event, body) => void client.onEvent(event, body),
    });
    client.conn = conn;
    this.client = client;
    sock.on('data', (d: Buffer) => conn.feed(d));
    sock.on('error', (e: NodeJS.ErrnoException) => this.lost(gen, `connection error: ${e.code ?? e.message}`));
    sock.on('close', () => this.lost(gen, 'service closed the connection'));
    try {
      const info = await client.handshake(ctx.config, manifestInfo(this.plugin), this.origin, this.plugin.type);
      client.startLangRefresh();
      return info;
    } catch (e) {
      this.generation++;
      sock.destroy();
      throw e;
    }
  }

  private warnedMode = false;

  /** A world-writable plugin socket lets any local user impersonate the agent to it: say so once. */
  private checkSocketMode(ctx: PluginContext, path: string): void {
    try {
      const mode = statSync(path).mode & 0o777;
      if (mode & 0o002 && !this.warnedMode) {
        this.warnedMode = true;
        ctx.log.warn(`socket ${path} is world-writable (mode ${mode.toString(8)}); create it 0660 so only root and the agent's group can use it`);
      }
    } catch {
      /* gone already: the connection will say so */
    }
  }

  async start(ctx: PluginContext): Promise<PluginInfo> {
    this.stopping = false;
    this.ctx = ctx;
    this.cancelRetry();
    this.dropSocket();
    const first = !this.everStarted;
    this.everStarted = true;
    try {
      const info = await this.connectAndInit(ctx);
      // Said for every connection, first or later, so an operator sees when the service is in use.
      ctx.log.info(`connected to ${this.plugin.address}`);
      return info;
    } catch (e) {
      const info = manifestInfo(this.plugin);
      // At agent start the service may simply not be up yet: wait for it in the background.
      if (first && info && e instanceof PluginCallError) {
        ctx.log.warn(`${(e as Error).message}; retrying in the background`);
        this.scheduleRetry();
        return info;
      }
      throw e;
    }
  }

  private scheduleRetry(): void {
    if (this.stopping) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connectAndInit(this.ctx!).then(
        () => {
          this.retryBackoff.reset();
          this.ctx!.log.info(`connected to ${this.plugin.address}`);
        },
        () => this.scheduleRetry(),
      );
    }, this.retryBackoff.next());
    this.retryTimer.unref();
  }

  private cancelRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.retryBackoff.reset();
  }

  private lost(gen: number, reason: string): void {
    if (gen !== this.generation) return;
    this.generation++;
    this.counters.disconnects++;
    this.lastError = reason;
    this.client?.stopLangRefresh();
    this.client?.conn?.close(reason);
    this.socket?.destroy();
    if (!this.stopping) this.onExit?.(reason);
  }

  private dropSocket(): void {
    this.generation++;
    this.client?.stopLangRefresh();
    this.client?.conn?.close('reconnecting');
    this.socket?.destroy();
    this.socket = undefined;
  }

  protected get live(): ProtocolClient {
    if (!this.client || !this.client.conn || this.client.conn.closed) throw new PluginCallError(`not connected to ${this.plugin.address}${this.lastError ? ` (${this.lastError})` : ''}`);
    return this.client;
  }


  async stop(): Promise<void> {
    this.stopping = true;
    this.cancelRetry();
    const conn = this.client?.conn;
    // The service keeps running (it is not ours); it is told this agent is done with it.
    if (conn && !conn.closed) await conn.call('shutdown', {}, 1000).catch(() => {});
    this.socket?.end();
    this.dropSocket();
  }

  status(): Record<string, unknown> {
    const c = this.client;
    return {
      address: this.plugin.address,
      protocol: this.plugin.protocol,
      connected: !!c?.conn && !c.conn.closed,
      limits: { mechanism: 'none (external service: limit it where it runs)' },
      ...this.counters,
      connection_error: this.lastError,
      ...(c ? { ...c.counters, ...c.conn?.counters } : {}),
      ...(c && this.plugin.type === 'lang' ? { lang_cache_templates: c.langCacheSize } : {}),
    };
  }
}

export const hostFactory: HostFactory = (plugin, env) => new SocketHost(plugin, env, env.remoteTcp?.includes(plugin.name) ?? false);
