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

export function nastyString(f: Fuzz, maxLen = 64): string {
  let s = '';
  const n = f.int(6);
  for (let i = 0; i < n; i++) s += f.chance(0.5) ? f.pick(NASTY_TEXT) : f.r().toString(36).slice(2, 2 + f.int(10));
  if (f.chance(0.1)) s += 'x'.repeat(f.int(maxLen * 4));
  return s;
}

export function nastyValue(f: Fuzz, depth: number): unknown {
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

const SYSLOG_TIMESTAMPS = [
  '-', '2003-10-11T22:14:15.003Z', '2003-08-24T05:14:15.000003-07:00', '2026-02-31T00:00:00Z', '0050-01-01T00:00:00Z', '2026-01-01T23:59:60+99:99',
  '2026-13-01T00:00:00Z', '2026-01-01T00:00:00.1234567Z', '2026-01-01T00:00:00', '2026-01-01t00:00:00z', '2026-01-01T00:00:00.Z', '1999-12-31T24:00:00Z',
];
const BSD_TIMES = [
  'Oct 11 22:14:15', 'Feb  5 17:32:18.250', 'Feb 5 17:32:18', 'Feb 30 01:02:03', 'Dec 31 23:59:60', 'Jan  1 00:00:00.999999', 'Mar 30 02:30:00',
  'Oct 26 02:30:00', 'Nov  2 01:30:00', 'Oct  5 02:15:00', 'Apr  6 01:45:00', 'Foo 11 22:14:15', 'Oct 11 22:14:15.1234567', 'Oct 11 25:14:15',
  'Oct 11 22:14:15.5x', 'oct 11 22:14:15', 'Oct 0 22:14:15', '2025-06-01T10:00:00.5+02:00', '2025-06-01T10:00:00',
];
const SYSLOG_WORDS = [
  ' ', '-', '[', ']', '"', '\\', '=', ':', '<', '>', 'é', '😀', '\u00a0', '\u3000', '\u2028', '\ufeff', '\u0085', '\x00', '\x1b[31m', '\t', '\r', '\n',
  '__proto__', '0', '10', 'host.example', 'sshd', 'cron[12]:', 'su:', 'x@1', 'exampleSDID@32473',
];

/** A syslog message (RFC 5424, RFC 3164 or neither), well-formed or broken in one of the ways senders break them. */
export function syslogMessage(f: Fuzz): Buffer {
  const word = () => (f.chance(0.3) ? f.pick(SYSLOG_WORDS) : f.r().toString(36).slice(2, 2 + f.int(12)));
  const words = (n: number) => Array.from({ length: f.int(n) }, word).join('');
  const token = (max: number) => (f.chance(0.2) ? '-' : f.chance(0.1) ? 'x'.repeat(max + f.int(3) - 1) : f.chance(0.1) ? words(3) : f.r().toString(36).slice(2, 2 + 1 + f.int(10)));
  const pri = f.chance(0.9) ? `<${f.int(200)}>` : f.pick(['', '<', '<>', '<1234>', '<1a>', '<é>', '<😀>', '<01>', '<\x00>', `<${f.int(1000)}`]);
  let text: string;
  if (f.chance(0.5)) {
    const sd = f.chance(0.3) ? '-' : Array.from({ length: 1 + f.int(f.chance(0.1) ? 80 : 3) }, () => {
      const id = f.chance(0.8) ? f.pick(['x@1', 'exampleSDID@32473', 'origin', 'meta', '0', '10', '__proto__', 'k'.repeat(f.int(40))]) : words(2);
      const params = Array.from({ length: f.int(f.chance(0.1) ? 40 : 4) }, () => {
        const name = f.chance(0.8) ? f.pick(['a', 'b', 'iut', 'ip', '1', '__proto__', 'n'.repeat(30 + f.int(6))]) : words(2);
        const value = f.chance(0.7) ? words(4).replace(/["\\\]]/g, (c) => (f.chance(0.8) ? `\\${c}` : c)) : f.pick(['v'.repeat(1100), '\\x', '\\', 'é'.repeat(600)]);
        return ` ${name}="${value}"`;
      }).join('');
      return `[${id}${params}]`;
    }).join(f.chance(0.9) ? '' : ' ');
    const head = [f.pick(SYSLOG_TIMESTAMPS), token(255), token(48), token(128), token(32)];
    text = `${pri}1 ${head.join(f.chance(0.95) ? ' ' : '  ')} ${sd}${f.chance(0.8) ? ` ${f.chance(0.3) ? '\ufeff' : ''}${words(8)}` : ''}`;
  } else {
    const ts = f.chance(0.8) ? `${f.pick(BSD_TIMES)} ` : '';
    const host = f.chance(0.7) ? `${f.chance(0.9) ? token(255) : 'h'.repeat(256)} ` : '';
    const tag = f.chance(0.7) ? `${f.chance(0.9) ? f.pick(['sshd', 'cron', 'su', 'kernel', 'a'.repeat(48), 'a'.repeat(47) + '😀', 'tag\u00a0x', 'é']) : words(3)}${f.chance(0.4) ? `[${f.chance(0.9) ? f.int(99999) : words(3)}]` : ''}${f.pick([': ', ':', ' ', ':x'])}` : '';
    text = `${pri}${ts}${host}${tag}${words(10)}`;
  }
  let b = Buffer.from(text, 'utf8');
  // Mutations: a byte changed, removed or cut off, invalid UTF-8 spliced in, line ends after it.
  const m = f.r();
  const at = f.int(b.length + 1);
  if (m < 0.1) b = Buffer.concat([b.subarray(0, at), Buffer.from([f.int(256)]), b.subarray(at + 1)]);
  else if (m < 0.15) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  else if (m < 0.2) b = b.subarray(0, at);
  else if (m < 0.3) b = Buffer.concat([b.subarray(0, at), Buffer.from([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98]).subarray(f.int(4), 4 + f.int(6)), b.subarray(at)]);
  if (f.chance(0.2)) b = Buffer.concat([b, Buffer.from(f.pick(['\n', '\r\n', '\0', '\n\n\r', '\r']))]);
  return b;
}

const CONSOLE_PARTS = [
  '<3>', '<12>', '<7>', '<999>', '<1234>', '<>', '[', ']', '[   12.345678] ', '[0.1]', '[ 1234567890.123456789]', '[12345678901.1]', '[1.1234567890]',
  '[\u3000 5.5]\u00a0', 'Kernel panic - not syncing', 'Kernel panic', 'Kernel panicked', 'Internal error: Oops', 'Internal error: ', 'Oops', 'Oops:', 'Oopsy',
  'Unable to handle kernel paging', 'Unable to handle kernel_', 'BUG: ', 'BUG', 'call trace:', 'CALL TRACE:', 'Call Trace:', '---[ end trace 01abc ]---',
  '---[ end Kernel panic - x ]---  ', '-[ end trace', '[ end trace', ' end ', ']-', ']--', ' \u2028', '\u2029', 'Linux version 6.1', 'Linux version x',
  'U-Boot 2024.01', 'U-Boot SPL 2023.10', 'U-Boot SPL x', 'U-Boot 2024.1', '[ERROR] [NET] 2025-04-30T12:00:00.000Z ', '[WARN] [', '[FATAL] [a.b-c_d] ',
  '2025-04-30T12:00:00', '2025-04-30T', '2025-04-30t12:00:00.5z ', '2025-04-30 12:00:00,123+05:30 ', '2025-04-30 12:00:00+0530 ', '+05:3', '+0530', '-01:00',
  '12:00:01 ', '12:00:01.5\t', '12:00:01.', 'E (1234) wifi: ', 'W (1) ', 'V (', 'I (12) a b : ', ' (', ') ', '[00:00:01.234,567] <wrn> bt_hci: ',
  '[00:00:01.234,567] <', '<err>', 'err> ', '<inf> ', 'WARNING: ', 'warning:', 'Warn ', 'WARN ', 'WARN', '[debug] ', '<INFO>', '[CRIT>', 'CRITICAL\u3000',
  'TRACEX ', 'notice:', '[PUMP] ', '[p] ', '[averyveryverylongmodule] ', '[_x] ', '\x1b[0;31m', '\x1b[0m', '\x1b[?25h', '\x1b[1;2 q', '\x1b]0;title\x07',
  '\x1b]x\x1b\\', '\x1b]', '\x1b[', '\x1bZ', '\x1b]\x1b', '\x1b', ':', ': ', ' ', '  ', '\t', '\u00a0', '\u1680', '\u2000', '\u200b', '\u202f', '\u205f',
  '\ufeff', '\u3000', '\u0085', '\v', '\f', 'é', '😀', 'ſ', 'K', 'ı', 'x', '1', '12', '1234', '.', ',', 'Z', 'T', '-', '_', 'a'.repeat(40),
];

/** A line the way consoles print them, mutated: kernel, Logloom, ESP-IDF, Zephyr and level forms, markers, ANSI, odd white space. */
export function consoleLine(f: Fuzz): string {
  let s = '';
  const n = 1 + f.int(7);
  for (let i = 0; i < n; i++) s += f.chance(0.85) ? f.pick(CONSOLE_PARTS) : f.r().toString(36).slice(2, 2 + f.int(8));
  if (f.chance(0.1)) {
    const at = f.int(s.length + 1);
    s = s.slice(0, at) + s.slice(at + 1 + f.int(3));
  }
  return s;
}
