/** `logloom status --watch`: refreshes like top and shows counters as rates. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent, startCli } from '../helpers/agent.ts';
import { sendLines } from '../helpers/socket.ts';

test('status --watch refreshes and shows the rate of entries received between frames', async () => {
  const agent = await startAgent(`  inputs:\n    - type: unix\n      path: DIR/run/ingest.sock\n`);
  const watch = startCli(['status', '--watch', '--interval', '300ms', '--socket', agent.control]);
  try {
    // Frames on a pipe end with a form feed; wait for the first, then feed entries until a later frame shows a rate.
    await watch.stdout.waitFor(/^\f$/, 30_000);
    let n = 0;
    const feeding = setInterval(() => void sendLines(agent.ingest, Array.from({ length: 50 }, () => `line ${n++}`)), 50);
    try {
      const line = await watch.stdout.waitFor(/^    received \d+ \(\d+(\.\d)?\/s\)/, 30_000);
      const rate = Number(/\((\d+(?:\.\d)?)\/s\)/.exec(line)![1]);
      assert.ok(rate > 0, line);
    } finally {
      clearInterval(feeding);
    }
  } finally {
    watch.proc.kill('SIGINT');
    await watch.exited;
    await agent.stop();
  }
});
