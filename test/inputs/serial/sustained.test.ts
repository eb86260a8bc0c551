import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { runCli, startAgent, tempDir } from '../../helpers/agent.ts';
import { waitForFile } from '../../helpers/wait.ts';
import { PtyPair, WAIT } from '../../helpers/pty.ts';

const LINES = 50_000;

test(`sustained stream at the pty's full speed: ${LINES} lines, none lost, none reordered (count and checksum)`, async (t) => {
  const dir = tempDir('logloom-serial-');
  const pty = await new PtyPair(dir).start();
  t.after(() => pty.kill());
  // A small buffer and sink queue, so that backpressure (when_full: block pauses the port) takes part.
  const agent = await startAgent(`  buffer: { max_entries: 256 }
  inputs:
    - type: serial
      path: ${pty.device}
      baud_rate: 3000000
  plugins:
    defaults: { queue_length: 512 }
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json, max_bytes: 1GiB }
`, dir);
  try {
    await agent.stderr.waitFor(/open at 3000000/, WAIT);
    const sent = createHash('sha256');
    const lines: string[] = [];
    for (let i = 0; i < LINES; i++) {
      const line = `seq=${i} sensor=${(i * 7919) % 1000} temp=${(i % 97) / 4} status=ok payload=${'x'.repeat(i % 50)}`;
      lines.push(line);
      sent.update(line + '\n');
    }
    const data = Buffer.from(lines.join('\n') + '\nEND\n');
    // One write: the pty and socat pass it on as fast as the agent reads (the kernel holds the writer back).
    await pty.write(data);
    // The sink writes whole batches in order, so once END's line is complete every earlier line is there.
    const got = await waitForFile(`${agent.dir}/out.log`, (t) => (t.endsWith('\n') && t.includes('"message":"END"') ? t : undefined), 120_000);
    const msgs = got.split('\n').filter(Boolean).map((l) => JSON.parse(l).message as string);
    assert.equal(msgs.pop(), 'END');
    assert.equal(msgs.length, LINES);
    const received = createHash('sha256');
    for (const m of msgs) received.update(m + '\n');
    assert.equal(received.digest('hex'), sent.digest('hex'));
    const st = JSON.parse((await runCli(['status', '--json', '--socket', agent.control])).stdout);
    assert.equal(st.inputs[0].bytes, data.length);
    assert.equal(st.inputs[0].lines, LINES + 1);
    assert.equal(st.inputs[0].dropped, 0);
    assert.equal(st.dropped_total, 0);
    console.log(`# paused by backpressure ${st.inputs[0].paused} times`);
  } finally {
    await agent.stop();
    await pty.kill();
  }
});
