import { Document, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, visit, type Node as YamlNode } from 'yaml';
import { accessSync, constants, statSync } from 'node:fs';
import { describe, parseDuration, parseSize, type Schema } from './schema.ts';

/** One configuration problem, with where it is. */
export interface ConfigIssue {
  file: string;
  line: number;
  col: number;
  /** Dotted path, e.g. inputs[0].baud_rate */
  path: string;
  message: string;
  /** Printed, but the configuration is still accepted (e.g. a token file that may be provisioned later). */
  warning?: boolean;
}

export function formatIssue(i: ConfigIssue): string {
  return `${i.file}:${i.line}:${i.col}: ${i.warning ? 'warning: ' : ''}${i.path ? i.path + ': ' : ''}${i.message}`;
}

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

interface Ctx {
  file: string;
  lc: LineCounter;
  issues: ConfigIssue[];
}

function pos(ctx: Ctx, node: YamlNode | null | undefined): { line: number; col: number } {
  const offset = node?.range?.[0] ?? 0;
  return ctx.lc.linePos(offset);
}

function fail(ctx: Ctx, node: YamlNode | null | undefined, path: string, message: string, warning = false): undefined {
  ctx.issues.push({ file: ctx.file, ...pos(ctx, node), path, message, ...(warning ? { warning } : {}) });
  return undefined;
}

/** Why a file the configuration names cannot be read, or undefined when it can. */
export function unreadable(file: string): string | undefined {
  try {
    accessSync(file, constants.R_OK);
    return statSync(file).isFile() ? undefined : 'not a regular file';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code ?? (e as Error).message;
  }
}

function shown(node: YamlNode | null | undefined): string {
  if (node == null) return 'nothing';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return JSON.stringify(v);
    return String(v);
  }
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  return 'an unexpected value';
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

function expected(ctx: Ctx, node: YamlNode | null | undefined, path: string, schema: Schema): undefined {
  return fail(ctx, node, path, `expected ${describe(schema)}, got ${shown(node)}`);
}

/** Default value of a schema when the key is absent (objects default field by field). */
export function defaultOf(schema: Schema): unknown {
  if (schema.kind === 'map' && schema.known) {
    const out: Record<string, unknown> = { ...(schema.default ?? {}) };
    for (const [k, f] of Object.entries(schema.known())) out[k] = defaultOf(f);
    return out;
  }
  if (schema.default !== undefined) return structuredClone(schema.default);
  if (schema.kind === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, f] of Object.entries(schema.fields)) out[k] = defaultOf(f as Schema);
    return out;
  }
  if (schema.kind === 'array') return [];
  if (schema.kind === 'map') return {};
  return undefined;
}

function validateNode(ctx: Ctx, node: YamlNode | null | undefined, schema: Schema, path: string): unknown {
  const before = ctx.issues.length;
  const value = validateShape(ctx, node, schema, path);
  if (schema.check && value !== undefined && ctx.issues.length === before) {
    const why = (schema.check as (v: unknown) => string | undefined)(value);
    if (why) return fail(ctx, node, path, why);
  }
  return value;
}

function validateShape(ctx: Ctx, node: YamlNode | null | undefined, schema: Schema, path: string): unknown {
  if (schema.kind === 'optional') {
    if (node == null || (isScalar(node) && node.value === null)) return undefined;
    return validateNode(ctx, node, schema.inner, path);
  }
  if (schema.kind === 'any') return node == null ? schema.default : (node as { toJSON(): unknown }).toJSON();
  const scalar = isScalar(node) ? node.value : undefined;
  switch (schema.kind) {
    case 'string': {
      if (typeof scalar !== 'string' && typeof scalar !== 'number') return expected(ctx, node, path, schema);
      const v = String(scalar);
      if (schema.minLength !== undefined && v.length < schema.minLength) return expected(ctx, node, path, schema);
      if (schema.pattern && !schema.pattern.test(v)) return expected(ctx, node, path, schema);
      const why = schema.file ? unreadable(v) : undefined;
      if (why) return fail(ctx, node, path, `cannot read ${JSON.stringify(v)}: ${why}`);
      return v;
    }
    case 'enum': {
      // Any case is accepted (`warn` for WARN, `Block` for block): operators type level names as their
      // logs spell them. The canonical spelling is what the program sees.
      const canonical = typeof scalar === 'string' ? schema.values.find((v) => v.toLowerCase() === scalar.toLowerCase()) : undefined;
      if (canonical === undefined) return expected(ctx, node, path, schema);
      return canonical;
    }
    case 'int': {
      if (typeof scalar !== 'number' || !Number.isInteger(scalar)) return expected(ctx, node, path, schema);
      if (schema.choices ? !schema.choices.includes(scalar) : scalar < schema.min || scalar > schema.max) return expected(ctx, node, path, schema);
      return scalar;
    }
    case 'number': {
      if (typeof scalar !== 'number' || scalar < schema.min || scalar > schema.max) return expected(ctx, node, path, schema);
      return scalar;
    }
    case 'bool': {
      if (typeof scalar !== 'boolean') return expected(ctx, node, path, schema);
      return scalar;
    }
    case 'size':
    case 'duration': {
      const v = typeof scalar === 'number' ? scalar : typeof scalar === 'string' ? (schema.kind === 'size' ? parseSize(scalar) : parseDuration(scalar)) : undefined;
      if (v === undefined || !Number.isInteger(v) || v < schema.min || v > schema.max) return expected(ctx, node, path, schema);
      return v;
    }
    case 'array': {
      if (!isSeq(node)) return expected(ctx, node, path, schema);
      return node.items.map((item, i) => validateNode(ctx, item as YamlNode, schema.items, `${path}[${i}]`));
    }
    case 'map': {
      if (!isMap(node)) return expected(ctx, node, path, schema);
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        if (!isPair(pair)) continue;
        const key = isScalar(pair.key) ? String(pair.key.value) : '';
        out[key] = validateNode(ctx, pair.value as YamlNode, schema.known?.()[key] ?? schema.values, join(path, key));
      }
      for (const [key, known] of Object.entries(schema.known?.() ?? {})) {
        if (!(key in out)) out[key] = defaultOf(known);
      }
      return out;
    }
    case 'object':
      return validateObject(ctx, node, schema.fields, path, schema);
    case 'tagged': {
      if (!isMap(node)) return expected(ctx, node, path, schema);
      const tagNode = node.get(schema.tag, true) as YamlNode | undefined;
      const tag = isScalar(tagNode) ? tagNode.value : undefined;
      const variant = typeof tag === 'string' ? schema.variants[tag] : undefined;
      if (!variant) {
        return fail(ctx, tagNode ?? node, join(path, schema.tag), `expected one of ${Object.keys(schema.variants).join(', ')}, got ${shown(tagNode)}`);
      }
      const value = validateObject(ctx, node, variant.fields, path, variant, schema.tag);
      return value && { [schema.tag]: tag, ...value };
    }
  }
}

function validateObject(ctx: Ctx, node: YamlNode | null | undefined, fields: Record<string, Schema>, path: string, schema: Schema, tagKey?: string): Record<string, unknown> | undefined {
  if (node == null || (isScalar(node) && node.value === null)) return defaultOf(schema) as Record<string, unknown>;
  if (!isMap(node)) return expected(ctx, node, path, schema);
  const out: Record<string, unknown> = {};
  const seen = new Set<string>();
  const issuesBefore = ctx.issues.length;
  for (const pair of node.items) {
    if (!isPair(pair)) continue;
    const key = isScalar(pair.key) ? String(pair.key.value) : shown(pair.key as YamlNode);
    if (key === tagKey) continue;
    const field = fields[key];
    if (!field) {
      const known = Object.keys(fields).filter((k) => k !== tagKey);
      fail(ctx, pair.key as YamlNode, join(path, key), `unknown key; expected one of ${known.join(', ')}`);
      continue;
    }
    seen.add(key);
    out[key] = validateNode(ctx, pair.value as YamlNode, field, join(path, key));
  }
  for (const [key, field] of Object.entries(fields)) {
    if (seen.has(key) || key === tagKey) continue;
    const d = defaultOf(field);
    if (d === undefined && field.kind !== 'optional' && field.kind !== 'any') {
      fail(ctx, node, join(path, key), `required key is missing (${describe(field)})`);
    }
    out[key] = d;
  }
  // Rules across keys read well-typed values only: an object with a problem of its own is not refined.
  if (schema.kind === 'object' && schema.refine && ctx.issues.slice(issuesBefore).every((i) => i.warning)) {
    // A key that was already reported (e.g. a file that cannot be read) is not reported again as missing.
    const reported = new Set(ctx.issues.map((i) => i.path));
    for (const r of schema.refine(out as never)) {
      const at = r.key === undefined ? node : (node.get(r.key, true) as YamlNode | undefined);
      const item = r.index !== undefined && isSeq(at) ? (at.items[r.index] as YamlNode) : at;
      const where = r.key === undefined ? path : r.index === undefined ? join(path, r.key) : `${join(path, r.key)}[${r.index}]`;
      if (!reported.has(where)) fail(ctx, item ?? node, where, r.message, r.warning);
    }
  }
  return out;
}

/**
 * Duplicate keys in every mapping, in one pass with a set per mapping. (The yaml library's own
 * `uniqueKeys` check compares each new key with every earlier one: 100,000 keys took a minute.)
 * Keys are the same when they are the same scalar value of the same type, as yaml compares them;
 * a collection used as a key is compared by its JSON form.
 */
function duplicateKeys(doc: Document.Parsed, report: (pos: number) => void): void {
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const k = pair.key as YamlNode | null;
        const id = isScalar(k) ? `${typeof k.value}:${String(k.value)}` : `json:${JSON.stringify(k?.toJSON?.() ?? k)}`;
        if (seen.has(id)) report(k?.range?.[0] ?? map.range?.[0] ?? 0);
        else seen.add(id);
      }
    },
  });
}

/** Parses YAML text with positions; YAML errors and duplicate keys are issues. */
function parseYaml(text: string, file: string): { ctx: Ctx; root?: YamlNode | null } {
  const lc = new LineCounter();
  const ctx: Ctx = { file, lc, issues: [] };
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false });
  for (const e of doc.errors) {
    const { line, col } = lc.linePos(e.pos[0]);
    ctx.issues.push({ file, line, col, path: '', message: `invalid YAML: ${e.message.split('\n')[0]}` });
  }
  if (!ctx.issues.length) {
    duplicateKeys(doc, (at) => {
      const { line, col } = lc.linePos(at);
      ctx.issues.push({ file, line, col, path: '', message: 'duplicate key' });
    });
  }
  return ctx.issues.length ? { ctx } : { ctx, root: doc.contents as YamlNode | null };
}

function result<T>(ctx: Ctx, value: unknown): { value?: T; issues: ConfigIssue[]; warnings?: ConfigIssue[] } {
  const errors = ctx.issues.filter((i) => !i.warning);
  const warnings = ctx.issues.filter((i) => i.warning);
  return errors.length ? { issues: errors, warnings } : { value: value as T, issues: [], warnings };
}

/**
 * Parses YAML text and validates it against `schema` under the root key `rootKey`.
 * Returns every issue found, not only the first, so that check-config can list them all.
 */
export function validateYaml<T>(text: string, file: string, rootKey: string, schema: Schema): { value?: T; issues: ConfigIssue[]; warnings?: ConfigIssue[] } {
  const { ctx, root } = parseYaml(text, file);
  if (root === undefined) return { issues: ctx.issues };
  if (root == null || (isScalar(root) && (root.value === null || root.value === ''))) {
    return { issues: [{ file, line: 1, col: 1, path: '', message: `the file is empty; expected a mapping with the root key ${rootKey}:` }] };
  }
  if (!isMap(root)) return { issues: [{ file, ...pos(ctx, root), path: '', message: `expected a mapping with the root key ${rootKey}:, got ${shown(root)}` }] };
  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '?';
    if (key !== rootKey) fail(ctx, pair.key as YamlNode, key, `unknown top-level key; the root key is ${rootKey}:`);
  }
  const body = root.get(rootKey, true) as YamlNode | undefined;
  if (!root.has(rootKey)) {
    ctx.issues.push({ file, line: 1, col: 1, path: '', message: `missing the root key ${rootKey}:` });
    return { issues: ctx.issues };
  }
  return result<T>(ctx, validateNode(ctx, body, schema, ''));
}

/**
 * Parses YAML text whose whole document is one value of `schema` (a plugin manifest, where the
 * configuration instead sits under a root key: validateYaml). Every issue has its file:line:col.
 */
export function validateYamlDocument<T>(text: string, file: string, schema: Schema): { value?: T; issues: ConfigIssue[]; warnings?: ConfigIssue[] } {
  const { ctx, root } = parseYaml(text, file);
  if (root === undefined) return { issues: ctx.issues };
  if (root == null || (isScalar(root) && (root.value === null || root.value === ''))) {
    return { issues: [{ file, line: 1, col: 1, path: '', message: `the file is empty; expected ${describe(schema)}` }] };
  }
  return result<T>(ctx, validateNode(ctx, root, schema, ''));
}

/**
 * Validates a value that did not come from YAML text (a plugin's JSON answer) against a schema:
 * the same rules and messages as the configuration, with the key path in place of a position.
 */
export function validateData<T>(data: unknown, schema: Schema): { value?: T; issues: { path: string; message: string }[] } {
  const ctx: Ctx = { file: '', lc: new LineCounter(), issues: [] };
  const value = validateNode(ctx, new Document(data).contents as YamlNode | null, schema, '');
  const errors = ctx.issues.filter((i) => !i.warning).map(({ path, message }) => ({ path, message }));
  return errors.length ? { issues: errors } : { value: value as T, issues: [] };
}
