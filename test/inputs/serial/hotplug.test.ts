import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { LineWatcher, startAgent, tempDir } from '../../helpers/agent.ts';
import { waitForFile } from '../../helpers/wait.ts';
import { PtyPair, WAIT } from '../../helpers/pty.ts';
import { status } from '../../helpers/status.ts';

const entries = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
const messages = (text: string) => entries(text).map((e) => e.message as string);

test('hot-plug: the port vanishes (socat killed) and comes back under the same path; capture resumes, the other port never stalls', async (t) => {
  const dir = tempDir('logloom-serial-');
  const a = await new PtyPair(dir, 'ttyA').start();
  t.after(() => a.kill());
  const b = await new PtyPair(dir, 'ttyB').start();
  t.after(() => b.kill());
  // ttyC does not exist yet: the agent must start anyway and pick it up when it appears.
  const c = new PtyPair(dir, 'ttyC');
  t.after(() => c.kill());
  const agent = await startAgent(`  inputs:
    - type: serial
      name: unplugged
      path: ${a.device}
      reconnect_max_ms: 1s
    - type: serial
      name: steady
      path: ${b.device}
    - type: serial
      name: late
      path: ${c.device}
      reconnect_max_ms: 1s
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`, dir);
  const out = `${agent.dir}/out.log`;
  try {
    await agent.stderr.waitFor(/ttyA1.*open at/, WAIT);
    await agent.stderr.waitFor(/ttyC1: not present \(unplugged\?\); retrying/, WAIT);
    await a.write('before unplug\n');
    await waitForFile(out, (t) => (messages(t).includes('before unplug') ? true : undefined), WAIT);

    await a.kill();
    await agent.stderr.waitFor(/ttyA1: device disconnected; retrying with backoff/, WAIT);
    // While A is gone, B keeps flowing.
    await b.write('b while a is away\n');
    await waitForFile(out, (t) => (messages(t).includes('b while a is away') ? true : undefined), WAIT);
    let st = await status(agent);
    const byName = (n: string) => st.inputs.find((i: { name: string }) => i.name === n);
    assert.equal(byName('unplugged').state, 'absent');
    assert.equal(byName('steady').state, 'open');
    assert.equal(byName('late').state, 'absent');

    await a.start();
    await c.start();
    await agent.stderr.waitFor(/ttyA1 \(\/dev\/pts\/\d+\): back, capturing again \(reconnect 1\)/, WAIT);
    await agent.stderr.waitFor(/ttyC1.*open at/, WAIT);
    await a.write('after replug\n');
    await c.write('late arrival\n');
    await waitForFile(out, (t) => (messages(t).includes('after replug') && messages(t).includes('late arrival') ? true : undefined), WAIT);
    st = await status(agent);
    assert.equal(byName('unplugged').state, 'open');
    assert.equal(byName('unplugged').reconnects, 1);
    assert.equal(byName('unplugged').lines, 2);
    // Reported once per outage, not once per retry.
    assert.equal(agent.stderr.lines.filter((l) => /ttyA1: device disconnected/.test(l)).length, 1);
    assert.equal(agent.stderr.lines.filter((l) => /ttyC1: not present/.test(l)).length, 1);
  } finally {
    await agent.stop();
    await a.kill();
    await b.kill();
    await c.kill();
  }
});

test('a port held by another program (flock, like a forgotten minicom) is reported once as locked, then opened when it is released', async (t) => {
  const dir = tempDir('logloom-serial-');
  const pty = await new PtyPair(dir).start();
  t.after(() => pty.kill());
  // flock --no-fork: the one process that prints "locked" holds the lock until it is killed.
  const holder = spawn('flock', ['--exclusive', '--no-fork', pty.device, 'sh', '-c', 'echo locked; exec sleep 600'], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => holder.kill('SIGKILL'));
  const said = new LineWatcher();
  holder.stdout!.on('data', (d) => said.feed(d));
  await said.waitFor(/locked/, WAIT);
  const agent = await startAgent(`  inputs:
    - type: serial
      path: ${pty.device}
      reconnect_max_ms: 500ms
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`, dir);
  try {
    await agent.stderr.waitFor(/ttyV1: in use by another program \(the port is locked\); retrying with backoff/, WAIT);
    const st = await status(agent);
    assert.equal(st.inputs[0].state, 'error');
    assert.match(st.inputs[0].last_error, /locked/);
    const gone = new Promise((r) => holder.once('exit', r));
    holder.kill('SIGKILL');
    await gone;
    await agent.stderr.waitFor(/ttyV1.*open at 115200/, WAIT);
    await pty.write('after unlock\n');
    await waitForFile(`${agent.dir}/out.log`, (t) => (messages(t).includes('after unlock') ? true : undefined), WAIT);
    assert.equal(agent.stderr.lines.filter((l) => /in use by another program/.test(l)).length, 1);
  } finally {
    holder.kill('SIGKILL');
    await agent.stop();
    await pty.kill();
  }
});
