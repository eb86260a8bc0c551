import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { encodeError, ErrorCode } from '../protocol/index.ts';
import type { AgentLog } from '../lib/log.ts';
import type { TlsConfig } from './config/config.ts';
import { describeTlsFailure } from './tls-failure.ts';

export class ListenError extends Error {}

/** Splits `host:port` (IPv6 in brackets allowed). */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
  return { host, port: Number(listen.slice(i + 1)) };
}

/**
 * The "source address" that pending-handshake limits count by: an IPv4 address as it is (also
 * when IPv4-mapped), an IPv6 address by its /64 prefix — one host or site usually holds a whole
 * /64, so counting single IPv6 addresses would let it open as many pending connections as it likes.
 */
export function sourceKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head, tail] = address.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** How long a refused peer gets to read its ERROR before the socket is destroyed. */
const REFUSED_LINGER_MS = 1000;

export interface ListenerLimits {
  /** Authenticated connections at once (aggregator.max_connections); more are answered ERROR BUSY. */
  maxConnections: number;
  /** Connections not yet authenticated (TLS handshake or HELLO pending), all addresses together. */
  maxPending: number;
  /** Connections not yet authenticated from one source address. */
  maxPendingPerAddress: number;
  /** A TLS handshake not finished by then fails (hello_timeout: the whole way to HELLO is bounded). */
  handshakeTimeoutMs: number;
}

/** A connection that has not authenticated yet. */
interface Pending {
  raw: Socket;
  address: string;
}

/**
 * The listening socket for agents: plain TCP, or TLS with optional client certificates (mutual
 * TLS) via node:tls. Each accepted (and, with TLS, handshaken) socket goes to onSocket.
 *
 * Admission keeps peers that never authenticate from locking nodes out: connections are
 * "pending" from accept until their HELLO authenticated, and pending ones are bounded apart from
 * authenticated ones — per source address (beyond it a new one is refused at once) and in all
 * (beyond it the oldest pending connection of the address holding the most is dropped, so a node
 * that is handshaking alone from its address is the last to go). Only authenticated connections
 * count against max_connections. Every socket, refused ones included, is tracked until it is
 * closed, and destroyAll() reaches them all: stop() never waits on a peer.
 */
export class AgentListener {
  private server?: Server;
  /** Every accepted raw socket until it closes (refused and pending ones included). */
  private readonly all = new Set<Socket>();
  private readonly pending = new Map<string, Pending>();
  private readonly pendingByAddress = new Map<string, Set<string>>();
  private established = 0;
  private readonly tls: TlsConfig;
  private readonly log: AgentLog;
  private readonly limits: ListenerLimits;
  private readonly onSocket: (s: Socket) => void;
  private readonly reject: (reason: string) => void;
  private closing = false;
  /** The last failure to accept a connection (EMFILE…) and when; /healthz reports it. */
  private acceptError?: { message: string; at: number };
  tlsFailures = 0;

  constructor(o: { tls: TlsConfig; log: AgentLog; limits: ListenerLimits; onSocket: (s: Socket) => void; reject: (reason: string) => void }) {
    this.tls = o.tls;
    this.log = o.log;
    this.limits = o.limits;
    this.onSocket = o.onSocket;
    this.reject = o.reject;
  }

  /** Authenticated connections. */
  get connections(): number {
    return this.established;
  }

  get pendingHandshakes(): number {
    return this.pending.size;
  }

  /** Whether the listener accepts connections now, and why not. */
  health(): { accepting: boolean; reason?: string } {
    if (this.closing) return { accepting: false, reason: 'the listener is closed (stopping)' };
    if (!this.server?.listening) return { accepting: false, reason: 'the listener is not listening' };
    if (this.acceptError && Date.now() - this.acceptError.at < 10_000) return { accepting: false, reason: `accepting connections failed: ${this.acceptError.message}` };
    return { accepting: true };
  }

  private static key(s: Socket): string {
    return `${s.remoteAddress}|${s.remotePort}`;
  }

  /**
   * Every raw connection passes here first (TCP, or TLS before its handshake). `framed`: the
   * socket speaks frames already (plain TCP), so a refusal can say ERROR BUSY.
   */
  private admit = (raw: Socket, framed: boolean): boolean => {
    raw.on('error', () => {});
    if (this.closing) {
      raw.destroy();
      return false;
    }
    const address = sourceKey(raw.remoteAddress ?? '?');
    const key = AgentListener.key(raw);
    const mine = this.pendingByAddress.get(address);
    if (mine && mine.size >= this.limits.maxPendingPerAddress) {
      this.reject('pending_per_address');
      this.log.debug(`${address}: refused: ${mine.size} connections from this address have not authenticated yet (max_pending_per_address ${this.limits.maxPendingPerAddress})`);
      if (framed) this.refuse(raw, `too many connections from ${address} are waiting to authenticate; retry later`);
      else raw.destroy();
      return false;
    }
    if (this.pending.size >= this.limits.maxPending) this.evict();
    this.all.add(raw);
    this.pending.set(key, { raw, address });
    let set = mine;
    if (!set) this.pendingByAddress.set(address, (set = new Set()));
    set.add(key);
    raw.once('close', () => {
      this.all.delete(raw);
      this.unpend(key);
    });
    return true;
  };

  private unpend(key: string): boolean {
    const p = this.pending.get(key);
    if (!p) return false;
    this.pending.delete(key);
    const set = this.pendingByAddress.get(p.address);
    set?.delete(key);
    if (set?.size === 0) this.pendingByAddress.delete(p.address);
    return true;
  }

  /** Drops the oldest pending connection of the address that holds the most. */
  private evict(): void {
    let worst: Set<string> | undefined;
    for (const set of this.pendingByAddress.values()) if (!worst || set.size > worst.size) worst = set;
    const key = worst?.values().next().value;
    const p = key === undefined ? undefined : this.pending.get(key);
    if (!p || key === undefined) return;
    this.unpend(key);
    this.reject('pending_evicted');
    this.log.debug(`${p.address}: dropped a connection that had not authenticated, to make room (max_pending_handshakes ${this.limits.maxPending})`);
    p.raw.destroy();
  }

  /** Answers ERROR BUSY where a frame can still be sent, and destroys the socket soon in any case. */
  private refuse(s: Socket, text: string): void {
    this.all.add(s);
    s.once('close', () => this.all.delete(s));
    s.end(encodeError(ErrorCode.BUSY, text));
    setTimeout(() => s.destroy(), REFUSED_LINGER_MS).unref();
  }

  /**
   * A session's HELLO authenticated: the connection stops being pending and counts against
   * max_connections. False when that limit is reached (the session answers BUSY and closes).
   */
  authenticated(s: Socket): boolean {
    if (this.established >= this.limits.maxConnections) return false;
    this.unpend(AgentListener.key(s));
    this.established++;
    s.once('close', () => this.established--);
    return true;
  }

  private accept = (s: Socket): void => {
    if (this.closing) {
      s.destroy();
      return;
    }
    // With TLS this is the secure socket; the raw one was admitted (and is tracked) already.
    this.all.add(s);
    s.once('close', () => this.all.delete(s));
    this.onSocket(s);
  };

  private create(): Server {
    const t = this.tls;
    if (!t.enabled) {
      const server = createTcpServer();
      server.on('connection', (s: Socket) => {
        if (this.admit(s, true)) this.accept(s);
      });
      return server;
    }
    if (!t.cert || !t.key) throw new ListenError('aggregator.tls.enabled needs aggregator.tls.cert and aggregator.tls.key');
    if (t.client_cert !== 'none' && !t.ca) throw new ListenError(`aggregator.tls.client_cert: ${t.client_cert} needs aggregator.tls.ca (the CA that signs the agents' certificates)`);
    const read = (what: string, path: string) => {
      try {
        return readFileSync(path);
      } catch (e) {
        throw new ListenError(`aggregator.tls.${what}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    };
    const server = createTlsServer({
      cert: read('cert', t.cert),
      key: read('key', t.key),
      ca: t.ca ? read('ca', t.ca) : undefined,
      requestCert: t.client_cert !== 'none',
      rejectUnauthorized: t.client_cert === 'require',
      minVersion: t.min_version,
      handshakeTimeout: this.limits.handshakeTimeoutMs,
    }, this.accept);
    // The TLS server wraps the raw socket in its own 'connection' listener; admission runs after
    // it and destroys the raw socket when refused (no TLS alert or frame can be sent before the
    // handshake). The peer address is kept here: by the time a handshake fails it may be gone.
    const peers = new WeakMap<Socket, string>();
    server.on('connection', (raw: Socket) => {
      peers.set(raw, `${raw.remoteAddress}:${raw.remotePort}`);
      this.admit(raw, false);
    });
    server.on('tlsClientError', (e: NodeJS.ErrnoException, s) => {
      this.tlsFailures++;
      this.reject('tls_handshake');
      const sock = s as Socket & { _parent?: Socket };
      const peer = (sock._parent && peers.get(sock._parent)) ?? (s.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : 'a peer (address unknown)');
      this.log.warn(`TLS handshake with ${peer} failed: ${describeTlsFailure(e, t)}`);
    });
    return server;
  }

  async listen(listen: string): Promise<void> {
    const { host, port } = parseListen(listen);
    this.server = this.create();
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (e: NodeJS.ErrnoException) => reject(new ListenError(`cannot listen on ${listen}: ${e.code ?? e.message}`)));
      this.server!.listen(port, host, resolve);
    });
    // After start, errors are failures to accept (EMFILE…): the server keeps listening, but
    // /healthz says it is not accepting until it succeeds again for a while.
    this.server.on('error', (e: NodeJS.ErrnoException) => {
      if (!this.acceptError || Date.now() - this.acceptError.at > 1000) this.log.error(`accepting an agent connection failed: ${e.code ?? e.message}`);
      this.acceptError = { message: e.code ?? e.message, at: Date.now() };
    });
  }

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  /**
   * Stops accepting. Resolves when every connection is gone or after `boundMs`, whichever is
   * first: connections are left to their sessions meanwhile (destroyAll ends the rest).
   */
  async close(boundMs: number): Promise<void> {
    this.closing = true;
    const server = this.server;
    if (!server) return;
    await Promise.race([
      new Promise<void>((r) => server.close(() => r())),
      new Promise<void>((r) => setTimeout(r, boundMs).unref()),
    ]);
  }

  /** Destroys every socket still open: sessions, pending handshakes, refused peers. */
  destroyAll(): void {
    for (const s of this.all) s.destroy();
  }
}
