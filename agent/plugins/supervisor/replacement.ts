/**
 * A filter's replacement copies (e.g. filter_redact's masked entries), rebuilt by the agent: a new
 * frozen entry that keeps the original's timestamp, node, source and seq. What the plugin changed
 * goes through the same sanitising as inputs, so a plugin cannot put into the flow what an input
 * could not. One per filter supervisor, which shows its count in `logloom status`.
 */
import type { LogEntry } from '../../../entry/entry.ts';
import { buildEntry } from '../../../entry/build.ts';
import { freezeEntry, type MutableEntry } from '../../../entry/entry.ts';
import { sanitiseMessage, sanitiseModule } from '../../../entry/sanitise.ts';
import { isLevel, parseLevel } from '../../../lib/level.ts';
import type { AgentLog } from '../../../lib/log.ts';
import type { ChainTracer } from '../chain-tracer.ts';
import { FIXED_ENTRY_FIELDS } from '../validate-output.ts';

export class ReplacementCopies {
  /** Replacement copies that tried to change timestamp, node, source or seq (kept from the original). */
  fixedFieldChanges = 0;
  private readonly warnedFixed = new Set<string>();

  /** The plugin's name as it is now (a reload may swap the plugin under the same name). */
  private readonly name: () => string;
  private readonly log: AgentLog;
  private readonly maxMessageBytes: number;
  private readonly tracer?: ChainTracer;

  constructor(name: () => string, log: AgentLog, maxMessageBytes: number, tracer?: ChainTracer) {
    this.name = name;
    this.log = log;
    this.maxMessageBytes = maxMessageBytes;
    this.tracer = tracer;
  }

  /**
   * The checked copy for `v`, or undefined when it is not an entry (no message string). The
   * message, level and module are sanitised here directly (the common case, e.g. a masked
   * message), args, fields and lang_key through buildEntry. The original object is not touched,
   * so nothing else that holds it sees a change.
   */
  make(orig: LogEntry, v: Record<string, unknown>): LogEntry | undefined {
    if ((v as unknown) === orig) return orig;
    if (typeof v.message !== 'string') return undefined;
    const fixed = FIXED_ENTRY_FIELDS.filter((f) => f in v && v[f] !== undefined && v[f] !== (orig as unknown as Record<string, unknown>)[f]);
    if (fixed.length) this.fixedFieldsChanged(fixed);
    const copy: MutableEntry = { ...orig };
    if (v.message !== orig.message) {
      const m = sanitiseMessage(v.message, this.maxMessageBytes);
      copy.message = m.text;
      if (m.truncated) copy.truncated = true;
    }
    if (v.level !== orig.level) copy.level = (typeof v.level === 'string' && (isLevel(v.level) ? v.level : parseLevel(v.level))) || orig.level;
    if (v.module !== orig.module && typeof v.module === 'string') copy.module = sanitiseModule(v.module);
    if (v.args !== orig.args || v.fields !== orig.fields || v.lang_key !== orig.lang_key) {
      const b = buildEntry({ message: '', args: v.args, fields: v.fields, lang_key: v.lang_key }, { maxMessageBytes: 1, defaultLevel: 'INFO', defaultModule: 'X', node: '' });
      for (const k of ['args', 'fields', 'lang_key'] as const) {
        if (b[k] === undefined) delete copy[k];
        else (copy as Record<string, unknown>)[k] = b[k];
      }
    }
    const frozen = freezeEntry(copy);
    this.tracer?.carry(orig, frozen);
    return frozen;
  }

  /**
   * A replacement copy changed fields only the agent sets: they are kept from the original (the
   * copy is still used). Said once per plugin and set of fields, not once per entry.
   */
  private fixedFieldsChanged(fields: readonly string[]): void {
    this.fixedFieldChanges++;
    const key = fields.join(',');
    if (this.warnedFixed.has(key)) return;
    this.warnedFixed.add(key);
    this.log.warn(`plugin ${this.name()}: a replacement copy changed ${fields.join(', ')}; kept from the original (a filter may change message, level, module, lang_key, args and fields only)`);
  }
}
