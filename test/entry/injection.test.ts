import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection } from 'node:net';
import { readFileSync } from 'node:fs';
import { buildEntry } from '../../entry/build.ts';
import { startAgent } from '../helpers/agent.ts';
import { waitForLines } from '../helpers/wait.ts';

const opts = { maxMessageBytes: 16384, defaultLevel: 'INFO' as const, defaultModule: 'APP', node: 'n1' };

test('entries are frozen: a plugin cannot change what others see', () => {
  const e = buildEntry({ message: 'hi', args: ['a'], fields: { k: 1 } }, opts);
  assert.ok(Object.isFrozen(e) && Object.isFrozen(e.args) && Object.isFrozen(e.fields));
  assert.throws(() => {
    (e as { message: string }).message = 'changed';
  }, TypeError);
  assert.throws(() => (e.args as unknown as string[]).push('b'), TypeError);
});

test('sanitising: control characters escaped, tab kept, invalid UTF-8 replaced, long message cut at a character boundary', () => {
  const e = buildEntry({ message: 'a\nb\r\x1b[31mred\x00\tend\x7f\u0085' }, opts);
  assert.equal(e.message, 'a\\nb\\r\\x1b[31mred\\x00\tend\\x7f\\u0085');
  const long = buildEntry({ message: 'é'.repeat(10_000) }, opts); // 20,000 bytes
  assert.equal(long.truncated, true);
  assert.equal(Buffer.byteLength(long.message), 16384);
  assert.ok(!long.message.includes('\ufffd'), 'cut must not split a character');
  const m = buildEntry({ module: 'my module with spaces and more', level: 'warning' }, opts);
  assert.equal(m.module, 'MY_MODULE_WITH_S');
  assert.equal(m.level, 'WARN');
});

test('log injection over the unix socket is rendered safely by the console and file sinks', async () => {
  const agent = await startAgent(`  max_message_bytes: 4096
  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    enabled: [sink_console, sink_file]
    config:
      sink_file: { path: DIR/out.log }
`);
  try {
    const sock = createConnection(agent.ingest);
    const hostile = [
      JSON.stringify({ message: 'fake\n[ERROR] [CORE] 2020-01-01T00:00:00.000Z forged line' }),
      JSON.stringify({ message: 'ansi \x1b[2J\x1b[Hclear screen' }),
      JSON.stringify({ message: 'nul \x00 byte', module: 'x\ny' }),
      Buffer.concat([Buffer.from('bad utf8 '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' end')]).toString('latin1'),
      'x'.repeat(1024 * 1024),
      JSON.stringify({ message: 'invoice_\u202eFDP.exe line\u2028forged para\u2029forged', args: ['\u202e'], fields: { f: 'v\u2028w' } }),
      'after the big one',
    ];
    sock.write(Buffer.concat(hostile.map((l, i) => (i === 3 ? Buffer.concat([Buffer.from('bad utf8 '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' end\n')]) : Buffer.from(l + '\n')))));
    sock.end();
    const lines = await waitForLines(`${agent.dir}/out.log`, 7);
    assert.equal(lines.length, 7, 'one line per entry: no forged lines');
    assert.ok(lines.every((l) => /^\[(INFO|WARN|ERROR|DEBUG|FATAL)\] \[[A-Z0-9_.-]+\] \S+ /.test(l)));
    assert.match(lines[0]!, /fake\\n\[ERROR\] \[CORE\] 2020/);
    assert.ok(!lines.join('').includes('\x1b'), 'no raw escape sequences');
    assert.match(lines[1]!, /ansi \\x1b\[2J\\x1b\[Hclear screen/);
    assert.match(lines[2]!, /\[X_Y\] .*nul \\x00 byte/);
    assert.match(lines[3]!, /bad utf8 \ufffd\ufffd\ufffd end/);
    assert.equal(Buffer.byteLength(lines[4]!.replace(/^\S+ \S+ \S+ /, '')), 4096, '1 MB line cut to max_message_bytes');
    assert.equal(lines[5]!.replace(/^\S+ \S+ \S+ /, ''), 'invoice_\\u202eFDP.exe line\\u2028forged para\\u2029forged', 'bidi override and line/paragraph separators are escaped');
    assert.ok(!/[\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(readFileSync(`${agent.dir}/out.log`, 'utf8')), 'none of them reaches the file raw');
    assert.match(lines[6]!, /after the big one$/);
    // The console saw the same safe text.
    await agent.stdout.waitFor(/after the big one$/);
    assert.ok(!agent.stdout.lines.join('\n').includes('\x1b[2J'));
    assert.ok(!/[\u2028\u2029\u202a-\u202e\u2066-\u2069]/.test(agent.stdout.lines.join('\n')), 'nor the console');
    assert.equal(readFileSync(`${agent.dir}/out.log`, 'utf8').split('\n').length, 8);
  } finally {
    await agent.stop();
  }
});
