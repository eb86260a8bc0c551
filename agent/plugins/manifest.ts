/**
 * plugin.yaml: parsing and checking (docs/plugin-manifest.md). Every problem becomes a
 * PluginLoadError whose reason is printed as `[WARN] Failed to load plugin '<file>': <reason>`.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { parseSize, type Schema } from '../../lib/schema/schema.ts';
import { limitFields, type PluginLimits } from './config.ts';
import { PluginLoadError } from './host.ts';
import type { Manifest, ManifestEntry } from './discovered.ts';
import { checkCapability, checkMode, checkName, checkType, checkVersion } from './info.ts';
import { manifestSha256 } from './signing.ts';
import type { PluginKind, PluginMode, PluginType } from './types.ts';

export const MANIFEST_FILE = 'plugin.yaml';
export const ENTRY_KINDS = ['static', 'native', 'python', 'socket'] as const;
const MANIFEST_KEYS = ['name', 'version', 'author', 'type', 'mode', 'capability', 'entry', 'limits', 'sha256', 'signature', 'files', 'description'];

/** Checks one scalar against a limit field's schema; returns the value or a reason. */
function checkLimit(key: string, schema: Schema, v: unknown): { value?: unknown; reason?: string } {
  const bad = (what: string) => ({ reason: `limits.${key}: expected ${what}, got ${JSON.stringify(v)}` });
  const s = schema.kind === 'optional' ? schema.inner : schema;
  switch (s.kind) {
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) && v >= s.min && v <= s.max ? { value: v } : bad(`an integer from ${s.min} to ${s.max}`);
    case 'number':
      return typeof v === 'number' && v >= s.min && v <= s.max ? { value: v } : bad(`a number from ${s.min} to ${s.max}`);
    case 'size': {
      const n = typeof v === 'number' ? v : typeof v === 'string' ? parseSize(v) : undefined;
      return n !== undefined && n >= s.min && n <= s.max ? { value: n } : bad('a size such as 64MiB');
    }
    case 'enum':
      return typeof v === 'string' && s.values.includes(v) ? { value: v } : bad(`one of ${s.values.join(', ')}`);
    case 'string':
      return typeof v === 'string' && v !== '' ? { value: v } : bad('a string');
    default:
      return bad('a value');
  }
}

function parseLimits(v: unknown): Partial<PluginLimits> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new Error('limits must be a mapping');
  const out: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    const schema = (limitFields as Record<string, Schema>)[k];
    if (!schema) throw new Error(`limits.${k}: unknown limit; expected one of ${Object.keys(limitFields).join(', ')}`);
    const r = checkLimit(k, schema, val);
    if (r.reason) throw new Error(r.reason);
    out[k] = r.value;
  }
  return out as Partial<PluginLimits>;
}

function parseEntry(v: unknown, inferredKind?: PluginKind): ManifestEntry {
  const e = (v ?? {}) as Record<string, unknown>;
  if (typeof e !== 'object' || Array.isArray(e)) throw new Error('entry must be a mapping');
  const kind = (e.kind ?? inferredKind) as PluginKind | undefined;
  if (kind === undefined) throw new Error('missing entry.kind');
  if (!(ENTRY_KINDS as readonly string[]).includes(kind)) throw new Error(`entry.kind ${JSON.stringify(String(kind))} is not one of ${ENTRY_KINDS.join(', ')}`);
  const protocol = e.protocol ?? 'line';
  if (protocol !== 'line' && protocol !== 'jsonrpc') throw new Error(`entry.protocol ${JSON.stringify(String(protocol))} is not one of line, jsonrpc`);
  if (e.trusted !== undefined && typeof e.trusted !== 'boolean') throw new Error('entry.trusted must be true or false');
  const entry: ManifestEntry = { kind, protocol, trusted: e.trusted === true };
  if (kind === 'socket') {
    if (typeof e.address !== 'string' || !/^(unix:.+|tcp:[^:]+:\d{1,5})$/.test(e.address)) {
      throw new Error(e.address === undefined ? 'missing entry.address (unix:PATH or tcp:HOST:PORT)' : `invalid entry.address ${JSON.stringify(e.address)} (expected unix:PATH or tcp:HOST:PORT)`);
    }
    entry.address = e.address;
  } else {
    if (typeof e.path !== 'string' || e.path === '') throw new Error('missing entry.path');
    if (e.path.includes('\0')) throw new Error('invalid entry.path');
    entry.path = e.path;
  }
  return entry;
}

function kindFromPath(path: unknown): PluginKind | undefined {
  if (typeof path !== 'string') return undefined;
  if (path.endsWith('.so')) return 'native';
  if (path.endsWith('.py')) return 'python';
  if (path.endsWith('.ts')) return 'static';
  return undefined;
}

/** Checks a parsed plugin.yaml document. Throws Error(reason). */
export function checkManifest(doc: unknown): Manifest {
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('plugin.yaml is not a mapping');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) if (!MANIFEST_KEYS.includes(k)) throw new Error(`unknown key "${k}" in plugin.yaml; expected one of ${MANIFEST_KEYS.join(', ')}`);
  const reason = checkName(d.name) ?? checkVersion(d.version) ?? (d.author === undefined || d.author === '' ? 'missing author' : undefined) ??
    checkType(d.type) ?? checkMode(d.mode, d.type as PluginType) ?? checkCapability(d.capability);
  if (reason) throw new Error(reason);
  if (d.sha256 !== undefined && (typeof d.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(d.sha256))) throw new Error('sha256 must be 64 lower-case hex digits');
  if (d.signature !== undefined && (typeof d.signature !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(d.signature))) throw new Error('signature must be base64');
  if (d.files !== undefined) {
    if (!d.files || typeof d.files !== 'object' || Array.isArray(d.files)) throw new Error('files must be a mapping of relative path to sha256');
    for (const [rel, h] of Object.entries(d.files as Record<string, unknown>)) {
      if (typeof h !== 'string' || !/^[0-9a-f]{64}$/.test(h)) throw new Error(`files.${rel}: expected 64 lower-case hex digits`);
    }
  }
  const entryRaw = d.entry as Record<string, unknown> | undefined;
  return {
    name: d.name as string,
    version: d.version as string,
    author: String(d.author),
    type: d.type as PluginType,
    mode: d.mode as PluginMode | undefined,
    capability: (d.capability as string[] | undefined) ?? [],
    entry: parseEntry(entryRaw, kindFromPath(entryRaw?.path)),
    limits: parseLimits(d.limits),
    sha256: d.sha256 as string | undefined,
    signature: d.signature as string | undefined,
    contentSha256: manifestSha256(d),
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
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new PluginLoadError(shownAs, `plugin.yaml is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  try {
    return checkManifest(doc);
  } catch (e) {
    throw new PluginLoadError(shownAs, (e as Error).message);
  }
}
