import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { LineWatcher, ROOT, tempDir } from '../../helpers/agent.ts';
import { PtyPair, WAIT } from '../../helpers/pty.ts';

test('permission denied (agent not in the dialout group, run as nobody): reported once with the fix, and opened once the permissions are fixed, without a restart', async (t) => {
  const dir = tempDir('logloom-serial-');
  // nobody may look up the link; only the device itself is closed to it.
  chmodSync(dir, 0o755);
  const pty = await new PtyPair(dir).start();
  t.after(() => pty.kill());
  const tty = realpathSync(pty.device);
  chmodSync(tty, 0o600);
  const proc = spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, '--disable-warning=ExperimentalWarning', join(ROOT, 'test/inputs/serial/fixtures/capture.ts'), pty.device], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = new LineWatcher();
  const err = new LineWatcher();
  proc.stdout!.on('data', (d) => out.feed(d));
  proc.stderr!.on('data', (d) => err.feed(d));
  try {
    await err.waitFor(/ttyV1: permission denied \(run the agent in the dialout group, see docs\/serial\.md\); retrying with backoff/, WAIT);
    // What udev does with GROUP="dialout", MODE="0660" (here: open to all, since nobody has no groups).
    chmodSync(tty, 0o666);
    await err.waitFor(/ttyV1 \(\/dev\/pts\/\d+\): open at/, WAIT);
    await pty.write('readable now\n');
    assert.equal(JSON.parse(await out.waitFor(/readable now/, WAIT)).message, 'readable now');
    assert.equal(err.lines.filter((l) => /permission denied/.test(l)).length, 1);
  } finally {
    proc.kill('SIGKILL');
    await pty.kill();
  }
});
