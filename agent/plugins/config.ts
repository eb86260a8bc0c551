import { s, type Infer, type Refinement, type Schema } from '../../lib/schema/schema.ts';
import { unreadable } from '../../lib/schema/validate.ts';
import { didYouMean } from '../../lib/suggest.ts';
import { discover, failedPluginName, SYSTEM_PLUGIN_DIR } from './discovery.ts';
import type { StaticPluginModule } from './types.ts';

/**
 * What this build compiled in (static-plugins/table.generated.ts): its plugins and whether it is
 * locked. The agent's root schema passes it in, because the generated table imports this folder's
 * types: importing the table from here would tie plugins/ and static-plugins/ into one cycle.
 */
export interface StaticBuild {
  statics: readonly StaticPluginModule[];
  locked: boolean;
}

/** Config schemas of the compiled-in plugins, so check-config validates their blocks with positions. */
function staticConfigSchemas(statics: StaticBuild['statics']): Record<string, Schema> {
  return Object.fromEntries(statics.filter((m) => m.configSchema).map((m) => [m.info.name, m.configSchema!]));
}

/**
 * A locked build loads only its compiled-in plugins, so any plugins.dirs item is an error that
 * check-config reports with its position.
 */
function lockedAware(locked: boolean) {
  return locked
    ? s.string({ doc: '', pattern: /(?!)/, patternDoc: 'no directory: this is a locked build, which loads only its compiled-in plugins' })
    : s.string({ doc: '' });
}

/** Per-plugin invocation and resource limits; from the manifest, else plugins.defaults. */
export const limitFields = {
  timeout_ms: s.int({ min: 1, max: 600_000, default: 500, doc: 'Longest a single call may take before it counts as a failure.' }),
  max_inflight: s.int({ min: 1, max: 4096, default: 4, doc: 'Calls (batches) in flight at once for async plugins.' }),
  queue_length: s.int({ min: 1, max: 10_000_000, default: 10_000, doc: 'Entries queued for an async plugin; beyond it the queue is full (sinks: backpressure; ai: drop, counted).' }),
  memory_max: s.optional(s.size({ min: 1024 * 1024, max: 64 * 1024 ** 3, doc: '' }), { doc: 'Memory limit of a plugin process (cgroup, else RLIMIT_AS).' }),
  cpu_max: s.optional(s.number({ min: 0.01, max: 64, doc: '' }), { doc: 'CPU share of a plugin process in cores, e.g. 0.2.' }),
  pids_max: s.optional(s.int({ min: 1, max: 65536, doc: '' }), { doc: 'Processes/threads a plugin process may have (cgroup pids, else RLIMIT_NPROC).' }),
  user: s.optional(s.string({ doc: '' }), { doc: 'User a plugin process runs as when the agent is root (default nobody).' }),
  on_error: s.enum(['keep', 'drop'] as const, { default: 'keep', doc: 'Filters: what happens to an entry when the filter fails (keep = fail open).' }),
};
export const limitsSchema = s.object(limitFields, { doc: 'Limits for one plugin.' });
export type PluginLimits = Infer<typeof limitsSchema>;

/** The `plugins` section of the configuration, for a build's compiled-in plugins. */
export function pluginsSchema(build: StaticBuild) {
  return s.object(
    {
      enabled: s.array(s.string({ doc: '' }), { default: ['sink_console'], doc: 'Names of the plugins that run, filters in this order. Only listed plugins run.' }),
      dirs: s.array(lockedAware(build.locked), { default: [], doc: 'Extra directories scanned for plugins besides /usr/lib/logloom/plugins (refused in a locked build).' }),
      config: s.map(s.any({ doc: '' }), { default: {}, known: () => staticConfigSchemas(build.statics), doc: 'Per-plugin settings: plugins.config.<name> is handed to that plugin\'s init.' }),
      limits: s.map(limitsSchema, { default: {}, doc: 'Per-plugin limits overriding the manifest: plugins.limits.<name>.' }),
      defaults: limitsSchema,
      require_signature: s.optional(s.bool({ doc: '' }), { doc: 'Refuse unsigned or modified plugins (default: true in a locked build, else false).' }),
      trusted_keys: s.array(s.string({ doc: '' }), { default: [], doc: 'Public keys (PEM files or base64 ed25519 keys) whose plugin signatures are accepted.' }),
      python: s.string({ default: '/usr/bin/python3', doc: 'Interpreter for Python plugins (must be executable by the plugin user, e.g. nobody).' }),
      max_line_bytes: s.size({ min: 4096, max: 256 * 1024 * 1024, default: 1024 * 1024, doc: 'Longest protocol line a Python or socket plugin may send; a longer one is refused before parsing and counts as a fault.' }),
      remote_tcp: s.array(s.string({ doc: '' }), { default: [], doc: 'Socket plugins allowed to use a TCP address that is not loopback (by name). Others are refused.' }),
      failure_threshold: s.int({ min: 1, max: 1000, default: 5, doc: 'Consecutive failures after which a plugin is marked failed and restarted with backoff.' }),
      disabled_sink_queue: s.enum(['keep', 'drop'] as const, { default: 'keep', doc: 'What a sink disabled at run time does with entries: keep queuing (up to queue_length) or drop them (counted).' }),
      missing: s.enum(['fail', 'warn'] as const, { default: 'fail', doc: 'A name in plugins.enabled that no plugin has: fail = check-config and run refuse the configuration (a typo in filter_redact would ship secrets); warn = log it and run without it.' }),
    },
    { doc: 'Plugins (see docs/plugin-manifest.md).', refine: (value) => checkPluginNames(value, build) },
  );
}

/**
 * Every name in plugins.enabled must be a plugin this build can find (compiled in, or in the
 * plugin directories); a plugin found but refused by its manifest is reported too, as a warning,
 * because `run` keeps going without it. Trusted keys given as files must be readable.
 */
function checkPluginNames(value: { enabled: string[]; dirs: string[]; missing: 'fail' | 'warn'; trusted_keys: string[] } & Record<string, unknown>, build: StaticBuild): Refinement[] {
  const { statics, locked } = build;
  const out: Refinement[] = [];
  const found = discover({ statics, config: value as never, dirs: locked ? [] : [SYSTEM_PLUGIN_DIR, ...value.dirs] });
  const names = new Set(found.plugins.map((p) => p.name));
  const refused = new Map(found.failures.map((f) => [failedPluginName(f.file), f.line]));
  value.enabled.forEach((name, index) => {
    if (names.has(name)) return;
    const why = refused.get(name);
    if (why) return void out.push({ key: 'enabled', index, message: `${name} will not load: ${why}`, warning: true });
    const where = locked ? 'this locked build has only its compiled-in plugins' : `not compiled in, and not in ${[SYSTEM_PLUGIN_DIR, ...value.dirs].join(', ')}`;
    out.push({ key: 'enabled', index, message: `no plugin named "${name}"${didYouMean(name, names)} (${where})`, warning: value.missing === 'warn' });
  });
  value.trusted_keys.forEach((spec, index) => {
    const why = spec.includes('/') ? unreadable(spec) : undefined;
    if (why) out.push({ key: 'trusted_keys', index, message: `cannot read ${JSON.stringify(spec)}: ${why}` });
  });
  return out;
}
export type PluginsConfig = Infer<ReturnType<typeof pluginsSchema>>;
