import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAssetText } from '../../lib/assets.ts';
import { parse, type Command } from './command.ts';
import { runAgent } from './run.ts';
import { startDevice } from '../../agent/demo/device.ts';
import { once } from 'node:events';

export const demo: Command = {
  name: 'demo',
  summary: 'run an agent fed by a synthetic device, forwarding to an aggregator (Ctrl-C stops)',
  usage: 'logloom demo [--interval MS] [--count N] [--lang en|zh]\n\nStarts an aggregator on loopback, then the agent on a demo configuration in a temporary directory (forwarding to that\naggregator with log_aggregator_remote) and a synthetic device writing mixed entries into its unix socket.',
  async run(argv) {
    const { values } = parse(argv, { interval: { type: 'string', default: '300' }, count: { type: 'string', default: '0' }, lang: { type: 'string', default: 'en' } }, false);
    const dir = mkdtempSync(join(tmpdir(), 'logloom-demo-'));
    const configPath = join(dir, 'logloom.yaml');
    const { startDemoAggregator } = await import('../../agent/demo/aggregator.ts');
    const aggregator = await startDemoAggregator(dir);
    writeFileSync(configPath, readAssetText('agent/demo/demo-config.yaml').replaceAll('DEMO_DIR', dir).replace('AGGREGATOR_PORT', String(aggregator.port)).replace('node_id: demo-gw-01', `node_id: demo-gw-01\n  language: ${values.lang}`));
    process.stderr.write(`demo: working directory ${dir} (config ${configPath}, rotated files in ${dir}/log)\n`);
    const sock = join(dir, 'run', 'ingest.sock');
    const code = await runAgent(configPath, () => {
      const device = startDevice({ socketPath: sock, intervalMs: Number(values.interval), count: Number(values.count) });
      if (Number(values.count) > 0) {
        // A bounded demo (used by tests): stop like Ctrl-C once the device has sent everything.
        void device.done.then(() => process.kill(process.pid, 'SIGTERM'));
      } else {
        void once(process, 'SIGINT').then(() => device.stop());
      }
    });
    await aggregator.stop();
    return code;
  },
};
