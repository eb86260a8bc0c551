/**
 * Plugin signing (seed §7.5): plugin.yaml carries the sha256 of the entry file and an ed25519
 * signature over that hex string by a key in plugins.trusted_keys. Checked before a file is
 * loaded or spawned.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';

/** signed: hash matches and a trusted key signed it; untrusted: hash matches but no trusted signature. */
export type SignatureState = 'signed' | 'unsigned' | 'modified' | 'untrusted';

export class SigningError extends Error {
  constructor(msg: string) {
    super(msg);
    this.name = 'SigningError';
  }
}

export function sha256Of(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(path: string): string {
  return sha256Of(readFileSync(path));
}

export function generateKeys(): { privatePem: string; publicPem: string; publicBase64: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
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
    if (spec.includes('-----BEGIN')) return asEd25519(createPublicKey(spec), spec);
    if (existsSync(spec)) {
      const text = readFileSync(spec, 'utf8');
      // A private key file also yields its public key; accept it for convenience.
      return asEd25519(text.includes('PRIVATE KEY') ? createPublicKey(createPrivateKey(text)) : createPublicKey(text), spec);
    }
    const raw = Buffer.from(spec, 'base64');
    if (raw.length === 32) return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
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
    const k = createPrivateKey(text);
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
  return sign(null, Buffer.from(hashHex, 'utf8'), key).toString('base64');
}

export function verifyHash(hashHex: string, signatureB64: string, key: KeyObject): boolean {
  try {
    return verify(null, Buffer.from(hashHex, 'utf8'), key, Buffer.from(signatureB64, 'base64'));
  } catch {
    return false;
  }
}

export interface SignatureCheck {
  state: SignatureState;
  /** Why, in words (for `plugins verify` and the load warning). */
  detail: string;
  actualSha256?: string;
}

/** Computes the signature state of an entry file against its manifest's sha256/signature. */
export function checkSignature(file: string, manifest: { sha256?: string; signature?: string } | undefined, keys: readonly KeyObject[]): SignatureCheck {
  let actual: string;
  try {
    actual = sha256File(file);
  } catch (e) {
    return { state: 'modified', detail: `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  if (!manifest?.sha256) return { state: 'unsigned', detail: 'no sha256 in plugin.yaml', actualSha256: actual };
  if (manifest.sha256 !== actual) return { state: 'modified', detail: `sha256 of ${file} is ${actual}, plugin.yaml says ${manifest.sha256}`, actualSha256: actual };
  if (!manifest.signature) return { state: 'untrusted', detail: 'sha256 matches but there is no signature', actualSha256: actual };
  if (keys.length === 0) return { state: 'untrusted', detail: 'signature present but no trusted key to check it with', actualSha256: actual };
  if (!keys.some((k) => verifyHash(actual, manifest.signature!, k))) return { state: 'untrusted', detail: 'signature does not verify with any trusted key', actualSha256: actual };
  return { state: 'signed', detail: 'sha256 matches and the signature verifies', actualSha256: actual };
}

/** Writes sha256 (and a signature when a key is given) into a plugin.yaml, keeping its comments. */
export function writeSignature(manifestPath: string, sha256: string, signature: string | undefined): void {
  const doc = parseDocument(readFileSync(manifestPath, 'utf8'));
  doc.set('sha256', sha256);
  if (signature) doc.set('signature', signature);
  else doc.delete('signature');
  writeFileSync(manifestPath, doc.toString());
}
