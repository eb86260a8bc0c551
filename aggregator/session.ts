import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import {
  decodeBodyBytes, decodeMessage, encodeAck, encodeError, encodePong, encodeWelcome, ErrorCode, FrameDecoder,
  FrameTooLargeError, PROTOCOL_VERSION, ProtocolError, WELCOME_REVISION, type AgentStats, type Batch, type Message,
} from '../protocol/index.ts';
import { inlineBatchBytes } from './ingest/inflate.ts';
import { releaseStored, storedBatch } from './ingest/stored-batch.ts';
import type { AgentLog } from '../lib/log.ts';
import { certificateNames, type Authenticator } from './auth.ts';
import type { NodeRegistry } from './fleet/nodes.ts';
import { StorageError, type Store, type StoredBatch } from './store/store.ts';

export interface SessionOptions {
  store: Store;
  nodes: NodeRegistry;
  auth: Authenticator;
  log: AgentLog;
  maxFrameBytes: number;
  maxBatchEntries: number;
  maxMessageBytes: number;
  /** Largest step a batch seq may take past the last one received (aggregator.max_seq_jump). */
  maxSeqJump: number;
  helloTimeoutMs: number;
  idleTimeoutMs: number;
  /** The HELLO authenticated: may the connection count as established? False at max_connections. */
  admit(): boolean;
  /** Counts a refused connection or frame by reason (shown in status as rejected.<reason>). */
  reject(reason: string): void;
  /** An authenticated agent's STATS report (drops, spool backlog, version). */
  onStats?(node: string, stats: AgentStats): void;
}

/** Batches decoded but not yet stored; above this the socket is paused (backpressure). */
const MAX_PENDING_BATCHES = 64;

/**
 * One agent connection: HELLO → (auth) → WELCOME → BATCH… each answered by a cumulative ACK once
 * the batch is durably stored. Batches that arrive while a store call runs are stored together
 * in the next call (group commit: one write, one fsync, one ACK for all of them).
 */
export class Session {
  readonly socket: Socket;
  readonly remote: string;
  private readonly o: SessionOptions;
  private readonly decoder: FrameDecoder;
  private node?: string;
  private state: 'hello' | 'authenticating' | 'ready' | 'closing' = 'hello';
  /** Frames are handled one after another (auth and decoding are asynchronous). */
  private chain: Promise<void> = Promise.resolve();
  private pending: StoredBatch[] = [];
  /** The store loop while it runs; shutdown waits on it. */
  private storeRun: Promise<void> | undefined;
  /** Orderly stop: finish what is being stored, read nothing more. */
  private stopping = false;
  /** Highest seq this session has accepted from the peer (stored or queued). */
  private lastReceived = 0;
  /** Highest seq acknowledged on this connection. */
  private acked = 0;
  private helloTimer?: NodeJS.Timeout;
  readonly closed: Promise<void>;

  constructor(socket: Socket, o: SessionOptions) {
    this.socket = socket;
    this.o = o;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    this.decoder = new FrameDecoder(o.maxFrameBytes);
    this.helloTimer = setTimeout(() => this.fail(ErrorCode.UNEXPECTED_FRAME, `no HELLO within ${o.helloTimeoutMs} ms`, 'hello_timeout'), o.helloTimeoutMs);
    socket.setNoDelay(true);
    socket.setTimeout(o.idleTimeoutMs, () => this.close(`idle for ${o.idleTimeoutMs} ms`, 'idle_timeout'));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.o.log.debug(`${this.who()}: ${e.message}`));
    this.closed = new Promise((resolve) => socket.once('close', () => {
      clearTimeout(this.helloTimer);
      if (this.node) this.o.nodes.detach(this.node, this);
      if (this.decoder.pendingBytes > 0 && this.state !== 'closing') this.o.reject('truncated_frame');
      this.state = 'closing';
      resolve();
    }));
  }

  private who(): string {
    return this.node ? `node ${this.node} (${this.remote})` : this.remote;
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closing') return;
    if (this.node) this.o.nodes.seen(this.node);
    let messages: Message[];
    try {
      messages = this.decoder.push(chunk).map((f) => decodeMessage(f.type, f.payload));
    } catch (e) {
      return this.protocolFailure(e);
    }
    for (const m of messages) this.chain = this.chain.then(() => (this.state === 'closing' ? undefined : this.handle(m))).catch((e) => this.protocolFailure(e));
  }

  private protocolFailure(e: unknown): void {
    if (e instanceof FrameTooLargeError) return this.fail(e.code, e.message, 'frame_too_large');
    if (e instanceof ProtocolError) return this.fail(e.code, e.message, e.code === ErrorCode.BAD_BATCH ? 'bad_batch' : 'bad_frame');
    this.o.log.error(`${this.who()}: ${(e as Error).stack ?? e}`);
    this.fail(ErrorCode.BAD_FRAME, `internal error: ${(e as Error).message}`, 'internal_error');
  }

  private async handle(m: Message): Promise<void> {
    switch (m.type) {
      case 'HELLO':
        return this.hello(m.version, m.node, m.token);
      case 'PING':
        this.socket.write(encodePong(m.nonce));
        return;
      case 'PONG':
        return;
      case 'STATS':
        if (this.state !== 'ready') return this.fail(ErrorCode.UNEXPECTED_FRAME, 'STATS before WELCOME: send HELLO first', 'unexpected_frame');
        this.o.onStats?.(this.node!, m.stats);
        return;
      case 'ERROR':
        // The log is peer-safe (peer-text.ts): the text cannot forge lines or steer the terminal.
        this.o.log.warn(`${this.who()} sent ERROR ${m.code}: ${m.text}`);
        return this.close('peer sent ERROR');
      case 'BATCH':
        if (this.state !== 'ready') return this.fail(ErrorCode.UNEXPECTED_FRAME, 'BATCH before WELCOME: send HELLO first', 'unexpected_frame');
        return this.batch(m);
      default:
        return this.fail(ErrorCode.UNEXPECTED_FRAME, `${m.type} is not sent to an aggregator`, 'unexpected_frame');
    }
  }

  private async hello(version: number, node: string, token: string): Promise<void> {
    if (this.state !== 'hello') return this.fail(ErrorCode.UNEXPECTED_FRAME, 'HELLO sent twice', 'unexpected_frame');
    if (version !== PROTOCOL_VERSION) {
      return this.fail(ErrorCode.UNSUPPORTED_VERSION, `protocol version ${version} is not supported; this aggregator speaks ${PROTOCOL_VERSION}`, 'unsupported_version');
    }
    this.state = 'authenticating';
    // The HELLO came in time; authentication (scrypt on a busy host) may take longer.
    clearTimeout(this.helloTimer);
    const tls = this.socket instanceof TLSSocket ? this.socket : undefined;
    const why = await this.o.auth.check(node, token, {
      certVerified: tls?.authorized === true,
      certNames: tls ? certificateNames(tls.getPeerCertificate() as never) : [],
    });
    if (why !== undefined) {
      this.o.log.warn(`${this.remote}: authentication of node ${node} failed: ${why}`);
      return this.fail(ErrorCode.AUTH_FAILED, `authentication failed for node ${node}`, 'auth_failed');
    }
    if (this.state !== 'authenticating') return;
    clearTimeout(this.helloTimer);
    if (!this.o.admit()) return this.fail(ErrorCode.BUSY, 'the aggregator is at its connection limit; retry later', 'busy');
    this.node = node;
    const old = this.o.nodes.attach(node, this, this.remote);
    if (old) this.o.log.warn(`node ${node} connected again from ${this.remote}; closing its previous connection`);
    // Under the node's lock: WELCOME reflects every batch a previous connection stored.
    try {
      const st = await this.o.nodes.withLock(node, () => this.o.store.state(node));
      this.o.nodes.stored(node, st);
      this.lastReceived = st.seq;
      this.acked = st.seq;
      if (this.state !== 'authenticating') return;
      this.state = 'ready';
      this.socket.write(encodeWelcome(st.seq, this.o.maxFrameBytes, WELCOME_REVISION));
      this.o.log.info(`node ${node} connected from ${this.remote} (last stored seq ${st.seq})`);
    } catch (e) {
      this.o.log.error(`${this.who()}: ${(e as Error).message}`);
      this.fail(ErrorCode.STORAGE_FAILED, 'the aggregator cannot read its sequence state; retry later', 'storage_failed');
    }
  }

  private async batch(b: Batch): Promise<void> {
    const node = this.node!;
    const row = this.o.nodes.row(node);
    row.batches++;
    if (b.seq <= this.acked && this.pending.length === 0 && !this.storeRun) {
      // A replay of something already stored: acknowledge, store nothing.
      row.duplicate_batches++;
      this.socket.write(encodeAck(this.acked));
      return;
    }
    if (b.seq <= this.lastReceived) {
      if (b.seq <= this.acked) {
        row.duplicate_batches++;
        return; // covered by the ACK that follows the store in progress
      }
      return this.fail(ErrorCode.BAD_BATCH, `BATCH seq ${b.seq} does not increase (last was ${this.lastReceived})`, 'bad_batch');
    }
    if (b.seq - this.lastReceived > this.o.maxSeqJump) {
      // Refused before anything is decoded or stored: the node's sequence stays where it was.
      return this.fail(ErrorCode.SEQUENCE_JUMP, `BATCH seq ${b.seq} is ${b.seq - this.lastReceived} past the last seq ${this.lastReceived} (max_seq_jump ${this.o.maxSeqJump}); renumber unacknowledged batches from ${this.lastReceived + 1}`, 'sequence_jump');
    }
    if (b.count > this.o.maxBatchEntries) return this.fail(ErrorCode.BAD_BATCH, `BATCH ${b.seq} holds ${b.count} entries; the limit is ${this.o.maxBatchEntries}`, 'bad_batch');
    // Ordinary bodies are inflated here into a scratch buffer shared by all connections
    // (ingest/inflate.ts): storedBatch copies it out before anything is awaited. Big ones go to
    // the thread pool.
    const raw = inlineBatchBytes(b, this.o.maxFrameBytes * 8) ?? await decodeBodyBytes(b, this.o.maxFrameBytes * 8);
    const stored = storedBatch(b.seq, b.count, raw, { node, maxMessageBytes: this.o.maxMessageBytes });
    this.lastReceived = b.seq;
    this.pending.push(stored);
    if (this.pending.length >= MAX_PENDING_BATCHES) this.socket.pause();
    this.storeLoop();
  }

  private storeLoop(): void {
    // With something pending the loop awaits before it ends, so storeRun is set before store()
    // clears it (in its finally, in the same turn as the emptiness check: no batch slips between).
    if (this.storeRun || this.pending.length === 0 || this.state !== 'ready') return;
    this.storeRun = this.store();
  }

  /** Stores what is pending, ACKs, and repeats while more arrived meanwhile. */
  private async store(): Promise<void> {
    const node = this.node!;
    try {
      while (this.pending.length > 0 && this.state === 'ready') {
        const group = this.pending;
        this.pending = [];
        if (!this.stopping) this.socket.resume();
        const st = await this.o.nodes.withLock(node, async () => {
          // Another connection of this node may have stored some of these meanwhile.
          const cur = await this.o.store.state(node);
          const fresh = group.filter((b) => b.seq > cur.seq);
          this.o.nodes.row(node).duplicate_batches += group.length - fresh.length;
          return fresh.length ? this.o.store.append(node, fresh) : cur;
        });
        // Stored: no one holds the bytes any more. (After a failure they are left to the GC: a
        // client library may still hold a reference to them.)
        releaseStored(group);
        this.o.nodes.stored(node, st);
        if (st.seq > this.acked) {
          this.acked = st.seq;
          if (this.state === 'ready') this.socket.write(encodeAck(st.seq));
        }
      }
    } catch (e) {
      this.pending = [];
      this.o.log.error(`${this.who()}: ${(e as Error).message}`);
      const text = e instanceof StorageError ? 'the aggregator could not store the batch; retry later' : `internal error: ${(e as Error).message}`;
      this.fail(ErrorCode.STORAGE_FAILED, text, 'storage_failed');
    } finally {
      this.storeRun = undefined;
    }
  }

  /** Sends ERROR and closes; nothing more from this connection is handled or stored. */
  fail(code: number, text: string, reason: string): void {
    if (this.state === 'closing') return;
    this.o.reject(reason);
    this.o.log.warn(`${this.who()}: ${reason}: ${text}`);
    this.socket.write(encodeError(code, text));
    this.close(text);
  }

  close(why: string, reason?: string): void {
    if (this.state === 'closing') return;
    if (reason) this.o.reject(reason);
    this.state = 'closing';
    this.pending = [];
    clearTimeout(this.helloTimer);
    this.o.log.debug(`${this.who()}: closing: ${why}`);
    this.socket.end();
    // A peer that does not read must not keep the socket open.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  /** A newer connection of the same node took over. */
  replaced(): void {
    this.close('replaced by a newer connection of the same node');
  }

  /** Orderly stop: let a store in progress finish (and be ACKed), then say SHUTTING_DOWN. */
  async shutdown(): Promise<void> {
    this.stopping = true;
    this.socket.pause();
    await this.storeRun;
    if (this.state !== 'closing') {
      this.socket.write(encodeError(ErrorCode.SHUTTING_DOWN, 'the aggregator is stopping; reconnect later'));
      this.close('shutting down');
    }
    await this.closed;
  }
}
