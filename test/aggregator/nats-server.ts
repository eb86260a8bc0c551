import { spawn } from 'node:child_process';
import { LineWatcher, type CliProcess } from '../helpers/agent.ts';

export interface RunningNats extends CliProcess {
  port: number;
  url: string;
  kill(): Promise<void>;
}

/**
 * A real nats-server (Debian package) with JetStream, on loopback, storing under `storeDir`.
 * port 0 = a random port (the server picks it, no race); pass the old port to restart it.
 */
export async function startNats(storeDir: string, port = 0): Promise<RunningNats> {
  const proc = spawn('/usr/sbin/nats-server', ['-js', '-sd', storeDir, '-a', '127.0.0.1', '-p', port === 0 ? '-1' : String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout = new LineWatcher();
  const stderr = new LineWatcher();
  proc.stdout.on('data', (d) => stdout.feed(d));
  proc.stderr.on('data', (d) => stderr.feed(d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const line = await Promise.race([
    stderr.waitFor(/Listening for client connections on/),
    exited.then(() => {
      throw new Error(`nats-server exited:\n${stderr.lines.join('\n')}`);
    }),
  ]);
  await stderr.waitFor(/Server is ready/);
  const p = Number(/:(\d+)\s*$/.exec(line)![1]);
  process.once('exit', () => proc.kill('SIGKILL'));
  return {
    proc, stdout, stderr, exited, port: p, url: `nats://127.0.0.1:${p}`,
    kill: async () => {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}
