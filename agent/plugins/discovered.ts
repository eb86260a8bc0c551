import type { PluginLimits } from './config.ts';
import type { PluginKind, PluginMode, PluginType, StaticPluginModule } from './types.ts';

/** The `entry:` block of a plugin.yaml (docs/plugin-manifest.md). */
export interface ManifestEntry {
  kind: PluginKind;
  /** static/native/python: the entry file, relative to the manifest. */
  path?: string;
  /** socket: `unix:PATH` or `tcp:HOST:PORT`. */
  address?: string;
  /** socket: line (default) or jsonrpc. */
  protocol: 'line' | 'jsonrpc';
  /** native: load in-process through the addon (no isolation). */
  trusted: boolean;
}

/** A parsed and checked plugin.yaml. Info fields are optional only for bare files typed by name. */
export interface Manifest {
  name: string;
  version?: string;
  author?: string;
  type: PluginType;
  mode?: PluginMode;
  capability: string[];
  entry: ManifestEntry;
  /** Limits set by the manifest (the config's plugins.limits.<name> overrides them). */
  limits: Partial<PluginLimits>;
  sha256?: string;
  signature?: string;
  /** sha256 of what the manifest says (signing.ts manifestSha256): a start refuses a manifest changed since discovery. */
  contentSha256?: string;
}

/** A plugin found by discovery (or compiled in), ready to be handed to its kind's host factory. */
export interface DiscoveredPlugin {
  name: string;
  kind: PluginKind;
  type: PluginType;
  /** Where it came from, as shown in messages and `plugins list` (file, manifest or `static`). */
  origin: string;
  /** The plugin.yaml it was described by, when there is one. */
  manifestPath?: string;
  manifest?: Manifest;
  /** Absolute path of the entry file (native .so, python .py); undefined for socket and static. */
  file?: string;
  /** socket kind. */
  address?: string;
  protocol: 'line' | 'jsonrpc';
  trusted: boolean;
  /** Effective limits: plugins.defaults < manifest limits < plugins.limits.<name>. */
  limits: PluginLimits;
  /** static kind: the compiled-in module. */
  staticModule?: StaticPluginModule;
}
