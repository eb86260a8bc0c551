/**
 * Listening on a Unix socket path with its permissions set from the start. bind() creates the
 * socket file with 0777 minus the process umask; a chmod afterwards would leave a moment in which
 * any local user could connect (the control socket steers the agent, the ingest socket forges
 * entries). So the umask is narrowed to the wanted mode around listen(), which binds
 * synchronously for a path, and put back at once: no await between the two, so nothing else in
 * this process creates a file under the narrowed umask.
 */
import { once } from 'node:events';
import type { Server } from 'node:net';

export async function listenUnix(server: Server, path: string, mode: number): Promise<void> {
  const previous = process.umask(0o777 & ~mode);
  try {
    server.listen(path);
  } finally {
    process.umask(previous);
  }
  await Promise.race([
    once(server, 'listening'),
    once(server, 'error').then(([e]) => {
      throw e;
    }),
  ]);
}
