/**
 * C plugins inside a real running agent: the registry discovers .so files compiled here, the
 * supervisor reports host crashes and restarts the host, a broken plugin is refused verbatim.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { startAgent, tempDir } from '../helpers/agent.ts';
import { waitForFile } from '../helpers/wait.ts';
import { compilePlugin } from './compile.ts';
import { writeToSocket } from '../helpers/socket.ts';

function messages(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).message);
  } catch {
    return [];
  }
}

test('agent: a crashing and hanging C filter is isolated, reported, restarted; others keep flowing; a broken .so is refused verbatim', async () => {
  const dir = tempDir('logloom-native-agent-');
  mkdirSync(`${dir}/plugins`);
  compilePlugin(`${dir}/plugins`, 'filter_faulty.so', { example: 'filter_faulty.c' });
  compilePlugin(`${dir}/plugins`, 'sink_stdout_batch.so', { example: 'sink_stdout_batch.c' });
  compilePlugin(`${dir}/plugins`, 'filter_broken.so', { code: 'int plugin_init(void){return 0;}\nvoid plugin_shutdown(void){}\n' });
  const agent = await startAgent(`  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    dirs: [DIR/plugins]
    enabled: [filter_broken, filter_faulty, sink_stdout_batch, sink_file]
    limits:
      filter_faulty: { timeout_ms: 400 }
    config:
      sink_file: { path: DIR/out.log, format: json }
`, dir);
  const out = `${dir}/out.log`;
  try {
    await agent.stderr.waitFor(/^\[WARN\] Failed to load plugin 'filter_broken\.so': missing plugin_process\(\)$/);
    await writeToSocket(agent.ingest, 'before\nDROP_ME 1\n');
    await waitForFile(out, (t) => (t.includes('"before"') ? true : undefined));

    await writeToSocket(agent.ingest, 'CRASH_ME please\n');
    await agent.stderr.waitFor(/^\[ERROR\] Plugin communication failed: filter_faulty: .*SIGSEGV/);
    await agent.stderr.waitFor(/Plugin filter_faulty restarted/);
    await writeToSocket(agent.ingest, 'after crash\nDROP_ME 2\n');
    await waitForFile(out, (t) => (t.includes('"after crash"') ? true : undefined));

    await writeToSocket(agent.ingest, 'HANG_ME forever\n');
    // The stalled host is killed (repeated failure reports are rate-limited, so wait for the restart).
    await agent.stderr.waitFor(/^\[ERROR\] Plugin filter_faulty marked failed \(.*(SIGKILL|400 ms)/);
    await agent.stderr.waitFor(/Plugin filter_faulty restarted \(restart 2\)/);
    await writeToSocket(agent.ingest, 'after hang\nDROP_ME 3\n');
    await waitForFile(out, (t) => (t.includes('"after hang"') ? true : undefined));

    const got = messages(out);
    // Fail open: the entries the failing calls carried are kept; the restarted plugin still drops.
    for (const m of ['before', 'CRASH_ME please', 'after crash', 'HANG_ME forever', 'after hang']) assert.ok(got.includes(m), `missing ${m} in ${got}`);
    assert.ok(!got.some((m) => m.startsWith('DROP_ME')), `a DROP_ME got through: ${got}`);
    // The C batch sink wrote whole batches to the agent's stdout.
    await agent.stdout.waitFor(/^-- batch of \d+$/);
    await agent.stdout.waitFor(/INFO \[UNIX\] after hang$/);
  } finally {
    await agent.stop();
  }
});
