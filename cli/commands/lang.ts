import { Catalogue } from '../../lib/i18n/catalogue.ts';
import { controlRequest } from '../../lib/control/protocol.ts';
import { controlSocketPath } from './control-path.ts';
import { configOption, parse, UsageError, type Command } from './command.ts';

export const lang: Command = {
  name: 'lang',
  summary: 'render a message key, or switch the running agent\'s language',
  usage:
    'logloom lang get KEY [ARGS…] [--lang LANG]   render a catalogue key (locally)\n' +
    'logloom lang set LANG [-c FILE]             switch the running agent\'s language',
  async run(argv) {
    const { values, positionals } = parse(argv, { ...configOption, lang: { type: 'string' }, socket: { type: 'string' } });
    const [sub, ...rest] = positionals;
    if (sub === 'get') {
      if (!rest[0]) throw new UsageError('lang get: missing KEY');
      const warnings: string[] = [];
      const cat = new Catalogue(values.lang ?? 'en', (m) => warnings.push(m));
      for (const w of warnings) process.stderr.write(`[WARN] ${w}\n`);
      const text = cat.render(rest[0], rest.slice(1));
      // A missing key or a bad argument is an error for the person at the terminal, not a line to print.
      if (text.startsWith('[FORMAT ERROR: ')) {
        process.stderr.write(`logloom lang: ${text}\n`);
        return 1;
      }
      process.stdout.write(text + '\n');
      return 0;
    }
    if (sub === 'set') {
      if (!rest[0]) throw new UsageError('lang set: missing LANG');
      const a = await controlRequest(values.socket ?? controlSocketPath(values.config), { op: 'lang.set', lang: rest[0] });
      if (!a.ok) throw new Error(a.error);
      const now = (a.result as { language: string }).language;
      if (now !== rest[0]) throw new Error(`the agent has no catalogue for '${rest[0]}' and keeps '${now}' (catalogues: locales/<lang>.yaml, or a lang plugin)`);
      process.stdout.write(`language: ${now}\n`);
      return 0;
    }
    throw new UsageError(`expected get or set, got ${sub === undefined ? 'nothing' : JSON.stringify(sub)}`);
  },
};
