/**
 * `routes:` — which entries each sink (the forwarder included) takes, and the filters that belong
 * to one route only, like Fluent Bit's Tag/Match or Vector's input graph:
 *
 *   routes:
 *     - name: local_raw
 *       sinks: [sink_file]                 # the raw copy
 *     - name: uplink
 *       match: { min_level: INFO, modules: [PUMP, "NET*"] }
 *       filters: [filter_redact]           # only on this route's copy
 *       sinks: [log_aggregator_remote]
 *
 * A sink no route names takes every entry (after the global filters), as without routes. Names
 * are checked against the configuration (inputs, enabled plugins) so check-config refuses a
 * route naming an input or sink that does not exist.
 */
import { s, type Infer } from '../../../lib/schema/schema.ts';
import { LEVELS, levelRank } from '../../../lib/level.ts';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export const routeSchema = s.object(
  {
    name: s.string({ doc: 'Shown in status and metrics.', pattern: NAME, patternDoc: 'a name of 1 to 64 characters [A-Za-z0-9_.-]' }),
    match: s.object(
      {
        inputs: s.array(s.string({ doc: '', minLength: 1 }), { default: [], doc: 'Input names (as in status: the configured name, else the type, numbered when repeated); [] = all.' }),
        min_level: s.enum(LEVELS, { default: 'DEBUG', doc: 'Lowest level taken.' }),
        max_level: s.enum(LEVELS, { default: 'FATAL', doc: 'Highest level taken.' }),
        modules: s.array(s.string({ doc: '', pattern: /^[A-Za-z0-9_.*-]{1,16}$/, patternDoc: 'a module tag, * for any characters (NET*)' }), { default: [], doc: 'Modules taken (case-insensitive; * matches any characters, e.g. NET*); [] = all.' }),
        exclude_modules: s.array(s.string({ doc: '', pattern: /^[A-Za-z0-9_.*-]{1,16}$/, patternDoc: 'a module tag, * for any characters' }), { default: [], doc: 'Modules never taken, even when modules lists them.' }),
      },
      { doc: 'Which entries the route takes (every condition must hold); omitted = everything.' },
    ),
    filters: s.array(s.string({ doc: '', minLength: 1 }), { default: [], doc: 'Enabled filters that run only on this route\'s entries, in this order, after the global filters (a filter named here runs on no other entries).' }),
    sinks: s.array(s.string({ doc: '', minLength: 1 }), { doc: 'Enabled sinks (log_aggregator_remote included) fed by this route; a sink belongs to at most one route.' }),
  },
  { doc: 'One route.' },
);

export const routesSchema = s.array(routeSchema, {
  default: [],
  doc: 'Routes: which entries each sink takes, and filters that belong to one route (see docs/routes.md). [] = every sink takes everything.',
});

export type RouteConfig = Infer<typeof routeSchema>;

/**
 * Cross-checks routes against the rest of the configuration: names unique, inputs that exist,
 * sinks and filters that are enabled plugins (and, for compiled-in plugins, of the right type), a
 * sink or filter in one route only, min_level ≤ max_level. Returns every problem.
 */
export function checkRoutes(
  routes: readonly RouteConfig[],
  inputs: readonly string[],
  enabled: readonly string[],
  typeOf: (plugin: string) => string | undefined,
): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  const sinkOwner = new Map<string, string>();
  const filterOwner = new Map<string, string>();
  routes.forEach((r, i) => {
    const at = `routes[${i}]`;
    if (seen.has(r.name)) problems.push(`${at}.name: "${r.name}" is used by another route`);
    seen.add(r.name);
    for (const name of r.match.inputs) {
      if (!inputs.includes(name)) problems.push(`${at}.match.inputs: unknown input "${name}"; the inputs are: ${inputs.join(', ') || '(none)'}`);
    }
    if (levelRank(r.match.min_level) > levelRank(r.match.max_level)) problems.push(`${at}.match: min_level ${r.match.min_level} is above max_level ${r.match.max_level}`);
    if (r.sinks.length === 0) problems.push(`${at}.sinks: a route needs at least one sink`);
    for (const name of r.sinks) {
      if (!enabled.includes(name)) problems.push(`${at}.sinks: unknown sink "${name}"; it must be in plugins.enabled (${enabled.join(', ') || 'empty'})`);
      else if (typeOf(name) && typeOf(name) !== 'sink') problems.push(`${at}.sinks: "${name}" is a ${typeOf(name)}, not a sink`);
      const owner = sinkOwner.get(name);
      if (owner) problems.push(`${at}.sinks: "${name}" already belongs to route ${owner}`);
      sinkOwner.set(name, r.name);
    }
    for (const name of r.filters) {
      if (!enabled.includes(name)) problems.push(`${at}.filters: unknown filter "${name}"; it must be in plugins.enabled (${enabled.join(', ') || 'empty'})`);
      else if (typeOf(name) && typeOf(name) !== 'filter') problems.push(`${at}.filters: "${name}" is a ${typeOf(name)}, not a filter`);
      const owner = filterOwner.get(name);
      if (owner) problems.push(`${at}.filters: "${name}" already belongs to route ${owner}`);
      filterOwner.set(name, r.name);
    }
  });
  return problems;
}
