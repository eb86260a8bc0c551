import { s, type Infer } from '../../lib/schema/schema.ts';
import type { EntryDraft } from '../../entry/build.ts';
import { decodeUtf8 } from '../../entry/sanitise.ts';
import type { Input, InputContext } from './input.ts';
import { draftFromLine, guardData, inputSchema, StreamTally } from './common.ts';
import { LineSplitter } from '../../lib/line-splitter.ts';
import { HOST_PORT, HOST_PORT_DOC, parseHostPort } from './listen-address.ts';
import { InputStartError } from './errors.ts';
import { emitOrPause, serveStream, StreamServer, tlsSchema } from './stream-server.ts';

export const schema = inputSchema('TCP listener for NDJSON entries or plain text lines, like Fluent Bit\'s in_tcp and Vector\'s socket source.', {
  listen: s.string({ default: '0.0.0.0:5170', pattern: HOST_PORT, patternDoc: HOST_PORT_DOC, doc: 'Address to listen on; port 0 picks a free port (shown by `logloom status`).' }),
  format: s.enum(['auto', 'json', 'text'] as const, {
    default: 'auto',
    doc: 'auto: a line starting with { is an NDJSON entry, anything else plain text; json: every line must be an NDJSON entry (others are kept as text and counted as parse errors); text: every line is a plain message.',
  }),
  max_line_bytes: s.size({ min: 64, max: 64 * 1024 * 1024, default: 1024 * 1024, doc: 'Longest line kept; the rest of a longer line is discarded and the entry marked truncated.' }),
  max_connections: s.int({ min: 1, max: 65536, default: 256, doc: 'Concurrent clients; more are refused (closed at once) and counted.' }),
  tls: tlsSchema,
});
export type TcpInputConfig = Infer<typeof schema> & { type: 'tcp' };

/**
 * Serves many clients; each line becomes an entry; a full buffer pauses the sending socket.
 * With the ring buffer, each connection's bytes go through the codec straight into it (the fast
 * path); otherwise each line is a draft through emit.
 */
export function create(config: TcpInputConfig, ctx: InputContext): Input {
  let parseErrors = 0;
  let truncated = 0;
  let lines = 0;
  /** The fast-path streams' figures (their codec counts lines). */
  const streams = new StreamTally();

  function draftFor(line: Buffer, cut: boolean, source: string): EntryDraft | undefined {
    if (cut) truncated++;
    const reject = (why: string) => {
      parseErrors++;
      ctx.reject(why);
    };
    if (config.format === 'text') {
      const text = decodeUtf8(line);
      return text.length ? { message: text, source, truncated: cut || undefined } : undefined;
    }
    if (config.format === 'json' && !cut && line.length > 0 && decodeUtf8(line.subarray(0, 64)).trimStart()[0] !== '{') {
      reject('not a JSON object');
      return { message: decodeUtf8(line), source };
    }
    return draftFromLine(line, cut, source, reject);
  }

  const server = new StreamServer({
    listen: parseHostPort(config.listen),
    maxConnections: config.max_connections,
    tls: config.tls,
    onConnection(sock, peer) {
      const source = `tcp:${peer}`;
      const stream = ctx.openStream?.(source, config.max_line_bytes, config.format);
      if (stream) return serveStream(ctx, sock, stream, streams);
      let firstByteAt = Date.now();
      const splitter = new LineSplitter(config.max_line_bytes, (line, cut) => {
        const draft = draftFor(line, cut, source);
        if (!draft) return;
        lines++;
        draft.receivedAt = firstByteAt;
        emitOrPause(ctx, sock, draft);
      });
      sock.on('data', guardData(ctx, (chunk: Buffer) => {
        firstByteAt = Date.now();
        splitter.push(chunk);
      }));
      sock.on('end', guardData(ctx, () => splitter.end()));
    },
  });

  /** Totals of both paths. */
  const totals = () => {
    const c = streams.totals();
    return { lines: lines + c.records + c.filtered, truncated: truncated + c.cut, parse_errors: parseErrors + c.rejected };
  };

  return {
    async start() {
      try {
        await server.start();
      } catch (e) {
        throw new InputStartError(ctx.name, `cannot listen on ${config.tls ? 'tls' : 'tcp'}:${config.listen}`, e);
      }
      ctx.log.info(`listening on ${config.tls ? 'tls' : 'tcp'}:${server.address()}`);
    },
    async stop() {
      await server.stop();
      await streams.settled();
    },
    status: () => ({
      listening: `${config.tls ? 'tls' : 'tcp'}:${server.address()}`,
      connections: server.sockets.size,
      accepted: server.accepted,
      refused: server.refused,
      bytes: server.bytes,
      ...totals(),
      tls_errors: server.tlsErrors,
    }),
  };
}
