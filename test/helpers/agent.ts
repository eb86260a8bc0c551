import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const CLI = join(ROOT, 'cli/main.ts');

/** A fresh temporary directory for one test. */
export function tempDir(prefix = 'logloom-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

const LOG_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /;

/** Collects a stream's lines and lets a test wait for one matching a pattern (an event, not a sleep). */
export class LineWatcher {
  readonly lines: string[] = [];
  /** The lines as written, before a log timestamp was taken off. */
  readonly raw: string[] = [];
  private buf = '';
  private waiters: { re: RegExp; resolve: (l: string) => void }[] = [];

  /**
   * logLines: the stream is the agent's or aggregator's own log, whose lines start with an ISO
   * timestamp; tests match what follows it (`[WARN] Failed to load plugin …`), so it is taken off.
   */
  private readonly logLines: boolean;
  constructor(logLines = false) {
    this.logLines = logLines;
  }

  feed(chunk: Buffer | string): void {
    this.buf += chunk.toString();
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const rawLine = this.buf.slice(0, nl);
      this.raw.push(rawLine);
      const line = this.logLines ? rawLine.replace(LOG_TIMESTAMP, '') : rawLine;
      this.buf = this.buf.slice(nl + 1);
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => (w.re.test(line) ? (w.resolve(line), false) : true));
    }
  }

  /** Resolves with the first line (already seen or future) matching re; rejects after timeoutMs. */
  waitFor(re: RegExp, timeoutMs = 15_000): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re}; saw:\n${this.lines.slice(-20).join('\n')}`)), timeoutMs);
      this.waiters.push({ re, resolve: (l) => (clearTimeout(timer), resolve(l)) });
    });
  }
}

export interface CliProcess {
  proc: ChildProcess;
  stdout: LineWatcher;
  stderr: LineWatcher;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `logloom <args>` from the checkout on the current (pinned) node. */
export function startCli(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: 'pipe' | 'ignore' } = {}): CliProcess {
  const proc = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  const stdout = new LineWatcher();
  const stderr = new LineWatcher(true);
  proc.stdout!.on('data', (d) => stdout.feed(d));
  proc.stderr!.on('data', (d) => stderr.feed(d));
  // Never leave an agent behind when the test process ends early (a failed assertion, a timeout).
  const reap = () => proc.kill('SIGKILL');
  process.once('exit', reap);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => {
      process.off('exit', reap);
      resolve({ code, signal });
    }),
  );
  return { proc, stdout, stderr, exited };
}

/** Runs a CLI command to completion. */
export async function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startCli(args, { env: opts.env, stdin: opts.input !== undefined ? 'pipe' : 'ignore' });
  if (opts.input !== undefined) p.proc.stdin!.end(opts.input);
  const { code } = await p.exited;
  return { code, stdout: p.stdout.lines.join('\n'), stderr: p.stderr.lines.join('\n') };
}

/**
 * Waits for a process's ready line on stderr; rejects if it exits first or the time runs out, and
 * then kills it, so that no process is left behind keeping the test process (and its ports) alive.
 * Generous by default: on a loaded 2-core machine a cold start can take well over 15 s.
 */
export async function waitStarted(p: CliProcess, ready: RegExp, what: string, timeoutMs = 60_000): Promise<string> {
  try {
    return await Promise.race([
      p.stderr.waitFor(ready, timeoutMs),
      p.exited.then(({ code }) => {
        throw new Error(`${what} exited with ${code} before starting:\n${p.stderr.lines.join('\n')}`);
      }),
    ]);
  } catch (e) {
    p.proc.kill('SIGKILL');
    throw e;
  }
}

export interface RunningAgent extends CliProcess {
  dir: string;
  configPath: string;
  ingest: string;
  control: string;
  /** Sends SIGTERM and waits for exit. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `logloom run` on a config whose `logloom:` body is given (YAML, indented 2 spaces);
 * DIR in it is replaced by the test's temp dir. Resolves once the agent says it started.
 * The control socket is DIR/run/control.sock (a body with its own `control:` must keep that).
 */
export async function startAgent(body: string, dir = tempDir(), startTimeoutMs = 60_000): Promise<RunningAgent> {
  // The control socket goes in the test dir; a body with its own `control:` section must set it.
  const control = /^  control:/m.test(body) ? '' : `  control:\n    socket: ${dir}/run/control.sock\n`;
  const yaml = `logloom:\n  node_id: test-node\n  data_dir: ${dir}/data\n  runtime_dir: ${dir}/run\n${control}` + body.replaceAll('DIR', dir);
  const configPath = join(dir, 'logloom.yaml');
  writeFileSync(configPath, yaml);
  const p = startCli(['run', '-c', configPath]);
  await waitStarted(p, /started on node/, 'agent', startTimeoutMs);
  return {
    ...p,
    dir,
    configPath,
    ingest: `${dir}/run/ingest.sock`,
    control: `${dir}/run/control.sock`,
    stop: () => {
      p.proc.kill('SIGTERM');
      return p.exited;
    },
  };
}
