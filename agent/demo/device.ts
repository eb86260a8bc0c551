import { createConnection, type Socket } from 'node:net';

/**
 * A synthetic gateway device for the demo and benchmarks: writes a mix of levels, modules and
 * lang-keyed entries (rendered in the agent's language) as NDJSON into a unix socket.
 */
const SCRIPT: Array<() => object> = [
  () => ({ level: 'INFO', module: 'BOOT', lang_key: 'demo.boot', args: ['sensor-hub', '2.4.1'] }),
  () => ({ level: 'INFO', module: 'SENSOR', lang_key: 'demo.temperature', args: ['t1', 20 + Math.random() * 10] }),
  () => ({ level: 'DEBUG', module: 'SENSOR', message: `raw adc=${Math.floor(Math.random() * 4096)}` }),
  () => ({ level: 'INFO', module: 'AUTH', lang_key: 'demo.login', args: ['alice', '10.0.0.7'] }),
  () => ({ level: 'WARN', module: 'AUTH', lang_key: 'demo.login_failed', args: ['root', '192.168.0.5'] }),
  () => ({ level: 'WARN', module: 'STORAGE', lang_key: 'demo.disk_low', args: ['/data', Math.floor(Math.random() * 10)] }),
  () => ({ level: 'ERROR', module: 'NET', lang_key: 'demo.link_down', args: ['wwan0', 30] }),
  () => ({ level: 'ERROR', module: 'MODBUS', lang_key: 'demo.crc_error', args: [Math.floor(Math.random() * 65535)] }),
  () => ({ level: 'INFO', module: 'APP', message: 'plain text line from the application' }),
];

export interface DeviceOptions {
  socketPath: string;
  intervalMs: number;
  /** Stop after this many entries (0 = until stopped). */
  count?: number;
}

export function startDevice(opts: DeviceOptions): { stop(): void; done: Promise<number> } {
  let sock: Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  let sent = 0;
  let finish: (n: number) => void = () => {};
  const done = new Promise<number>((r) => (finish = r));
  const stop = () => {
    clearInterval(timer);
    sock?.end();
    finish(sent);
  };
  sock = createConnection(opts.socketPath, () => {
    timer = setInterval(() => {
      const entry = SCRIPT[sent % SCRIPT.length]!();
      sock!.write(JSON.stringify(entry) + '\n');
      sent++;
      if (opts.count && sent >= opts.count) stop();
    }, opts.intervalMs);
  });
  sock.on('error', stop);
  return { stop, done };
}
