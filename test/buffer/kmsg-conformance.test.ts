/**
 * The codec's kmsg format: the C codec (native/addon/src/kmsg.c) and its JS twin
 * (agent/buffer/kmsg/) give identical bytes, counters and format counters for /dev/kmsg records,
 * hostile ones included, however the stream is split; and the entries are what the kmsg input made
 * of the same records before the codec took them over (buildEntry of its draft).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsLineCodec, type CodecOptions, type LineCodec } from '../../agent/buffer/line-codec.ts';
import { NativeLineCodec } from '../../agent/buffer/native-codec.ts';
import { forEachFrame } from '../../agent/buffer/ring.ts';
import { buildEntry } from '../../entry/build.ts';
import { encodeEntry } from '../../entry/codec.ts';
import { rng } from '../helpers/rng.ts';

const T0 = 1_767_225_600_123; // 2026-01-01T00:00:00.123Z, the arrival time
const BOOT = 1_767_000_000_000.25; // the boot's wall time (not a whole ms, as the input computes it)
const OPTS: CodecOptions = {
  maxLineBytes: 64 * 1024, maxMessageBytes: 400, minLevel: 'DEBUG', defaultLevel: 'INFO', defaultModule: 'KMSG', node: 'gw-7', source: 'kmsg:/dev/kmsg',
  format: 'kmsg', kmsg: { bootWallMs: BOOT, module: 'KERNEL' },
};
const b = (s: string) => Buffer.from(s, 'utf8');
const x = (...bytes: number[]) => Buffer.from(bytes);

const CORPUS: Buffer[] = [
  b(' continuation with no record\n'),
  b('6,100,5000000,-;usb 1-1: new high-speed USB device number 2 using ehci-pci\n SUBSYSTEM=usb\n DEVICE=c189:1\n'),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map((p) => b(`${8 * 3 + p},${101 + p},5000100,-;daemon priority ${p}\n`)),
  b('4,110,5000200,c;eth0: link \n4,111,5000201,+;up \n4,112,5000202,+;1000Mbps\n'),
  b('this is not a record\n'),
  b('1,113,5000300,-,caller=T42;Oops: 0000 [#1] SMP\n'),
  b('0,114,5000400,-;Kernel panic - not syncing: VFS\n'),
  b('6,115,5000500,-;Oops\tsomething\n6,116,5000501,-;Oopsie\n6,117,5000502,-;BUG: soft lockup\n6,118,1,-;general protection fault ip:1\n6,119,2,-;Unable to handle kernel paging request\n'),
  b('6,120,3,-;Oops\u00a0nbsp is JS whitespace\n'),
  // dictionary oddities: index keys first, case folded, first place last value, __proto__, base keys overwritten, no '=' or '=' first
  b('6,121,4,-,caller=C1,,=x,noeq,CALLER=C2;dict\n 10=ten\n A=1\n 2=two\n a=2\n __proto__=p\n SEQ=seven\n noeq\n =v\n K=v=w\n FLAGS=set\n'),
  // flags: empty, other than '-', more header fields
  b('6,122,5,;empty flags\n6,123,6,x,y,z=1;odd flags\n'),
  // hostile headers
  b('6,99999999999999999999,99999999999999999999,-;huge numbers\n'),
  b('6,123456789012345678901,1,-;21-digit seq\n1234,1,1,-;4-digit prio\n6,1,2;no flags\n6,1;short\n;\n6,124,7,-\n,,,;\n6,,1,-;\n'),
  b('6,125,8,-;tab\tand cr\r\n6,126,9,-;nul \0 here\n6,127\0,1,-;nul in header\n'),
  x(0x36, 0x2c, 0x31, 0x32, 0x38, 0x2c, 0x31, 0x2c, 0x2d, 0x3b, 0xff, 0xfe, 0x20, 0xc3, 0x28, 0x0a, 0x20, 0x4b, 0xed, 0xa0, 0x80, 0x3d, 0xf0, 0x9f, 0x98, 0x0a),
  x(0xff, 0x2c, 0x31, 0x2c, 0x3b, 0x0a),
  b('999,129,10,-;priority 999 (facility 124)\n'),
  b('\n\n6,130,11,-;after empty lines\n'),
  // fragments: a c with no +, a + with no c, a c then a record that is not a +
  b('4,131,12,c;lonely fragment\n4,132,13,+;stray plus\n4,133,14,c;held \n6,134,15,-;not a plus\n'),
  b('6,135,16,-;\u{1F600} emoji and \u2028 separator \u0085 next line\n'),
  // a huge time: no date, the entry takes the arrival time
  b('6,136,9007199254740993000,-;time past dates\n'),
];

const corpusBytes = () => Buffer.concat(CORPUS);

function run(codec: LineCodec, chunks: Buffer[]): Buffer {
  return Buffer.concat([...chunks.map((c) => codec.feed(c, T0)), codec.end(T0)]);
}

function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts].sort((p, q) => p - q)) out.push(bytes.subarray(prev, c)), (prev = c);
  out.push(bytes.subarray(prev));
  return out;
}

/** Both codecs over the chunks: identical bytes, counters and format counters (returned). */
function same(opts: CodecOptions, chunks: Buffer[], what: string) {
  const js = new JsLineCodec(opts), nat = new NativeLineCodec(opts);
  const a = run(nat, chunks), c = run(js, chunks);
  assert.equal(a.toString('latin1'), c.toString('latin1'), what);
  assert.deepEqual(nat.counters(), js.counters(), what);
  assert.deepEqual(nat.formatCounters(), js.formatCounters(), what);
  return { frames: a, counters: js.counters(), format: js.formatCounters() };
}

function frames(out: Buffer): string[] {
  const all: string[] = [];
  forEachFrame(out, (p) => all.push(p.toString('utf8')));
  return all;
}

test('kmsg corpus: native and JS give identical records, notes and counters, whole or split anywhere (byte by byte, inside characters)', () => {
  const bytes = corpusBytes();
  const whole = same(OPTS, [bytes], 'whole');
  const random = rng(7);
  for (const chunks of [[...bytes].map((v) => Buffer.from([v])), splitAt(bytes, Array.from({ length: 60 }, () => Math.floor(random() * bytes.length)))]) {
    const r = same(OPTS, chunks, 'split');
    assert.ok(r.frames.equals(whole.frames), 'the same records however the bytes are split');
  }
  // Each entry follows its 'S' note; a bad header is an 'R' note and no entry.
  const all = frames(whole.frames);
  for (let i = 0; i < all.length; i++) {
    if (all[i]![0] === 'E') assert.equal(all[i - 1]![0], 'S', `entry ${i} has its note`);
    if (all[i]![0] === 'S') assert.equal(all[i + 1]![0], 'E');
  }
  const rejects = all.filter((f) => f[0] === 'R');
  assert.equal(rejects.length, whole.counters.rejected);
  assert.ok(rejects.includes('Rkmsg: not a record header: "this is not a record"'));
  assert.ok(rejects.includes('Rkmsg: not a record header: " continuation with no record"'));
  assert.ok(rejects.includes('Rkmsg: not a record header: "6,123456789012345678901,1,-;21-digit seq"'));
  assert.equal(whole.counters.records, all.filter((f) => f[0] === 'E').length);
  assert.equal(whole.format.last_seq, 136);
  assert.equal(whole.format.held_seq, -1);
});

/** The draft the kmsg input made of a record before the codec took its parsing over. */
function oldDraft(r: { priority: number; seq: number; tsUsec: number; flags: string; message: string; extra: Record<string, string> }) {
  const FAC = ['kern', 'user', 'mail', 'daemon'];
  const fields: Record<string, string | number> = { facility: FAC[r.priority >> 3]!, seq: r.seq, kernel_ts_usec: r.tsUsec };
  if (r.flags && r.flags !== '-') fields.flags = r.flags;
  for (const [k, v] of Object.entries(r.extra)) fields[k.toLowerCase()] = v;
  const FAIL = /^(?:Kernel panic|Oops[:\s]|BUG: |general protection fault|Unable to handle kernel)/;
  const sev = r.priority & 7;
  const level = FAIL.test(r.message) ? 'FATAL' : sev <= 0 ? 'FATAL' : sev <= 3 ? 'ERROR' : sev === 4 ? 'WARN' : sev <= 6 ? 'INFO' : 'DEBUG';
  return { timestamp: new Date(BOOT + r.tsUsec / 1000), level, module: 'KERNEL', message: r.message, source: 'kmsg:/dev/kmsg', fields };
}

test('kmsg: entries are what the input made of the same records (fields, level, FATAL for kernel failures, boot time + ts, joined fragments)', () => {
  const stream = b('6,100,5000000,-;usb 1-1: new device\n SUBSYSTEM=usb\n DEVICE=c189:1\n' + '28,101,5000100,-;daemon\n' + '4,110,5000200,c;eth0: link \n4,111,5000201,+;up \n4,112,5000202,+;1000Mbps\n' + '1,113,5000300,-,caller=T42;Oops: 0000 [#1] SMP\n');
  const want = [
    oldDraft({ priority: 6, seq: 100, tsUsec: 5000000, flags: '-', message: 'usb 1-1: new device', extra: { SUBSYSTEM: 'usb', DEVICE: 'c189:1' } }),
    oldDraft({ priority: 28, seq: 101, tsUsec: 5000100, flags: '-', message: 'daemon', extra: {} }),
    oldDraft({ priority: 4, seq: 112, tsUsec: 5000200, flags: 'c', message: 'eth0: link up 1000Mbps', extra: {} }),
    oldDraft({ priority: 1, seq: 113, tsUsec: 5000300, flags: '-', message: 'Oops: 0000 [#1] SMP', extra: { caller: 'T42' } }),
  ].map((d) => 'E' + encodeEntry(buildEntry(d, { maxMessageBytes: 400, defaultLevel: 'INFO', defaultModule: 'KMSG', node: 'gw-7' })));
  const got = frames(same(OPTS, [stream], 'stream').frames);
  assert.deepEqual(got, ['S100', want[0], 'S101', want[1], 'S112', want[2], 'S113', want[3]]);
});

test('kmsg: positions (records at or below lastSeq skipped, skipAll, gaps counted, the last seq) and a held fragment, identical in both', () => {
  const stream = b('6,5,1,-;five\n6,6,2,-;six\n6,9,3,-;nine\n4,10,4,c;held \n');
  const after = same({ ...OPTS, kmsg: { bootWallMs: BOOT, lastSeq: 5 } }, [stream], 'lastSeq');
  assert.deepEqual(after.format, { skipped: 1, missed: 2, last_seq: 10, held_seq: -1 }); // end() released the fragment
  assert.deepEqual(frames(after.frames).filter((f) => f[0] === 'S'), ['S6', 'S9', 'S10']);
  const all = same({ ...OPTS, kmsg: { bootWallMs: BOOT, skipAll: true } }, [stream], 'skipAll');
  assert.deepEqual(all.format, { skipped: 4, missed: 2, last_seq: 10, held_seq: -1 });
  assert.equal(all.frames.length, 0);
  // Before end(), the fragment is held: its seq says where the position must stay.
  for (const codec of [new NativeLineCodec(OPTS), new JsLineCodec(OPTS)]) {
    codec.feed(stream, T0);
    assert.deepEqual(codec.formatCounters!(), { skipped: 0, missed: 2, last_seq: 9, held_seq: -1 }, 'the record in progress (seq 10) is not complete yet');
    codec.feed(b('4,11,5,+;joined\n'), T0);
    assert.deepEqual(codec.formatCounters!(), { skipped: 0, missed: 2, last_seq: 10, held_seq: 10 });
    const out = frames(codec.end(T0));
    assert.equal(out[0], 'S11');
    assert.match(out[1]!, /"message":"held joined"/);
    assert.equal(codec.formatCounters!().held_seq, -1);
  }
});

test('kmsg: whole (the device: one record per read) completes each record with its chunk; otherwise with the next header or end()', () => {
  const opts = { ...OPTS, kmsg: { bootWallMs: BOOT, whole: true } };
  for (const codec of [new NativeLineCodec(opts), new JsLineCodec(opts)]) {
    assert.deepEqual(frames(codec.feed(b('6,1,1,-;one\n SUBSYSTEM=usb\n'), T0)).map((f) => f[0]), ['S', 'E']);
    assert.equal(codec.feed(b('4,2,2,c;frag \n'), T0).length, 0, 'a fragment waits for the next record');
    assert.equal(codec.feed(b('4,3,3,+;ment\n'), T0).length, 0);
    assert.match(frames(codec.end(T0))[1]!, /"message":"frag ment"/);
  }
  for (const codec of [new NativeLineCodec(OPTS), new JsLineCodec(OPTS)]) {
    assert.equal(codec.feed(b('6,1,1,-;one\n SUBSYSTEM=usb\n'), T0).length, 0, 'a FIFO may still send its dictionary');
    assert.equal(codec.feed(b(' DEVICE=x\n6,2,2,-;tw'), T0).length, 0, 'the next header is not complete yet');
    const one = frames(codec.end(T0));
    assert.match(one[1]!, /"fields":\{"facility":"kern","seq":1,"kernel_ts_usec":1,"subsystem":"usb","device":"x"\}/);
    assert.equal(codec.end(T0).length, 0, 'a line without its newline waits for it');
    const two = frames(codec.feed(b('o\n'), T0)).concat(frames(codec.end(T0)));
    assert.match(two[1]!, /"message":"two"/);
  }
});

test('kmsg: a filtered entry has no note; the module option names the entries, else the codec default', () => {
  const stream = b('7,1,1,-;debug\n3,2,2,-;error\n');
  const filtered = frames(same({ ...OPTS, minLevel: 'INFO' }, [stream], 'filtered').frames);
  assert.deepEqual(filtered.map((f) => f.slice(0, 2)), ['S2', 'E{']);
  const noModule = frames(same({ ...OPTS, kmsg: { bootWallMs: BOOT } }, [stream], 'no module').frames);
  assert.match(noModule[1]!, /"module":"KMSG"/);
  const named = frames(same({ ...OPTS, kmsg: { bootWallMs: BOOT, module: 'kern el' } }, [stream], 'module').frames);
  assert.match(named[1]!, /"module":"KERN_EL"/);
});

test('kmsg hostile: 10 000 continuation lines (all distinct keys, index keys, repeated keys), a line and a record past the bound, 1 MB without a newline: identical, bounded, fields at most 64', () => {
  const dict = Array.from({ length: 10_000 }, (_, i) => ` ${i % 3 === 0 ? i : i % 3 === 1 ? `K${i}` : 'SAME'}=${'v'.repeat(i % 50)}\n`).join('');
  const big = b(`6,1,1,-;many\n${dict}6,2,2,-;next\n`);
  const opts = { ...OPTS, maxLineBytes: 1 << 20 };
  const started = Date.now();
  const r = same(opts, [big], '10 000 lines');
  assert.ok(Date.now() - started < 10_000, 'linear enough');
  const first = JSON.parse(frames(r.frames)[1]!.slice(1));
  assert.equal(Object.keys(first.fields).length, 64);
  assert.equal(first.fields['0'], '');
  assert.deepEqual(frames(r.frames).filter((f) => f[0] === 'S'), ['S1', 'S2']);
  // The record is cut at the bound (64 KiB here): truncated, counted.
  const cut = same(OPTS, [big], 'cut record');
  assert.equal(cut.counters.cut, 1);
  assert.equal(JSON.parse(frames(cut.frames)[1]!.slice(1)).truncated, true);
  // A header line past the bound, and a megabyte with no newline, split in many chunks.
  const long = b(`6,3,3,-;${'x'.repeat(200_000)}\n6,4,4,-;after\n`);
  const chunks = splitAt(long, Array.from({ length: 30 }, (_, i) => i * 7000 + 3));
  const l = same(OPTS, chunks, 'long line');
  assert.equal(l.counters.cut, 1);
  assert.equal(l.counters.records, 2);
  same(OPTS, splitAt(Buffer.alloc(1 << 20, 0x41), [1000, 500_000]), 'no newline');
  // Fragments joined past the bound are not joined.
  const frags = b('4,5,5,c;' + 'a'.repeat(40_000) + '\n4,6,6,+;' + 'b'.repeat(40_000) + '\n');
  const f = same(OPTS, [frags], 'join past the bound');
  assert.deepEqual(frames(f.frames).filter((x2) => x2[0] === 'S'), ['S5', 'S6']);
});
