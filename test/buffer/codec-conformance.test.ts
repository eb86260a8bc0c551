/**
 * The fast codec in C and its JS twin must produce identical framed records for the same bytes,
 * however the bytes are split across pushes, and the JS twin must agree with the one entry door
 * (buildEntry + sanitise.ts) — so the C codec applies exactly the agent's sanitising rules.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsLineCodec, recordToEntry, type CodecOptions, type LineCodec } from '../../agent/buffer/line-codec.ts';
import { NativeLineCodec } from '../../agent/buffer/native-codec.ts';
import { forEachFrame } from '../../agent/buffer/ring.ts';
import { buildEntry } from '../../entry/build.ts';
import { draftFromObject, encodeEntry } from '../../entry/codec.ts';
import { rng } from '../helpers/rng.ts';
import { parseSyslog } from '../../agent/buffer/syslog/parse.ts';
import { draftFromSyslog } from '../../agent/buffer/syslog/message.ts';
import { syslogMessage, type Fuzz } from '../fuzz/fuzz.ts';

const OPTS: CodecOptions = { maxLineBytes: 64 * 1024, maxMessageBytes: 120, minLevel: 'INFO', defaultLevel: 'INFO', defaultModule: 'app', node: 'gw-7', source: 'unix' };
const T0 = 1_767_225_600_123; // 2026-01-01T00:00:00.123Z

const b = (s: string) => Buffer.from(s, 'utf8');
const x = (...bytes: number[]) => Buffer.from(bytes);

/** Valid and hostile lines; each item is one line's bytes (joined with \n, and some with \r\n). */
const CORPUS: Buffer[] = [
  b('plain text line'),
  b('[WARN] [net] link down'),
  b('ERROR: disk full on /data'),
  b('error lower-case level'),
  b('WARNING\tthe tab stays'),
  b('[CRITICAL] [averyveryverylongmodulename] cut at 16'),
  b('DEBUG hidden by the level filter'),
  b('[TRACE] also hidden'),
  b('INFORMATION is not a level word'),
  b('<34>sshd[123]: Failed password for root'),
  b('<13>app: hello'),
  b('<191>local7.debug: filtered'),
  b('<192>not syslog: too big'),
  b('<7>'),
  b('{"level":"error","module":"pump","message":"json line"}'),
  b('  {"message":"no level, indented"}'),
  b('{"level":"debug","message":"filtered json"}'),
  b('{"msg":"level inside a string: \\"level\\": \\"ERROR\\""}'),
  b('{broken json'),
  b('emoji 😀 CJK 日志 accents éèê'),
  b('control chars: \x00 NUL \x1b[31mred\x1b[0m DEL\x7f bell\x07'),
  x(...b('C1 next-line: '), 0xc2, 0x85, ...b(' and '), 0xc2, 0x9f, 0xc2, 0xa0),
  b('bidi: \u202egnp.exe\u202c \u2028\u2029 \u202a\u202b\u202d \u2066\u2069 ok: \u2027\u202f\u2065\u206a'),
  x(...b('bidi cut at the end '), 0xe2, 0x80),
  x(0x80, 0x41, 0xc0, 0x80, 0x42, 0xed, 0xa0, 0x80, 0x43, 0xf4, 0x90, 0x80, 0x80, 0x44, 0xff, 0xfe),
  x(...b('truncated emoji at end '), 0xf0, 0x9f, 0x98),
  x(0xe2, 0x82, 0x41, 0xe0, 0x9f, 0x80, 0xf0, 0x8f, 0xbf, 0xbf, 0xc3),
  b('carriage\rreturn in the middle'),
  b('\r'),
  b(''),
  b('quote " and backslash \\ survive JSON'),
  b('é'.repeat(100)), // 200 bytes: cut at 120 on a character boundary
  b('\x01'.repeat(40)), // escapes grow past the limit: cut inside the escaped text
  b('{' + 'x'.repeat(200)),
];

function corpusBytes(): Buffer {
  const parts: Buffer[] = [];
  CORPUS.forEach((line, i) => parts.push(line, b(i % 3 === 0 ? '\r\n' : '\n')));
  return Buffer.concat(parts);
}

function run(codec: LineCodec, chunks: Buffer[]): Buffer {
  const out = chunks.map((c, i) => codec.feed(c, T0 + i));
  out.push(codec.end(T0 + chunks.length));
  return Buffer.concat(out);
}

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts].sort((p, q) => p - q)) {
    out.push(bytes.subarray(prev, c));
    prev = c;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function both(opts: CodecOptions, chunks: Buffer[]) {
  const js = new JsLineCodec(opts);
  const nat = new NativeLineCodec(opts);
  const a = run(js, chunks);
  const n = run(nat, chunks);
  return { js: a, native: n, jsCounters: js.counters(), nativeCounters: nat.counters() };
}

function records(frames: Buffer): Buffer[] {
  const out: Buffer[] = [];
  forEachFrame(frames, (p) => out.push(Buffer.from(p)));
  return out;
}

test('codec corpus: native and JS give identical records and counters', () => {
  const r = both(OPTS, [corpusBytes()]);
  assert.deepEqual(r.nativeCounters, r.jsCounters);
  assert.equal(r.native.toString('latin1'), r.js.toString('latin1'));
  // 5 below INFO (DEBUG, TRACE, <191>, <7>, the debug JSON line), 2 empty ('' and a lone \r).
  assert.deepEqual(r.jsCounters, { lines: CORPUS.length, records: CORPUS.length - 7, filtered: 5, cut: 0, rejected: 2 });
});

test('codec corpus: the same records however the bytes are split (byte by byte, inside characters, between \\r and \\n)', () => {
  const bytes = corpusBytes();
  // Same arrival time for every chunk so that records do not differ by timestamp.
  const whole = run(new JsLineCodec(OPTS), [bytes]);
  const feedAll = (codec: LineCodec, chunks: Buffer[]) => Buffer.concat([...chunks.map((c) => codec.feed(c, T0)), codec.end(T0)]);
  const byteByByte = [...bytes].map((v) => Buffer.from([v]));
  const random = rng(42);
  for (const chunks of [byteByByte, splitAt(bytes, Array.from({ length: 40 }, () => Math.floor(random() * bytes.length)))]) {
    assert.ok(feedAll(new NativeLineCodec(OPTS), chunks).equals(feedAll(new JsLineCodec(OPTS), chunks)));
    assert.ok(feedAll(new NativeLineCodec(OPTS), chunks).equals(whole.length ? feedAll(new JsLineCodec(OPTS), [bytes]) : whole));
  }
});

test('codec: plain-text records are exactly what buildEntry + encodeEntry make (the agent\'s sanitising rules)', () => {
  const recs = records(run(new NativeLineCodec(OPTS), [corpusBytes()]));
  const build = { maxMessageBytes: OPTS.maxMessageBytes, defaultLevel: OPTS.defaultLevel, defaultModule: OPTS.defaultModule, node: OPTS.node, source: OPTS.source };
  const byMsg = new Map<string, Record<string, unknown>>();
  for (const r of recs) if (r[0] === 0x45) byMsg.set(JSON.parse(r.toString('utf8', 1)).message, JSON.parse(r.toString('utf8', 1)));
  const expect = (draft: Parameters<typeof buildEntry>[0]) => JSON.parse(encodeEntry(buildEntry({ receivedAt: T0, ...draft }, build)));
  assert.deepEqual(byMsg.get('link down'), expect({ message: 'link down', level: 'WARN', module: 'net' }));
  assert.deepEqual(byMsg.get('Failed password for root'), expect({ message: 'Failed password for root', level: 'ERROR', module: 'sshd' }));
  assert.deepEqual(byMsg.get('plain text line'), expect({ message: 'plain text line' }));
  const ctl = 'control chars: \\x00 NUL \\x1b[31mred\\x1b[0m DEL\\x7f bell\\x07';
  assert.deepEqual(byMsg.get(ctl), expect({ message: 'control chars: \x00 NUL \x1b[31mred\x1b[0m DEL\x7f bell\x07' }));
  assert.ok(byMsg.has('C1 next-line: \\u0085 and \\u009f\u00a0'));
  assert.ok(byMsg.has('bidi: \\u202egnp.exe\\u202c \\u2028\\u2029 \\u202a\\u202b\\u202d \\u2066\\u2069 ok: \u2027\u202f\u2065\u206a'),
    'U+2028/U+2029 and the bidi controls are escaped like control characters; their neighbours are not');
  assert.ok(byMsg.has('\ufffdA\ufffd\ufffdB\ufffd\ufffd\ufffdC\ufffd\ufffd\ufffd\ufffdD\ufffd\ufffd'), 'invalid UTF-8 becomes U+FFFD per maximal subpart');
  const cut = [...byMsg.values()].find((e) => String(e.message).startsWith('éé'))!;
  assert.equal(cut.truncated, true);
  assert.equal(Buffer.byteLength(String(cut.message)), 120);
  for (const e of byMsg.values()) assert.ok(!/[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]/.test(String(e.message)), `raw control in ${JSON.stringify(e.message)}`);
  // NDJSON lines are entries too; a broken one is kept as text after an 'R' record saying why.
  const all = recs.filter((r) => r[0] === 0x45).map((r) => recordToEntry(r));
  const json = all.filter((e) => ['json line', 'no level, indented', 'level inside a string: "level": "ERROR"', '{broken json', '{' + 'x'.repeat(119)].includes(e.message));
  assert.deepEqual(json.map((e) => [e.level, e.module, e.message, e.truncated]), [['ERROR', 'PUMP', 'json line', undefined], ['INFO', 'APP', 'no level, indented', undefined], ['INFO', 'APP', 'level inside a string: "level": "ERROR"', undefined], ['INFO', 'APP', '{broken json', undefined], ['INFO', 'APP', '{' + 'x'.repeat(119), true]]);
  const rejects = recs.filter((r) => r[0] === 0x52).map((r) => r.toString('utf8', 1));
  assert.deepEqual(rejects, ['invalid JSON: expected a key at byte 1', 'invalid JSON: expected a key at byte 1']);
});

test('codec: a 1 MB line is cut at max_line_bytes (rest discarded, truncated) in one push or split across many', () => {
  const opts = { ...OPTS, maxLineBytes: 1024 * 1024, maxMessageBytes: 16 * 1024 };
  const huge = Buffer.concat([b('[ERROR] '), Buffer.alloc(1536 * 1024, 'é'), b('\nnext line\n'), Buffer.alloc(1024 * 1024 - 1, 'y'), b('\nlast')]);
  const whole = both(opts, [huge]);
  assert.ok(whole.native.equals(whole.js));
  assert.deepEqual(whole.nativeCounters, { lines: 4, records: 4, filtered: 0, cut: 1, rejected: 0 });
  const recs = records(whole.native).map((r) => JSON.parse(r.toString('utf8', 1)));
  assert.equal(recs[0].level, 'ERROR');
  assert.equal(recs[0].truncated, true);
  assert.ok(Buffer.byteLength(recs[0].message) <= 16 * 1024);
  assert.equal(recs[1].message, 'next line');
  assert.equal(recs[2].truncated, true, 'a line under max_line_bytes is still cut at max_message_bytes');
  assert.equal(recs[3].message, 'last');
  const random = rng(7);
  const split = both(opts, splitAt(huge, Array.from({ length: 25 }, () => Math.floor(random() * huge.length))));
  assert.equal(split.native.length, split.js.length);
  assert.ok(split.native.equals(split.js));
});

test('codec fuzz: random hostile bytes give identical output native vs JS (200 seeded cases)', () => {
  const interesting = [0x00, 0x09, 0x0a, 0x0d, 0x1b, 0x22, 0x5c, 0x7b, 0x7f, 0x80, 0x9f, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x3c, 0x3e, 0x5b, 0x5d, 0x3a, 0x20];
  const words = ['ERROR ', '[WARN] ', '<13>', 'tag: ', '[mod] ', '{"level":"warn"}', 'é', '😀', '\r\n'];
  for (let seed = 1; seed <= 200; seed++) {
    const random = rng(seed);
    const parts: Buffer[] = [];
    const n = 1 + Math.floor(random() * 300);
    for (let i = 0; i < n; i++) {
      const r = random();
      if (r < 0.4) parts.push(Buffer.from([interesting[Math.floor(random() * interesting.length)]!]));
      else if (r < 0.6) parts.push(b(words[Math.floor(random() * words.length)]!));
      else parts.push(Buffer.from([Math.floor(random() * 256)]));
    }
    const bytes = Buffer.concat(parts);
    const opts = { ...OPTS, maxLineBytes: 16 + Math.floor(random() * 200), maxMessageBytes: 8 + Math.floor(random() * 100), minLevel: random() < 0.5 ? 'DEBUG' as const : 'WARN' as const };
    const cuts = Array.from({ length: Math.floor(random() * 6) }, () => Math.floor(random() * bytes.length));
    const r = both(opts, splitAt(bytes, cuts));
    assert.ok(r.native.equals(r.js), `seed ${seed}: native and JS differ\n${r.native.toString('latin1')}\n---\n${r.js.toString('latin1')}`);
    assert.deepEqual(r.nativeCounters, r.jsCounters, `seed ${seed}`);
  }
});

/** NDJSON lines that exercise every rule of entry/ndjson.ts, valid and not. */
const JSON_CORPUS: string[] = [
  '{"level":"warn","module":"pump","message":"plain","timestamp":"2026-03-04T05:06:07.891Z"}',
  '{"message":"zone","timestamp":"2026-03-04T05:06:07+02:30"}',
  '{"message":"zone hhmm","timestamp":"2026-03-04 05:06:07.5-0130"}',
  '{"message":"date only","timestamp":"2026-02-28"}',
  '{"message":"bad date","timestamp":"2026-02-30T00:00:00Z"}',
  '{"message":"not iso","timestamp":"Tue, 03 Mar 2026 10:00:00 GMT"}',
  '{"message":"long fraction","timestamp":"2026-03-04T05:06:07.123456789Z"}',
  '{"message":"seconds","timestamp":1767225600.5}',
  '{"message":"ms","timestamp":1767225600123}',
  '{"message":"negative","timestamp":-1.5}',
  '{"message":"huge ts","timestamp":1e300}',
  '{"message":"far ms","timestamp":8.64e15}',
  '{"message":"past range","timestamp":8.640000000000001e15}',
  '{"msg":"from msg","level":"ERR"}',
  '{"message":null,"msg":"null message falls back"}',
  '{"msg":null}',
  '{"message":null}',
  '{"message":{"b":[1,2.50,-0,1e21,1e-7,123e-9,"x\\u0000y"],"a":{"nested":true}, "dup":1, "dup":2}}',
  '{"message":12.0}',
  '{"message":true}',
  '{"message":[]}',
  '{"message":"esc \\"quote\\" \\\\ \\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00 lone \\ud800 \\udc00 end"}',
  '{"message":"C1 \\u0085 DEL \\u007f"}',
  '{"m\\u0065ssage":"escaped key","\\u006cevel":"error"}',
  '{"message":"first","message":"last wins","level":"debug","level":"fatal"}',
  '{"message":"args","args":[1,"two",null,true,{"k":"v"},[1,[2]],1e999,-1e999,-0,0.1,"\\u0001"]}',
  '{"message":"many args","args":[' + Array.from({ length: 40 }, (_, i) => i).join(',') + ']}',
  '{"message":"long arg","args":["' + 'é'.repeat(1100) + '","' + 'a'.repeat(1023) + '😀"]}',
  '{"message":"empty args","args":[]}',
  '{"message":"args not array","args":"x"}',
  '{"message":"fields","fields":{"b":1,"a":"x","10":true,"2":false,"z":null,"b":3,"obj":{"x":[1,2]},"big":1e999,"__proto__":"own","\\u0000ctl":"v\\n"}}',
  '{"message":"field keys cut","fields":{"' + 'k'.repeat(70) + 'A":1,"' + 'k'.repeat(70) + 'B":2}}',
  '{"message":"many fields","fields":{' + Array.from({ length: 300 }, (_, i) => `"f${i}":${i}`).join(',') + '}}',
  '{"message":"null fields","fields":{"a":null}}',
  // Objects the C codec copies as written (already rendered: no whitespace, nothing dropped,
  // cleaned or reordered), and near misses that take the general path; both must match the JS twin.
  '{"message":"plain fields","fields":{"device":"gw-0042","seq":7,"ok":true,"t":21.5,"neg":-3,"off":false}}',
  '{"message":"plain fields, spaced","fields":{ "device" : "gw-0042" , "seq":7 }}',
  '{"message":"plain fields, trailing space","fields":{"device":"gw-0042","seq":7} }',
  '{"message":"plain fields, space after colon","fields":{"a": 1,"b":2}}',
  '{"message":"plain fields, space after comma","fields":{"a":1, "b":2}}',
  '{"message":"plain fields, space after brace","fields":{ "a":1}}',
  '{"message":"plain fields, space before colon","fields":{"a" :1}}',
  '{"message":"plain fields, null","fields":{"device":"gw-0042","gone":null}}',
  '{"message":"plain fields, repeated","fields":{"a":1,"b":2,"a":3}}',
  '{"message":"plain fields, index key","fields":{"b":1,"3":2}}',
  '{"message":"plain fields, escaped key","fields":{"\\u0061":1}}',
  '{"message":"plain fields, long key","fields":{"' + 'k'.repeat(65) + '":1}}',
  '{"message":"plain fields, C1 key","fields":{"k\u0085":1}}',
  '{"message":"plain fields, numbers JS writes otherwise","fields":{"a":1.50,"b":1e3,"c":-0,"d":0.0000001,"e":1234567890123456}}',
  '{"message":"plain fields, nested","fields":{"a":{"b":1},"c":[1]}}',
  '{"message":"plain fields, long value","fields":{"a":"' + 'v'.repeat(1100) + '"}}',
  '{"message":"plain fields, DEL value","fields":{"a":"x\u007fy"}}',
  '{"message":"plain fields, 65","fields":{' + Array.from({ length: 65 }, (_, i) => `"f${i}":${i}`).join(',') + '}}',
  '{"message":"plain fields, 64","fields":{' + Array.from({ length: 64 }, (_, i) => `"f${i}":${i}`).join(',') + '}}',
  '{"message":"plain fields, empty","fields":{}}',
  // The members validation keeps for the entry's "fields" object must be that object's.
  '{"message":"fields twice","fields":{"a":1},"fields":{"b":2}}',
  '{"message":"fields then escaped key","fields":{"a":1},"fi\\u0065lds":{"b":2}}',
  '{"message":"fields then number","fields":{"a":1},"fields":3}',
  '{"message":"fields spaced key", "fields" : {"a":1}}',
  '{"message":"fields in fields","fields":{"fields":{"x":1},"y":2}}',
  '{"message":"fields 257","fields":{' + Array.from({ length: 257 }, (_, i) => `"f${i}":${i}`).join(',') + '}}',
  '{"message":"fields not object","fields":[1]}',
  '{"message":"lang","lang_key":"pump.pressure_high","args":[3]}',
  '{"message":"bad lang","lang_key":"has space"}',
  '{"message":"source from line","source":"sensor\\n1"}',
  '{"message":"truncated flag","truncated":true}',
  '{"message":"module unicode","module":"pümp😀xyzabcdefghijklmnop"}',
  '{"message":"module empty","module":""}',
  '{"message":"level unicode","level":"ınfo"}',
  '{"message":"node and seq are ours","node":"spoof","seq":7}',
  '  \t{"message":"leading space"}  ',
  '{"message":"trailing garbage"} x',
  '{"message":"raw tab\tin string"}',
  '{"message":"unterminated}',
  '{"message":01}',
  '{"message":1.}',
  '{"message":-}',
  '{"a":tru}',
  '{"a" 1}',
  '{"a":1,}',
  '{"a":[1,]}',
  '{"a":"\\x"}',
  '{"a":"\\u12g4"}',
  '{}',
  '{"message":' + '['.repeat(63) + ']'.repeat(63) + '}',
  '{"message":' + '['.repeat(64) + ']'.repeat(64) + '}',
  '{"message":' + '['.repeat(70) + ']'.repeat(70) + '}',
  '{"message":"x","fields":' + '{"a":'.repeat(5000) + '1' + '}'.repeat(5000) + '}',
  '{"message":"' + 'x'.repeat(300) + '"}',
];

test('codec NDJSON corpus: native and JS give identical records, rejects and counters (formats auto, json, text)', () => {
  const bytes = Buffer.from(JSON_CORPUS.map((l) => l + '\n').join('') + 'plain after json\n', 'utf8');
  for (const format of ['auto', 'json', 'text'] as const) {
    for (const source of ['', 'tcp:10.0.0.1:5']) {
      const opts = { ...OPTS, maxMessageBytes: 256, minLevel: 'DEBUG' as const, format, source };
      const r = both(opts, [bytes]);
      assert.deepEqual(r.nativeCounters, r.jsCounters, format);
      const n = records(r.native).map((x) => x.toString('utf8'));
      const j = records(r.js).map((x) => x.toString('utf8'));
      for (let i = 0; i < Math.max(n.length, j.length); i++) assert.equal(n[i], j[i], `${format}: record ${i}`);
    }
  }
  const recs = records(both({ ...OPTS, maxMessageBytes: 256, minLevel: 'DEBUG' }, [bytes]).native).map((x) => x.toString('utf8'));
  const entries = recs.filter((x) => x[0] === 'E').map((x) => JSON.parse(x.slice(1)));
  const by = (m: string) => entries.find((e) => e.message === m);
  assert.equal(by('plain').timestamp, '2026-03-04T05:06:07.891Z');
  assert.equal(by('zone').timestamp, '2026-03-04T02:36:07.000Z');
  assert.equal(by('zone hhmm').timestamp, '2026-03-04T06:36:07.500Z');
  assert.equal(by('seconds').timestamp, '2026-01-01T00:00:00.500Z');
  assert.equal(by('bad date').timestamp, new Date(T0).toISOString(), 'not a date: the arrival time');
  assert.equal(by('far ms').timestamp, '+275760-09-13T00:00:00.000Z');
  assert.equal(by('null message falls back').level, 'INFO');
  assert.equal(by('last wins').level, 'FATAL');
  assert.equal(by('escaped key').level, 'ERROR');
  assert.ok(by('{"b":[1,2.5,0,1e+21,1e-7,1.23e-7,"x\\u0000y"],"a":{"nested":true},"dup":1,"dup":2}'), 'canonical text of a non-string message');
  assert.deepEqual(by('args').args, [1, 'two', 'null', 'true', '{"k":"v"}', '[1,[2]]', 'Infinity', '-Infinity', 0, 0.1, '\\x01']);
  assert.deepEqual(Object.keys(by('fields').fields), ['2', '10', 'b', 'a', 'obj', 'big', '__proto__', '\\x00ctl']);
  assert.equal(by('fields').fields.b, 3);
  assert.equal(by('fields').fields.big, null);
  assert.equal(Object.keys(by('many fields').fields).length, 64);
  assert.equal(by('null fields').fields, undefined);
  assert.deepEqual(by('plain fields').fields, { device: 'gw-0042', seq: 7, ok: true, t: 21.5, neg: -3, off: false });
  assert.deepEqual(by('plain fields, null').fields, { device: 'gw-0042' });
  assert.deepEqual(by('plain fields, repeated').fields, { a: 3, b: 2 });
  assert.equal(Object.keys(by('plain fields, 65').fields).length, 64);
  assert.equal(by('plain fields, empty').fields, undefined);
  assert.deepEqual(by('fields twice').fields, { b: 2 });
  assert.deepEqual(by('fields then escaped key').fields, { b: 2 });
  assert.equal(by('fields then number').fields, undefined);
  assert.deepEqual(by('fields spaced key').fields, { a: 1 });
  assert.deepEqual(by('fields in fields').fields, { fields: '{"x":1}', y: 2 });
  assert.equal(by('lang').lang_key, 'pump.pressure_high');
  assert.equal(by('module unicode').module, 'P_MP__XYZABCDEFG');
  assert.equal(by('module empty').module, 'APP');
  assert.equal(by('level unicode').level, 'INFO');
  assert.equal(by('node and seq are ours').node, 'gw-7');
  const rejects = recs.filter((x) => x[0] === 'R').map((x) => x.slice(1));
  assert.ok(rejects.includes('JSON nested deeper than 64 levels'));
  assert.ok(rejects.includes(`invalid JSON: control character in a string at byte ${'{"message":"raw tab\tin string"}'.indexOf('\t')}`), rejects.join('\n'));
  assert.ok(by('{"message":' + '['.repeat(70) + ']'.repeat(70) + '}'), 'a rejected line is kept as text');
  assert.ok(by('['.repeat(63) + ']'.repeat(63)), '64 levels of nesting (the entry object and 63 arrays) are kept as the canonical text');
  assert.ok(by('{"message":' + '['.repeat(64) + ']'.repeat(64) + '}'), '65 levels are rejected (kept as the line\'s text)');
});

test('codec NDJSON: ordinary lines give exactly what the entry door gives for JSON.parse of them', () => {
  const ordinary = JSON_CORPUS.slice(0, 4).concat(['{"level":"error","module":"net","message":"m","args":[1,"a"],"fields":{"k":"v","n":2},"lang_key":"x.y"}']);
  const build = { maxMessageBytes: 256, defaultLevel: OPTS.defaultLevel, defaultModule: OPTS.defaultModule, node: OPTS.node, source: OPTS.source };
  for (const line of ordinary) {
    const rec = records(new NativeLineCodec({ ...OPTS, maxMessageBytes: 256, minLevel: 'DEBUG' }).feed(b(line + '\n'), T0))[0]!;
    const o = JSON.parse(line);
    const expect = encodeEntry(buildEntry({ ...draftFromObject(o), receivedAt: T0, source: OPTS.source }, build));
    assert.equal(rec.toString('utf8', 1), expect, line);
  }
});

test('codec NDJSON fuzz: random and mutated JSON lines give identical output native vs JS (300 seeded cases)', () => {
  const random = rng(2026);
  const pick = <T,>(a: readonly T[]) => a[Math.floor(random() * a.length)]!;
  // Escaped and raw forms both: the C codec takes a string without escapes straight from the line
  // when sanitising leaves it as it is (raw C1 controls, DEL, separators and long texts do not).
  const strings = ['', 'a', 'é', '😀', '\\n', '\\u0000', '\\ud800', '\\ud83d\\ude00', '\\"', 'ERROR', '2026-01-01T00:00:00Z', '2026-01-01', '<13>x: y', '\\u0085',
    '\u0085', '\u2028', '\u202e', '\u007f', '¢ £', 'tab\there', 'k'.repeat(70), 'v'.repeat(1030), 'é'.repeat(600), 'info', 'pump', '2024-02-29T23:59:59.999Z', '2026-02-29T12:34:56.789Z', '0000-01-01T00:00:00.000Z', '2026-01-01t00:00:00.000z'];
  const numbers = ['0', '-0', '1', '1.5', '1e21', '1e-7', '-12.34e+5', '1e999', '123456789012345678901234567890', '0.1', '5e-324', '1767225600', '17672256001234'];
  const keys = ['timestamp', 'level', 'module', 'message', 'msg', 'lang_key', 'args', 'source', 'fields', 'truncated', 'seq', 'node', 'x', '0', '7', '__proto__', 'k'.repeat(70), 'k\u0085', 'x\u007f'];
  const value = (d: number): string => {
    const r = random();
    if (d > 3 || r < 0.35) return `"${pick(strings)}"`;
    if (r < 0.6) return pick(numbers);
    if (r < 0.7) return pick(['true', 'false', 'null']);
    if (r < 0.85) return `[${Array.from({ length: Math.floor(random() * 4) }, () => value(d + 1)).join(pick([',', ' , ']))}]`;
    return `{${Array.from({ length: Math.floor(random() * 4) }, () => `"${pick(keys)}":${value(d + 1)}`).join(',')}}`;
  };
  for (let seed = 0; seed < 300; seed++) {
    const lines: string[] = [];
    for (let i = 0; i < 8; i++) {
      let line = `{${Array.from({ length: Math.floor(random() * 7) }, () => `"${pick(keys)}" :${value(0)}`).join(',')}}`;
      // Mutations: a byte changed, removed or cut, whitespace inserted.
      const m = random();
      const at = Math.floor(random() * line.length);
      if (m < 0.15) line = line.slice(0, at) + String.fromCharCode(Math.floor(random() * 128)) + line.slice(at + 1);
      else if (m < 0.25) line = line.slice(0, at) + line.slice(at + 1);
      else if (m < 0.3) line = line.slice(0, at);
      else if (m < 0.4) line = line.slice(0, at) + pick([' ', '\t', '\r']) + line.slice(at);
      lines.push(line.replaceAll('\n', ''));
    }
    const bytes = Buffer.from(lines.join('\n') + '\n', 'utf8');
    const opts = { ...OPTS, maxMessageBytes: 8 + Math.floor(random() * 200), minLevel: pick(['DEBUG', 'INFO', 'WARN'] as const), format: pick(['auto', 'json'] as const) };
    const r = both(opts, [bytes]);
    assert.ok(r.native.equals(r.js), `seed ${seed}: native and JS differ\n${records(r.native).join('\n')}\n---\n${records(r.js).join('\n')}`);
    assert.deepEqual(r.nativeCounters, r.jsCounters, `seed ${seed}`);
  }
});

test('native codec: feedTransient gives the bytes feed gives, chunk by chunk (each read before the next call), and a Buffer of its own past its shared output', () => {
  const bytes = corpusBytes();
  const chunks = splitAt(bytes, [7, 100, 101, 400]);
  const a = new NativeLineCodec(OPTS);
  const t = new NativeLineCodec(OPTS);
  for (const [i, c] of chunks.entries()) assert.deepEqual(Buffer.from(t.feedTransient(c, T0 + i)), a.feed(c, T0 + i));
  // Larger than the shared output (256 KiB): the records come in a Buffer of their own.
  const big = Buffer.from(Array.from({ length: 4000 }, (_, i) => `[WARN] [net] line ${i} ${'x'.repeat(80)}`).join('\n') + '\n');
  const out = t.feedTransient(big, T0);
  assert.ok(out.length > 256 * 1024);
  assert.deepEqual(out, a.feed(big, T0));
});

/** Syslog messages of both RFCs, well-formed and not; each item is one message's bytes. */
const SYSLOG_CORPUS: Buffer[] = [
  // RFC 5424 §6.5 examples 1 to 4, and RFC 3164 §5.4 examples 1 to 4
  b(`<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \ufeff'su root' failed for lonvick on /dev/pts/8`),
  b("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts."),
  b('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] \ufeffAn application event log entry...'),
  b('<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"][examplePriority@32473 class="high"]'),
  b("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8"),
  b('<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!'),
  b('<165>Aug 24 05:34:00 CST 1987 mymachine myproc[10]: %% It\'s time to make the do-nuts.  %%  Ingredients: Mix=OK, Jelly=OK #'),
  b('<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 sched[0]: That\'s All Folks!'),
  // RFC 5424: escapes, NIL values, structured data in every shape
  b('<14>1 - - - - - [x@1 q="a \\"b\\" \\] c\\\\ \\n"] body'),
  b('<14>1 - - - - - [a][b x="1"][a y="2"][b x="3"] repeated ids and names'),
  b('<14>1 - - - - - [10 b="1"][2 a="2"][__proto__ polluted="yes" __proto__="v"] number-like and prototype ids'),
  b('<14>1 - - - - - [' + 'i'.repeat(32) + ' ' + 'n'.repeat(32) + '="cut key A" ' + 'n'.repeat(31) + 'x="cut key B"] keys cut at 64'),
  b('<14>1 - - - - - [m' + Array.from({ length: 70 }, (_, i) => ` p${i}="${i}"`).join('') + '] more than 64 fields'),
  b('<14>1 - - - - - [v big="' + 'v'.repeat(1100) + '" ctl="a\x01b\nc\u0085d\u2028" utf="' + 'é'.repeat(300) + '"] long values'),
  b('<14>1 2026-02-31T23:59:60.9999Z - - - - - Feb 31 rolls into March, second 60 is 59'),
  b('<14>1 0050-01-01T00:00:00+99:99 - - - - - two-digit year and a wild offset'),
  b('<14>1 - - - - - -'),
  b('<14>1 - - - - - -\ufeff'),
  b('<191>1 - h a p i - debug'),
  // RFC 5424 malformed: an error naming field and column, kept as text
  b('<34>1 2003-13-11T22:14:15Z host app - - - bad month'),
  b('<34>1 2003-10-11T22:14:15Z host app - - [broken m'),
  b('<34>1 2003-10-11T22:14:15Z host app - -'),
  b('<34>1 2003-10-11T22:14:15Z host app - - x m'),
  b('<34>1 2003-10-11T22:14:15Z  app - - - m'),
  b('<34>1 2003-10-11T22:14:15Z h\u00e9 app - - - non-ASCII host'),
  b('<34>1 - - - - - [a x="é😀" 9] column after wide characters'),
  b('<34>1 - - - - - [a x="é😀"]x column before MSG'),
  b('<34>1 - - - - - [a x="unterminated'),
  b('<34>1 - - - - - [a x="v"'),
  b('<34>1 - - - - - [' + 'i'.repeat(40) + ']'),
  b('<34>1 - - - - - [a x=v]'),
  b('<34>1 - - - - - [a\x01]'),
  b('<34>1 ' + 'x'.repeat(70) + ' - - - - - -'),
  // RFC 3164 variants
  b('<13>Feb 5 17:32:18.250 host cron[1]: fraction and one-space day'),
  b('<13>Feb 30 01:02:03 host app: not a date: all content'),
  b('<13>Dec 31 23:59:59 host app: year before'),
  b('<13>Oct 11 22:14:60 host app: second 60 rolls on'),
  b('<13>Dec 31 23:59:60 host app: rolls into January: not a date'),
  b('<13>Jan  1 00:00:00.999999 host app: micro'),
  b('<13>Oct 11 22:14:15.1234567 host app: seven digits: not a BSD time'),
  b('<13>2025-06-01T10:00:00.5+02:00 host app[9]: RFC 3339 in 3164'),
  b('<13>Oct 11 22:14:15 su: local sender, no host'),
  b('<13>Oct 11 22:14:15 ' + 'h'.repeat(256) + ' app: host too long'),
  b('<13>Oct 11 22:14:15 host ' + 'a'.repeat(48) + ': tag of 48'),
  b('<13>Oct 11 22:14:15 host ' + 'a'.repeat(49) + ': tag of 49'),
  b('<13>Oct 11 22:14:15 host ' + 'a'.repeat(47) + '😀: tag of 49 units'),
  b('<13>Oct 11 22:14:15 host tag\u00a0x: no-break space ends a tag'),
  b('<13>Oct 11 22:14:15 host tag\u0085x: NEL does not'),
  b('<13>Oct 11 22:14:15 host app[' + '9'.repeat(129) + ']: pid too long'),
  b('<13>Oct 11 22:14:15 host app[a:b[c]: pid with : and ['),
  b('<13>Oct 11 22:14:15 host app[]: empty pid'),
  b('<13>Oct 11 22:14:15 h\x1b[31mred app: control in host'),
  b('<13>Oct 11 22:14:15 host app:'),
  b('<13>Oct 11 22:14:15 host app:x'),
  b('<13>Mar 30 02:30:00 h dst: skipped hour'),
  b('<13>Oct 26 02:30:00 h dst: repeated hour'),
  b('<13>Mar  9 02:30:00 h dst: skipped hour'),
  b('<13>Nov  2 01:30:00 h dst: repeated hour'),
  b('<13>Oct  5 02:15:00 h dst: half-hour change'),
  b('<13>Apr  6 01:45:00 h dst: half-hour change'),
  b('<13>'),
  b('<7>kernel: debug'),
  // no valid PRI
  b('no pri'), b('<'), b('<>x'), b('<1234>x'), b('<1a>x'), b('<é>x'), b('<😀>x'), b('<\x00>x'), b('<200>x'), b('<099>ok'),
  // bytes: invalid UTF-8, controls, bidi, trailing line ends, only line ends
  x(...b('<13>Oct 11 22:14:15 h\xff app'), 0xff, 0xfe, ...b(': bad '), 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98),
  b('<13>app: control \x00 \x07 \x1b[2J DEL\x7f C1\u0085 bidi\u202e sep\u2028 kept escaped'),
  b('<13>app: trailing line ends\r\n\x00\n'),
  b('<13>app: inner\nline\rbreaks'),
  b('\r\n\x00'),
  b(''),
  b('<13>app: ' + 'é'.repeat(200) + ' message over maxMessageBytes'),
];

const SYSLOG_OPTS: CodecOptions = { ...OPTS, maxLineBytes: 2048, maxMessageBytes: 300, minLevel: 'DEBUG', defaultModule: 'syslog', source: 'syslog:tcp:10.0.0.9' };

/** Each message a datagram (format syslog_datagram), fed at time t. */
function datagrams(codec: LineCodec, msgs: Buffer[], t: number): Buffer {
  return Buffer.concat([...msgs.map((m) => codec.feed(m, t)), codec.end(t)]);
}

/** A stream of octet-counted frames; and one of LF-framed messages (a digit start or an inner LF frames as it frames). */
const octetStream = (msgs: Buffer[]) => Buffer.concat(msgs.flatMap((m) => [b(`${m.length} `), m]));
const lfStream = (msgs: Buffer[]) => Buffer.concat(msgs.flatMap((m) => [m, b('\n')]));

function withTz<T>(tz: string, fn: () => T): T {
  const before = process.env.TZ;
  process.env.TZ = tz;
  try {
    return fn();
  } finally {
    if (before === undefined) delete process.env.TZ;
    else process.env.TZ = before;
  }
}

test('syslog corpus: native and JS give identical records and counters, as datagrams and as octet-counted or LF-framed streams split anywhere, in several time zones', () => {
  const random = rng(5424);
  // Arrival times: winter, the summer before the DST examples, and just after New Year (Dec 31 is last year).
  for (const tz of ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe']) {
    withTz(tz, () => {
      for (const t of [T0, Date.UTC(2025, 6, 1, 12), Date.UTC(2026, 0, 1, 0, 30)]) {
        const dj = new JsLineCodec({ ...SYSLOG_OPTS, format: 'syslog_datagram' }), dn = new NativeLineCodec({ ...SYSLOG_OPTS, format: 'syslog_datagram' });
        const j = datagrams(dj, SYSLOG_CORPUS, t), n = datagrams(dn, SYSLOG_CORPUS, t);
        assert.deepEqual(records(n).map(String), records(j).map(String), `${tz} datagrams`);
        assert.deepEqual(dn.counters(), dj.counters());
        for (const stream of [octetStream(SYSLOG_CORPUS), lfStream(SYSLOG_CORPUS)]) {
          const feedAll = (codec: LineCodec, chunks: Buffer[]) => Buffer.concat([...chunks.map((c) => codec.feed(c, t)), codec.end(t)]);
          const whole = feedAll(new JsLineCodec({ ...SYSLOG_OPTS, format: 'syslog' }), [stream]);
          const cuts = [splitAt(stream, Array.from({ length: 30 }, () => Math.floor(random() * stream.length))), [stream]];
          if (t === T0 && tz === 'UTC') cuts.push([...stream].map((v) => Buffer.from([v])));
          for (const chunks of cuts) {
            const js = new JsLineCodec({ ...SYSLOG_OPTS, format: 'syslog' }), nat = new NativeLineCodec({ ...SYSLOG_OPTS, format: 'syslog' });
            const nb = feedAll(nat, chunks);
            assert.deepEqual(records(nb).map(String), records(feedAll(js, chunks)).map(String), `${tz} stream`);
            assert.ok(nb.equals(whole), 'however the stream is split');
            assert.deepEqual(nat.counters(), js.counters());
          }
        }
      }
    });
  }
  const c = new NativeLineCodec({ ...SYSLOG_OPTS, format: 'syslog_datagram' });
  datagrams(c, SYSLOG_CORPUS, T0);
  // Two are nothing but line ends; 15 + 9 did not parse (RFC 5424 errors, no valid PRI).
  assert.deepEqual(c.counters(), { lines: SYSLOG_CORPUS.length - 2, records: SYSLOG_CORPUS.length - 2, filtered: 0, cut: 0, rejected: 24 });
});

test('syslog: a record is what the entry door makes of the parsed message (buildEntry of draftFromSyslog); one that does not parse is kept as text after an R record naming the field and column', () => {
  const build = { maxMessageBytes: SYSLOG_OPTS.maxMessageBytes, defaultLevel: OPTS.defaultLevel, defaultModule: 'syslog', node: OPTS.node, source: SYSLOG_OPTS.source };
  const now = new Date(T0);
  for (const m of SYSLOG_CORPUS.slice(0, 8)) {
    const text = m.toString('utf8');
    const r = parseSyslog(text, now);
    assert.ok(r.ok, text);
    const expect = encodeEntry(buildEntry(draftFromSyslog(r.message, undefined, T0), build));
    const rec = records(new NativeLineCodec({ ...SYSLOG_OPTS, format: 'syslog_datagram' }).feed(m, T0))[0]!;
    assert.equal(rec.toString('utf8', 1), expect);
  }
  const all = records(datagrams(new NativeLineCodec({ ...SYSLOG_OPTS, format: 'syslog_datagram' }), SYSLOG_CORPUS, T0)).map((r) => r.toString('utf8'));
  const entries = all.filter((r) => r[0] === 'E').map((r) => JSON.parse(r.slice(1)));
  const by = (start: string) => entries.find((e) => String(e.message).startsWith(start))!;
  assert.deepEqual(by("'su root' failed for lonvick").fields, { facility: 'auth', severity: 'crit', hostname: 'mymachine.example.com', app_name: 'su', msgid: 'ID47' });
  assert.equal(by("'su root' failed for lonvick").level, 'ERROR');
  assert.equal(by("'su root' failed for lonvick").module, 'SU');
  assert.deepEqual(by('body').fields, { facility: 'user', severity: 'info', 'sd.x@1.q': 'a "b" ] c\\ \\n' });
  assert.deepEqual(by('repeated ids').fields, { facility: 'user', severity: 'info', 'sd.a': '', 'sd.b.x': '3', 'sd.a.y': '2' });
  assert.deepEqual(Object.entries(by('number-like').fields), [['facility', 'user'], ['severity', 'info'], ['sd.10.b', '1'], ['sd.2.a', '2'], ['sd.__proto__.polluted', 'yes'], ['sd.__proto__.__proto__', 'v']]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined, 'an SD-ID __proto__ reaches no prototype');
  assert.deepEqual(Object.keys(by('keys cut').fields), ['facility', 'severity', 'sd.' + 'i'.repeat(32) + '.' + 'n'.repeat(28)]);
  assert.equal(by('keys cut').fields['sd.' + 'i'.repeat(32) + '.' + 'n'.repeat(28)], 'cut key B', 'keys the cut makes equal are one: first place, last value');
  assert.equal(Object.keys(by('more than 64').fields).length, 64);
  const long = by('long values').fields;
  assert.equal(long['sd.v.big'], 'v'.repeat(1024));
  assert.equal(long['sd.v.ctl'], 'a\\x01b\\nc\\u0085d\\u2028');
  assert.equal(by('Feb 31 rolls').timestamp, '2026-03-03T23:59:59.999Z');
  assert.equal(by('two-digit year').timestamp, '1949-12-27T19:21:00.000Z');
  assert.equal(by('debug').level, 'DEBUG');
  // Arrived on New Year's Day 2026: a date more than a week ahead is last year's.
  assert.equal(by('fraction and one-space day').timestamp, new Date(2025, 1, 5, 17, 32, 18, 250).toISOString());
  assert.equal(by('year before').timestamp, new Date(2025, 11, 31, 23, 59, 59).toISOString());
  assert.equal(by('second 60 rolls on').timestamp, new Date(2025, 9, 11, 22, 15, 0).toISOString());
  assert.equal(by('Dec 31 23:59:60').module, 'SYSLOG');
  assert.equal(by('Feb 30 01:02:03 host app: not a date').module, 'SYSLOG');
  assert.equal(by('RFC 3339 in 3164').timestamp, '2025-06-01T08:00:00.500Z');
  assert.equal(by('tag of 48').module, 'A'.repeat(16));
  assert.equal(by('a'.repeat(49)).module, 'SYSLOG', 'a 49-character tag is no tag: the line after the host is the message');
  assert.equal(by('tag\u00a0x').module, 'SYSLOG');
  assert.equal(by('NEL does not').module, 'TAG_X');
  assert.equal(by('control in host').fields.hostname, 'h\\x1b[31mred');
  assert.equal(by('trailing line ends').message, 'trailing line ends');
  assert.equal(by('inner').message, 'inner\\nline\\rbreaks');
  assert.ok(by('control \\x00 \\x07 \\x1b[2J DEL\\x7f C1\\u0085 bidi\\u202e sep\\u2028'));
  assert.equal(by('bad ').message, 'bad \ufffd(\ufffd\ufffd\ufffd\ufffd');
  assert.equal(by('éé').truncated, true);
  assert.equal(Buffer.byteLength(by('éé').message), 300);
  const rejects = all.filter((r) => r[0] === 'R').map((r) => r.slice(1));
  assert.deepEqual(rejects, [
    'RFC 5424: expected a space before MSG at column 18',
    'RFC 5424: bad TIMESTAMP "2003-13-11T22:14:15Z"',
    'RFC 5424: STRUCTURED-DATA: expected ="value" after m at column 50',
    'RFC 5424: expected a space before STRUCTURED-DATA at column 40',
    'RFC 5424: expected STRUCTURED-DATA ([…] or -) at column 41',
    'RFC 5424: bad HOSTNAME at column 28',
    'RFC 5424: bad HOSTNAME at column 28',
    'RFC 5424: STRUCTURED-DATA: expected ="value" after 9 at column 29', // columns count UTF-16 units, as the JS text does
    'RFC 5424: expected a space before MSG at column 28',
    'RFC 5424: STRUCTURED-DATA: unterminated value of x',
    'RFC 5424: STRUCTURED-DATA: expected ] at column 25',
    'RFC 5424: STRUCTURED-DATA: expected ] at column 50',
    'RFC 5424: STRUCTURED-DATA: expected ="value" after x at column 21',
    'RFC 5424: STRUCTURED-DATA: bad SD-ID at column 18',
    'RFC 5424: bad TIMESTAMP at column 7',
    'no <PRI> at the start', 'PRI is not 1 to 3 digits in <…>', 'PRI is not 1 to 3 digits in <…>', 'PRI is not 1 to 3 digits in <…>', 'PRI <1a> is not a number',
    'PRI <é> is not a number', 'PRI <😀> is not a number', 'PRI <\x00> is not a number', 'PRI 200 is over 191',
  ]);
  assert.equal(by('no pri').level, 'INFO');
  assert.equal(by('<34>1 2003-13-11').module, 'SYSLOG');
});

test('syslog: a message over the bound is cut (datagram, octet-counted frame, LF frame), marked truncated and counted; the next one is intact', () => {
  const opts = { ...SYSLOG_OPTS, maxLineBytes: 601, maxMessageBytes: 4096 };
  const long = b('<13>Oct 11 22:14:15 host app: ' + 'é'.repeat(400));
  const next = b('<13>app: next');
  for (const [format, chunks] of [['syslog_datagram', [long, next]], ['syslog', [octetStream([long, next])]], ['syslog', [lfStream([long, next])]]] as const) {
    const js = new JsLineCodec({ ...opts, format }), nat = new NativeLineCodec({ ...opts, format });
    const n = datagrams(nat, [...chunks], T0);
    assert.ok(n.equals(datagrams(js, [...chunks], T0)), format);
    const recs = records(n).map((r) => JSON.parse(r.toString('utf8', 1)));
    assert.equal(recs[0].truncated, true);
    assert.equal(recs[0].module, 'APP');
    assert.ok(recs[0].message.endsWith('é\ufffd'), 'cut inside a character: its byte becomes U+FFFD');
    assert.equal(recs[1].message, 'next');
    assert.deepEqual(nat.counters(), { lines: 2, records: 2, filtered: 0, cut: 1, rejected: 0 });
  }
  // An octet-counted frame the stream ends inside: delivered, cut.
  const js = new JsLineCodec({ ...opts, format: 'syslog' }), nat = new NativeLineCodec({ ...opts, format: 'syslog' });
  const partial = b('40 <13>app: only part');
  assert.ok(datagrams(nat, [partial], T0).equals(datagrams(js, [partial], T0)));
  assert.deepEqual(nat.counters(), { lines: 1, records: 1, filtered: 0, cut: 1, rejected: 0 });
});

test('syslog fuzz: random and mutated messages give identical output native vs JS, as datagrams and framed streams (300 seeded cases)', () => {
  for (let seed = 1; seed <= 300; seed++) {
    const r = rng(seed * 7919);
    const int = (n: number) => Math.floor(r() * n);
    const f: Fuzz = { seed, r, int, budgetMs: 0, pick: (xs) => xs[int(xs.length)]!, chance: (p) => r() < p, bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256))) };
    const msgs = Array.from({ length: 1 + int(12) }, () => syslogMessage(f));
    const opts = { ...SYSLOG_OPTS, maxLineBytes: 64 + int(2000), maxMessageBytes: 8 + int(400), minLevel: f.pick(['DEBUG', 'INFO', 'WARN'] as const) };
    const t = T0 + int(400) * 86_400_000;
    const dj = new JsLineCodec({ ...opts, format: 'syslog_datagram' }), dn = new NativeLineCodec({ ...opts, format: 'syslog_datagram' });
    const a = datagrams(dn, msgs, t), c = datagrams(dj, msgs, t);
    assert.ok(a.equals(c), `seed ${seed}: datagrams differ\n${records(a).join('\n')}\n---\n${records(c).join('\n')}`);
    assert.deepEqual(dn.counters(), dj.counters(), `seed ${seed}`);
    const stream = f.chance(0.5) ? octetStream(msgs) : lfStream(msgs);
    const chunks = splitAt(stream, Array.from({ length: int(6) }, () => int(stream.length)));
    const sj = new JsLineCodec({ ...opts, format: 'syslog' }), sn = new NativeLineCodec({ ...opts, format: 'syslog' });
    const feedAll = (codec: LineCodec) => Buffer.concat([...chunks.map((ch) => codec.feed(ch, t)), codec.end(t)]);
    const x1 = feedAll(sn), x2 = feedAll(sj);
    assert.ok(x1.equals(x2), `seed ${seed}: streams differ\n${records(x1).join('\n')}\n---\n${records(x2).join('\n')}`);
    assert.deepEqual(sn.counters(), sj.counters(), `seed ${seed}`);
  }
});

test('syslog: a long run of line ends inside a message costs linear time (a regex trimming them was quadratic: seconds per datagram)', () => {
  // And a structured-data value of 100,000 backslashes: one pass to its closing quote.
  const msgs = [
    Buffer.concat([b('<13>app: '), Buffer.alloc(200_000, '\n'), b('x')]),
    Buffer.concat([b('<13>1 - - - - - [a x="'), Buffer.alloc(100_000, '\\'), b('"] m')]),
  ];
  for (const codec of [new JsLineCodec({ ...SYSLOG_OPTS, maxLineBytes: 1 << 20, format: 'syslog_datagram' }), new NativeLineCodec({ ...SYSLOG_OPTS, maxLineBytes: 1 << 20, format: 'syslog_datagram' })]) {
    for (const msg of msgs) {
      const t0 = process.hrtime.bigint();
      const recs = records(codec.feed(msg, T0));
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      assert.deepEqual(recs.map((r) => r[0]), [0x45], 'parsed: one entry, no reject');
      assert.ok(ms < 1000, `${codec.impl}: ${ms} ms`);
    }
  }
});
