/**
 * Large chunks of a stream are parsed by the C codec on a thread-pool thread (FastIngest,
 * LineCodec.feedOffThread) while the main thread goes on. What a user relies on stays: every line
 * arrives once, in order, with lines split across chunks joined; under when_full: block nothing is
 * lost and the input is paused; an agent stopped right after the last bytes keeps them all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { createEntryBuffer } from '../../agent/buffer/entry-buffer.ts';
import { FastIngest, ParseLane, type StreamCounters } from '../../agent/buffer/fast-ingest.ts';
import { NativeLineCodec } from '../../agent/buffer/native-codec.ts';
import { forEachFrame } from '../../agent/buffer/ring.ts';
import { recordStart } from '../../agent/buffer/records.ts';
import { loadAddon } from '../../lib/native-runtime.ts';
import { startAgent } from '../helpers/agent.ts';
import { waitForLines } from '../helpers/wait.ts';
import { fuzzer, hostileLine } from '../fuzz/fuzz.ts';
import { inputStatus } from '../helpers/status.ts';

const addon = loadAddon();
const codecOptions = { maxLineBytes: 64 * 1024, maxMessageBytes: 16 * 1024, minLevel: 'DEBUG' as const, defaultLevel: 'INFO' as const, defaultModule: 'APP', node: 'n', source: 'test' };

/** n numbered NDJSON lines, cut into chunks of `size` bytes (lines split across chunks). */
function chunksOf(n: number, size: number): Buffer[] {
  const all = Buffer.from(Array.from({ length: n }, (_, i) => `{"level":"${i % 10 ? 'INFO' : 'WARN'}","message":"line ${i} ${'x'.repeat(i % 200)}"}\n`).join(''));
  const out: Buffer[] = [];
  for (let off = 0; off < all.length; off += size) out.push(all.subarray(off, off + size));
  return out;
}

/** The message numbers of the records drained so far (at most max of them this call). */
function drainNumbers(queue: ReturnType<typeof createEntryBuffer>, into: number[], max = Infinity): void {
  for (let taken = 0; taken < max; ) {
    const r = queue.takeRecords(Math.min(4096, max - taken));
    if (!r) return;
    taken += r.count;
    forEachFrame(r.frames, (p) => {
      const rec = Buffer.concat([Buffer.alloc(4), p]);
      const e = JSON.parse(rec.toString('utf8', recordStart(rec, 0))) as { message: string };
      into.push(Number(/^line (\d+)/.exec(e.message)![1]));
    });
  }
}

function stream(queue: ReturnType<typeof createEntryBuffer>, policy: 'block' | 'drop_newest', drained: () => Promise<void>, lane?: ParseLane) {
  const counters: StreamCounters = { received: 0, rejected: 0, dropped: 0, paused: 0, last_reject: '' };
  const codec = new NativeLineCodec(codecOptions, addon);
  return { counters, codec, fast: new FastIngest({ codec, queue, policy, counters, schedule: () => {}, drained, lane }) };
}

test('connections of one input, one after the other: the second\'s lines (a small chunk parsed at once, a large one off the thread) come after the first\'s still being parsed', async () => {
  for (const secondSize of [100, 64 * 1024]) {
    const queue = createEntryBuffer(1_000_000, 64 * 1024 * 1024, 'on');
    const lane = new ParseLane();
    const first = stream(queue, 'block', () => Promise.resolve(), lane).fast;
    const second = stream(queue, 'block', () => Promise.resolve(), lane).fast;
    const all = chunksOf(3000, 1 << 30)[0]!;
    const cut = all.indexOf(0x0a, all.length - 2000) + 1;
    // The first connection: one large chunk (off the thread) and its end; then the second's.
    first.feed(all.subarray(0, cut));
    first.end();
    const rest = all.subarray(cut);
    for (let off = 0; off < rest.length; off += secondSize) second.feed(rest.subarray(off, off + secondSize));
    second.end();
    await first.settled();
    await second.settled();
    const got: number[] = [];
    drainNumbers(queue, got);
    assert.deepEqual(got, Array.from({ length: 3000 }, (_, i) => i), `second connection fed in chunks of ${secondSize} bytes`);
  }
});

test('chunks parsed off the main thread: every line once and in order, split lines joined, the codec refusing other calls meanwhile', async () => {
  const queue = createEntryBuffer(1_000_000, 64 * 1024 * 1024, 'on');
  const { fast, counters, codec } = stream(queue, 'block', () => Promise.resolve());
  const N = 40_000;
  let refused = false;
  for (const chunk of chunksOf(N, 64 * 1024)) {
    if (!fast.feed(chunk)) await fast.drained();
    // A parse is running (the first feed of a big chunk starts one): its codec is the pool thread's.
    try {
      addon.codecCounters((codec as unknown as { handle: object }).handle);
    } catch (e) {
      refused ||= /running on the thread pool/.test((e as Error).message);
    }
  }
  if (!fast.end()) await fast.drained();
  await fast.settled();
  const got: number[] = [];
  drainNumbers(queue, got);
  assert.ok(refused, 'a sync call on a codec whose chunk is being parsed was refused');
  assert.equal(got.length, N);
  assert.deepEqual(got, Array.from({ length: N }, (_, i) => i));
  assert.equal(counters.received, N);
  assert.equal(counters.dropped, 0);
  assert.equal(fast.stats().records, N);
});

test('a source that does not pause (as a UDP listener) may feed chunk after chunk while one is parsed: all are parsed, in order, none refused', async () => {
  const queue = createEntryBuffer(1_000_000, 64 * 1024 * 1024, 'on');
  const { fast, counters } = stream(queue, 'block', () => Promise.resolve());
  const N = 12_000;
  const chunks = chunksOf(N, 20 * 1024);
  assert.ok(chunks.length > 40, 'more chunks wait than one job takes');
  for (const chunk of chunks) fast.feed(chunk); // its answers ignored
  fast.end();
  await fast.settled();
  const got: number[] = [];
  drainNumbers(queue, got);
  assert.deepEqual(got, Array.from({ length: N }, (_, i) => i));
  assert.equal(counters.rejected, 0, counters.last_reject);
});

test('a paused input resumes as soon as the chunks that waited go to the parser, not once the lane is idle (socket reads and parsing overlap)', async () => {
  const queue = createEntryBuffer(1_000_000, 64 * 1024 * 1024, 'on');
  const lane = new ParseLane();
  const { fast } = stream(queue, 'block', () => Promise.resolve(), lane);
  const N = 20_000;
  const chunks = chunksOf(N, 64 * 1024);
  let i = 0;
  // The first chunk starts a parse; those after it wait until the lane asks the input to pause.
  while (fast.feed(chunks[i++]!)) assert.ok(i < chunks.length, 'the lane asked the input to pause');
  assert.equal(lane.parsing, true);
  await fast.drained();
  // Resumed while the chunks that waited are parsed: the input reads on meanwhile.
  assert.equal(lane.parsing, true, 'resumed while the next parse runs');
  assert.equal(lane.waiting.length, 0, 'the waiting chunks went to that parse');
  for (; i < chunks.length; i++) if (!fast.feed(chunks[i]!)) await fast.drained();
  if (!fast.end()) await fast.drained();
  await fast.settled();
  const got: number[] = [];
  drainNumbers(queue, got);
  assert.deepEqual(got, Array.from({ length: N }, (_, k) => k));
});

test('off-thread parsing under when_full: block with a small buffer: the input is paused, nothing is lost, drained() waits for room', async () => {
  const queue = createEntryBuffer(2000, 1 << 20, 'on');
  const got: number[] = [];
  let wake: (() => void) | undefined;
  // The pipeline's drained(): room again once the consumer below has taken records.
  const drained = () => (queue.isFull() ? new Promise<void>((r) => (wake = r)) : Promise.resolve());
  const { fast, counters } = stream(queue, 'block', drained);
  // A consumer slower than the parser (500 records every 2 ms), so that the buffer fills up.
  const consumer = setInterval(() => {
    drainNumbers(queue, got, 500);
    wake?.();
    wake = undefined;
  }, 2);
  try {
    const N = 30_000;
    let pauses = 0;
    for (const chunk of chunksOf(N, 48 * 1024)) {
      if (!fast.feed(chunk)) {
        pauses++;
        await fast.drained();
      }
    }
    if (!fast.end()) await fast.drained();
    await fast.settled();
    while (got.length < N) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(got, Array.from({ length: N }, (_, i) => i));
    assert.ok(pauses > 0, 'the input was asked to pause');
    assert.ok(counters.paused > 0, 'the buffer filled up and was counted as such');
    assert.equal(counters.dropped, 0);
  } finally {
    clearInterval(consumer);
  }
});

test('an agent stopped right after a fast sender closes keeps every line (tcp, chunks parsed off the main thread)', async () => {
  const agent = await startAgent(`  inputs:
    - type: tcp
      listen: 127.0.0.1:0
      format: json
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json, max_bytes: 256MiB }
`);
  let stopped = false;
  try {
    const port = Number(/:(\d+)$/.exec((await inputStatus(agent)).listening as string)![1]);
    const N = 50_000;
    const sock = connect(port, '127.0.0.1');
    await once(sock, 'connect');
    for (const chunk of chunksOf(N, 64 * 1024)) if (!sock.write(chunk)) await once(sock, 'drain');
    sock.end();
    await once(sock, 'close');
    await agent.stop();
    stopped = true;
    const lines = await waitForLines(`${agent.dir}/out.log`, N);
    assert.equal(lines.length, N);
    assert.equal(JSON.parse(lines[N - 1]!).message.startsWith(`line ${N - 1} `), true);
  } finally {
    if (!stopped) await agent.stop();
  }
});

test('fuzz: hostile bytes parsed off the main thread give the same records as the same chunks parsed inline', async (t) => {
  const f = fuzzer(t, 3, 61);
  const deadline = Date.now() + f.budgetMs;
  let cases = 0;
  while (Date.now() < deadline || cases < 5) {
    cases++;
    const parts: Buffer[] = [];
    let size = 0;
    while (size < 200_000) {
      const l = Buffer.concat([hostileLine(f), Buffer.from(f.chance(0.1) ? '\r\n' : '\n')]);
      parts.push(l);
      size += l.length;
    }
    const all = Buffer.concat(parts);
    // Chunks of mixed sizes: some parsed off the thread (>= 16 KiB), some inline, one after another.
    const chunks: Buffer[] = [];
    for (let off = 0; off < all.length;) {
      const n = f.chance(0.5) ? 16 * 1024 + f.int(64 * 1024) : 1 + f.int(4000);
      chunks.push(all.subarray(off, off + n));
      off += n;
    }
    const format = f.pick(['auto', 'json', 'text', 'syslog'] as const);
    const options = { ...codecOptions, format };
    const queue = createEntryBuffer(1_000_000, 256 * 1024 * 1024, 'on');
    const counters: StreamCounters = { received: 0, rejected: 0, dropped: 0, paused: 0, last_reject: '' };
    const fast = new FastIngest({ codec: new NativeLineCodec(options, addon), queue, policy: 'block', counters, schedule: () => {} });
    for (const c of chunks) if (!fast.feed(c)) await fast.drained();
    if (!fast.end()) await fast.drained();
    await fast.settled();
    const got: Buffer[] = [];
    for (let r = queue.takeRecords(1e6); r; r = queue.takeRecords(1e6)) forEachFrame(r.frames, (p) => got.push(Buffer.from(p)));
    // Inline: the same codec rule fed the same chunks, with the same arrival time for lines without one.
    const inline = new NativeLineCodec(options, addon);
    const want: Buffer[] = [];
    for (const c of [...chunks.map((c) => inline.feed(c, 0)), inline.end(0)]) forEachFrame(c, (p) => want.push(Buffer.from(p)));
    const strip = (b: Buffer) => b.toString('latin1').replace(/"timestamp":"[^"]*"/, '');
    assert.equal(got.length, want.filter((p) => p[0] !== 0x52).length, `seed ${f.seed}, format ${format}: record count`);
    assert.deepEqual(got.map(strip), want.filter((p) => p[0] !== 0x52).map(strip), `seed ${f.seed}, format ${format}`);
    assert.equal(counters.rejected, want.filter((p) => p[0] === 0x52).length, `seed ${f.seed}: rejects counted`);
  }
});
