import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { writeFileAtomicSync } from '../lib/atomic-file.ts';

/**
 * Token authentication of nodes. The tokens file holds one `node_id hash` per line (`#` starts a
 * comment); the aggregator never stores a token itself, only its hash:
 *   sha256:<hex>                                   (fast; fine for the random tokens we generate)
 *   scrypt:<N>:<r>:<p>:<salt base64>:<hash base64>  (default of `logloom aggregator token`)
 * The file is re-read whenever its modification time or size changes, so adding a node needs no
 * restart.
 */
export class TokensFileError extends Error {
  readonly file: string;
  readonly line: number;
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = 'TokensFileError';
    this.file = file;
    this.line = line;
  }
}

type Hash =
  | { kind: 'sha256'; digest: Buffer; text: string }
  | { kind: 'scrypt'; N: number; r: number; p: number; salt: Buffer; digest: Buffer; text: string };

const NODE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

function scrypt(password: string, salt: Buffer, keylen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => scryptCb(password, salt, keylen, opts, (e, key) => (e ? reject(e) : resolve(key))));
}

function parseHash(text: string): Hash | string {
  const parts = text.split(':');
  if (parts[0] === 'sha256') {
    if (parts.length !== 2 || !/^[0-9a-f]{64}$/.test(parts[1]!)) return 'expected sha256:<64 hex digits>';
    return { kind: 'sha256', digest: Buffer.from(parts[1]!, 'hex'), text };
  }
  if (parts[0] === 'scrypt') {
    if (parts.length !== 6) return 'expected scrypt:<N>:<r>:<p>:<salt>:<hash>';
    const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
    if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || (N & (N - 1)) !== 0) return 'scrypt parameters must be positive integers, N a power of two';
    const salt = Buffer.from(parts[4]!, 'base64');
    const digest = Buffer.from(parts[5]!, 'base64');
    if (salt.length < 8 || digest.length < 16) return 'scrypt salt or hash too short';
    return { kind: 'scrypt', N, r, p, salt, digest, text };
  }
  return `unknown hash kind '${parts[0]}' (expected sha256: or scrypt:)`;
}

/** Parses the tokens file text; bad lines are reported, not fatal (the other nodes keep working). */
export function parseTokens(text: string, file: string): { hashes: Map<string, Hash>; problems: TokensFileError[] } {
  const hashes = new Map<string, Hash>();
  const problems: TokensFileError[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const fields = line.split(/\s+/);
    if (fields.length !== 2) return problems.push(new TokensFileError(file, i + 1, 'expected `node_id hash`'));
    const [node, hashText] = fields as [string, string];
    if (!NODE.test(node)) return problems.push(new TokensFileError(file, i + 1, `invalid node id '${node}'`));
    const h = parseHash(hashText);
    if (typeof h === 'string') return problems.push(new TokensFileError(file, i + 1, h));
    hashes.set(node, h);
  });
  return { hashes, problems };
}

export async function hashToken(token: string, kind: 'scrypt' | 'sha256' = 'scrypt'): Promise<string> {
  if (kind === 'sha256') return `sha256:${createHash('sha256').update(token).digest('hex')}`;
  const salt = randomBytes(16);
  const N = 16384, r = 8, p = 1;
  const digest = await scrypt(token, salt, 32, { N, r, p });
  return `scrypt:${N}:${r}:${p}:${salt.toString('base64')}:${digest.toString('base64')}`;
}

/** The tokens file, reloaded on change; verify() is constant-time and caches scrypt results. */
export class TokenStore {
  readonly file: string;
  private hashes = new Map<string, Hash>();
  private stamp = '';
  /** node → sha256 of a token that verified against `hash.text` (scrypt is slow on purpose). */
  private verified = new Map<string, { hashText: string; tokenSha: Buffer }>();
  private readonly warn: (msg: string) => void;

  constructor(file: string, warn: (msg: string) => void) {
    this.file = file;
    this.warn = warn;
  }

  /** (Re-)reads the file when it changed. A missing file means no node may connect. */
  refresh(): void {
    let stamp: string;
    try {
      const st = statSync(this.file);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch (e) {
      if (this.stamp !== 'missing') this.warn(`tokens file ${this.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; no node can authenticate by token`);
      this.stamp = 'missing';
      this.hashes.clear();
      return;
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    const { hashes, problems } = parseTokens(readFileSync(this.file, 'utf8'), this.file);
    for (const p of problems) this.warn(`tokens file ${p.message}; line ignored`);
    this.hashes = hashes;
    this.dummyHash = undefined;
  }

  get size(): number {
    return this.hashes.size;
  }

  /**
   * Whether `token` is the node's. Every check that is not a remembered success costs exactly one
   * scrypt, whether the node exists, has a sha256 or a scrypt hash, or not: the time it takes
   * tells a peer nothing about which node ids exist (unknown ids and sha256 lines run it against a
   * dummy hash with the parameters of the file's scrypt lines).
   */
  async verify(node: string, token: string): Promise<boolean> {
    this.refresh();
    const h = this.hashes.get(node);
    const tokenSha = createHash('sha256').update(token).digest();
    const cached = this.verified.get(node);
    // Only the right token can hit the cache, so its speed reveals nothing to a guesser.
    if (h && cached && cached.hashText === h.text && timingSafeEqual(cached.tokenSha, tokenSha)) return true;
    const kdf = h?.kind === 'scrypt' ? h : this.dummy();
    this.kdfRuns++;
    const digest = await scrypt(token, kdf.salt, kdf.digest.length, { N: kdf.N, r: kdf.r, p: kdf.p, maxmem: 256 * kdf.N * kdf.r + 1024 * 1024 });
    const kdfOk = timingSafeEqual(digest, kdf.digest);
    const ok = h?.kind === 'scrypt' ? kdfOk : h?.kind === 'sha256' ? timingSafeEqual(tokenSha, h.digest) : false;
    if (ok) this.verified.set(node, { hashText: h!.text, tokenSha });
    return ok;
  }

  /** Key derivations run (each costs the same); tests count them. */
  kdfRuns = 0;
  private dummyHash?: Extract<Hash, { kind: 'scrypt' }>;

  /** A hash no token matches, with the parameters of the first scrypt line (else the defaults). */
  private dummy(): Extract<Hash, { kind: 'scrypt' }> {
    if (this.dummyHash) return this.dummyHash;
    const model = [...this.hashes.values()].find((x): x is Extract<Hash, { kind: 'scrypt' }> => x.kind === 'scrypt');
    const N = model?.N ?? 16384, r = model?.r ?? 8, p = model?.p ?? 1, len = model?.digest.length ?? 32;
    this.dummyHash = { kind: 'scrypt', N, r, p, salt: randomBytes(16), digest: randomBytes(len), text: '' };
    return this.dummyHash;
  }
}

/**
 * Adds or replaces the line of `node` in the tokens file (mode 0600), atomically: a temporary
 * file is written, fsynced and renamed over the old one.
 */
export function writeTokenLine(file: string, node: string, hash: string): void {
  if (!NODE.test(node)) throw new Error(`invalid node id '${node}': 1 to 128 characters [A-Za-z0-9_.-], starting with a letter or digit`);
  let lines: string[] = [];
  try {
    lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    lines = ['# logloom aggregator tokens: node_id hash (written by `logloom aggregator token NODE`)'];
  }
  lines = lines.filter((l) => l.replace(/#.*/, '').trim().split(/\s+/)[0] !== node);
  lines.push(`${node} ${hash}`);
  writeFileAtomicSync(file, lines.join('\n') + '\n', 0o600);
}

/** The peer certificate's identities: subject CN and DNS subject alternative names. */
export function certificateNames(cert: { subject?: Record<string, unknown>; subjectaltname?: string } | undefined): string[] {
  if (!cert) return [];
  const names: string[] = [];
  const cn = cert.subject?.CN;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) names.push(...cn.map(String));
  for (const part of (cert.subjectaltname ?? '').split(/,\s*/)) if (part.startsWith('DNS:')) names.push(part.slice(4));
  return names;
}

export interface PeerIdentity {
  /** Whether the TLS layer verified a client certificate against tls.ca. */
  certVerified: boolean;
  certNames: string[];
}

/**
 * Decides whether a HELLO may proceed, per auth.mode. Returns undefined when it may, else the
 * reason (logged on the aggregator; the peer only learns AUTH_FAILED, not which part failed).
 */
export class Authenticator {
  readonly mode: 'token' | 'mtls' | 'token_and_mtls' | 'none';
  readonly tokens?: TokenStore;

  constructor(mode: Authenticator['mode'], tokens?: TokenStore) {
    this.mode = mode;
    this.tokens = tokens;
    if ((mode === 'token' || mode === 'token_and_mtls') && !tokens) throw new Error(`aggregator.auth.mode ${mode} needs aggregator.auth.tokens_file`);
  }

  async check(node: string, token: string, peer: PeerIdentity): Promise<string | undefined> {
    if (this.mode === 'mtls' || this.mode === 'token_and_mtls') {
      if (!peer.certVerified) return 'no verified client certificate';
      if (!peer.certNames.includes(node)) return `client certificate names ${peer.certNames.join(', ') || 'nothing'}, not ${node}`;
    }
    if (this.mode === 'token' || this.mode === 'token_and_mtls') {
      if (!(await this.tokens!.verify(node, token))) return 'unknown node or wrong token';
    }
    return undefined;
  }
}
