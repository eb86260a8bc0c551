import { spawn, type ChildProcess } from 'node:child_process';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { LineWatcher } from './agent.ts';

/**
 * A real serial line for tests: a socat pseudo-terminal pair. The agent opens `device`
 * (a symlink to /dev/pts/N, like a /dev/serial/by-id link); the test writes into `console`
 * as the device would. `kill()` makes the port vanish (like unplugging the adapter) and
 * `start()` brings it back under the same path.
 */
export class PtyPair {
  readonly device: string;
  readonly console: string;
  private proc: ChildProcess | undefined;
  private fh: FileHandle | undefined;

  constructor(dir: string, name = 'ttyV') {
    this.device = join(dir, `${name}1`);
    this.console = join(dir, `${name}0`);
  }

  /** Starts socat and resolves once it reports its transfer loop (an event, not a sleep). */
  async start(): Promise<this> {
    const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${this.console}`, `pty,raw,echo=0,link=${this.device}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    const err = new LineWatcher();
    proc.stderr!.on('data', (d) => err.feed(d));
    await Promise.race([
      err.waitFor(/starting data transfer loop/, WAIT),
      new Promise((_, reject) => proc.once('exit', (code) => reject(new Error(`socat exited with ${code}: ${err.lines.join('\n')}`)))),
    ]);
    return this;
  }

  /** Writes bytes as the device would (keeps the console side open between writes). */
  async write(data: string | Buffer): Promise<void> {
    this.fh ??= await open(this.console, constants.O_WRONLY | constants.O_NOCTTY);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += (await this.fh.write(buf, off, buf.length - off)).bytesWritten;
  }

  /** kill -9 socat: both ends vanish, like a USB adapter being pulled. */
  async kill(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    await this.fh?.close().catch(() => {});
    this.fh = undefined;
    if (!proc) return;
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    // socat cannot remove its links after kill -9. Remove them as udev removes the node and its
    // by-id link on unplug; a stale link could otherwise point at a /dev/pts number that another
    // program's pty reuses.
    await Promise.all([rm(this.device, { force: true }), rm(this.console, { force: true })]);
  }
}

/**
 * Upper bound for waiting on an event in these tests. Generous because the machines running them
 * can be heavily loaded; a passing test never waits this long (it waits on events, not time).
 */
export const WAIT = 60_000;
