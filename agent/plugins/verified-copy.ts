/**
 * Verify, then load what was verified. Before every start and restart of a process plugin the
 * agent reads all of the plugin's files into memory once, checks their signature on those bytes
 * (agent/plugins/signing.ts), and writes exactly those bytes into a private copy:
 *
 *   <runtime_dir>/plugins/<name>.<agent pid>.<n>/   root-owned, 0750, group = the plugin user's
 *
 * The process is then given that directory as an open descriptor (the hosts pass it as an extra
 * stdio slot and load `/proc/self/fd/<slot>/<entry>`), so neither a file swapped in the plugin
 * directory after the check, nor a path the plugin user could change, is ever loaded. Each start
 * gets a fresh copy; the previous one is removed.
 */
import type { KeyObject } from 'node:crypto';
import { chmodSync, chownSync, closeSync, constants, mkdirSync, openSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { DiscoveredPlugin } from './discovered.ts';
import { PluginLoadError } from './host.ts';
import { readPluginFiles, type PluginFiles } from './plugin-files.ts';
import { checkPluginFiles, manifestSha256, type SignatureCheck } from './signing.ts';
import { parse } from 'yaml';

export interface VerifiedPlugin {
  /** The private copy (absolute). */
  dir: string;
  /** The entry file's path relative to `dir`, when the plugin has one. */
  entry?: string;
  check: SignatureCheck;
  /** An O_RDONLY|O_DIRECTORY descriptor of `dir` for the child; closed by release(). */
  dirFd: number;
  /** Closes the descriptor (after spawn) — the copy stays until remove(). */
  release(): void;
  remove(): void;
}

let copies = 0;
const swept = new Set<string>();

/** Removes copies left by agents that died without cleaning up (`<name>.<pid>.<n>`, pid gone). */
function sweepStale(base: string): void {
  if (swept.has(base)) return;
  swept.add(base);
  let names: string[];
  try {
    names = readdirSync(base);
  } catch {
    return;
  }
  for (const n of names) {
    const pid = Number(/\.(\d+)\.\d+$/.exec(n)?.[1]);
    if (!pid || pid === process.pid) continue;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') rmSync(join(base, n), { recursive: true, force: true });
    }
  }
}

function shown(p: DiscoveredPlugin): string {
  return p.file ?? p.manifestPath ?? p.name;
}

/**
 * Signature policy and the private copies for one agent. `required` is plugins.require_signature;
 * `states` keeps the state of each plugin's latest check, so status and `plugins list` say what
 * is running now (a restart refused because a file changed shows `modified`).
 */
export class PluginVerifier {
  readonly states = new Map<string, SignatureCheck>();
  private readonly keys: () => readonly KeyObject[];
  private readonly required: boolean;

  constructor(keys: () => readonly KeyObject[], required: boolean) {
    this.keys = keys;
    this.required = required;
  }

  /** Checks without copying (discovery, `plugins list`). */
  check(p: DiscoveredPlugin): SignatureCheck {
    let c: SignatureCheck;
    try {
      c = checkPluginFiles(readPluginFiles(p), this.keys());
    } catch (e) {
      c = { state: 'modified', detail: (e as Error).message };
    }
    this.states.set(p.name, c);
    return c;
  }

  /** Throws the PluginLoadError the registry prints when the policy refuses this state. */
  enforce(p: DiscoveredPlugin, c: SignatureCheck, shownAs = shown(p)): void {
    if (c.state === 'modified') throw new PluginLoadError(shownAs, `modified: ${c.detail}`);
    if (this.required && c.state !== 'signed') throw new PluginLoadError(shownAs, `${c.state}: ${c.detail} (plugins.require_signature is on)`);
  }

  /**
   * Reads, checks and copies a plugin for one start. `owner` is the plugin user (root agents):
   * the copy's group, so that it can read the copy and nobody else can.
   */
  prepare(p: DiscoveredPlugin, runtimeDir: string, owner?: { uid: number; gid: number }): VerifiedPlugin {
    let files: PluginFiles;
    try {
      files = readPluginFiles(p);
    } catch (e) {
      const c: SignatureCheck = { state: 'modified', detail: (e as Error).message };
      this.states.set(p.name, c);
      throw new PluginLoadError(shown(p), `modified: ${c.detail}`);
    }
    const c = checkPluginFiles(files, this.keys());
    this.states.set(p.name, c);
    this.enforce(p, c);
    // What the agent acts on (capability, limits, user, trusted) was read at discovery: it must be
    // what is verified now, or an edit after discovery would take effect unsigned.
    if (p.manifest?.contentSha256 && files.manifest) {
      const now = manifestSha256(parse(files.files.get(files.manifest)!.toString('utf8')));
      if (now !== p.manifest.contentSha256) {
        const changed: SignatureCheck = { state: 'modified', detail: `${files.manifest} changed since the agent read it (rescan or restart the agent to load it)` };
        this.states.set(p.name, changed);
        throw new PluginLoadError(shown(p), `modified: ${changed.detail}`);
      }
    }
    return writeCopy(p, files, c, runtimeDir, owner);
  }
}

function writeCopy(p: DiscoveredPlugin, files: PluginFiles, check: SignatureCheck, runtimeDir: string, owner?: { uid: number; gid: number }): VerifiedPlugin {
  const base = join(resolve(runtimeDir), 'plugins');
  const dir = join(base, `${p.name.replace(/[^A-Za-z0-9_.-]/g, '_')}.${process.pid}.${++copies}`);
  const asRoot = process.getuid?.() === 0;
  let group = asRoot && owner ? owner.gid : undefined;
  try {
    mkdirSync(base, { recursive: true, mode: 0o755 });
    sweepStale(base);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { mode: 0o700 });
    if (group !== undefined) {
      try {
        chownSync(dir, 0, group);
        chmodSync(dir, 0o750);
      } catch (e) {
        // A user namespace that maps only root: the plugin user does not exist here, and the
        // launcher stays root of the namespace, so a root-only copy is readable by the plugin.
        if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
        group = undefined;
      }
    }
    for (const [rel, data] of files.files) {
      const target = join(dir, ...rel.split('/'));
      if (!target.startsWith(dir + sep)) throw new Error(`bad relative path ${rel}`);
      const parent = dirname(target);
      if (parent !== dir) {
        mkdirSync(parent, { recursive: true, mode: group === undefined ? 0o700 : 0o750 });
        if (group !== undefined) for (let d = parent; d !== dir; d = dirname(d)) chownSync(d, 0, group);
      }
      writeFileSync(target, data, { mode: group === undefined ? 0o600 : 0o640, flag: 'wx' });
      if (group !== undefined) chownSync(target, 0, group);
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new PluginLoadError(shown(p), `cannot write the verified copy under ${base}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const dirFd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  let open = true;
  const release = () => {
    if (open) closeSync(dirFd);
    open = false;
  };
  return {
    dir, check, dirFd, release,
    entry: p.file ? relative(files.root, resolve(p.file)).split(sep).join('/') : undefined,
    remove: () => {
      release();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A verifier with no keys and no requirement: what `plugins check` and tests without a registry use. */
export const OPEN_VERIFIER = new PluginVerifier(() => [], false);
