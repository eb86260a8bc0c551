import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startCli, tempDir } from '../helpers/agent.ts';
import { waitForLines } from '../helpers/wait.ts';

for (const native of ['auto', 'off']) test(`stdin input (buffer.native ${native}): \`app | logloom run\` takes NDJSON and plain lines through the codec; end of input is shown in status`, async () => {
  const dir = tempDir();
  const config = join(dir, 'logloom.yaml');
  writeFileSync(config, `logloom:
  data_dir: ${dir}/data
  runtime_dir: ${dir}/run
  control: { socket: ${dir}/run/control.sock }
  buffer: { native: ${native} }
  inputs:
    - type: stdin
      module: PIPE
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: ${dir}/out.log, format: json }
`);
  const agent = startCli(['run', '-c', config], { stdin: 'pipe' });
  try {
    await agent.stderr.waitFor(/started on node/);
    agent.proc.stdin!.write('{"level":"ERROR","message":"from json"}\nplain line\n');
    agent.proc.stdin!.end('WARNING: last line without newline');
    const lines = (await waitForLines(`${dir}/out.log`, 3)).map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((e) => [e.level, e.module, e.message, e.source]), [
      ['ERROR', 'PIPE', 'from json', 'stdin'],
      ['INFO', 'PIPE', 'plain line', 'stdin'],
      ['WARN', 'PIPE', 'last line without newline', 'stdin'],
    ]);
    const status = JSON.parse((await runCli(['status', '--json', '--socket', `${dir}/run/control.sock`])).stdout);
    assert.equal(status.inputs[0].lines, 3);
    assert.equal(status.inputs[0].eof, true);
  } finally {
    agent.proc.kill('SIGTERM');
    assert.equal((await agent.exited).code, 0);
  }
});
