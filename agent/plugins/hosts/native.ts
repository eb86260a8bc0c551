/**
 * The native kind: a C shared object with the ABI of native/include/logloom_plugin.h, of any
 * type: filters and sinks (plugin_process), ai analysers (plugin_analyze, 'A' frames) and lang
 * resolvers (plugin_resolve and plugin_catalogue, 'V' and 'C' frames, answered from a cache).
 *
 * Default: one small C host process per plugin (native/plugin-host/host.c) loads the .so with
 * dlopen/dlsym and answers batched binary frames on fd 3 (agent/native/frames.ts). It starts
 * through the sandbox launcher (agent/plugins/launch/) as the plugin user (nobody unless
 * limits.user), and loads the .so from the copy verified at that start (verified-copy.ts). A segfault,
 * abort or endless loop kills or stalls only that process: the pipe closes (or the call times out
 * and the host is killed), the pending call fails with PluginCallError, and the one supervisor
 * reports `[ERROR] Plugin communication failed: …` and restarts the host with backoff.
 *
 * `entry.trusted: true`: filters and sinks are loaded into the agent through the addon (no process
 * hop, no isolation); SIGSEGV/SIGBUS/SIGFPE/SIGILL inside a call become a failed call, other faults
 * are not caught (docs/c-plugins.md lists the limits); a call that overruns timeout_ms moves the
 * plugin into its host process at the next start (TrustedNativeHost).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type { Socket } from 'node:net';
import type { LogEntry } from '../../../entry/entry.ts';
import type { EntryRecords } from '../../buffer/records.ts';
import { encodeBatch, OP, processFrame, ReplyReader, readItems, readStrings, requestFrame, TYPE_CODE, type Reply } from '../../native/frames.ts';
import { loadAddon, nativeFile, type NativeAddon } from '../../../lib/native-runtime.ts';

/** The plugin host program's asset path (built by `make native`; embedded by the packaging step). */
export const HOST_ASSET = 'native/build/logloom-plugin-host';
/** Where the host finds its verified copy: the directory descriptor passed as its fd 5. */
const COPY_DIR = '/proc/self/fd/5';
import type { DiscoveredPlugin } from '../discovered.ts';
import { PartialFilterError, PluginCallError, PluginLoadError, type EveryTypeHost, type FilterAndSinkCalls, type HostedPlugin, type HostEnv, type HostFactory } from '../host.ts';
import { defaultMode, infoWithoutOwn } from '../info.ts';
import { PluginProcess } from '../launch/plugin-process.ts';
import { OPEN_VERIFIER, type VerifiedPlugin } from '../verified-copy.ts';
import { InvalidOutputError, validateAiResult, validateCatalogue, validateTemplate } from '../validate-output.ts';
import type { AiResult, FilterVerdict, PluginContext, PluginInfo, PluginLog, PluginType } from '../types.ts';

/** Where the native parts (plugin host, launcher, addon) are unpacked from a bundle: <runtime_dir>/native. */
const nativeDir = (env: Pick<HostEnv, 'runtimeDir'>) => (env.runtimeDir ? `${env.runtimeDir}/native` : undefined);

/** What the hosts need of HostEnv to verify and copy a plugin. */
type CopyEnv = Pick<HostEnv, 'runtimeDir' | 'verifier'>;
let ownCopyDir: string | undefined;

/** Hosts made without an agent (tests, benchmarks): copies go to a private temporary directory. */
function privateCopyEnv(): CopyEnv {
  ownCopyDir ??= mkdtempSync(join(tmpdir(), 'logloom-plugin-copies-'));
  return { runtimeDir: ownCopyDir };
}

/** What the plugin says about itself (plugin_info()), else its manifest; without either it is refused. */
function infoFor(p: DiscoveredPlugin, own: Partial<PluginInfo> | null): PluginInfo {
  if (own) {
    return {
      name: own.name ?? p.name, version: own.version ?? '', author: own.author ?? '', type: (own.type ?? p.type) as PluginType,
      capability: own.capability ?? [], mode: (own.mode || defaultMode(p.type)) as PluginInfo['mode'],
    };
  }
  return infoWithoutOwn(p, 'plugin_info()');
}

function fileOf(p: DiscoveredPlugin): string {
  if (!p.file) throw new PluginLoadError(p.origin, 'native plugin without an entry file');
  return p.file;
}

/** The results of one plugin_analyze call, checked like any plugin output (validate-output.ts). */
function aiResults(body: Buffer, log: PluginLog | undefined, onInvalid: () => void): AiResult[] {
  const { rc, items } = readItems(body, 3);
  if (rc < 0) throw new PluginCallError(`plugin_analyze returned ${rc}`);
  const out: AiResult[] = [];
  for (const [level, message, langKey] of items) {
    try {
      const d = validateAiResult({ ...(level ? { level } : {}), ...(message ? { message } : {}), ...(langKey ? { lang_key: langKey } : {}) });
      out.push({ level: d.level, message: d.message as string, ...(d.lang_key ? { lang_key: d.lang_key as string } : {}) });
    } catch (e) {
      if (!(e instanceof InvalidOutputError)) throw e;
      onInvalid();
      log?.warn(`invalid output dropped: ${e.message}`);
    }
  }
  return out;
}

/**
 * A lang .so's templates as the agent's sync resolver sees them: filled from plugin_catalogue()
 * at start (the multi-language registrar), and for keys it did not register, from plugin_resolve()
 * asked in the background on the first miss (that render shows the key's fallback; the next finds it).
 */
class NativeLangCache {
  private cache = new Map<string, Map<string, string>>();
  private readonly asked = new Set<string>();
  invalid = 0;

  fill(items: string[][], log?: PluginLog): void {
    const table: Record<string, Record<string, string>> = {};
    for (const [lang, key, tpl] of items) (table[lang!] ??= {})[key!] = tpl!;
    this.cache = validateCatalogue(table, (r) => (this.invalid++, log?.warn(`invalid output dropped: ${r}`)));
    this.asked.clear();
  }

  get(key: string, lang: string, ask: (key: string, lang: string) => Promise<string | null>): string | null {
    const t = this.cache.get(lang)?.get(key);
    if (t !== undefined) return t;
    const k = `${lang}\u0000${key}`;
    if (!this.asked.has(k) && this.asked.size < 10_000) {
      this.asked.add(k);
      ask(key, lang).then((tpl) => {
        if (tpl !== null) (this.cache.get(lang) ?? this.cache.set(lang, new Map()).get(lang)!).set(key, tpl);
      }, () => {});
    }
    return null;
  }

  get size(): number {
    let n = 0;
    for (const m of this.cache.values()) n += m.size;
    return n;
  }
}

/** Maps plugin_process results to filter verdicts; negative results fail those entries only. */
function verdicts(results: ArrayLike<number>, n: number): boolean[] {
  if (results.length !== n) throw new PluginCallError(`expected ${n} results, got ${results.length}`);
  const out: (boolean | undefined)[] = new Array(n).fill(undefined);
  let bad = 0;
  let firstBad = 0;
  for (let i = 0; i < n; i++) {
    const r = results[i]!;
    if (r < 0) {
      if (bad++ === 0) firstBad = r;
    } else out[i] = r === 0;
  }
  if (bad) throw new PartialFilterError(`plugin_process returned ${firstBad} for ${bad} of ${n} entries`, out);
  return out as boolean[];
}

/** A sink call's results: any negative one fails the batch (the runner keeps it and retries). */
function sinkAccepted(results: Int32Array): void {
  for (const rc of results) if (rc < 0) throw new PluginCallError(`plugin_process${results.length > 1 ? '_batch' : ''} returned ${rc}`);
}

interface Pending {
  resolve(r: Reply): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
}

/** A .so in its own logloom-plugin-host process. */
export class NativeProcessHost implements EveryTypeHost {
  readonly kind = 'native' as const;
  readonly type: PluginType;
  readonly origin: string;
  onExit?: (reason: string) => void;
  private readonly plugin: DiscoveredPlugin;
  private child?: ChildProcess;
  private pipe?: Socket;
  private pending: Pending[] = [];
  private stopping = false;
  private starts = 0;
  private lastExit = '';
  private readonly env: CopyEnv;
  /** User, state directory, limits, the confined start, exit reasons (launch/plugin-process.ts). */
  private readonly proc: PluginProcess;
  /** The private copy the host loaded its .so from (verified-copy.ts). */
  private copy?: VerifiedPlugin;

  constructor(plugin: DiscoveredPlugin, env: CopyEnv = privateCopyEnv()) {
    this.plugin = plugin;
    this.type = plugin.type;
    this.origin = plugin.origin;
    this.env = env;
    this.proc = new PluginProcess(plugin.name, plugin.file ? basename(plugin.file) : plugin.origin, 'plugin host');
  }

  async start(ctx: PluginContext): Promise<PluginInfo> {
    await this.kill();
    const file = fileOf(this.plugin);
    let hostPath: string;
    try {
      hostPath = nativeFile(HOST_ASSET, true, nativeDir(this.env));
    } catch (e) {
      throw new PluginLoadError(basename(file), (e as Error).message);
    }
    this.stopping = false;
    this.starts++;
    // The plugin user, its state directory, and memory_max / cpu_max / pids_max when set: the
    // launcher joins the cgroup (v2, else v1) before exec, or sets rlimits when cgroups cannot be
    // written, as for python plugins (launch/plugin-process.ts).
    this.proc.prepare(ctx.stateDir, this.plugin.limits, (msg) => ctx.log.warn(msg), true);
    // Verified now, loaded from the verified copy through fd 5 (verified-copy.ts).
    this.copy?.remove();
    this.copy = undefined;
    const verified = (this.env.verifier ?? OPEN_VERIFIER).prepare(this.plugin, this.env.runtimeDir, this.proc.user);
    this.copy = verified;
    // fd 1/2 are the agent's: a plugin that prints cannot corrupt the protocol on fd 3.
    let started: ReturnType<PluginProcess['spawn']>;
    try {
      started = this.proc.spawn({
        program: hostPath, args: [], network: (this.plugin.manifest?.capability ?? []).includes('network'),
        stateDir: ctx.stateDir, stdio: ['ignore', 'inherit', 'inherit', 'pipe', 'pipe', verified.dirFd], statusFd: 4, nativeDir: nativeDir(this.env),
      });
    } finally {
      verified.release();
    }
    const { child, layers } = started;
    this.child = child;
    const pipe = child.stdio[3] as Socket;
    this.pipe = pipe;
    const reader = new ReplyReader((r) => {
      const p = this.pending.shift();
      if (!p) return this.fail(new PluginCallError('unexpected reply from the plugin host'));
      clearTimeout(p.timer);
      p.resolve(r);
    });
    pipe.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (e) {
        this.fail(new PluginCallError((e as Error).message));
      }
    });
    pipe.on('error', () => {});
    child.on('error', (e) => this.gone(`plugin host could not run: ${e.message}`));
    child.on('exit', (code, signal) => this.gone(this.exitReason(code, signal)));

    const cfg = Buffer.from(JSON.stringify(ctx.config ?? {}) + '\0', 'utf8');
    const body = Buffer.concat([Buffer.from(`${COPY_DIR}/${verified.entry}\0`, 'utf8'), cfg, Buffer.from([TYPE_CODE[this.plugin.type]])]);
    let reply: Reply;
    try {
      reply = await this.call(requestFrame(OP.load, body), Math.max(this.plugin.limits.timeout_ms, 5000));
    } catch (e) {
      await this.kill();
      throw new PluginLoadError(basename(file), (e as Error).message);
    }
    if (reply.status !== 0) {
      const [reason] = readStrings(reply.body, 0, 1).values;
      await this.kill();
      throw new PluginLoadError(basename(file), reason ?? `load failed (${reply.status})`);
    }
    await layers;
    let info: PluginInfo;
    try {
      if (reply.body[0] !== 1) info = infoFor(this.plugin, null);
      else {
        const [name, version, author, type, mode, caps] = readStrings(reply.body, 1, 6).values;
        info = infoFor(this.plugin, { name, version, author, type: type as PluginType, mode: mode as PluginInfo['mode'], capability: caps ? caps.split('\n') : [] });
      }
    } catch (e) {
      await this.kill();
      throw e instanceof PluginLoadError ? new PluginLoadError(basename(file), e.message) : e;
    }
    this.log = ctx.log;
    if (info.type === 'lang') await this.refreshCatalogue();
    return info;
  }

  private log?: PluginLog;
  private lang = new NativeLangCache();
  private invalidResults = 0;

  /** plugin_catalogue(): every template the plugin registers, into the cache the sync resolver reads. */
  async refreshCatalogue(): Promise<void> {
    const r = await this.call(requestFrame(OP.catalogue, Buffer.alloc(0)), Math.max(this.plugin.limits.timeout_ms, 5000));
    if (r.status !== 0) throw new PluginCallError(`plugin host refused the catalogue request (${r.status})`);
    const { rc, items } = readItems(r.body, 3);
    if (rc < 0) throw new PluginCallError(`plugin_catalogue returned ${rc}`);
    this.lang.fill(items, this.log);
  }

  async *analyze(entry: LogEntry, timeoutMs: number): AsyncGenerator<AiResult> {
    const r = await this.call(requestFrame(OP.analyze, encodeBatch([entry])), timeoutMs);
    if (r.status !== 0) throw new PluginCallError(`plugin host refused the analyze request (${r.status})`);
    yield* aiResults(r.body, this.log, () => this.invalidResults++);
  }

  resolve(langKey: string, lang: string): string | null {
    return this.lang.get(langKey, lang, async (key, l) => {
      const r = await this.call(requestFrame(OP.resolve, Buffer.from(`${key}\0${l}\0`, 'utf8')), this.plugin.limits.timeout_ms);
      if (r.status !== 0) throw new PluginCallError(`plugin host refused the resolve request (${r.status})`);
      if (r.body[0] !== 1) return null;
      try {
        return validateTemplate(key, readStrings(r.body, 1, 1).values[0]);
      } catch (e) {
        this.lang.invalid++;
        this.log?.warn(`invalid output dropped: ${(e as Error).message}`);
        return null;
      }
    });
  }

  private exitReason(code: number | null, signal: NodeJS.Signals | null): string {
    return this.proc.exitReason(code, signal, this.plugin.limits.memory_max);
  }

  /** Sends a frame and waits for its reply; a timeout kills the (stalled) host. */
  private call(frame: Buffer, timeoutMs: number): Promise<Reply> {
    const pipe = this.pipe;
    if (!pipe || !this.child || this.child.exitCode !== null || this.child.signalCode !== null) {
      return Promise.reject(new PluginCallError(`plugin host is not running${this.lastExit ? ` (${this.lastExit})` : ''}`));
    }
    return new Promise<Reply>((resolve, reject) => {
      const p: Pending = { resolve, reject };
      p.timer = setTimeout(() => {
        this.fail(new PluginCallError(`no answer within ${timeoutMs} ms (plugin host stalled; killed)`));
      }, timeoutMs);
      this.pending.push(p);
      pipe.write(frame);
    });
  }

  /** Fails every pending call and kills the host (it is out of sync or stalled). */
  private fail(err: Error): void {
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.child?.kill('SIGKILL');
  }

  private gone(reason: string): void {
    this.lastExit = reason;
    const pending = this.pending;
    this.pending = [];
    for (const p of pending) {
      clearTimeout(p.timer);
      p.reject(new PluginCallError(reason));
    }
    if (!this.stopping) this.onExit?.(reason);
  }

  async filter(entries: readonly LogEntry[], timeoutMs: number): Promise<FilterVerdict[]> {
    return verdicts(await this.results(processFrame(entries), timeoutMs), entries.length);
  }

  async flush(entries: readonly LogEntry[], timeoutMs: number): Promise<void> {
    sinkAccepted(await this.results(processFrame(entries), timeoutMs));
  }

  /** The host decodes entry records itself ('R' frames), so the records path reaches C plugins as bytes. */
  takesRecords(): boolean {
    return true;
  }

  async filterRecords(records: EntryRecords, timeoutMs: number): Promise<boolean[]> {
    return verdicts(await this.results(requestFrame(OP.records, records.frames), timeoutMs), records.count);
  }

  async flushRecords(records: EntryRecords, timeoutMs: number): Promise<void> {
    sinkAccepted(await this.results(requestFrame(OP.records, records.frames), timeoutMs));
  }

  /** Sends a process or records frame; the reply's i32 results. */
  private async results(frame: Buffer, timeoutMs: number): Promise<Int32Array> {
    const r = await this.call(frame, timeoutMs);
    if (r.status !== 0) throw new PluginCallError(`plugin host refused the batch (${r.status})`);
    const n = r.body.readUInt32LE(0);
    return new Int32Array(r.body.buffer.slice(r.body.byteOffset + 4, r.body.byteOffset + 4 + 4 * n));
  }

  private async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping = true;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.stopHost();
    this.proc.releaseLimits();
    this.copy?.remove();
    this.copy = undefined;
  }

  private async stopHost(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    this.stopping = true;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    // Orderly: quit op (plugin_shutdown), then SIGKILL after a grace period.
    this.call(requestFrame(OP.quit, Buffer.alloc(0)), 1000).catch(() => {});
    const grace = setTimeout(() => child.kill('SIGKILL'), 1500);
    await exited;
    clearTimeout(grace);
  }

  status(): Record<string, unknown> {
    return {
      isolation: 'process', pid: this.child?.pid, user: this.proc.user?.name ?? null, starts: this.starts, last_exit: this.lastExit || undefined,
      sandbox: this.proc.layers ?? null,
      ...(this.plugin.type === 'lang' ? { templates: this.lang.size } : {}),
      ...(this.invalidResults + this.lang.invalid ? { invalid_results: this.invalidResults + this.lang.invalid } : {}),
      limits: this.proc.limits ? { mechanism: this.proc.limits.mechanism, ...this.proc.limits.usage() } : { mechanism: 'none' },
    };
  }
}

/** A trusted .so inside the agent (through the addon): fast, no isolation. */
export class NativeInProcessHost implements FilterAndSinkCalls {
  readonly kind = 'native' as const;
  readonly origin: string;
  onExit?: (reason: string) => void;
  private readonly plugin: DiscoveredPlugin;
  private addon?: NativeAddon;
  private handle?: object;
  private faults = 0;
  private readonly env: CopyEnv;
  private copy?: VerifiedPlugin;

  constructor(plugin: DiscoveredPlugin, env: CopyEnv = privateCopyEnv()) {
    this.plugin = plugin;
    this.origin = plugin.origin;
    this.env = env;
  }

  async start(ctx: PluginContext): Promise<PluginInfo> {
    const file = fileOf(this.plugin);
    if (this.plugin.type !== 'filter' && this.plugin.type !== 'sink') throw new PluginLoadError(basename(file), `in-process (trusted) loading is for filters and sinks; ${this.plugin.type} plugins run in the plugin host process`);
    try {
      this.addon = loadAddon(nativeDir(this.env));
    } catch (e) {
      throw new PluginLoadError(basename(file), `trusted (in-process) loading needs the native addon: ${(e as Error).message}`);
    }
    if (this.handle) this.addon.pluginUnload(this.handle);
    this.handle = undefined;
    // Verified now; the agent maps the verified copy, not the file that might change later.
    this.copy?.remove();
    const verified = (this.env.verifier ?? OPEN_VERIFIER).prepare(this.plugin, this.env.runtimeDir);
    verified.release();
    this.copy = verified;
    try {
      const r = this.addon.pluginLoad(join(verified.dir, verified.entry!), JSON.stringify(ctx.config ?? {}), this.plugin.type === 'sink');
      this.handle = r.handle;
      return infoFor(this.plugin, r.info as Partial<PluginInfo> | null);
    } catch (e) {
      throw new PluginLoadError(basename(file), (e as Error).message);
    }
  }

  /** One addon call; a fault caught in-process becomes a failed call. */
  private run(call: (addon: NativeAddon, handle: object) => Int32Array): Int32Array {
    if (!this.addon || !this.handle) throw new PluginCallError('not started');
    try {
      return call(this.addon, this.handle);
    } catch (e) {
      if ((e as { code?: string }).code === 'ERR_PLUGIN_FAULT') this.faults++;
      throw new PluginCallError((e as Error).message);
    }
  }

  filter(entries: readonly LogEntry[]): FilterVerdict[] {
    return verdicts(this.run((a, h) => a.pluginProcess(h, encodeBatch(entries))), entries.length);
  }

  async flush(entries: readonly LogEntry[]): Promise<void> {
    sinkAccepted(this.run((a, h) => a.pluginProcess(h, encodeBatch(entries))));
  }

  takesRecords(): boolean {
    return true;
  }

  filterRecords(records: EntryRecords): boolean[] {
    return verdicts(this.run((a, h) => a.pluginProcessRecords(h, records.frames)), records.count);
  }

  async flushRecords(records: EntryRecords): Promise<void> {
    sinkAccepted(this.run((a, h) => a.pluginProcessRecords(h, records.frames)));
  }

  async stop(): Promise<void> {
    if (this.addon && this.handle) this.addon.pluginUnload(this.handle);
    this.handle = undefined;
    this.copy?.remove();
    this.copy = undefined;
  }

  status(): Record<string, unknown> {
    return { isolation: 'none (trusted, in-process)', faults_caught: this.faults };
  }
}

/**
 * A trusted .so: in the agent's process through the addon, until a call overruns timeout_ms. An
 * in-process call cannot be cut off (nothing pre-empts a synchronous C call), so the supervisor
 * reports the overrun (`overran`), marks the plugin failed, and the restart starts it in its own
 * host process instead, where the next endless call is killed like any other. ai and lang
 * plugins always run in the host process: their calls are asynchronous anyway.
 */
export class TrustedNativeHost implements EveryTypeHost {
  readonly kind = 'native' as const;
  readonly type: PluginType;
  readonly origin: string;
  onExit?: (reason: string) => void;
  private readonly plugin: DiscoveredPlugin;
  private inner: NativeInProcessHost | NativeProcessHost;
  private demoted = false;
  private readonly env: CopyEnv;

  constructor(plugin: DiscoveredPlugin, env: CopyEnv = privateCopyEnv()) {
    this.plugin = plugin;
    this.type = plugin.type;
    this.origin = plugin.origin;
    this.env = env;
    this.inner = plugin.type === 'filter' || plugin.type === 'sink' ? new NativeInProcessHost(plugin, env) : new NativeProcessHost(plugin, env);
    this.wire();
  }

  private wire(): void {
    this.inner.onExit = (r) => this.onExit?.(r);
  }

  get inProcess(): boolean {
    return this.inner instanceof NativeInProcessHost;
  }

  overran(): string {
    if (!this.inProcess) return '';
    this.demoted = true;
    return 'an in-process call cannot be cut off; from the next start it runs in its own plugin host process';
  }

  async start(ctx: PluginContext): Promise<PluginInfo> {
    if (this.demoted && this.inProcess) {
      await this.inner.stop().catch(() => {});
      this.inner = new NativeProcessHost(this.plugin, this.env);
      this.wire();
      ctx.log.warn('trusted plugin now runs in its plugin host process (an in-process call overran timeout_ms)');
    }
    return this.inner.start(ctx);
  }

  filter(entries: readonly LogEntry[], timeoutMs: number): FilterVerdict[] | Promise<FilterVerdict[]> {
    return this.inner.filter(entries, timeoutMs);
  }

  flush(entries: readonly LogEntry[], timeoutMs: number): Promise<void> {
    return this.inner.flush(entries, timeoutMs);
  }

  takesRecords(): boolean {
    return true;
  }

  filterRecords(records: EntryRecords, timeoutMs: number): boolean[] | Promise<boolean[]> {
    return this.inner.filterRecords(records, timeoutMs);
  }

  flushRecords(records: EntryRecords, timeoutMs: number): Promise<void> {
    return this.inner.flushRecords(records, timeoutMs);
  }

  analyze(entry: LogEntry, timeoutMs: number): AsyncIterable<AiResult> {
    if (this.inner instanceof NativeInProcessHost) throw new PluginCallError('not an ai plugin');
    return this.inner.analyze(entry, timeoutMs);
  }

  resolve(langKey: string, lang: string): string | null {
    return this.inner instanceof NativeProcessHost ? this.inner.resolve(langKey, lang) : null;
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  status(): Record<string, unknown> {
    return { ...this.inner.status(), ...(this.demoted ? { demoted: 'an in-process call overran timeout_ms; runs in its host process now' } : {}) };
  }
}

export const hostFactory: HostFactory = (plugin: DiscoveredPlugin, env: HostEnv): HostedPlugin => {
  return plugin.trusted ? new TrustedNativeHost(plugin, env) : new NativeProcessHost(plugin, env);
};
