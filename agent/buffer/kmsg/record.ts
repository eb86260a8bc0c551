/**
 * One /dev/kmsg record (Documentation/ABI/testing/dev-kmsg) read, and what its entry says: the JS
 * twin of the parsing half of native/addon/src/kmsg.c.
 *   `prio,seq,ts_usec,flags[,more…];message` then optional continuation lines that start with a
 *   space and carry a KEY=VALUE dictionary (SUBSYSTEM=usb, DEVICE=c189:1 …).
 * prio is facility * 8 + level as in syslog; ts_usec is microseconds since boot; flags is `-`,
 * or on kernels before 4.9 `c` (first fragment of a continued line) / `+` (a later fragment).
 * Later kernels may append more comma-separated header fields (e.g. `caller=T12`): they are kept.
 */
import type { EntryDraft } from '../../../entry/build.ts';
import { setOwn } from '../../../entry/ndjson.ts';
import { levelFromSyslogSeverity } from '../../../lib/level.ts';
import { cutUnits } from '../../../entry/sanitise.ts';
import { facilityName } from '../syslog/priority.ts';

export interface KmsgRecord {
  priority: number;
  seq: number;
  tsUsec: number;
  flags: string;
  message: string;
  /** After the flags up to the ';': '' or `,key=value,…`. */
  ext: string;
  /** The continuation lines (after the header line's \n), \n between them. */
  dict: string;
}

/** Kernel messages that mean the kernel itself failed are FATAL whatever their priority. */
const KERNEL_FAILURE = /^(?:Kernel panic|Oops[:\s]|BUG: |general protection fault|Unable to handle kernel)/;
const COMMA = 0x2c;
const MAX_DIGITS = [3, 20, 20] as const;

/**
 * The record's header, as /^(\d{1,3}),(\d{1,20}),(\d{1,20}),([^,;]*)((?:,[^,;]*)*);/ reads its
 * first line (written out, as the C twin does: no backtracking on a hostile line). undefined: not a header.
 */
export function parseKmsgRecord(text: string): KmsgRecord | undefined {
  const nl = text.indexOf('\n');
  const hn = nl < 0 ? text.length : nl;
  const e = text.indexOf(';');
  if (e < 0 || e >= hn) return undefined;
  let p = 0;
  const v: number[] = [];
  for (const max of MAX_DIGITS) {
    let q = p;
    for (let c = text.charCodeAt(q); q < e && c >= 48 && c <= 57; c = text.charCodeAt(++q));
    if (q === p || q - p > max || q >= e || text.charCodeAt(q) !== COMMA) return undefined;
    v.push(Number(text.slice(p, q)));
    p = q + 1;
  }
  const comma = text.indexOf(',', p);
  const fe = comma >= 0 && comma < e ? comma : e;
  return {
    priority: v[0]!, seq: v[1]!, tsUsec: v[2]!, flags: text.slice(p, fe), ext: text.slice(fe, e), message: text.slice(e + 1, hn),
    dict: nl < 0 ? '' : text.slice(nl + 1),
  };
}

/** The reject note's reason for a record whose header does not parse. */
export function notAHeader(text: string): string {
  const nl = text.indexOf('\n');
  return `kmsg: not a record header: ${JSON.stringify(cutUnits(nl < 0 ? text : text.slice(0, nl), 40))}`;
}

const lower = (k: string) => k.replace(/[A-Z]+/g, (m) => m.toLowerCase());

/** `key=value` into fields (the first '=' splits; none, or at the start: not a field). */
function kv(fields: Map<string, string | number>, s: string): void {
  const eq = s.indexOf('=');
  if (eq > 0) fields.set(lower(s.slice(0, eq)), s.slice(eq + 1));
}

/**
 * The entry of a record, or of a fragment and the ones joined to it (parts, in order): message
 * joined, level from the first one's priority (FATAL for a kernel failure), timestamp from its
 * ts_usec after bootWallMs (none when that is no date: the entry takes the arrival time), fields
 * facility, seq (the last part's), kernel_ts_usec, flags (unless empty or `-`), then each part's
 * header fields and dictionary, keys with A-Z lowered: a key keeps its first place, takes its last value.
 * module: the entries' module (undefined: the codec's default).
 */
export function kmsgDraft(parts: KmsgRecord[], bootWallMs: number, cut: boolean, module: string | undefined): EntryDraft {
  const first = parts[0]!;
  const message = parts.length === 1 ? first.message : parts.map((p) => p.message).join('');
  const fields = new Map<string, string | number>([['facility', facilityName(first.priority >> 3)], ['seq', parts[parts.length - 1]!.seq], ['kernel_ts_usec', first.tsUsec]]);
  if (first.flags && first.flags !== '-') fields.set('flags', first.flags);
  for (const p of parts) {
    for (const part of p.ext.split(',').slice(1)) kv(fields, part);
    if (p.dict) for (const line of p.dict.split('\n')) kv(fields, line.slice(1));
  }
  const obj: Record<string, unknown> = {};
  for (const [k, v] of fields) setOwn(obj, k, v);
  const ms = bootWallMs + first.tsUsec / 1000;
  return {
    timestamp: Math.abs(ms) <= 8.64e15 ? new Date(ms) : undefined,
    level: KERNEL_FAILURE.test(message) ? 'FATAL' : levelFromSyslogSeverity(first.priority & 7),
    module,
    message,
    fields: obj,
    truncated: cut || undefined,
  };
}
