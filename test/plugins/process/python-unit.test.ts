import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../../helpers/agent.ts';

test('python unit tests of the example plugins (Drain miner, bursts, window, YAML subset parser) pass under /usr/bin/python3', () => {
  const r = spawnSync('/usr/bin/python3', ['-B', '-m', 'unittest', 'discover', '-s', 'python/tests'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /Ran \d+ tests/);
});
