import { hostname } from 'node:os';
import { s, type Infer } from '../../lib/schema/schema.ts';
import { defaultPaths } from '../../lib/paths.ts';
import { LEVELS } from '../../lib/level.ts';
import { INPUT_KINDS } from '../inputs/index.ts';
import { pluginsSchema } from '../plugins/config.ts';
import { aggregatorSchema } from '../aggregator/config.ts';
import { labelsSchema } from '../processing/labels.ts';
import { checkRoutes, routesSchema } from '../pipeline/routes/schema.ts';
import { inputNames } from '../inputs/names.ts';
import { LOCKED, STATIC_PLUGINS } from '../../static-plugins/table.generated.ts';
import { PORT } from '../../lib/port.ts';

/** The root schema under `logloom:`; each component owns the schema of its own section. */
export const agentSchema = s.object(
  {
    node_id: s.string({ default: hostname(), defaultDoc: 'the host name', doc: 'This gateway\'s id, carried by every entry and used by the aggregator (default: the host name).', pattern: /^[A-Za-z0-9_.-]{1,64}$/, patternDoc: 'an id of 1 to 64 characters [A-Za-z0-9_.-]' }),
    language: s.string({ default: 'en', doc: 'Language of the agent\'s own messages and of rendered lang keys (en, zh, or one a lang plugin provides). Switch at run time with `logloom lang set`.' }),
    log_level: s.enum(LEVELS, { default: 'INFO', doc: 'Lowest level of the agent\'s own diagnostics on stderr.' }),
    log_format: s.enum(['text', 'json'] as const, { default: 'text', doc: 'Format of the agent\'s (and aggregator\'s) own diagnostics on stderr: text = `2026-11-30T17:30:01.250Z [WARN] message`; json = one `{"time","level","msg"}` object per line, for log shippers.' }),
    data_dir: s.string({ default: defaultPaths.dataDir, doc: 'Persistent state: file offsets, spool, plugin state.' }),
    runtime_dir: s.string({ default: defaultPaths.runtimeDir, doc: 'Sockets and unpacked runtime helpers (may be a tmpfs).' }),
    labels: labelsSchema('Labels on every entry of this gateway (site, firmware…): name → value, or {file: PATH} (its contents, trimmed), or {command: CMD} (its output, run once at start). Carried to the aggregator as the entry\'s `labels`. See docs/labels.md.'),
    max_message_bytes: s.size({ min: 256, max: 16 * 1024 * 1024, default: 16 * 1024, doc: 'Messages longer than this are cut and marked truncated: true.' }),
    shutdown_grace: s.duration({ min: 0, max: 600_000, default: 5000, doc: 'On SIGTERM, how long to keep draining queued entries into sinks before exiting.' }),
    buffer: s.object(
      {
        max_entries: s.int({ min: 1, max: 10_000_000, default: 16384, doc: 'Entries the buffer between inputs and filters holds.' }),
        max_bytes: s.size({ min: 4096, max: 4 * 1024 ** 3, default: 16 * 1024 * 1024, doc: 'Bytes (of message text) the buffer holds.' }),
        native: s.enum(['auto', 'on', 'off'] as const, { default: 'auto', doc: 'Which ring holds queued entries and which codec frames the unix, tcp and file inputs: the native (C) addon or its JavaScript twin (same memory layout, same records, slower). auto = native when the addon loads, else JS (the log says which); on = native, the addon required (a start-up error without it); off = JS. Entries are records from the input to the sink either way. See docs/c-plugins.md.' }),
      },
      { doc: 'The bounded buffer between inputs and filters; each input\'s when_full applies when it is full.' },
    ),
    inputs: s.array(s.tagged('type', INPUT_KINDS_SCHEMAS(), { doc: 'One input.' }), {
      doc: 'Where entries come from; each item has a type: and its own keys (see Inputs below).',
      default: [],
    }),
    plugins: pluginsSchema({ statics: STATIC_PLUGINS, locked: LOCKED }),
    routes: routesSchema,
    control: s.object(
      {
        socket: s.string({ default: defaultPaths.controlSocket, doc: 'Control socket (mode 0600) that `logloom status`, `plugins enable|disable` and `lang set` talk to.' }),
        http: s.optional(s.string({ doc: '', pattern: new RegExp(`^[^:]+:${PORT}$`), patternDoc: 'host:port' }), {
          doc: 'Address for /metrics (Prometheus) and /healthz; omit or null to turn off. The embedded default is 127.0.0.1:9880.',
        }),
      },
      { doc: 'Control socket and metrics.' },
    ),
    aggregator: aggregatorSchema,
  },
  {
    doc: 'The agent.',
    // Routes name inputs and plugins defined elsewhere in the file: checked once everything is read.
    check: (c) => {
      const typeOf = (name: string) => STATIC_PLUGINS.find((m) => m.info.name === name)?.info.type;
      const problems = checkRoutes(c.routes, inputNames(c.inputs), c.plugins.enabled, typeOf);
      return problems.length ? problems.join('; ') : undefined;
    },
  },
);

function INPUT_KINDS_SCHEMAS() {
  return Object.fromEntries(Object.entries(INPUT_KINDS).map(([k, v]) => [k, v.schema])) as {
    [K in keyof typeof INPUT_KINDS]: (typeof INPUT_KINDS)[K]['schema'];
  };
}

export type AgentConfig = Infer<typeof agentSchema>;
export type InputConfig = AgentConfig['inputs'][number];
