import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineFramer, type FramerOptions, type FramedLine } from '../../agent/buffer/console/framing.ts';

type Got = { text: string; end: FramedLine['end']; wall: number };

function framer(opts: Partial<FramerOptions> = {}) {
  const got: Got[] = [];
  const f = new LineFramer({ separator: 'auto', maxLineBytes: 1024, utf8: true, ...opts }, (l) => got.push({ text: l.bytes.toString('utf8'), end: l.end, wall: l.wallMs }));
  return { f, got };
}

const STREAM = 'one\ntwo\r\nthree\rfour\r\n\r\nfive\n\nsix\r\r\nseven';

test('framer: every split of a stream into reads gives the same lines (\\n, \\r\\n, lone \\r; empty lines skipped)', () => {
  const bytes = Buffer.from(STREAM);
  const expected = ['one', 'two', 'three', 'four', 'five', 'six', 'seven'];
  for (let cut1 = 0; cut1 <= bytes.length; cut1++) {
    for (const step of [1, 2, 3, 7]) {
      const { f, got } = framer();
      f.push(bytes.subarray(0, cut1), 0, 0);
      for (let i = cut1; i < bytes.length; i += step) f.push(bytes.subarray(i, i + step), 0, 0);
      f.flush('close');
      assert.deepEqual(got.map((g) => g.text), expected, `cut at ${cut1}, step ${step}`);
      assert.deepEqual(got.map((g) => g.end), ['separator', 'separator', 'separator', 'separator', 'separator', 'separator', 'close']);
    }
  }
});

test('framer: a multi-byte separator split across reads', () => {
  const bytes = Buffer.from('a;;b;;;;c;');
  for (let step = 1; step <= bytes.length; step++) {
    const { f, got } = framer({ separator: Buffer.from(';;') });
    for (let i = 0; i < bytes.length; i += step) f.push(bytes.subarray(i, i + step), 0, 0);
    f.flush('idle');
    assert.deepEqual(got.map((g) => [g.text, g.end]), [['a', 'separator'], ['b', 'separator'], ['c;', 'idle']], `step ${step}`);
  }
});

test('framer: a line is stamped with the arrival of its first byte', () => {
  const { f, got } = framer();
  f.push(Buffer.from('ab'), 1000, 1);
  f.push(Buffer.from('c\nd'), 2000, 2);
  f.push(Buffer.from('e\nf\n'), 3000, 3);
  assert.deepEqual(got.map((g) => [g.text, g.wall]), [['abc', 1000], ['de', 2000], ['f', 3000]]);
});

test('framer: over-long lines are emitted in max_line_bytes pieces, cut at UTF-8 character starts, nothing lost', () => {
  const text = 'aé€😀'.repeat(50); // 1 + 2 + 3 + 4 bytes per group
  const { f, got } = framer({ maxLineBytes: 16 });
  const bytes = Buffer.from(text + '\n');
  for (let i = 0; i < bytes.length; i += 5) f.push(bytes.subarray(i, i + 5), 0, 0);
  assert.equal(got.map((g) => g.text).join(''), text);
  for (const g of got) {
    assert.ok(Buffer.byteLength(g.text) <= 16);
    assert.ok(!g.text.includes('\ufffd'), 'a character was split');
  }
  assert.ok(got.slice(0, -1).every((g) => g.end === 'max_bytes'));
  assert.equal(got.at(-1)!.end, 'separator');
});

test('framer: latin1 (utf8: false) cuts exactly at the bound', () => {
  const { f, got } = framer({ maxLineBytes: 4, utf8: false });
  f.push(Buffer.from([0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0xe9, 0x0a]), 0, 0);
  assert.deepEqual(got.map((g) => g.end), ['max_bytes', 'separator']);
});
