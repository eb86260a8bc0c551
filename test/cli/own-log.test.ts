/** The agent's own log lines, as an operator reads them from a file or a journal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startAgent } from '../helpers/agent.ts';

const UNIX = `  inputs:\n    - type: unix\n      path: DIR/run/ingest.sock\n`;

test('own log lines start with an ISO-8601 UTC timestamp (text), or are JSON objects with time, level and msg (log_format: json)', async () => {
  const text = await startAgent(UNIX);
  try {
    const started = text.stderr.raw.find((l) => /started on node/.test(l));
    assert.match(started!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[INFO\] .*started on node test-node/);
    const t = Date.parse(started!.slice(0, 24));
    assert.ok(Math.abs(Date.now() - t) < 10 * 60_000, `timestamp ${started!.slice(0, 24)} is now`);
  } finally {
    await text.stop();
  }
  const json = await startAgent(`  log_format: JSON\n` + UNIX).catch((e) => e as Error);
  // Enum values are accepted in any case; the program sees the canonical one.
  assert.ok(!(json instanceof Error), String(json));
  try {
    const line = json.stderr.raw.find((l) => /started on node/.test(l))!;
    const o = JSON.parse(line) as { time: string; level: string; msg: string };
    assert.equal(o.level, 'INFO');
    assert.match(o.msg, /started on node test-node/);
    assert.ok(Number.isFinite(Date.parse(o.time)));
  } finally {
    await json.stop();
  }
});
