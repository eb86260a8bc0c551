import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, copyFileSync, existsSync, openSync, readFileSync, renameSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tempDir } from '../helpers/agent.ts';
import { FileTailer } from '../../agent/inputs/file/tailer.ts';
import { createLog } from '../../lib/log.ts';
import { agentStatus, startAgent } from '../forward/helpers.ts';
import { until, waitForLines } from '../helpers/wait.ts';
import { inputToFile } from '../helpers/config.ts';

/** An agent tailing `path` (DIR-relative) into DIR/out.ndjson through sink_file (json). */
function config(path: string, extra = '') {
  return inputToFile('file', `      path: ${path}\n      poll_interval: 50ms\n      rotate_wait: 1s\n${extra}`);
}

const lines = (from: number, to: number, tag = 'line') => Array.from({ length: to - from }, (_, i) => `${tag} ${from + i}\n`).join('');
const messages = (out: string[]) => out.map((l) => (JSON.parse(l) as { message: string }).message);
const expected = (from: number, to: number, tag = 'line') => Array.from({ length: to - from }, (_, i) => `${tag} ${from + i}`);

test('file input follows mv + recreate (with late writes to the old file) and copytruncate, in order, no line lost or repeated', async () => {
  const dir = tempDir();
  const log = `${dir}/app.log`;
  writeFileSync(log, lines(0, 1000));
  const agent = await startAgent(config('DIR/app.log'), dir);
  try {
    await waitForLines(`${dir}/out.ndjson`, 1000, 60_000);
    // An application keeps its descriptor across the rename and writes a little more before reopening.
    const fd = openSync(log, 'a');
    writeSync(fd, lines(1000, 1200));
    renameSync(log, `${log}.1`);
    writeSync(fd, lines(1200, 1300));
    closeSync(fd);
    writeFileSync(log, lines(1300, 2000));
    await waitForLines(`${dir}/out.ndjson`, 2000, 60_000);
    // copytruncate: the content is copied away and the file cut to zero under the agent.
    copyFileSync(log, `${log}.2`);
    truncateSync(log, 0);
    appendFileSync(log, lines(2000, 2100));
    const out = await waitForLines(`${dir}/out.ndjson`, 2100, 60_000);
    assert.deepEqual(messages(out), expected(0, 2100));
    const entry = JSON.parse(out[0]!);
    assert.equal(entry.source, `file:${log}`);
  } finally {
    await agent.stop();
  }
});

test('file input: a restart neither repeats nor skips lines (orderly stop, lines appended while down, a partial last line)', async () => {
  const dir = tempDir();
  const log = `${dir}/app.log`;
  writeFileSync(log, lines(0, 3000) + 'partial');
  let agent = await startAgent(config('DIR/app.log'), dir);
  await waitForLines(`${dir}/out.ndjson`, 3000, 60_000);
  const stopped = await agent.stop();
  assert.equal(stopped.code, 0);
  const pos = JSON.parse(readFileSync(`${dir}/data/inputs/file/offsets.json`, 'utf8'));
  const rec = Object.values(pos.files)[0] as { offset: number };
  assert.equal(rec.offset, Buffer.byteLength(lines(0, 3000)), 'the committed position is the end of the last whole line');
  appendFileSync(log, ' end\n' + lines(3000, 4000));
  agent = await startAgent(config('DIR/app.log'), dir);
  try {
    const out = await waitForLines(`${dir}/out.ndjson`, 4001, 60_000);
    assert.deepEqual(messages(out), [...expected(0, 3000), 'partial end', ...expected(3000, 4000)]);
  } finally {
    await agent.stop();
  }
});

test('file input: read_from end skips old content at first start; a glob follows several files and finishes a file rotated while the agent was down', async () => {
  const dir = tempDir();
  writeFileSync(`${dir}/a.log`, lines(0, 100, 'old-a'));
  let agent = await startAgent(config('DIR/*.log*', '      read_from: end\n'), dir);
  appendFileSync(`${dir}/a.log`, lines(0, 50, 'a'));
  writeFileSync(`${dir}/b.log`, lines(0, 50, 'b'));
  let out = await waitForLines(`${dir}/out.ndjson`, 100, 60_000);
  assert.deepEqual(messages(out).filter((m) => m.startsWith('a ')), expected(0, 50, 'a'));
  assert.deepEqual(messages(out).filter((m) => m.startsWith('b ')), expected(0, 50, 'b'), 'a file created after start is read from its beginning');
  assert.ok(!messages(out).some((m) => m.startsWith('old-a')));
  await agent.stop();
  // While the agent is down: more lines, then logrotate moves a.log away and starts a new one.
  appendFileSync(`${dir}/a.log`, lines(50, 80, 'a'));
  renameSync(`${dir}/a.log`, `${dir}/a.log.1`);
  writeFileSync(`${dir}/a.log`, lines(80, 100, 'a'));
  agent = await startAgent(config('DIR/*.log*', '      read_from: end\n'), dir);
  try {
    out = await waitForLines(`${dir}/out.ndjson`, 150, 60_000);
    const a = messages(out).filter((m) => m.startsWith('a '));
    assert.deepEqual(a, expected(0, 100, 'a'), 'the rotated file is finished by inode, the new one read from its start');
    assert.equal(out.length, 150);
  } finally {
    await agent.stop();
  }
});

test('file input: a poison line (5,000 nested objects as the message, 5,000 nested arrays as args) does not take the next lines of the same read with it', async () => {
  const dir = tempDir();
  const nestedObjects = '{"a":'.repeat(5000) + '1' + '}'.repeat(5000);
  const nestedArrays = '['.repeat(5000) + ']'.repeat(5000);
  // One write, so the poison lines and their neighbours arrive in one read of the tailer.
  const text = `before\n{"message":${nestedObjects}}\nmiddle\n{"message":"m","args":[${nestedArrays}]}\nafter\n`;
  writeFileSync(`${dir}/app.log`, text);
  const agent = await startAgent(config('DIR/app.log'), dir);
  try {
    let out: string[] = [];
    let input: Record<string, any> = {};
    let committed = -1;
    // Every line is accounted for (delivered, or rejected and counted) and the position moved past all of them.
    await until(async () => {
      input = (await agentStatus(agent.configPath)).inputs.find((i: Record<string, any>) => i.name === 'file');
      out = existsSync(`${dir}/out.ndjson`) ? readFileSync(`${dir}/out.ndjson`, 'utf8').split('\n').filter(Boolean) : [];
      committed = existsSync(`${dir}/data/inputs/file/offsets.json`) ? (Object.values(JSON.parse(readFileSync(`${dir}/data/inputs/file/offsets.json`, 'utf8')).files)[0] as { offset: number }).offset : -1;
      return out.length >= 5 && committed === Buffer.byteLength(text);
    }, 60_000, () => `delivered ${out.length}, rejected ${input.rejected}, committed ${committed} of ${Buffer.byteLength(text)}`);
    const plain = messages(out).filter((m) => ['before', 'middle', 'after'].includes(m));
    assert.deepEqual(plain, ['before', 'middle', 'after'], 'the lines around each poison line arrive, in order');
    // Each poison line is rejected as JSON (counted, with the reason) and kept as text: nothing accepted is lost.
    assert.equal(input.rejected, 2, `rejected ${input.rejected} (${input.last_reject})`);
    assert.match(input.last_reject, /nested deeper than/);
    assert.equal(out.length, 5, `delivered ${out.length}`);
    assert.equal(messages(out).filter((m) => m.startsWith('{"message":')).length, 2, 'the poison lines arrive as text');
  } finally {
    await agent.stop();
  }
});

test('file tailer: a line whose hand-over throws (a context that throws on it stands in for any failure downstream) is rejected and counted; the rest of the same read is emitted and the position passes it', async () => {
  const dir = tempDir();
  const path = `${dir}/app.log`;
  const text = 'one\npoison\ntwo\nthree\n';
  writeFileSync(path, text);
  const emitted: string[] = [];
  const rejected: string[] = [];
  const log = createLog('ERROR', () => {});
  const ctx = {
    name: 'file', log, stateDir: dir, drained: async () => {},
    reject: (why: string) => void rejected.push(why),
    emit: (d: { message?: unknown; checkpoint?: { hold(): void; release(): void } }) => {
      if (d.message === 'poison') throw new RangeError('Maximum call stack size exceeded');
      emitted.push(String(d.message));
      d.checkpoint?.hold();
      d.checkpoint?.release();
      return true;
    },
  };
  let committed = -1;
  const t = await FileTailer.open(path, async () => 0, ctx as never, 1024, { committed: (x) => void (committed = x.committed) });
  assert.equal(await t.read(1 << 20), 'eof');
  assert.deepEqual(emitted, ['one', 'two', 'three']);
  assert.equal(rejected.length, 1);
  assert.match(rejected[0]!, /line of 6 bytes ending at offset 11 was not taken: Maximum call stack size exceeded/);
  assert.equal(committed, Buffer.byteLength(text), 'the committed position passes the rejected line');
  assert.equal(t.status().poison_lines, 1);
  await t.close();
});
