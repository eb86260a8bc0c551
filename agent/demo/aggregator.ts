import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAssetText } from '../../lib/assets.ts';
import { Aggregator } from '../../aggregator/aggregator.ts';
import { hashToken, writeTokenLine } from '../../aggregator/auth.ts';
import { randomToken } from '../../lib/random-token.ts';
import { parseConfig } from '../config/load.ts';
import { ConfigError } from '../../lib/schema/validate.ts';
import { createLog } from '../../lib/log.ts';

/**
 * The demo's aggregator: runs in the demo's process on a loopback port, with a token made for the
 * demo gateway (the agent reads it from DEMO_DIR/gateway.token), storing under DEMO_DIR/aggregator.
 */
export async function startDemoAggregator(dir: string): Promise<{ port: number; stop(): Promise<void> }> {
  const file = join(dir, 'aggregator.yaml');
  const text = readAssetText('agent/demo/aggregator-config.yaml').replaceAll('DEMO_DIR', dir);
  writeFileSync(file, text);
  const { config, issues } = parseConfig({ file, text });
  if (!config) throw new ConfigError(issues);
  const token = randomToken();
  writeTokenLine(config.aggregator.auth.tokens_file, 'demo-gw-01', await hashToken(token, 'sha256'));
  writeFileSync(join(dir, 'gateway.token'), token + '\n', { mode: 0o600 });
  const agg = new Aggregator(config, createLog(config.log_level).child('aggregator'));
  await agg.start();
  const store = join(config.data_dir, 'store');
  process.stderr.write(`demo: aggregator on 127.0.0.1:${agg.port}, storing in ${store}; see it with: bin/logloom status --socket ${config.control.socket}\n`);
  return {
    port: agg.port,
    async stop() {
      await agg.stop();
      const rows = agg.nodes.list();
      for (const r of rows) process.stderr.write(`demo: the aggregator holds ${r.entries} entries (up to batch ${r.last_seq}) from ${r.name} in ${join(store, r.name)}\n`);
    },
  };
}
