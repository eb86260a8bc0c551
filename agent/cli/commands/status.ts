import { controlRequest } from '../../control/protocol.ts';
import { controlSocketPath } from './control-path.ts';
import { configOption, parse, type Command } from '../command.ts';

type Row = Record<string, unknown>;

function table(title: string, rows: Row[], cols: string[]): string {
  if (rows.length === 0) return `${title}: none\n`;
  const cells = rows.map((r) => cols.map((c) => (r[c] === undefined ? '-' : typeof r[c] === 'object' ? JSON.stringify(r[c]) : String(r[c]))));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return `${title}:\n  ${line(cols.map((c) => c.toUpperCase()))}\n${cells.map((r) => '  ' + line(r)).join('\n')}\n`;
}

/** Human view of the agent's (or aggregator's) status: a header and one table per section. */
export function renderStatus(s: Record<string, unknown>): string {
  let out = '';
  const scalars = Object.entries(s).filter(([, v]) => v === null || typeof v !== 'object');
  out += scalars.map(([k, v]) => `${k}: ${v}`).join('\n') + '\n';
  for (const [k, v] of Object.entries(s)) {
    if (Array.isArray(v)) {
      const cols = [...new Set(v.flatMap((r) => Object.keys(r as Row)))];
      out += table(k, v as Row[], cols);
    } else if (v && typeof v === 'object') {
      out += `${k}: ${Object.entries(v).map(([a, b]) => `${a}=${typeof b === 'object' ? JSON.stringify(b) : b}`).join(' ')}\n`;
    }
  }
  return out;
}

export const status: Command = {
  name: 'status',
  summary: 'show the running agent\'s inputs, queues, drops, sinks and plugins',
  usage: 'logloom status [-c FILE] [--socket PATH] [--json]\n\nAsks the running agent (or aggregator) over its control socket.',
  async run(argv) {
    const { values } = parse(argv, { ...configOption, socket: { type: 'string' }, json: { type: 'boolean' } }, false);
    const answer = await controlRequest(values.socket ?? controlSocketPath(values.config), { op: 'status' });
    if (!answer.ok) throw new Error(answer.error);
    process.stdout.write(values.json ? JSON.stringify(answer.result, null, 2) + '\n' : renderStatus(answer.result as Record<string, unknown>));
    return 0;
  },
};
