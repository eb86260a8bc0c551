import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * API tokens: bearer tokens with a role, from a file of lines `role sha256:<hex> [name]`
 * (`#` starts a comment). Only the SHA-256 of a token is stored: API tokens are 256-bit random
 * values, so a slow hash would add nothing but latency to every request. The file is re-read
 * when it changes (checked at most once a second), so revoking a token needs no restart.
 */
export const ROLES = ['viewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface ApiToken {
  role: Role;
  name: string;
}

export class ApiTokens {
  readonly file: string;
  private tokens = new Map<string, ApiToken>();
  private stamp = '';
  private checkedAt = 0;
  private readonly warn: (m: string) => void;

  constructor(file: string, warn: (m: string) => void) {
    this.file = file;
    this.warn = warn;
  }

  refresh(force = false): void {
    const now = Date.now();
    if (!force && now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    let stamp: string;
    try {
      const st = statSync(this.file);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch (e) {
      if (this.stamp !== 'missing') this.warn(`API tokens file ${this.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}; no API token is valid`);
      this.stamp = 'missing';
      this.tokens.clear();
      return;
    }
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    const next = new Map<string, ApiToken>();
    readFileSync(this.file, 'utf8').split('\n').forEach((raw, i) => {
      const line = raw.replace(/#.*/, '').trim();
      if (!line) return;
      const [role, hash, ...name] = line.split(/\s+/);
      const m = /^sha256:([0-9a-f]{64})$/.exec(hash ?? '');
      if (!(ROLES as readonly string[]).includes(role!) || !m) {
        this.warn(`${this.file}:${i + 1}: expected \`viewer|admin sha256:<64 hex digits> [name]\`; line ignored`);
        return;
      }
      next.set(m[1]!, { role: role as Role, name: name.join(' ') || `line ${i + 1}` });
    });
    this.tokens = next;
  }

  get size(): number {
    return this.tokens.size;
  }

  /** The token's role and name, or undefined for an unknown token. */
  check(token: string): ApiToken | undefined {
    this.refresh();
    return this.tokens.get(createHash('sha256').update(token).digest('hex'));
  }
}

/** Adds a token line (mode 0600, written atomically); a line with the same name is replaced. */
export function addApiToken(file: string, role: Role, name: string, token: string): void {
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name)) throw new Error(`invalid token name '${name}': 1 to 64 characters [A-Za-z0-9_.@-]`);
  let lines: string[];
  try {
    lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    lines = ['# logloom API tokens: role sha256:<hex> name (written by `logloom aggregator api-token NAME`)'];
  }
  lines = lines.filter((l) => l.replace(/#.*/, '').trim().split(/\s+/)[2] !== name);
  lines.push(`${role} sha256:${createHash('sha256').update(token).digest('hex')} ${name}`);
  mkdirSync(dirname(file), { recursive: true });
  const tmp = join(dirname(file), `.${basename(file)}.tmp`);
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, lines.join('\n') + '\n');
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
