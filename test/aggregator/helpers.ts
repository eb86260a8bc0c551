import { once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeMessage, encodeBatch, encodeBodySync, encodeHello, FrameDecoder, joinLines, type Message,
} from '../../protocol/index.ts';
import { startCli, tempDir, waitStarted, type CliProcess } from '../helpers/agent.ts';

export interface RunningAggregator extends CliProcess {
  dir: string;
  configPath: string;
  port: number;
  control: string;
  store: string;
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts `logloom aggregator` on loopback with a free port; `body` is YAML under `logloom:`
 * (indented 2 spaces, DIR replaced by the temp dir) and is appended after the defaults below.
 */
export async function startAggregator(body = '', dir = tempDir('logloom-agg-'), aggregatorBody = ''): Promise<RunningAggregator> {
  const yaml = `logloom:\n  node_id: aggregator\n  data_dir: ${dir}/data\n  runtime_dir: ${dir}/run\n  control:\n    socket: ${dir}/run/control.sock\n    http: 127.0.0.1:0\n` +
    `  aggregator:\n    listen: 127.0.0.1:0\n` + aggregatorBody.replaceAll('DIR', dir) + body.replaceAll('DIR', dir);
  const configPath = join(dir, 'aggregator.yaml');
  writeFileSync(configPath, yaml);
  return launch(dir, configPath);
}

/** Rewrites the configuration so that a restart listens on the port it has now (agents keep their address). */
export function pinPort(agg: RunningAggregator): void {
  writeFileSync(agg.configPath, readFileSync(agg.configPath, 'utf8').replace('listen: 127.0.0.1:0', `listen: 127.0.0.1:${agg.port}`));
}

/** Starts (or restarts) an aggregator on an existing configuration file. */
export async function launch(dir: string, configPath: string, startTimeoutMs?: number): Promise<RunningAggregator> {
  const p = startCli(['aggregator', '-c', configPath]);
  const line = await waitStarted(p, /aggregator listening on /, 'aggregator', startTimeoutMs);
  const port = Number(/listening on [^ ]*:(\d+)/.exec(line)![1]);
  return {
    ...p, dir, configPath, port, control: `${dir}/run/control.sock`, store: `${dir}/data/store`,
    stop: () => {
      p.proc.kill('SIGTERM');
      return p.exited;
    },
  };
}

/** A raw protocol client: the codec of protocol/, frames checked one by one. */
export class RawAgent {
  readonly socket: Socket;
  private readonly decoder = new FrameDecoder(64 * 1024 * 1024);
  readonly received: Message[] = [];
  private waiters: { pred: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  readonly closed: Promise<void>;
  private readonly listeners: ((m: Message) => void)[] = [];

  /** Calls fn for every message received from now on. */
  onMessage(fn: (m: Message) => void): void {
    this.listeners.push(fn);
  }

  /**
   * Sends batches from..to like an agent does: at most `window` unacknowledged at once, the next
   * one as soon as an ACK makes room. `make(seq)` gives a batch's entries.
   */
  stream(from: number, to: number, window: number, make: (seq: number) => object[]): void {
    let next = from;
    const fill = (acked: number) => {
      while (next <= to && next - acked <= window) this.sendBatch(next, make(next)), next++;
    };
    this.onMessage((m) => m.type === 'ACK' && fill(m.seq));
    fill(from - 1);
  }

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      for (const f of this.decoder.push(d)) {
        const m = decodeMessage(f.type, f.payload);
        this.received.push(m);
        for (const l of this.listeners) l(m);
        this.waiters = this.waiters.filter((w) => (w.pred(m) ? (w.resolve(m), false) : true));
      }
    });
    socket.on('error', () => {});
    this.closed = new Promise((r) => socket.once('close', () => r()));
  }

  /** `from`: the local (source) address, e.g. 127.0.0.2: every 127/8 address is loopback on Linux. */
  static async connect(port: number, tls?: ConnectionOptions, from?: string): Promise<RawAgent> {
    const socket = tls ? tlsConnect({ host: '127.0.0.1', port, ...tls, ...(from ? { localAddress: from } : {}) } as ConnectionOptions) : tcpConnect({ port, host: '127.0.0.1', localAddress: from });
    await once(socket, tls ? 'secureConnect' : 'connect');
    return new RawAgent(socket);
  }

  /** The first received message (already or later) matching pred. */
  waitFor(pred: (m: Message) => boolean, timeoutMs = 15_000): Promise<Message> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out; received ${JSON.stringify(this.received.map((m) => ({ ...m, body: undefined })))}`)), timeoutMs);
      this.waiters.push({ pred, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  /** HELLO, resolving with WELCOME or ERROR. */
  async hello(node: string, token: string, version = 1): Promise<Message> {
    this.socket.write(encodeHello(node, token, version));
    return this.waitFor((m) => m.type === 'WELCOME' || m.type === 'ERROR');
  }

  sendBatch(seq: number, entries: object[], codec: 'none' | 'deflate' = 'deflate'): void {
    const b = encodeBodySync(joinLines(entries.map((e) => JSON.stringify(e))), entries.length, codec);
    this.socket.write(encodeBatch(seq, b.codec, b.count, b.rawBytes, b.body));
  }

  /** Sends a batch and waits for an ACK covering it. */
  async batch(seq: number, entries: object[], codec: 'none' | 'deflate' = 'deflate'): Promise<Message> {
    this.sendBatch(seq, entries, codec);
    return this.waitFor((m) => (m.type === 'ACK' && m.seq >= seq) || m.type === 'ERROR');
  }

  end(): Promise<void> {
    this.socket.end();
    return this.closed;
  }
}

/** n entries numbered from `from`: message `m<i>`. */
export function entries(n: number, from = 0, extra: object = {}): object[] {
  return Array.from({ length: n }, (_, i) => ({ timestamp: '2026-01-01T00:00:00.000Z', level: i % 3 === 0 ? 'WARN' : 'INFO', module: 'TEST', message: `m${from + i}`, ...extra }));
}

/** Every stored entry of a node, in file order. */
export function storedEntries(storeDir: string, node: string): Record<string, unknown>[] {
  let files: string[];
  try {
    files = readdirSync(join(storeDir, node)).filter((f) => f.endsWith('.ndjson')).sort();
  } catch {
    return [];
  }
  return files.flatMap((f) => readFileSync(join(storeDir, node, f), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
}
