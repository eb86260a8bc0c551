import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForFile, waitForLines } from '../../helpers/wait.ts';
import { agentWith, messages, pluginStatus, PY_FIXTURES, send } from './helpers.ts';
import type { RunningAgent } from '../../helpers/agent.ts';

/**
 * Every fault a plugin can have (crash, hang, malformed or empty answer, wrong id, flood) against a real python3 child: the supervisor prints the contract line,
 * does not use the answer (the filter fails open: the entry is kept), restarts the plugin, and
 * the next entry is filtered by the fresh process again.
 */
const FAULTS: [string, RegExp][] = [
  ['crash', /process exited with code 3/],
  ['hang', /no answer within 1000 ms|timed out after 1000 ms/],
  ['malformed', /malformed JSON/],
  ['empty', /empty answer/],
  ['wrongid', /wrong id: answer for request 987654/],
  ['flood', /answer flood/],
  ['longline', /answer line longer than 1048576 bytes/],
];

async function recovered(agent: RunningAgent, n: number): Promise<void> {
  // A dropped probe proves the (restarted) plugin answers again; the kept one marks the spot.
  await send(agent, 'drop-me', `ok-${n}`);
  await waitForFile(`${agent.dir}/out.log`, (t) => (t.includes(`"ok-${n}"`) ? true : undefined), 20_000);
}

test('python plugin faults: crash, hang, malformed, empty, wrong id, flood, over-long line → error line, fail open, restart, no entry lost', async () => {
  const agent = await agentWith(`    dirs: [${PY_FIXTURES}]
    enabled: [filter_faulty, sink_file]
    failure_threshold: 1
    limits:
      filter_faulty: { timeout_ms: 1000 }
    config:
      sink_file: { path: DIR/out.log, format: json }
`);
  try {
    let restarts = 0;
    for (const [i, [fault, reason]] of FAULTS.entries()) {
      await send(agent, fault);
      await agent.stderr.waitFor(new RegExp(`Plugin filter_faulty restarted \\(restart ${++restarts}\\)`), 20_000);
      await recovered(agent, i);
      // The reason is in status; the [ERROR] line itself may be folded into the next one by the
      // supervisor's rate limit (at most one per second per plugin), so only the first is awaited.
      const st = await pluginStatus(agent, 'filter_faulty');
      assert.match(st.last_error, reason, fault);
      if (i === 0) await agent.stderr.waitFor(new RegExp(`^\\[ERROR\\] Plugin communication failed: filter_faulty: ${reason.source}`));
    }
    const out = messages(await waitForLines(`${agent.dir}/out.log`, FAULTS.length * 2));
    // Each faulty entry was kept (fail open), each probe ok-N passed, each drop-me was dropped.
    for (const [i, [fault]] of FAULTS.entries()) {
      assert.ok(out.includes(fault), `${fault} kept`);
      assert.ok(out.includes(`ok-${i}`));
    }
    assert.ok(!out.includes('drop-me'));
    const st = await pluginStatus(agent, 'filter_faulty');
    assert.ok(st.restarts >= FAULTS.length, String(st.restarts));
    assert.equal(st.state, 'enabled');
  } finally {
    await agent.stop();
  }
});

test('python sink crashing on a batch: the batch stays queued, is retried after the restart, nothing lost', async () => {
  const agent = await agentWith(`    dirs: [${PY_FIXTURES}]
    enabled: [sink_collect]
`);
  try {
    await send(agent, 'a1', 'a2', 'fail-once', 'a3');
    await agent.stderr.waitFor(/\[ERROR\] Plugin communication failed: sink_collect: process exited with code 7/);
    await agent.stderr.waitFor(/Plugin sink_collect restarted/, 20_000);
    await send(agent, 'after');
    const got = await waitForFile(`${agent.dir}/data/plugins/sink_collect/collected.txt`, (t) => {
      const l = t.trim().split('\n');
      return l.includes('after') && l.includes('fail-once') ? l : undefined;
    }, 20_000);
    assert.deepEqual([...got].sort(), ['a1', 'a2', 'a3', 'after', 'fail-once']);
  } finally {
    await agent.stop();
  }
});
