import { controlRequest } from '../../lib/control/protocol.ts';
import { controlSocketPathLenient } from './control-path.ts';
import { configOption, parse, type Command } from './command.ts';

export const reload: Command = {
  name: 'reload',
  summary: 'make the running agent re-read and apply its configuration (like SIGHUP)',
  usage: 'logloom reload [-c FILE] [--socket PATH] [--json]\n\nThe agent re-reads the file it was started with and validates it; on any problem it keeps running the\nprevious configuration and this command prints why and exits 1. Otherwise it applies added, removed and\nchanged inputs, routes and enabled plugins, and prints what changed and what waits for a restart.',
  async run(argv) {
    const { values } = parse(argv, { ...configOption, socket: { type: 'string' }, json: { type: 'boolean' } }, false);
    // Applying can take a while (inputs stop and start, a removed sink's queue is flushed).
    const answer = await controlRequest(values.socket ?? controlSocketPathLenient(values.config), { op: 'reload' }, 60_000);
    if (!answer.ok) {
      process.stderr.write(`${answer.error}\n`);
      return 1;
    }
    const r = answer.result as { file: string; summary: string; restart_needed: string[]; errors: string[] };
    if (values.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else {
      process.stdout.write(`${r.file}: ${r.summary}\n`);
      for (const e of r.errors) process.stdout.write(`error: ${e}\n`);
    }
    return r.errors.length ? 1 : 0;
  },
};
