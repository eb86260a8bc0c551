import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, startAgent, tempDir } from '../../helpers/agent.ts';
import { waitForFile } from '../../helpers/wait.ts';
import { PtyPair, WAIT } from '../../helpers/pty.ts';

const entries = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

/** An arm64 oops followed by the panic it causes, as a real board prints it on its console. */
const OOPS = [
  '[   45.123456] Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000',
  '[   45.123460] Mem abort info:',
  '[   45.123461]   ESR = 0x96000005',
  '[   45.123500] Internal error: Oops: 96000005 [#1] PREEMPT SMP',
  '[   45.123510] Modules linked in: gw_sensor(O)',
  '[   45.123520] CPU: 0 PID: 1 Comm: swapper/0 Tainted: G           O      5.10.0 #1',
  '[   45.123530] pc : sensor_probe+0x10/0x20 [gw_sensor]',
  '[   45.123540] Call trace:',
  '[   45.123550]  sensor_probe+0x10/0x20 [gw_sensor]',
  '[   45.123560]  platform_drv_probe+0x50/0xa0',
  '[   45.123570] Code: d2800001 f9400021 (b9400021) 52800000',
  '[   45.123580] ---[ end trace 1f2e3d4c5b6a7988 ]---',
];
const PANIC = [
  '[   45.123590] Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b',
  '[   45.123600] SMP: stopping secondary CPUs',
  '[   45.123610] ---[ end Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b ]---',
];

test('kernel oops and panic over a real pty become FATAL entries with their lines in order; a boot banner marks the reboot', async (t) => {
  const dir = tempDir('logloom-serial-');
  const pty = await new PtyPair(dir).start();
  t.after(() => pty.kill());
  const agent = await startAgent(`  inputs:
    - type: serial
      path: ${pty.device}
      module: board1
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`, dir);
  try {
    await agent.stderr.waitFor(/open at 115200/, WAIT);
    await pty.write('[   44.000000] routine before\r\n');
    // Written in pieces, CRLF as consoles do, with the oops split mid-line.
    const transcript = [...OOPS, ...PANIC].join('\r\n') + '\r\n';
    await pty.write(transcript.slice(0, 300));
    await pty.write(transcript.slice(300) + 'routine after\r\n');
    await pty.write('\r\nU-Boot 2023.04 (Jan 01 2024 - 00:00:00 +0000)\r\n[    0.000000] Linux version 5.10.0 (builder@ci) #1 SMP PREEMPT\r\n[    0.000100] Machine model: Gateway\r\n');
    const got = await waitForFile(`${agent.dir}/out.log`, (t) => {
      const es = entries(t);
      return es.some((e) => e.message === 'Machine model: Gateway') ? es : undefined;
    }, WAIT);
    const fatal = got.filter((e) => e.level === 'FATAL');
    assert.equal(fatal.length, 2, JSON.stringify(got, null, 1));
    const [oops, panic] = fatal;
    assert.equal(oops.fields.event, 'kernel_oops');
    assert.equal(oops.fields.lines, OOPS.length);
    assert.equal(oops.fields.ended_by, 'end_marker');
    assert.equal(oops.fields.kernel_time, 45.123456);
    assert.equal(oops.module, 'BOARD1');
    // Stored with real newlines (JSON escapes them on the wire), so downstream tools see the oops as lines.
    assert.equal(oops.message, OOPS.join('\n'));
    assert.equal(panic.fields.event, 'kernel_panic');
    assert.equal(panic.message, PANIC.join('\n'));
    // Routine lines around the oops stay separate entries, in order.
    // mono_ms gives back the console order, whatever order the priority lane delivered in.
    const byMono = [...got].sort((x, y) => x.fields.mono_ms - y.fields.mono_ms).map((e) => e.message.split('\n')[0]);
    assert.deepEqual(byMono.slice(0, 4), ['routine before', OOPS[0], PANIC[0], 'routine after']);
    const routine = got.filter((e) => e.level !== 'FATAL').map((e) => e.message);
    assert.deepEqual(routine.filter((m) => m.startsWith('routine')), ['routine before', 'routine after']);
    const boots = got.filter((e) => e.fields?.event === 'boot');
    assert.deepEqual(boots.map((e) => [e.level, e.fields.boot_stage, e.fields.boot_count]), [['WARN', 'bootloader', 1], ['WARN', 'kernel', 2]]);
    assert.match(boots[1].message, /^Linux version 5\.10\.0/);
    const st = JSON.parse((await runCli(['status', '--json', '--socket', agent.control])).stdout);
    assert.equal(st.inputs[0].oops_groups, 2);
    assert.equal(st.inputs[0].boots, 2);
  } finally {
    await agent.stop();
    await pty.kill();
  }
});

test('an oops whose board halts before the end marker is flushed as one FATAL entry after oops_idle_ms', async (t) => {
  const dir = tempDir('logloom-serial-');
  const pty = await new PtyPair(dir).start();
  t.after(() => pty.kill());
  const agent = await startAgent(`  inputs:
    - type: serial
      path: ${pty.device}
      oops_idle_ms: 300
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`, dir);
  try {
    await agent.stderr.waitFor(/open at 115200/, WAIT);
    await pty.write('BUG: kernel NULL pointer dereference, address: 0000000000000008\n#PF: supervisor read access in kernel mode\nCall Trace:\n ? irq_exit+0x3a/0x40\n');
    const [bug] = await waitForFile(`${agent.dir}/out.log`, (t) => {
      const es = entries(t);
      return es.length ? es : undefined;
    }, WAIT);
    assert.equal(bug.level, 'FATAL');
    assert.equal(bug.fields.event, 'kernel_bug');
    assert.equal(bug.fields.lines, 4);
    assert.equal(bug.fields.ended_by, 'idle');
  } finally {
    await agent.stop();
    await pty.kill();
  }
});
