/**
 * Nothing a plugin returns is trusted. Every answer from an out-of-process plugin is
 * checked here before the agent uses it, against schemas in the configuration's schema language
 * (ai results, filter verdicts, lang templates and catalogues); what passes then becomes an
 * entry by the one set of entry rules (a draft through the codec, agent/buffer/draft-codec.ts; a
 * replacement copy through entry/build.ts), so control characters are escaped and sizes cut there. Anything that fails is dropped and counted (`invalid_results` in
 * `logloom status`), never half-used.
 */
import { isLevel, parseLevel } from '../../lib/level.ts';
import type { EntryDraft } from '../../entry/build.ts';
import type { AiResult, FilterVerdict } from './types.ts';
import { s, type Infer } from '../../lib/schema/schema.ts';
import { validateData } from '../../lib/schema/validate.ts';

export const OUTPUT_LIMITS = {
  /** Serialized size of one ai result. */
  resultBytes: 64 * 1024,
  messageChars: 16 * 1024,
  args: 32,
  argChars: 1024,
  fields: 64,
  fieldChars: 1024,
  templateChars: 4096,
  templatesPerAnswer: 100_000,
};

export const LANG_KEY = /^[A-Za-z0-9_.-]{1,128}$/;
export const LANG = /^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})?$/;
/** Fields an ai result may carry. node, seq, timestamp, source and module are the agent's to set. */
const AI_KEYS = new Set(['level', 'message', 'summary', 'lang_key', 'args', 'fields']);
const FORGED = new Set(['node', 'seq', 'timestamp', 'source', 'module', 'truncated']);
// Templates end up on terminals: no control characters at all (tab excepted).
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;

export class InvalidOutputError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidOutputError';
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

const text = () =>
  s.optional(s.string({ doc: '', check: (v) => (v.length > OUTPUT_LIMITS.messageChars ? `longer than ${OUTPUT_LIMITS.messageChars} characters` : undefined) }), { doc: '' });

const isArg = (a: unknown) => (typeof a === 'number' && Number.isFinite(a)) || (typeof a === 'string' && a.length <= OUTPUT_LIMITS.argChars);
const isField = (f: unknown) => typeof f === 'boolean' || (typeof f === 'number' && Number.isFinite(f)) || (typeof f === 'string' && f.length <= OUTPUT_LIMITS.fieldChars);

/**
 * An ai result, in the schema language the configuration and plugin manifests use. Values must
 * have their JSON types here, where the language would take a number for a string as YAML does:
 * message and summary are checked to be strings before, the other fields are `any` with their
 * type in the check.
 */
const aiResultSchema = s.object(
  {
    level: s.optional(s.any({ doc: '', check: (v) => (typeof v === 'string' && (isLevel(v) || parseLevel(v)) ? undefined : `${JSON.stringify(v)} is not a level`) }), { doc: '' }),
    message: text(),
    summary: text(),
    lang_key: s.optional(s.any({ doc: '', check: (v) => (typeof v === 'string' && LANG_KEY.test(v) ? undefined : 'is not a key (A-Z a-z 0-9 _ . -, at most 128)') }), { doc: '' }),
    args: s.optional(s.array(s.any({ doc: '', check: (a) => (isArg(a) ? undefined : 'args must be numbers or strings of at most 1024 characters') }), {
      doc: '', check: (a) => (a.length > OUTPUT_LIMITS.args ? `is not a list of at most ${OUTPUT_LIMITS.args}` : undefined),
    }), { doc: '' }),
    fields: s.optional(s.map(s.any({ doc: '', check: (f) => (isField(f) ? undefined : 'is not a short string, number or boolean') }), {
      doc: '',
      check: (m) => {
        if (Object.keys(m).length > OUTPUT_LIMITS.fields) return `is not an object of at most ${OUTPUT_LIMITS.fields} keys`;
        const long = Object.keys(m).find((k) => k.length > 64);
        return long === undefined ? undefined : `field "${long.slice(0, 64)}" has a name longer than 64 characters`;
      },
    }), { doc: '' }),
  },
  {
    doc: 'An ai result.',
    refine: (r) => (r.message === undefined && r.summary === undefined && r.lang_key === undefined ? [{ message: 'has neither message, summary nor lang_key' }] : []),
  },
);

/** Checks one ai result; returns the draft the agent builds its AI entry from. */
export function validateAiResult(v: unknown): EntryDraft {
  if (!isObject(v)) throw new InvalidOutputError('ai result is not an object');
  // Said in its own words: a forged field is an attempt, not a typo.
  for (const k of Object.keys(v)) {
    if (FORGED.has(k)) throw new InvalidOutputError(`ai result sets "${k}", which only the agent may set`);
    if (!AI_KEYS.has(k)) throw new InvalidOutputError(`ai result has unknown field "${k}"`);
  }
  if (JSON.stringify(v).length > OUTPUT_LIMITS.resultBytes) throw new InvalidOutputError(`ai result larger than ${OUTPUT_LIMITS.resultBytes} bytes`);
  for (const k of ['message', 'summary'] as const) {
    if (v[k] !== undefined && typeof v[k] !== 'string') throw new InvalidOutputError(`ai result ${k} is not a string`);
  }
  const { value: r, issues } = validateData<Infer<typeof aiResultSchema>>(v, aiResultSchema);
  if (!r) throw new InvalidOutputError(issues.map((i) => `ai result${i.path ? ` ${i.path}` : ''}: ${i.message}`).join('; '));
  return {
    level: (r.level as AiResult['level']) ?? 'INFO',
    module: 'AI',
    message: r.summary ?? r.message ?? '',
    lang_key: r.lang_key as string | undefined,
    args: r.args as AiResult['args'],
    fields: r.fields as AiResult['fields'],
  };
}

/** Why a value is not a filter verdict (true, false, null, or a replacement entry with a message). */
function verdictProblem(k: unknown): string | undefined {
  if (k === null || typeof k === 'boolean') return undefined;
  if (!isObject(k)) return `a verdict is ${Array.isArray(k) ? 'a list' : typeof k} (expected true, false, null or an entry)`;
  return typeof k.message !== 'string' ? 'a replacement entry has no "message" string' : undefined;
}

/** One filter verdict, in the schema language (a replacement entry is checked and rebuilt later by the supervisor). */
const verdictSchema = s.any({ doc: 'A filter verdict: true, false, null or a replacement entry.', check: verdictProblem });
/** The verdicts for a batch of `count` entries. */
const verdictsSchema = (count: number) =>
  s.array(verdictSchema, { doc: 'One verdict per entry.', check: (a) => (a.length !== count ? `has ${a.length} verdicts for ${count} entries` : undefined) });

/**
 * A filter's verdicts: one per entry of the batch (a single one for `entry`), each true, false,
 * a replacement object (checked and rebuilt by the supervisor through the sanitising door, which
 * keeps the fields a plugin may not change from the original), or null for an entry the plugin
 * failed on (it gets on_error). The common answer, all true/false/null and the right length, is
 * taken without building a document; anything else is checked with the schema (verdictsSchema).
 */
export function validateKeep(v: unknown, count: number): (FilterVerdict | undefined)[] {
  const norm = (k: unknown) => (k === null ? undefined : (k as FilterVerdict));
  const plain = (k: unknown) => k === null || typeof k === 'boolean';
  if (count === 1 && !Array.isArray(v)) {
    if (plain(v)) return [norm(v)];
    const bad = v === undefined ? 'it is missing' : validateData(v, verdictSchema).issues[0]?.message;
    if (!bad) return [norm(v)];
    throw new InvalidOutputError(`filter answer "keep" must be true, false or an entry: ${bad}`);
  }
  if (!Array.isArray(v)) throw new InvalidOutputError(`filter answer "keep" must be a list of ${count} verdicts, got ${v === undefined ? 'nothing' : typeof v}`);
  if (v.length === count && v.every(plain)) return v.map(norm);
  const { issues } = validateData(v, verdictsSchema(count));
  // The first finding is enough to refuse the answer, and keeps the reason short.
  if (issues.length) throw new InvalidOutputError(`filter answer "keep"${issues[0]!.path}: ${issues[0]!.message}`);
  return v.map(norm);
}

/**
 * The verdicts a filter's answer body carries, in any of its forms (docs/plugin-protocol.md §4.1):
 * `keep` (true, false, an entry, or a list), the whole entry sent back as `entry` (or the batch
 * as `batch`) = a replacement copy, or none of these — the minimal bare `{"status":0}` — which
 * keeps every entry.
 */
export function filterVerdictsOf(body: Record<string, unknown>, count: number): (FilterVerdict | undefined)[] {
  if (body.keep !== undefined) return validateKeep(body.keep, count);
  if (count === 1 && body.entry !== undefined) return validateKeep(body.entry, 1);
  if (body.batch !== undefined) return validateKeep(body.batch, count);
  return new Array<FilterVerdict>(count).fill(true);
}

/** Entry fields only the agent sets: a replacement copy that changes them keeps the original's. */
export const FIXED_ENTRY_FIELDS = ['timestamp', 'node', 'source', 'seq'] as const;

/** Why a value is not a lang template: a string, at most templateChars long, without control characters. */
function templateProblem(v: unknown): string | undefined {
  if (typeof v !== 'string') return 'is not a string';
  if (v.length > OUTPUT_LIMITS.templateChars) return `longer than ${OUTPUT_LIMITS.templateChars} characters`;
  return CONTROL.test(v) ? 'contains control characters' : undefined;
}

const templateSchema = s.optional(s.any({ doc: 'A lang template.', check: templateProblem }), { doc: '' });
/**
 * One language's table of a catalogue, as [key, template] pairs so that each finding names the
 * pair it is about (an invalid pair is dropped by itself, the rest used).
 */
const catalogueTableSchema = s.array(
  s.object({
    key: s.any({ doc: 'A lang key.', check: (k) => (typeof k === 'string' && LANG_KEY.test(k) ? undefined : `key ${JSON.stringify(String(k).slice(0, 40))} is not a lang key`) }),
    template: templateSchema,
  }, { doc: 'A key and its template.' }),
  { doc: 'A language\'s templates.' },
);

/** A lang template: a short string without control characters (templateSchema). */
export function validateTemplate(key: string, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const { issues } = validateData(v, templateSchema);
  if (issues.length) throw new InvalidOutputError(`template for ${key} ${issues[0]!.message}`);
  return v as string;
}

/**
 * A full catalogue from a lang plugin: {lang: {key: template}}. Invalid keys or templates are
 * dropped one by one (counted through onInvalid), the rest is used.
 */
export function validateCatalogue(v: unknown, onInvalid: (reason: string) => void): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  if (!isObject(v)) {
    onInvalid('templates is not an object');
    return out;
  }
  let n = 0;
  for (const [lang, table] of Object.entries(v)) {
    if (!LANG.test(lang) || !isObject(table)) {
      onInvalid(`language ${JSON.stringify(lang.slice(0, 20))} is not a language code with a table`);
      continue;
    }
    let pairs = Object.entries(table);
    if (n + pairs.length > OUTPUT_LIMITS.templatesPerAnswer) {
      onInvalid(`more than ${OUTPUT_LIMITS.templatesPerAnswer} templates`);
      pairs = pairs.slice(0, Math.max(0, OUTPUT_LIMITS.templatesPerAnswer - n));
    }
    n += pairs.length;
    const { issues } = validateData(pairs.map(([key, template]) => ({ key, template })), catalogueTableSchema);
    const bad = new Set<number>();
    for (const i of issues) {
      const at = Number(/^\[(\d+)\]/.exec(i.path)?.[1]);
      bad.add(at);
      const key = pairs[at]?.[0] ?? '';
      onInvalid(i.path.endsWith('.key') ? i.message : `template for ${key.slice(0, 40)} ${i.message}`);
    }
    const m = new Map<string, string>();
    pairs.forEach(([key, t], i) => {
      if (!bad.has(i) && typeof t === 'string') m.set(key, t);
    });
    out.set(lang, m);
    if (n >= OUTPUT_LIMITS.templatesPerAnswer) return out;
  }
  return out;
}
