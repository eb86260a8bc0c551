/**
 * Every function of the N-API addon unpacks its arguments through one helper
 * (native/addon/src/args.c): a missing or mistyped argument is a TypeError naming the call's
 * usage, never a crash or a read of garbage, and strings copied before the bad argument are freed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAddon } from '../../lib/native-runtime.ts';
import { createRingMemory } from '../../agent/buffer/ring-layout.ts';

const addon = loadAddon() as unknown as Record<string, (...a: unknown[]) => unknown>;

function refuses(fn: string, args: unknown[], usage: RegExp) {
  assert.throws(() => addon[fn]!(...args), (e: Error & { code?: string }) => {
    assert.ok(e instanceof TypeError, `${fn}: ${e}`);
    assert.equal(e.code, 'ERR_LOGLOOM_NATIVE');
    assert.match(e.message, usage);
    return true;
  }, `${fn}(${args.map((a) => typeof a).join(', ')})`);
}

test('addon calls with missing or mistyped arguments throw a TypeError with the usage', () => {
  const bytes = new Uint8Array(8);
  const codec = addon.codecNew!(1024, 1024, 0, 1, 'M', 'node', 'src', 0);
  refuses('ringPush', [], /^ringPush\(view, record, policy\)$/);
  refuses('ringPush', [bytes, bytes, 'x'], /^ringPush\(view, record, policy\)$/);
  refuses('ringPush', [bytes, bytes, 0], /^ringPush\(view, record, policy\)$/); // not a ring: header does not check
  const ringUsage = /^ringDrain\(view, maxRecords, maxBytes\[, count Uint32Array\(1\)\]\)$/;
  refuses('ringDrain', [{}, 1, 1], ringUsage);
  refuses('ringDrain', [new Uint8Array(createRingMemory(4096)), 1, 1, 'x'], ringUsage); // a count that is not a Uint32Array
  refuses('ringDrain', [new Uint8Array(createRingMemory(4096)), 1, 1, new Uint8Array(2)], ringUsage); // too short for a count
  refuses('codecFeedOffThread', [codec, 'text', 0, bytes, () => {}], /^codecFeedOffThread\(codec, chunk \| \[chunks\], receivedMs, out, done\)$/);
  refuses('codecFeedOffThread', [codec, [], 0, bytes, () => {}], /^codecFeedOffThread\(/); // no chunk at all
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 7, 0], /^codecNew\(maxLineBytes/); // 2 strings copied, then freed
  refuses('codecNew', [1024, 1024, 9, 1, 'M', 'node', 'src', 0], /^codecNew: bad numbers$/);
  refuses('codecFeed', [{}, bytes, 0], /^codecFeed\(codec, chunk, receivedMs\)$/);
  refuses('codecFeed', [codec, 'text', 0], /^codecFeed\(codec, chunk, receivedMs\)$/);
  refuses('codecEnd', [codec], /^codecEnd\(codec, receivedMs\)$/);
  refuses('codecCounters', [null], /^codecCounters\(codec\)$/);
  refuses('codecFormatCounters', [bytes], /^codecFormatCounters\(codec\)$/);
  // The 9th argument, the format's own options: an object, whose members are checked by type.
  const KMSG = 6;
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', KMSG, 'x'], /^codecNew: options is not an object$/);
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', KMSG, { kmsg: 5 }], /^codecNew: options.kmsg is not an object$/);
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', KMSG, { kmsg: { bootWallMs: '1' } }], /^codecNew: options.kmsg.bootWallMs is not a number$/);
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', KMSG, { kmsg: { lastSeq: null } }], /^codecNew: options.kmsg.lastSeq is not a number$/);
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', KMSG, { kmsg: { skipAll: 1 } }], /^codecNew: options.kmsg.skipAll is not a boolean$/);
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', KMSG, { kmsg: { whole: 'yes' } }], /^codecNew: options.kmsg.whole is not a boolean$/);
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', KMSG, { kmsg: { module: 7 } }], /^codecNew: options.kmsg.module is not a string$/);
  // Format serial: its options in codecNew's 9th argument, its calls refused on other codecs.
  const serialUsage = /^codecNew: options\.serial is \{ separator\?: non-empty Uint8Array/;
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', 7, { serial: { separator: 'auto' } }], serialUsage);
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', 7, { serial: { separator: new Uint8Array(0) } }], serialUsage);
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', 7, { serial: { parse: 1 } }], serialUsage);
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', 7, { serial: { oopsMaxLines: 0 } }], serialUsage);
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', 7, { serial: 'yes' }], serialUsage);
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', 7, 42], serialUsage);
  refuses('codecNew', [1024, 1024, 0, 1, 'M', 'node', 'src', 8], /^codecNew: bad numbers$/);
  const serial = addon.codecNew!(1024, 1024, 0, 1, 'M', 'node', 'src', 7, { serial: { separator: Buffer.from(';;'), latin1: true, oopsMaxLines: 5 } });
  refuses('codecFeedAt', [serial, Buffer.from('x'), 0], /^codecFeedAt\(codec, chunk, wallMs, monoMs\)$/);
  refuses('codecFeedAt', [codec, Buffer.from('x'), 0, 0], /^codecFeedAt: not a serial codec$/);
  refuses('codecFeedAt', [serial, Buffer.from('x'), NaN, 0], /^codecFeedAt: wallMs and monoMs must be finite times$/);
  refuses('codecFeedAt', [serial, Buffer.from('x'), 9e15, 0], /^codecFeedAt: wallMs and monoMs must be finite times$/);
  refuses('codecFeedAt', [serial, Buffer.from('x'), 0, Infinity], /^codecFeedAt: wallMs and monoMs must be finite times$/);
  refuses('codecFlush', [serial, 'line'], /^codecFlush\(codec, what\)$/);
  refuses('codecFlush', [serial, 3], /^codecFlush: what is 0 \(line\), 1 \(group\) or 2 \(close\)$/);
  refuses('codecFlush', [codec, 0], /^codecFlush: not a serial codec$/);
  refuses('codecFormatCounters', [{}], /^codecFormatCounters\(codec\)$/);
  refuses('ingestScan', [bytes, bytes, bytes, bytes, 'x', bytes, new Uint32Array(1), bytes, new Uint32Array(3)], /^ingestScan\(raw,/);
  refuses('dgramOpen', ['/tmp/x', 0o600, 1024], /^dgramOpen\(path, mode, maxBytes, onBatch\)$/);
  refuses('dgramPause', [{}, true], /^dgramPause\(handle, paused\)$/);
  refuses('dgramClose', [42], /^dgramClose\(handle\)$/);
  if (addon.pluginLoad) {
    refuses('pluginLoad', ['/x.so', '{}', 'yes'], /^pluginLoad\(path, configJson, isSink\)$/);
    refuses('pluginProcess', [{}, bytes], /^pluginProcess\(handle, batch\)$/);
    refuses('pluginUnload', [undefined], /^pluginUnload\(handle\)$/);
  }
  // The good path still works through the same helper.
  const out = addon.codecFeed!(codec, Buffer.from('[WARN] hello\n'), 0) as Buffer;
  assert.ok(out.length > 0);
  assert.deepEqual((addon.codecCounters!(codec) as number[]).slice(0, 2), [1, 1]);
  assert.deepEqual(addon.codecFormatCounters!(codec), {}, 'a format without counters of its own');
  // Options absent, null or undefined members: the defaults; given, they are used.
  for (const options of [undefined, null, {}, { kmsg: undefined }, { kmsg: { bootWallMs: undefined } }]) {
    const k = addon.codecNew!(1024, 1024, 0, 1, 'M', 'node', 'src', KMSG, options);
    assert.deepEqual(addon.codecFormatCounters!(k), { skipped: 0, missed: 0, last_seq: -1, held_seq: -1 });
  }
  const k = addon.codecNew!(1024, 1024, 0, 1, 'M', 'node', 'src', KMSG, { kmsg: { bootWallMs: 1e12, lastSeq: 7, skipAll: false, whole: true, module: 'kern' } });
  const rec = (addon.codecFeed!(k, Buffer.from('6,8,1000,-;hi\n'), 0) as Buffer).toString('latin1');
  assert.match(rec, /S8.*"timestamp":"2001-09-09T01:46:40.001Z","level":"INFO","module":"KERN"/s);
  assert.deepEqual(addon.codecFormatCounters!(k), { skipped: 0, missed: 0, last_seq: 8, held_seq: -1 });
  assert.deepEqual(addon.codecFormatCounters!(codec), {});
  // The serial codec took its options: the exact separator, latin1.
  const lines = addon.codecFeedAt!(serial, Buffer.from([0x61, 0xe9, 0x3b, 0x3b, 0x62]), 0, 1) as Buffer;
  assert.match(lines.toString('utf8'), /"message":"aé"/);
  assert.deepEqual(addon.codecFormatCounters!(serial), { invalid_lines: 0, partial_lines: 0, oops_groups: 0, boots: 0, pending_bytes: 1, open_group_lines: 0 });
  assert.match((addon.codecFlush!(serial, 0) as Buffer).toString('utf8'), /"message":"b".*"partial":"idle"/);
});
