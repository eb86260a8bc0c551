import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitForFile, waitForLines } from '../../helpers/wait.ts';
import { agentWith, send } from './helpers.ts';

const PLUGIN = `import os
import logloom_plugin as sdk


def plugin_info():
    return {"name": "sink_statedir", "version": "1.0.0", "author": "tests", "type": "sink"}


def plugin_process_batch(entries):
    # The absolute path the agent handed over, not the working directory.
    with open(os.path.join(sdk.state_dir, "absolute.txt"), "a") as f:
        for e in entries:
            f.write("%d %s %s\\n" % (os.getuid(), sdk.state_dir, e.get("message", "")))
    return 0


def plugin_process(entry):
    return plugin_process_batch([entry])
`;

test('a Python plugin running as nobody writes through its absolute state_dir, though the data dir was created root-only (0750) as the rootfs used to', { skip: process.getuid?.() !== 0 && 'needs root (the plugin runs as nobody)' }, async () => {
  const agent = await agentWith(`    dirs: [DIR/plugins]
    enabled: [sink_statedir, sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`, (dir) => {
    mkdirSync(join(dir, 'plugins'));
    writeFileSync(join(dir, 'plugins/sink_statedir.py'), PLUGIN);
    mkdirSync(join(dir, 'data'), { mode: 0o750 });
    mkdirSync(join(dir, 'data/plugins'), { mode: 0o750 });
  });
  try {
    await send(agent, 'hello');
    await waitForLines(`${agent.dir}/out.log`, 1);
    const stateDir = join(agent.dir, 'data/plugins/sink_statedir');
    const line = await waitForFile(join(stateDir, 'absolute.txt'), (t) => t.trim() || undefined, 30_000);
    assert.equal(line, `65534 ${stateDir} hello`);
    assert.equal(statSync(join(agent.dir, 'data/plugins')).mode & 0o777, 0o711, 'the plugins root may be passed, not listed');
    assert.equal(statSync(join(agent.dir, 'data')).mode & 0o777, 0o751, 'the data dir got the search bit only');
    assert.equal(statSync(join(agent.dir, 'data/inputs')).mode & 0o777, 0o700, 'input positions stay the agent\'s');
  } finally {
    await agent.stop();
  }
});
