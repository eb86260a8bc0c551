/**
 * Fuzzing the syslog parser of the C codec (native/addon/src/syslog.c) against its JS twin: random
 * and mutated syslog messages, and random bytes, as datagrams and as octet-counted or LF-framed
 * streams split at random points, with random bounds. Both must give the same bytes and counters,
 * and neither may crash (a crash in the addon takes this process down, which fails the suite).
 * The seed is printed; see fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsLineCodec, type CodecOptions, type LineCodec } from '../../agent/buffer/line-codec.ts';
import { NativeLineCodec } from '../../agent/buffer/native-codec.ts';
import { fuzzer, syslogMessage, withSeed, type Fuzz } from './fuzz.ts';

function run(codec: LineCodec, chunks: Buffer[], t: number): Buffer {
  return Buffer.concat([...chunks.map((c) => codec.feed(c, t)), codec.end(t)]);
}

function split(f: Fuzz, bytes: Buffer): Buffer[] {
  const cuts = Array.from({ length: f.int(8) }, () => f.int(bytes.length + 1)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of cuts) out.push(bytes.subarray(prev, c)), (prev = c);
  out.push(bytes.subarray(prev));
  return out;
}

test('fuzz: syslog messages through the C codec and its JS twin (datagrams, with and without their senders\' credentials, octet-counted and LF-framed streams): the same bytes and counters, no crash', async (t) => {
  const f = fuzzer(t, 5, 514);
  await withSeed(f, async () => {
    const deadline = Date.now() + f.budgetMs;
    let cases = 0;
    let records = 0;
    while (Date.now() < deadline) {
      const msgs = Array.from({ length: 1 + f.int(16) }, () => (f.chance(0.9) ? syslogMessage(f) : f.bytes(f.int(300))));
      const base: CodecOptions = {
        maxLineBytes: 16 + f.int(f.chance(0.5) ? 200 : 4000), maxMessageBytes: 8 + f.int(600), minLevel: f.pick(['DEBUG', 'INFO', 'ERROR'] as const),
        defaultLevel: f.pick(['INFO', 'WARN'] as const), defaultModule: f.pick(['syslog', 'ß', '']), node: 'gw', source: f.pick(['', 'syslog:udp:10.0.0.1', 'syslog:tcp:\u0085x']),
      };
      const t0 = Date.UTC(2024 + f.int(3), f.int(12), 1 + f.int(28), f.int(24));
      const dgram = { ...base, format: 'syslog_datagram' as const };
      const js = new JsLineCodec(dgram), nat = new NativeLineCodec(dgram);
      const a = Buffer.concat(msgs.map((m) => nat.feed(m, t0))), b = Buffer.concat(msgs.map((m) => js.feed(m, t0)));
      assert.ok(a.equals(b), `datagrams differ for ${JSON.stringify(msgs.map((m) => m.toString('latin1')))}`);
      assert.deepEqual(nat.counters(), js.counters());
      records += nat.counters().records;
      const stream = Buffer.concat(msgs.flatMap((m) => (f.chance(0.5) ? [Buffer.from(`${f.chance(0.95) ? m.length : f.int(m.length * 2)} `), m] : [m, Buffer.from(f.pick(['\n', '\r\n', '\n\n', '\0']))])));
      const chunks = split(f, stream);
      const sj = new JsLineCodec({ ...base, format: 'syslog' }), sn = new NativeLineCodec({ ...base, format: 'syslog' });
      const c = run(sn, chunks, t0), d = run(sj, chunks, t0);
      assert.ok(c.equals(d), `streams differ for ${JSON.stringify(stream.toString('latin1'))} split ${chunks.map((x) => x.length)}`);
      assert.deepEqual(sn.counters(), sj.counters());
      // The devlog input's batches: datagrams back to back with their senders' credentials (pid, uid, cut).
      const meta = new Int32Array(msgs.flatMap((m) => [m.length, f.pick([0, -1, 1, 4242, 2 ** 31 - 1]), f.pick([-1, 0, 1000, 65534]), f.chance(0.1) ? 1 : 0]));
      const dj = new JsLineCodec(dgram), dn = new NativeLineCodec(dgram);
      const e = dn.feedDatagrams(Buffer.concat(msgs), meta, t0), g = dj.feedDatagrams(Buffer.concat(msgs), meta, t0);
      assert.ok(e.equals(g), `datagrams with credentials differ for ${JSON.stringify(msgs.map((m) => m.toString('latin1')))} ${meta.join(',')}`);
      assert.deepEqual(dn.counters(), dj.counters());
      cases++;
    }
    t.diagnostic(`${cases} cases, ${records} datagram records`);
  });
});
