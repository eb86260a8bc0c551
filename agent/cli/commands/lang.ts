import { Catalogue } from '../../i18n/catalogue.ts';
import { controlRequest } from '../../control/protocol.ts';
import { controlSocketPath } from './control-path.ts';
import { configOption, parse, UsageError, type Command } from '../command.ts';

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
      process.stdout.write(cat.render(rest[0], rest.slice(1)) + '\n');
      return 0;
    }
    if (sub === 'set') {
      if (!rest[0]) throw new UsageError('lang set: missing LANG');
      const a = await controlRequest(values.socket ?? controlSocketPath(values.config), { op: 'lang.set', lang: rest[0] });
      if (!a.ok) throw new Error(a.error);
      const now = (a.result as { language: string }).language;
      process.stdout.write(`language: ${now}\n`);
      return now === rest[0] ? 0 : 1;
    }
    throw new UsageError(`lang: expected get or set, got ${sub === undefined ? 'nothing' : JSON.stringify(sub)}`);
  },
};
