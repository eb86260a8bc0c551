/**
 * The serial input with a line stage (parser) or labels: the agent gives it no stream
 * (attach-stage.ts), and the same codec's records become drafts for the stage. A parser reads the
 * line as the console printed it (the 'L' note), an oops still takes the priority lane
 * (emitUrgent), and the entries are those the stream path makes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stagedStream } from '../../../agent/inputs/serial/index.ts';
import { attachInputStage } from '../../../agent/inputs/attach-stage.ts';
import { createLog } from '../../../lib/log.ts';
import { buildEntry, type EntryDraft } from '../../../entry/build.ts';
import { JsLineCodec, recordToEntry } from '../../../agent/buffer/line-codec.ts';
import type { InputContext } from '../../../agent/inputs/input.ts';

const T0 = 1_767_225_600_123;
const BYTES = Buffer.from([
  '<4>[   7.500000] pump: WARN pressure 9 bar', '[INFO] [NET] 2025-04-30T12:00:00.000Z up', 'Kernel panic - not syncing: x', '---[ end Kernel panic - not syncing: x ]---',
  'Linux version 6.1.0', 'bad \x1b[31mcolour\x1b[0m',
].join('\n') + '\n');

function context(): { ctx: InputContext; drafts: EntryDraft[]; urgent: EntryDraft[] } {
  const drafts: EntryDraft[] = [];
  const urgent: EntryDraft[] = [];
  const ctx: InputContext = {
    name: 'serial', log: createLog('ERROR', () => {}), stateDir: '/tmp',
    emit: (d) => (drafts.push(d), true), emitUrgent: (d) => (urgent.push(d), true), drained: () => Promise.resolve(), reject: () => {},
  };
  return { ctx, drafts, urgent };
}

const OPTS = { maxLineBytes: 8192, defaultLevel: 'INFO' as const, defaultModule: 'SERIAL', node: 'n', source: 'serial:/dev/ttyS0', serial: {} };

test('staged serial: the codec\'s records as drafts make the entries the stream path makes; the oops goes through emitUrgent', () => {
  const { ctx, drafts, urgent } = context();
  const s = stagedStream(OPTS, ctx);
  assert.equal(s.feedAt(BYTES, T0, 10), true);
  const build = { maxMessageBytes: 1024, defaultLevel: 'INFO' as const, defaultModule: 'SERIAL', node: 'n' };
  const staged = [...drafts, ...urgent].map((d) => JSON.stringify(buildEntry(d, build)));
  // The same bytes through the stream path's codec (what openStream would push into the ring).
  const js = new JsLineCodec({ ...OPTS, node: 'n', maxMessageBytes: 1024, minLevel: 'DEBUG', format: 'serial' });
  const frames = js.feedAt(BYTES, T0, 10);
  const direct: string[] = [];
  const notes: string[] = [];
  for (let off = 0; off < frames.length; ) {
    const end = off + 4 + frames.readUInt32LE(off);
    if (frames[off + 4] === 0x45) direct.push(JSON.stringify(recordToEntry(frames.subarray(off + 4, end))));
    else notes.push(frames.toString('utf8', off + 4, end));
    off = end;
  }
  assert.deepEqual(notes, ['U']);
  // The urgent one comes last in staged (it went its own way); otherwise in order.
  assert.deepEqual(staged, [...direct.slice(0, 2), ...direct.slice(3), direct[2]]);
  assert.equal(urgent.length, 1);
  assert.equal(urgent[0]!.multiline, true);
  assert.deepEqual(drafts.map((d) => d.line), ['<4>[   7.500000] pump: WARN pressure 9 bar', '[INFO] [NET] 2025-04-30T12:00:00.000Z up', undefined, 'bad colour']);
  assert.deepEqual(s.stats(), { lines: 6, records: 5, filtered: 0, cut: 0, rejected: 0 });
  assert.equal(s.formatCounters().boots, 1);
});

test('staged serial: a regex parser reads the line as printed (kernel prefix and all), not the message the codec took from it', () => {
  const { ctx, drafts } = context();
  const staged = attachInputStage({ parser: { format: 'regex', pattern: String.raw`^<\d>\[\s*(?<uptime>[\d.]+)\] (?<module>\w+): (?<level>[A-Z]+) (?<message>.*)$` } } as never, ctx);
  const s = stagedStream(OPTS, staged.ctx);
  s.feedAt(Buffer.from('<4>[   7.500000] pump: WARN pressure 9 bar\n'), T0, 10);
  assert.equal(drafts.length, 1);
  const e = buildEntry(drafts[0]!, { maxMessageBytes: 1024, defaultLevel: 'INFO', defaultModule: 'SERIAL', node: 'n' });
  assert.deepEqual([e.level, e.module, e.message, e.fields], ['WARN', 'PUMP', 'pressure 9 bar', { mono_ms: 10, kernel_time: 7.5, uptime: '7.500000' }]);
});
