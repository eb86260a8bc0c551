/**
 * Discovery: the compiled-in static table, then `/usr/lib/logloom/plugins/` and
 * plugins.dirs. In a directory, a plugin is
 *   - a subdirectory holding a plugin.yaml (entry file beside it), or
 *   - a `*.yaml` manifest at the top level (e.g. a socket plugin, or a file next to it), or
 *   - a bare `filter_*|sink_*|ai_*|lang_*` file ending in .so (native) or .py (python), typed by
 *     its name; its info comes from the plugin's own answer when it starts.
 * Problems become PluginLoadErrors (`[WARN] Failed to load plugin '<file>': <reason>`); discovery
 * itself never throws, so one bad plugin cannot keep the others from loading.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { limitFields, type PluginLimits, type PluginsConfig } from './config.ts';
import { PluginLoadError } from './host.ts';
import type { DiscoveredPlugin, Manifest } from './discovered.ts';
import { MANIFEST_FILE, readManifest } from './manifest.ts';
import { containedEntry } from './plugin-files.ts';
import { typeFromFileName } from './info.ts';
import type { PluginKind, StaticPluginModule } from './types.ts';
import type { Schema } from '../../lib/schema/schema.ts';

export const SYSTEM_PLUGIN_DIR = '/usr/lib/logloom/plugins';

const KIND_BY_EXT: Record<string, PluginKind> = { '.so': 'native', '.py': 'python' };

export interface DiscoveryResult {
  plugins: DiscoveredPlugin[];
  failures: PluginLoadError[];
  /** Directory-level notes (a configured directory that does not exist…). */
  warnings: string[];
}

/**
 * Effective limits: plugins.defaults, then the manifest's limits, then plugins.limits.<name>.
 * A validated plugins.limits.<name> block carries every key (defaults filled in), so only the
 * keys whose value differs from the schema default count as set there.
 */
export function effectiveLimits(config: PluginsConfig, name: string, manifest?: Partial<PluginLimits>): PluginLimits {
  const out: Record<string, unknown> = { ...config.defaults };
  for (const [k, v] of Object.entries(manifest ?? {})) if (v !== undefined) out[k] = v;
  const own = config.limits[name] as Record<string, unknown> | undefined;
  if (own) {
    for (const [k, v] of Object.entries(own)) {
      const def = ((limitFields as Record<string, Schema>)[k] as { default?: unknown } | undefined)?.default;
      if (v !== undefined && v !== def) out[k] = v;
    }
  }
  return out as PluginLimits;
}

export function staticPlugin(mod: StaticPluginModule, config: PluginsConfig): DiscoveredPlugin {
  return {
    name: mod.info.name, kind: 'static', type: mod.info.type, origin: `static-plugins/${mod.info.name}`, protocol: 'line', trusted: true,
    limits: effectiveLimits(config, mod.info.name, mod.limits), staticModule: mod,
  };
}

/** A plugin described by a manifest at `path`; `shownAs` names it in messages. */
export function fromManifest(path: string, config: PluginsConfig, shownAs = path): DiscoveredPlugin {
  const m: Manifest = readManifest(path, shownAs);
  if (m.entry.kind === 'static') throw new PluginLoadError(shownAs, 'entry.kind static is only for plugins compiled into the binary (static-plugins/)');
  const p: DiscoveredPlugin = {
    name: m.name, kind: m.entry.kind, type: m.type, origin: path, manifestPath: path, manifest: m, protocol: m.entry.protocol,
    trusted: m.entry.trusted, limits: effectiveLimits(config, m.name, m.limits),
  };
  if (m.entry.kind === 'socket') {
    p.address = m.entry.address;
  } else {
    let file: string;
    try {
      file = containedEntry(path, m.entry.path!);
    } catch (e) {
      throw new PluginLoadError(shownAs, (e as Error).message);
    }
    p.file = file;
    p.origin = file;
  }
  return p;
}

/** A bare file typed by its name (no manifest). */
export function fromFile(file: string, config: PluginsConfig): DiscoveredPlugin {
  const base = basename(file);
  const ext = base.slice(base.lastIndexOf('.'));
  const kind = KIND_BY_EXT[ext];
  if (!kind) throw new PluginLoadError(base, `unknown plugin file type ${JSON.stringify(ext)} (expected .so or .py, or a plugin.yaml)`);
  const type = typeFromFileName(base);
  if (!type) throw new PluginLoadError(base, 'cannot tell the type from the file name (expected filter_*, sink_*, ai_* or lang_*) and there is no plugin.yaml beside it');
  const name = base.slice(0, -ext.length);
  return { name, kind, type, origin: file, file, protocol: 'line', trusted: false, limits: effectiveLimits(config, name) };
}

/** Scans one directory. */
export function scanDir(dir: string, config: PluginsConfig, out: DiscoveryResult): void {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dir !== SYSTEM_PLUGIN_DIR) out.warnings.push(`plugin directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return;
  }
  const claimed = new Set<string>();
  const add = (make: () => DiscoveredPlugin) => {
    try {
      const p = make();
      if (p.file) claimed.add(p.file);
      out.plugins.push(p);
    } catch (e) {
      if (e instanceof PluginLoadError) out.failures.push(e);
      else throw e;
    }
  };
  // Manifests first, so that the files they describe are not also taken as bare files.
  for (const n of names) {
    const full = join(dir, n);
    let isDir = false;
    try {
      isDir = statSync(full).isDirectory();
    } catch {
      continue;
    }
    if (isDir && existsSync(join(full, MANIFEST_FILE))) add(() => fromManifest(join(full, MANIFEST_FILE), config, relative(dir, join(full, MANIFEST_FILE))));
    else if (!isDir && /\.ya?ml$/.test(n)) add(() => fromManifest(full, config, n));
  }
  for (const n of names) {
    const full = resolve(dir, n);
    if (claimed.has(full) || !/\.(so|py)$/.test(n)) continue;
    try {
      if (!statSync(full).isFile()) continue;
    } catch {
      continue;
    }
    add(() => fromFile(full, config));
  }
}

/**
 * Everything this build can know about: the static table, then the directories (none in a
 * locked build). A name seen twice keeps the first (static plugins win) and refuses the others.
 */
export function discover(opts: { statics: readonly StaticPluginModule[]; config: PluginsConfig; dirs: readonly string[] }): DiscoveryResult {
  const out: DiscoveryResult = { plugins: opts.statics.map((m) => staticPlugin(m, opts.config)), failures: [], warnings: [] };
  for (const d of opts.dirs) scanDir(d, opts.config, out);
  const seen = new Map<string, DiscoveredPlugin>();
  out.plugins = out.plugins.filter((p) => {
    const first = seen.get(p.name);
    if (!first) {
      seen.set(p.name, p);
      return true;
    }
    out.failures.push(new PluginLoadError(p.file ? basename(p.file) : p.origin, `name "${p.name}" is already taken by ${first.origin}`));
    return false;
  });
  return out;
}

/** The plugin name a refused file stood for: `filter_x.so`, `filter_x.py` or `filter_x/plugin.yaml` → filter_x. */
export function failedPluginName(file: string): string {
  return basename(file.replace(/\/plugin\.ya?ml$|\.(so|py|ya?ml)$/, ''));
}

/** Name used in `[WARN] Failed to load plugin '<file>'` for a discovered plugin. */
export function shownName(p: DiscoveredPlugin): string {
  if (p.file) return basename(p.file);
  if (p.kind === 'static') return p.name;
  return p.manifestPath ? basename(p.manifestPath) === MANIFEST_FILE ? relative(resolve(p.manifestPath, '../..'), p.manifestPath) : basename(p.manifestPath) : p.name;
}
