/**
 * Fuzzing every input of a real agent at once: tcp, unix, syslog over UDP and TCP, serial (a socat
 * pseudo-terminal) and file. Hostile lines go to each input with a numbered canary line after
 * every few; the agent must stay alive and keep serving (status answers, every canary arrives at
 * the file sink, nothing is counted as dropped). The seed is printed; see fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { createSocket } from 'node:dgram';
import { createConnection, type Socket } from 'node:net';
import { once } from 'node:events';
import { startAgent, tempDir, type RunningAgent } from '../helpers/agent.ts';
import { PtyPair } from '../helpers/pty.ts';
import { canary, CanaryWatcher, deepLines, fuzzer, hostileLine, withSeed, type Fuzz } from './fuzz.ts';
import { status } from '../helpers/status.ts';

function agentConfig(pty: PtyPair): string {
  return `  inputs:
    - type: tcp
      listen: 127.0.0.1:0
    - type: unix
      path: DIR/run/ingest.sock
    - type: syslog
      listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]
    - type: serial
      path: ${pty.device}
      idle_flush_ms: 100
    - type: file
      path: DIR/app.log
      poll_interval: 50ms
  plugins:
    enabled: [sink_file]
    config:
      sink_file: { path: DIR/out.log, format: json }
`;
}

interface Targets {
  tcp: number;
  syslogUdp: number;
  syslogTcp: number;
}

async function targets(agent: RunningAgent): Promise<Targets> {
  const st = await status(agent);
  const listening = (name: string) => String(st.inputs.find((i: any) => i.name === name).listening);
  const port = (s: string, proto: string) => Number(new RegExp(`${proto}:127\\.0\\.0\\.1:(\\d+)`).exec(s)![1]);
  return { tcp: port(listening('tcp'), 'tcp'), syslogUdp: port(listening('syslog'), 'udp'), syslogTcp: port(listening('syslog'), 'tcp') };
}

async function streamTo(sock: Socket, data: Buffer): Promise<void> {
  if (!sock.write(data)) await once(sock, 'drain');
}

async function connectTcp(port: number): Promise<Socket> {
  const s = createConnection(port, '127.0.0.1');
  s.on('error', () => {});
  await once(s, 'connect');
  return s;
}

/** Sends rounds of hostile lines + one canary to every input until the budget is spent; returns the canaries sent. */
async function fuzzInputs(f: Fuzz, agent: RunningAgent, pty: PtyPair, t: Targets, watch: CanaryWatcher): Promise<string[]> {
  const sent: string[] = [];
  const udp = createSocket('udp4');
  const tcp = await connectTcp(t.tcp);
  const unix = createConnection(agent.ingest);
  unix.on('error', () => {});
  await once(unix, 'connect');
  const syslogTcp = await connectTcp(t.syslogTcp);
  const deadline = Date.now() + f.budgetMs;
  try {
    for (let round = 0; Date.now() < deadline; round++) {
      const lines = Array.from({ length: 1 + f.int(8) }, () => hostileLine(f));
      const block = (where: string, transform: (b: Buffer) => Buffer = (b) => b) => {
        const c = canary(where, round);
        sent.push(c);
        return Buffer.concat([...lines.map((l) => Buffer.concat([transform(l), Buffer.from('\n')])), Buffer.from(`${c}\n`)]);
      };
      await streamTo(tcp, block('tcp'));
      await streamTo(unix, block('unix'));
      // Octet-counted framing starts with a digit: keep hostile lines from swallowing the canary as a frame body.
      await streamTo(syslogTcp, block('syslog-tcp', (b) => (b[0]! >= 0x30 && b[0]! <= 0x39 ? Buffer.concat([Buffer.from('x'), b]) : b)));
      for (const l of lines.slice(0, 3)) await new Promise<void>((r) => udp.send(l.subarray(0, 8000), t.syslogUdp, '127.0.0.1', () => r()));
      const uc = canary('syslog-udp', round);
      sent.push(uc);
      await new Promise<void>((r) => udp.send(uc, t.syslogUdp, '127.0.0.1', () => r()));
      await pty.write(block('serial'));
      appendFileSync(`${agent.dir}/app.log`, block('file'));
      // Every few rounds, wait for this round's canaries: the agent keeps up (memory and the UDP
      // socket buffer stay bounded; a datagram the kernel drops would be its loss, not the agent's)
      // and a failure shows close to the line that caused it.
      if (round % 5 === 4) await watch.waitAll(sent.slice(-6), 60_000, isAlive(agent), lastLog(agent));
    }
  } finally {
    tcp.end();
    unix.end();
    syslogTcp.end();
    udp.close();
  }
  return sent;
}

const isAlive = (agent: RunningAgent) => () => agent.proc.exitCode === null && agent.proc.signalCode === null;
const lastLog = (agent: RunningAgent) => () => agent.stderr.lines.slice(-15).join('\n');

test('fuzz: hostile lines to tcp, unix, syslog (UDP, TCP), serial (socat pty) and file: the agent stays up and serving, every canary arrives, nothing is dropped', async (t) => {
  const f = fuzzer(t, 10);
  const dir = tempDir('logloom-fuzz-');
  writeFileSync(`${dir}/app.log`, '');
  const pty = await new PtyPair(dir).start();
  const agent = await startAgent(agentConfig(pty), dir);
  try {
    await withSeed(f, async () => {
      const watch = new CanaryWatcher(`${dir}/out.log`);
      const sent = await fuzzInputs(f, agent, pty, await targets(agent), watch);
      await watch.waitAll(sent, 120_000, isAlive(agent), lastLog(agent));
      const st = await status(agent);
      assert.equal(st.dropped_total, 0, 'nothing accepted was dropped');
      t.diagnostic(`${sent.length} canaries; inputs: ${st.inputs.map((i: any) => `${i.name} received ${i.received} rejected ${i.rejected}`).join('; ')}`);
    });
  } finally {
    await agent.stop();
    await pty.kill();
  }
});

test('fuzz: the ~10 KB line of 5,000 nested arrays/objects (as the message, args, a field, lang args) to tcp, unix and file: the agent stays up and the next lines arrive', async (t) => {
  const dir = tempDir('logloom-fuzz-');
  writeFileSync(`${dir}/app.log`, '');
  const pty = await new PtyPair(dir).start();
  const agent = await startAgent(agentConfig(pty), dir);
  try {
    const tg = await targets(agent);
    const sent: string[] = [];
    const payload = (where: string) => {
      const out: string[] = [];
      deepLines().forEach((l, i) => {
        sent.push(canary(where, i));
        out.push(l, canary(where, i));
      });
      return out.join('\n') + '\n';
    };
    const tcp = await connectTcp(tg.tcp);
    tcp.end(payload('tcp'));
    const unix = createConnection(agent.ingest);
    unix.on('error', () => {});
    unix.end(payload('unix'));
    appendFileSync(`${dir}/app.log`, payload('file'));
    await new CanaryWatcher(`${dir}/out.log`).waitAll(sent, 60_000, isAlive(agent), lastLog(agent));
    const st = await status(agent);
    assert.equal(st.dropped_total, 0);
  } finally {
    await agent.stop();
    await pty.kill();
  }
});
