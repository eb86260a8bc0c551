/**
 * The compiled C parts embedded in a target's executable: the N-API addon, the C plugin host and
 * the plugin sandbox launcher
 * built for that architecture by toolchain/cross-compile.sh into build/native/<target>/.
 *
 * Each is embedded under the asset key the agent uses in a checkout (the x64 build output path),
 * so code loads it the same way in both modes: loadNativeAsset(key) / assetFile(key) from
 * lib/assets.ts. Parts that the checkout does not have yet are simply absent.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, type Profile, type Target } from './targets.ts';

/** file in build/native/<target>/ → asset key (the checkout path the agent loads). */
export const NATIVE_PARTS: readonly { file: string; key: string; dynamicOnly: boolean }[] = [
  { file: 'logloom_native.node', key: 'native/build/Release/logloom_native.node', dynamicOnly: false },
  { file: 'logloom-plugin-host', key: 'native/build/logloom-plugin-host', dynamicOnly: true },
  { file: 'logloom-launcher', key: 'native/build/logloom-launcher', dynamicOnly: true },
];

export function nativeBuildDir(target: Target): string {
  return join(ROOT, 'build/native', target);
}

export function nativeAssets(target: Target, profile: Profile): { key: string; file: string }[] {
  const dir = nativeBuildDir(target);
  if (!existsSync(dir)) return [];
  const present = new Set(readdirSync(dir));
  return NATIVE_PARTS.filter((p) => present.has(p.file) && !(profile === 'locked' && p.dynamicOnly))
    .map((p) => ({ key: p.key, file: join(dir, p.file) }));
}
