/**
 * Fuzzing the kmsg format of the C codec (native/addon/src/kmsg.c) against its JS twin
 * (agent/buffer/kmsg/): random and mutated kernel records (dictionaries, fragments, hostile
 * headers, invalid UTF-8) and random bytes, split at random points, with random bounds and
 * options (positions, whole records per chunk, a module). Both must give the same bytes, counters
 * and format counters, and neither may crash (a crash in the addon takes this process down, which
 * fails the suite). The seed is printed; see fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsLineCodec, type CodecOptions, type LineCodec } from '../../agent/buffer/line-codec.ts';
import { NativeLineCodec } from '../../agent/buffer/native-codec.ts';
import { fuzzer, withSeed, type Fuzz } from './fuzz.ts';

const KEYS = ['SUBSYSTEM', 'DEVICE', 'caller', 'seq', 'SEQ', 'facility', 'flags', '__proto__', '0', '1', '4294967294', '4294967295', '01', 'k'.repeat(70), 'é', '\u2028', 'a b', ''];
const MESSAGES = ['Kernel panic - not syncing', 'Oops: 0000', 'Oops\u00a0x', 'Oopsie', 'BUG: x', 'general protection fault', 'Unable to handle kernel NULL', 'usb 1-1: new device', '', 'é'.repeat(300), '\u{1F600}', 'a\tb\rc', '\0'];

function word(f: Fuzz): string {
  return f.chance(0.3) ? f.pick(MESSAGES) : f.r().toString(36).slice(2, 2 + f.int(12));
}

function num(f: Fuzz, max: number): string {
  return f.chance(0.9) ? String(f.int(max)) : f.pick(['', '0', '007', '9'.repeat(20), '9'.repeat(21), '1'.repeat(4), '-1', '1.5', '1e3', '１']);
}

/** A kmsg record, well-formed or broken the ways a FIFO writer (or a hostile one) breaks it. */
function kmsgRecord(f: Fuzz): Buffer {
  const flags = f.pick(['-', '-', '-', 'c', '+', '', 'x', 'c+']);
  const more = Array.from({ length: f.int(f.chance(0.1) ? 8 : 2) }, () => `,${f.pick(KEYS)}${f.chance(0.8) ? '=' : ''}${word(f)}`).join('');
  const sep = f.chance(0.95) ? ';' : f.pick(['', ',', ';;']);
  const head = f.chance(0.95) ? `${num(f, 1000)},${num(f, 500)},${num(f, 1e12)},${flags}${more}${sep}` : f.pick(['', ';', ' ', '6,1;', ',,,;', '6,1,2,-']);
  const msg = Array.from({ length: f.int(6) }, () => word(f)).join(' ');
  const dict = Array.from({ length: f.int(f.chance(0.05) ? 500 : 5) }, () => ` ${f.pick(KEYS)}${f.chance(0.9) ? '=' : ''}${word(f)}\n`).join('');
  let b = Buffer.from(`${head}${msg}\n${dict}`, 'utf8');
  const m = f.r();
  const at = f.int(b.length + 1);
  if (m < 0.1) b = Buffer.concat([b.subarray(0, at), Buffer.from([f.int(256)]), b.subarray(at + 1)]);
  else if (m < 0.15) b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
  else if (m < 0.2) b = b.subarray(0, at);
  else if (m < 0.3) b = Buffer.concat([b.subarray(0, at), Buffer.from([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98, 0x0a, 0x20]).subarray(f.int(4), 4 + f.int(8)), b.subarray(at)]);
  if (f.chance(0.1)) b = Buffer.concat([b, Buffer.from(f.pick(['\n', '\r\n', '\n\n', ' ']))]);
  return b;
}

function split(f: Fuzz, bytes: Buffer): Buffer[] {
  const cuts = Array.from({ length: f.int(10) }, () => f.int(bytes.length + 1)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) out.push(bytes.subarray(prev, c)), (prev = c);
  out.push(bytes.subarray(prev));
  return out;
}

/** The chunks fed, with end() now and then (the source idle) and at the end. */
function run(codec: LineCodec, chunks: Buffer[], ends: boolean[], t: number): Buffer {
  const out: Buffer[] = [];
  chunks.forEach((c, i) => {
    out.push(codec.feed(c, t));
    if (ends[i]) out.push(codec.end(t));
  });
  out.push(codec.end(t));
  return Buffer.concat(out);
}

test('fuzz: kmsg records through the C codec and its JS twin (split anywhere, idle at random, random bounds and options): the same bytes and counters, no crash', async (t) => {
  const f = fuzzer(t, 5, 6);
  await withSeed(f, async () => {
    const deadline = Date.now() + f.budgetMs;
    let cases = 0;
    let records = 0;
    while (Date.now() < deadline) {
      const parts = Array.from({ length: 1 + f.int(16) }, () => (f.chance(0.9) ? kmsgRecord(f) : f.bytes(f.int(300))));
      const opts: CodecOptions = {
        maxLineBytes: 8 + f.int(f.chance(0.5) ? 200 : 8000), maxMessageBytes: 8 + f.int(600), minLevel: f.pick(['DEBUG', 'INFO', 'ERROR'] as const),
        defaultLevel: 'INFO', defaultModule: f.pick(['kmsg', 'ß', '']), node: 'gw', source: f.pick(['', 'kmsg:/dev/kmsg', 'kmsg:\u0085x']), format: 'kmsg',
        kmsg: {
          bootWallMs: f.pick([0, 1_767_000_000_000.25, -1e16, 8.64e15, Number.NaN]), lastSeq: f.chance(0.3) ? f.int(500) : f.pick([undefined, -1, Number.NaN]),
          skipAll: f.chance(0.1), whole: f.chance(0.3), module: f.pick([undefined, '', 'KERNEL', 'kern el', 'é']),
        },
      };
      const chunks = f.chance(0.3) ? parts : split(f, Buffer.concat(parts));
      const ends = chunks.map(() => f.chance(0.1));
      const t0 = Date.UTC(2024 + f.int(3), f.int(12), 1 + f.int(28));
      const js = new JsLineCodec(opts), nat = new NativeLineCodec(opts);
      const a = run(nat, chunks, ends, t0), b = run(js, chunks, ends, t0);
      assert.ok(a.equals(b), `differ for ${JSON.stringify(chunks.map((c) => c.toString('latin1')))} ends ${ends} opts ${JSON.stringify(opts)}`);
      assert.deepEqual(nat.counters(), js.counters());
      assert.deepEqual(nat.formatCounters(), js.formatCounters());
      records += js.counters().records;
      cases++;
    }
    t.diagnostic(`${cases} cases, ${records} records`);
  });
});
