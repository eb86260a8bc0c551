import { createConnection } from 'node:net';

/**
 * The control socket speaks one JSON object per line: a request `{"op":"status"}` gets one
 * answer `{"ok":true,"result":…}` or `{"ok":false,"error":"…"}`. Ops: status, plugins.enable and
 * plugins.disable (`name`, or `type` for every plugin of a type), plugins.reload (`name`),
 * plugins.rescan, lang.set, lang.get, reopen.
 */
export interface ControlRequest {
  op: string;
  [k: string]: unknown;
}
export type ControlAnswer = { ok: true; result: unknown } | { ok: false; error: string };

/** Sends one request to a control socket and resolves with its answer. */
export function controlRequest(socketPath: string, req: ControlRequest, timeoutMs = 5000): Promise<ControlAnswer> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        sock.end();
        try {
          resolve(JSON.parse(buf.slice(0, nl)) as ControlAnswer);
        } catch (e) {
          reject(new Error(`malformed answer from ${socketPath}: ${(e as Error).message}`));
        }
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? ' (is the agent running? see control.socket)' : '';
      reject(new Error(`cannot reach the control socket ${socketPath}: ${e.code ?? e.message}${hint}`));
    });
  });
}
