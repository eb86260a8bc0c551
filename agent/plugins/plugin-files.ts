/**
 * What a plugin consists of, read once into memory: the bytes that are hashed for its signature
 * are the bytes that are then copied for loading (agent/plugins/verified-copy.ts), so nothing can
 * be swapped between the check and the load.
 *
 * A plugin with its own directory (`<dir>/plugin.yaml`) is every file under that directory; a
 * manifest at the top of a plugin directory (`foo.yaml`, shared with other plugins) is itself and
 * its entry file; a bare file is just that file. Symlinks are followed only when they resolve to a
 * file inside the plugin directory. Bounded, so that a huge directory cannot exhaust the agent.
 */
import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { MANIFEST_FILE } from './manifest.ts';

export const MAX_PLUGIN_FILES = 1000;
export const MAX_PLUGIN_BYTES = 64 * 1024 * 1024;

export class PluginFilesError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = 'PluginFilesError';
  }
}

export interface PluginFiles {
  /** The directory the relative paths are taken from. */
  root: string;
  /** The manifest's path relative to root, when there is one. */
  manifest?: string;
  /** Every file, relative path ('/'-separated) → bytes; includes the manifest. */
  files: Map<string, Buffer>;
}

/** True when `path` (already resolved) is `dir` or below it. */
export function isInside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/**
 * The entry file a manifest names, resolved through symlinks, refused when it leaves the plugin
 * directory (`../../tmp/x.py`, or a symlink to /tmp/x.py): the signature covers that directory only.
 */
export function containedEntry(manifestPath: string, entryPath: string): string {
  const dir = dirname(resolve(manifestPath));
  const wanted = resolve(dir, entryPath);
  let real: string;
  try {
    real = realpathSync(wanted);
  } catch {
    throw new PluginFilesError(`entry file ${entryPath} not found`);
  }
  const realDir = realpathSync(dir);
  if (!isInside(real, realDir) || real === realDir) {
    throw new PluginFilesError(`entry.path ${JSON.stringify(entryPath)} resolves to ${real}, outside the plugin directory ${realDir}`);
  }
  return wanted;
}

class Reader {
  readonly files = new Map<string, Buffer>();
  private bytes = 0;
  readonly root: string;
  private readonly realRoot: string;
  constructor(root: string, realRoot: string) {
    this.root = root;
    this.realRoot = realRoot;
  }

  add(abs: string): void {
    const rel = relative(this.root, abs).split(sep).join('/');
    if (this.files.has(rel)) return;
    if (this.files.size >= MAX_PLUGIN_FILES) throw new PluginFilesError(`more than ${MAX_PLUGIN_FILES} files in ${this.root}`);
    const st = lstatSync(abs);
    if (st.isSymbolicLink()) {
      let real: string;
      try {
        real = realpathSync(abs);
      } catch {
        throw new PluginFilesError(`${rel} is a dangling symlink`);
      }
      if (!isInside(real, this.realRoot) || !statSync(real).isFile()) {
        throw new PluginFilesError(`${rel} is a symlink to ${real}, which is not a file inside the plugin directory`);
      }
    } else if (!st.isFile()) {
      throw new PluginFilesError(`${rel} is not a regular file`);
    }
    const data = readFileSync(abs);
    this.bytes += data.length;
    if (this.bytes > MAX_PLUGIN_BYTES) throw new PluginFilesError(`plugin files larger than ${MAX_PLUGIN_BYTES} bytes in ${this.root}`);
    this.files.set(rel, data);
  }

  addTree(dir: string): void {
    for (const d of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const abs = join(dir, d.name);
      if (d.isDirectory()) this.addTree(abs);
      else this.add(abs);
    }
  }
}

function readerFor(root: string): Reader {
  let realRoot: string;
  try {
    realRoot = realpathSync(root);
  } catch (e) {
    throw new PluginFilesError(`cannot read ${root}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return new Reader(root, realRoot);
}

function wrap<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PluginFilesError) throw e;
    throw new PluginFilesError(`cannot read ${what}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Reads a plugin's files. `entry` is the entry file (absolute) when the plugin has one. */
export function readPluginFiles(p: { manifestPath?: string; file?: string }): PluginFiles {
  if (p.manifestPath) {
    const manifestPath = resolve(p.manifestPath);
    const root = dirname(manifestPath);
    const r = readerFor(root);
    const own = basename(manifestPath) === MANIFEST_FILE;
    wrap(root, () => {
      if (own) r.addTree(root);
      else {
        r.add(manifestPath);
        if (p.file) r.add(resolve(p.file));
      }
    });
    return { root, manifest: relative(root, manifestPath).split(sep).join('/'), files: r.files };
  }
  if (!p.file) throw new PluginFilesError('plugin has neither a manifest nor a file');
  const file = resolve(p.file);
  const r = readerFor(dirname(file));
  wrap(file, () => r.add(file));
  return { root: dirname(file), files: r.files };
}
