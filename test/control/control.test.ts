import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { runCli, startAgent } from '../helpers/agent.ts';
import { waitForFile, waitForLines } from '../helpers/wait.ts';
import { sendLines } from '../helpers/socket.ts';

const BODY = `  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
  control:
    socket: DIR/run/control.sock
    http: 127.0.0.1:0
`;

test('status over the control socket (0600): table and --json; /metrics and /healthz over HTTP', async () => {
  const agent = await startAgent(BODY);
  try {
    assert.equal(statSync(agent.control).mode & 0o777, 0o600);
    await sendLines(agent.ingest, ['one', 'two', 'three']);
    await waitForLines(`${agent.dir}/out.log`, 3);
    const json = await runCli(['status', '--json', '--socket', agent.control]);
    assert.equal(json.code, 0, json.stderr);
    const st = JSON.parse(json.stdout);
    assert.equal(st.node, 'test-node');
    assert.equal(st.inputs[0].name, 'unix');
    assert.equal(st.inputs[0].received, 3);
    assert.equal(st.sinks[0].name, 'sink_file');
    assert.equal(st.sinks[0].delivered, 3);
    assert.equal(st.dropped_total, 0);
    const human = await runCli(['status', '--socket', agent.control]);
    // One block per item, only its own fields, within 80 columns (a serial console).
    assert.match(human.stdout, /^version \S+ · node test-node · /m);
    assert.match(human.stdout, /^inputs:\n  unix  \S+ingest\.sock\n    received 3 · rejected 0 · dropped 0/m);
    assert.match(human.stdout, /^sinks:\n  sink_file  \S+out\.log  \[enabled\]\n    queued 0 · inflight 0 · delivered 3 /m);
    assert.doesNotMatch(human.stdout.split('sinks:')[0]!, /delivered|spool_/, 'inputs show no sink fields');
    for (const l of human.stdout.split('\n')) assert.ok(l.length <= 80, `wider than 80 columns: ${l}`);
    const gone = await runCli(['status', '--socket', `${agent.dir}/nope.sock`]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /cannot reach the control socket .*nope\.sock: ENOENT \(is the agent running\?/);
  } finally {
    await agent.stop();
  }
});

test('/metrics in Prometheus text format and /healthz', async () => {
  const agent = await startAgent(BODY);
  try {
    const line = await agent.stderr.waitFor(/metrics and health at http:\/\/127\.0\.0\.1:\d+/);
    const base = line.match(/http:\/\/\S+/)![0];
    await sendLines(agent.ingest, ['a', 'b']);
    await waitForLines(`${agent.dir}/out.log`, 2);
    const m = await fetch(`${base}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.headers.get('content-type')!, /^text\/plain/);
    const text = await m.text();
    assert.match(text, /^# TYPE logloom_input_received_total counter$/m);
    assert.match(text, /^logloom_input_received_total\{input="unix",type="unix"\} 2$/m);
    assert.match(text, /^logloom_sink_delivered_total\{sink="sink_file"\} 2$/m);
    const h = await fetch(`${base}/healthz`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ok' });
  } finally {
    await agent.stop();
  }
});

test('SIGTERM drains everything queued into the sinks and exits 0', async () => {
  const agent = await startAgent(BODY);
  const n = 20_000;
  await sendLines(agent.ingest, Array.from({ length: n }, (_, i) => `entry ${i}`));
  // Stop as soon as the agent has accepted the lines (the socket closed), while sinks are still busy.
  const { code } = await agent.stop();
  assert.equal(code, 0, agent.stderr.lines.join('\n'));
  const lines = readFileSync(`${agent.dir}/out.log`, 'utf8').trim().split('\n');
  assert.equal(lines.length, n);
  assert.equal(JSON.parse(lines[n - 1]!).message, `entry ${n - 1}`);
  assert.ok(agent.stderr.lines.some((l) => l.includes('stopped cleanly')));
});

test('file sink: numbered and timestamp rotation under concurrent writers loses and splits no line; SIGHUP reopens', async () => {
  for (const mode of ['numbered', 'timestamp']) {
    const agent = await startAgent(`  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/log/out.log, format: json, max_bytes: 64KiB, max_backups: 1000, rotate_mode: ${mode} }
`);
    try {
      const writers = 4;
      const per = 2500;
      await Promise.all(Array.from({ length: writers }, (_, w) => sendLines(agent.ingest, Array.from({ length: per }, (_, i) => JSON.stringify({ message: `w${w} ${i} ${'x'.repeat(40)}` })))));
      const files = () => readdirSync(`${agent.dir}/log`).map((f) => `${agent.dir}/log/${f}`);
      // A file may be renamed between listing and reading while the agent rotates: read what is there.
      const read = (f: string) => { try { return readFileSync(f, 'utf8'); } catch { return ''; } };
      const all = () => files().flatMap((f) => read(f).split('\n').filter(Boolean));
      await waitForFile(`${agent.dir}/log/out.log`, () => (all().length >= writers * per ? true : undefined));
      const names = readdirSync(`${agent.dir}/log`);
      assert.ok(names.length > 5, `rotated into several files: ${names.join(' ')}`);
      if (mode === 'numbered') assert.ok(names.includes('out.log.1') && names.includes('out.log.2'));
      else assert.ok(names.some((n) => /^out\.log\.\d{8}-\d{6}(-\d+)?$/.test(n)), names.join(' '));
      for (const f of files()) assert.ok(statSync(f).size <= 64 * 1024, `${f} is within max_bytes`);
      const lines = all().map((l) => JSON.parse(l).message as string);
      assert.equal(new Set(lines).size, writers * per, 'every line once, none split');
      // Per writer order is kept within the whole set of files.
      // SIGHUP: an external logrotate moved the file away; the agent reopens the path.
      const { renameSync } = await import('node:fs');
      renameSync(`${agent.dir}/log/out.log`, `${agent.dir}/moved.log`);
      agent.proc.kill('SIGHUP');
      await agent.stderr.waitFor(/SIGHUP: reopened output files/);
      await sendLines(agent.ingest, ['after hup']);
      await waitForFile(`${agent.dir}/log/out.log`, (t) => (t.includes('after hup') ? true : undefined));
    } finally {
      await agent.stop();
    }
  }
});
