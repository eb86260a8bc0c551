/**
 * Bundles the agent into one CommonJS file for one target and build profile, with every run-time
 * asset embedded (globalThis.__LOGLOOM_ASSETS__, path → base64; see agent/assets.ts).
 *
 *   node toolchain/bundle.ts [--target x64|arm64|armv7] [--profile default|locked] [--out FILE]
 *
 * CommonJS because Node 24's single-executable support only runs a CommonJS main script.
 * Native addons are not bundled as code: `node-gyp-build` (how serialport finds its binding) is
 * replaced by a loader that unpacks the target's prebuilt binding from the asset map.
 */
import { build, type Plugin } from 'esbuild';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, TARGETS, PROFILES, type Profile, type Target } from './targets.ts';
import { nativeAssets } from './native-assets.ts';

export class BundleError extends Error {}

export interface BundleResult {
  out: string;
  bytes: number;
  assets: string[];
}

/** Files every build embeds, by their path from the repository root. */
function commonAssets(profile: Profile): string[] {
  const files = ['agent/config/default-config.yaml', 'agent/demo/demo-config.yaml'];
  for (const f of readdirSync(join(ROOT, 'locales'))) if (f.endsWith('.yaml')) files.push(`locales/${f}`);
  // The Python SDK runs plugins in child processes; a locked build has no dynamic loaders.
  if (profile !== 'locked' && existsSync(join(ROOT, 'python'))) files.push(...walk('python').filter((f) => !/__pycache__|\.pyc$/.test(f)));
  return files;
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const rel = `${dir}/${name}`;
    if (statSync(join(ROOT, rel)).isDirectory()) out.push(...walk(rel));
    else out.push(rel);
  }
  return out;
}

/** The serialport prebuild for the target (glibc), from the npm package, embedded when used. */
function serialportBinding(target: Target): { key: string; file: string } {
  const t = TARGETS[target];
  const dir = `node_modules/@serialport/bindings-cpp/prebuilds/${t.prebuildDir}`;
  const key = `${dir}/${t.serialportPrebuild}`;
  if (!existsSync(join(ROOT, key))) throw new BundleError(`serialport prebuild for ${target} missing: ${key} (run make setup)`);
  return { key, file: join(ROOT, key) };
}

/**
 * Source of the static plugin table for a profile, or undefined for the checked-in one (default).
 * When toolchain/gen-static-table.ts exists (plugin framework) it generates any profile's table;
 * without it a non-default profile gets the default plugins, marked with its name and LOCKED.
 */
async function staticTableSource(profile: Profile): Promise<string | undefined> {
  const generator = join(ROOT, 'toolchain/gen-static-table.ts');
  if (existsSync(generator)) {
    const mod = (await import(generator)) as { generateTable?: (profile: string) => string };
    if (typeof mod.generateTable === 'function') return mod.generateTable(profile);
  }
  if (profile === 'default') return undefined;
  return readFileSync(TABLE, 'utf8')
    .replace(/export const PROFILE = '[^']*';/, `export const PROFILE = '${profile}';`)
    .replace(/export const LOCKED = (true|false);/, 'export const LOCKED = true;');
}

const TABLE = join(ROOT, 'static-plugins/table.generated.ts');

export async function bundle(opts: { target: Target; profile: Profile; out: string }): Promise<BundleResult> {
  const { target, profile, out } = opts;
  const assets = new Map<string, string>(); // key → file on disk
  for (const f of commonAssets(profile)) assets.set(f, join(ROOT, f));
  for (const a of nativeAssets(target, profile)) assets.set(a.key, a.file);
  const table = await staticTableSource(profile);

  const plugins: Plugin[] = [
    {
      name: 'logloom-profile-table',
      setup(b) {
        // The table is generated in memory; its relative imports resolve from static-plugins/.
        b.onLoad({ filter: /table\.generated\.ts$/ }, (args) =>
          args.path === TABLE && table !== undefined ? { contents: table, loader: 'ts', resolveDir: dirname(TABLE) } : undefined);
      },
    },
    {
      name: 'logloom-native-bindings',
      setup(b) {
        b.onResolve({ filter: /^node-gyp-build$/ }, (args) => {
          if (!args.importer.includes('@serialport/bindings-cpp')) {
            throw new BundleError(`node-gyp-build imported by ${relative(ROOT, args.importer)}: add its prebuilt binding to toolchain/bundle.ts`);
          }
          const bin = serialportBinding(target);
          assets.set(bin.key, bin.file);
          return { path: bin.key, namespace: 'logloom-native' };
        });
        b.onLoad({ filter: /.*/, namespace: 'logloom-native' }, (args) => ({
          contents: `import { loadNativeAsset } from ${JSON.stringify(join(ROOT, 'agent/assets.ts'))};\n` +
            `export default function nodeGypBuild() { return loadNativeAsset(${JSON.stringify(args.path)}); }\n`,
          loader: 'ts',
          resolveDir: ROOT,
        }));
      },
    },
  ];

  const result = await build({
    entryPoints: [join(ROOT, 'agent/cli/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: TARGETS[target].esTarget,
    write: false,
    outfile: out,
    minifySyntax: true,
    legalComments: 'none',
    logLevel: 'silent',
    // agent/assets.ts only uses import.meta.url in a checkout; in the bundle the asset map answers.
    define: { 'import.meta.url': JSON.stringify('file:///logloom/agent/assets.ts') },
    plugins,
  }).catch((e: unknown) => {
    const errors = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
    if (!errors) throw e;
    throw new BundleError(errors.map((x) => `${x.location ? `${x.location.file}:${x.location.line}:${x.location.column}: ` : ''}${x.text}`).join('\n'));
  });
  // esbuild keeps main.ts's #! line first; the banner goes before it, so drop it.
  const code = result.outputFiles[0]!.text.replace(/^#![^\n]*\n/, '');

  const map: Record<string, string> = {};
  for (const [key, file] of [...assets].sort(([a], [b]) => a.localeCompare(b))) {
    if (!existsSync(file)) throw new BundleError(`asset ${key}: file missing: ${file}`);
    map[key] = readFileSync(file).toString('base64');
  }
  // The asset map must exist before any bundled module runs (locales load at import time).
  const banner = `"use strict";\nglobalThis.__LOGLOOM_ASSETS__ = ${JSON.stringify(map)};\n` +
    `globalThis.__LOGLOOM_BUILD__ = ${JSON.stringify({ target, profile })};\n`;
  mkdirSync(dirname(out), { recursive: true });
  const text = banner + code;
  writeFileSync(out, text);
  return { out, bytes: Buffer.byteLength(text), assets: Object.keys(map) };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: { target: { type: 'string', default: 'x64' }, profile: { type: 'string', default: 'default' }, out: { type: 'string' } },
  });
  const target = values.target as Target;
  const profile = values.profile as Profile;
  if (!(target in TARGETS)) throw new BundleError(`--target: expected one of ${Object.keys(TARGETS).join(', ')}, got "${target}"`);
  if (!PROFILES.includes(profile)) throw new BundleError(`--profile: expected one of ${PROFILES.join(', ')}, got "${profile}"`);
  const out = values.out ?? join(ROOT, 'dist/build', `${target}-${profile}`, 'logloom.cjs');
  const r = await bundle({ target, profile, out });
  process.stderr.write(`bundle: ${relative(ROOT, r.out)} (${(r.bytes / 1024).toFixed(0)} KiB, ${r.assets.length} assets)\n`);
}
