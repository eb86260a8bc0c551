import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startAgent, tempDir } from '../../helpers/agent.ts';
import { waitForFile } from '../../helpers/wait.ts';
import { PtyPair, WAIT } from '../../helpers/pty.ts';

const entries = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

test('serial over a real pty: \\n, \\r\\n, lone \\r, lines split across writes, idle flush, custom separator; levels and modules parsed', async (t) => {
  const dir = tempDir('logloom-serial-');
  const a = await new PtyPair(dir, 'ttyA').start();
  t.after(() => a.kill());
  const b = await new PtyPair(dir, 'ttyB').start();
  t.after(() => b.kill());
  const agent = await startAgent(`  inputs:
    - type: serial
      path: ${a.device}
      module: gw
      idle_flush_ms: 300
    - type: serial
      path: ${b.device}
      baud_rate: 250000
      separator: ";;"
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`, dir);
  try {
    await agent.stderr.waitFor(/ttyA1.*open at 115200 8N1/, WAIT);
    await agent.stderr.waitFor(/ttyB1.*open at 250000 8N1/, WAIT);
    await a.write('one\ntwo\r\nthr');
    await a.write('ee\rfour\r');
    // The \n after a \r that ended the previous read belongs to that \r (no empty line).
    await a.write('\nfi');
    await a.write('ve\n<3>[   12.345678] usb 1-1: device descriptor read error\n');
    await a.write('[WARN] [PUMP] 2025-04-30T12:00:00.000Z pressure high\nE (1234) wifi: disconnected\nERROR: disk full\n');
    await a.write('login: ');
    await b.write('alpha;');
    await b.write(';beta\n;;');
    const out = `${agent.dir}/out.log`;
    const got = await waitForFile(out, (t) => {
      const es = entries(t);
      return es.some((e) => e.message === 'login: ') && es.some((e) => e.message === 'beta\\n') ? es : undefined;
    }, WAIT);
    const fromA = got.filter((e) => e.source === `serial:${a.device}`);
    assert.deepEqual(fromA.map((e) => e.message), [
      'one', 'two', 'three', 'four', 'five', 'usb 1-1: device descriptor read error', 'pressure high', 'disconnected', 'disk full', 'login: ',
    ]);
    const by = new Map(fromA.map((e) => [e.message, e]));
    assert.equal(by.get('one').module, 'GW');
    assert.equal(by.get('one').level, 'INFO');
    const kernel = by.get('usb 1-1: device descriptor read error');
    assert.equal(kernel.level, 'ERROR');
    assert.equal(kernel.fields.kernel_time, 12.345678);
    assert.deepEqual([by.get('pressure high').level, by.get('pressure high').module, by.get('pressure high').fields.device_time], ['WARN', 'PUMP', '2025-04-30T12:00:00.000Z']);
    assert.deepEqual([by.get('disconnected').level, by.get('disconnected').module], ['ERROR', 'WIFI']);
    assert.equal(by.get('disk full').level, 'ERROR');
    // The prompt without a separator came out after idle_flush_ms, marked partial.
    assert.equal(by.get('login: ').fields.partial, 'idle');
    // Each line carries the wall time of its first byte and a monotonic offset that orders lines
    // strictly, even those that arrived in one read.
    const monos = fromA.map((e) => e.fields.mono_ms);
    for (let i = 1; i < monos.length; i++) assert.ok(monos[i] > monos[i - 1], `mono_ms ${monos.join(' ')}`);
    for (const e of fromA) assert.ok(Date.parse(e.timestamp) > Date.now() - 60_000);
    const fromB = got.filter((e) => e.source === `serial:${b.device}`);
    assert.deepEqual(fromB.map((e) => e.message), ['alpha', 'beta\\n']);
    assert.equal(fromB[0].module, 'SERIAL');
    const st = JSON.parse((await runCli(['status', '--json', '--socket', agent.control])).stdout);
    const sa = st.inputs.find((i: { path: string }) => i.path === a.device);
    assert.equal(sa.state, 'open');
    // The path is a symlink (like /dev/serial/by-id/…); status shows what it resolved to.
    assert.match(sa.device, /^\/dev\/pts\/\d+$/);
    assert.equal(sa.lines, 10);
    assert.equal(sa.partial_lines, 1);
    assert.equal(sa.framing_errors, 0);
    assert.equal(sa.bytes, Buffer.byteLength('one\ntwo\r\nthree\rfour\r\nfive\n<3>[   12.345678] usb 1-1: device descriptor read error\n[WARN] [PUMP] 2025-04-30T12:00:00.000Z pressure high\nE (1234) wifi: disconnected\nERROR: disk full\nlogin: '));
  } finally {
    await agent.stop();
    await a.kill();
    await b.kill();
  }
});
