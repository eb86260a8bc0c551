import { parse, UsageError, type Command } from './command.ts';
import { clientOptions, EntryPrinter, filterParams, get, getJson, resolveTarget } from './fleet-client.ts';

interface Page {
  entries: { id: number; node: string; entry: Record<string, unknown> }[];
}

const USAGE = `logloom tail [--node N]… [--level L] [--module M] [--grep TEXT] [-n LINES] [-f]
             [--json] [--lang en|zh|L [--lang-dir DIR]] [--url URL] [--token T | --token-file F] [--ca FILE] [-c FILE]

The last LINES entries (default 20) an aggregator holds, oldest first; with -f, then every new
entry as it is stored (GET /api/tail, server-sent events) until interrupted.
Filters as in logloom query (--level is a minimum). Text by default; --json: one {"node","entry"} per line.`;

export const tail: Command = {
  name: 'tail',
  summary: 'show the latest entries of an aggregator, and follow them (-f)',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...clientOptions, follow: { type: 'boolean', short: 'f' }, lines: { type: 'string', short: 'n' } });
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const lines = Number(values.lines ?? '20');
    if (!Number.isInteger(lines) || lines < 0 || lines > 1000) throw new UsageError(`-n ${values.lines}: expected 0 to 1000`);
    const target = resolveTarget(values);
    const printer = new EntryPrinter(values.lang, values['lang-dir']);
    const p = filterParams(values);
    const print = (node: string, entry: Record<string, unknown>) =>
      process.stdout.write(values.json ? JSON.stringify({ node, entry }) + '\n' : printer.text(node, entry) + '\n');

    // Follow: the stream opens first, so nothing stored while the history is read is missed;
    // entries that show in both are printed once.
    const ctl = new AbortController();
    const stream = values.follow ? await get(target, '/api/tail', p, ctl.signal) : undefined;
    const early: { node: string; entry: Record<string, unknown> }[] = [];
    let seen: Set<string> | undefined;
    let live = false;
    const done = stream ? new Promise<void>((resolve, reject) => {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (ev === 'gap' && data) process.stderr.write(`logloom tail: ${(JSON.parse(data) as { skipped: number }).skipped} entries skipped (this client was too slow); use logloom query to see them\n`);
          if (ev !== 'entry' || !data) continue;
          const m = JSON.parse(data) as { node: string; entry: Record<string, unknown> };
          if (!live) early.push(m);
          else if (!seen?.delete(JSON.stringify(m.entry))) print(m.node, m.entry);
        }
      });
      stream.on('end', () => reject(new Error('the aggregator closed the stream')));
      stream.on('error', (e) => (ctl.signal.aborted ? resolve() : reject(e)));
      const stop = () => {
        ctl.abort();
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    }) : undefined;

    if (lines > 0) {
      p.set('limit', String(lines));
      const page = await getJson<Page>(target, '/api/entries', p);
      const history = page.entries.reverse();
      for (const e of history) print(e.node, e.entry);
      seen = new Set(history.map((e) => JSON.stringify(e.entry)));
    }
    live = true;
    for (const m of early) if (!seen?.delete(JSON.stringify(m.entry))) print(m.node, m.entry);
    early.length = 0;
    if (done) await done;
    return 0;
  },
};
