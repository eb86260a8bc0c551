import { readFileSync } from 'node:fs';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { encodeError, ErrorCode } from '../forward/protocol/index.ts';
import type { AgentLog } from '../log.ts';
import type { TlsConfig } from './config.ts';

export class ListenError extends Error {}

/** Splits `host:port` (IPv6 in brackets allowed). */
export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
  return { host, port: Number(listen.slice(i + 1)) };
}

/**
 * The listening socket for agents: plain TCP, or TLS with optional client certificates (mutual
 * TLS) via node:tls. Each accepted (and, with TLS, handshaken) socket goes to onSocket, up to
 * maxConnections at once; more are answered ERROR BUSY and closed.
 */
export class AgentListener {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private readonly tls: TlsConfig;
  private readonly log: AgentLog;
  private readonly maxConnections: number;
  private readonly onSocket: (s: Socket) => void;
  private readonly reject: (reason: string) => void;
  tlsFailures = 0;

  constructor(o: { tls: TlsConfig; log: AgentLog; maxConnections: number; onSocket: (s: Socket) => void; reject: (reason: string) => void }) {
    this.tls = o.tls;
    this.log = o.log;
    this.maxConnections = o.maxConnections;
    this.onSocket = o.onSocket;
    this.reject = o.reject;
  }

  get connections(): number {
    return this.sockets.size;
  }

  private accept = (s: Socket): void => {
    if (this.sockets.size >= this.maxConnections) {
      this.reject('busy');
      s.on('error', () => {});
      s.end(encodeError(ErrorCode.BUSY, `the aggregator is at its connection limit (${this.maxConnections}); retry later`));
      return;
    }
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    this.onSocket(s);
  };

  private create(): Server {
    const t = this.tls;
    if (!t.enabled) return createTcpServer(this.accept);
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
    }, this.accept);
    server.on('tlsClientError', (e, s) => {
      this.tlsFailures++;
      this.reject('tls_handshake');
      this.log.warn(`TLS handshake with ${s.remoteAddress}:${s.remotePort} failed: ${e.message}`);
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
  }

  get port(): number {
    const a = this.server?.address();
    return a && typeof a === 'object' ? a.port : 0;
  }

  /** Stops accepting; existing connections are left to their sessions. */
  async close(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  destroyAll(): void {
    for (const s of this.sockets) s.destroy();
  }
}
