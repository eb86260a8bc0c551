import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startAgent, tempDir, type RunningAgent } from '../../helpers/agent.ts';
import { waitForFile } from '../../helpers/wait.ts';
import { PtyPair } from './pty.ts';

const entries = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
const messages = (text: string) => entries(text).map((e) => e.message as string);

async function status(agent: RunningAgent) {
  return JSON.parse((await runCli(['status', '--json', '--socket', agent.control])).stdout);
}

test('hot-plug: the port vanishes (socat killed) and comes back under the same path; capture resumes, the other port never stalls', async () => {
  const dir = tempDir('logloom-serial-');
  const a = await new PtyPair(dir, 'ttyA').start();
  const b = await new PtyPair(dir, 'ttyB').start();
  // ttyC does not exist yet: the agent must start anyway and pick it up when it appears.
  const c = new PtyPair(dir, 'ttyC');
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
    await agent.stderr.waitFor(/ttyA1.*open at/);
    await agent.stderr.waitFor(/ttyC1: not present \(unplugged\?\); retrying/);
    await a.write('before unplug\n');
    await waitForFile(out, (t) => (messages(t).includes('before unplug') ? true : undefined));

    await a.kill();
    await agent.stderr.waitFor(/ttyA1: device disconnected; retrying with backoff/);
    // While A is gone, B keeps flowing.
    await b.write('b while a is away\n');
    await waitForFile(out, (t) => (messages(t).includes('b while a is away') ? true : undefined));
    let st = await status(agent);
    const byName = (n: string) => st.inputs.find((i: { name: string }) => i.name === n);
    assert.equal(byName('unplugged').state, 'absent');
    assert.equal(byName('steady').state, 'open');
    assert.equal(byName('late').state, 'absent');

    await a.start();
    await c.start();
    await agent.stderr.waitFor(/ttyA1 \(\/dev\/pts\/\d+\): back, capturing again \(reconnect 1\)/);
    await agent.stderr.waitFor(/ttyC1.*open at/);
    await a.write('after replug\n');
    await c.write('late arrival\n');
    await waitForFile(out, (t) => (messages(t).includes('after replug') && messages(t).includes('late arrival') ? true : undefined));
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
