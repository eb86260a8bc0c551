import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { runCli, startAgent, tempDir } from '../../helpers/agent.ts';
import { waitForFile } from '../../helpers/wait.ts';
import { PtyPair, WAIT } from '../../helpers/pty.ts';

const entries = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));

test('a 1 MB line without separator arrives whole in max_line_bytes pieces; invalid UTF-8 is replaced and counted; latin1; raw capture is an exact copy', async (t) => {
  const dir = tempDir('logloom-serial-');
  const pty = await new PtyPair(dir).start();
  t.after(() => pty.kill());
  const old = await new PtyPair(dir, 'ttyL').start();
  t.after(() => old.kill());
  const agent = await startAgent(`  max_message_bytes: 64KiB
  inputs:
    - type: serial
      path: ${pty.device}
      max_line_bytes: 32KiB
      raw_capture: { path: DIR/raw/console.bin, max_bytes: 256KiB, max_backups: 10 }
    - type: serial
      path: ${old.device}
      encoding: latin1
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json, max_bytes: 64MiB }
`, dir);
  try {
    await agent.stderr.waitFor(/ttyV1.*open at/, WAIT);
    await agent.stderr.waitFor(/ttyL1.*open at/, WAIT);
    // 1 MiB of printable ASCII with no separator, then a line end; then invalid UTF-8.
    const big = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = 0x21 + (i % 94);
    const invalid = Buffer.from([0x6f, 0x6b, 0x20, 0xff, 0xfe, 0x20, 0xc3, 0x28, 0x20, 0xe2, 0x82, 0xac, 0x0a]); // "ok \xff\xfe \xc3( €\n"
    const sent = Buffer.concat([big, Buffer.from('\n'), invalid, Buffer.from('caf\xc3\xa9 \xe2\x9c\x93\r\n', 'latin1')]);
    await pty.write(sent);
    await old.write(Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])); // "café" in latin1
    const got = await waitForFile(`${agent.dir}/out.log`, (t) => {
      const es = entries(t);
      return es.some((e) => e.message === 'café ✓') && es.some((e) => e.source.endsWith('ttyL1')) ? es : undefined;
    }, 60_000);
    const mine = got.filter((e) => e.source === `serial:${pty.device}`);
    const pieces = mine.filter((e) => e.fields.partial === 'max_bytes');
    // 32 pieces of 32 KiB: 31 cut at the bound, the last ended by its separator.
    assert.equal(pieces.length, 31);
    for (const p of pieces) assert.equal(p.message.length, 32 * 1024);
    const rest = mine[31];
    assert.equal(rest.fields.partial, undefined);
    assert.equal(pieces.map((e) => e.message).join('') + rest.message, big.toString('latin1'));
    const bad = mine[32];
    assert.equal(bad.message, 'ok \ufffd\ufffd \ufffd( €');
    assert.equal(bad.fields.invalid_encoding, true);
    assert.equal(mine[33].message, 'café ✓');
    assert.equal(got.find((e) => e.source.endsWith('ttyL1')).message, 'café');
    const st = JSON.parse((await runCli(['status', '--json', '--socket', agent.control])).stdout);
    const s = st.inputs.find((i: { path: string }) => i.path === pty.device);
    assert.equal(s.cut_lines, 31);
    assert.equal(s.invalid_lines, 1);
    assert.equal(s.framing_errors, 32);
    assert.equal(s.bytes, sent.length);
    // Raw capture: rotated files concatenated oldest first give back exactly the bytes sent.
    const raw = await waitForFile(`${dir}/raw/console.bin`, () => {
      const parts: Buffer[] = [];
      for (let i = 10; i >= 1; i--) {
        try { parts.push(readFileSync(`${dir}/raw/console.bin.${i}`)); } catch { /* not rotated that far */ }
      }
      parts.push(readFileSync(`${dir}/raw/console.bin`));
      const all = Buffer.concat(parts);
      return all.length >= sent.length ? all : undefined;
    }, WAIT);
    assert.ok(raw.equals(sent), 'raw capture differs from the bytes sent');
    const s2 = JSON.parse((await runCli(['status', '--json', '--socket', agent.control])).stdout).inputs.find((i: { path: string }) => i.path === pty.device);
    assert.ok(s2.raw_rotations >= 3, `rotations: ${s2.raw_rotations}`);
    assert.equal(s2.raw_dropped_bytes, 0);
  } finally {
    await agent.stop();
    await pty.kill();
    await old.kill();
  }
});
