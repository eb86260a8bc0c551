import { mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { s, type Infer } from '../../lib/schema/schema.ts';
import { defaultPaths } from '../../lib/paths.ts';
import type { Input, InputContext } from './input.ts';
import { listenUnix } from '../../lib/unix-socket.ts';
import { draftFromLine, guardData, inputSchema, pauseUntilDrained, StreamTally } from './common.ts';
import { LineSplitter } from '../../lib/line-splitter.ts';

export const schema = inputSchema('Local stream socket: NDJSON entries or plain text lines (what `logloom send` writes to).', {
  path: s.string({ default: defaultPaths.ingestSocket, doc: 'Socket path.' }),
  mode: s.int({ min: 0, max: 0o777, default: 0o660, doc: 'Permissions of the socket file (octal in YAML: 0o660 or 432).' }),
  max_line_bytes: s.size({ min: 64, max: 64 * 1024 * 1024, default: 1024 * 1024, doc: 'Longest line kept; the rest of a longer line is discarded and the entry marked truncated.' }),
  max_connections: s.int({ min: 1, max: 65536, default: 256, doc: 'Concurrent clients; more are refused and counted.' }),
});
export type UnixInputConfig = Infer<typeof schema> & { type: 'unix' };

/** Serves many clients at once; applies backpressure per connection (pause/resume) under `block`. */
export function create(config: UnixInputConfig, ctx: InputContext): Input {
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  /** The codec streams of the connections, so that stop() waits for bytes still being parsed. */
  const streams = new StreamTally();
  let refused = 0;
  let accepted = 0;

  function serve(sock: Socket): void {
    if (sockets.size >= config.max_connections) {
      refused++;
      sock.destroy();
      return;
    }
    accepted++;
    sockets.add(sock);
    const pause = () => pauseUntilDrained(ctx, sock);
    // Fast path (ring buffer): bytes go through the codec into the ring without a JS object per line.
    const stream = ctx.openStream?.('unix', config.max_line_bytes);
    if (stream) {
      streams.add(stream);
      const pauseStream = () => pauseUntilDrained(stream, sock);
      sock.on('data', guardData(ctx, (chunk: Buffer) => stream.feed(chunk) || pauseStream()));
      sock.on('end', guardData(ctx, () => stream.end() || pauseStream()));
      sock.on('close', () => streams.close(stream));
    } else {
      const splitter = new LineSplitter(config.max_line_bytes, (line, cut) => {
        const draft = draftFromLine(line, cut, 'unix', (why) => ctx.reject(why));
        if (draft && !ctx.emit(draft)) pause();
      });
      sock.on('data', guardData(ctx, (chunk: Buffer) => splitter.push(chunk)));
      sock.on('end', guardData(ctx, () => splitter.end()));
    }
    sock.on('error', () => {});
    sock.on('close', () => sockets.delete(sock));
  }

  return {
    async start() {
      await mkdir(dirname(config.path), { recursive: true });
      await unlink(config.path).catch(() => {});
      server = createServer(serve);
      await listenUnix(server, config.path, config.mode);
      ctx.log.debug(`listening on ${config.path}`);
    },
    async stop() {
      const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      // Let clients finish the lines already sent: end our side, then wait for them to close.
      for (const sock of sockets) sock.end();
      const deadline = setTimeout(() => sockets.forEach((s) => s.destroy()), 1000);
      await closed;
      clearTimeout(deadline);
      await streams.settled();
      await unlink(config.path).catch(() => {});
    },
    status: () => ({ path: config.path, connections: sockets.size, accepted, refused }),
  };
}
