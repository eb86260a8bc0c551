/**
 * LineSplitter: the one JS line splitter (stream inputs under a line stage, the JS codec, kmsg's
 * twin). A reader that reads into the same Buffer again must not see its partial line changed,
 * and kmsg records keep a trailing \r where the other formats drop it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSplitter } from '../../lib/line-splitter.ts';

function split(chunks: string[], opts?: { keepCr?: boolean }, max = 1024): [string, boolean][] {
  const out: [string, boolean][] = [];
  const s = new LineSplitter(max, (line, cut) => out.push([line.toString('latin1'), cut]), opts);
  // One Buffer, read into again for every chunk (as the kmsg input reads /dev/kmsg or a FIFO).
  const buf = Buffer.alloc(64);
  for (const c of chunks) {
    const n = buf.write(c, 'latin1');
    s.push(buf.subarray(0, n));
    buf.fill(0x58);
  }
  s.end();
  return out;
}

test('line splitter: a partial line survives its chunk being overwritten; \\r dropped unless keepCr', () => {
  assert.deepEqual(split(['abc', 'def\r\nghi', 'jk\n']), [['abcdef', false], ['ghijk', false]]);
  assert.deepEqual(split(['abc', 'def\r\n'], { keepCr: true }), [['abcdef\r', false]]);
  assert.deepEqual(split(['abcdef', 'ghij\nxy'], undefined, 4), [['abcd', true], ['xy', false]]);
});
