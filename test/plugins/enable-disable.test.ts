import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runCli, startAgent } from '../helpers/agent.ts';
import { controlRequest } from '../../lib/control/protocol.ts';
import { waitForFile, waitForLines } from '../helpers/wait.ts';
import { sendLines } from '../helpers/socket.ts';

const CONFIG = `  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    enabled: [filter_grep, sink_file]
    config:
      filter_grep:
        rules:
          - { pattern: "^noise", action: drop }
      sink_file: { path: DIR/out.log, format: json }
`;

const messages = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l).message as string);

test('plugins disable/enable at run time: a disabled filter is skipped, a disabled sink holds its queue; list shows the state', async () => {
  const agent = await startAgent(CONFIG);
  const out = join(agent.dir, 'out.log');
  const ctl = ['--socket', agent.control];
  try {
    await sendLines(agent.ingest, ['noise 1', 'mark 1']);
    await waitForFile(out, (t) => (messages(t).includes('mark 1') ? true : undefined));

    const d = await runCli(['plugins', 'disable', 'filter_grep', ...ctl]);
    assert.equal(d.code, 0, d.stderr);
    await sendLines(agent.ingest, ['noise 2', 'mark 2']);
    await waitForFile(out, (t) => (messages(t).includes('mark 2') ? true : undefined));

    const list = await runCli(['plugins', 'list', '--json', ...ctl]);
    const rows = JSON.parse(list.stdout) as { name: string; state: string; kind: string }[];
    assert.equal(rows.find((r) => r.name === 'filter_grep')!.state, 'disabled');
    assert.equal(rows.find((r) => r.name === 'sink_file')!.state, 'enabled');
    assert.equal(rows.find((r) => r.name === 'sink_console')!.state, 'disabled');

    assert.equal((await runCli(['plugins', 'enable', 'filter_grep', ...ctl])).code, 0);
    await sendLines(agent.ingest, ['noise 3', 'mark 3']);
    await waitForFile(out, (t) => (messages(t).includes('mark 3') ? true : undefined));

    // A disabled sink keeps its entries queued (disabled_sink_queue: keep) and delivers them when enabled.
    assert.equal((await runCli(['plugins', 'disable', 'sink_file', ...ctl])).code, 0);
    await sendLines(agent.ingest, ['held 1', 'held 2']);
    // Status straight from the control socket (as `logloom status` asks it), until both are queued.
    const queuedNow = async () => {
      const a = await controlRequest(agent.control, { op: 'status' });
      return a.ok ? (a.result as { sinks: { name: string; queued: number }[] }).sinks.find((s) => s.name === 'sink_file')!.queued : -1;
    };
    let queued = 0;
    for (let i = 0; i < 500 && queued < 2; i++) queued = await queuedNow();
    assert.equal(queued, 2);
    assert.ok(!messages((await waitForLines(out, 1)).join('\n')).includes('held 1'));
    assert.equal((await runCli(['plugins', 'enable', 'sink_file', ...ctl])).code, 0);
    const all = messages((await waitForFile(out, (t) => (messages(t).includes('held 2') ? t : undefined))));
    assert.deepEqual(all, ['mark 1', 'noise 2', 'mark 2', 'mark 3', 'held 1', 'held 2']);

    const bad = await runCli(['plugins', 'disable', 'no_such', ...ctl]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /no running plugin named 'no_such'/);
  } finally {
    await agent.stop();
  }
});
