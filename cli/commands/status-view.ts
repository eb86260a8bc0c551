/**
 * The human view of `logloom status`: one block per input, filter, sink and plugin with only the
 * fields that item has, wrapped to fit 80 columns (a serial console, an ssh session), lists such as
 * the file input's files as lines of their own. `--json` keeps every field; this view is for eyes.
 * With a previous status and the seconds between them (`status --watch`) counters show a rate.
 */
type Item = Record<string, unknown>;

export const STATUS_WIDTH = 80;

/** Fields shown in an item's heading rather than among its figures. */
const HEADING = new Set(['name', 'type', 'kind', 'path', 'address', 'listen', 'device', 'state', 'enabled', 'connected', 'last_error', 'last_reject', 'origin']);
/** Counters that read better as a rate under --watch. */
const RATED = /^(received|accepted|delivered|entries_sent|bytes_sent|batches_sent|processed|records_path|lines|bytes|calls|dropped|rejected|dropped_by_filter|acks)$/;

function shown(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

/** Packs `key value` pairs into lines no wider than STATUS_WIDTH, each starting with indent. */
function pack(pairs: string[], indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const p of pairs) {
    if (line && indent.length + line.length + 3 + p.length > STATUS_WIDTH) {
      lines.push(indent + line);
      line = '';
    }
    line = line ? `${line} · ${p}` : p;
  }
  if (line) lines.push(indent + line);
  return lines;
}

/** Wraps text at spaces (or anywhere, for a long path) to the width: errors are read whole. */
function wrap(text: string, first: string, rest: string): string[] {
  const lines: string[] = [];
  let indent = first;
  let left = text;
  while (indent.length + left.length > STATUS_WIDTH) {
    const room = STATUS_WIDTH - indent.length;
    const cut = left.lastIndexOf(' ', room);
    const at = cut > room / 2 ? cut : room;
    lines.push(indent + left.slice(0, at).trimEnd());
    left = left.slice(at).trimStart();
    indent = rest;
  }
  lines.push(indent + left);
  return lines;
}

/** Pairs packed after a label on the first line, the rest indented under it. */
function labelled(label: string, indent: string, pairs: string[]): string[] {
  const room = STATUS_WIDTH - Math.max(label.length, indent.length);
  const packed = pack(pairs, ' '.repeat(STATUS_WIDTH - room));
  return packed.map((l, i) => (i === 0 ? label + l.trimStart() : indent + l.trimStart()));
}

/** Cuts a line to the width, marking the cut (paths and errors can be long). */
function fit(line: string): string {
  return line.length <= STATUS_WIDTH ? line : line.slice(0, STATUS_WIDTH - 1) + '…';
}

function rate(key: string, v: unknown, prev: Item | undefined, seconds: number | undefined): string {
  if (!prev || !seconds || typeof v !== 'number' || typeof prev[key] !== 'number' || !RATED.test(key)) return '';
  const r = (v - (prev[key] as number)) / seconds;
  return ` (${r >= 100 ? Math.round(r) : r.toFixed(1)}/s)`;
}

function heading(item: Item): string {
  const parts = [String(item.name ?? '?')];
  const kind = [item.kind, item.type].filter((x) => typeof x === 'string' && x !== item.name).join(' ');
  if (kind) parts.push(`(${kind})`);
  for (const k of ['path', 'listen', 'address', 'device']) if (typeof item[k] === 'string' && item[k]) parts.push(String(item[k]));
  if (typeof item.state === 'string') parts.push(`[${item.state}]`);
  else if (item.enabled === false) parts.push('[disabled]');
  if (item.connected === false) parts.push('[not connected]');
  return parts.join('  ');
}

/** One item: its heading, its figures packed, its lists and nested groups on lines of their own. */
export function renderItem(item: Item, prev: Item | undefined, seconds: number | undefined, skip: ReadonlySet<string> = new Set()): string[] {
  const out = [fit('  ' + heading(item))];
  const figures: string[] = [];
  const after: string[] = [];
  for (const [k, v] of Object.entries(item)) {
    if (HEADING.has(k) || skip.has(k) || v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) {
      after.push(`    ${k}:`);
      for (const el of v) {
        if (el && typeof el === 'object') {
          const o = el as Item;
          const label = String(o.path ?? o.name ?? '');
          const rest = Object.entries(o).filter(([kk, vv]) => kk !== 'path' && kk !== 'name' && (typeof vv !== 'object' || vv === null)).map(([kk, vv]) => `${kk} ${shown(vv)}`);
          after.push(fit(`      ${label}`));
          after.push(...pack(rest, '        '));
        } else after.push(fit(`      ${shown(el)}`));
      }
    } else if (typeof v === 'object') {
      const sub = Object.entries(v as Item).filter(([, vv]) => typeof vv !== 'object').map(([kk, vv]) => `${kk} ${shown(vv)}`);
      after.push(...pack(sub, `    ${k}: `.padEnd(4)).map((l, i) => (i === 0 ? l : '      ' + l.trimStart())));
    } else figures.push(`${k} ${shown(v)}${rate(k, v, prev, seconds)}`);
  }
  out.push(...pack(figures, '    '));
  out.push(...after);
  for (const k of ['last_error', 'last_reject']) if (typeof item[k] === 'string' && item[k]) out.push(...wrap(`${k.replace('_', ' ')}: ${item[k]}`, '    ', '      '));
  return out;
}

function byName(list: unknown): Map<string, Item> {
  return new Map(Array.isArray(list) ? (list as Item[]).map((i) => [String(i.name), i]) : []);
}

/**
 * The whole view. Sections that are lists become blocks of items; the forwarder and other sinks
 * are shown once, under sinks, and their plugin entry shows only the plugin's own fields.
 */
export function renderStatus(s: Item, prev?: Item, seconds?: number): string {
  const lines: string[] = [];
  const scalars = Object.entries(s).filter(([, v]) => v === null || typeof v !== 'object');
  lines.push(...pack(scalars.map(([k, v]) => `${k} ${shown(v)}${rate(k, v, prev, seconds)}`), ''));
  for (const [k, v] of Object.entries(s)) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) continue;
    const p = prev?.[k] as Item | undefined;
    const flat = Object.entries(v as Item).filter(([, vv]) => typeof vv !== 'object' || vv === null).map(([kk, vv]) => `${kk} ${shown(vv)}${rate(kk, vv, p, seconds)}`);
    lines.push(...labelled(`${k}: `, '  ', flat));
    for (const [kk, vv] of Object.entries(v as Item)) {
      if (vv && typeof vv === 'object' && !Array.isArray(vv)) lines.push(...labelled(`  ${kk}: `, '    ', Object.entries(vv as Item).map(([a, b]) => `${a} ${shown(b)}`)));
    }
  }
  const sinkNames = new Set(Array.isArray(s.sinks) ? (s.sinks as Item[]).map((i) => String(i.name)) : []);
  const sinkFields = new Set(Array.isArray(s.sinks) ? (s.sinks as Item[]).flatMap((i) => Object.keys(i)) : []);
  for (const [k, v] of Object.entries(s)) {
    if (!Array.isArray(v)) continue;
    lines.push('', `${k}:${v.length === 0 ? ' none' : ''}`);
    const before = byName(prev?.[k]);
    for (const item of v as Item[]) {
      // A plugin that is also a sink was shown in full under sinks: here only what it has as a plugin.
      const skip = k === 'plugins' && sinkNames.has(String(item.name)) ? new Set([...sinkFields].filter((f) => !['calls', 'failures', 'restarts', 'signature', 'version', 'mode'].includes(f))) : undefined;
      lines.push(...renderItem(item, before.get(String(item.name)), seconds, skip));
    }
  }
  return lines.join('\n') + '\n';
}
