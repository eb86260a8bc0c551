import { describe, type Schema } from './schema.ts';
import { defaultOf } from './validate.ts';

/**
 * Renders the configuration reference (docs/configuration.md) from the schema, so the reference
 * cannot drift from what the validator accepts. toolchain/gen-config-docs.ts writes the file;
 * test/config/docs.test.ts fails when the committed file is stale.
 */
interface Row {
  key: string;
  type: string;
  def: string;
  doc: string;
}

function shownDefault(schema: Schema): string {
  if (schema.defaultDoc) return schema.defaultDoc;
  if (schema.kind === 'map' && schema.known) return '`{}` (compiled-in plugins: see below)';
  if (schema.kind === 'object' || schema.kind === 'tagged') return '';
  const d = defaultOf(schema);
  if (d === undefined) return schema.kind === 'optional' ? '(unset)' : '(required)';
  if (schema.kind === 'int' && schema.doc.includes('octal')) return `0o${(d as number).toString(8)}`;
  return '`' + JSON.stringify(d) + '`';
}

function typeOf(schema: Schema): string {
  if (schema.kind === 'optional') return typeOf(schema.inner);
  if (schema.kind === 'array') return `list of ${schema.items.kind === 'tagged' ? 'items (see below)' : describe(schema.items).replace(/^an? /, '')}`;
  if (schema.kind === 'map') return 'mapping';
  return describe(schema);
}

const esc = (s: string) => s.replace(/\|/g, '\\|');

function rows(schema: Schema, path: string, out: Row[]): void {
  if (schema.kind === 'object') {
    for (const [k, f] of Object.entries(schema.fields) as [string, Schema][]) {
      const p = path ? `${path}.${k}` : k;
      out.push({ key: p, type: typeOf(f), def: shownDefault(f), doc: f.doc });
      if (f.kind === 'object') rows(f, p, out);
      if (f.kind === 'optional' && f.inner.kind === 'object') rows(f.inner, p, out);
      if (f.kind === 'map' && f.values.kind === 'object') rows(f.values, `${p}.<name>`, out);
      if (f.kind === 'array' && f.items.kind === 'object') rows(f.items, `${p}[]`, out);
    }
  }
}

function table(list: Row[]): string {
  return '| key | type | default | meaning |\n| --- | --- | --- | --- |\n' +
    list.map((r) => `| \`${r.key}\` | ${esc(r.type)} | ${esc(r.def)} | ${esc(r.doc)} |`).join('\n') + '\n';
}

export interface DocSections {
  root: Schema;
  /** Tagged lists documented one variant per section, e.g. inputs by type. */
  tagged: { title: string; path: string; variants: Record<string, Schema> }[];
  /** Mapping entries with their own schema, e.g. the config blocks of compiled-in plugins. */
  known: { title: string; path: string; entries: Record<string, Schema> }[];
}

export function renderConfigDocs(intro: string, sections: DocSections): string {
  let md = intro.trimEnd() + '\n\n## Keys under `logloom:`\n\n';
  const top: Row[] = [];
  rows(sections.root, '', top);
  md += table(top);
  for (const t of sections.tagged) {
    md += `\n## ${t.title}\n`;
    for (const [name, variant] of Object.entries(t.variants)) {
      const list: Row[] = [];
      rows(variant, `${t.path}[]`, list);
      md += `\n### \`type: ${name}\`\n\n${variant.doc}\n\n${table(list)}`;
    }
  }
  for (const k of sections.known) {
    md += `\n## ${k.title}\n`;
    for (const [name, schema] of Object.entries(k.entries)) {
      const list: Row[] = [];
      rows(schema, `${k.path}.${name}`, list);
      md += `\n### \`${name}\`\n\n${schema.doc}\n\n${table(list)}`;
    }
  }
  return md;
}
