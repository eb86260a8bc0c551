/**
 * Checks of plugin metadata, shared by manifests, `info` answers and the static table, so that a
 * problem reads the same whatever kind of plugin has it (these are the `<reason>` of
 * `[WARN] Failed to load plugin '<file>': <reason>`).
 */
import validVersion from 'semver/functions/valid.js';
import { PLUGIN_TYPES, type PluginInfo, type PluginMode, type PluginType } from './types.ts';
import { PluginLoadError } from './host.ts';
import type { DiscoveredPlugin } from './discovered.ts';

export const PLUGIN_MODES = ['sync', 'async'] as const;
export const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** Type from a file name prefix: filter_x.so → filter. */
export function typeFromFileName(file: string): PluginType | undefined {
  const base = file.split('/').pop() ?? file;
  const m = /^(filter|sink|ai|lang)_/.exec(base);
  return m ? (m[1] as PluginType) : undefined;
}

/** The mode a type implies when a plugin does not say. */
export function defaultMode(type: PluginType): PluginMode {
  return type === 'sink' || type === 'ai' ? 'async' : 'sync';
}

export function checkName(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return 'missing name';
  if (typeof v !== 'string' || !NAME_PATTERN.test(v)) return `invalid name ${JSON.stringify(v)} (expected 1 to 64 characters [A-Za-z0-9_.-])`;
  return undefined;
}

export function checkVersion(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return 'missing version';
  if (typeof v !== 'string' || validVersion(v) === null) return `invalid version ${JSON.stringify(typeof v === 'string' ? v : String(v))}`;
  return undefined;
}

export function checkType(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return 'missing type';
  if (typeof v !== 'string' || !(PLUGIN_TYPES as readonly string[]).includes(v)) return `type ${JSON.stringify(String(v))} is not one of ${PLUGIN_TYPES.join(', ')}`;
  return undefined;
}

export function checkMode(v: unknown, type: PluginType): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !(PLUGIN_MODES as readonly string[]).includes(v)) return `mode ${JSON.stringify(String(v))} is not one of ${PLUGIN_MODES.join(', ')}`;
  // Lang lookups happen while rendering and cannot wait; sinks and ai run off the hot path.
  if (type === 'lang' && v !== 'sync') return `mode "${v}" does not fit type lang (lang plugins are sync)`;
  if ((type === 'sink' || type === 'ai') && v !== 'async') return `mode "${v}" does not fit type ${type} (sink and ai plugins are async)`;
  return undefined;
}

export function checkCapability(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((c) => typeof c !== 'string')) return 'capability must be a list of strings';
  return undefined;
}

/**
 * Validates a plugin's own description of itself (info(), plugin_info(), the `info` op or a
 * static module's info) and returns it completed, or a reason. `expected` is what the file name
 * or manifest said: a different name or type is refused (the plugin would be hooked in wrongly).
 */
export function validateInfo(raw: unknown, expected: { name?: string; type?: PluginType } = {}): { info?: PluginInfo; reason?: string } {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { reason: 'info is not an object' };
  const r = raw as Record<string, unknown>;
  const reason = checkName(r.name) ?? checkVersion(r.version) ?? (r.author === undefined || r.author === '' ? 'missing author' : typeof r.author !== 'string' ? 'author must be a string' : undefined) ??
    checkType(r.type) ?? checkMode(r.mode, r.type as PluginType) ?? checkCapability(r.capability);
  if (reason) return { reason };
  const type = r.type as PluginType;
  if (expected.type && type !== expected.type) return { reason: `type "${type}" does not match the expected type ${expected.type}` };
  if (expected.name && r.name !== expected.name) return { reason: `name "${String(r.name)}" does not match the expected name ${expected.name}` };
  return {
    info: {
      name: r.name as string, version: r.version as string, author: r.author as string, type,
      capability: (r.capability as string[] | undefined) ?? [], mode: (r.mode as PluginMode | undefined) ?? defaultMode(type),
    },
  };
}

/** The reason both C and Python plugins get when neither plugin_info() nor a plugin.yaml describes them. */
export function missingInfo(what = 'plugin_info()'): string {
  return `missing ${what} (and no plugin.yaml beside it)`;
}

/**
 * The one rule for a plugin that does not describe itself (no plugin_info() in a .so or a .py, no
 * `info` answer from a service): its plugin.yaml describes it, or it is refused with
 * `missing plugin_info() (and no plugin.yaml beside it)`. Name and type alone (from a file name)
 * are not enough: version and author could only be made up.
 */
export function infoWithoutOwn(p: DiscoveredPlugin, what = 'plugin_info()'): PluginInfo {
  const m = p.manifest;
  if (!m) throw new PluginLoadError(p.file ? p.file.split('/').pop()! : p.origin, missingInfo(what));
  return {
    name: m.name, version: m.version ?? '', author: m.author ?? '', type: m.type, capability: m.capability, mode: m.mode ?? defaultMode(m.type),
  };
}
