import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { writeFileSync } from 'node:fs';
import { agentStatus, startAgent } from '../forward/helpers.ts';
import { tempDir } from '../helpers/agent.ts';
import { waitForLines } from '../helpers/wait.ts';
import { inputToFile } from '../helpers/config.ts';

const run = promisify(execFile);

const config = (extra = '') => inputToFile('devlog', `      path: DIR/log\n${extra}`);
type Out = { level: string; module: string; message: string; source: string; fields: Record<string, unknown> };
const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as Out);

test('devlog: logger -u writes datagrams to the agent\'s socket; priority, tag, pid and the sender\'s uid arrive', async () => {
  const dir = tempDir();
  const agent = await startAgent(config(), dir);
  try {
    await run('logger', ['-u', `${dir}/log`, '-t', 'pumpd', '-p', 'local0.err', 'pressure too high']);
    await run('logger', ['-u', `${dir}/log`, '--rfc5424', '-t', 'valved', '-p', 'user.warning', '--msgid', 'V1', 'stuck open']);
    const out = parse(await waitForLines(`${dir}/out.ndjson`, 2, 30_000));
    assert.deepEqual([out[0]!.level, out[0]!.module, out[0]!.message], ['ERROR', 'PUMPD', 'pressure too high']);
    assert.equal(out[0]!.source, `devlog:${dir}/log`);
    assert.equal(out[0]!.fields.facility, 'local0');
    assert.equal(out[0]!.fields.uid, process.getuid!());
    assert.ok(Number(out[0]!.fields.pid) > 0);
    assert.deepEqual([out[1]!.level, out[1]!.module, out[1]!.message, out[1]!.fields.msgid], ['WARN', 'VALVED', 'stuck open', 'V1']);
    const st = (await agentStatus(agent.configPath)).inputs[0];
    assert.equal(st.messages, 2);
  } finally {
    await agent.stop();
  }
});

test('devlog: a C program calling syslog(3) in a private mount namespace whose /dev/log is the agent\'s socket; 2000 messages under a small buffer, none lost, in order', async () => {
  const dir = tempDir();
  writeFileSync(`${dir}/prog.c`, `#include <syslog.h>
int main(void) {
  openlog("meterd", LOG_PID, LOG_DAEMON);
  syslog(LOG_CRIT, "meter %s offline", "M-7");
  for (int i = 0; i < 2000; i++) syslog(LOG_INFO, "reading n=%d", i);
  closelog();
  return 0;
}
`);
  execFileSync('gcc', ['-O1', '-o', `${dir}/prog`, `${dir}/prog.c`]);
  // A small buffer: the agent pauses the socket, the kernel queue fills and syslog() waits.
  const agent = await startAgent(`  buffer:\n    max_entries: 64\n${config()}`, dir);
  try {
    // The namespace gets its own /dev (a tmpfs) with /dev/log bind-mounted from the agent's socket.
    await run('unshare', ['-m', 'sh', '-c', `mount --make-rprivate / && mount -t tmpfs tmpfs /dev && touch /dev/log && mount --bind ${dir}/log /dev/log && exec ${dir}/prog`]);
    const out = parse(await waitForLines(`${dir}/out.ndjson`, 2001, 60_000));
    assert.deepEqual([out[0]!.level, out[0]!.module, out[0]!.message], ['ERROR', 'METERD', 'meter M-7 offline']);
    const nums = out.slice(1).map((e) => Number(/n=(\d+)/.exec(e.message)![1]));
    assert.deepEqual(nums, Array.from({ length: 2000 }, (_, i) => i));
    const st = (await agentStatus(agent.configPath)).inputs[0];
    assert.equal(st.messages, 2001);
    assert.equal(st.dropped, 0);
  } finally {
    await agent.stop();
  }
});

test('devlog: a parser and multiline apply to the message body like any line input', async () => {
  const dir = tempDir();
  const agent = await startAgent(config(`      parser: { format: logfmt }\n`), dir);
  try {
    await run('logger', ['-u', `${dir}/log`, '-t', 'appd', '-p', 'user.info', 'level=error msg="disk full" free=0']);
    const out = parse(await waitForLines(`${dir}/out.ndjson`, 1, 30_000));
    assert.deepEqual([out[0]!.level, out[0]!.module, out[0]!.message, out[0]!.fields.free, out[0]!.fields.facility], ['ERROR', 'APPD', 'disk full', '0', 'user']);
  } finally {
    await agent.stop();
  }
});

test('devlog: a datagram that is not syslog is kept as text with its sender\'s pid and uid, counted as a parse error, on the C codec and the JS fallback', async () => {
  for (const native of ['on', 'off']) {
    const dir = tempDir();
    const agent = await startAgent(`  buffer:\n    native: ${native}\n${config()}`, dir);
    try {
      // socat sends one datagram per line it reads from stdin, from its own process.
      await run('sh', ['-c', `printf 'no priority \\033[2J here' | socat -u - UNIX-SENDTO:${dir}/log`]);
      await run('logger', ['-u', `${dir}/log`, '-t', 'after', '-p', 'user.notice', 'the next one parses']);
      const out = parse(await waitForLines(`${dir}/out.ndjson`, 2, 30_000));
      assert.equal(out[0]!.message, 'no priority \\x1b[2J here', native);
      assert.equal(out[0]!.level, 'INFO');
      assert.equal(out[0]!.fields.uid, process.getuid!());
      assert.ok(Number(out[0]!.fields.pid) > 0);
      assert.deepEqual(Object.keys(out[0]!.fields), ['pid', 'uid']);
      assert.equal(out[1]!.message, 'the next one parses');
      const st = (await agentStatus(agent.configPath)).inputs[0];
      assert.equal(st.parse_errors, 1);
      assert.equal(st.rejected, 1);
      assert.equal(st.last_reject, 'no <PRI> at the start');
      assert.equal(st.messages, 2);
    } finally {
      await agent.stop();
    }
  }
});
