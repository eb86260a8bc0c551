/**
 * Run-time plugin management through the control socket, with the real CLI against a real agent
 * and real Python children: disable stops a process plugin's process and frees its limits,
 * enable starts it again, reload restarts a plugin with its file as it is now (and refuses a
 * broken one without losing entries), rescan makes new files available, and --type switches a
 * whole type.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../helpers/agent.ts';
import { waitForFile } from '../../helpers/wait.ts';
import { agentWith, pluginStatus, send } from './helpers.ts';

const filterDropping = (name: string, word: string) => `def plugin_info():
    return {"name": "${name}", "version": "1.0.0", "author": "t", "type": "filter"}

def plugin_process(entry):
    return {"status": 0} if "${word}" not in entry["message"] else False
`;

const AI = `def plugin_info():
    return {"name": "ai_watch", "version": "1.0.0", "author": "t", "type": "ai"}

def plugin_process(entry):
    if entry["level"] == "ERROR":
        return {"status": 0, "summary": "saw: " + entry["message"]}
    return {"status": 0, "message": "ok"}
`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const lines = (t: string) => t.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { message: string; module: string });

test('plugins disable/enable/reload/rescan and --type through the control socket, with status showing the state', async () => {
  const agent = await agentWith(`    dirs: [DIR/plugins]
    enabled: [filter_py, ai_watch, sink_file]
    defaults: { timeout_ms: 5000 }
    config:
      sink_file: { path: DIR/out.log, format: json }
`, (dir) => {
    mkdirSync(join(dir, 'plugins'));
    writeFileSync(join(dir, 'plugins/filter_py.py'), filterDropping('filter_py', 'v1drop'));
    writeFileSync(join(dir, 'plugins/ai_watch.py'), AI);
  });
  const out = join(agent.dir, 'out.log');
  const ctl = ['--socket', agent.control];
  const seen = (m: string) => waitForFile(out, (t) => (lines(t).some((e) => e.message === m) ? lines(t) : undefined));
  const cli = async (...args: string[]) => {
    const r = await runCli(['plugins', ...args, ...ctl]);
    return { ...r, text: r.stdout + r.stderr };
  };
  try {
    await send(agent, 'v1drop a', 'mark 1');
    await seen('mark 1');
    const st1 = await pluginStatus(agent, 'filter_py');
    const pid1 = st1.pid as number;
    assert.ok(alive(pid1));

    // disable: the stage is skipped and the process is gone (its limits removed with it).
    let r = await cli('disable', 'filter_py');
    assert.equal(r.code, 0, r.text);
    assert.ok(!alive(pid1), 'the disabled plugin\'s process was stopped');
    const st2 = await pluginStatus(agent, 'filter_py');
    assert.equal(st2.state, 'disabled');
    assert.equal(st2.run_state, 'stopped');
    assert.equal(st2.limits, null);
    await send(agent, 'v1drop b', 'mark 2');
    await seen('mark 2');
    assert.ok((await seen('mark 2')).some((e) => e.message === 'v1drop b'), 'a disabled filter filters nothing');

    // enable: a new process, filtering again.
    r = await cli('enable', 'filter_py');
    assert.equal(r.code, 0, r.text);
    const st3 = await pluginStatus(agent, 'filter_py');
    assert.equal(st3.state, 'enabled');
    assert.notEqual(st3.pid, pid1);
    assert.ok(alive(st3.pid));

    // reload: the file as it is now.
    writeFileSync(join(agent.dir, 'plugins/filter_py.py'), filterDropping('filter_py', 'v2drop'));
    r = await cli('reload', 'filter_py');
    assert.equal(r.code, 0, r.text);
    assert.match(r.stdout, /^filter_py: reloaded \(version 1\.0\.0\)$/m);
    await send(agent, 'v2drop c', 'v1drop c', 'mark 3');
    const after3 = (await seen('mark 3')).map((e) => e.message);
    assert.ok(after3.includes('v1drop c') && !after3.includes('v2drop c'), after3.join(', '));

    // A broken file: reload says why; entries keep flowing (the filter fails open) until it is fixed.
    writeFileSync(join(agent.dir, 'plugins/filter_py.py'), 'def plugin_info(:\n');
    r = await cli('reload', 'filter_py');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Failed to load plugin 'filter_py\.py': SyntaxError: invalid syntax/);
    assert.equal((await pluginStatus(agent, 'filter_py')).state, 'failed');
    await send(agent, 'mark 4');
    await seen('mark 4');
    writeFileSync(join(agent.dir, 'plugins/filter_py.py'), filterDropping('filter_py', 'v3drop'));
    assert.equal((await cli('reload', 'filter_py')).code, 0);
    await send(agent, 'v3drop d', 'mark 5');
    assert.ok(!(await seen('mark 5')).some((e) => e.message === 'v3drop d'));

    // rescan: a new file becomes available without a restart, and can be enabled.
    writeFileSync(join(agent.dir, 'plugins/filter_new.py'), filterDropping('filter_new', 'newdrop'));
    r = await cli('rescan');
    assert.equal(r.code, 0, r.text);
    assert.match(r.stdout, /^filter_new: found \(enable it with `logloom plugins enable filter_new`\)$/m);
    const list = JSON.parse((await cli('list', '--json')).stdout) as { name: string; state: string }[];
    assert.equal(list.find((x) => x.name === 'filter_new')?.state, 'disabled');
    assert.equal((await cli('enable', 'filter_new')).code, 0);
    await send(agent, 'newdrop e', 'mark 6');
    assert.ok(!(await seen('mark 6')).some((e) => e.message === 'newdrop e'));
    assert.match((await cli('rescan')).stdout, /^no new plugins$/m);

    // --type ai: every ai plugin off (process stopped), then on again.
    await send(agent, { level: 'ERROR', message: 'boom 1' });
    await waitForFile(out, (t) => (lines(t).some((e) => e.module === 'AI' && e.message === 'saw: boom 1') ? true : undefined));
    const aiPid = (await pluginStatus(agent, 'ai_watch')).pid as number;
    r = await cli('disable', '--type', 'ai');
    assert.equal(r.code, 0, r.text);
    assert.match(r.stdout, /^ai_watch: disabled$/m);
    assert.ok(!alive(aiPid));
    assert.equal((await pluginStatus(agent, 'ai_watch')).state, 'disabled');
    await send(agent, { level: 'ERROR', message: 'boom 2' }, 'mark 7');
    assert.ok(!(await seen('mark 7')).some((e) => e.message === 'saw: boom 2'));
    r = await cli('enable', '--type', 'ai');
    assert.equal(r.code, 0, r.text);
    await send(agent, { level: 'ERROR', message: 'boom 3' });
    await waitForFile(out, (t) => (lines(t).some((e) => e.message === 'saw: boom 3') ? true : undefined));
    // "ok" acknowledgements never became entries.
    assert.ok(!(await seen('mark 7')).some((e) => e.module === 'AI' && e.message === 'ok'));

    const bad = await cli('disable', '--type', 'nope');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /type 'nope' is not one of filter, sink, ai, lang/);
  } finally {
    await agent.stop();
  }
});
