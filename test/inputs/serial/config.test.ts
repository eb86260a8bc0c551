import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, tempDir } from '../../helpers/agent.ts';

test('serial config: each bad key is reported with file, line, column and what was expected', async () => {
  const dir = tempDir('logloom-serial-');
  const file = join(dir, 'logloom.yaml');
  writeFileSync(file, `logloom:
  inputs:
    - type: serial
      path: /dev/serial/by-id/usb-FTDI_FT232R-if00-port0
      baud_rate: fast
      data_bits: 9
      parity: sometimes
      flow_control: dtr
      encoding: utf-16
      raw_capture: { max_bytes: 1MiB }
    - type: serial
      baud_rate: 115200
`);
  const r = await runCli(['check-config', '-c', file]);
  assert.equal(r.code, 1);
  const want = [
    `${file}:5:18: inputs[0].baud_rate: expected an integer from 50 to 4000000, got "fast"`,
    `${file}:6:18: inputs[0].data_bits: expected one of 5…8, got 9`,
    `${file}:7:15: inputs[0].parity: expected one of none, even, odd, mark, space, got "sometimes"`,
    `${file}:8:21: inputs[0].flow_control: expected one of none, rtscts, xonxoff, got "dtr"`,
    `${file}:9:17: inputs[0].encoding: expected one of utf-8, latin1, got "utf-16"`,
    `${file}:10:20: inputs[0].raw_capture.path: required key is missing (a string)`,
    `${file}:11:7: inputs[1].path: required key is missing (a string)`,
  ];
  assert.deepEqual(r.stderr.split('\n').filter(Boolean), want);
});

test('serial config: a by-id path, a custom baud rate and all defaults are accepted', async () => {
  const dir = tempDir('logloom-serial-');
  const file = join(dir, 'logloom.yaml');
  writeFileSync(file, `logloom:
  inputs:
    - type: serial
      path: /dev/serial/by-id/usb-Silicon_Labs_CP2102-if00-port0
      baud_rate: 250000
      flow_control: rtscts
      separator: "\\0"
      raw_capture: { path: /var/log/logloom/console-ttyUSB0.raw }
`);
  const r = await runCli(['check-config', '-c', file]);
  assert.equal(r.code, 0, r.stderr);
});
