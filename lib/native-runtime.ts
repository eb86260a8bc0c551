/**
 * Reaching the native parts (the N-API addon and the plugin host program) from one executable.
 * In a checkout they are used where `make native` built them (native/build/...). In the single
 * executable the bundler embeds them as assets (lib/assets.ts); they are written once to a
 * private runtime directory (mode 0700, files named by content hash, so an upgrade never runs a
 * stale copy and a second start reuses the first one's files) and loaded or executed from there.
 * The directory is configurable because the root filesystem may be read-only: the first writable
 * of LOGLOOM_RUNTIME_DIR / the configured dir, $XDG_RUNTIME_DIR/logloom, /run/logloom/native,
 * /dev/shm/logloom-<uid>, <tmpdir>/logloom-<uid> is used.
 */
import { existsSync } from 'node:fs';
import { assetFile, checkoutPath, isBundled } from './assets.ts';

/**
 * The addon's asset path (repository-relative; the packaging step embeds it). The plugin host
 * program's path lives in agent/plugins/hosts/native.ts, so that a locked bundle, which has no
 * native host module, does not even name it.
 */
export const ADDON_ASSET = 'native/build/Release/logloom_native.node';

export class NativeUnavailableError extends Error {
  constructor(what: string, why: string) {
    super(`${what}: ${why}`);
    this.name = 'NativeUnavailableError';
  }
}

/**
 * Writes an embedded asset once into the runtime dir and returns its path. One implementation
 * for every native part (addon, plugin host, serialport binding): lib/assets.ts assetFile.
 */
function materialise(asset: string, mode: number, runtimeDir: string | undefined): string {
  try {
    return assetFile(asset, { executable: (mode & 0o111) !== 0, configured: runtimeDir });
  } catch (e) {
    throw new NativeUnavailableError(asset, (e as Error).message);
  }
}

/**
 * Path of a native file (asset path), from the checkout or materialised from the bundle into
 * `runtimeDir` (the configured <runtime_dir>/native of the caller; default: the one set at start).
 */
export function nativeFile(asset: string, executable: boolean, runtimeDir?: string): string {
  if (!isBundled()) {
    const p = checkoutPath(asset)!;
    if (!existsSync(p)) throw new NativeUnavailableError(asset, 'not built (run `make native`)');
    return p;
  }
  return materialise(asset, executable ? 0o755 : 0o644, runtimeDir);
}

/** The addon's functions (native/addon/src/addon.c). */
export interface NativeAddon {
  abiVersion: number;
  ringPush(view: Uint8Array, record: Uint8Array, policy: number): number;
  ringPushFrames(view: Uint8Array, frames: Uint8Array, policy: number): number;
  /** count (optional, Uint32Array(1)): receives how many records the Buffer holds. */
  ringDrain(view: Uint8Array, maxRecords: number, maxBytes: number, count?: Uint32Array): Buffer | null;
  /** options: the format's own ({ kmsg: KmsgCodecOptions } or { serial: {...} }: native/addon/src/addon.c). */
  codecNew(maxLine: number, maxMessage: number, minLevel: number, defaultLevel: number, defaultModule: string, node: string, source: string, format: number, options?: object): object;
  codecFeed(codec: object, chunk: Uint8Array, receivedMs: number): Buffer;
  /** codecFeed into out: the bytes written, or a Buffer of their own when they do not fit. */
  codecFeedInto(codec: object, chunk: Uint8Array, receivedMs: number, out: Uint8Array): number | Buffer;
  /** codecFeedInto on the thread pool; done(null, bytes in out | Buffer) or done(Error) (native/addon/src/addon.c). */
  codecFeedOffThread(codec: object, chunk: Uint8Array | Uint8Array[], receivedMs: number, out: Uint8Array, done: (err: Error | null, records?: number | Buffer) => void): void;
  /** Datagrams back to back in data, meta [length, pid, uid, cut] per datagram (a syslog_datagram codec). */
  codecFeedDatagrams(codec: object, data: Uint8Array, meta: Int32Array, receivedMs: number): Buffer;
  codecEnd(codec: object, receivedMs: number): Buffer;
  codecCounters(codec: object): [number, number, number, number, number];
  /** Format serial: one read with its wall-clock and monotonic arrival times. */
  codecFeedAt(codec: object, chunk: Uint8Array, wallMs: number, monoMs: number): Buffer;
  /** Format serial: 0 the partial line, 1 the open oops group, 2 both (closed). */
  codecFlush(codec: object, what: number): Buffer;
  /** The counters only the codec's format has (kmsg: skipped, missed, last_seq, held_seq; serial: invalid_lines, …); {} for the others. */
  codecFormatCounters(codec: object): Record<string, number>;
  /** The aggregator's entry scanner (aggregator/ingest/): state = [rawPos, outPos, n], advanced. */
  ingestScan(raw: Uint8Array, node: Uint8Array, nodeMember: Uint8Array, suffix: Uint8Array, maxMessageBytes: number, out: Uint8Array, ends: Uint32Array, levels: Uint8Array, state: Uint32Array): number;
  /** Inflates a zlib stream into out; the inflated length, or <0: -1 corrupt, -2 longer than out, -3 truncated, -4 no memory. */
  ingestInflate(body: Uint8Array, out: Uint8Array): number;
  pluginLoad(path: string, configJson: string, isSink: boolean): { handle: object; info: NativePluginInfo | null };
  pluginProcess(handle: object, batch: Uint8Array): Int32Array;
  /** The same call on entry records (agent/buffer/records.ts): the records path. */
  pluginProcessRecords(handle: object, frames: Uint8Array): Int32Array;
  pluginUnload(handle: object): void;
  /** A Unix datagram socket bound at path, read by a thread (native/addon/src/dgram.h). */
  dgramOpen(path: string, mode: number, maxBytes: number, onBatch: (data: Buffer, meta: Int32Array) => void): object;
  dgramPause(handle: object, paused: boolean): void;
  dgramClose(handle: object): void;
  /** [mappings released, KiB they held], or [-errno, 0] (native/addon/src/startup-pages.h). */
  releaseStartupPages(): [number, number];
  /** Per record of a framed batch: 1 level at or above minRank, 0 below, 2 another shape; returns records written (native/addon/src/levels.h). */
  levelVerdicts(frames: Uint8Array, minRank: number, out: Uint8Array): number;
  /** Records of frames from `from` as NDJSON lines into out at `at`; result: [records, frames offset after them, bytes written, 0 end | 1 render | 2 full] (native/addon/src/forward-lines.h). */
  forwardLines(frames: Uint8Array, from: number, out: Uint8Array, at: number, maxRecords: number, maxBytes: number, result: Float64Array): void;
  /** A deflate encoder (level 1, a zlib stream per body), and one body deflated on the thread pool (native/addon/src/deflate.h). */
  deflaterNew(): object;
  deflaterRun(handle: object, body: Uint8Array): Promise<Buffer>;
}

export interface NativePluginInfo {
  name: string;
  version: string;
  author: string;
  type: string;
  mode: string;
  capability: string[];
}

let addon: NativeAddon | undefined;
let addonError: Error | undefined;

/**
 * Loads the addon once (unpacked into `runtimeDir` when bundled: see nativeFile); throws
 * NativeUnavailableError (with the reason) when it cannot.
 */
export function loadAddon(runtimeDir?: string): NativeAddon {
  if (addon) return addon;
  if (addonError) throw addonError;
  try {
    const path = nativeFile(ADDON_ASSET, false, runtimeDir);
    addon = process.getBuiltinModule('node:module').createRequire(import.meta.url)(path) as NativeAddon;
    return addon;
  } catch (e) {
    addonError = e instanceof NativeUnavailableError ? e : new NativeUnavailableError(ADDON_ASSET, (e as Error).message);
    throw addonError;
  }
}

/**
 * The addon if something has loaded it already (the native ring, a C plugin), else undefined: for
 * code with a faster path through it that must not be the one to load it (with buffer.native
 * off the agent loads no native code).
 */
export function loadedAddon(): NativeAddon | undefined {
  return addon;
}

/**
 * When after start-up a program releases its start-up pages (releaseStartupPages): at once (the
 * next turn of the event loop), so that a burst that begins at start (a backlog waiting for the
 * agent) does not peak with start-up's pages still mapped; and again a second later, for the
 * pages the first compilations and timers after start-up touched (they are idle afterwards).
 */
export const STARTUP_RELEASE_AT_MS = [0, 1000] as const;

/** Schedules releaseStartupPages at STARTUP_RELEASE_AT_MS (timers that do not keep the program alive). */
export function scheduleStartupRelease(log: { debug(msg: string): void }): void {
  for (const ms of STARTUP_RELEASE_AT_MS) setTimeout(() => releaseStartupPages(log), ms).unref();
}

/**
 * Once a program has started: unmaps the pages of its executable that only start-up touched
 * (about 45 MiB of Node's code and read-only data; native/addon/src/startup-pages.h says why
 * and why it is safe). The idle RSS then counts what the running program uses. Says what was
 * released, or why nothing was (no addon, no /proc), in a debug line; never throws.
 */
export function releaseStartupPages(log: { debug(msg: string): void }, runtimeDir?: string): { mappings: number; mib: number } | undefined {
  try {
    const [n, kib] = loadAddon(runtimeDir).releaseStartupPages();
    if (n < 0) throw new Error(`errno ${-n}`);
    log.debug(`released ${(kib / 1024).toFixed(1)} MiB of start-up pages of the executable (${n} mappings)`);
    return { mappings: n, mib: kib / 1024 };
  } catch (e) {
    log.debug(`start-up pages of the executable kept: ${(e as Error).message}`);
    return undefined;
  }
}
