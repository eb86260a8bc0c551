import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createConnection } from 'node:net';
import { once } from 'node:events';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { startAgent, tempDir, type RunningAgent } from '../helpers/agent.ts';
import { waitForLines } from '../helpers/wait.ts';
import { status } from '../helpers/status.ts';

const CONFIG = `  inputs:
    - type: syslog
      listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]
      default_level: DEBUG
      max_connections: 4
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`;

/** The real ports the agent bound (port 0 in the config), read from `logloom status`. */
async function ports(agent: RunningAgent): Promise<{ udp: number; tcp: number }> {
  const listening: string = (await status(agent)).inputs[0].listening;
  const port = (proto: string) => Number(new RegExp(`${proto}:127\\.0\\.0\\.1:(\\d+)`).exec(listening)![1]);
  return { udp: port('udp'), tcp: port('tcp') };
}

test('syslog input: RFC 5424 and RFC 3164 over UDP and TCP (octet-counted and newline framing) reach the file sink parsed', async () => {
  const agent = await startAgent(CONFIG);
  try {
    const { udp, tcp } = await ports(agent);
    const u = createSocket('udp4');
    const datagrams = [
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] udp 5424',
      "<34>Oct 11 22:14:15 mymachine su: 'su root' failed\n",
      'no priority here',
    ];
    for (const d of datagrams) await new Promise<void>((resolve, reject) => u.send(d, udp, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    u.close();

    const c = createConnection(tcp, '127.0.0.1');
    await once(c, 'connect');
    const counted = '<11>1 2025-01-02T03:04:05Z gw app 42 - - tcp octet\ncounted with an LF inside';
    c.write(`${Buffer.byteLength(counted)} ${counted}`);
    c.write('<12>Oct 11 22:14:15 gw modem[7]: tcp newline framed\n<13>1 - - - - - [bad tcp 5424\n');
    c.end();

    const lines = (await waitForLines(`${agent.dir}/out.log`, 6)).map((l) => JSON.parse(l));
    const by = (needle: string) => lines.find((e) => e.message.includes(needle));

    const e5424 = by('udp 5424');
    assert.equal(e5424.level, 'INFO');
    assert.equal(e5424.module, 'EVNTSLOG');
    assert.equal(e5424.timestamp, '2003-10-11T22:14:15.003Z');
    assert.equal(e5424.source, 'syslog:udp:127.0.0.1');
    assert.equal(e5424.fields.hostname, 'mymachine.example.com');
    assert.equal(e5424.fields.facility, 'local4');
    assert.equal(e5424.fields.msgid, 'ID47');
    assert.equal(e5424.fields['sd.exampleSDID@32473.iut'], '3');

    const e3164 = by('su root');
    assert.equal(e3164.level, 'ERROR');
    assert.equal(e3164.module, 'SU');
    assert.equal(e3164.message, "'su root' failed");
    assert.equal(e3164.fields.hostname, 'mymachine');

    // Malformed: kept as text at the input's default level, counted as rejected.
    assert.equal(by('no priority here').level, 'DEBUG');
    assert.equal(by('no priority here').module, 'SYSLOG');
    const bad5424 = by('[bad tcp 5424');
    assert.equal(bad5424.level, 'DEBUG');
    assert.equal(bad5424.message, '<13>1 - - - - - [bad tcp 5424');

    const octet = by('tcp octet');
    assert.equal(octet.message, 'tcp octet\\ncounted with an LF inside'); // the LF is escaped by sanitising, not a frame end
    assert.equal(octet.level, 'ERROR');
    assert.equal(octet.fields.procid, '42');
    assert.equal(octet.timestamp, '2025-01-02T03:04:05.000Z');
    assert.match(octet.source, /^syslog:tcp:127\.0\.0\.1$/);

    const nl = by('tcp newline framed');
    assert.equal(nl.level, 'WARN');
    assert.equal(nl.module, 'MODEM');
    assert.equal(nl.fields.procid, '7');

    const st = (await status(agent)).inputs[0];
    assert.equal(st.parse_errors, 2);
    assert.equal(st.rejected, 2);
    assert.match(st.last_reject, /STRUCTURED-DATA/);
    assert.equal(st.datagrams, 3);
    assert.equal(st.accepted, 1);
    assert.equal(st.messages, 6);
    assert.ok(st.bytes > 200);
  } finally {
    await agent.stop();
  }
});

test('syslog input: an over-long TCP message is cut and marked truncated, the next one is intact; extra connections are refused', async () => {
  const agent = await startAgent(CONFIG.replace('max_connections: 4', 'max_connections: 1\n      max_message_bytes: 1KiB'));
  try {
    const { tcp } = await ports(agent);
    const c = createConnection(tcp, '127.0.0.1');
    await once(c, 'connect');
    c.write(`<14>Oct 11 22:14:15 h app: ${'x'.repeat(5000)}\n<14>Oct 11 22:14:16 h app: after the long one\n`);
    await waitForLines(`${agent.dir}/out.log`, 2);
    // The one allowed connection is open: a second one is refused (closed by the agent).
    const extra = createConnection(tcp, '127.0.0.1');
    extra.on('error', () => {});
    await once(extra, 'close');
    c.end();
    const lines = (await waitForLines(`${agent.dir}/out.log`, 2)).map((l) => JSON.parse(l));
    assert.equal(lines[0].truncated, true);
    assert.ok(lines[0].message.length < 1024);
    assert.equal(lines[1].message, 'after the long one');
    assert.equal(lines[1].truncated, undefined);
    const st = (await status(agent)).inputs[0];
    assert.equal(st.refused, 1);
    assert.equal(st.truncated, 1);
  } finally {
    await agent.stop();
  }
});

test('syslog input over TLS (RFC 5425, real certificate made by openssl): octet-counted frames arrive; an over-long datagram is cut', async () => {
  const dir = tempDir();
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`], { stdio: 'ignore' });
  const agent = await startAgent(CONFIG.replace('max_connections: 4', 'max_message_bytes: 1KiB\n      tls: { cert: DIR/cert.pem, key: DIR/key.pem }')
    .replace('listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]', 'listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0, tls:127.0.0.1:0]'), dir);
  try {
    const listening: string = (await status(agent)).inputs[0].listening;
    const tlsPort = Number(/tls:127\.0\.0\.1:(\d+)/.exec(listening)![1]);
    const udp = Number(/udp:127\.0\.0\.1:(\d+)/.exec(listening)![1]);
    const t = tlsConnect({ port: tlsPort, host: '127.0.0.1', servername: 'localhost', ca: readFileSync(`${dir}/cert.pem`) });
    await once(t, 'secureConnect');
    const m1 = '<38>1 2025-05-01T10:00:00Z gw sshd 77 - - accepted over tls';
    const m2 = '<35>1 2025-05-01T10:00:01Z gw sshd 77 - - second frame';
    t.end(`${m1.length} ${m1}${m2.length} ${m2}`);
    await waitForLines(`${dir}/out.log`, 2);
    const u = createSocket('udp4');
    await new Promise<void>((resolve, reject) => u.send(`<14>Oct 11 22:14:15 h big: ${'y'.repeat(3000)}`, udp, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
    u.close();
    const lines = (await waitForLines(`${dir}/out.log`, 3)).map((l) => JSON.parse(l));
    assert.deepEqual(lines.slice(0, 2).map((e) => [e.level, e.module, e.message]), [['INFO', 'SSHD', 'accepted over tls'], ['ERROR', 'SSHD', 'second frame']]);
    assert.match(lines[0].source, /^syslog:tls:127\.0\.0\.1$/);
    assert.equal(lines[2].truncated, true);
    assert.equal(lines[2].module, 'BIG');
    assert.ok(Buffer.byteLength(lines[2].message) < 1024);
  } finally {
    await agent.stop();
  }
});

test('syslog input with util-linux logger(1) as the client: RFC 5424 over UDP, octet-counted TCP, RFC 3164 over UDP and TCP', async () => {
  const agent = await startAgent(CONFIG);
  try {
    const { udp, tcp } = await ports(agent);
    const logger = (...args: string[]) => promisify(execFile)('logger', ['-n', '127.0.0.1', ...args]);
    await logger('-P', String(udp), '-d', '--rfc5424', '-t', 'meter', '-p', 'local3.warning', '--sd-id', 'reading@32473', '--sd-param', 'kwh="12.5"', 'one');
    await logger('-P', String(tcp), '-T', '--octet-count', '-t', 'modem', '-p', 'daemon.err', 'two');
    await logger('-P', String(udp), '-d', '--rfc3164', '-t', 'cron', '-p', 'cron.debug', 'three');
    await logger('-P', String(tcp), '-T', '--rfc3164', '-t', 'ppp', '-p', 'daemon.crit', 'four');
    const lines = (await waitForLines(`${agent.dir}/out.log`, 4)).map((l) => JSON.parse(l));
    const by = new Map(lines.map((e) => [e.message, e]));
    assert.deepEqual([...by.keys()].sort(), ['four', 'one', 'three', 'two']);
    assert.deepEqual(['one', 'two', 'three', 'four'].map((m) => [by.get(m).module, by.get(m).level, by.get(m).fields.facility]),
      [['METER', 'WARN', 'local3'], ['MODEM', 'ERROR', 'daemon'], ['CRON', 'DEBUG', 'cron'], ['PPP', 'ERROR', 'daemon']]);
    assert.equal(by.get('one').fields['sd.reading@32473.kwh'], '12.5');
    assert.equal((await status(agent)).inputs[0].parse_errors, 0);
  } finally {
    await agent.stop();
  }
});

test('syslog input: the same entries and figures whichever path makes them: the C codec (buffer.native: on), its JS twin (off), drafts for a line stage (labels)', async () => {
  const datagrams = [
    Buffer.from('<165>1 2003-10-11T22:14:15.003Z mymachine evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="App\\"lication"][b] udp 5424\n'),
    Buffer.from('<34>Oct 11 22:14:15 mymachine su[12]: \x1b[31mred\x1b[0m and \u202e bidi'),
    Buffer.concat([Buffer.from('<14>1 2025-01-01T00:00:00Z h app - - - bad '), Buffer.from([0xff, 0xc3]), Buffer.from(' utf8')]),
    Buffer.from('no priority here'),
    Buffer.from(`<14>Oct 11 22:14:15 h big: ${'y'.repeat(3000)}`),
  ];
  const stream = '<11>1 2025-01-02T03:04:05Z gw app 42 - - tcp octet\ncounted';
  const tcpBytes = `${Buffer.byteLength(stream)} ${stream}<12>Oct 11 22:14:15 gw modem[7]: tcp newline\r\n<13>1 - - - - - [bad tcp 5424\n`;
  const results: { entries: Record<string, unknown>[]; input: Record<string, unknown> }[] = [];
  for (const [native, extra] of [['on', ''], ['off', ''], ['on', '      labels: { site: cabinet-3 }\n']] as const) {
    const agent = await startAgent(`  buffer:\n    native: ${native}\n` + CONFIG.replace('max_connections: 4', `max_connections: 4\n      max_message_bytes: 1KiB\n${extra}`).trimEnd() + '\n');
    try {
      const { udp, tcp } = await ports(agent);
      const u = createSocket('udp4');
      for (const d of datagrams) await new Promise<void>((resolve, reject) => u.send(d, udp, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      u.close();
      const c = createConnection(tcp, '127.0.0.1');
      await once(c, 'connect');
      c.end(tcpBytes);
      const entries = (await waitForLines(`${agent.dir}/out.log`, 8)).map((l) => JSON.parse(l));
      for (const e of entries) {
        if (extra) assert.deepEqual(e.labels, { site: 'cabinet-3' });
        delete e.labels;
        // Every parsed message here has a timestamp of its own; the two kept as text take the arrival time.
        if (!e.fields) e.timestamp = 'arrival';
      }
      entries.sort((a, b) => String(a.message).localeCompare(String(b.message)));
      const input = (await status(agent)).inputs[0];
      assert.match(input.last_reject, /^(RFC 5424: STRUCTURED-DATA: expected ="value" after tcp at column 25|no <PRI> at the start)$/);
      results.push({ entries, input: { messages: input.messages, parse_errors: input.parse_errors, rejected: input.rejected, truncated: input.truncated, received: input.received } });
    } finally {
      await agent.stop();
    }
  }
  assert.deepEqual(results[1], results[0], 'the JS twin gives what the C codec gives');
  assert.deepEqual(results[2], results[0], 'the draft path gives what the codec gives');
  assert.deepEqual(results[0].input, { messages: 8, parse_errors: 2, rejected: 2, truncated: 1, received: 8 });
  const by = (needle: string) => results[0].entries.find((e) => String(e.message).includes(needle))!;
  assert.deepEqual(by('udp 5424').fields, { facility: 'local4', severity: 'notice', hostname: 'mymachine', app_name: 'evntslog', msgid: 'ID47', 'sd.exampleSDID@32473.iut': '3', 'sd.exampleSDID@32473.eventSource': 'App"lication', 'sd.b': '' });
  assert.equal(by('red').message, '\\x1b[31mred\\x1b[0m and \\u202e bidi');
  assert.equal(by(' utf8').message, 'bad \ufffd\ufffd utf8');
  assert.equal(by('yyy').truncated, true);
  assert.equal(by('tcp newline').module, 'MODEM');
});

test('syslog input over UDP from more peers than it keeps codec streams for (256): every message arrives with its sender as source, and every one is counted', async () => {
  const agent = await startAgent(CONFIG);
  try {
    const { udp } = await ports(agent);
    const peers = Array.from({ length: 1100 }, (_, i) => `127.1.${(i >> 8) + 1}.${i & 255}`);
    for (const [i, address] of peers.entries()) {
      // Any 127/8 address is the loopback on Linux: one socket per sender address, one at a time.
      const u = createSocket('udp4');
      try {
        await new Promise<void>((resolve, reject) => (u.once('error', reject), u.bind(0, address, () => resolve())));
        await new Promise<void>((resolve, reject) => u.send(`<13>peer: message ${i}`, udp, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
      } finally {
        u.close();
      }
      // Paced a little so that the kernel's socket buffer never overflows on a busy machine.
      if (i % 100 === 99) await waitForLines(`${agent.dir}/out.log`, i + 1, 30_000);
    }
    const lines = (await waitForLines(`${agent.dir}/out.log`, peers.length)).map((l) => JSON.parse(l));
    const bySource = new Map(lines.map((e) => [e.source, e.message]));
    assert.equal(bySource.size, peers.length);
    for (const i of [0, 1023, 1024, 1099]) assert.equal(bySource.get(`syslog:udp:${peers[i]}`), `message ${i}`);
    const st = (await status(agent)).inputs[0];
    assert.equal(st.messages, peers.length, 'the figures of the streams closed for newer peers stay counted');
    assert.equal(st.datagrams, peers.length);
    assert.equal(st.received, peers.length);
  } finally {
    await agent.stop();
  }
});
