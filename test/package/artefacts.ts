/**
 * The packaged executables the package tests run, built once per test run: `toolchain/package.ts
 * --if-stale` under an flock, so concurrent test files wait for one build and reuse it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, LineWatcher } from '../helpers/agent.ts';

export const DIST = join(ROOT, 'dist');
export const X64 = join(DIST, 'bin/logloom-linux-x64');
export const ARM64 = join(DIST, 'bin/logloom-linux-arm64');
export const QEMU_USERNS = join(ROOT, 'toolchain/qemu-userns.sh');

export function ensurePackaged(): void {
  mkdirSync(DIST, { recursive: true });
  execFileSync('flock', [join(DIST, '.package.lock'), process.execPath, join(ROOT, 'toolchain/package.ts'), '--if-stale', '--target', 'x64', '--target', 'arm64'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...readdirSync(path).map((n) => newest(join(path, n))));
}

/** dist/rootfs-<target>.tar.gz, rebuilt when the executable or rootfs/ changed since. */
export function ensureRootfs(target: 'arm64' | 'x64'): string {
  ensurePackaged();
  const tarball = join(DIST, `rootfs-${target}.tar.gz`);
  const inputs = Math.max(newest(join(DIST, `bin/logloom-linux-${target}`)), newest(join(ROOT, 'rootfs')), newest(join(ROOT, 'toolchain/rootfs.sh')));
  if (!existsSync(tarball) || statSync(tarball).mtimeMs < inputs) {
    execFileSync('flock', [join(DIST, '.package.lock'), join(ROOT, 'toolchain/rootfs.sh'), target], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  }
  return tarball;
}

export interface Proc {
  stdout: LineWatcher;
  stderr: LineWatcher;
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

/** Spawns a program and watches its output lines. */
export function start(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Proc {
  const proc = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const stdout = new LineWatcher();
  const stderr = new LineWatcher();
  proc.stdout.on('data', (d) => stdout.feed(d));
  proc.stderr.on('data', (d) => stderr.feed(d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return { stdout, stderr, pid: proc.pid!, exited, kill: (s = 'SIGTERM') => proc.kill(s) };
}

/** Runs a program to completion. */
export async function runTo(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = start(cmd, args, opts);
  const { code } = await p.exited;
  return { code, stdout: p.stdout.lines.join('\n'), stderr: p.stderr.lines.join('\n') };
}

/** Runs the arm64 executable with arm64 binfmt in a private namespace (children emulated too). */
export function arm64(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): [string, string[], { env?: NodeJS.ProcessEnv }] {
  return [QEMU_USERNS, ['arm64', ARM64, ...args], opts];
}
