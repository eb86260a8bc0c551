import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs } from 'node:util';
import { randomToken } from '../../lib/random-token.ts';

test('generated tokens are 43 base64url characters, all different, and never start with "-" (so `--token <value>` always parses)', () => {
  const seen = new Set<string>();
  // 5,000 draws: with a plain base64url encoding about 78 would start with "-".
  for (let i = 0; i < 5000; i++) {
    const t = randomToken();
    assert.match(t, /^[A-Za-z0-9_][A-Za-z0-9_-]{42}$/);
    seen.add(t);
    const { values } = parseArgs({ args: ['--token', t], options: { token: { type: 'string' } } });
    assert.equal(values.token, t);
  }
  assert.equal(seen.size, 5000);
});
