/**
 * Plugin signing (docs/plugin-manifest.md, "Signing"): plugin.yaml carries `files:` (the sha256 of
 * every file of the plugin), `sha256:` (the plugin digest: format, name, the manifest's meaning and
 * those file hashes) and `signature:` (ed25519 over the digest's hex by a key in
 * plugins.trusted_keys). Editing any file, adding one, or changing any value of plugin.yaml
 * (capability, entry.trusted, limits, type, mode…) breaks it. Checked at every start and restart
 * on the bytes that are then loaded (agent/plugins/verified-copy.ts).
 */
import type { KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse, parseDocument } from 'yaml';
import { readPluginFiles, type PluginFiles } from './plugin-files.ts';

// node:crypto (and OpenSSL's set-up) loads when first used, not at every start (start-up-modules.test.ts).
const crypto = () => process.getBuiltinModule('node:crypto');

/** signed: hash matches and a trusted key signed it; untrusted: hash matches but no trusted signature. */
export type SignatureState = 'signed' | 'unsigned' | 'modified' | 'untrusted';

export class SigningError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = 'SigningError';
  }
}

export function sha256Of(data: Buffer | string): string {
  return crypto().createHash('sha256').update(data).digest('hex');
}

export function sha256File(path: string): string {
  return sha256Of(readFileSync(path));
}

export function generateKeys(): { privatePem: string; publicPem: string; publicBase64: string } {
  const { privateKey, publicKey } = crypto().generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicBase64: rawPublicKey(publicKey),
  };
}

/** The 32 raw bytes of an ed25519 public key, base64: the short form trusted_keys accepts. */
export function rawPublicKey(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' }) as { x?: string };
  return Buffer.from(jwk.x ?? '', 'base64url').toString('base64');
}

/**
 * A public key from trusted_keys or --pubkey: a PEM file path, PEM text, or the base64 of the
 * raw 32-byte key. Throws SigningError naming the entry when it is none of these.
 */
export function loadPublicKey(spec: string): KeyObject {
  try {
    if (spec.includes('-----BEGIN')) return asEd25519(crypto().createPublicKey(spec), spec);
    if (existsSync(spec)) {
      const text = readFileSync(spec, 'utf8');
      // A private key file also yields its public key; accept it for convenience.
      return asEd25519(text.includes('PRIVATE KEY') ? crypto().createPublicKey(crypto().createPrivateKey(text)) : crypto().createPublicKey(text), spec);
    }
    const raw = Buffer.from(spec, 'base64');
    if (raw.length === 32) return crypto().createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
  } catch (e) {
    if (e instanceof SigningError) throw e;
    throw new SigningError(`${shorten(spec)}: not an ed25519 public key (${(e as Error).message})`);
  }
  throw new SigningError(`${shorten(spec)}: not a key file, PEM text or base64 ed25519 public key`);
}

export function loadPrivateKey(path: string): KeyObject {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new SigningError(`${path}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const k = crypto().createPrivateKey(text);
    if (k.asymmetricKeyType !== 'ed25519') throw new Error(`key type is ${k.asymmetricKeyType}`);
    return k;
  } catch (e) {
    throw new SigningError(`${path}: not an ed25519 private key (${(e as Error).message})`);
  }
}

function asEd25519(k: KeyObject, spec: string): KeyObject {
  if (k.asymmetricKeyType !== 'ed25519') throw new SigningError(`${shorten(spec)}: key type is ${k.asymmetricKeyType}, expected ed25519`);
  return k;
}

function shorten(s: string): string {
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

export function signHash(hashHex: string, key: KeyObject): string {
  return crypto().sign(null, Buffer.from(hashHex, 'utf8'), key).toString('base64');
}

export function verifyHash(hashHex: string, signatureB64: string, key: KeyObject): boolean {
  try {
    return crypto().verify(null, Buffer.from(hashHex, 'utf8'), key, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

export interface SignatureCheck {
  state: SignatureState;
  /** Why, in words (for `plugins verify` and the load warning). */
  detail: string;
  /** The plugin digest computed from the files read (what `sha256:` must say). */
  actualSha256?: string;
}

/** Keys of plugin.yaml that the signature writes, and so does not cover. */
export const SIGNATURE_KEYS = ['sha256', 'signature', 'files'] as const;
/** Names the digest format; a change of format changes every digest. */
const DIGEST_FORMAT = 'logloom-plugin-digest/2';

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v as object).sort()) out[k] = canonical((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/**
 * The sha256 of a manifest's meaning: its parsed document without the signature keys, as JSON
 * with sorted keys. Comments and layout do not count; every value (capability, entry.trusted,
 * limits, user, type, mode, name…) does.
 */
export function manifestSha256(doc: unknown): string {
  const d = { ...(doc as Record<string, unknown>) };
  for (const k of SIGNATURE_KEYS) delete d[k];
  return sha256Of(JSON.stringify(canonical(d)));
}

/** sha256 of each file except the manifest, by relative path. */
export function fileHashes(files: PluginFiles): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rel of [...files.files.keys()].sort()) if (rel !== files.manifest) out[rel] = sha256Of(files.files.get(rel)!);
  return out;
}

/**
 * The plugin digest that is signed: the format, the plugin's name, the manifest's meaning and
 * every file's hash. Binding the name means a signed plugin cannot be installed as another one.
 */
export function pluginDigest(name: string, manifestHash: string, hashes: Record<string, string>): string {
  const lines = [DIGEST_FORMAT, `name ${name}`, `manifest ${manifestHash}`];
  for (const rel of Object.keys(hashes).sort()) lines.push(`file ${rel} ${hashes[rel]}`);
  return sha256Of(lines.join('\n') + '\n');
}

function parseDoc(files: PluginFiles): Record<string, unknown> {
  const doc = parse(files.files.get(files.manifest!)!.toString('utf8')) as unknown;
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new SigningError(`${files.manifest} is not a mapping`);
  return doc as Record<string, unknown>;
}

/** Explains how the files differ from the `files:` list the signer saw; undefined when they agree. */
function fileDifference(root: string, signed: Record<string, unknown> | undefined, actual: Record<string, string>): string | undefined {
  if (!signed || typeof signed !== 'object') return 'plugin.yaml has sha256 but no files list (signed by an older logloom: sign it again)';
  for (const [rel, hash] of Object.entries(actual)) {
    if (!(rel in signed)) return `${rel} is not covered by the signature (added after signing)`;
    if (signed[rel] !== hash) return `sha256 of ${resolve(root, rel)} is ${hash}, plugin.yaml says ${String(signed[rel])}`;
  }
  for (const rel of Object.keys(signed)) if (!(rel in actual)) return `${rel} was signed but is missing`;
  return undefined;
}

/**
 * The signature state of a plugin from its files as read (manifest included): the files must be
 * exactly those signed, the manifest must mean what it meant when signed, and a trusted key must
 * have signed the digest of both. A plugin without a manifest cannot carry a signature.
 */
export function checkPluginFiles(files: PluginFiles, keys: readonly KeyObject[]): SignatureCheck {
  if (!files.manifest) return { state: 'unsigned', detail: 'no plugin.yaml (a bare file cannot be signed)' };
  let doc: Record<string, unknown>;
  try {
    doc = parseDoc(files);
  } catch (e) {
    return { state: 'modified', detail: `cannot parse ${files.manifest}: ${(e as Error).message.split('\n')[0]}` };
  }
  const hashes = fileHashes(files);
  const actual = pluginDigest(String(doc.name), manifestSha256(doc), hashes);
  if (typeof doc.sha256 !== 'string') return { state: 'unsigned', detail: 'no sha256 in plugin.yaml', actualSha256: actual };
  const diff = fileDifference(files.root, doc.files as Record<string, unknown> | undefined, hashes);
  if (diff) return { state: 'modified', detail: diff, actualSha256: actual };
  if (doc.sha256 !== actual) {
    return { state: 'modified', detail: `plugin.yaml changed after signing (digest ${actual}, plugin.yaml says ${doc.sha256})`, actualSha256: actual };
  }
  const signature = doc.signature;
  if (typeof signature !== 'string') return { state: 'untrusted', detail: 'sha256 matches but there is no signature', actualSha256: actual };
  if (keys.length === 0) return { state: 'untrusted', detail: 'signature present but no trusted key to check it with', actualSha256: actual };
  if (!keys.some((k) => verifyHash(actual, signature, k))) return { state: 'untrusted', detail: 'signature does not verify with any trusted key', actualSha256: actual };
  return { state: 'signed', detail: 'sha256 matches and the signature verifies', actualSha256: actual };
}

/** Reads a plugin and checks it (for `plugins verify`, `plugins list` and discovery). */
export function checkPluginSignature(p: { manifestPath?: string; file?: string }, keys: readonly KeyObject[]): SignatureCheck {
  try {
    return checkPluginFiles(readPluginFiles(p), keys);
  } catch (e) {
    return { state: 'modified', detail: (e as Error).message };
  }
}

/**
 * Signs a plugin: writes `files:` (every file's sha256), `sha256:` (the plugin digest) and, with a
 * key, `signature:` into its plugin.yaml, keeping its comments. Returns the digest.
 */
export function signPlugin(manifestPath: string, key: KeyObject | undefined, entryFile?: string): { sha256: string; files: Record<string, string> } {
  const files = readPluginFiles({ manifestPath, file: entryFile });
  const doc = parseDoc(files);
  if (typeof doc.name !== 'string') throw new SigningError(`${manifestPath}: no name to sign`);
  const hashes = fileHashes(files);
  const digest = pluginDigest(doc.name, manifestSha256(doc), hashes);
  const yamlDoc = parseDocument(readFileSync(manifestPath, 'utf8'));
  yamlDoc.set('files', hashes);
  yamlDoc.set('sha256', digest);
  if (key) yamlDoc.set('signature', signHash(digest, key));
  else yamlDoc.delete('signature');
  writeFileSync(manifestPath, yamlDoc.toString());
  return { sha256: digest, files: hashes };
}
