import { s } from '../../lib/schema/schema.ts';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { formatHostPort, type ListenAddress } from './listen-address.ts';
import type { InputContext } from './input.ts';
import type { RawStream } from '../buffer/fast-ingest.ts';
import { guardData, pauseUntilDrained, type StreamTally } from './common.ts';

export interface TlsFiles {
  cert: string;
  key: string;
  ca?: string;
  client_auth: boolean;
}

export interface StreamServerOptions {
  listen: ListenAddress;
  maxConnections: number;
  tls?: TlsFiles;
  /** Connections counted against maxConnections (default: this server's); lets listeners share one limit. */
  activeConnections?: () => number;
  /** Called for each accepted connection (after the TLS handshake when TLS is on). */
  onConnection(sock: Socket, peer: string): void;
}

/** A TLS file that cannot be read, named in the error so the operator knows which key to fix. */
export class TlsConfigError extends Error {
  constructor(key: string, path: string, cause: Error) {
    super(`tls.${key}: cannot read ${path}: ${cause.message}`);
    this.name = 'TlsConfigError';
  }
}

function readTls(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new TlsConfigError(key, path, e as Error);
  }
}

/**
 * The TCP (or TLS) listener shared by the stream inputs (tcp, syslog over TCP): a connection
 * limit (extra clients are refused and counted), byte and connection figures, and a stop that
 * lets connected peers finish what they already sent.
 */
export class StreamServer {
  readonly sockets = new Set<Socket>();
  accepted = 0;
  refused = 0;
  bytes = 0;
  tlsErrors = 0;
  private server?: Server;
  private readonly opts: StreamServerOptions;

  constructor(opts: StreamServerOptions) {
    this.opts = opts;
  }

  /** The bound address (the real port when 0 was configured). */
  address(): string {
    const a = this.server?.address();
    if (!a || typeof a === 'string') return formatHostPort(this.opts.listen);
    return formatHostPort({ host: a.address, port: a.port });
  }

  async start(): Promise<void> {
    const serve = (sock: Socket) => this.serve(sock);
    const t = this.opts.tls;
    if (t) {
      if (t.client_auth && !t.ca) throw new Error('tls.client_auth: true needs tls.ca (the CA that client certificates must chain to)');
      // node:tls (and OpenSSL's setup) only for listeners that serve TLS.
      const { createServer: createTlsServer } = await import('node:tls');
      const server = createTlsServer({
        cert: readTls('cert', t.cert),
        key: readTls('key', t.key),
        ca: t.ca ? readTls('ca', t.ca) : undefined,
        requestCert: t.client_auth,
        rejectUnauthorized: t.client_auth,
      }, serve);
      server.on('tlsClientError', () => this.tlsErrors++);
      this.server = server;
    } else this.server = createTcpServer(serve);
    const server = this.server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.opts.listen.port, this.opts.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  private serve(sock: Socket): void {
    if ((this.opts.activeConnections?.() ?? this.sockets.size) >= this.opts.maxConnections) {
      this.refused++;
      sock.destroy();
      return;
    }
    this.accepted++;
    this.sockets.add(sock);
    // A peer that vanished (power cut, cable pulled) would hold its slot forever without keepalive.
    sock.setKeepAlive(true, 60_000);
    sock.on('data', (chunk: Buffer) => (this.bytes += chunk.length));
    sock.on('error', () => {});
    sock.on('close', () => this.sockets.delete(sock));
    this.opts.onConnection(sock, `${sock.remoteAddress ?? '?'}:${sock.remotePort ?? 0}`);
  }

  /** Stops listening; connected peers get an end and up to graceMs to close. */
  async stop(graceMs = 1000): Promise<void> {
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const sock of this.sockets) sock.end();
    const deadline = setTimeout(() => this.sockets.forEach((s) => s.destroy()), graceMs);
    await closed;
    clearTimeout(deadline);
  }
}

/**
 * A connection's bytes into its codec stream (ctx.openStream), the socket paused while the buffer
 * is full (block); the tally keeps the stream's figures after the connection closes.
 */
export function serveStream(ctx: InputContext, sock: Socket, stream: RawStream, tally: StreamTally): void {
  tally.add(stream);
  // The stream's drained(): its chunk parsed off the main thread, and room in the buffer.
  const pause = () => pauseUntilDrained(stream, sock);
  sock.on('data', guardData(ctx, (chunk: Buffer) => stream.feed(chunk) || pause()));
  sock.on('end', guardData(ctx, () => stream.end() || pause()));
  sock.on('close', () => tally.close(stream));
}

/** Emits a draft; on backpressure pauses the socket until the pipeline has room again. */
export function emitOrPause(ctx: InputContext, sock: Socket, draft: Parameters<InputContext['emit']>[0]): void {
  if (!ctx.emit(draft)) pauseUntilDrained(ctx, sock);
}

/** The `tls:` block of a stream input; absent or null = plain TCP. */
export const tlsSchema = s.optional(
  s.object({
    cert: s.string({ doc: 'Server certificate chain (PEM file).', file: true }),
    key: s.string({ doc: 'Private key of the certificate (PEM file).', file: true }),
    ca: s.optional(s.string({ doc: '', file: true }), { doc: 'CA bundle (PEM) that client certificates must chain to; needed with client_auth.' }),
    client_auth: s.bool({ default: false, doc: 'Require a client certificate signed by ca (mutual TLS); clients without one are refused.' }),
  }, { doc: '', refine: (t) => (t.client_auth && !t.ca ? [{ key: 'ca', message: 'required with client_auth: true (the CA client certificates must chain to)' }] : []) }),
  { doc: 'Serve TLS instead of plain TCP (node:tls); omit for plain TCP.' },
);
