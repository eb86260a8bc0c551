/**
 * What every Logloom program shares about its configuration file: where it comes from, and the
 * keys under `logloom:` that both the agent (`logloom run`) and the aggregator (`logloom
 * aggregator`) read. Each program validates the file with its own root schema (these fields plus
 * its own sections), so one file can describe both roles and neither program loads the other to
 * read it.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { readAssetText } from './assets.ts';
import { LEVELS } from './level.ts';
import { defaultPaths } from './paths.ts';
import { PORT } from './port.ts';
import { s } from './schema/schema.ts';

/** The embedded default configuration (an asset): a unix socket input and the console sink. */
export const EMBEDDED_DEFAULT = 'agent/config/default-config.yaml';

export interface ConfigSource {
  /** The file name shown in messages, or `<embedded default>`. */
  file: string;
  text: string;
}

/**
 * Which configuration applies: --config, else $LOGLOOM_CONFIG, else /etc/logloom/logloom.yaml
 * when it exists, else the embedded default.
 */
export function resolveConfigSource(explicit?: string, env: NodeJS.ProcessEnv = process.env): ConfigSource {
  const path = explicit ?? env.LOGLOOM_CONFIG;
  if (path) return { file: path, text: readFileSync(path, 'utf8') };
  try {
    return { file: defaultPaths.configFile, text: readFileSync(defaultPaths.configFile, 'utf8') };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  return { file: '<embedded default>', text: readAssetText(EMBEDDED_DEFAULT) };
}

/** Keys under `logloom:` that every program reads (the agent's and the aggregator's root schemas both spread them). */
export const sharedConfigFields = {
  node_id: s.string({ default: hostname(), defaultDoc: 'the host name', doc: 'This gateway\'s id, carried by every entry and used by the aggregator (default: the host name).', pattern: /^[A-Za-z0-9_.-]{1,64}$/, patternDoc: 'an id of 1 to 64 characters [A-Za-z0-9_.-]' }),
  language: s.string({ default: 'en', doc: 'Language of the agent\'s own messages and of rendered lang keys (en, zh, or one a lang plugin provides). Switch at run time with `logloom lang set`.' }),
  log_level: s.enum(LEVELS, { default: 'INFO', doc: 'Lowest level of the agent\'s own diagnostics on stderr.' }),
  log_format: s.enum(['text', 'json'] as const, { default: 'text', doc: 'Format of the agent\'s (and aggregator\'s) own diagnostics on stderr: text = `2026-11-30T17:30:01.250Z [WARN] message`; json = one `{"time","level","msg"}` object per line, for log shippers.' }),
  data_dir: s.string({ default: defaultPaths.dataDir, doc: 'Persistent state: file offsets, spool, plugin state.' }),
  runtime_dir: s.string({ default: defaultPaths.runtimeDir, doc: 'Sockets and unpacked runtime helpers (may be a tmpfs).' }),
  max_message_bytes: s.size({ min: 256, max: 16 * 1024 * 1024, default: 16 * 1024, doc: 'Messages longer than this are cut and marked truncated: true.' }),
  shutdown_grace: s.duration({ min: 0, max: 600_000, default: 5000, doc: 'On SIGTERM, how long to keep draining queued entries into sinks before exiting.' }),
  control: s.object(
    {
      socket: s.string({ default: defaultPaths.controlSocket, doc: 'Control socket (mode 0600) that `logloom status`, `plugins enable|disable` and `lang set` talk to.' }),
      http: s.optional(s.string({ doc: '', pattern: new RegExp(`^[^:]+:${PORT}$`), patternDoc: 'host:port' }), {
        doc: 'Address for /metrics (Prometheus) and /healthz; omit or null to turn off. The embedded default is 127.0.0.1:9880.',
      }),
    },
    { doc: 'Control socket and metrics.' },
  ),
};
