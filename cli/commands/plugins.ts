import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '../../agent/config/load.ts';
import { controlRequest } from '../../lib/control/protocol.ts';
import { createLog } from '../../lib/log.ts';
import { LOCKED, STATIC_PLUGINS } from '../../static-plugins/table.generated.ts';
import { HOST_FACTORIES } from '../../agent/plugins/hosts/index.ts';
import { PluginRegistry, type PluginRecord } from '../../agent/plugins/registry.ts';
import { checkPlugin, renderReport } from '../../agent/plugins/conformance.ts';
import { SYSTEM_PLUGIN_DIR } from '../../agent/plugins/discovery.ts';
import { readManifest, MANIFEST_FILE } from '../../agent/plugins/manifest.ts';
import { checkPluginSignature, loadPrivateKey, loadPublicKey, signPlugin } from '../../agent/plugins/signing.ts';
import { containedEntry } from '../../agent/plugins/plugin-files.ts';
import { configOption, parse, UsageError, type Command } from './command.ts';

const USAGE = `logloom plugins list [-c FILE] [--json] [--offline]      every plugin: kind, version, type, mode, state, signature, origin
logloom plugins enable NAME|--type T [-c FILE] [--socket PATH]    resume (or start) a plugin, or every plugin of type T, in the running agent
logloom plugins disable NAME|--type T [-c FILE] [--socket PATH]   skip a filter / hold a sink; a process plugin's process is stopped
logloom plugins reload NAME [-c FILE] [--socket PATH]     verify the plugin's files as they are now, then restart it with them
logloom plugins rescan [-c FILE] [--socket PATH]          make plugin files new in the plugin directories available (no restart)
logloom plugins check PATH|NAME [-c FILE]                 load a plugin, run its lifecycle on generated entries, report pass/fail
logloom plugins sign PLUGIN --key PRIVATE.key             sign plugin.yaml and every file of the plugin (files, sha256, signature)
logloom plugins verify PLUGIN [--pubkey KEY]… [-c FILE]   check every file, plugin.yaml and the signature (keys: --pubkey, else plugins.trusted_keys)

PLUGIN is a plugin.yaml, the directory holding it, or the entry file next to it.
list asks the running agent (states include failed); when none answers, or with --offline, it
discovers from the configuration.`;

function table(rows: PluginRecord[]): string {
  const cols = ['name', 'kind', 'type', 'version', 'mode', 'state', 'signature', 'origin'] as const;
  const cells = rows.map((r) => cols.map((c) => String(r[c] ?? '-')));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  const reasons = rows.filter((r) => r.reason).map((r) => `  ${r.name}: ${r.reason}`);
  return [line(cols.map((c) => c.toUpperCase())), ...cells.map(line), ...(reasons.length ? ['', 'refused:', ...reasons] : [])].join('\n') + '\n';
}

/** The plugin.yaml that describes PLUGIN (a manifest, its directory, or the entry file beside it). */
export function manifestFor(path: string): string {
  if (existsSync(path) && statSync(path).isDirectory()) {
    const m = join(path, MANIFEST_FILE);
    if (existsSync(m)) return m;
    throw new Error(`${path}: no ${MANIFEST_FILE} in this directory`);
  }
  if (/\.ya?ml$/.test(path)) return path;
  for (const m of [path.replace(/\.[^./]+$/, '.yaml'), join(dirname(path), MANIFEST_FILE)]) {
    if (m !== path && existsSync(m)) {
      const man = readManifest(m);
      if (man.entry.path && resolve(dirname(m), man.entry.path) === resolve(path)) return m;
    }
  }
  throw new Error(`${path}: no plugin.yaml describes this file; write one beside it (docs/plugin-manifest.md)`);
}

/** The entry file a manifest names (refused when it leaves the plugin directory), if any. */
function entryFile(manifestPath: string): string | undefined {
  const m = readManifest(manifestPath);
  return m.entry.path ? containedEntry(manifestPath, m.entry.path) : undefined;
}

async function list(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...configOption, json: { type: 'boolean' }, offline: { type: 'boolean' }, socket: { type: 'string' } }, false);
  const { config } = loadConfig(values.config);
  let rows: PluginRecord[] | undefined;
  if (!values.offline) {
    try {
      const a = await controlRequest(values.socket ?? config.control.socket, { op: 'status' }, 3000);
      if (a.ok) rows = (a.result as { plugins: PluginRecord[] }).plugins;
    } catch {
      // No agent running: fall back to discovery.
    }
  }
  if (!rows) {
    const log = createLog('WARN', (l) => process.stderr.write(l + '\n'));
    const reg = new PluginRegistry({
      config: config.plugins, log, statics: STATIC_PLUGINS, hosts: HOST_FACTORIES, locked: LOCKED,
      env: { python: config.plugins.python, runtimeDir: config.runtime_dir, dataDir: config.data_dir, log }, contextFor: () => { throw new Error('offline'); },
    });
    reg.discover();
    rows = reg.list();
  }
  const pick = rows.map((r) => ({ name: r.name, kind: r.kind, type: r.type, version: r.version, mode: r.mode, state: r.state, signature: r.signature, origin: r.origin, reason: r.reason }));
  process.stdout.write(values.json ? JSON.stringify(pick, null, 2) + '\n' : table(pick));
  return 0;
}

async function toggle(argv: string[], enable: boolean): Promise<number> {
  const { values, positionals } = parse(argv, { ...configOption, socket: { type: 'string' }, type: { type: 'string' } });
  const name = positionals[0];
  const verb = enable ? 'enable' : 'disable';
  if (!name && !values.type) throw new UsageError(`plugins ${verb}: missing NAME (or --type filter|sink|ai|lang)`);
  if (name && values.type) throw new UsageError(`plugins ${verb}: give NAME or --type, not both`);
  const socket = values.socket ?? loadConfig(values.config).config.control.socket;
  const a = await controlRequest(socket, { op: `plugins.${verb}`, ...(name ? { name } : { type: values.type }) });
  if (!a.ok) throw new Error(a.error);
  if (name) process.stdout.write(`${name}: ${verb}d\n`);
  else {
    const names = (a.result as { names: string[] }).names;
    process.stdout.write(names.length ? names.map((n) => `${n}: ${verb}d\n`).join('') : `no running ${values.type} plugins\n`);
  }
  return 0;
}

async function reloadCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...configOption, socket: { type: 'string' } });
  const name = positionals[0];
  if (!name) throw new UsageError('plugins reload: missing NAME');
  const socket = values.socket ?? loadConfig(values.config).config.control.socket;
  // Stopping, verifying and starting may take a while (a Python child's start-up, a host's grace period).
  const a = await controlRequest(socket, { op: 'plugins.reload', name }, 60_000);
  if (!a.ok) throw new Error(a.error);
  const r = a.result as { running: boolean; version?: string };
  process.stdout.write(r.running ? `${name}: reloaded (version ${r.version})\n` : `${name}: re-read (not running; enable it to start)\n`);
  return 0;
}

async function rescanCmd(argv: string[]): Promise<number> {
  const { values } = parse(argv, { ...configOption, socket: { type: 'string' } });
  const socket = values.socket ?? loadConfig(values.config).config.control.socket;
  const a = await controlRequest(socket, { op: 'plugins.rescan' }, 60_000);
  if (!a.ok) throw new Error(a.error);
  const r = a.result as { added: string[]; refused: string[]; started: string[] };
  const lines = [
    ...r.added.map((n) => `${n}: found${r.started.includes(n) ? ', started (listed in plugins.enabled)' : ' (enable it with `logloom plugins enable ' + n + '`)'}`),
    ...r.refused.map((f) => `${f}: refused (see the agent log)`),
  ];
  process.stdout.write(lines.length ? lines.join('\n') + '\n' : 'no new plugins\n');
  return 0;
}

async function check(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...configOption });
  if (positionals.length === 0) throw new UsageError('plugins check: missing PATH or NAME');
  const { config } = loadConfig(values.config);
  let ok = true;
  for (const p of positionals) {
    const report = await checkPlugin(p, {
      config: config.plugins, statics: STATIC_PLUGINS, hosts: HOST_FACTORIES, dirs: LOCKED ? [] : [SYSTEM_PLUGIN_DIR, ...config.plugins.dirs],
      env: { python: config.plugins.python, runtimeDir: config.runtime_dir, dataDir: config.data_dir },
    });
    process.stdout.write(renderReport(report));
    ok &&= report.passed;
  }
  return ok ? 0 : 1;
}

async function sign(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { key: { type: 'string' } });
  if (!positionals[0]) throw new UsageError('plugins sign: missing PLUGIN');
  if (!values.key) throw new UsageError('plugins sign: missing --key PRIVATE.key (make one with logloom keygen)');
  const manifest = manifestFor(positionals[0]);
  const file = entryFile(manifest);
  const key = loadPrivateKey(values.key);
  const r = signPlugin(manifest, key, file);
  const names = Object.keys(r.files);
  process.stdout.write(`signed ${dirname(resolve(manifest))}: plugin.yaml and ${names.length} file${names.length === 1 ? '' : 's'} (${names.join(', ')})\n  sha256 ${r.sha256}\n  written to ${manifest}\n`);
  return 0;
}

async function verifyCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...configOption, pubkey: { type: 'string', multiple: true } });
  if (!positionals[0]) throw new UsageError('plugins verify: missing PLUGIN');
  const manifest = manifestFor(positionals[0]);
  const specs = values.pubkey ?? loadConfig(values.config).config.plugins.trusted_keys;
  const keys = specs.map(loadPublicKey);
  const r = checkPluginSignature({ manifestPath: manifest, file: entryFile(manifest) }, keys);
  process.stdout.write(`${r.state}: ${r.detail}\n`);
  return r.state === 'signed' ? 0 : 1;
}

export const plugins: Command = {
  name: 'plugins',
  summary: 'list, check, enable/disable, reload, rescan, sign and verify plugins',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'list': return list(rest);
      case 'enable': return toggle(rest, true);
      case 'disable': return toggle(rest, false);
      case 'reload': return reloadCmd(rest);
      case 'rescan': return rescanCmd(rest);
      case 'check': return check(rest);
      case 'sign': return sign(rest);
      case 'verify': return verifyCmd(rest);
    }
    throw new UsageError(`expected list, check, enable, disable, reload, rescan, sign or verify, got ${sub === undefined ? 'nothing' : JSON.stringify(sub)}`);
  },
};
