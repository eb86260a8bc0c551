/**
 * The packaged executables the package tests run, built once per test run: `toolchain/package.ts
 * --if-stale` under an flock, so concurrent test files wait for one build and reuse it.
 */
import { execFileSync, spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, LineWatcher } from '../helpers/agent.ts';

export const DIST = join(ROOT, 'dist');
export const X64 = join(DIST, 'bin/logloom-linux-x64');
export const ARM64 = join(DIST, 'bin/logloom-linux-arm64');
/** The x64 executable built with a V8 start-up snapshot (make package STARTUP=snapshot). */
export const X64_SNAPSHOT = join(DIST, 'bin/logloom-linux-x64-snapshot');
export const QEMU_USERNS = join(ROOT, 'toolchain/qemu-userns.sh');

export function ensurePackaged(startup: 'code-cache' | 'snapshot' = 'code-cache'): void {
  mkdirSync(DIST, { recursive: true });
  const args = startup === 'snapshot' ? ['--target', 'x64', '--startup', 'snapshot'] : ['--target', 'x64', '--target', 'arm64'];
  execFileSync('flock', [join(DIST, '.package.lock'), process.execPath, join(ROOT, 'toolchain/package.ts'), '--if-stale', ...args], {
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

// No PATH, no HOME: nothing from the build machine (its node, its npm) can be used.
export const BARE_ENV = { LANG: 'C' };

/** `logloom aggregator` from the x64 executable on a free loopback port, with token auth for one node. */
export async function startX64Aggregator(dir: string, node: string): Promise<{ port: number; store: string; token: string; proc: Proc }> {
  mkdirSync(dir, { recursive: true });
  const cfg = join(dir, 'aggregator.yaml');
  writeFileSync(cfg, `logloom:
  node_id: aggregator
  data_dir: ${dir}/data
  runtime_dir: ${dir}/run
  control:
    socket: ${dir}/run/control.sock
  aggregator:
    listen: 127.0.0.1:0
    auth:
      mode: token
      tokens_file: ${dir}/tokens
`);
  const t = await runTo(X64, ['aggregator', 'token', node, '-c', cfg], { env: BARE_ENV });
  assert.equal(t.code, 0, t.stderr);
  const proc = start(X64, ['aggregator', '-c', cfg], { env: BARE_ENV });
  const line = await Promise.race([
    proc.stderr.waitFor(/aggregator listening on /, 30_000),
    proc.exited.then(({ code }) => { throw new Error(`aggregator exited ${code}:\n${proc.stderr.lines.join('\n')}`); }),
  ]);
  return { port: Number(/listening on [^ ]*:(\d+)/.exec(line)![1]), store: join(dir, 'data/store'), token: t.stdout.trim(), proc };
}

/** Re-checks until check() gives a value (the store's node directory may not exist yet, so no fs.watch). */
export function waitUntil<T>(check: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const v = check();
      if (v !== undefined) return resolve(v);
      if (Date.now() > deadline) return reject(new Error(`timed out after ${timeoutMs} ms`));
      setTimeout(attempt, 200);
    };
    attempt();
  });
}

/** Every entry line stored for a node (the embedded NDJSON store). */
export function stored(store: string, node: string): { message: string; node: string; module: string; source: string }[] {
  const dir = join(store, node);
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f.endsWith('.ndjson')).sort()
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
}

