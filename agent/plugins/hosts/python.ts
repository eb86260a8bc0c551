/**
 * The python kind: a `python3` child per plugin speaking docs/plugin-protocol.md on stdin/stdout
 * through the SDK runner (python/logloom_plugin/runner.py). The child starts through the sandbox
 * launcher (agent/plugins/launch/): it joins its cgroup, is confined by the kernel (seccomp,
 * Landlock or a read-only mount namespace, a network namespace) and drops to the plugin user
 * before python runs, so no plugin code ever runs unlimited or privileged; the runner's audit
 * hooks are a second layer. The plugin is verified at every start and loaded from the verified
 * private copy (agent/plugins/verified-copy.ts).
 */
import type { ChildProcess } from 'node:child_process';
import { closeSync, constants, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { checkoutPath, readAsset } from '../../../lib/assets.ts';
import { PluginCallError, PluginLoadError, type HostEnv, type HostFactory, type EveryTypeHost } from '../host.ts';
import type { DiscoveredPlugin } from '../discovered.ts';
import type { AppliedLimits } from '../limits/mechanism.ts';
import { PluginProcess, waitExit } from '../launch/plugin-process.ts';
import { OPEN_VERIFIER, type VerifiedPlugin } from '../verified-copy.ts';
import { ProtocolClient } from '../protocol/client.ts';
import { DEFAULT_MAX_LINE_BYTES } from '../protocol/codec.ts';
import { PluginConnection } from '../protocol/connection.ts';
import type { PluginContext, PluginInfo, PluginType } from '../types.ts';
import { manifestInfo } from './manifest-info.ts';
import { ProtocolHost } from './protocol-host.ts';
import { StderrLog } from './stderr-log.ts';

/** Grace periods of the orderly stop: shutdown op, closed stdin, SIGTERM, then SIGKILL. */
export const STOP_GRACE_MS = { shutdown: 1000, stdin: 1000, term: 1000 };
const READY_TIMEOUT_MS = 10_000;
/** stderr lines per second written to the agent log; the rest are counted and summarised. */
const STDERR_LINES_PER_SECOND = 50;
/** Where the child finds its verified copy: the directory descriptor passed as its fd 4. */
const COPY_DIR = '/proc/self/fd/4';
/** …and the SDK (python/), fd 5. */
const SDK_DIR = '/proc/self/fd/5';
const SDK_FILES = ['python/logloom_plugin/__init__.py', 'python/logloom_plugin/runner.py', 'python/logloom_plugin/sandbox.py'];

/** The SDK runner: from the checkout, or unpacked from the bundle into the runtime dir once. */
export function runnerPath(runtimeDir: string): string {
  const local = checkoutPath('python/logloom_plugin/runner.py');
  if (local && existsSync(local)) return local;
  const dir = join(runtimeDir, 'python');
  for (const f of SDK_FILES) {
    const target = join(dir, f.slice('python/'.length));
    mkdirSync(join(target, '..'), { recursive: true, mode: 0o755 });
    writeFileSync(target, readAsset(f), { mode: 0o644 });
  }
  return join(dir, 'logloom_plugin', 'runner.py');
}

export class PythonHost extends ProtocolHost implements EveryTypeHost {
  readonly kind = 'python' as const;
  readonly type: PluginType;
  readonly origin: string;
  private readonly plugin: DiscoveredPlugin;
  private readonly env: HostEnv;
  private child?: ChildProcess;
  /** User, state directory, limits, the confined start, exit reasons (launch/plugin-process.ts). */
  private readonly proc: PluginProcess;
  /** Bumped at every start so that a late exit of an old child is not taken for the new one's. */
  private generation = 0;
  private stopping = false;
  private lastExit = '';
  private starts = 0;
  private stderr?: StderrLog;
  /** The private copy this process was started from (verified-copy.ts). */
  private copy?: VerifiedPlugin;
  onExit?: (reason: string) => void;

  constructor(plugin: DiscoveredPlugin, env: HostEnv) {
    super();
    if (!plugin.file) throw new PluginLoadError(plugin.origin, 'python plugin without an entry file');
    this.plugin = plugin;
    this.type = plugin.type;
    this.env = env;
    this.origin = plugin.file;
    this.proc = new PluginProcess(plugin.name, plugin.file, 'process');
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(ctx: PluginContext): Promise<PluginInfo> {
    if (this.child) await this.stop();
    this.stopping = false;
    const gen = ++this.generation;
    this.starts++;
    const { limits, name } = this.plugin;
    this.proc.prepare(ctx.stateDir, limits, (msg) => ctx.log.warn(msg));
    const user = this.proc.user;

    // Verified at every start, on the bytes that are then loaded: the private copy, reached through
    // a descriptor (fd 4) so that no path the plugin user could change is ever read.
    this.copy?.remove();
    this.copy = undefined;
    const verified = (this.env.verifier ?? OPEN_VERIFIER).prepare(this.plugin, this.env.runtimeDir, user);
    this.copy = verified;
    const capability = this.plugin.manifest?.capability ?? [];
    const spec = {
      plugin: `${COPY_DIR}/${verified.entry}`, plugin_dir: COPY_DIR, name, type: this.plugin.type, state_dir: ctx.stateDir,
      user: user?.name ?? null, capability, rlimits: this.proc.limits?.rlimits ?? null,
    };
    const python = this.env.python;
    // The SDK too is reached through a descriptor (fd 5): the plugin user need not be able to walk
    // to runtime_dir, where a packaged agent unpacks it.
    let sdkFd: number;
    try {
      sdkFd = openSync(dirname(dirname(runnerPath(this.env.runtimeDir))), constants.O_RDONLY | constants.O_DIRECTORY);
    } catch (e) {
      verified.release();
      throw new PluginLoadError(this.origin, `cannot open the Python SDK: ${(e as Error).message}`);
    }
    let started: ReturnType<PluginProcess['spawn']>;
    try {
      started = this.proc.spawn({
        program: python, args: ['-I', '-B', `${SDK_DIR}/logloom_plugin/runner.py`, JSON.stringify(spec)], network: capability.includes('network'),
        stateDir: ctx.stateDir, stdio: ['pipe', 'pipe', 'pipe', 'pipe', verified.dirFd, sdkFd], statusFd: 3, nativeDir: `${this.env.runtimeDir}/native`,
        env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', PYTHONIOENCODING: 'utf-8' },
      });
    } finally {
      verified.release();
      closeSync(sdkFd);
    }
    const { child, layers } = started;
    this.child = child;
    const client = new ProtocolClient(name, ctx.log, this.env.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES);
    this.client = client;

    let ready!: (v: { user?: string; error?: string }) => void;
    const readyP = new Promise<{ user?: string; error?: string }>((r) => (ready = r));
    const conn = new PluginConnection({
      name, dialect: 'line', maxLineBytes: this.env.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, maxInflight: limits.max_inflight, queueLength: limits.queue_length,
      write: (line) => void child.stdin!.write(line),
      onFault: (reason) => this.lost(gen, reason, true),
      onEvent: (event, body) => {
        if (client.onEvent(event, body)) return;
        if (event === 'ready') ready({ user: String(body.user ?? '') });
        else if (event === 'load_failed') ready({ error: String(body.error ?? 'load failed').slice(0, 500) });
      },
    });
    client.conn = conn;
    child.stdout!.on('data', (d: Buffer) => conn.feed(d));
    child.stdin!.on('error', () => {}); // EPIPE after a crash: the exit handler reports it
    const stderr = (this.stderr ??= new StderrLog(ctx.log, STDERR_LINES_PER_SECOND));
    process.getBuiltinModule('node:readline').createInterface({ input: child.stderr!, crlfDelay: Infinity }).on('line', (l) => stderr.line(l));
    const exited = new Promise<string>((resolve) => {
      child.on('exit', (code, signal) => {
        const reason = this.exitReason(code, signal);
        this.lastExit = reason;
        resolve(reason);
        this.lost(gen, reason, false);
      });
      child.on('error', (e) => {
        const reason = `cannot start ${python}: ${e.message}`;
        resolve(reason);
        this.lost(gen, reason, false);
      });
    });

    const timeout = new Promise<{ error: string }>((r) => setTimeout(() => r({ error: `not ready within ${READY_TIMEOUT_MS} ms` }), READY_TIMEOUT_MS).unref());
    const first = await Promise.race([readyP, exited.then((reason) => ({ error: `exited before it was ready: ${reason}` })), timeout]);
    if (first.error) {
      this.kill();
      throw new PluginLoadError(this.origin, first.error);
    }
    const info = await client.handshake(ctx.config, manifestInfo(this.plugin), this.origin, this.plugin.type).catch((e) => {
      this.kill();
      throw e;
    });
    await layers;
    client.startLangRefresh();
    return info;
  }

  private exitReason(code: number | null, signal: NodeJS.Signals | null): string {
    return this.proc.exitReason(code, signal, this.plugin.limits.memory_max);
  }

  /** The child died or broke the protocol: fail what is pending, tell the supervisor once. */
  private lost(gen: number, reason: string, kill: boolean): void {
    if (gen !== this.generation) return;
    this.generation++; // later events of this child are stale
    this.client?.stopLangRefresh();
    this.client?.conn?.close(reason);
    if (kill) this.kill();
    if (!this.stopping) this.onExit?.(reason);
  }

  private kill(): void {
    this.proc.killAll();
  }

  protected get live(): ProtocolClient {
    if (!this.client) throw new PluginCallError('not started');
    return this.client;
  }


  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    this.client?.stopLangRefresh();
    if (child && child.exitCode === null && child.signalCode === null) {
      const conn = this.client?.conn;
      if (conn && !conn.closed) await conn.call('shutdown', {}, STOP_GRACE_MS.shutdown).catch(() => {});
      child.stdin!.end();
      if (!(await waitExit(child, STOP_GRACE_MS.stdin))) {
        child.kill('SIGTERM');
        if (!(await waitExit(child, STOP_GRACE_MS.term))) {
          child.kill('SIGKILL');
          await waitExit(child, 2000);
        }
      }
    }
    this.kill();
    this.client?.conn?.close('stopped');
    this.child = undefined;
    this.copy?.remove();
    this.copy = undefined;
    this.proc.releaseLimits();
  }

  private limitsStatus(l: AppliedLimits): Record<string, unknown> {
    const u = l.usage();
    const { memory_max, cpu_max, pids_max } = this.plugin.limits;
    return {
      mechanism: l.mechanism, memory_max: memory_max ?? null, cpu_max: cpu_max ?? null, pids_max: pids_max ?? null,
      ...(l.notEnforced.length ? { not_enforced: l.notEnforced } : {}),
      ...u,
      ...(u.oom_kills !== undefined ? { oom_kills: u.oom_kills + this.proc.pastEvents.oom_kills } : {}),
      ...(u.pids_refused !== undefined ? { pids_refused: u.pids_refused + this.proc.pastEvents.pids_refused } : {}),
    };
  }

  status(): Record<string, unknown> {
    const c = this.client;
    const l = this.proc.limits;
    return {
      pid: this.child?.pid ?? null,
      user: this.proc.user?.name ?? null,
      sandbox: this.proc.layers ?? null,
      limits: l ? this.limitsStatus(l) : null,
      starts: this.starts,
      last_exit: this.lastExit,
      stderr_lines: this.stderr?.lines ?? 0,
      stderr_suppressed: this.stderr?.suppressedTotal ?? 0,
      ...(c ? { ...c.counters, ...c.conn?.counters, inflight: c.conn?.inflight ?? 0, queued: c.conn?.queued ?? 0 } : {}),
      ...(c && this.plugin.type === 'lang' ? { lang_cache_templates: c.langCacheSize } : {}),
    };
  }
}

export const hostFactory: HostFactory = (plugin, env) => new PythonHost(plugin, env);
