import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildEntry } from '../../entry/build.ts';
import { draftFromObject } from '../../entry/codec.ts';
import { ErrorCode, ProtocolError } from '../../protocol/index.ts';
import { ingestCounters, storedBatch } from '../../aggregator/ingest/stored-batch.ts';
import { storedEntries } from '../../aggregator/store/store.ts';
import { rng } from '../helpers/rng.ts';

const NODE = 'gw-1';
const MAX = 256;

/** What the aggregator stored for a line before the byte path: parse, buildEntry, stringify (plus its own seq). */
function reference(line: string, seq: number): string | 'refused' {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return 'refused';
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return 'refused';
  const e = buildEntry(draftFromObject(v as Record<string, unknown>), { maxMessageBytes: MAX, defaultLevel: 'INFO', defaultModule: 'APP', node: NODE });
  return JSON.stringify({ ...e, seq });
}

function stored(line: Buffer, seq: number, scanner: 'js' | 'native' = 'js'): string | 'refused' {
  try {
    const b = storedBatch(seq, 1, Buffer.concat([line, Buffer.from('\n')]), { node: NODE, maxMessageBytes: MAX, scanner });
    return b.data.toString('utf8').replace(/\n$/, '');
  } catch (e) {
    assert.ok(e instanceof ProtocolError && e.code === ErrorCode.BAD_BATCH, String(e));
    return 'refused';
  }
}

/** A line without a usable timestamp gets "now" on both paths, a millisecond apart at most: compare it as NOW. */
const now = (s: string) => s.replace(/^\{"timestamp":"([^"]+)"/, (m, iso: string) => (Math.abs(Date.parse(iso) - Date.now()) < 60_000 ? '{"timestamp":"NOW"' : m));

// Characters that sanitising, JSON escaping or UTF-8 treat specially, and ordinary ones.
const SPECIAL = [
  0x00, 0x01, 0x08, 0x09, 0x0a, 0x0d, 0x1b, 0x1f, 0x22, 0x2f, 0x5c, 0x7f, 0x80, 0x85, 0x9f, 0xa0, 0xad, 0xff,
  0x061c, 0x200b, 0x200e, 0x200f, 0x2028, 0x2029, 0x202a, 0x202e, 0x2060, 0x2066, 0x2069, 0xfeff, 0xfff9, 0xfffd,
  0xd800, 0xdc00, 0x1f600, 0x10ffff, 0x4e2d, 0x00e9, 0x2013, 0x2026,
];

for (const scanner of ['js', 'native'] as const) describe(`aggregator ingest (${scanner} scanner): entries stored as bytes, byte-identical to the full rebuild`, () => {
  it('an agent\'s line takes the byte path: node put in, seq added, nothing else changed', () => {
    const e = buildEntry({ message: 'ok "quoted" \\ tab\there', module: 'net', level: 'warn', source: 'serial:/dev/ttyS0', fields: { a: 1, b: 'x', c: true }, lang_key: 'auth.login', args: ['alice', 3] }, { maxMessageBytes: MAX, defaultLevel: 'INFO', defaultModule: 'APP', node: 'agent-own-id' });
    const line = JSON.stringify(e);
    const before = ingestCounters.canonical_entries;
    const out = stored(Buffer.from(line), 9, scanner);
    assert.equal(ingestCounters.canonical_entries, before + 1);
    assert.equal(out, reference(line, 9));
    assert.deepEqual(JSON.parse(out), { ...JSON.parse(line), node: NODE, seq: 9 });
  });

  it('a peer cannot store its own seq or node: the aggregator\'s win on both paths', () => {
    for (const line of [
      '{"timestamp":"2026-01-01T00:00:00.000Z","level":"INFO","module":"A","message":"m","node":"other","seq":999999}',
      '{"seq":999999,"timestamp":"2026-01-01T00:00:00.000Z","level":"INFO","module":"A","message":"m"}',
      '{"timestamp":"2026-01-01T00:00:00.000Z","level":"INFO","module":"A","message":"m","node":"gw-1"}',
    ]) {
      const out = JSON.parse(stored(Buffer.from(line), 5, scanner)) as Record<string, unknown>;
      assert.equal(out.seq, 5, line);
      assert.equal(out.node, NODE, line);
    }
  });

  it('a batch keeps refusing what it refused before: bad lines, wrong counts, no final newline', () => {
    const ok = '{"timestamp":"2026-01-01T00:00:00.000Z","level":"INFO","module":"A","message":"m"}\n';
    const refuse = (raw: string, count: number, why: RegExp) => assert.throws(() => storedBatch(3, count, Buffer.from(raw), { node: NODE, maxMessageBytes: MAX, scanner }),
      (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.BAD_BATCH && why.test(e.message));
    refuse(ok + '{"message": tru}\n', 2, /BATCH 3: entry 1 is not JSON/);
    refuse(ok + '[1,2]\n', 2, /entry 1 is not a JSON object/);
    refuse(ok + '\n', 2, /entry 1 is not JSON/);
    refuse(ok + ok, 3, /count says 3, body holds 2 lines/);
    refuse(ok + ok, 1, /count says 1, body holds more lines/);
    refuse(ok.trimEnd(), 1, /does not end with a newline/);
    refuse(ok, 0, /count 0 with a non-empty body/);
    const b = storedBatch(3, 2, Buffer.from(ok + ok), { node: NODE, maxMessageBytes: MAX, scanner });
    assert.deepEqual(storedEntries(b).map((e) => [e.message, e.seq, e.node]), [['m', 3, NODE], ['m', 3, NODE]]);
    assert.deepEqual([...b.ends], [b.data.indexOf('\n') + 1, b.data.length]);
  });

  it('fuzz (seeded, 10,000 lines): every line is stored exactly as the full rebuild stores it, or refused by both', () => {
    const r = rng(0x5eed);
    const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
    const char = () => (r() < 0.5 ? String.fromCharCode(0x20 + Math.floor(r() * 95)) : String.fromCodePoint(pick(SPECIAL)));
    const text = (n: number) => Array.from({ length: Math.floor(r() * n) }, char).join('');
    const number = () => pick([0, -0, 1, -1, 1.5, 1e21, 1e-7, 123456789012345, 2 ** 53, 0.1, -3.25]);
    const numText = () => pick(['1.0', '1e2', '-0', '1E400', '0.10', '00', '5', '-12', '1e-7', '123456789012345678', '0.1']);
    const ts = () => pick(['2026-01-01T00:00:00.000Z', '2024-02-29T12:34:56.789Z', '2026-02-30T00:00:00.000Z', '2026-01-01T24:00:00.000Z', '0000-01-01T00:00:00.000Z', '2026-01-01T00:00:00Z', '2026-01-01 00:00:00', 'garbage', 1767225600, 1767225600123]);
    const value = (): unknown => pick([() => text(8), number, () => true, () => false, () => null, () => [1, 'a'], () => ({ x: 1 })])();
    const object = () => {
      const o: Record<string, unknown> = {};
      const keys = ['timestamp', 'level', 'module', 'message', 'lang_key', 'args', 'node', 'source', 'truncated', 'fields'];
      if (r() < 0.2) keys.sort(() => r() - 0.5);
      for (const k of keys) {
        if (r() < 0.1) continue;
        switch (k) {
          case 'timestamp': o[k] = ts(); break;
          case 'level': o[k] = pick(['INFO', 'WARN', 'ERROR', 'DEBUG', 'FATAL', 'info', 'WARNING', 'bogus', '']); break;
          case 'module': o[k] = pick(['CORE', 'net', 'A.B-C_D', 'X'.repeat(17), '', 'É']); break;
          case 'message': o[k] = r() < 0.1 ? value() : r() < 0.1 ? 'y'.repeat(MAX - 2 + Math.floor(r() * 5)) : text(40); break;
          case 'lang_key': if (r() < 0.3) o[k] = pick(['auth.login', 'bad key', '', 'k'.repeat(129)]); break;
          case 'args': if (r() < 0.3) o[k] = Array.from({ length: Math.floor(r() * 5) }, value); break;
          case 'node': o[k] = pick([NODE, 'other', '', 7]); break;
          case 'source': if (r() < 0.5) o[k] = pick(['unix', '', text(10), 's'.repeat(257)]); break;
          case 'truncated': if (r() < 0.2) o[k] = pick([true, false, 1]); break;
          case 'fields': if (r() < 0.3) o[k] = Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, () => [pick(['a', 'b', '1', '__x', text(4), 'k'.repeat(65)]), value()])); break;
        }
      }
      if (r() < 0.05) o.seq = Math.floor(r() * 1e9);
      if (r() < 0.05) o.extra = 1;
      if (r() < 0.05) o.msg = 'alt';
      return o;
    };
    let canonical = 0;
    const kept: Buffer[] = [];
    for (let n = 0; n < 10_000; n++) {
      let line: Buffer;
      const kind = r();
      if (kind < 0.4) {
        // What an agent sends: an entry built by buildEntry.
        const e = buildEntry(draftFromObject(object()), { maxMessageBytes: MAX, defaultLevel: 'INFO', defaultModule: 'APP', node: pick([NODE, 'other']) });
        line = Buffer.from(JSON.stringify(e));
      } else if (kind < 0.75) {
        line = Buffer.from(JSON.stringify(object()));
      } else if (kind < 0.85) {
        // Numbers as a peer may write them (not as JSON.stringify would).
        line = Buffer.from(`{"timestamp":"2026-01-01T00:00:00.000Z","level":"INFO","module":"A","message":"m","args":[${numText()}],"fields":{"n":${numText()}}}`);
      } else {
        // Byte damage to an agent's line: flipped, inserted or removed bytes (invalid UTF-8 included).
        const e = buildEntry(draftFromObject(object()), { maxMessageBytes: MAX, defaultLevel: 'INFO', defaultModule: 'APP', node: NODE });
        const b = [...Buffer.from(JSON.stringify(e))];
        for (let k = 0, m = 1 + Math.floor(r() * 3); k < m; k++) {
          const at = Math.floor(r() * b.length);
          const op = r();
          if (op < 0.4) b[at] = Math.floor(r() * 256);
          else if (op < 0.7) b.splice(at, 0, pick([0x20, 0x5c, 0x22, 0xc3, 0xe2, 0x80, 0xa8, 0x7b, 0x2c]));
          else b.splice(at, 1);
        }
        line = Buffer.from(b.filter((x) => x !== 0x0a));
      }
      const before = ingestCounters.canonical_entries;
      const got = stored(line, 1 + n, scanner);
      canonical += ingestCounters.canonical_entries - before;
      assert.equal(now(got), now(reference(line.toString('utf8'), 1 + n)), `case ${n}: ${line.toString('utf8')}`);
      if (got !== 'refused') kept.push(line);
    }
    // The same lines in one batch: the scanner stops at each line it leaves to the rebuild,
    // resumes after it, and grows its output (rebuilt lines can be longer) without losing a byte.
    const body = Buffer.concat(kept.flatMap((l) => [l, Buffer.from('\n')]));
    const batch = storedBatch(7, kept.length, body, { node: NODE, maxMessageBytes: MAX, scanner });
    const lines = batch.data.toString('utf8').split('\n').slice(0, -1);
    assert.equal(lines.length, kept.length);
    lines.forEach((l, i) => assert.equal(now(l), now(reference(kept[i]!.toString('utf8'), 7) as string), `batch line ${i}`));
    assert.equal(batch.ends[kept.length - 1], batch.data.length);
    // The fast path must actually be taken for the well-formed share, or this proves nothing.
    assert.ok(canonical > 1000, `only ${canonical} lines took the byte path`);
  });
});
