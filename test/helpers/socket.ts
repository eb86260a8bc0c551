/** Writing to an agent's unix input (or any stream socket) the way a client program would. */
import { createConnection } from 'node:net';

/**
 * Connects to a unix socket path, writes `data` (several parts are written one after another,
 * each waited for, so the agent may see them as separate reads), closes, and resolves once the
 * connection is fully closed.
 */
export function writeToSocket(path: string, data: string | Buffer | readonly Buffer[]): Promise<void> {
  const parts = Array.isArray(data) ? data : [data as string | Buffer];
  return new Promise((resolve, reject) => {
    const c = createConnection(path, async () => {
      for (const p of parts) await new Promise<void>((r) => c.write(p, () => r()));
      c.end();
    });
    c.on('error', reject);
    c.on('close', () => resolve());
  });
}

/** Lines, each followed by a newline, in one write. */
export function sendLines(path: string, lines: readonly string[]): Promise<void> {
  return writeToSocket(path, lines.map((l) => `${l}\n`).join(''));
}
