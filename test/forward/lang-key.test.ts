/**
 * An entry sent with a lang_key and no message reaches the aggregator's store with the message
 * rendered in the agent's language, lang_key and args kept for re-rendering. Real agent, real
 * aggregator, on the records path (unix input, NDJSON) and on the object path (a file input).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tempDir } from '../helpers/agent.ts';
import { sendLines } from '../helpers/socket.ts';
import { storedEntries } from '../aggregator/helpers.ts';
import { aggregatorFixture, startForwardingAgent, waitStored } from './helpers.ts';

for (const compression of ['deflate', 'none']) test(`lang_key entries are stored with their message rendered in the agent's language, lang_key and args kept; small batches (${compression}) keep the order`, async (t) => {
  const agg = await aggregatorFixture();
  t.after(() => agg.stop());
  await agg.start();
  const dir = tempDir();
  writeFileSync(`${dir}/app.log`, JSON.stringify({ lang_key: 'demo.login', args: ['bob', '10.0.0.9'] }) + '\n');
  // Batches of 16: the forwarder's batch buffers are reused and grown across them.
  const agent = await startForwardingAgent(dir, agg.port, { input: '    - type: unix\n      path: DIR/run/ingest.sock\n', remote: `        batch_max_entries: 16\n        compression: ${compression}\n` });
  try {
    await sendLines(agent.ingest, [
      JSON.stringify({ lang_key: 'demo.login', args: ['alice', '10.0.0.7'] }),
      JSON.stringify({ lang_key: 'demo.login', args: ['carol', '10.0.0.8'], message: 'kept as sent' }),
      'plain line',
      // A longer run with lang_key entries scattered among plain ones (the forwarder finds them
      // by searching the run once per match): every one of them is rendered, no other touched.
      ...Array.from({ length: 120 }, (_, i) => (i % 7 === 3 ? JSON.stringify({ lang_key: 'demo.login', args: [`u${i}`, '10.0.0.1'] }) : `plain ${i}`)),
    ]);
    await waitStored(agg.store, 'test-node', 124, 30_000);
    const byUser = new Map(storedEntries(agg.store, 'test-node').map((e) => [(e.args as string[] | undefined)?.[0] ?? e.message, e]));
    assert.equal(byUser.get('alice')!.message, 'user alice logged in from 10.0.0.7');
    assert.equal(byUser.get('alice')!.lang_key, 'demo.login');
    assert.deepEqual(byUser.get('alice')!.args, ['alice', '10.0.0.7']);
    assert.equal(byUser.get('bob')!.message, 'user bob logged in from 10.0.0.9');
    assert.equal(byUser.get('carol')!.message, 'kept as sent');
    assert.ok(byUser.has('plain line'));
    const run = storedEntries(agg.store, 'test-node').map((e) => (e.args as string[] | undefined)?.[0] ?? e.message).filter((k) => /^(u|plain )\d+$/.test(String(k)));
    assert.deepEqual(run, Array.from({ length: 120 }, (_, i) => (i % 7 === 3 ? `u${i}` : `plain ${i}`)), 'in the order sent');
    for (let i = 0; i < 120; i++) {
      if (i % 7 === 3) assert.equal(byUser.get(`u${i}`)?.message, `user u${i} logged in from 10.0.0.1`, `u${i}`);
      else assert.equal(byUser.get(`plain ${i}`)?.lang_key, undefined, `plain ${i}`);
    }
  } finally {
    await agent.stop();
  }
});
