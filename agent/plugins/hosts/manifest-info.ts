import type { DiscoveredPlugin } from '../discovered.ts';
import { defaultMode } from '../info.ts';
import type { PluginInfo } from '../types.ts';

/** The info a complete plugin.yaml gives; undefined when the plugin must describe itself (`info` op). */
export function manifestInfo(p: DiscoveredPlugin): PluginInfo | undefined {
  const m = p.manifest;
  if (!m || !m.version || !m.author) return undefined;
  return { name: m.name, version: m.version, author: m.author, type: m.type, capability: m.capability, mode: m.mode ?? defaultMode(m.type) };
}
