/**
 * One /dev/kmsg record (Documentation/ABI/testing/dev-kmsg):
 *   `prio,seq,ts_usec,flags[,more…];message` then optional continuation lines that start with a
 *   space and carry a KEY=VALUE dictionary (SUBSYSTEM=usb, DEVICE=c189:1 …).
 * prio is facility * 8 + level as in syslog; ts_usec is microseconds since boot; flags is `-`,
 * or on kernels before 4.9 `c` (first fragment of a continued line) / `+` (a later fragment).
 * Later kernels may append more comma-separated header fields (e.g. `caller=T12`): they are kept.
 */
export interface KmsgRecord {
  priority: number;
  seq: number;
  tsUsec: number;
  flags: string;
  message: string;
  /** Header fields after the fourth (`caller=T12`) and dictionary lines, in order. */
  extra: Record<string, string>;
}

export type RecordResult = { ok: true; record: KmsgRecord } | { ok: false; error: string };

const HEADER = /^(\d{1,3}),(\d{1,20}),(\d{1,20}),([^,;]*)((?:,[^,;]*)*);/;

/** `lines`: the header line then its continuation lines (leading space still on them). */
export function parseKmsgRecord(lines: string[]): RecordResult {
  const head = lines[0] ?? '';
  const m = HEADER.exec(head);
  if (!m) return { ok: false, error: `kmsg: not a record header: ${JSON.stringify(head.slice(0, 40))}` };
  const extra: Record<string, string> = {};
  for (const part of m[5]!.split(',').slice(1)) {
    const eq = part.indexOf('=');
    if (eq > 0) extra[part.slice(0, eq)] = part.slice(eq + 1);
  }
  for (const line of lines.slice(1)) {
    const kv = line.slice(1);
    const eq = kv.indexOf('=');
    if (eq > 0) extra[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return {
    ok: true,
    record: {
      priority: Number(m[1]),
      seq: Number(m[2]),
      tsUsec: Number(m[3]),
      flags: m[4]!,
      message: head.slice(m[0].length),
      extra,
    },
  };
}

/**
 * Turns the byte stream into records: a line not starting with a space begins a record, lines
 * starting with a space continue it. From the device each read() is one whole record; from a
 * FIFO reads can split anywhere, so a record is complete only when the next header arrives or the
 * source goes idle (`flush`).
 */
export class RecordAssembler {
  private partial = '';
  private current: string[] = [];
  private readonly onRecord: (lines: string[]) => void;

  constructor(onRecord: (lines: string[]) => void) {
    this.onRecord = onRecord;
  }

  push(text: string): void {
    const all = this.partial + text;
    const parts = all.split('\n');
    this.partial = parts.pop()!;
    for (const line of parts) {
      if (line.startsWith(' ') && this.current.length) this.current.push(line);
      else if (line.length) {
        this.flush();
        this.current.push(line);
      }
    }
  }

  /** Delivers the record in progress (its lines are complete). */
  flush(): void {
    if (!this.current.length) return;
    const lines = this.current;
    this.current = [];
    this.onRecord(lines);
  }
}

/**
 * Joins the fragments of a continued line that kernels before 4.9 deliver as separate records
 * (`c` then `+`…); later kernels join them before /dev/kmsg. A held fragment is released by the
 * next record that is not a `+`, or when the source goes idle.
 */
export class FragmentJoiner {
  private held?: KmsgRecord;
  private readonly onRecord: (r: KmsgRecord) => void;

  constructor(onRecord: (r: KmsgRecord) => void) {
    this.onRecord = onRecord;
  }

  push(r: KmsgRecord): void {
    if (r.flags === '+' && this.held) {
      this.held = { ...this.held, message: this.held.message + r.message, seq: r.seq, extra: { ...this.held.extra, ...r.extra } };
      return;
    }
    this.flush();
    if (r.flags === 'c') this.held = r;
    else this.onRecord(r);
  }

  flush(): void {
    const h = this.held;
    this.held = undefined;
    if (h) this.onRecord(h);
  }
}
