import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitForFile, waitForLines } from '../../helpers/wait.ts';
import { agentWith, cgroupsOf, hostLimitsMechanism, messages, pluginStatus, PY_FIXTURES, send } from './helpers.ts';

const PLUGINS = `    dirs: [${PY_FIXTURES}]
    enabled: [filter_faulty, sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`;

test('python filter: real python3 child as nobody keeps and drops entries; sandbox refusals raise in the plugin and are reported', async () => {
  const agent = await agentWith(PLUGINS);
  try {
    await send(agent, 'first', 'drop-me', 'whoami', 'escape:subprocess', 'escape:socket', 'escape:write', 'escape:fork', 'last', 'stderr-flood');
    const lines = messages(await waitForLines(`${agent.dir}/out.log`, 8)).slice(0, 7);
    // drop-me was dropped by the plugin; the refused escapes raised, so the filter failed open (kept).
    assert.deepEqual(lines, ['first', 'whoami', 'escape:subprocess', 'escape:socket', 'escape:write', 'escape:fork', 'last']);
    // Ran as nobody (uid 65534) and could write in its own state dir.
    const uid = await waitForFile(`${agent.dir}/data/plugins/filter_faulty/whoami.txt`, (t) => t.trim() || undefined);
    assert.equal(uid, '65534');
    await agent.stderr.waitFor(/filter_faulty: stderr: whoami uid=65534/);
    for (const ev of ['subprocess.Popen', 'socket.__new__', 'open', 'os.fork']) {
      await agent.stderr.waitFor(new RegExp(`\\[WARN\\] filter_faulty: sandbox refused ${ev.replace('.', '\\.')}`));
    }
    await agent.stderr.waitFor(/\[ERROR\] Plugin communication failed: filter_faulty: entry \d: SandboxRefusal: logloom sandbox: process creation refused \(subprocess.Popen/);
    assert.equal(existsSync('/tmp/logloom-sandbox-escape.txt'), false);
    // A stderr flood is cut to 50 lines a second, with a summary of what was left out.
    const summary = await agent.stderr.waitFor(/\[WARN\] filter_faulty: (\d+) stderr lines suppressed \(more than 50 per second\)/);
    assert.ok(Number(/(\d+) stderr/.exec(summary)![1]) >= 200, summary);
    assert.ok(agent.stderr.lines.filter((l) => /stderr: flood line/.test(l)).length <= 100);
    // Visible in `logloom status`.
    const st = await pluginStatus(agent, 'filter_faulty', true);
    assert.equal(st.user, 'nobody');
    assert.equal(st.sandbox_refusals, 4);
    // The mechanism this host offers (cgroup v2, v1, or rlimits), and the child really inside it.
    const mechanism = hostLimitsMechanism();
    assert.equal(st.limits.mechanism, mechanism);
    if (mechanism !== 'rlimit') assert.ok(cgroupsOf(st.pid).some((g) => /\/logloom\/\d+\.filter_faulty$/.test(g)), cgroupsOf(st.pid).join(' '));
    assert.equal(st.kind, 'python');
  } finally {
    await agent.stop();
  }
  // Orderly shutdown ran the plugin's plugin_shutdown.
  assert.ok(agent.stderr.lines.some((l) => /filter_faulty: stderr: filter_faulty shutdown/.test(l)), agent.stderr.lines.join('\n'));
});

test('python plugins that cannot load: syntax error, missing plugin_process(), missing plugin_info() → [WARN] Failed to load plugin, agent keeps running', async () => {
  const agent = await agentWith(`    dirs: [DIR/plugins]
    enabled: [filter_broken, filter_noproc, filter_noinfo, sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`, (dir) => {
    mkdirSync(join(dir, 'plugins'));
    writeFileSync(join(dir, 'plugins/filter_broken.py'), 'def plugin_process(entry)\n    return True\n');
    writeFileSync(join(dir, 'plugins/filter_noproc.py'), 'def plugin_info():\n    return {"name":"filter_noproc","version":"1.0.0","author":"t","type":"filter"}\n');
    writeFileSync(join(dir, 'plugins/filter_noinfo.py'), 'def plugin_process(entry):\n    return True\n');
  });
  try {
    await agent.stderr.waitFor(/^\[WARN\] Failed to load plugin 'filter_broken.py': SyntaxError: expected ':'/);
    await agent.stderr.waitFor(/^\[WARN\] Failed to load plugin 'filter_noproc.py': missing plugin_process\(\)$/);
    await agent.stderr.waitFor(/^\[WARN\] Failed to load plugin 'filter_noinfo.py': missing plugin_info\(\) \(and no plugin.yaml beside it\)$/);
    await send(agent, 'still running');
    assert.deepEqual(messages(await waitForLines(`${agent.dir}/out.log`, 1)), ['still running']);
  } finally {
    await agent.stop();
  }
});
