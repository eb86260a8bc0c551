/**
 * plugin.yaml: parsing and checking (docs/plugin-manifest.md). Every problem becomes a
 * PluginLoadError whose reason is printed as `[WARN] Failed to load plugin '<file>': <reason>`.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import validVersion from 'semver/functions/valid.js';
import { s, type Infer, type Refinement, type Schema } from '../../lib/schema/schema.ts';
import { formatIssue, validateYamlDocument } from '../../lib/schema/validate.ts';
import { limitFields, type PluginLimits } from './config.ts';
import { PluginLoadError } from './host.ts';
import type { Manifest, ManifestEntry } from './discovered.ts';
import { checkMode, NAME_PATTERN, PLUGIN_MODES } from './info.ts';
import { manifestSha256 } from './signing.ts';
import { PLUGIN_TYPES, type PluginKind, type PluginType } from './types.ts';

export const MANIFEST_FILE = 'plugin.yaml';
export const ENTRY_KINDS = ['static', 'native', 'python', 'socket'] as const;

const HEX64 = { pattern: /^[0-9a-f]{64}$/, patternDoc: '64 lower-case hex digits' };

/**
 * A manifest's limits are the configuration's limit keys (plugins.limits.<name>) without their
 * defaults: a key the manifest leaves out is not set by it, and plugins.defaults applies.
 * Built on first use: config.ts and this module import each other (through discovery).
 */
function manifestLimitFields(): Record<string, Schema> {
  return Object.fromEntries(
    Object.entries(limitFields).map(([k, f]: [string, Schema]) => [k, s.optional(f.kind === 'optional' ? f.inner : { ...f, default: undefined }, { doc: f.doc })]),
  );
}

function kindFromPath(path: unknown): PluginKind | undefined {
  if (typeof path !== 'string') return undefined;
  if (path.endsWith('.so')) return 'native';
  if (path.endsWith('.py')) return 'python';
  if (path.endsWith('.ts')) return 'static';
  return undefined;
}

const entrySchema = s.object(
  {
    kind: s.optional(s.enum(ENTRY_KINDS, { doc: '' }), { doc: 'How the plugin runs (default: from the path: .so native, .py python, .ts static).' }),
    path: s.optional(s.string({ doc: '', minLength: 1, pattern: /^[^\0]+$/, patternDoc: 'a file path' }), { doc: 'The entry file, relative to the manifest (static, native, python).' }),
    address: s.optional(s.string({ doc: '', pattern: /^(unix:.+|tcp:[^:]+:\d{1,5})$/, patternDoc: 'unix:PATH or tcp:HOST:PORT' }), { doc: 'Where the service listens (socket).' }),
    protocol: s.enum(['line', 'jsonrpc'] as const, { default: 'line', doc: 'Socket plugins: the line protocol or JSON-RPC.' }),
    trusted: s.bool({ default: false, doc: 'Native filters and sinks: load in-process (signed plugins only).' }),
  },
  { doc: 'How the agent starts the plugin.', refine: checkEntry },
);

/** The entry a kind needs: a socket service an address, every other kind a file. */
function checkEntry(e: { kind?: PluginKind; path?: string; address?: string }): Refinement[] {
  const kind = e.kind ?? kindFromPath(e.path);
  if (kind === undefined) return [{ key: e.path === undefined ? undefined : 'path', message: `${e.path === undefined ? 'missing kind' : 'kind is missing and the path does not tell it'} (one of ${ENTRY_KINDS.join(', ')}; or a path ending in .so, .py or .ts)` }];
  if (kind === 'socket') return e.address === undefined ? [{ message: 'missing address (unix:PATH or tcp:HOST:PORT)' }] : [];
  return e.path === undefined ? [{ message: 'missing path' }] : [];
}

/** plugin.yaml (docs/plugin-manifest.md), in the schema language the configuration uses. */
const buildManifestSchema = () => s.object(
  {
    name: s.string({ doc: 'The plugin\'s name, as plugins.enabled lists it.', pattern: NAME_PATTERN, patternDoc: '1 to 64 characters [A-Za-z0-9_.-]' }),
    version: s.string({ doc: 'Semantic version, e.g. 1.2.0.', check: (v) => (validVersion(v) === null ? `invalid version ${JSON.stringify(v)} (expected a semantic version such as 1.2.0)` : undefined) }),
    author: s.string({ doc: 'Who wrote it.', minLength: 1, patternDoc: 'a non-empty string' }),
    type: s.enum(PLUGIN_TYPES, { doc: 'filter, sink, ai or lang.' }),
    mode: s.optional(s.enum(PLUGIN_MODES, { doc: '' }), { doc: 'sync or async (default: sync for filter and lang, async for sink and ai).' }),
    capability: s.array(s.string({ doc: '' }), { default: [], doc: 'Free-form capability words.' }),
    entry: entrySchema,
    limits: s.object(manifestLimitFields(), { doc: 'Limits the plugin asks for (plugins.limits.<name> overrides them).' }),
    sha256: s.optional(s.string({ doc: '', ...HEX64 }), { doc: 'Digest of the entry file (signing).' }),
    signature: s.optional(s.string({ doc: '', pattern: /^[A-Za-z0-9+/]+={0,2}$/, patternDoc: 'base64' }), { doc: 'ed25519 signature (signing).' }),
    files: s.optional(s.map(s.string({ doc: '', ...HEX64 }), { doc: '' }), { doc: 'Digest of every other file of the plugin, by relative path (signing).' }),
    description: s.optional(s.string({ doc: '' }), { doc: 'One line for `plugins list`.' }),
  },
  {
    doc: 'A plugin manifest.',
    refine: (m) => {
      const why = checkMode(m.mode, m.type);
      if (why) return [{ key: 'mode', message: why.replace(/^mode /, '') }];
      return m.entry.kind === undefined && m.entry.path === undefined && m.entry.address === undefined
        ? [{ key: 'entry', message: 'required key is missing (a mapping with kind and path, or kind: socket and address)' }]
        : [];
    },
  },
);
let manifestSchema: ReturnType<typeof buildManifestSchema> | undefined;

/**
 * Checks the text of a plugin.yaml (`file` is how positions name it). Throws Error whose message
 * lists every problem as `file:line:col: key: what`, as check-config does for the configuration.
 */
export function parseManifest(text: string, file: string): Manifest {
  const { value, issues } = validateYamlDocument<Infer<ReturnType<typeof buildManifestSchema>>>(text, file, (manifestSchema ??= buildManifestSchema()));
  if (!value) throw new Error(issues.map(formatIssue).join('; '));
  const kind = value.entry.kind ?? kindFromPath(value.entry.path)!;
  const entry: ManifestEntry = { kind, protocol: value.entry.protocol, trusted: value.entry.trusted };
  if (kind === 'socket') entry.address = value.entry.address;
  else entry.path = value.entry.path;
  const limits = Object.fromEntries(Object.entries(value.limits).filter(([, v]) => v !== undefined)) as Partial<PluginLimits>;
  return {
    name: value.name,
    version: value.version,
    author: value.author,
    type: value.type as PluginType,
    mode: value.mode,
    capability: value.capability,
    entry,
    limits,
    sha256: value.sha256,
    signature: value.signature,
    contentSha256: manifestSha256(parse(text)),
  };
}

/** Reads and checks a plugin.yaml; failures are PluginLoadError naming `shownAs`. */
export function readManifest(path: string, shownAs: string = path): Manifest {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PluginLoadError(shownAs, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return parseManifest(text, path);
  } catch (e) {
    throw new PluginLoadError(shownAs, (e as Error).message);
  }
}
