/**
 * `make test-plugins` inside `make test`: the conformance check of every plugin in the repository
 * (static, Python, the C examples built by gcc) and the .so failure-fallback and limited-run
 * scenarios in a running agent, as toolchain/test-plugins.ts runs them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers/agent.ts';
import { repoPlugins } from '../../toolchain/test-plugins.ts';

test('make test-plugins: every plugin in the repository passes its conformance check; .so failure fallback and limited run pass in a running agent', async () => {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(ROOT, 'toolchain/test-plugins.ts')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d.toString()));
  child.stderr.on('data', () => {});
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 0, out.slice(-4000));
  // Every shipped plugin has its own PASS line (the C examples: every one but the faulty one).
  const names = [...repoPlugins().map((p) => p.split('/').pop()!.replace(/\.(so|py|ya?ml)$/, '')), 'ai_error_burst', 'filter_keyword', 'lang_registrar', 'sink_stdout_batch'];
  for (const name of names) assert.match(out, new RegExp(`^PASS ${name}: \\d+ passed, 0 failed$`, 'm'), `${name}\n${out.slice(-3000)}`);
  assert.match(out, /^PASS {2}so-fallback: /m);
  assert.match(out, /^PASS {2}so-limited: .*\((cgroup1|cgroup2|rlimit)\)$/m);
  assert.match(out, /^make test-plugins: \d+ plugins checked, 2 \.so scenarios in a running agent, all passed$/m);
});
