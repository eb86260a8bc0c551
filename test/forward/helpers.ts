/**
 * Fault-test fixtures: the real `logloom aggregator` on a fixed loopback port (so it can be
 * killed and restarted at the same address), agents tailing a file into it, a generator that
 * appends numbered lines, a TCP proxy that stalls and resets connections, and the exactly-once
 * check over the aggregator's store.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';
import { once } from 'node:events';
import { appendFile, readdir, readFile } from 'node:fs/promises';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch as launchAggregator, type RunningAggregator } from '../aggregator/helpers.ts';
import { runCli, startAgent as startAgentWithin, tempDir, type RunningAgent } from '../helpers/agent.ts';
import { freePort } from '../helpers/net.ts';
import { sleep } from '../helpers/wait.ts';

/** Start-up can take long on a shared, loaded machine; a process that fails to start is killed, never left behind. */
const START_TIMEOUT_MS = 90_000;

const launch = (dir: string, configPath: string) => launchAggregator(dir, configPath, START_TIMEOUT_MS);

/** Like test/helpers' startAgent, with a start-up bound fit for fault tests on a busy machine. */
export function startAgent(body: string, dir = tempDir()): Promise<RunningAgent> {
  return startAgentWithin(body, dir, START_TIMEOUT_MS);
}

export interface AggregatorFixture {
  dir: string;
  port: number;
  configPath: string;
  store: string;
  current: RunningAggregator | undefined;
  start(): Promise<RunningAggregator>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

/** An aggregator (auth none, fsync always) whose address survives restarts. */
export async function aggregatorFixture(extra = ''): Promise<AggregatorFixture> {
  const dir = tempDir('logloom-agg-');
  const port = await freePort();
  const configPath = join(dir, 'aggregator.yaml');
  writeFileSync(configPath, `logloom:\n  node_id: aggregator\n  data_dir: ${dir}/data\n  runtime_dir: ${dir}/run\n  control:\n    socket: ${dir}/run/control.sock\n` +
    `  aggregator:\n    listen: 127.0.0.1:${port}\n    auth:\n      mode: none\n${extra}`);
  let started = false;
  const f: AggregatorFixture = {
    dir, port, configPath, store: `${dir}/data/store`, current: undefined,
    async start() {
      // Another process on this shared machine may take the port between freePort() and listen():
      // on the first start pick another one (no agent knows the port yet); on restarts retry it.
      for (let attempt = 0; ; attempt++) {
        try {
          f.current = await launch(dir, configPath);
          started = true;
          return f.current;
        } catch (e) {
          if (!/EADDRINUSE/.test((e as Error).message) || attempt >= 5) throw e;
          if (!started) {
            const next = await freePort();
            writeFileSync(configPath, readFileSync(configPath, 'utf8').replace(`listen: 127.0.0.1:${f.port}`, `listen: 127.0.0.1:${next}`));
            f.port = next;
          } else await sleep(500);
        }
      }
    },
    async kill9() {
      const c = f.current;
      f.current = undefined;
      if (!c) return;
      c.proc.kill('SIGKILL');
      await c.exited;
    },
    async stop() {
      const c = f.current;
      f.current = undefined;
      if (c) await c.stop();
    },
  };
  return f;
}

/** Agent config: a file input on DIR/app.log forwarding to the given port. */
export function forwardingAgentConfig(port: number, opts: { spool?: string; remote?: string; input?: string; addresses?: string[] } = {}): string {
  return `  inputs:
    - type: file
      path: DIR/app.log
      poll_interval: 50ms
      commit_interval: 200ms
${opts.input ?? ''}  plugins:
    enabled: [log_aggregator_remote]
    config:
      log_aggregator_remote:
        addresses: ${JSON.stringify(opts.addresses ?? [`127.0.0.1:${port}`])}
        backoff_min: 50ms
        backoff_max: 1s
        batch_max_ms: 50ms
${opts.remote ?? ''}        spool:
          fsync: batch
${opts.spool ?? ''}`;
}

export function startForwardingAgent(dir: string, port: number, opts: Parameters<typeof forwardingAgentConfig>[1] = {}): Promise<RunningAgent> {
  return startAgent(forwardingAgentConfig(port, opts), dir);
}

/** Appends `total` numbered lines (`n=<i> …`) to a file in chunks, yielding between them. */
export class Generator {
  written = 0;
  readonly done: Promise<void>;
  constructor(path: string, total: number, chunk = 2000, pauseMs = 5) {
    this.done = (async () => {
      while (this.written < total) {
        const n = Math.min(chunk, total - this.written);
        let text = '';
        for (let i = 0; i < n; i++) text += `n=${this.written + i} level=INFO payload=${'abcdefghij'.repeat(4)}\n`;
        await appendFile(path, text);
        this.written += n;
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    })();
  }
}

/** Lines stored for a node (fast count of newlines, no parsing). */
export async function storedCount(store: string, node: string): Promise<number> {
  let n = 0;
  let files: string[];
  try {
    files = (await readdir(join(store, node))).filter((f) => f.endsWith('.ndjson'));
  } catch {
    return 0;
  }
  for (const f of files) {
    const buf = await readFile(join(store, node, f));
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) n++;
  }
  return n;
}

/** Generator numbers of the stored entries, in store order. */
export async function storedNumbers(store: string, node: string): Promise<number[]> {
  const files = (await readdir(join(store, node))).filter((f) => f.endsWith('.ndjson')).sort();
  const out: number[] = [];
  for (const f of files) {
    for (const line of (await readFile(join(store, node, f), 'utf8')).split('\n')) {
      if (!line) continue;
      const m = /"message":"n=(\d+) /.exec(line);
      if (!m) throw new Error(`unexpected stored entry: ${line.slice(0, 200)}`);
      out.push(Number(m[1]));
    }
  }
  return out;
}

/** Polls (every 250 ms, these are file counts on a busy machine) until the store holds `n` entries. */
export async function waitStored(store: string, node: string, n: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let have = 0;
  while (Date.now() < deadline) {
    have = await storedCount(store, node);
    if (have >= n) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the store holds ${have} of ${n} entries after ${timeoutMs} ms`);
}

/** The exactly-once, in-order check: entries 0..total-1, each once, in generator order. */
export function assertExactlyOnceInOrder(nums: number[], total: number): string | undefined {
  const seen = new Map<number, number>();
  for (const n of nums) seen.set(n, (seen.get(n) ?? 0) + 1);
  const dups = [...seen].filter(([, c]) => c > 1);
  const missing: number[] = [];
  for (let i = 0; i < total && missing.length < 10; i++) if (!seen.has(i)) missing.push(i);
  let disorder = -1;
  for (let i = 1; i < nums.length; i++) if (nums[i]! <= nums[i - 1]!) { disorder = i; break; }
  if (nums.length === total && dups.length === 0 && missing.length === 0 && disorder === -1) return undefined;
  return `stored ${nums.length} of ${total}; duplicated: ${dups.length} (e.g. ${dups.slice(0, 5).map(([n, c]) => `${n}×${c}`).join(', ')}); ` +
    `missing (first): ${missing.join(', ')}; first out of order at index ${disorder}${disorder > 0 ? ` (${nums[disorder - 1]} then ${nums[disorder]})` : ''}`;
}

/** `logloom status --json` of an agent. */
export async function agentStatus(configPath: string): Promise<Record<string, any>> {
  const r = await runCli(['status', '--json', '-c', configPath]);
  if (r.code !== 0) throw new Error(`status failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

export function remoteSink(status: Record<string, any>): Record<string, any> {
  return (status.sinks as Record<string, any>[]).find((s) => s.name === 'log_aggregator_remote')!;
}

/**
 * A TCP proxy in front of the aggregator that can stall (stop moving bytes in both directions
 * while keeping the connection open) and reset (RST) every connection.
 */
export class FaultProxy {
  readonly server: Server;
  port = 0;
  private readonly target: number;
  private pairs = new Set<{ a: Socket; b: Socket }>();
  stalled = false;
  resets = 0;
  stalls = 0;
  connections = 0;

  constructor(target: number) {
    this.target = target;
    this.server = createServer((a) => {
      this.connections++;
      const b = connect(this.target, '127.0.0.1');
      const pair = { a, b };
      this.pairs.add(pair);
      const close = () => {
        a.destroy();
        b.destroy();
        if (this.pairs.delete(pair)) this.server.emit('pair-closed');
      };
      a.on('error', close).on('close', close);
      b.on('error', close).on('close', close);
      a.on('data', (d) => {
        if (!this.stalled) b.write(d);
      });
      b.on('data', (d) => {
        if (!this.stalled) a.write(d);
      });
    });
  }

  async listen(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as { port: number }).port;
  }

  /** Bytes sent meanwhile are swallowed: to both ends the connection is silent, then broken. */
  stall(on: boolean): void {
    if (on) this.stalls++;
    this.stalled = on;
  }

  /** Stalls until the agent gives up on the silent connection (PING timeout) and closes it. */
  async stallUntilAbandoned(timeoutMs: number): Promise<void> {
    this.stall(true);
    const deadline = Date.now() + timeoutMs;
    try {
      while (this.pairs.size > 0) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`the agent did not abandon a stalled connection within ${timeoutMs} ms`);
        await Promise.race([once(this.server, 'pair-closed'), sleep(Math.min(left, 1000))]);
      }
    } finally {
      this.stall(false);
    }
  }

  reset(): void {
    this.resets++;
    for (const { a, b } of this.pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise((r) => this.server.close(r));
  }
}

export const randomBetween = (a: number, b: number) => a + Math.floor(Math.random() * (b - a));

