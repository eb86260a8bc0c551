import { once } from 'node:events';
import { createServer } from 'node:net';

/**
 * A loopback TCP port that was free a moment ago, for a fixture that must know its port before it
 * starts (a cluster's routes, a peer restarted at the same address). Prefer port 0 and reading
 * the bound port back wherever the program allows it.
 */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as { port: number }).port;
  srv.close();
  await once(srv, 'close');
  return port;
}
