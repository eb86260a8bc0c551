import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Spool, type SpoolOptions } from '../../agent/forward/spool/spool.ts';
import { encodeRecord, scanSegment } from '../../agent/forward/spool/record.ts';
import { encodeBodySync, joinLines } from '../../protocol/index.ts';
import { clearRecoveredPositions, recoveredPosition } from '../../entry/checkpoint.ts';
import { runCli, tempDir } from '../helpers/agent.ts';

const quiet = { info() {}, warn() {}, error() {} };

function options(dir: string, o: Partial<SpoolOptions> = {}): SpoolOptions {
  return {
    dir, mode: 'always', fsync: 'batch', fsync_interval: 1000, max_bytes: 64 * 1024 * 1024, segment_bytes: 8 * 1024 * 1024,
    memory_max_bytes: 16 * 1024 * 1024, when_full: 'drop_oldest', log: quiet, ...o,
  };
}

/** A batch of n distinct entries (incompressible-ish text so sizes are predictable with codec none). */
function batch(n: number, tag: string) {
  return encodeBodySync(joinLines(Array.from({ length: n }, (_, i) => JSON.stringify({ message: `${tag}-${i}-${'x'.repeat(100)}` }))), n, 'none');
}

const segFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.seg')).sort();

async function pushN(sp: Spool, n: number, entries = 10, tag = 'b') {
  const seqs: number[] = [];
  for (let i = 0; i < n; i++) {
    const seq = await sp.allocSeq();
    seqs.push(seq);
    await sp.push(batch(entries, `${tag}${i}`), seq, [{ input: 'file', stream: '1:2', offset: (i + 1) * 1000 }]);
  }
  return seqs;
}

async function drain(sp: Spool): Promise<number[]> {
  const seen: number[] = [];
  let after = 0;
  for (let b = sp.nextAfter(after); b; b = sp.nextAfter(after)) {
    const data = await sp.load(b);
    assert.ok(data, `batch ${b.seq} readable`);
    seen.push(b.seq);
    after = b.seq;
  }
  return seen;
}

test('mode always: batches survive a restart, replay in seq order, and their input positions are recovered', async () => {
  const dir = tempDir();
  clearRecoveredPositions();
  const sp = new Spool(options(dir));
  await sp.open();
  const seqs = await pushN(sp, 5);
  assert.equal(segFiles(dir).length, 1, 'written ahead');
  sp.ack(seqs[1]!);
  await sp.close();
  const again = new Spool(options(dir));
  await again.open();
  assert.deepEqual(await drain(again), seqs.slice(2), 'only unacknowledged batches, in order');
  assert.equal(recoveredPosition('file', '1:2'), 5000, 'the highest spooled position is known before inputs start');
  const next = await again.allocSeq();
  assert.ok(next > seqs[4]!, `a restart never reuses a sequence number (${next} > ${seqs[4]})`);
  again.ack(seqs[4]!);
  await again.close();
  assert.deepEqual(segFiles(dir), [], 'fully acknowledged segments are deleted');
  const ptr = JSON.parse(readFileSync(join(dir, 'ack.json'), 'utf8'));
  assert.equal(ptr.acked_seq, seqs[4]);
  assert.ok(!existsSync(join(dir, 'ack.json.tmp')), 'the pointer is replaced by rename, no temp file left');
});

test('mode memory: nothing touches the disk while online; going offline spills, the ACK frees it', async () => {
  const dir = tempDir();
  const sp = new Spool(options(dir, { mode: 'memory' }));
  await sp.open();
  sp.setOnline(true);
  const durable: number[] = [];
  const seqs: number[] = [];
  for (let i = 0; i < 3; i++) {
    const seq = await sp.allocSeq();
    seqs.push(seq);
    await sp.push(batch(5, `m${i}`), seq, [], () => durable.push(seq));
  }
  assert.deepEqual(segFiles(dir), [], 'memory-first: no segment while the uplink is up');
  assert.deepEqual(durable, [], 'not durable until acknowledged');
  sp.ack(seqs[0]!);
  assert.deepEqual(durable, [seqs[0]]);
  sp.setOnline(false);
  // Spilling is asynchronous; a further push is serialised behind it.
  const s4 = await sp.allocSeq();
  await sp.push(batch(5, 'm3'), s4, []);
  assert.equal(segFiles(dir).length, 1, 'offline: memory batches and new ones are on disk');
  assert.deepEqual(durable, [seqs[0], seqs[1], seqs[2]], 'spilled batches count as durable');
  assert.equal(sp.status().spilled_batches, 2);
  assert.deepEqual(await drain(sp), [seqs[1], seqs[2], s4], 'replayed in order from disk');
  await sp.close();
});

test('mode memory: once the batches written while offline are acknowledged, the disk is empty again and later ACKs write nothing', async () => {
  const dir = tempDir();
  const sp = new Spool(options(dir, { mode: 'memory' }));
  await sp.open();
  // Not online yet (as at start, before the aggregator's WELCOME): the first batch goes to disk.
  const [first] = await pushN(sp, 1, 5, 'early');
  assert.equal(segFiles(dir).length, 1, 'offline: on disk');
  sp.setOnline(true);
  sp.ack(first!);
  await sp.settled();
  assert.deepEqual(segFiles(dir), [], 'its segment is deleted once acknowledged');
  const pointer = readFileSync(join(dir, 'ack.json'), 'utf8');
  assert.equal(JSON.parse(pointer).acked_seq, first, 'the pointer written before the segment went');
  // Online from now on: memory batches, and their ACKs leave the disk alone (no pointer per ACK).
  for (const seq of await pushN(sp, 5, 5, 'online')) {
    sp.ack(seq);
    await sp.settled();
    assert.deepEqual(segFiles(dir), [], `batch ${seq}: nothing on disk`);
    assert.equal(readFileSync(join(dir, 'ack.json'), 'utf8'), pointer, `batch ${seq}: the pointer is not rewritten per ACK`);
  }
  await sp.close();
  assert.ok(JSON.parse(readFileSync(join(dir, 'ack.json'), 'utf8')).acked_seq > first!, 'an orderly stop writes the pointer');
});

test('(e) a corrupt byte costs one record and a torn tail is skipped; both are counted (the record\'s entries as lost_entries) and neither blocks start-up', async () => {
  const dir = tempDir();
  const sp = new Spool(options(dir));
  await sp.open();
  const seqs = await pushN(sp, 5, 10);
  await sp.close();
  const [seg] = segFiles(dir);
  const path = join(dir, seg!);
  const buf = readFileSync(path);
  const recs = scanSegment(buf).records;
  assert.equal(recs.length, 5);
  // Flip one byte inside the third record's payload, then append half of a record (a torn write).
  buf[recs[2]!.offset + 40] ^= 0xff;
  writeFileSync(path, buf);
  const torn = encodeRecord(999_999_999, Buffer.alloc(500, 7));
  appendFileSync(path, torn.subarray(0, 200));

  const verify = await runCli(['spool', 'verify', dir]);
  assert.equal(verify.code, 1, verify.stdout + verify.stderr);
  assert.match(verify.stdout, new RegExp(`${seg}: corrupt record at offset ${recs[2]!.offset}`));
  assert.match(verify.stdout, new RegExp(`${seg}: torn write at offset ${buf.length} \\(200 bytes\\)`));
  const inspect = await runCli(['spool', 'inspect', dir]);
  assert.equal(inspect.code, 0);
  assert.match(inspect.stdout, /4 batch\(es\), 40 entries.*corrupt records: 1 \(10 entries lost\); torn tails: 1/);

  const again = new Spool(options(dir));
  await again.open();
  assert.deepEqual(await drain(again), [seqs[0], seqs[1], seqs[3], seqs[4]]);
  const st = again.status();
  assert.equal(st.corrupt_records, 1);
  assert.equal(st.lost_entries, 10, 'the entries of the damaged record are counted as lost, not only the record');
  assert.equal(st.torn_tails, 1);
  // New batches go to a new segment, never after the damaged bytes.
  const s = await again.allocSeq();
  await again.push(batch(1, 'new'), s, []);
  assert.equal(segFiles(dir).length, 2);
  await again.close();
});

test('(d) drop_oldest at max_bytes drops whole oldest segments and counts exactly the entries it dropped', async () => {
  const dir = tempDir();
  const sp = new Spool(options(dir, { max_bytes: 64 * 1024, segment_bytes: 16 * 1024 }));
  await sp.open();
  // ~1.2 KiB per batch of 10 entries: 200 batches are far beyond 64 KiB.
  const seqs = await pushN(sp, 200, 10);
  const kept = await drain(sp);
  const st = sp.status();
  assert.ok(st.disk_bytes <= 64 * 1024, `bound kept: ${st.disk_bytes}`);
  assert.ok(kept.length > 0 && kept.length < 200);
  assert.equal(st.dropped_batches, 200 - kept.length);
  assert.equal(st.dropped_entries, (200 - kept.length) * 10, 'every missing entry is counted, no more');
  assert.deepEqual(kept, seqs.slice(200 - kept.length), 'the newest are kept, in order');
  await sp.close();
});

test('drop_newest refuses new batches at the bound; block waits until an ACK frees room', async () => {
  const dir = tempDir();
  const sp = new Spool(options(dir, { max_bytes: 64 * 1024, segment_bytes: 16 * 1024, when_full: 'drop_newest' }));
  await sp.open();
  const seqs = await pushN(sp, 100, 10);
  const kept = await drain(sp);
  assert.deepEqual(kept, seqs.slice(0, kept.length), 'the oldest are kept');
  assert.equal(sp.status().dropped_entries, (100 - kept.length) * 10);
  await sp.close();

  const dir2 = tempDir();
  const bl = new Spool(options(dir2, { max_bytes: 64 * 1024, segment_bytes: 16 * 1024, when_full: 'block' }));
  await bl.open();
  let blocked = false;
  bl.once('blocked', () => (blocked = true));
  const pushed: number[] = [];
  const filling = (async () => {
    for (let i = 0; i < 80; i++) {
      const seq = await bl.allocSeq();
      await bl.push(batch(10, `k${i}`), seq, []);
      pushed.push(seq);
    }
  })();
  await new Promise<void>((resolve) => bl.once('blocked', () => resolve()));
  assert.ok(blocked && pushed.length < 80, `blocked after ${pushed.length} batches`);
  // Acknowledge everything pushed so far: the writer resumes and finishes without dropping.
  while (pushed.length < 80) {
    bl.ack(pushed[pushed.length - 1]!);
    await new Promise((r) => setImmediate(r));
  }
  await filling;
  assert.equal(bl.status().dropped_entries, 0);
  await bl.close();
});

test('ENOSPC on a real full file system behaves as full (drop_oldest) and is counted', { skip: process.getuid?.() !== 0 ? 'needs root to mount a tmpfs' : false }, async () => {
  const dir = tempDir();
  const mnt = join(dir, 'small');
  mkdirSync(mnt);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', mnt]);
  try {
    // The configured bound is far larger than the file system: only ENOSPC can stop the writes.
    const sp = new Spool(options(mnt, { max_bytes: 1024 ** 3, segment_bytes: 16 * 1024 }));
    await sp.open();
    const seqs = await pushN(sp, 300, 10);
    const kept = await drain(sp);
    const st = sp.status();
    assert.ok(st.disk_full > 0, 'ENOSPC was hit');
    assert.ok(kept.length > 0 && kept.length < 300);
    assert.equal(st.dropped_entries, (300 - kept.length) * 10);
    assert.deepEqual(kept, seqs.slice(300 - kept.length));
    await sp.close();
    const verify = await runCli(['spool', 'verify', mnt]);
    assert.equal(verify.code, 0, `no torn record left behind by a failed write: ${verify.stdout}`);
  } finally {
    execFileSync('umount', [mnt]);
  }
});

/** The entries' messages of a loaded batch (codec none). */
async function messagesOf(sp: Spool, b: NonNullable<ReturnType<Spool['nextAfter']>>): Promise<string[]> {
  const data = await sp.load(b);
  return data!.body.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).message.split('-')[0]);
}

test('a reset spool directory: its batches, numbered before it knew the aggregator\'s sequence, are renumbered above WELCOME\'s last_seq (never acknowledged unseen), durably', async () => {
  const dir = tempDir();
  const sp = new Spool(options(dir));
  await sp.open();
  // A fresh directory numbers from 1, while the aggregator already holds 2 batches of this node.
  const seqs = await pushN(sp, 3, 10, 'r');
  assert.deepEqual(seqs, [1, 2, 3]);
  // A batch numbered before the WELCOME but pushed after it (it was being sealed meanwhile).
  const late = await sp.allocSeq();
  assert.equal(await sp.welcome(2), 3, 'three batches renumbered');
  const got: number[] = [];
  for (let b = sp.nextAfter(2); b; b = sp.nextAfter(b.seq)) got.push(b.seq);
  assert.deepEqual(got, [3, 4, 5], 'queued above the aggregator, in order');
  assert.equal(sp.status().renumbered_batches, 3);
  assert.equal(sp.status().queued_entries, 30, 'nothing acknowledged');
  // It gets the number after the renumbered ones.
  await sp.push(batch(10, 'late'), late, []);
  assert.equal(sp.nextAfter(5)!.seq, 6);
  assert.equal((await sp.allocSeq()) - 7, 0, 'and new numbers follow it');
  // Now the spool knows the aggregator: a later WELCOME acknowledges as usual.
  assert.equal(await sp.welcome(4), 0);
  assert.deepEqual(await drain(sp), [5, 6]);
  await sp.close();
  // The new numbers are on disk: a restart replays the same batches under them, the old segment is gone.
  const again = new Spool(options(dir));
  await again.open();
  const replay: [number, string][] = [];
  for (let b = again.nextAfter(0); b; b = again.nextAfter(b.seq)) replay.push([b.seq, (await messagesOf(again, b))[0]!]);
  assert.deepEqual(replay, [[5, 'r2'], [6, 'late']]);
  assert.equal(await again.welcome(2_000_000), 2, 'an aggregator holding more than this spool ever reserved: renumbered too');
  assert.deepEqual(await drain(again), [2_000_001, 2_000_002]);
  await again.close();
});

test('a refused sequence: the batches after WELCOME\'s last_seq are renumbered from last_seq + 1, also across a restart; near 2^53-1 it says exhausted', async () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'ack.json'), JSON.stringify({ version: 1, acked_seq: 0, reserved_seq: 2 ** 52, positions: [] }));
  const sp = new Spool(options(dir));
  await sp.open();
  const seqs = await pushN(sp, 3, 5, 'j');
  assert.equal(seqs[0], 2 ** 52 + 1, 'a sequence far above the aggregator\'s (a damaged or foreign pointer)');
  assert.equal(await sp.welcome(7, false), 0, 'not refused yet: nothing renumbered');
  assert.equal(await sp.welcome(7, true), 3);
  assert.deepEqual(await drain(sp), [8, 9, 10]);
  await sp.close();
  const again = new Spool(options(dir));
  await again.open();
  assert.deepEqual(await drain(again), [8, 9, 10]);
  assert.ok((await again.allocSeq()) <= 11 + 1_000_000, 'the reservation follows the new numbers');
  assert.equal(await again.welcome(Number.MAX_SAFE_INTEGER), 'exhausted');
  assert.deepEqual(await drain(again), [8, 9, 10], 'exhausted changes nothing');
  await again.close();
});

test('the spool directory removed while the agent runs: it is made again for new batches, and batches whose file vanished are counted as lost, not retried forever', async () => {
  const dir = tempDir();
  const sp = new Spool(options(dir));
  await sp.open();
  await pushN(sp, 2, 10, 'old');
  await sp.close();
  // Recovered batches are read lazily from their segment file at send time.
  const again = new Spool(options(dir));
  await again.open();
  execFileSync('rm', ['-rf', dir]);
  const s = await again.allocSeq();
  await again.push(batch(5, 'new'), s, []);
  assert.equal(segFiles(dir).length, 1, 'the directory and a new segment exist again');
  const got: number[] = [];
  for (let b = again.nextAfter(0); b; b = again.nextAfter(b.seq)) if (await again.load(b)) got.push(b.seq);
  assert.deepEqual(got, [s], 'only the new batch can be sent');
  assert.equal(again.status().lost_entries, 20, 'the 20 entries of the vanished segment are counted as lost');
  assert.equal(again.status().queued_entries, 5);
  await again.close();
  assert.ok(existsSync(join(dir, 'ack.json')), 'the pointer is written into the new directory');
});
