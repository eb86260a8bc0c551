import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '../../config/load.ts';
import { controlRequest } from '../../control/protocol.ts';
import { createLog } from '../../log.ts';
import { LOCKED, STATIC_PLUGINS } from '../../../static-plugins/table.generated.ts';
import { HOST_FACTORIES } from '../../plugins/hosts/index.ts';
import { PluginRegistry, type PluginRecord } from '../../plugins/registry.ts';
import { checkPlugin, renderReport } from '../../plugins/conformance.ts';
import { SYSTEM_PLUGIN_DIR } from '../../plugins/discovery.ts';
import { readManifest, MANIFEST_FILE } from '../../plugins/manifest.ts';
import { checkSignature, loadPrivateKey, loadPublicKey, sha256File, signHash, writeSignature } from '../../plugins/signing.ts';
import { configOption, parse, UsageError, type Command } from '../command.ts';

const USAGE = `logloom plugins list [-c FILE] [--json] [--offline]      every plugin: kind, version, type, mode, state, signature, origin
logloom plugins enable NAME [-c FILE] [--socket PATH]     resume a plugin in the running agent
logloom plugins disable NAME [-c FILE] [--socket PATH]    skip a filter / hold a sink in the running agent
logloom plugins check PATH|NAME [-c FILE]                 load a plugin, run its lifecycle on generated entries, report pass/fail
logloom plugins sign PLUGIN --key PRIVATE.key             write sha256 + ed25519 signature into its plugin.yaml
logloom plugins verify PLUGIN [--pubkey KEY]… [-c FILE]   check sha256 and signature (keys: --pubkey, else plugins.trusted_keys)

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

function entryFile(manifestPath: string): string {
  const m = readManifest(manifestPath);
  if (!m.entry.path) throw new Error(`${manifestPath}: a ${m.entry.kind} plugin has no file to sign`);
  return resolve(dirname(manifestPath), m.entry.path);
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
  const { values, positionals } = parse(argv, { ...configOption, socket: { type: 'string' } });
  const name = positionals[0];
  if (!name) throw new UsageError(`plugins ${enable ? 'enable' : 'disable'}: missing NAME`);
  const socket = values.socket ?? loadConfig(values.config).config.control.socket;
  const a = await controlRequest(socket, { op: enable ? 'plugins.enable' : 'plugins.disable', name });
  if (!a.ok) throw new Error(a.error);
  process.stdout.write(`${name}: ${enable ? 'enabled' : 'disabled'}\n`);
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
  const hash = sha256File(file);
  writeSignature(manifest, hash, signHash(hash, key));
  process.stdout.write(`signed ${file}\n  sha256 ${hash}\n  written to ${manifest}\n`);
  return 0;
}

async function verifyCmd(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { ...configOption, pubkey: { type: 'string', multiple: true } });
  if (!positionals[0]) throw new UsageError('plugins verify: missing PLUGIN');
  const manifest = manifestFor(positionals[0]);
  const specs = values.pubkey ?? loadConfig(values.config).config.plugins.trusted_keys;
  const keys = specs.map(loadPublicKey);
  const r = checkSignature(entryFile(manifest), readManifest(manifest), keys);
  process.stdout.write(`${r.state}: ${r.detail}\n`);
  return r.state === 'signed' ? 0 : 1;
}

export const plugins: Command = {
  name: 'plugins',
  summary: 'list, check, enable/disable, sign and verify plugins',
  usage: USAGE,
  async run(argv) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'list': return list(rest);
      case 'enable': return toggle(rest, true);
      case 'disable': return toggle(rest, false);
      case 'check': return check(rest);
      case 'sign': return sign(rest);
      case 'verify': return verifyCmd(rest);
    }
    throw new UsageError(`expected list, check, enable, disable, sign or verify, got ${sub === undefined ? 'nothing' : JSON.stringify(sub)}`);
  },
};
