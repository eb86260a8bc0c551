import { test } from 'node:test';
import { randomBytes } from 'node:crypto';
import { loadAddon, loadedAddon } from '../../lib/native-runtime.ts';
import assert from 'node:assert/strict';
import {
  BatchCodec, decodeBodyLines, decodeMessage, encodeAck, encodeBatch, encodeBody, BodyEncoder, encodeError, encodeHello, encodePing, encodePong,
  encodeWelcome, ErrorCode, FrameDecoder, FrameTooLargeError, FrameType, joinLines, parseBodyLines, ProtocolError,
} from '../../protocol/index.ts';

test('every message round-trips through the incremental decoder, fed one byte at a time', async () => {
  const lines = [JSON.stringify({ message: 'a\nb', level: 'INFO' }), JSON.stringify({ message: '日本', level: 'WARN' })];
  const body = await encodeBody(joinLines(lines), lines.length, 'deflate');
  const stream = Buffer.concat([
    encodeHello('gw-0001', 's3cret'), encodeWelcome(41, 1 << 20), encodeBatch(42, body.codec, body.count, body.rawBytes, body.body),
    encodeAck(42), encodeError(ErrorCode.AUTH_FAILED, 'wrong token for node gw-0001'), encodePing(7), encodePong(7),
  ]);
  const dec = new FrameDecoder(1 << 20);
  const msgs = [];
  for (let i = 0; i < stream.length; i++) msgs.push(...dec.pushMessages(stream.subarray(i, i + 1)));
  assert.equal(dec.pendingBytes, 0);
  assert.deepEqual(msgs.map((m) => m.type), ['HELLO', 'WELCOME', 'BATCH', 'ACK', 'ERROR', 'PING', 'PONG']);
  assert.deepEqual(msgs[0], { type: 'HELLO', version: 1, node: 'gw-0001', token: 's3cret' });
  assert.deepEqual(msgs[1], { type: 'WELCOME', version: 1, lastSeq: 41, maxFrameBytes: 1 << 20 });
  const b = msgs[2]!;
  assert.ok(b.type === 'BATCH');
  assert.equal(b.seq, 42);
  assert.equal(b.codec, BatchCodec.DEFLATE);
  assert.deepEqual(await decodeBodyLines(b, 1 << 20), lines);
  assert.deepEqual(parseBodyLines(b.seq, lines)[0], { message: 'a\nb', level: 'INFO' });
  assert.deepEqual(msgs[4], { type: 'ERROR', code: ErrorCode.AUTH_FAILED, text: 'wrong token for node gw-0001' });
});

test('a header announcing more than max_frame_bytes is refused before its bytes arrive', () => {
  const dec = new FrameDecoder(1024);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(0xfffffff0, 0);
  head.writeUInt8(FrameType.BATCH, 4);
  assert.throws(() => dec.push(head), (e: unknown) => e instanceof FrameTooLargeError && e.code === ErrorCode.FRAME_TOO_LARGE && /exceeds max_frame_bytes 1024/.test(e.message));
  assert.throws(() => dec.push(Buffer.from([1])), FrameTooLargeError, 'a failed decoder stays failed');
});

test('malformed frames: zero length, unknown type, short payloads, bad node id, unknown codec', () => {
  assert.throws(() => new FrameDecoder(64).push(Buffer.from([0, 0, 0, 0, 1])), /frame length 0/);
  assert.throws(() => decodeMessage(0x99, Buffer.alloc(0)), (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.BAD_FRAME && /unknown frame type 0x99/.test(e.message));
  assert.throws(() => decodeMessage(FrameType.ACK, Buffer.alloc(3)), /ACK: payload must be 8 bytes, got 3/);
  assert.throws(() => decodeMessage(FrameType.HELLO, encodeHello('../etc', 't').subarray(5)), /HELLO node id/);
  const batch = encodeBatch(1, 0, 0, 0, Buffer.alloc(0));
  batch.writeUInt8(9, 5 + 8);
  assert.throws(() => decodeMessage(FrameType.BATCH, batch.subarray(5)), (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.BAD_BATCH);
  // A frame cut short is not an error yet: the decoder waits and reports the pending bytes.
  const dec = new FrameDecoder(64);
  assert.deepEqual(dec.push(encodeAck(5).subarray(0, 9)), []);
  assert.equal(dec.pendingBytes, 9);
});

test('batch bodies: count mismatch, raw_bytes over the limit and an inflation bomb are BAD_BATCH', async () => {
  const raw = joinLines(['{"a":1}', '{"a":2}']);
  const none = await encodeBody(raw, 3, 'none');
  const m1 = decodeMessage(FrameType.BATCH, encodeBatch(1, none.codec, none.count, none.rawBytes, none.body).subarray(5));
  assert.ok(m1.type === 'BATCH');
  await assert.rejects(decodeBodyLines(m1, 1 << 20), /count says 3, body holds 2 lines/);
  await assert.rejects(decodeBodyLines(m1, 4), /raw_bytes 16 exceeds the limit 4/);
  const big = await encodeBody(Buffer.alloc(1 << 20, 0x61), 1, 'deflate');
  // The header lies about the raw size: inflation stops at raw_bytes instead of filling memory.
  const m2 = decodeMessage(FrameType.BATCH, encodeBatch(2, big.codec, 1, 100, big.body).subarray(5));
  assert.ok(m2.type === 'BATCH');
  await assert.rejects(decodeBodyLines(m2, 1 << 20), (e: unknown) => e instanceof ProtocolError && e.code === ErrorCode.BAD_BATCH);
  assert.throws(() => parseBodyLines(3, ['[1]']), /entry 0 is not a JSON object/);
});

/** BodyEncoder must give encodeBody's bytes, in call order, each body a whole zlib stream. */
async function checkBodyEncoder(): Promise<void> {
  const enc = new BodyEncoder();
  const counts = [0, 1, 5, 1000, 3];
  const bodies = counts.map((n, b) => joinLines(Array.from({ length: n }, (_, i) => JSON.stringify({ level: 'INFO', message: `batch ${b} entry ${i} ${'x'.repeat(i % 50)}` }))));
  // Incompressible bytes too: the output is larger than the input.
  bodies.push(randomBytes(300_000));
  counts.push(1);
  // Started together: encoded one after another, each answered with its own body.
  const got = await Promise.all(bodies.map((raw, i) => enc.encode(raw, counts[i]!, 'deflate')));
  for (let i = 0; i < bodies.length; i++) {
    const want = await encodeBody(bodies[i]!, counts[i]!, 'deflate');
    assert.deepEqual({ ...got[i]!, body: got[i]!.body.toString('base64') }, { ...want, body: want.body.toString('base64') }, `body ${i}`);
    if (i < 5) {
      const lines = await decodeBodyLines({ seq: i + 1, codec: BatchCodec.DEFLATE, count: got[i]!.count, rawBytes: got[i]!.rawBytes, body: got[i]!.body } as never, 1 << 24);
      assert.equal(lines.length, counts[i]);
    }
  }
  // 'none' hands the bytes back as they are; close frees the stream and a later body opens another.
  assert.equal((await enc.encode(bodies[1]!, 1, 'none')).body, bodies[1]);
  enc.close();
  assert.deepEqual((await enc.encode(bodies[4]!, 3, 'deflate')).body, (await encodeBody(bodies[4]!, 3, 'deflate')).body);
  enc.close();
}

test('BodyEncoder (node:zlib, no addon loaded): one deflate stream for many bodies gives the bytes encodeBody gives, in call order', async () => {
  assert.equal(loadedAddon(), undefined, 'this test runs before anything loads the addon');
  await checkBodyEncoder();
});

test('BodyEncoder (the addon\'s deflater on the thread pool, once the addon is loaded): the same bytes', async () => {
  const addon = loadAddon();
  await checkBodyEncoder();
  // One body at a time per handle: a second while one is in flight is refused, not corrupted.
  const h = addon.deflaterNew();
  const first = addon.deflaterRun(h, Buffer.alloc(100_000, 0x61));
  assert.throws(() => addon.deflaterRun(h, Buffer.alloc(10)), /already being deflated/);
  assert.deepEqual(await first, (await encodeBody(Buffer.alloc(100_000, 0x61), 1, 'deflate')).body);
  assert.throws(() => addon.deflaterRun(h, 'not bytes' as never), /deflaterRun/);
});
