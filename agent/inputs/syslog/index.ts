import type { Socket as UdpSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { s, type Infer } from '../../../lib/schema/schema.ts';
import type { RawStream } from '../../buffer/fast-ingest.ts';
import { SyslogFramer } from '../../buffer/syslog/framing.ts';
import { syslogDraft } from '../../buffer/syslog/draft.ts';
import type { EntryDraft } from '../../../entry/build.ts';
import type { Input, InputContext } from '../input.ts';
import { guardData, inputSchema, StreamTally } from '../common.ts';
import { formatHostPort, parseHostPort, type ListenAddress } from '../listen-address.ts';
import { emitOrPause, serveStream, StreamServer, tlsSchema } from '../stream-server.ts';
import { InputStartError } from '../errors.ts';
import { PORT } from '../../../lib/port.ts';

export const schema = inputSchema('Syslog receiver: RFC 3164 and RFC 5424 over UDP, TCP and TLS (octet-counted or newline framing, RFC 6587).', {
  listen: s.array(s.string({ doc: '', pattern: new RegExp(`^(?:udp|tcp|tls):(?:\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9_.-]+):${PORT}$`), patternDoc: 'udp:host:port, tcp:host:port or tls:host:port, e.g. udp:0.0.0.0:514' }), {
    default: ['udp:0.0.0.0:514'],
    doc: 'Listeners, each udp:host:port, tcp:host:port or tls:host:port (RFC 5425, needs the tls block; IPv6 as [::]:514); port 0 picks a free port (shown by `logloom status`).',
  }),
  max_message_bytes: s.size({ min: 480, max: 16 * 1024 * 1024, default: 64 * 1024, doc: 'Longest message kept; the rest of a longer one is discarded and the entry marked truncated.' }),
  max_connections: s.int({ min: 1, max: 65536, default: 256, doc: 'Concurrent TCP and TLS clients (over all of this input\'s listeners); more are refused and counted.' }),
  tls: { ...tlsSchema, doc: 'Certificate and key for the tls: listeners (node:tls); required when there is one.' },
});
export type SyslogInputConfig = Infer<typeof schema> & { type: 'syslog' };

/**
 * UDP peers with a codec stream of their own (each stream carries its peer's address as the
 * entries' source; a few kilobytes each). Past this many, the longest-known peer's stream is
 * closed for the new one: a datagram stream holds no state between datagrams, so only its figures
 * move to the totals, and senders spoofing many addresses cost a codec each, not memory.
 */
const UDP_PEER_STREAMS = 256;

/**
 * One input, several listeners. Each message (a datagram, or a frame of a TCP/TLS stream) becomes
 * one entry; TCP/TLS connections are paused under backpressure, UDP datagrams are dropped and
 * counted while the buffer is full (they cannot be paused).
 *
 * The bytes go to the codec (ctx.openStream): a TCP/TLS connection's stream is framed and parsed
 * there (format syslog), each datagram is one message (format syslog_datagram), and the records go
 * straight into the ring, in C when the addon is loaded. When the agent needs drafts instead (a
 * line stage or labels), each message is framed and parsed in JS (agent/buffer/syslog/, the
 * codec's JS twin) and emitted.
 */
export function create(config: SyslogInputConfig, ctx: InputContext): Input {
  const servers: { server: StreamServer; proto: 'tcp' | 'tls' }[] = [];
  const udp: { sock: UdpSocket; addr: ListenAddress }[] = [];
  let datagrams = 0;
  let udpBytes = 0;
  let udpDropped = 0;
  let udpPaused = false;
  /** The codec streams' figures (messages, cut ones, parse errors). */
  const streams = new StreamTally();
  const udpStreams = new Map<string, RawStream>();
  /** The draft path's figures. */
  let parseErrors = 0;
  let truncated = 0;
  let received = 0;

  /** Draft path: one framed message as a draft (one that does not parse is counted and kept as text). */
  function toDraft(bytes: Buffer, cut: boolean, source: string, receivedAt: number): EntryDraft | undefined {
    const r = syslogDraft(bytes, cut, source, receivedAt);
    if (!r) return undefined;
    received++;
    if (cut) truncated++;
    if (r.error !== undefined) {
      parseErrors++;
      ctx.reject(r.error);
    }
    return r.draft;
  }

  function startTcp(addr: ListenAddress, proto: 'tcp' | 'tls'): StreamServer {
    const server = new StreamServer({
      listen: addr,
      maxConnections: config.max_connections,
      tls: proto === 'tls' ? config.tls : undefined,
      activeConnections: () => tcpConnections(),
      onConnection(sock, peer) {
        const source = `syslog:${proto}:${peer.replace(/:\d+$/, '')}`;
        const stream = ctx.openStream?.(source, config.max_message_bytes, 'syslog');
        if (stream) return serveStream(ctx, sock, stream, streams);
        let firstByteAt = Date.now();
        const framer = new SyslogFramer(config.max_message_bytes, (msg, cut) => {
          const draft = toDraft(msg, cut, source, firstByteAt);
          if (draft) emitOrPause(ctx, sock, draft);
        });
        sock.on('data', guardData(ctx, (chunk: Buffer) => {
          firstByteAt = Date.now();
          framer.push(chunk);
        }));
        sock.on('end', guardData(ctx, () => framer.end()));
      },
    });
    servers.push({ server, proto });
    return server;
  }

  /** The codec stream of a UDP peer (undefined: the draft path). */
  function udpStream(address: string): RawStream | undefined {
    let stream = udpStreams.get(address);
    if (stream) return stream;
    stream = ctx.openStream?.(`syslog:udp:${address}`, config.max_message_bytes, 'syslog_datagram');
    if (!stream) return undefined;
    if (udpStreams.size >= UDP_PEER_STREAMS) {
      const [oldest, old] = udpStreams.entries().next().value!;
      udpStreams.delete(oldest);
      streams.close(old);
    }
    udpStreams.set(address, streams.add(stream));
    return stream;
  }

  /** One datagram, one message: false when the buffer is full (block). */
  function datagram(buf: Buffer, address: string): boolean {
    const stream = udpStream(address);
    if (stream) return stream.feed(buf);
    const cut = buf.length > config.max_message_bytes;
    const draft = toDraft(cut ? buf.subarray(0, config.max_message_bytes) : buf, cut, `syslog:udp:${address}`, Date.now());
    return !draft || ctx.emit(draft);
  }

  async function startUdp(addr: ListenAddress): Promise<void> {
    const sock = process.getBuiltinModule('node:dgram').createSocket({ type: isIPv6(addr.host) ? 'udp6' : 'udp4', reuseAddr: false });
    sock.on('message', guardData(ctx, (buf: Buffer, rinfo: { address: string }) => {
      datagrams++;
      udpBytes += buf.length;
      // UDP cannot be paused: while the buffer is full under `block`, datagrams are dropped and counted.
      if (udpPaused) {
        udpDropped++;
        return;
      }
      if (!datagram(buf, rinfo.address)) {
        udpPaused = true;
        void ctx.drained().then(() => (udpPaused = false));
      }
    }));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(addr.port, addr.host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.on('error', (e) => ctx.log.warn(`udp ${formatHostPort(addr)}: ${e.message}`));
    udp.push({ sock, addr });
  }

  const tcpConnections = () => servers.reduce((n, s) => n + s.server.sockets.size, 0);

  const input: Input = {
    async start() {
      for (const item of config.listen) {
        const proto = item.slice(0, 3);
        try {
          const addr = parseHostPort(item.slice(4));
          if (proto === 'udp') await startUdp(addr);
          else if (proto === 'tls' && !config.tls) throw new Error('a tls: listener needs the tls block (cert, key)');
          else await startTcp(addr, proto as 'tcp' | 'tls').start();
        } catch (e) {
          await input.stop();
          throw new InputStartError(ctx.name, `cannot listen on ${item}`, e);
        }
      }
      if (config.tls && !config.listen.some((l) => l.startsWith('tls:'))) ctx.log.warn('the tls block is unused: no tls:host:port in listen');
      ctx.log.info(`listening on ${listening().join(' ')}`);
    },
    async stop() {
      for (const u of udp.splice(0)) await new Promise<void>((resolve) => u.sock.close(() => resolve()));
      await Promise.all(servers.splice(0).map((sv) => sv.server.stop()));
      await streams.settled();
    },
    status: () => {
      const c = streams.totals();
      return {
        listening: listening().join(' '),
        messages: received + c.lines,
        datagrams,
        connections: tcpConnections(),
        accepted: servers.reduce((n, sv) => n + sv.server.accepted, 0),
        refused: servers.reduce((n, sv) => n + sv.server.refused, 0),
        bytes: udpBytes + servers.reduce((n, sv) => n + sv.server.bytes, 0),
        tls_errors: servers.reduce((n, sv) => n + sv.server.tlsErrors, 0),
        parse_errors: parseErrors + c.rejected,
        truncated: truncated + c.cut,
        udp_dropped: udpDropped,
      };
    },
  };
  return input;

  function listening(): string[] {
    const out: string[] = [];
    for (const u of udp) {
      const a = u.sock.address();
      out.push(`udp:${formatHostPort({ host: a.address, port: a.port })}`);
    }
    for (const sv of servers) out.push(`${sv.proto}:${sv.server.address()}`);
    return out;
  }
}
