import { controlRequest } from '../../lib/control/protocol.ts';
import { parseDuration } from '../../lib/schema/schema.ts';
import { controlSocketPath } from './control-path.ts';
import { renderStatus } from './status-view.ts';
import { configOption, parse, UsageError, type Command } from './command.ts';

export { renderStatus };

export const status: Command = {
  name: 'status',
  summary: 'show the running agent\'s inputs, queues, drops, sinks and plugins',
  usage: 'logloom status [-c FILE] [--socket PATH] [--json] [--watch [--interval 2s]]\n\n' +
    'Asks the running agent (or aggregator) over its control socket. The view fits 80 columns, one block per\n' +
    'input, filter, sink and plugin; --json prints every field. --watch refreshes like top (Ctrl-C stops) and\n' +
    'shows counters as rates per second.',
  async run(argv) {
    const { values } = parse(argv, {
      ...configOption, socket: { type: 'string' }, json: { type: 'boolean' }, watch: { type: 'boolean', short: 'w' }, interval: { type: 'string', default: '2s' },
    }, false);
    const socket = values.socket ?? controlSocketPath(values.config);
    const ask = async (): Promise<Record<string, unknown>> => {
      const answer = await controlRequest(socket, { op: 'status' });
      if (!answer.ok) throw new Error(answer.error);
      return answer.result as Record<string, unknown>;
    };
    if (!values.watch) {
      const s = await ask();
      process.stdout.write(values.json ? JSON.stringify(s, null, 2) + '\n' : renderStatus(s));
      return 0;
    }
    const every = parseDuration(values.interval!);
    if (every === undefined || every < 100) throw new UsageError(`--interval: expected a duration of at least 100ms, got "${values.interval}"`);
    let prev: Record<string, unknown> | undefined;
    let prevAt = 0;
    let stop = false;
    process.once('SIGINT', () => (stop = true));
    while (!stop) {
      const s = await ask();
      const now = Date.now();
      const view = values.json ? JSON.stringify(s) + '\n' : renderStatus(s, prev, prev ? (now - prevAt) / 1000 : undefined);
      // Home and clear, as top does; a pipe gets the frames one after another.
      process.stdout.write((process.stdout.isTTY ? '\x1b[H\x1b[2J' : '') + view + (process.stdout.isTTY ? '' : '\f\n'));
      prev = s;
      prevAt = now;
      await new Promise((r) => setTimeout(r, every));
    }
    return 0;
  },
};
