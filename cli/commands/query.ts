import { parse, UsageError, type Command } from './command.ts';
import { clientOptions, EntryPrinter, filterParams, getJson, resolveTarget } from './fleet-client.ts';

interface Page {
  entries: { id: number; node: string; entry: Record<string, unknown> }[];
  next_cursor: string | null;
}

const USAGE = `logloom query [--node N]… [--level L] [--module M] [--source S] [--lang-key K] [--grep TEXT]
              [--since T] [--until T] [--limit N] [--order desc|asc] [--cursor C] [--all]
              [--json] [--lang en|zh|L [--lang-dir DIR]] [--url URL] [--token T | --token-file F] [--ca FILE] [-c FILE]

Entries the aggregator's index holds (GET /api/entries), newest first by default.
--level is a minimum (WARN = WARN, ERROR, FATAL); --grep is free text (every word; the last, and any ending in *, as a
word prefix);
--since/--until take ISO 8601 times, ms since the epoch, or a duration ago (15m, 2h, 7d).
--all follows next_cursor until the end (--limit is then the page size).
Text by default (TIME NODE LEVEL MODULE message, lang_key entries rendered in --lang); --json: one
{"id","node","entry"} object per line. When more pages remain, the next cursor is printed on stderr.
URL and token: the flags, else $LOGLOOM_URL / $LOGLOOM_TOKEN, else aggregator.api.client in the configuration.`;

export const query: Command = {
  name: 'query',
  summary: 'search the entries an aggregator holds',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parse(argv, { ...clientOptions, limit: { type: 'string' }, order: { type: 'string' }, cursor: { type: 'string' }, all: { type: 'boolean' } });
    if (positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    const target = resolveTarget(values);
    const printer = new EntryPrinter(values.lang, values['lang-dir']);
    const p = filterParams(values);
    p.set('limit', values.limit ?? '100');
    if (values.order) p.set('order', values.order);
    let cursor = values.cursor;
    for (;;) {
      if (cursor) p.set('cursor', cursor);
      const page = await getJson<Page>(target, '/api/entries', p);
      let out = '';
      for (const e of page.entries) out += values.json ? JSON.stringify(e) + '\n' : printer.text(e.node, e.entry) + '\n';
      process.stdout.write(out);
      cursor = page.next_cursor ?? undefined;
      if (!cursor) break;
      if (!values.all) {
        process.stderr.write(`more: --cursor ${cursor}\n`);
        break;
      }
    }
    return 0;
  },
};
