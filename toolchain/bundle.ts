/**
 * Bundles the CLI (cli/main.ts) with esbuild for one build profile:
 *   node toolchain/bundle.ts [--profile default] [--out dist/logloom-default.mjs] [--format esm|cjs] [--target x64|arm64|armv7]
 * - platform node, one file: dist/logloom-<profile>.mjs (esm, the default) or, for the single
 *   executable, CommonJS (Node 24's SEA runs only a CommonJS main; toolchain/package.ts).
 * - The profile's static table and hosts table are rendered in memory (toolchain/gen-static-table.ts)
 *   and replace the committed ones, so a locked profile bundles no dynamic host at all.
 * - Assets (toolchain/assets.ts) are embedded as globalThis.__LOGLOOM_ASSETS__ (path → base64),
 *   plus any files the caller adds (the native parts built for the target).
 * - `node-gyp-build` (how serialport finds its binding) is replaced by a loader that unpacks the
 *   target's prebuilt binding from the assets (lib/assets.ts loadNativeAsset).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { ASSET_GLOBS, collectAssets, DYNAMIC_ASSET_GLOBS } from './assets.ts';
import { contentKey } from '../lib/assets.ts';
import { localeTableAsset, parseLocale } from '../lib/i18n/catalogue.ts';
import { generated, readProfile, ROOT } from './gen-static-table.ts';
import { TARGETS, type Target } from './targets.ts';

export class BundleError extends Error {}

export interface BundleOptions {
  profile?: string;
  /** Output file; default dist/logloom-<profile>.mjs (esm) or .cjs under the repository. */
  outfile?: string;
  /**
   * true: esbuild's full minify. 'compact': whitespace, comments and syntax only (names kept, so
   * error messages and class names read as in the source): what the single executable ships, since
   * V8 holds the whole main script in its heap and a script with any non-Latin-1 character (a
   * comment in a dependency is enough) at two bytes per character.
   */
  minify?: boolean | 'compact';
  /** Extra asset globs besides toolchain/assets.ts. */
  extraAssets?: string[];
  /** Extra assets as asset key → file on disk (native parts built for the target). */
  assetFiles?: Record<string, string>;
  /** Repository root (tests bundle a copy of the tree). */
  root?: string;
  /** esm (runs with node) or cjs (the single executable's main script). */
  format?: 'esm' | 'cjs';
  /** Architecture whose prebuilt native bindings are embedded (default x64). */
  target?: Target;
}

export interface BundleResult {
  outfile: string;
  profile: string;
  locked: boolean;
  bytes: number;
  /** Repository-relative paths of the modules in the bundle. */
  inputs: string[];
  /** Keys of the embedded assets. */
  assets: string[];
}

/** The serialport prebuild (glibc) for the target, from the npm package. */
function serialportBinding(root: string, target: Target): { key: string; file: string } {
  const t = TARGETS[target];
  const key = `node_modules/@serialport/bindings-cpp/prebuilds/${t.prebuildDir}/${t.serialportPrebuild}`;
  const file = join(root, key);
  if (!existsSync(file)) throw new BundleError(`serialport prebuild for ${target} missing: ${key} (run make setup)`);
  return { key, file };
}

export async function bundle(opts: BundleOptions = {}): Promise<BundleResult> {
  const root = opts.root ?? ROOT;
  const format = opts.format ?? 'esm';
  const target = opts.target ?? 'x64';
  const profile = readProfile(opts.profile ?? 'default', root);
  const outfile = opts.outfile ?? join(root, 'dist', `logloom-${profile.name}.${format === 'esm' ? 'mjs' : 'cjs'}`);
  mkdirSync(dirname(outfile), { recursive: true });
  const replaced = generated(profile, root);
  const assets = collectAssets(root, profile.locked ? ASSET_GLOBS : [...ASSET_GLOBS, ...DYNAMIC_ASSET_GLOBS]);
  for (const g of opts.extraAssets ?? []) Object.assign(assets, collectAssets(root, [g]));
  const files = new Map(Object.entries(opts.assetFiles ?? {}));
  const profilePlugin: esbuild.Plugin = {
    name: 'logloom-profile',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        const rel = args.path.startsWith(root) ? args.path.slice(root.length).replace(/^\//, '') : undefined;
        if (rel === undefined || replaced[rel] === undefined) return undefined;
        return { contents: replaced[rel], loader: 'ts', resolveDir: dirname(args.path) };
      });
    },
  };
  // Native .node files cannot be loaded from inside the executable: the binding is embedded as
  // an asset and unpacked to a private directory on first use.
  const nativeBindingPlugin: esbuild.Plugin = {
    name: 'logloom-native-bindings',
    setup(build) {
      build.onResolve({ filter: /^node-gyp-build$/ }, (args) => {
        if (!args.importer.includes('@serialport/bindings-cpp')) {
          throw new BundleError(`node-gyp-build imported by ${relative(root, args.importer)}: add its prebuilt binding to toolchain/bundle.ts`);
        }
        const bin = serialportBinding(root, target);
        files.set(bin.key, bin.file);
        return { path: bin.key, namespace: 'logloom-native' };
      });
      build.onLoad({ filter: /.*/, namespace: 'logloom-native' }, (args) => ({
        contents: `import { loadNativeAsset } from ${JSON.stringify(join(root, 'lib/assets.ts'))};\n` +
          // Lazy: serialport takes its binding's functions when first imported, before the
          // configuration (and so runtime_dir) is known. Each function is a stub that unpacks and
          // loads the file on its first call or construction (the binding exports functions and the
          // Poller class only).
          `export default function nodeGypBuild() {\n` +
          `  let binding;\n` +
          `  const load = () => (binding ??= loadNativeAsset(${JSON.stringify(args.path)}));\n` +
          `  const stub = (key) => function (...a) { return new.target ? new (load()[key])(...a) : load()[key].apply(this, a); };\n` +
          `  return new Proxy({}, { get: (_t, key) => (typeof key !== 'string' || key === 'then' ? undefined : stub(key)) });\n` +
          `}\n`,
        loader: 'ts',
        resolveDir: root,
      }));
    },
  };
  const result = await esbuild.build({
    entryPoints: [join(root, 'cli/main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format,
    target: TARGETS[target].esTarget,
    ...(opts.minify === 'compact' ? { minifyWhitespace: true, minifySyntax: true, charset: 'ascii' as const } : { minify: opts.minify ?? false }),
    metafile: true,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
    // Native addons are files next to the bundle (or unpacked from the executable), never inlined.
    external: ['*.node'],
    // In CommonJS import.meta is empty; lib/assets.ts only needs it in a checkout.
    define: format === 'cjs' ? { 'import.meta.url': JSON.stringify('file:///logloom/cli/main.ts') } : {},
    // @platformatic/kafka's codecs (crc32c, lz4, snappy) read a .wasm file beside their module at
    // import; the package's `bundled` entry carries the same module inline, which a one-file bundle needs.
    alias: { '@platformatic/wasm-utils': '@platformatic/wasm-utils/bundled' },
    plugins: [profilePlugin, nativeBindingPlugin],
  }).catch((e: unknown) => {
    const errors = (e as { errors?: { text: string; location?: { file: string; line: number; column: number } | null }[] }).errors;
    if (!errors) throw e;
    throw new BundleError(errors.map((x) => `${x.location ? `${x.location.file}:${x.location.line}:${x.location.column}: ` : ''}${x.text}`).join('\n'));
  });
  for (const [key, file] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    if (!existsSync(file)) throw new BundleError(`asset ${key}: file missing: ${file}`);
    assets[key] = readFileSync(file).toString('base64');
  }
  // Each built-in catalogue also goes in parsed (lib/i18n/catalogue.ts): no YAML parse at start.
  for (const key of Object.keys(assets).filter((k) => /^locales\/[^/]+\.yaml$/.test(k))) {
    const table = Object.fromEntries(parseLocale(Buffer.from(assets[key]!, 'base64').toString('utf8')));
    assets[localeTableAsset(key)] = Buffer.from(JSON.stringify(table)).toString('base64');
  }
  // The asset map must exist before any bundled module runs (locales load at import time), so
  // it goes first; after the #! line for esm, while cjs drops that line (a SEA main is wrapped
  // in a function, where #! is a syntax error).
  let code = result.outputFiles![0]!.text;
  const hashbang = /^#![^\n]*\n/.exec(code)?.[0] ?? '';
  code = code.slice(hashbang.length);
  const banner = [
    ...(format === 'esm'
      ? [
        `import { createRequire as __logloomRequire } from 'node:module';`,
        `const require = __logloomRequire(import.meta.url);`,
        // Bundled CommonJS modules (serialport's binding loader) read __dirname/__filename, which
        // ESM lacks; as globals they do not clash with a module's own declarations.
        `globalThis.__filename ??= require('node:url').fileURLToPath(import.meta.url);`,
        `globalThis.__dirname ??= require('node:path').dirname(globalThis.__filename);`,
      ]
      : [`"use strict";`]),
    `globalThis.__LOGLOOM_ASSETS__ = ${JSON.stringify(assets)};`,
    `globalThis.__LOGLOOM_ASSET_KEYS__ = ${JSON.stringify(Object.fromEntries(Object.entries(assets).map(([k, b64]) => [k, contentKey(Buffer.from(b64, 'base64'))])))};`,
    `globalThis.__LOGLOOM_PROFILE__ = ${JSON.stringify(profile.name)};`,
  ].join('\n') + '\n';
  const text = (format === 'esm' ? hashbang : '') + banner + code;
  writeFileSync(outfile, text);
  return {
    outfile, profile: profile.name, locked: profile.locked, bytes: Buffer.byteLength(text),
    inputs: Object.keys(result.metafile!.inputs).map((p) => p.replace(/^.*?(agent|static-plugins|node_modules|toolchain)\//, '$1/')),
    assets: Object.keys(assets),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      profile: { type: 'string', default: 'default' },
      out: { type: 'string' },
      minify: { type: 'boolean', default: false },
      format: { type: 'string', default: 'esm' },
      target: { type: 'string', default: 'x64' },
    },
  });
  try {
    if (values.format !== 'esm' && values.format !== 'cjs') throw new BundleError(`--format: expected esm or cjs, got "${values.format}"`);
    if (!(values.target in TARGETS)) throw new BundleError(`--target: expected one of ${Object.keys(TARGETS).join(', ')}, got "${values.target}"`);
    const r = await bundle({ profile: values.profile, outfile: values.out, minify: values.minify, format: values.format, target: values.target as Target });
    process.stdout.write(`${r.outfile}: ${r.bytes} bytes, profile ${r.profile}${r.locked ? ' (locked)' : ''}, ${r.inputs.length} modules\n`);
  } catch (e) {
    process.stderr.write(`bundle: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}
