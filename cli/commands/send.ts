import { createConnection } from 'node:net';
import { parseLevel } from '../../lib/level.ts';
import { ingestSocketPath } from './control-path.ts';
import { configOption, parse, UsageError, type Command } from './command.ts';

export const send: Command = {
  name: 'send',
  summary: 'send entries to the local agent, like logger(1)',
  usage:
    'logloom send [--level LEVEL] [--module TAG] [--lang-key KEY [--arg A]…] [-c FILE | --socket PATH] [message…]\n\n' +
    'Sends one entry from the arguments, or one entry per line of standard input when no message is given.\n' +
    'The agent is found through the first unix input of its configuration (-c FILE, else $LOGLOOM_CONFIG, else\n' +
    '/etc/logloom/logloom.yaml, else the embedded default), or directly with --socket PATH.',
  async run(argv) {
    const { values, positionals } = parse(argv, {
      ...configOption,
      level: { type: 'string', short: 'l', default: 'INFO' },
      module: { type: 'string', short: 'm', default: 'APP' },
      'lang-key': { type: 'string' },
      arg: { type: 'string', multiple: true },
      socket: { type: 'string' },
    });
    const level = parseLevel(values.level!);
    if (!level) throw new UsageError(`--level: expected one of DEBUG, INFO, WARN, ERROR, FATAL, got "${values.level}"`);
    const path = values.socket ?? ingestSocketPath(values.config);
    if (!path) throw new Error('the configuration has no unix input: pass --socket PATH, or -c FILE for a configuration that has one');
    const entry = (message: string) =>
      JSON.stringify({ level, module: values.module, message, ...(values['lang-key'] ? { lang_key: values['lang-key'], args: values.arg ?? [] } : {}) }) + '\n';
    const sock = createConnection(path);
    await new Promise<void>((resolve, reject) => {
      sock.once('connect', resolve);
      sock.once('error', (e: NodeJS.ErrnoException) => reject(new Error(
        `cannot reach the agent at ${path}: ${e.code === 'ENOENT' ? 'no such socket' : e.code === 'ECONNREFUSED' ? 'nothing is listening' : e.code ?? e.message}` +
        ' (is `logloom run` running? point send at it with -c FILE (its configuration) or --socket PATH (its unix input))')));
    });
    if (positionals.length > 0 || values['lang-key']) {
      sock.write(entry(positionals.join(' ')));
    } else {
      for await (const line of process.getBuiltinModule('node:readline').createInterface({ input: process.stdin, crlfDelay: Infinity })) {
        if (line.length && !sock.write(entry(line))) await new Promise((r) => sock.once('drain', r));
      }
    }
    await new Promise<void>((resolve) => sock.end(resolve));
    return 0;
  },
};
