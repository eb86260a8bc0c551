/**
 * Bundles the CLI (agent/cli/main.ts) with esbuild for one build profile:
 *   node toolchain/bundle.ts [--profile default] [--out dist/logloom-default.mjs]
 * - platform node, target node24, format esm (main.ts uses top-level await, which cjs cannot
 *   express), one file: dist/logloom-<profile>.mjs.
 * - The profile's static table and hosts table are rendered in memory (toolchain/gen-static-table.ts)
 *   and replace the committed ones, so a locked profile bundles no dynamic host at all.
 * - Assets (toolchain/assets.ts) are embedded as globalThis.__LOGLOOM_ASSETS__ (path → base64).
 * The packaging engineer reuses bundle() for the single executable.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { collectAssets } from './assets.ts';
import { generated, readProfile, ROOT } from './gen-static-table.ts';

export interface BundleOptions {
  profile?: string;
  /** Output file; default dist/logloom-<profile>.mjs under the repository. */
  outfile?: string;
  minify?: boolean;
  /** Extra asset globs besides toolchain/assets.ts. */
  extraAssets?: string[];
}

export interface BundleResult {
  outfile: string;
  profile: string;
  locked: boolean;
  bytes: number;
  /** Repository-relative paths of the modules in the bundle. */
  inputs: string[];
}

export async function bundle(opts: BundleOptions = {}): Promise<BundleResult> {
  const profile = readProfile(opts.profile ?? 'default');
  const outfile = opts.outfile ?? join(ROOT, 'dist', `logloom-${profile.name}.mjs`);
  mkdirSync(dirname(outfile), { recursive: true });
  const replaced = generated(profile);
  const assets = collectAssets(ROOT);
  for (const g of opts.extraAssets ?? []) Object.assign(assets, collectAssets(ROOT, [g]));
  const profilePlugin: esbuild.Plugin = {
    name: 'logloom-profile',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        const rel = args.path.startsWith(ROOT) ? args.path.slice(ROOT.length) : undefined;
        if (rel === undefined || replaced[rel] === undefined) return undefined;
        return { contents: replaced[rel], loader: 'ts', resolveDir: dirname(args.path) };
      });
    },
  };
  const result = await esbuild.build({
    entryPoints: [join(ROOT, 'agent/cli/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: opts.minify ?? false,
    metafile: true,
    logLevel: 'silent',
    // Native addons are files next to the bundle (or unpacked from the executable), never inlined.
    external: ['*.node'],
    plugins: [profilePlugin],
    banner: {
      js: [
        `import { createRequire as __logloomRequire } from 'node:module';`,
        `const require = __logloomRequire(import.meta.url);`,
        `globalThis.__LOGLOOM_ASSETS__ = ${JSON.stringify(assets)};`,
        `globalThis.__LOGLOOM_PROFILE__ = ${JSON.stringify(profile.name)};`,
      ].join('\n'),
    },
  });
  const out = Object.values(result.metafile.outputs)[0]!;
  return {
    outfile, profile: profile.name, locked: profile.locked, bytes: out.bytes,
    inputs: Object.keys(result.metafile.inputs).map((p) => p.replace(/^.*?(agent|static-plugins|node_modules|toolchain)\//, '$1/')),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({ options: { profile: { type: 'string', default: 'default' }, out: { type: 'string' }, minify: { type: 'boolean', default: false } } });
  try {
    const r = await bundle({ profile: values.profile, outfile: values.out, minify: values.minify });
    process.stdout.write(`${r.outfile}: ${r.bytes} bytes, profile ${r.profile}${r.locked ? ' (locked)' : ''}, ${r.inputs.length} modules\n`);
  } catch (e) {
    process.stderr.write(`bundle: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
