import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConsoleLine } from '../../agent/buffer/console/parse.ts';
import { OopsGrouper, type ConsoleLine, type OopsGroup } from '../../agent/buffer/console/oops.ts';

test('parse: level, module and times from the forms consoles print', () => {
  const cases: [string, object][] = [
    ['<3>[   12.345678] usb 1-1: error -71', { level: 'ERROR', kernelTime: 12.345678, message: 'usb 1-1: error -71', format: 'kernel' }],
    ['<6>eth0: link up', { level: 'INFO', message: 'eth0: link up', format: 'kernel' }],
    ['<12>facility and severity', { level: 'WARN', message: 'facility and severity', format: 'kernel' }],
    ['[    0.000000] Booting Linux', { kernelTime: 0, message: 'Booting Linux', format: 'kernel' }],
    ['[ERROR] [NET] 2025-04-30T12:00:00.000Z link lost', { level: 'ERROR', module: 'NET', deviceTime: '2025-04-30T12:00:00.000Z', message: 'link lost', format: 'logloom' }],
    ['\x1b[0;31mE (1234) wifi: disconnected\x1b[0m', { level: 'ERROR', module: 'wifi', deviceTime: '1234', message: 'disconnected', format: 'esp-idf' }],
    ['[00:00:01.234,567] <wrn> bt_hci: slow', { level: 'WARN', module: 'bt_hci', deviceTime: '00:00:01.234,567', message: 'slow', format: 'zephyr' }],
    ['WARNING: low battery', { level: 'WARN', message: 'low battery', format: 'level' }],
    ['error: cannot mount /data', { level: 'ERROR', message: 'cannot mount /data', format: 'level' }],
    ['[debug] polling', { level: 'DEBUG', message: 'polling', format: 'level' }],
    ['2025-04-30 12:00:01.5 INFO [PUMP] started', { level: 'INFO', module: 'PUMP', deviceTime: '2025-04-30 12:00:01.5', message: 'started', format: 'level' }],
    ['12:00:01 CRIT overheating', { level: 'ERROR', deviceTime: '12:00:01', message: 'overheating', format: 'level' }],
    ['Error opening file', { message: 'Error opening file' }],
    ['plain text', { message: 'plain text' }],
  ];
  for (const [line, want] of cases) assert.deepEqual(parseConsoleLine(line), want, line);
});

function lines(texts: string[]): ConsoleLine[] {
  return texts.map((t, i) => ({ text: t, body: t.replace(/^\[[^\]]*\] /, ''), wallMs: i, monoMs: i }));
}

test('oops grouper: groups from start marker to end marker, passes other lines, bounds a group at max_lines', () => {
  const out: (string | OopsGroup)[] = [];
  const g = new OopsGrouper({ group: true, detectBoot: true, maxLines: 3 }, {
    line: (l) => out.push(l.text),
    group: (grp) => out.push(grp),
    boot: (b) => out.push(`boot:${b.stage}`),
  });
  for (const l of lines(['before', 'Oops: 0002 [#1] SMP', 'RIP: x', '---[ end trace 01 ]---', 'between', 'Call Trace:', 'a', 'b', 'c', 'Linux version 6.1.0'])) g.feed(l);
  g.close('close');
  assert.equal(out[0], 'before');
  const first = out[1] as OopsGroup;
  assert.deepEqual([first.kind, first.endedBy, first.lines.map((l) => l.text)], ['oops', 'end_marker', ['Oops: 0002 [#1] SMP', 'RIP: x', '---[ end trace 01 ]---']]);
  assert.equal(out[2], 'between');
  const second = out[3] as OopsGroup;
  assert.deepEqual([second.kind, second.endedBy, second.lines.length], ['call_trace', 'max_lines', 3]);
  assert.equal(out[4], 'c');
  assert.equal(out[5], 'boot:kernel');
  assert.equal(out.length, 6);
});

test('oops grouper: with group_oops off every line passes through', () => {
  const out: string[] = [];
  const g = new OopsGrouper({ group: false, detectBoot: false, maxLines: 10 }, { line: (l) => out.push(l.text), group: () => assert.fail(), boot: () => assert.fail() });
  for (const l of lines(['Kernel panic - not syncing', 'Linux version 6.1'])) g.feed(l);
  assert.deepEqual(out, ['Kernel panic - not syncing', 'Linux version 6.1']);
});
