/**
 * Files embedded into a bundle as `globalThis.__LOGLOOM_ASSETS__` (path → base64; see
 * lib/assets.ts). One list for everyone: add the globs your component reads with readAsset().
 */
import { globSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ASSET_GLOBS: string[] = [
  'locales/*.yaml',
  'agent/config/default-config.yaml',
  'agent/demo/demo-config.yaml',
  'aggregator/dashboard/static/*',
];

/** Assets only the dynamic plugin hosts use: not embedded in a locked build (no dynamic hosts there). */
export const DYNAMIC_ASSET_GLOBS: string[] = [
  'python/logloom_plugin/*.py',
];

/** Repository path → base64 content of every asset matched by the globs. */
export function collectAssets(root: string, globs: readonly string[] = ASSET_GLOBS): Record<string, string> {
  const out: Record<string, string> = {};
  for (const g of globs) {
    const matches = globSync(g, { cwd: root }).sort();
    if (matches.length === 0) throw new Error(`asset glob ${g} matches nothing under ${root}`);
    for (const m of matches) out[m] = readFileSync(join(root, m)).toString('base64');
  }
  return out;
}
