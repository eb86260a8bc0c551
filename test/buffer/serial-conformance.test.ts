/**
 * The serial console format (codec format serial): the C codec (native/addon/src/console.c) and
 * its JS twin (agent/buffer/console/) give identical records, counters and pending state for a
 * corpus of what consoles print (each console form, oopses with and without their end marker,
 * boot banners, ANSI colours, invalid UTF-8, latin1, over-long lines, every separator), however
 * the bytes are split into reads and wherever the input's idle flushes fall; and the records are
 * the entries the serial input made before the codec did its work.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsLineCodec, recordToEntry, type CodecOptions, type LineCodec, type SerialCodecOptions } from '../../agent/buffer/line-codec.ts';
import { NativeLineCodec } from '../../agent/buffer/native-codec.ts';
import { rng } from '../helpers/rng.ts';

const T0 = 1_767_225_600_123; // 2026-01-01T00:00:00.123Z
const b = (s: string) => Buffer.from(s, 'utf8');
const x = (...bytes: number[]) => Buffer.from(bytes);

const CORPUS: Buffer[] = [
  b('<3>[   12.345678] usb 1-1: device descriptor read/64, error -71'),
  b('<6>eth0: link up'),
  b('[    0.000000] Booting Linux on physical CPU 0x0'),
  b('[ERROR] [NET] 2025-04-30T12:00:00.000Z link lost'),
  b('\x1b[0;31mE (1234) wifi: disconnected\x1b[0m'),
  b('I (88) boot: ESP-IDF v5.1 2nd stage bootloader'),
  b('[00:00:01.234,567] <wrn> bt_hci: slow'),
  b('WARNING: low battery'),
  b('error: cannot mount /data'),
  b('[debug] polling'),
  b('2025-04-30 12:00:01.5 INFO [PUMP] started'),
  b('12:00:01 CRIT overheating'),
  b('Error opening file'),
  b('\x1b]0;title\x07plain \x1b[1mbold\x1b[0m text'),
  b('U-Boot SPL 2024.01 (Jan 01 2024 - 00:00:00 +0000)'),
  b('U-Boot 2024.01 (Jan 01 2024)'),
  b('[    0.000000] Linux version 6.1.0 (gcc 12) #1 SMP'),
  b('<4>[   50.100000] Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000'),
  b('[   50.100100] Internal error: Oops: 96000005 [#1] PREEMPT SMP'),
  b('[   50.100200] pc : foo+0x10/0x20'),
  b('WARN: a routine line interleaved into the oops'),
  b('[   50.100300] ---[ end trace 0123456789abcdef ]---'),
  b('after the oops'),
  b('[   60.000000] BUG: unable to handle page fault'),
  b('[   60.000100] RIP: 0010:x'),
  b('[   60.000200] Call Trace:'),
  b('[   60.000300]  <TASK>'),
  b('[   60.000400]  dump_stack+0x10'),
  b('[   60.000500]  more+0x20'),
  b('[   60.000600]  and+0x30'),
  b('[   60.000700]  more+0x40'),
  b('Kernel panic - not syncing: Fatal exception'),
  b('---[ end Kernel panic - not syncing: Fatal exception ]---'),
  b('call trace:'),
  b('Linux version 6.6.0 reboot closes the open group'),
  x(...b('invalid '), 0xff, 0xfe, ...b(' bytes '), 0xe2, 0x82, 0x41),
  b('emoji 😀 CJK 日志 é ' + 'long line '.repeat(12) + 'é€😀'.repeat(9)),
  b('control \x01 \x7f \u0085 \u2028 kept escaped'),
  b('[WARN] [averyveryverylongmodulename] cut at 16'),
];

function stream(sep: string, lines = CORPUS): Buffer {
  const seps = sep === 'auto' ? ['\n', '\r\n', '\r', '\n\n'] : [sep];
  return Buffer.concat(lines.flatMap((l, i) => [l, b(seps[i % seps.length]!)]));
}

const BASE: Omit<CodecOptions, 'serial'> = { maxLineBytes: 120, maxMessageBytes: 400, minLevel: 'DEBUG', defaultLevel: 'INFO', defaultModule: 'serial', node: 'gw-7', source: 'serial:/dev/ttyUSB0', format: 'serial' };

const VARIANTS: [string, Partial<CodecOptions>, SerialCodecOptions][] = [
  ['defaults', {}, {}],
  ['exact separator ;;', {}, { separator: b(';;') }],
  ['separator \\r\\n exactly', {}, { separator: b('\r\n') }],
  ['latin1', {}, { encoding: 'latin1' }],
  ['parse off', {}, { parse: false }],
  ['group_oops off, detect_boot off', {}, { groupOops: false, detectBoot: false }],
  ['oops_max_lines 3', {}, { oopsMaxLines: 3 }],
  ['short lines and messages', { maxLineBytes: 16, maxMessageBytes: 40 }, {}],
  ['line notes, min level WARN', { minLevel: 'WARN' }, { lineNotes: true }],
];

function codecs(extra: Partial<CodecOptions>, serial: SerialCodecOptions): [LineCodec, LineCodec] {
  const o = { ...BASE, ...extra, serial };
  return [new NativeLineCodec(o), new JsLineCodec(o)];
}

/** Feeds reads (with times) and flushes; the records of each call, and the pending state after it. */
function run(codec: LineCodec, steps: (Buffer | 'line' | 'group')[]): { out: Buffer; state: string[] } {
  const out: Buffer[] = [];
  const state: string[] = [];
  steps.forEach((s, i) => {
    out.push(typeof s === 'string' ? codec.flush!(s) : codec.feedAt!(s, T0 + i * 7, 1000 + i / 3));
    state.push(JSON.stringify(codec.formatCounters!()));
  });
  out.push(codec.end(0));
  state.push(JSON.stringify(codec.counters()), JSON.stringify(codec.formatCounters!()));
  return { out: Buffer.concat(out), state };
}

function assertSame(extra: Partial<CodecOptions>, serial: SerialCodecOptions, steps: (Buffer | 'line' | 'group')[], what: string): Buffer {
  const [nat, js] = codecs(extra, serial);
  const a = run(nat, steps);
  const c = run(js, steps);
  assert.ok(a.out.equals(c.out), `${what}\nC:  ${a.out.toString()}\nJS: ${c.out.toString()}`);
  assert.deepEqual(a.state, c.state, what);
  return a.out;
}

test('serial conformance: the C codec and the JS twin give the same records for the corpus, whole, split in two anywhere, and in random reads with idle flushes', () => {
  const r = rng(77);
  for (const [name, extra, serial] of VARIANTS) {
    const sep = serial.separator ? serial.separator.toString() : 'auto';
    const bytes = stream(sep);
    const whole = assertSame(extra, serial, [bytes], `${name}: whole`);
    assert.ok(whole.length > 0);
    for (let cut = 1; cut < bytes.length; cut += 3) assertSame(extra, serial, [bytes.subarray(0, cut), bytes.subarray(cut)], `${name}: cut at ${cut}`);
    for (let round = 0; round < 40; round++) {
      const steps: (Buffer | 'line' | 'group')[] = [];
      for (let off = 0; off < bytes.length; ) {
        const n = 1 + Math.floor(r() * 40);
        steps.push(bytes.subarray(off, off + n));
        off += n;
        if (r() < 0.2) steps.push(r() < 0.5 ? 'line' : 'group');
      }
      assertSame(extra, serial, steps, `${name}: round ${round}`);
    }
  }
});

/** The records as [note or entry] for reading: notes as their text, entries as objects. */
function records(frames: Buffer): (string | ReturnType<typeof recordToEntry>)[] {
  const out: (string | ReturnType<typeof recordToEntry>)[] = [];
  for (let off = 0; off + 4 <= frames.length; ) {
    const end = off + 4 + frames.readUInt32LE(off);
    out.push(frames[off + 4] === 0x45 ? recordToEntry(frames.subarray(off + 4, end)) : frames.toString('utf8', off + 4, end));
    off = end;
  }
  return out;
}

for (const impl of ['native', 'js'] as const) {
  test(`serial format (${impl}): the entries the serial input made — levels, modules, times, oops groups behind a 'U' note, boot banners, partial lines, invalid bytes`, () => {
    const o: CodecOptions = { ...BASE, maxLineBytes: 64, serial: {} };
    const codec = impl === 'native' ? new NativeLineCodec(o) : new JsLineCodec(o);
    const lines = [
      '<3>[   12.345678] usb 1-1: error -71', '\x1b[0;31mE (1234) wifi: disconnected\x1b[0m', '2025-04-30 12:00:01.5 INFO [PUMP] started',
      '[   50.1] Internal error: Oops: 96000005 [#1] SMP', '[   50.2] pc : foo', 'routine inside', '[   50.3] ---[ end trace 01 ]---',
      'U-Boot 2024.01 (Jan 01 2024)',
    ];
    // One read: the lines share its arrival time; mono_ms goes up in 1 µs steps.
    const got = records(Buffer.concat([codec.feedAt!(b(lines.join('\r\n') + '\r\n'), T0, 5000.0004), codec.feedAt!(x(0x62, 0xff, 0x0a, 0x70, 0x72, 0x6f, 0x6d, 0x70, 0x74), T0 + 9, 5001)]));
    const e = got.filter((g) => typeof g !== 'string') as ReturnType<typeof recordToEntry>[];
    assert.deepEqual(e.map((x) => [x.level, x.module, x.message, x.fields]), [
      ['ERROR', 'SERIAL', 'usb 1-1: error -71', { mono_ms: 5000, kernel_time: 12.345678 }],
      ['ERROR', 'WIFI', 'disconnected', { mono_ms: 5000.001, device_time: '1234' }],
      ['INFO', 'PUMP', 'started', { mono_ms: 5000.002, device_time: '2025-04-30 12:00:01.5' }],
      ['FATAL', 'SERIAL', '[   50.1] Internal error: Oops: 96000005 [#1] SMP\n[   50.2] pc : foo\nroutine inside\n[   50.3] ---[ end trace 01 ]---',
        { event: 'kernel_oops', lines: 4, ended_by: 'end_marker', mono_ms: 5000.003, kernel_time: 50.1 }],
      ['WARN', 'SERIAL', 'U-Boot 2024.01 (Jan 01 2024)', { event: 'boot', boot_stage: 'bootloader', boot_count: 1, mono_ms: 5000.007 }],
      ['INFO', 'SERIAL', 'b\ufffd', { mono_ms: 5001, invalid_encoding: true }],
    ]);
    // The oops is announced as urgent (the pipeline's priority lane); every entry is stamped with its first byte's arrival.
    assert.equal(got.indexOf('U'), got.indexOf(e[3]!) - 1);
    assert.equal(e[0]!.timestamp, '2026-01-01T00:00:00.123Z');
    assert.equal(e[5]!.timestamp, '2026-01-01T00:00:00.132Z');
    assert.equal(codec.formatCounters!().pending_bytes, 6);
    const idle = records(codec.flush!('line')) as ReturnType<typeof recordToEntry>[];
    assert.deepEqual(idle.map((x) => [x.message, x.fields]), [['prompt', { mono_ms: 5001.001, partial: 'idle' }]]);
    // An over-long line comes in max_line_bytes pieces; an oops without its end marker waits for the input's timer.
    const rest = records(codec.feedAt!(b('y'.repeat(100) + '\nKernel panic - not syncing\nhalted'), T0 + 20, 6000));
    assert.deepEqual(rest.map((x) => (typeof x === 'string' ? x : [x.message.length, x.fields?.partial])), [[64, 'max_bytes'], [36, undefined]]);
    assert.equal(codec.formatCounters!().open_group_lines, 1);
    const closed = records(codec.flush!('close'));
    assert.equal(closed[0], 'U');
    const panic = closed[1] as ReturnType<typeof recordToEntry>;
    assert.deepEqual([panic.level, panic.message, panic.fields], ['FATAL', 'Kernel panic - not syncing\nhalted', { event: 'kernel_panic', lines: 2, ended_by: 'close', mono_ms: 6000.002 }]);
    assert.deepEqual(codec.counters(), { lines: 14, records: 10, filtered: 0, cut: 1, rejected: 0 });
    assert.deepEqual(codec.formatCounters!(), { invalid_lines: 1, partial_lines: 2, oops_groups: 2, boots: 1, pending_bytes: 0, open_group_lines: 0 });
  });
}
