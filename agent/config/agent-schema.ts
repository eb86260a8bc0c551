import { s, type Infer } from '../../lib/schema/schema.ts';
import { INPUT_KINDS } from '../inputs/index.ts';
import { pluginsSchema } from '../plugins/config.ts';
import { aggregatorSchema } from '../../aggregator/config/config.ts';
import { labelsSchema } from '../processing/labels.ts';
import { checkRoutes, routesSchema } from '../pipeline/routes/schema.ts';
import { inputNames } from '../inputs/names.ts';
import { LOCKED, STATIC_PLUGINS } from '../../static-plugins/table.generated.ts';
import { sharedConfigFields } from '../../lib/config-file.ts';

/** The root schema under `logloom:`; each component owns the schema of its own section. */
export const agentSchema = s.object(
  {
    node_id: sharedConfigFields.node_id,
    language: sharedConfigFields.language,
    log_level: sharedConfigFields.log_level,
    log_format: sharedConfigFields.log_format,
    data_dir: sharedConfigFields.data_dir,
    runtime_dir: sharedConfigFields.runtime_dir,
    labels: labelsSchema('Labels on every entry of this gateway (site, firmware…): name → value, or {file: PATH} (its contents, trimmed), or {command: CMD} (its output, run once at start). Carried to the aggregator as the entry\'s `labels`. See docs/labels.md.'),
    max_message_bytes: sharedConfigFields.max_message_bytes,
    shutdown_grace: sharedConfigFields.shutdown_grace,
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
    control: sharedConfigFields.control,
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
