/**
 * The agent's side of the forward protocol: one connection at a time to one of several
 * aggregator addresses, HELLO/WELCOME, pipelined BATCHes taken from the spool in sequence order,
 * cumulative ACKs back into the spool, PING/PONG dead-peer detection, and reconnection with
 * capped exponential backoff and jitter (the next address on each failure).
 */
import { EventEmitter } from 'node:events';
import { connect as netConnect, type Socket } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { readFileSync } from 'node:fs';
import {
  encodeBatch, encodeHello, encodePing, encodePong, encodeStats, FRAME_HEADER_BYTES, BATCH_HEADER_BYTES, FrameDecoder, PROTOCOL_VERSION, ERROR_CODE_NAMES,
  ErrorCode, RETRYABLE_ERRORS, STATS_REVISION, type AgentStats, type Message,
} from '../../protocol/index.ts';
import type { Spool } from './spool/spool.ts';
import { Backoff } from '../../lib/backoff.ts';

export interface TlsFiles {
  ca?: string;
  cert?: string;
  key?: string;
  serverName?: string;
}

export interface ClientOptions {
  addresses: string[];
  node: string;
  /** Read on every connect, so a rotated token file takes effect without a restart. */
  token: () => string;
  tls?: TlsFiles;
  connectTimeoutMs: number;
  pingIntervalMs: number;
  pingTimeoutMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  maxInflightBatches: number;
  maxFrameBytes: number;
  /** What the agent reports about itself (drops, spool backlog, version) to aggregators that accept STATS. */
  stats?: () => AgentStats;
  /** How often STATS is sent (also once right after WELCOME); default 10 s. */
  statsIntervalMs?: number;
  log: { debug(m: string): void; info(m: string): void; warn(m: string): void; error(m: string): void };
}

export class AddressError extends Error {
  constructor(address: string) {
    super(`aggregator address ${JSON.stringify(address)} is not host:port`);
    this.name = 'AddressError';
  }
}

export function parseAddress(a: string): { host: string; port: number } {
  const m = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(a.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535) throw new AddressError(a);
  return { host: m[1]!, port };
}

type State = 'idle' | 'connecting' | 'handshake' | 'ready' | 'stopped';

/** Refusals of the same first unstored batch, each after renumbering, before it is set aside. */
export const MAX_REFUSALS = 3;

export class ForwardClient extends EventEmitter {
  private readonly spool: Spool;
  private readonly opts: ClientOptions;
  private state: State = 'idle';
  private sock: Socket | undefined;
  private addrIndex = 0;
  private readonly backoff: Backoff;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private lastHeard = 0;
  private pingNonce = 0;
  private pingSentAt = 0;
  /** Highest seq handed to the current connection. */
  private cursor = 0;
  private inflight: number[] = [];
  private pumping = false;
  private serverMaxFrame = 0;
  /** Why the aggregator refused the last connection's batches; the next WELCOME renumbers them. */
  private refused: string | undefined;
  private readonly onReady = () => void this.pump();
  readonly counters = { connects: 0, disconnects: 0, batches_sent: 0, entries_sent: 0, bytes_sent: 0, acks: 0, peer_errors: 0, dead_peer: 0, refusals: 0, refused_batches: 0, seq_exhausted: 0, stats_sent: 0 };
  address = '';
  /** Why the last attempt failed, for status (kept until a connection succeeds). */
  lastError = '';
  /** Why the current attempt failed, if it has; each attempt starts without one. */
  private attemptError = '';
  /** What the operator was last told about failing to reach the aggregator, and when. */
  private reported: { cause: string; at: number; since: number; attempts: number } | undefined;

  constructor(spool: Spool, opts: ClientOptions) {
    super();
    this.spool = spool;
    this.opts = opts;
    // Jittered: a fleet that lost the aggregator together must not reconnect in step.
    this.backoff = new Backoff({ minMs: opts.backoffMinMs, maxMs: opts.backoffMaxMs, jitter: 'equal' });
    for (const a of opts.addresses) parseAddress(a);
  }

  start(): void {
    this.spool.on('ready', this.onReady);
    this.connect();
  }

  get connected(): boolean {
    return this.state === 'ready';
  }

  private connect(): void {
    if (this.state === 'stopped') return;
    const address = this.opts.addresses[this.addrIndex % this.opts.addresses.length]!;
    const { host, port } = parseAddress(address);
    this.address = address;
    this.state = 'connecting';
    this.attemptError = '';
    let sock: Socket;
    if (this.opts.tls) {
      const t = this.opts.tls;
      const o: ConnectionOptions = { host, port, servername: t.serverName ?? (/^[\d.:]+$/.test(host) ? undefined : host) };
      try {
        if (t.ca) o.ca = readFileSync(t.ca);
        if (t.cert) o.cert = readFileSync(t.cert);
        if (t.key) o.key = readFileSync(t.key);
      } catch (e) {
        this.fail(`TLS files: ${(e as Error).message}`);
        return;
      }
      // node:tls (and the crypto it pulls in) loads only for a forwarder that uses TLS.
      sock = process.getBuiltinModule('node:tls').connect(o);
      sock.once('secureConnect', () => this.onConnected(sock));
    } else {
      sock = netConnect({ host, port });
      sock.once('connect', () => this.onConnected(sock));
    }
    this.sock = sock;
    sock.setNoDelay(true);
    sock.setTimeout(this.opts.connectTimeoutMs, () => sock.destroy(new Error(`connect timeout after ${this.opts.connectTimeoutMs} ms`)));
    const decoder = new FrameDecoder(this.opts.maxFrameBytes);
    sock.on('data', (chunk: Buffer) => {
      this.lastHeard = Date.now();
      let msgs: Message[];
      try {
        msgs = decoder.pushMessages(chunk);
      } catch (e) {
        sock.destroy(new Error(`bad frame from ${address}: ${(e as Error).message}`));
        return;
      }
      for (const m of msgs) this.onMessage(sock, m);
    });
    sock.on('error', (e) => {
      this.attemptError = describeSocketError(e, this.state, Boolean(this.opts.tls), address);
    });
    sock.on('close', () => {
      if (this.sock !== sock) return;
      this.onClosed();
    });
  }

  private onConnected(sock: Socket): void {
    if (this.sock !== sock) return;
    sock.setTimeout(0);
    let token: string;
    try {
      token = this.opts.token();
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      this.attemptError = `cannot read the token file${err.path ? ` ${err.path}` : ''}: ${err.code === 'ENOENT' ? 'no such file' : err.code === 'EACCES' ? 'permission denied' : err.message}`;
      sock.destroy();
      return;
    }
    this.state = 'handshake';
    this.lastHeard = Date.now();
    sock.write(encodeHello(this.opts.node, token, PROTOCOL_VERSION));
    this.handshakeTimer = setTimeout(() => sock.destroy(new Error(`no WELCOME within ${this.opts.connectTimeoutMs} ms`)), this.opts.connectTimeoutMs);
  }

  private onMessage(sock: Socket, m: Message): void {
    switch (m.type) {
      case 'WELCOME': {
        if (this.state !== 'handshake') return;
        clearTimeout(this.handshakeTimer);
        void this.onWelcome(sock, m.lastSeq, m.maxFrameBytes, m.version);
        return;
      }
      case 'ACK': {
        this.counters.acks++;
        while (this.inflight.length && this.inflight[0]! <= m.seq) this.inflight.shift();
        this.spool.ack(m.seq);
        this.emit('ack', m.seq);
        void this.pump();
        return;
      }
      case 'PING':
        sock.write(encodePong(m.nonce));
        return;
      case 'PONG':
        return;
      case 'ERROR': {
        this.counters.peer_errors++;
        const name = ERROR_CODE_NAMES[m.code] ?? `code ${m.code}`;
        this.lastError = this.attemptError = `${name}: ${m.text}`;
        const serious = m.code === ErrorCode.AUTH_FAILED || m.code === ErrorCode.UNSUPPORTED_VERSION;
        if (serious) {
          this.opts.log.error(`aggregator ${this.address} refused this agent: ${name}: ${m.text}`);
          this.backoff.toMax();
        } else if (!RETRYABLE_ERRORS.has(m.code)) {
          this.opts.log.warn(`aggregator ${this.address}: ${name}: ${m.text}`);
          // Refused while batches were on the wire: the sequence or a batch itself is what it will
          // not take. Resending the same batches would be refused forever (one batch would freeze
          // the node), so the next WELCOME renumbers them above what it holds.
          if (this.state === 'ready' && this.inflight.length) {
            this.refused = `${name}: ${m.text}`;
            this.counters.refusals++;
          }
        }
        sock.destroy();
        return;
      }
      default:
        sock.destroy(new Error(`unexpected ${m.type} from aggregator`));
    }
  }

  /**
   * WELCOME: the spool acknowledges what the aggregator holds, or renumbers the unsent batches
   * above it (a reset spool, or a refusal on the last connection); nothing is sent before that
   * is durable. A batch that is refused again and again, renumbered or not, is set aside (counted)
   * so that the batches behind it can go.
   */
  private async onWelcome(sock: Socket, lastSeq: number, maxFrameBytes: number, revision: number): Promise<void> {
    const refused = this.refused;
    let renumbered: number | 'exhausted';
    try {
      renumbered = await this.spool.welcome(lastSeq, refused !== undefined);
    } catch (e) {
      this.opts.log.error(`spool: renumbering above the aggregator's seq ${lastSeq} failed: ${(e as Error).message}`);
      sock.destroy(e as Error);
      return;
    }
    if (this.sock !== sock || this.state !== 'handshake') return;
    if (renumbered === 'exhausted') {
      this.counters.seq_exhausted++;
      this.lastError = this.attemptError = `the aggregator holds seq ${lastSeq} for node ${this.opts.node}: no sequence numbers are left above it for ${this.spool.length} queued batch(es)`;
      this.opts.log.error(`aggregator ${this.address}: ${this.lastError}; nothing can be sent until the aggregator's state for this node is reset (entries stay in the spool)`);
      this.backoff.toMax();
      sock.destroy();
      return;
    }
    this.refused = undefined;
    if (refused !== undefined) {
      const head = this.spool.nextAfter(lastSeq);
      if (head) {
        head.refusals = (head.refusals ?? 0) + 1;
        if (head.refusals >= MAX_REFUSALS) {
          this.counters.refused_batches++;
          this.opts.log.error(`aggregator ${this.address} refused batch ${head.seq} (${head.count} entries) ${head.refusals} times (last: ${refused}); setting it aside so the batches behind it can go (counted in dropped_entries)`);
          this.spool.setAside(head);
        }
      }
    }
    this.state = 'ready';
    this.backoff.reset();
    this.counters.connects++;
    this.serverMaxFrame = maxFrameBytes;
    this.cursor = Math.max(lastSeq, this.spool.lastAcked);
    this.inflight = [];
    this.lastError = '';
    const down = this.reported;
    this.reported = undefined;
    this.opts.log.info(`connected to aggregator ${this.address} (last stored seq ${lastSeq}${renumbered ? `; ${renumbered} batch(es) renumbered above it` : ''})` +
      (down ? `; recovered after ${down.attempts} failed attempt${down.attempts > 1 ? 's' : ''} over ${Math.round((Date.now() - down.since) / 1000)} s` : ''));
    this.spool.setOnline(true);
    this.startPing(sock);
    if (revision >= STATS_REVISION) this.startStats(sock);
    this.emit('connected', this.address);
    void this.pump();
  }

  /** Sends queued batches in seq order while the window has room. One pump at a time keeps frames in order. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.state === 'ready' && this.inflight.length < this.opts.maxInflightBatches) {
        const sock = this.sock!;
        const b = this.spool.nextAfter(this.cursor);
        if (!b) break;
        const data = await this.spool.load(b);
        if (this.state !== 'ready' || this.sock !== sock) break;
        this.cursor = b.seq;
        if (!data) continue; // dropped meanwhile
        const frameBytes = FRAME_HEADER_BYTES - 4 + BATCH_HEADER_BYTES + data.body.length;
        if (this.serverMaxFrame && frameBytes > this.serverMaxFrame) {
          this.opts.log.error(`batch ${b.seq} (${frameBytes} bytes) exceeds the aggregator's max_frame_bytes ${this.serverMaxFrame}; lower batch_max_bytes`);
        }
        const frame = encodeBatch(b.seq, data.codec, data.count, data.rawBytes, data.body);
        this.inflight.push(b.seq);
        this.counters.batches_sent++;
        this.counters.entries_sent += data.count;
        this.counters.bytes_sent += frame.length;
        if (!sock.write(frame)) await new Promise<void>((resolve) => {
          const done = () => (sock.off('drain', done), sock.off('close', done), resolve());
          sock.on('drain', done);
          sock.on('close', done);
        });
      }
    } catch (e) {
      this.opts.log.error(`forwarding: ${(e as Error).message}`);
      this.sock?.destroy();
    } finally {
      this.pumping = false;
    }
  }

  private startPing(sock: Socket): void {
    clearInterval(this.pingTimer);
    const every = Math.max(10, Math.floor(Math.min(this.opts.pingIntervalMs, this.opts.pingTimeoutMs) / 2));
    this.pingTimer = setInterval(() => {
      if (this.sock !== sock || this.state !== 'ready') return;
      const now = Date.now();
      const silent = now - this.lastHeard;
      if (this.pingSentAt > this.lastHeard && now - this.pingSentAt >= this.opts.pingTimeoutMs) {
        this.counters.dead_peer++;
        this.opts.log.warn(`aggregator ${this.address} did not answer PING within ${this.opts.pingTimeoutMs} ms; reconnecting`);
        sock.destroy(new Error('dead peer (PING timeout)'));
        return;
      }
      if (silent >= this.opts.pingIntervalMs && this.pingSentAt <= this.lastHeard) {
        this.pingSentAt = now;
        sock.write(encodePing(++this.pingNonce));
      }
    }, every);
    this.pingTimer.unref();
  }

  /** STATS now and then every statsIntervalMs, only to an aggregator that announced it accepts them. */
  private startStats(sock: Socket): void {
    clearInterval(this.statsTimer);
    const stats = this.opts.stats;
    if (!stats) return;
    const send = () => {
      if (this.sock !== sock || this.state !== 'ready') return;
      try {
        sock.write(encodeStats(stats()));
        this.counters.stats_sent++;
      } catch (e) {
        this.opts.log.debug(`STATS not sent: ${(e as Error).message}`);
      }
    };
    send();
    this.statsTimer = setInterval(send, this.opts.statsIntervalMs ?? 10_000);
    this.statsTimer.unref();
  }

  private onClosed(): void {
    clearTimeout(this.handshakeTimer);
    clearInterval(this.pingTimer);
    clearInterval(this.statsTimer);
    const wasReady = this.state === 'ready';
    const wasHandshake = this.state === 'handshake';
    this.sock = undefined;
    this.inflight = [];
    this.pingSentAt = 0;
    if (wasReady) {
      this.counters.disconnects++;
      this.opts.log.warn(`lost the aggregator ${this.address}${this.attemptError ? `: ${this.attemptError}` : ''}; spooling`);
    }
    this.spool.setOnline(false);
    if (this.state === 'stopped') return;
    this.fail(this.attemptError || (wasHandshake
      ? (this.opts.tls ? 'the aggregator closed the connection before WELCOME' : 'the aggregator closed the connection before WELCOME (does it expect TLS? then set tls.enabled: true)')
      : 'connection closed'));
  }

  /** Schedules the next attempt: next address, delay doubling from backoff_min to backoff_max, equal jitter. */
  private fail(why: string): void {
    this.lastError = why;
    if (this.state === 'stopped') return;
    this.report(why);
    this.state = 'idle';
    this.addrIndex++;
    const delay = this.backoff.next();
    this.opts.log.debug(`reconnecting in ${delay} ms (${why})`);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  /**
   * Says why the aggregator cannot be reached, where the operator looks (the log), without
   * flooding it while the uplink is down: a new cause is logged at once, the same cause again only
   * every REPEAT_REPORT_MS with the count of attempts; the recovery is logged on WELCOME.
   */
  private report(why: string): void {
    const now = Date.now();
    const cause = `${this.address}: ${why}`;
    const r = this.reported;
    if (r && r.cause === cause && now - r.at < REPEAT_REPORT_MS) {
      r.attempts++;
      return;
    }
    const attempts = (r?.attempts ?? 0) + 1;
    this.reported = { cause, at: now, since: r?.since ?? now, attempts };
    this.opts.log.warn(`cannot forward to aggregator ${cause}` + (r ? ` (${attempts} failed attempts since ${new Date(r.since).toISOString()}; entries are spooled)` : '; entries are spooled until it is reachable'));
  }

  /** Closes the connection; waits up to graceMs for outstanding ACKs first. */
  async stop(graceMs = 1000): Promise<void> {
    if (this.state === 'stopped') return;
    if (this.state === 'ready' && (this.inflight.length || this.spool.nextAfter(this.cursor))) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, graceMs);
        const check = () => {
          if (!this.inflight.length && !this.spool.nextAfter(this.cursor)) done();
        };
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.on('ack', check);
        this.once('close', done);
      });
    }
    this.state = 'stopped';
    this.spool.off('ready', this.onReady);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.handshakeTimer);
    clearInterval(this.pingTimer);
    clearInterval(this.statsTimer);
    const sock = this.sock;
    this.sock = undefined;
    sock?.destroy();
    this.spool.setOnline(false);
  }

  status(): Record<string, unknown> {
    return { address: this.address, connected: this.connected, state: this.state, inflight: this.inflight.length, last_error: this.lastError, ...this.counters };
  }
}

/** A repeated failure with the same cause is logged again at most this often. */
const REPEAT_REPORT_MS = 5 * 60_000;

/** A socket error in words an operator can act on, rather than an errno or an OpenSSL string. */
export function describeSocketError(e: NodeJS.ErrnoException, state: string, tls: boolean, address: string): string {
  switch (e.code) {
    case 'ECONNREFUSED': return `connection refused (nothing listens at ${address}; is the aggregator running?)`;
    case 'ENOTFOUND': return `cannot resolve the host name of ${address}`;
    case 'EAI_AGAIN': return `the host name of ${address} cannot be resolved right now (DNS unavailable)`;
    case 'EHOSTUNREACH': case 'ENETUNREACH': return `no route to ${address} (network down?)`;
    case 'ETIMEDOUT': return `no answer from ${address} (timed out)`;
    case 'ECONNRESET':
      if (tls && state === 'connecting') return 'the aggregator closed the connection during the TLS handshake (does it speak TLS? does it require a client certificate?)';
      return 'the aggregator reset the connection';
    case 'EPIPE': return 'the aggregator closed the connection';
  }
  const m = e.message;
  if (tls && /wrong version number|packet length too long|unknown protocol/i.test(m)) return 'TLS handshake failed: the aggregator does not speak TLS (set tls.enabled: false, or enable TLS on the aggregator)';
  if (/self[- ]signed|unable to get local issuer|certificate verify failed|UNABLE_TO_VERIFY/i.test(m) || e.code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' || e.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || e.code === 'SELF_SIGNED_CERT_IN_CHAIN') {
    return `the aggregator's certificate is not trusted (${e.code ?? m}; set tls.ca to the CA that signed it)`;
  }
  if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the aggregator's certificate does not name ${address} (set tls.server_name)`;
  if (e.code === 'CERT_HAS_EXPIRED') return 'the aggregator\'s certificate has expired';
  return m;
}
