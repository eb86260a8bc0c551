import { mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createServer, type Server } from 'node:net';
import type { AgentLog } from '../log.ts';
import { listenUnix } from '../unix-socket.ts';
import type { ControlAnswer, ControlRequest } from './protocol.ts';

/**
 * What the control socket can ask of the process behind it (the agent or the aggregator): a
 * program offers what it has. The plugin operations are the agent's; it names the plugin types
 * it knows (pluginTypes) so that a wrong type is refused here, with the list.
 */
export interface Controllable {
  status(): unknown;
  setPluginEnabled?(name: string, enabled: boolean): boolean | Promise<boolean>;
  readonly pluginTypes?: readonly string[];
  setPluginTypeEnabled?(type: string, enabled: boolean): Promise<{ changed: string[]; failed: { name: string; reason: string }[] }>;
  reloadPlugin?(name: string): Promise<{ version: string } | undefined>;
  rescanPlugins?(): Promise<{ added: string[]; refused: string[]; started: string[] }>;
  catalogue?: { setLanguage(lang: string): string; render(key: string, args?: readonly (string | number)[], lang?: string): string; language: string };
  reopen?(): Promise<void>;
  reload?(): Promise<unknown>;
}

const MAX_REQUEST = 64 * 1024;

/** The control socket (mode 0600: only root / the agent's user may steer it). */
export class ControlServer {
  private server?: Server;
  private readonly path: string;
  private readonly target: Controllable;
  private readonly log: AgentLog;

  constructor(path: string, target: Controllable, log: AgentLog) {
    this.path = path;
    this.target = target;
    this.log = log;
  }

  async start(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await unlink(this.path).catch(() => {});
    this.server = createServer((sock) => {
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString('utf8');
        if (buf.length > MAX_REQUEST) return sock.destroy();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          void this.answer(line).then((a) => sock.write(JSON.stringify(a) + '\n'));
        }
      });
      sock.on('error', () => {});
    });
    await listenUnix(this.server, this.path, 0o600);
    this.log.debug(`control socket at ${this.path}`);
  }

  private async answer(line: string): Promise<ControlAnswer> {
    let req: ControlRequest;
    try {
      req = JSON.parse(line) as ControlRequest;
    } catch {
      return { ok: false, error: 'request is not JSON' };
    }
    const t = this.target;
    try {
      switch (req.op) {
        case 'status':
          return { ok: true, result: t.status() };
        case 'plugins.enable':
        case 'plugins.disable': {
          if (!t.setPluginEnabled) break;
          if (req.type !== undefined) {
            const type = String(req.type);
            if (!t.setPluginTypeEnabled || !t.pluginTypes) break;
            if (!t.pluginTypes.includes(type)) return { ok: false, error: `type '${type}' is not one of ${t.pluginTypes.join(', ')}` };
            const r = await t.setPluginTypeEnabled(type, req.op === 'plugins.enable');
            return r.failed.length ? { ok: false, error: r.failed.map((f) => `${f.name}: ${f.reason}`).join('; ') } : { ok: true, result: { type, names: r.changed } };
          }
          const name = String(req.name ?? '');
          return (await t.setPluginEnabled(name, req.op === 'plugins.enable')) ? { ok: true, result: { name } } : { ok: false, error: `no running plugin named '${name}'` };
        }
        case 'plugins.reload': {
          if (!t.reloadPlugin) break;
          const info = await t.reloadPlugin(String(req.name ?? ''));
          return { ok: true, result: { name: String(req.name), running: info !== undefined, ...(info ? { version: info.version } : {}) } };
        }
        case 'plugins.rescan':
          if (!t.rescanPlugins) break;
          return { ok: true, result: await t.rescanPlugins() };
        case 'lang.set':
          if (!t.catalogue) break;
          return { ok: true, result: { language: t.catalogue.setLanguage(String(req.lang ?? '')) } };
        case 'lang.get':
          if (!t.catalogue) break;
          return { ok: true, result: { text: t.catalogue.render(String(req.key ?? ''), (req.args as (string | number)[]) ?? [], (req.lang as string) ?? t.catalogue.language) } };
        case 'reload': {
          if (!t.reload) break;
          const r = (await t.reload()) as { ok: boolean; error?: string };
          return r.ok ? { ok: true, result: r } : { ok: false, error: `the configuration was not applied (still running the previous one): ${r.error}` };
        }
        case 'reopen':
          if (!t.reopen) break;
          await t.reopen();
          return { ok: true, result: {} };
      }
      return { ok: false, error: `unknown op '${req.op}'` };
    } catch (e) {
      // A refused plugin reads as the agent's own line: Failed to load plugin '<file>': <reason>.
      const line = (e as { line?: unknown }).line;
      return { ok: false, error: typeof line === 'string' ? line : (e as Error).message };
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    await unlink(this.path).catch(() => {});
  }
}
