/**
 * Declared metrics: each metric of /metrics is declared once, here or beside the program that
 * owns it, with its Prometheus type (counters end in `_total`), its labels and HELP text, and a
 * function that reads its samples from the program's status(). The names are a contract
 * (docs/metrics.md is generated from the declarations and a test keeps it in step); a status
 * field that no declaration reads is not exported.
 */

export type Labels = Record<string, string>;
export type Sample = [labels: Labels, value: number];

export interface MetricDef<S = any> {
  name: string;
  type: 'counter' | 'gauge';
  help: string;
  labels: readonly string[];
  samples(status: S): Sample[];
}

const num = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : NaN);

/**
 * A metric per item of one status list (inputs, sinks, plugins…): `field` of each item, labelled by
 * the item's name (and more labels read from the item). Items without the field give no sample.
 */
export function perItem<S>(
  list: (s: S) => readonly Record<string, unknown>[] | undefined,
  label: string,
  def: { name: string; type: 'counter' | 'gauge'; help: string; field: string | ((item: Record<string, unknown>) => number | undefined); extra?: Record<string, string> },
): MetricDef<S> {
  const extra = def.extra ?? {};
  return {
    name: def.name, type: def.type, help: def.help, labels: [label, ...Object.keys(extra)],
    samples: (s) => (list(s) ?? []).flatMap((item) => {
      const v = typeof def.field === 'string' ? (def.field in item ? num(item[def.field]) : NaN) : def.field(item) ?? NaN;
      if (!Number.isFinite(v)) return [];
      const labels: Labels = { [label]: String(item.name) };
      for (const [l, field] of Object.entries(extra)) labels[l] = String(item[field] ?? '');
      return [[labels, v] as Sample];
    }),
  };
}

/** One unlabelled sample. */
export function single<S>(name: string, type: 'counter' | 'gauge', help: string, read: (s: S) => unknown): MetricDef<S> {
  return { name, type, help, labels: [], samples: (s) => [[{}, num(read(s))]] };
}

/** docs/metrics.md's table of a program's metrics. */
export function metricsTable(defs: readonly MetricDef[]): string {
  return '| metric | type | labels | meaning |\n| --- | --- | --- | --- |\n' +
    defs.map((d) => `| \`${d.name}\` | ${d.type} | ${d.labels.map((l) => `\`${l}\``).join(', ') || '–'} | ${d.help.replace(/\|/g, '\\|')} |`).join('\n') + '\n';
}
