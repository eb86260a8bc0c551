import { definePlugin, type FilterPlugin, type FilterVerdict } from '../../agent/plugins/types.ts';
import { s, type Infer } from '../../lib/schema/schema.ts';
import type { LogEntry } from '../../entry/entry.ts';
import { mapRecordViews, RecordView } from '../../agent/buffer/record-view.ts';
import { info } from './info.generated.ts';

const ARGS_KEY = Buffer.from('"args":');
const FIELDS_KEY = Buffer.from('"fields":');

/** Built-in patterns. Each masks the whole match, except token, which keeps the key name. */
export const BUILTIN_PATTERNS = {
  ipv4: /\b(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}\b/g,
  ipv6: /\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b|\b(?:[0-9a-fA-F]{1,4}:){1,6}:(?:[0-9a-fA-F]{1,4}\b)?/g,
  email: /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g,
  // key=value / key: value for secret-looking keys, bearer tokens and JWTs.
  token: /\b((?:api[_-]?key|access[_-]?token|token|secret|password|passwd|pwd|auth)\s*["']?\s*[:=]\s*["']?)[^\s"',;&]+|\b(Bearer\s+)[A-Za-z0-9._~+/-]+=*|\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/gi,
} as const;
type Builtin = keyof typeof BUILTIN_PATTERNS;

const configSchema = s.object(
  {
    patterns: s.array(s.enum(Object.keys(BUILTIN_PATTERNS) as Builtin[], { doc: '' }), { default: ['ipv4', 'email', 'token'], doc: 'Built-in patterns to mask: ipv4, ipv6, email, token (secret=…, Bearer …, JWTs).' }),
    custom: s.array(s.string({ minLength: 1, doc: '' }), { default: [], doc: 'Extra regular expressions whose matches are masked.' }),
    mask: s.string({ default: '[REDACTED]', doc: 'Replacement text for a match.' }),
    args: s.bool({ default: true, doc: 'Also mask lang args and string fields.' }),
  },
  { doc: 'filter_redact: forwards a masked copy of entries containing IPs, e-mail addresses or tokens; the original entry is never modified.' },
);
type Config = Infer<typeof configSchema>;

/**
 * Answers with a replacement copy when something was masked (the supervisor checks and freezes
 * it and carries it on in place of the original); otherwise keeps the entry as it is. On the
 * records path each record is read through a lazy view: its message alone is decoded, its args
 * and fields only when the record has them, and the whole entry only when something is masked.
 */
export default definePlugin({
  info,
  configSchema,
  create(): FilterPlugin {
    let res: RegExp[] = [];
    let mask = '[REDACTED]';
    let alsoArgs = true;
    const redact = (text: string): string => {
      let out = text;
      // A pattern's capture groups (token: the `key=` or `Bearer ` part) are kept; the rest is masked.
      for (const re of res) {
        out = out.replace(re, (...a: unknown[]) => {
          const groups = a.slice(1, a.findIndex((x, i) => i > 0 && typeof x === 'number'));
          return (groups.find((g) => typeof g === 'string') ?? '') + mask;
        });
      }
      return out;
    };
    /** Whether the entry may hold args or fields: a view answers from its bytes without parsing them. */
    const mayHold = (e: LogEntry, key: Buffer): boolean => !(e instanceof RecordView) || e.json().includes(key);
    const verdict = (e: LogEntry): FilterVerdict => {
      const message = redact(e.message);
      let changed = message !== e.message;
      let args: LogEntry['args'];
      let fields: LogEntry['fields'];
      if (alsoArgs && mayHold(e, ARGS_KEY) && e.args) {
        const a = e.args.map((x) => (typeof x === 'string' ? redact(x) : x));
        if (a.some((x, i) => x !== e.args![i])) (args = a), (changed = true);
      }
      if (alsoArgs && mayHold(e, FIELDS_KEY) && e.fields) {
        const f = Object.fromEntries(Object.entries(e.fields).map(([k, v]) => [k, typeof v === 'string' ? redact(v) : v]));
        if (Object.keys(f).some((k) => f[k] !== e.fields![k])) (fields = f), (changed = true);
      }
      if (!changed) return true;
      const whole = e instanceof RecordView ? e.toEntry() : e;
      return { ...whole, message, args: args ?? whole.args, fields: fields ?? whole.fields };
    };
    return {
      init(ctx) {
        const c = ctx.config as Config;
        mask = c.mask;
        alsoArgs = c.args;
        res = [
          ...c.patterns.map((p) => new RegExp(BUILTIN_PATTERNS[p].source, BUILTIN_PATTERNS[p].flags)),
          ...c.custom.map((p, i) => {
            try {
              return new RegExp(p, 'g');
            } catch (e) {
              throw new Error(`custom[${i}]: ${(e as Error).message}`);
            }
          }),
        ];
      },
      filter: (e) => verdict(e),
      filterRecords: (records) => mapRecordViews(records, verdict),
    };
  },
});
