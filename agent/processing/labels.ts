/**
 * Labels: static key/value pairs stamped on every entry of the gateway (`labels:` at the top) or
 * of one input (`inputs[].labels`, which win over the global ones): the site, the firmware
 * version, the cabinet. Each value is given literally, read from a file (its contents, trimmed:
 * /etc/fw-version), or printed by a command run once at start (`cat /proc/device-tree/serial-number`).
 * Entries carry them as `labels` (an NDJSON object beside `fields`) up to the aggregator.
 */
import { readFileSync } from 'node:fs';
import { s } from '../../lib/schema/schema.ts';

export const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;
export const MAX_LABEL_CHARS = 256;
export const MAX_LABELS = 32;
const COMMAND_TIMEOUT_MS = 5000;

export type LabelSource = string | number | boolean | { value?: string; file?: string; command?: string };

/** Why a labels mapping is wrong (every problem, joined by "; "), or undefined. */
export function checkLabels(labels: Record<string, unknown>): string | undefined {
  const names = Object.keys(labels);
  const problems: string[] = [];
  if (names.length > MAX_LABELS) problems.push(`at most ${MAX_LABELS} labels`);
  for (const name of names) {
    const why = checkLabel(name, labels[name]);
    if (why) problems.push(why);
  }
  return problems.length ? problems.join('; ') : undefined;
}

function checkLabel(name: string, v: unknown): string | undefined {
  if (!LABEL_NAME.test(name)) return `label name "${name}": expected 1 to 64 characters [A-Za-z0-9_.-], starting with a letter or _`;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return `label ${name}: expected a value, or a mapping with one of value, file, command`;
  const keys = Object.keys(v);
  const src = keys.filter((k) => k === 'value' || k === 'file' || k === 'command');
  if (keys.length !== 1 || src.length !== 1) return `label ${name}: expected exactly one of value, file, command, got ${keys.join(', ') || 'nothing'}`;
  const text = (v as Record<string, unknown>)[src[0]!];
  if (typeof text !== 'string' && typeof text !== 'number') return `label ${name}.${src[0]}: expected a string`;
  if (src[0] === 'file') {
    try {
      readFileSync(String(text));
    } catch (e) {
      return `label ${name}.file: cannot read ${String(text)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    }
  }
  return undefined;
}

export const labelsSchema = (doc: string) =>
  s.map(s.any({ doc: '' }), { default: {}, doc, check: checkLabels });

function runOnce(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // node:child_process loads when a {command} label runs, not at every start.
    process.getBuiltinModule('node:child_process').execFile('/bin/sh', ['-c', command], { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.killed ? `timed out after ${COMMAND_TIMEOUT_MS} ms` : `exit ${err.code ?? err.signal}`}${stderr.trim() ? `: ${stderr.trim().slice(0, 200)}` : ''}`));
      else resolve(stdout);
    });
  });
}

const clean = (text: string) => text.trim().replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, MAX_LABEL_CHARS);

/** Resolves each label once; an unreadable file or a failing command is an error naming the label. */
export async function resolveLabels(spec: Record<string, unknown>, where: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(spec)) {
    const src = v as LabelSource;
    try {
      if (typeof src !== 'object') out[name] = clean(String(src));
      else if (src.value !== undefined) out[name] = clean(String(src.value));
      else if (src.file !== undefined) out[name] = clean(readFileSync(src.file, 'utf8'));
      else if (src.command !== undefined) out[name] = clean(await runOnce(src.command));
    } catch (e) {
      const how = typeof src === 'object' ? (src.file !== undefined ? `file ${src.file}` : `command \`${src.command}\``) : 'value';
      throw new Error(`${where}.${name}: ${how}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  return out;
}
