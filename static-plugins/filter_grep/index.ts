import { definePlugin, type FilterPlugin } from '../../agent/plugins/types.ts';
import { s, type Infer } from '../../lib/schema/schema.ts';
import type { LogEntry } from '../../entry/entry.ts';
import { mapRecordViews } from '../../agent/buffer/record-view.ts';
import { info } from './info.generated.ts';

const ruleSchema = s.object(
  {
    field: s.enum(['message', 'module', 'source'] as const, { default: 'message', doc: 'What the pattern is matched against.' }),
    pattern: s.string({ minLength: 1, doc: 'A JavaScript regular expression.' }),
    action: s.enum(['keep', 'drop'] as const, { default: 'keep', doc: 'keep: only entries matching some keep rule pass; drop: entries matching are dropped.' }),
    ignore_case: s.bool({ default: false, doc: 'Match case-insensitively.' }),
  },
  { doc: 'One rule.' },
);
const configSchema = s.object(
  {
    rules: s.array(ruleSchema, { default: [], doc: 'Rules: an entry matching any drop rule is dropped; when there are keep rules, only entries matching one of them are kept (like Fluent Bit grep Regex/Exclude).' }),
  },
  { doc: 'filter_grep: keeps or drops entries by regular expression on message, module or source.' },
);
type Config = Infer<typeof configSchema>;

interface Rule {
  field: 'message' | 'module' | 'source';
  re: RegExp;
}

/** Regex keep/drop. Bad patterns fail init, so the plugin is refused with the reason. */
export default definePlugin({
  info,
  configSchema,
  create(): FilterPlugin {
    let keep: Rule[] = [];
    let drop: Rule[] = [];
    const test = (r: Rule, e: LogEntry) => r.re.test(e[r.field] ?? '');
    const verdict = (e: LogEntry): boolean => {
      for (const r of drop) if (test(r, e)) return false;
      if (keep.length === 0) return true;
      for (const r of keep) if (test(r, e)) return true;
      return false;
    };
    return {
      init(ctx) {
        const c = ctx.config as Config;
        const rules = c.rules.map((r, i) => {
          try {
            return { action: r.action, rule: { field: r.field, re: new RegExp(r.pattern, r.ignore_case ? 'i' : '') } };
          } catch (e) {
            throw new Error(`rules[${i}].pattern: ${(e as Error).message}`);
          }
        });
        keep = rules.filter((r) => r.action === 'keep').map((r) => r.rule);
        drop = rules.filter((r) => r.action === 'drop').map((r) => r.rule);
      },
      filter: (e) => verdict(e),
      // The records path: each record is read through a lazy view (only the field a rule names).
      filterRecords: (records) => mapRecordViews(records, verdict),
    };
  },
});
