/**
 * Seeded, bounded fuzzing for the suites in this folder. Every run draws one seed (or takes
 * FUZZ_SEED) and prints it; a failure names it, and `FUZZ_SEED=<n> make fuzz` replays the same
 * inputs. Each suite fuzzes for FUZZ_SECONDS (default a few seconds, so that the whole folder
 * stays around a minute in `make test`; `make fuzz SECONDS=600` runs every suite ten minutes).
 */
import type { TestContext } from 'node:test';
import { readFileSync } from 'node:fs';
import { rng } from '../helpers/rng.ts';

export interface Fuzz {
  seed: number;
  r: () => number;
  /** Integer in [0, n). */
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
  bytes(n: number): Buffer;
  /** Milliseconds this suite may spend fuzzing. */
  budgetMs: number;
}

export function fuzzSeconds(defaultSeconds: number): number {
  const s = Number(process.env.FUZZ_SECONDS);
  return Number.isFinite(s) && s > 0 ? s : defaultSeconds;
}

/** The seed of `make test`'s fuzz runs. */
const DEFAULT_SEED = 20261130;

/** The suite's generator; the seed is reported through the test's diagnostics. */
export function fuzzer(t: TestContext, defaultSeconds: number, salt = 0): Fuzz {
  // make test runs a fixed seed, so that CI is repeatable; `make fuzz` (FUZZ_SEED=random) explores new ones.
  const given = process.env.FUZZ_SEED;
  const base = given === 'random' ? Math.floor(Math.random() * 2 ** 31) : given ? Number(given) : DEFAULT_SEED;
  const seed = (base + salt) >>> 0;
  t.diagnostic(`fuzz seed ${base} (replay: FUZZ_SEED=${base} make fuzz)`);
  const r = rng(seed);
  const int = (n: number) => Math.floor(r() * n);
  return {
    seed: base, r, int, budgetMs: fuzzSeconds(defaultSeconds) * 1000,
    pick: (xs) => xs[int(xs.length)]!,
    chance: (p) => r() < p,
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256))),
  };
}

/** Runs fn; a failure is rethrown with the seed that reproduces it. */
export async function withSeed<T>(f: Fuzz, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const err = e as Error;
    err.message = `${err.message}\n(fuzz seed ${f.seed}; replay with FUZZ_SEED=${f.seed} make fuzz)`;
    throw err;
  }
}

const NASTY_TEXT = [
  '\u0000', '\u0007', '\u001b[2J', '\r', '\t', '\u007f', '\u0085', '\u2028', '\u2029', '\u202e', '\u2066', '\ufeff', '\ufffd',
  '😀', '日志', '%s', '%d', '%n', '%999999d', '%x%x%x', '${jndi:ldap://x}', '<script>', '"', '\\', '\\u0000', '\\ud800',
  '__proto__', 'constructor', 'prototype', 'NaN', 'Infinity', '-0', '1e309', '[ERROR]', '[FATAL] [KERNEL]', 'WARNING:', '<0>', '<191>',
  '<999>', '<13>1 ', '- - -', '[sd@1 a="b"]', 'Oct 11 22:14:15', '------------[ cut here ]------------', 'Kernel panic - not syncing',
];

function nastyString(f: Fuzz, maxLen = 64): string {
  let s = '';
  const n = f.int(6);
  for (let i = 0; i < n; i++) s += f.chance(0.5) ? f.pick(NASTY_TEXT) : f.r().toString(36).slice(2, 2 + f.int(10));
  if (f.chance(0.1)) s += 'x'.repeat(f.int(maxLen * 4));
  return s;
}

function nastyValue(f: Fuzz, depth: number): unknown {
  const k = f.int(depth > 3 ? 6 : 9);
  switch (k) {
    case 0: return nastyString(f);
    case 1: return f.pick([0, -1, 1.5, 2 ** 53, -(2 ** 63), 1e308, Number.MAX_SAFE_INTEGER]);
    case 2: return f.chance(0.5);
    case 3: return null;
    case 4: return f.pick(['DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL', 'warning', 'err', 'crit', '']);
    case 5: return f.pick(['auth.login', 'missing.key', '', '.', 'a'.repeat(300), '__proto__']);
    case 6: return Array.from({ length: f.int(5) }, () => nastyValue(f, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      for (let i = f.int(5); i > 0; i--) o[f.chance(0.3) ? f.pick(['message', 'level', 'module', 'args', 'fields', 'lang_key', 'timestamp', 'seq', 'node', '__proto__']) : nastyString(f, 8)] = nastyValue(f, depth + 1);
      return o;
    }
  }
}

/** Nesting of arrays or objects `depth` deep, as text (JSON.stringify would itself recurse). */
export function nested(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** The line that used to kill the agent: ~10 KB, 5,000 nested arrays or objects as the message, args or a field. */
export function deepLines(): string[] {
  return [
    `{"message":${nested(5000, 'object')}}`,
    `{"message":"deep args","args":[${nested(5000, 'array')}]}`,
    `{"message":"deep field","fields":{"x":${nested(5000, 'array')}}}`,
    `{"message":"deep lang","lang_key":"auth.login","args":[${nested(5000, 'object')}]}`,
  ];
}

/**
 * One hostile line (no newline inside unless the generator wants one split): random bytes,
 * invalid UTF-8, control and bidi characters, NDJSON entries with wrong types, prototype keys,
 * format strings, moderately deep nesting (the 5,000-deep case has its own test), syslog and
 * kernel prefixes, long lines.
 */
export function hostileLine(f: Fuzz): Buffer {
  switch (f.int(16) % 8 === 7 && f.chance(0.7) ? f.int(7) : f.int(8)) {
    case 0: return Buffer.from(f.bytes(f.int(200)).map((b) => (b === 0x0a ? 0x20 : b)));
    case 1: return Buffer.concat([Buffer.from(nastyString(f)), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf4, 0x90]).subarray(0, f.int(9)), Buffer.from(nastyString(f))]);
    case 2: return Buffer.from(JSON.stringify(nastyValue(f, 0)) ?? 'null');
    case 3: {
      const o: Record<string, unknown> = { message: nastyValue(f, 1) };
      for (const k of ['level', 'module', 'lang_key', 'args', 'fields', 'timestamp', 'seq', 'node', 'source', 'truncated']) if (f.chance(0.4)) o[k] = nastyValue(f, 1);
      return Buffer.from(JSON.stringify(o).replace(/\n/g, ' '));
    }
    case 4: return Buffer.from(`{"message":"nest","args":[${nested(1 + f.int(200), f.pick(['array', 'object'] as const))}]}`);
    case 5: return Buffer.from(`${f.pick(['<', '<1', '<34>', '<34>1 ', '<999>', '<13>Oct 11 22:14:15 host app[1]: ', '<14>1 2025-01-01T00:00:00Z h a p m [x'])}${nastyString(f)}`);
    case 6: return Buffer.from(f.pick(['{', '{"message":', '{"message":"unterminated', '[1,2', '{"a":1}{"b":2}', '""', '{}', '{"message":{}}', '{"message":[]}']) + nastyString(f));
    default: return Buffer.from('L'.repeat(f.chance(0.2) ? 60_000 + f.int(10_000) : f.int(9000)));
  }
}

/** A marker line that must arrive: `CANARY:<where>:<n>:END` (plain ASCII, found verbatim in any output). */
export const canary = (where: string, n: number) => `CANARY:${where}:${n}:END`;

/**
 * Watches a sink's output file for canaries, reading only what was appended since the last look
 * (the file grows to megabytes during a run).
 */
export class CanaryWatcher {
  private offset = 0;
  private tail = '';
  readonly seen = new Set<string>();
  private readonly path: string;
  constructor(path: string) {
    this.path = path;
  }

  poll(): void {
    let buf: Buffer;
    try {
      buf = readFileSync(this.path);
    } catch {
      return;
    }
    if (buf.length <= this.offset) return;
    const text = this.tail + buf.toString('latin1', this.offset);
    this.offset = buf.length;
    for (const m of text.matchAll(/CANARY:[a-z-]+:\d+:END/g)) this.seen.add(m[0]);
    this.tail = text.slice(-64);
  }

  /** Resolves when all are seen; fails naming the missing ones, or at once if `alive()` turns false. */
  async waitAll(canaries: readonly string[], timeoutMs: number, alive: () => boolean, context: () => string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      this.poll();
      const missing = canaries.filter((c) => !this.seen.has(c));
      if (missing.length === 0) return;
      if (!alive() || Date.now() > deadline) {
        throw new Error(`${missing.length} of ${canaries.length} canaries never arrived (first: ${missing.slice(0, 5).join(', ')}); ${alive() ? 'the process is alive' : 'the process exited'}\n${context()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
