import { accessSync, chmodSync, constants, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { defaultPaths } from './paths.ts';

/**
 * Files the agent needs at run time (locales, the embedded default config, the Python SDK, the
 * native host program…), named by their path from the repository root. In a checkout they are
 * read from disk; the bundler (toolchain/bundle.ts) embeds them as `globalThis.__LOGLOOM_ASSETS__`
 * (path → base64) so that the single executable needs no files beside it.
 */
type AssetMap = Record<string, string>;

function embedded(): AssetMap | undefined {
  return (globalThis as { __LOGLOOM_ASSETS__?: AssetMap }).__LOGLOOM_ASSETS__;
}

/** contentKey of each embedded asset, computed by the bundler (hashing the addon at start cost ~5 ms). */
function embeddedKey(path: string): string | undefined {
  return (globalThis as { __LOGLOOM_ASSET_KEYS__?: AssetMap }).__LOGLOOM_ASSET_KEYS__?.[path];
}

const ROOT = new URL('../', import.meta.url);

export function readAsset(path: string): Buffer {
  const map = embedded();
  if (map) {
    const b64 = map[path];
    if (b64 === undefined) throw new Error(`asset not embedded in this build: ${path}`);
    return Buffer.from(b64, 'base64');
  }
  return readFileSync(new URL(path, ROOT));
}

export function readAssetText(path: string): string {
  return readAsset(path).toString('utf8');
}

/** Whether this process runs from a bundle (single executable) rather than a checkout. */
export function isBundled(): boolean {
  return embedded() !== undefined;
}

/** Absolute path of a repository file in a checkout (undefined when bundled). */
export function checkoutPath(path: string): string | undefined {
  return embedded() ? undefined : new URL(path, ROOT).pathname;
}

/**
 * A name for an asset's content (FNV-1a, 64 bits, as 16 hex digits): it keeps the files of
 * different builds apart, and the bytes are compared before a file is reused, so it need not be a
 * cryptographic hash; not loading node:crypto's hashing at start saves the executable ~25 ms.
 */
export function contentKey(bytes: Uint8Array): string {
  let h = 0xcbf29ce484222325n;
  // 32-bit halves in plain numbers (BigInt per byte would be slow): h = (h ^ b) * 0x100000001b3 mod 2^64.
  let lo = Number(h & 0xffffffffn), hi = Number(h >> 32n);
  for (let i = 0; i < bytes.length; i++) {
    lo ^= bytes[i]!;
    // multiply by 0x100000001b3 = 2^40 + 0x1b3
    const loMul = lo * 0x1b3;
    const carry = Math.floor(loMul / 0x100000000);
    const newLo = loMul >>> 0;
    hi = (hi * 0x1b3 + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = newLo;
  }
  h = (BigInt(hi) << 32n) | BigInt(lo);
  return h.toString(16).padStart(16, '0');
}

/**
 * A real file path for an asset that must exist on disk: native addons (.node), the C plugin
 * host program, anything dlopen() or exec() needs. In a checkout that is the file itself. In
 * the single executable the embedded bytes are written once into a private directory (see
 * unpackDir) under a name carrying their sha256, and reused by later runs: a read-only root
 * filesystem is fine as long as the runtime directory is writable.
 */
export function assetFile(path: string, opts: { executable?: boolean; dir?: string; configured?: string } = {}): string {
  const local = checkoutPath(path);
  if (local) return local;
  const bytes = readAsset(path);
  const hash = embeddedKey(path) ?? contentKey(bytes);
  const dir = unpackDir(opts.dir, opts.configured);
  const file = join(dir, `${hash}-${basename(path)}`);
  // Executables are also run by plugin users (the plugin host, through logloom-launcher, which opens
  // them as root and execs the descriptor): executable by all, writable by none; the 0700
  // directory still keeps everyone else from reaching them by path.
  const mode = opts.executable ? 0o555 : 0o400;
  try {
    const st = lstatSync(file);
    // Reused only when it holds exactly these bytes (compared, not hashed: the name only tells builds apart).
    if (st.isFile() && st.uid === uid() && st.size === bytes.length && readFileSync(file).equals(bytes)) {
      if ((st.mode & 0o777) !== mode) chmodSync(file, mode);
      return file;
    }
    rmSync(file, { force: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // Written under a temporary name and renamed, so a concurrent start never sees half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes, { mode });
  renameSync(tmp, file);
  return file;
}

/**
 * Loads a native addon asset (.node) the way require() would, from the unpacked file: Node
 * cannot dlopen() from inside the executable's blob.
 */
export function loadNativeAsset<T = unknown>(path: string, opts: { dir?: string } = {}): T {
  return process.getBuiltinModule('node:module').createRequire(import.meta.url)(assetFile(path, { dir: opts.dir })) as T;
}

function uid(): number {
  return process.getuid ? process.getuid() : 0;
}

let chosenDir: string | undefined;
let configuredDir: string | undefined;

/**
 * Sets the default directory for unpacked native parts (the agent's configured runtime_dir, once,
 * at its start), for what is unpacked without a configured directory of its own (the serialport
 * binding, the codec). Components that are given the runtime directory pass it per call instead.
 */
export function setRuntimeDir(dir: string | undefined): void {
  configuredDir = dir;
  chosenDir = undefined;
}

/**
 * Where unpacked assets go, first that works: the explicit dir, $LOGLOOM_RUNTIME_DIR, the
 * configured one (<runtime_dir>/native: `configured`, else the default set at start),
 * $XDG_RUNTIME_DIR/logloom, /run/logloom/native (root),
 * /dev/shm/logloom-<uid>, <tmpdir>/logloom-<uid>. The root filesystem may be read-only. The
 * directory must be ours and 0700 (a shared /tmp could otherwise hand us someone else's
 * library); the files inside are named by content hash so a new build never loads an old addon.
 */
export function unpackDir(explicit?: string, configured: string | undefined = configuredDir): string {
  const usual = !explicit && configured === configuredDir;
  if (usual && chosenDir) return chosenDir;
  const u = uid();
  const candidates = explicit ? [explicit] : [
    process.env.LOGLOOM_RUNTIME_DIR,
    configured,
    process.env.XDG_RUNTIME_DIR && join(process.env.XDG_RUNTIME_DIR, 'logloom'),
    u === 0 ? join(defaultPaths.runtimeDir, 'native') : undefined,
    `/dev/shm/logloom-${u}`,
    join(tmpdir(), `logloom-${u}`),
  ].filter((d): d is string => !!d);
  const why: string[] = [];
  for (const dir of candidates) {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const st = lstatSync(dir);
      if (!st.isDirectory() || st.uid !== u || (st.mode & 0o077) !== 0) {
        why.push(`${dir}: not a private (0700) directory of uid ${u}`);
        continue;
      }
      accessSync(dir, constants.W_OK);
      if (usual) chosenDir = dir;
      return dir;
    } catch (e) {
      why.push(`${dir}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no writable private directory to unpack native parts into (${why.join('; ')}); set runtime_dir or $LOGLOOM_RUNTIME_DIR`);
}
