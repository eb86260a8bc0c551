/**
 * The fast path in a running agent: unix input bytes → C codec → native ring → filters → sinks
 * (buffer.native: on) gives the same entries as the JS object path (off).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runCli, startAgent } from '../helpers/agent.ts';
import { waitForLines } from '../helpers/wait.ts';
import { writeToSocket } from '../helpers/socket.ts';

const PARTS = [
  Buffer.from('[ERROR] [pump] pressure lost\r\n<12>sshd[99]: bad key\nWARNING: disk 91%\n{"level":"info","module":"cfg","message":"json"}\nplain with \x1b[31mescape\x1b[0m and '),
  Buffer.from([0xff, 0xc3]),
  Buffer.from(' bad utf8\nsplit across wri'),
  Buffer.from('tes\n'),
];

for (const mode of ['on', 'off'] as const) {
  test(`fast path (buffer.native: ${mode}): levels and modules extracted, hostile bytes sanitised, partial lines joined, counted`, async () => {
    const agent = await startAgent(`  buffer:
    native: ${mode}
  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`);
    try {
      await writeToSocket(agent.ingest, PARTS);
      const got = (await waitForLines(`${agent.dir}/out.log`, 6)).map((l) => JSON.parse(l));
      assert.deepEqual(got.map((e) => [e.level, e.module, e.message]), [
        ['ERROR', 'PUMP', 'pressure lost'],
        ['WARN', 'SSHD', 'bad key'],
        ['WARN', 'UNIX', 'disk 91%'],
        ['INFO', 'CFG', 'json'],
        ['INFO', 'UNIX', 'plain with \\x1b[31mescape\\x1b[0m and \ufffd\ufffd bad utf8'],
        ['INFO', 'UNIX', 'split across writes'],
      ]);
      for (const e of got) {
        assert.equal(e.node, 'test-node');
        assert.equal(e.source, 'unix');
        assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      }
      const status = JSON.parse((await runCli(['status', '--json', '--socket', agent.control])).stdout);
      assert.equal(status.inputs[0].received, 6);
      assert.equal(status.inputs[0].dropped, 0);
      // on: the native ring; off: the JS ring, same records; its counters in status either way.
      assert.equal(status.buffer.ring.impl, mode === 'on' ? 'native' : 'js');
      assert.ok(status.buffer.ring.pushed >= 6 && status.buffer.ring.drained >= 6, JSON.stringify(status.buffer.ring));
      assert.ok(!readFileSync(`${agent.dir}/out.log`, 'utf8').includes('\x1b'));
    } finally {
      await agent.stop();
    }
  });
}
