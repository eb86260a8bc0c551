import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { BatchCodec, decodeBodyBytesSync, ErrorCode, ProtocolError, type Batch } from '../../protocol/index.ts';
import { INLINE_INFLATE_MAX_BYTES, inlineBatchBytes } from '../../aggregator/ingest/inflate.ts';

/** Seeded PRNG (mulberry32): the same cases on every run. */
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const batch = (body: Buffer, rawBytes: number, codec: number = BatchCodec.DEFLATE): Batch => ({ type: 'BATCH', seq: 7, codec, count: 1, rawBytes, body } as Batch);

/** What the aggregator makes of a body: its bytes, or the BAD_BATCH text. */
function outcome(f: () => Buffer | undefined): string {
  try {
    return `bytes ${f()!.toString('latin1')}`;
  } catch (e) {
    assert.ok(e instanceof ProtocolError && e.code === ErrorCode.BAD_BATCH, String(e));
    return 'refused';
  }
}

describe('aggregator: a batch body is inflated in place (the addon\'s zlib into a reused buffer)', () => {
  it('gives the bytes node:zlib gives, and refuses bodies that inflate past, short of raw_bytes, truncated or corrupt', () => {
    const raw = Buffer.from('{"message":"a"}\n'.repeat(500));
    const body = deflateSync(raw, { level: 1 });
    assert.deepEqual(inlineBatchBytes(batch(body, raw.length), 1 << 26), raw);
    assert.throws(() => inlineBatchBytes(batch(body, raw.length - 1), 1 << 26), /BATCH 7: deflate body does not inflate within raw_bytes: it inflates to more bytes/);
    assert.throws(() => inlineBatchBytes(batch(body, raw.length + 1), 1 << 26), /BATCH 7: inflated to 8000 bytes, header says 8001/);
    assert.throws(() => inlineBatchBytes(batch(body.subarray(0, body.length - 6), raw.length), 1 << 26), /deflate body does not inflate within raw_bytes: the deflate stream is truncated/);
    assert.throws(() => inlineBatchBytes(batch(Buffer.from('not a zlib stream'), raw.length), 1 << 26), /deflate body does not inflate within raw_bytes: corrupt deflate data/);
    assert.throws(() => inlineBatchBytes(batch(body, raw.length), 100), /BATCH 7: raw_bytes 8000 exceeds the limit 100/);
    // Over the inline bound the caller goes to the thread pool.
    assert.equal(inlineBatchBytes(batch(body, INLINE_INFLATE_MAX_BYTES + 1), 1 << 26), undefined);
  });

  it('fuzz (seeded, 2,000 bodies, some bit-flipped or cut): the same bytes or the same refusal as node:zlib', () => {
    const r = rng(0x1f1a7e);
    let refused = 0;
    for (let n = 0; n < 2000; n++) {
      const raw = Buffer.from(Array.from({ length: Math.floor(r() * 3000) }, () => String.fromCharCode(0x20 + Math.floor(r() * (r() < 0.5 ? 4 : 95)))).join(''));
      let body = deflateSync(raw, { level: 1 + Math.floor(r() * 9) });
      const kind = r();
      if (kind < 0.2) {
        body = Buffer.from(body);
        body[Math.floor(r() * body.length)]! ^= 1 << Math.floor(r() * 8);
      } else if (kind < 0.3) body = body.subarray(0, Math.floor(r() * body.length));
      else if (kind < 0.35) body = Buffer.concat([body, Buffer.from('trailing')]);
      const rawBytes = kind > 0.9 ? raw.length + Math.floor(r() * 5) - 2 : raw.length;
      const b = batch(body, rawBytes);
      const got = outcome(() => inlineBatchBytes(b, 1 << 26));
      assert.equal(got, outcome(() => decodeBodyBytesSync(b, 1 << 26)), `body ${n}`);
      if (got === 'refused') refused++;
    }
    assert.ok(refused > 100 && refused < 1900, `${refused} refused: the fuzz must exercise both outcomes`);
  });

  it('the buffer is reused: a second batch\'s bytes replace the first\'s (callers copy before they await)', () => {
    const a = Buffer.from('{"message":"first"}\n'), b = Buffer.from('{"message":"again"}\n');
    const x = inlineBatchBytes(batch(deflateSync(a), a.length), 1 << 26)!;
    const copy = Buffer.from(x);
    inlineBatchBytes(batch(deflateSync(b), b.length), 1 << 26);
    assert.deepEqual(copy, a);
    assert.deepEqual(x, b);
  });
});
