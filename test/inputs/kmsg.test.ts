import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, mkdirSync, openSync, closeSync, readSync, writeSync, writeFileSync, readFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { startAgent, tempDir } from '../helpers/agent.ts';
import { waitForFile, waitForLines } from '../helpers/wait.ts';
import { create } from '../../agent/inputs/kmsg/index.ts';
import { createLog } from '../../lib/log.ts';
import type { EntryDraft } from '../../entry/build.ts';
import { inputStatus } from '../helpers/status.ts';
import { inputToFile } from '../helpers/config.ts';

/** Writing to /dev/kmsg as root injects a record (one open per write: the kernel rate-limits per open file). */
function kmsgWritable(): boolean {
  try {
    accessSync('/dev/kmsg', constants.R_OK | constants.W_OK);
    return process.getuid?.() === 0;
  } catch {
    return false;
  }
}
const REAL = kmsgWritable();
const inject = (line: string) => writeFileSync('/dev/kmsg', line);

/**
 * The kernel ring is one per machine: a flood from another checkout's test run (engineers and CI
 * share machines) would overwrite the records a restart test expects to find. The real-device
 * tests therefore hold an flock(1) on a shared lock file; the lock dies with this process (flock's
 * child exits when its stdin closes), so a killed run cannot leave it held.
 */
async function kmsgLock(): Promise<() => void> {
  const p = spawn('flock', ['/tmp/logloom-test-kmsg.lock', 'sh', '-c', 'echo locked; exec cat >/dev/null'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await once(p.stdout!, 'data');
  return () => p.stdin!.end();
}

const config = (path = '/dev/kmsg', from = 'end') => inputToFile('kmsg', `      path: ${path}\n      from: ${from}\n      poll_interval: 50ms\n`, 'out.log');

const withMarker = (marker: string) => (text: string) => text.split('\n').filter((l) => l.includes(marker)).map((l) => JSON.parse(l));

test('kmsg input on the real /dev/kmsg: priority → level, starts at the end, no repeats and no gaps across a restart', { skip: !REAL && '/dev/kmsg not writable (needs root)' }, async () => {
  const unlock = await kmsgLock();
  const tag = `logloom-test-${randomUUID().slice(0, 8)}`;
  inject(`<6>${tag} before start\n`);
  const dir = tempDir();
  let agent = await startAgent(config(), dir);
  try {
    inject(`<3>${tag} err\n`);
    inject(`<12>${tag} warning\n`); // facility user (1), severity 4
    inject(`<0>${tag} emerg\n`);
    const first = await waitForFile(`${dir}/out.log`, (t) => {
      const e = withMarker(tag)(t);
      return e.length >= 3 ? e : undefined;
    });
    assert.deepEqual(first.map((e) => [e.level, e.message]), [['ERROR', `${tag} err`], ['WARN', `${tag} warning`], ['FATAL', `${tag} emerg`]]);
    assert.equal(first[0].module, 'KERNEL');
    assert.equal(first[0].source, 'kmsg:/dev/kmsg');
    assert.equal(first[0].fields.facility, 'user');
    assert.equal(typeof first[0].fields.seq, 'number');
    assert.ok(first[1].fields.seq > first[0].fields.seq);
    assert.ok(first[0].fields.kernel_ts_usec > 0);
    // The kernel time maps onto wall-clock time within a few seconds.
    assert.ok(Math.abs(Date.parse(first[0].timestamp) - Date.now()) < 60_000, first[0].timestamp);
    const st = await inputStatus(agent);
    assert.equal(st.kind, 'device');
    assert.ok(st.skipped > 0, 'records already in the ring at start were skipped (from: end)');
    await agent.stop();

    inject(`<4>${tag} while down\n`);
    agent = await startAgent(config(), dir);
    inject(`<6>${tag} after restart\n`);
    const all = await waitForFile(`${dir}/out.log`, (t) => {
      const e = withMarker(tag)(t);
      return e.some((x) => x.message.endsWith('after restart')) ? e : undefined;
    });
    assert.deepEqual(all.map((e) => e.message.slice(tag.length + 1)), ['err', 'warning', 'emerg', 'while down', 'after restart']);
    assert.equal((await inputStatus(agent)).missed, 0);
  } finally {
    await agent.stop();
    unlock();
  }
});

test('kmsg reader on the real /dev/kmsg: records overwritten while paused (EPIPE) are counted and reading continues', { skip: !REAL && '/dev/kmsg not writable (needs root)' }, async () => {
  const unlock = await kmsgLock();
  const tag = `logloom-flood-${randomUUID().slice(0, 8)}`;
  const got: EntryDraft[] = [];
  let release!: () => void;
  const drained = new Promise<void>((r) => (release = r));
  let sawEnd!: () => void;
  const end = new Promise<void>((r) => (sawEnd = r));
  const input = create({ type: 'kmsg', path: '/dev/kmsg', from: 'beginning', poll_interval: 50, default_level: 'INFO', when_full: 'block' } as Parameters<typeof create>[0], {
    name: 'kmsg', log: createLog('ERROR'), stateDir: `${tempDir()}/state`,
    // The first record "fills the buffer": the reader must stop reading until drained.
    emit: (d) => {
      got.push(d);
      if (String(d.message).includes(`${tag} end`)) sawEnd();
      return got.length > 1;
    },
    drained: () => drained,
    reject: () => {},
  });
  await input.start();
  try {
    await waitUntil(() => got.length === 1);
    // The reader is paused before the record after got[0]. Flood until the kernel has overwritten
    // that record (the ring's size differs between kernels: 128 KiB here), at most 64 MiB.
    const pausedAt = Number((got[0]!.fields as Record<string, number>).seq);
    let flooded = 0;
    while (oldestSeq() <= pausedAt + 1 && flooded < 65536) {
      for (let i = 0; i < 64; i++) inject(`<7>${tag} ${flooded++} ${'x'.repeat(900)}\n`);
    }
    assert.ok(oldestSeq() > pausedAt + 1, 'the flood overwrote the next record');
    inject(`<6>${tag} end\n`);
    release();
    await end;
    const st = input.status!();
    assert.ok(Number(st.overruns) >= 1, `expected an EPIPE overrun, status ${JSON.stringify(st)}`);
    // Reading went on with the oldest record still there; the records in between are counted as missed.
    const resumedAt = Number((got[1]!.fields as Record<string, number>).seq);
    assert.ok(resumedAt > pausedAt + 1);
    assert.equal(st.missed, resumedAt - pausedAt - 1);
    const seqs = got.slice(1).map((d) => Number((d.fields as Record<string, number>).seq));
    assert.deepEqual(seqs, seqs.map((_, i) => resumedAt + i), 'no gaps after the overrun');
  } finally {
    await input.stop();
    unlock();
  }
});

/** Sequence number of the oldest record still in the kernel ring (a fresh reader starts there). */
function oldestSeq(): number {
  const fd = openSync('/dev/kmsg', 'r');
  try {
    const buf = Buffer.alloc(16 * 1024);
    const n = readSync(fd, buf, 0, buf.length, null);
    return Number(buf.subarray(0, n).toString().split(',')[1]);
  } finally {
    closeSync(fd);
  }
}

/** Waits on a condition the input changes synchronously from its read loop (checked per macrotask). */
async function waitUntil(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setImmediate(r));
  }
}

test('kmsg input from a FIFO (the real device cannot be made to emit dictionaries or pre-4.9 fragments): continuation lines, fragments, all priorities, bad records', async () => {
  const dir = tempDir();
  execFileSync('mkfifo', [`${dir}/kmsg.fifo`]);
  // A position saved during another boot means nothing now: everything is read.
  mkdirSync(`${dir}/data/inputs/kmsg`, { recursive: true });
  writeFileSync(`${dir}/data/inputs/kmsg/kmsg-position.json`, JSON.stringify({ boot_id: 'another-boot', seq: 105 }));
  let agent = await startAgent(config(`${dir}/kmsg.fifo`, 'beginning'), dir);
  try {
    const fd = openSync(`${dir}/kmsg.fifo`, 'w');
    const records = [
      '6,100,5000000,-;usb 1-1: new high-speed USB device number 2 using ehci-pci\n SUBSYSTEM=usb\n DEVICE=c189:1\n',
      ...[0, 1, 2, 3, 4, 5, 6, 7].map((p) => `${8 * 3 + p},${101 + p},5000100,-;daemon priority ${p}\n`),
      '4,110,5000200,c;eth0: link \n4,111,5000201,+;up \n4,112,5000202,+;1000Mbps\n',
      'this is not a record\n',
      '1,113,5000300,-,caller=T42;Oops: 0000 [#1] SMP\n',
    ];
    // Split across writes at awkward places: the reader must reassemble records.
    const stream = records.join('');
    for (let i = 0; i < stream.length; i += 37) writeSync(fd, stream.slice(i, i + 37));
    closeSync(fd);
    const lines = (await waitForLines(`${dir}/out.log`, 11)).map((l) => JSON.parse(l));
    const usb = lines[0];
    assert.equal(usb.message, 'usb 1-1: new high-speed USB device number 2 using ehci-pci');
    assert.equal(usb.fields.subsystem, 'usb');
    assert.equal(usb.fields.device, 'c189:1');
    assert.equal(usb.fields.facility, 'kern');
    assert.equal(usb.fields.kernel_ts_usec, 5000000);
    assert.equal(usb.level, 'INFO');
    assert.deepEqual(lines.slice(1, 9).map((e) => e.level), ['FATAL', 'ERROR', 'ERROR', 'ERROR', 'WARN', 'INFO', 'INFO', 'DEBUG']);
    assert.equal(lines[1].fields.facility, 'daemon');
    assert.equal(lines[9].message, 'eth0: link up 1000Mbps');
    assert.equal(lines[9].level, 'WARN');
    assert.equal(lines[10].message, 'Oops: 0000 [#1] SMP');
    assert.equal(lines[10].level, 'FATAL');
    assert.equal(lines[10].fields.caller, 'T42');
    const st = await inputStatus(agent);
    assert.equal(st.kind, 'fifo');
    assert.equal(st.parse_errors, 1);
    assert.equal(st.rejected, 1);
    assert.equal(st.last_seq, 113);
    await agent.stop();
    assert.equal(JSON.parse(readFileSync(`${dir}/data/inputs/kmsg/kmsg-position.json`, 'utf8')).seq, 113);

    // Same boot: the saved position wins over from: beginning; records up to seq 113 are not repeated.
    agent = await startAgent(config(`${dir}/kmsg.fifo`, 'beginning'), dir);
    const fd2 = openSync(`${dir}/kmsg.fifo`, 'w');
    writeSync(fd2, '6,112,1,-;old one\n6,113,2,-;old two\n6,114,3,-;new one\n6,116,4,-;new two\n');
    closeSync(fd2);
    const after = (await waitForLines(`${dir}/out.log`, 13)).map((l) => JSON.parse(l)).slice(11);
    assert.deepEqual(after.map((e) => e.message), ['new one', 'new two']);
    const st2 = await inputStatus(agent);
    assert.equal(st2.skipped, 2);
    assert.equal(st2.missed, 1); // seq 115 never came
  } finally {
    await agent.stop();
  }
});

test('kmsg input from a FIFO: the saved position stops before records no sink has taken yet, and the next start delivers them', async () => {
  const dir = tempDir();
  const fifo = `${dir}/kmsg.fifo`;
  execFileSync('mkfifo', [fifo]);
  // A sink that cannot deliver: sink_tcp towards a port nobody listens on (it retries).
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  let agent = await startAgent(`  shutdown_grace: 300ms
  inputs:
    - type: kmsg
      path: ${fifo}
      from: beginning
      poll_interval: 50ms
  plugins:
    enabled: [sink_tcp]
    config:
      sink_tcp: { port: ${port}, connect_timeout: 100ms }
`, dir);
  try {
    const fd = openSync(fifo, 'w');
    writeSync(fd, '6,200,1,-;first\n6,201,2,-;second\n');
    closeSync(fd);
    const deadline = Date.now() + 15_000;
    for (let st = await inputStatus(agent); st.records < 2 || st.in_flight < 2; st = await inputStatus(agent)) {
      if (Date.now() > deadline) throw new Error(`records not read: ${JSON.stringify(st)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    await agent.stop();
    // Read, but held by the sink that never had them: the position stays before them.
    assert.equal(JSON.parse(readFileSync(`${dir}/data/inputs/kmsg/kmsg-position.json`, 'utf8')).seq, 199);

    // The kernel keeps its ring across agent restarts: the same records are there again.
    agent = await startAgent(config(fifo, 'beginning'), dir);
    const fd2 = openSync(fifo, 'w');
    writeSync(fd2, '6,199,0,-;delivered before\n6,200,1,-;first\n6,201,2,-;second\n6,202,3,-;third\n');
    closeSync(fd2);
    const lines = (await waitForLines(`${dir}/out.log`, 3)).map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((e) => e.message), ['first', 'second', 'third']);
    await agent.stop();
    assert.equal(JSON.parse(readFileSync(`${dir}/data/inputs/kmsg/kmsg-position.json`, 'utf8')).seq, 202);
  } finally {
    await agent.stop();
  }
});

test('kmsg input from a FIFO: the same entries, rejects, counts and saved position with the C codec, the JS codec, and through drafts (labels: no fast path); a record past 64 KiB is cut', async () => {
  const stream = [
    '6,1,1000,-;first\n SUBSYSTEM=usb\n',
    'bad header\n',
    '4,2,2000,c;frag \n4,3,3000,+;ment\n',
    `3,5,5000,-;${'x'.repeat(70_000)}\n`,
    '6,6,6000,-;last\n',
  ].join('');
  type Entry = { message: string; level: string; truncated?: boolean; fields: Record<string, unknown>; labels?: unknown; timestamp?: string; source?: string };
  const results: { entries: Entry[]; status: Record<string, unknown>; saved: number }[] = [];
  for (const [native, extra] of [['on', ''], ['off', ''], ['on', '      labels: { site: cabinet-3 }\n']] as const) {
    const dir = tempDir();
    const fifo = `${dir}/kmsg.fifo`;
    execFileSync('mkfifo', [fifo]);
    const agent = await startAgent(`  buffer:\n    native: ${native}\n` + inputToFile('kmsg', `      path: ${fifo}\n      from: beginning\n      poll_interval: 50ms\n${extra}`, 'out.log'), dir);
    try {
      const fd = openSync(fifo, 'w');
      for (let i = 0; i < stream.length; i += 4096) writeSync(fd, stream.slice(i, i + 4096));
      closeSync(fd);
      const entries = (await waitForLines(`${dir}/out.log`, 4)).map((l) => JSON.parse(l) as Entry);
      for (const e of entries) {
        if (extra) assert.deepEqual(e.labels, { site: 'cabinet-3' });
        delete e.labels;
        delete e.timestamp; // the boot's wall time is measured at each start
        assert.equal(e.source, `kmsg:${fifo}`);
        delete e.source;
      }
      const st = await inputStatus(agent);
      await agent.stop();
      const saved = JSON.parse(readFileSync(`${dir}/data/inputs/kmsg/kmsg-position.json`, 'utf8')).seq;
      results.push({ entries, status: { records: st.records, last_seq: st.last_seq, missed: st.missed, skipped: st.skipped, parse_errors: st.parse_errors, rejected: st.rejected, received: st.received }, saved });
    } finally {
      await agent.stop();
    }
  }
  const [first] = results;
  assert.deepEqual(first!.entries.map((e) => [e.message.length > 100 ? 'x…' : e.message, e.level, e.truncated, e.fields.seq, e.fields.subsystem, e.fields.flags]), [
    ['first', 'INFO', undefined, 1, 'usb', undefined], ['frag ment', 'WARN', undefined, 3, undefined, 'c'], ['x…', 'ERROR', true, 5, undefined, undefined], ['last', 'INFO', undefined, 6, undefined, undefined],
  ]);
  assert.deepEqual(first!.status, { records: 4, last_seq: 6, missed: 1, skipped: 0, parse_errors: 1, rejected: 1, received: 4 });
  assert.equal(first!.saved, 6);
  for (const r of results.slice(1)) assert.deepEqual(r, first);
});
