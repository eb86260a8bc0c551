/**
 * What one draft costs on its way into the buffer: `inputPort(...).emit(draft)` in a loop, in
 * process, with the native ring and codec (addon) and with the JS fallback (buffer.native off).
 * The drafts are the shapes inputs emit when a line stage or labels need drafts (otherwise serial
 * and kmsg feed bytes to the codec): a serial console line (message, source, receivedAt, fields),
 * a kmsg record (a Date timestamp, level, module, fields, a checkpoint token), and a labelled line. Only the emit loop is timed (the pipeline drains between rounds, untimed).
 * Prints CPU ns per draft, medians of 5 rounds. Then the devlog input's two paths for a batch of
 * 64 RFC 3164 datagrams with their senders' credentials: each parsed into a draft and emitted
 * (what it does under a line stage or labels), and the batch fed to the codec in one call.
 *
 *   node bench/drafts.ts
 *   LOGLOOM_BENCH_RECORDS=50000 LOGLOOM_BENCH_RUNS=3 node bench/drafts.ts   (quick)
 */
import { once } from 'node:events';
import { Pipeline } from '../agent/pipeline/pipeline.ts';
import { createEntryBuffer } from '../agent/buffer/entry-buffer.ts';
import { Checkpoint } from '../entry/checkpoint.ts';
import type { EntryDraft } from '../entry/build.ts';
import { syslogDraft } from '../agent/buffer/syslog/draft.ts';
import { fmt, header, median } from './lib.ts';

const DRAFTS = Number(process.env.LOGLOOM_BENCH_RECORDS ?? 200_000);
const RUNS = Number(process.env.LOGLOOM_BENCH_RUNS ?? 5);
const ROUND = 10_000;

const shapes: Record<string, (i: number) => EntryDraft> = {
  serial: (i) => ({
    message: `wifi: sta connected to ap ${i & 255}, rssi -${40 + (i & 31)} dBm`, source: 'serial:/dev/ttyS1', receivedAt: 1.7e12 + i,
    fields: { mono_ms: 1234.567 + i }, line: `I (1234) wifi: sta connected to ap ${i & 255}`, level: 'INFO', module: 'WIFI',
  }),
  kmsg: (i) => ({
    timestamp: new Date(1.7e12 + i + 0.25), level: 'WARN', module: 'KERNEL', message: `usb 1-1: device descriptor read/64, error -71 (${i})`,
    source: 'kmsg:/dev/kmsg', fields: { facility: 'kern', seq: i, kernel_ts_usec: 12345678 + i },
    checkpoint: new Checkpoint({ input: 'k', stream: 'kmsg', offset: i }, () => {}),
  }),
  labelled: (i) => ({ message: `GET /api/v1/items/${i} 200 12ms`, receivedAt: 1.7e12 + i, labels: { site: 'plant-3', rack: 'b7' } }),
};

async function run(native: 'on' | 'off', shape: (i: number) => EntryDraft): Promise<number> {
  const p = new Pipeline({ node: 'bench', maxMessageBytes: 16384, bufferEntries: 100_000, bufferBytes: 64 << 20 }, createEntryBuffer(100_000, 64 << 20, native));
  const port = p.inputPort('in', 'block', { level: 'INFO', module: 'APP' });
  const out: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let cpu = 0;
    for (let done = 0; done < DRAFTS; done += ROUND) {
      const drafts = Array.from({ length: ROUND }, (_, i) => shape(done + i));
      const t0 = process.cpuUsage();
      for (const d of drafts) port.emit(d);
      const t = process.cpuUsage(t0);
      cpu += t.user + t.system;
      await once(p, 'empty');
    }
    out.push((cpu * 1000) / DRAFTS);
  }
  await p.drain(1000);
  return median(out);
}

header('drafts: inputPort().emit(draft) into the buffer', 'node bench/drafts.ts  (LOGLOOM_BENCH_RECORDS, LOGLOOM_BENCH_RUNS)');
console.log(`${fmt(DRAFTS)} drafts per round, medians of ${RUNS} rounds; CPU of the emit loop only`);
console.log('| draft | native (C codec, native ring) ns/draft | JS fallback ns/draft |');
console.log('|---|---:|---:|');
for (const [name, shape] of Object.entries(shapes)) {
  const on = await run('on', shape);
  const off = await run('off', shape);
  console.log(`| ${name} | ${fmt(on)} | ${fmt(off)} |`);
}

const N = 64;
const msgs = Array.from({ length: N }, (_, i) => Buffer.from(`<30>Dec  1 06:0${i % 10}:12 meterd[${1000 + i}]: reading n=${i} value=${(i * 7.3).toFixed(1)} unit=kPa`));
const data = Buffer.concat(msgs);
const meta = new Int32Array(msgs.flatMap((m) => [m.length, 4242, 0, 0]));

async function devlog(native: 'on' | 'off', path: 'draft' | 'codec'): Promise<number> {
  const p = new Pipeline({ node: 'bench', maxMessageBytes: 16384, bufferEntries: 100_000, bufferBytes: 64 << 20 }, createEntryBuffer(100_000, 64 << 20, native));
  const port = p.inputPort('devlog', 'block', { level: 'INFO', module: 'DEVLOG' });
  const stream = port.openStream('devlog:/dev/log', 65536, 'syslog_datagram');
  const batches = Math.max(1, Math.floor(DRAFTS / N));
  const out: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    let cpu = 0;
    for (let k = 0; k < batches; k++) {
      const t0 = process.cpuUsage();
      if (path === 'codec') stream.feedDatagrams(data, meta);
      else {
        let off = 0;
        for (let i = 0; i < meta.length; i += 4) {
          const d = syslogDraft(data.subarray(off, off + meta[i]!), false, 'devlog:/dev/log', Date.now())!;
          off += meta[i]!;
          const fields = (d.draft.fields ?? {}) as Record<string, unknown>;
          fields.pid = meta[i + 1];
          fields.uid = meta[i + 2];
          d.draft.fields = fields;
          port.emit(d.draft);
        }
      }
      const t = process.cpuUsage(t0);
      cpu += t.user + t.system;
      if ((k + 1) % (ROUND / N) === 0 && p.buffer.length > 0) await once(p, 'empty');
    }
    if (p.buffer.length > 0) await once(p, 'empty');
    out.push((cpu * 1000) / (batches * N));
  }
  await p.drain(1000);
  return median(out);
}

console.log(`\ndevlog: batches of ${N} RFC 3164 datagrams with the senders' pid and uid; CPU ns per datagram`);
console.log('| path | native ns/datagram | JS fallback ns/datagram |');
console.log('|---|---:|---:|');
for (const path of ['draft', 'codec'] as const) console.log(`| ${path === 'draft' ? 'each parsed into a draft, emitted' : 'the batch to the codec in one call'} | ${fmt(await devlog('on', path))} | ${fmt(await devlog('off', path))} |`);
