/**
 * The records-path set-up shared by its test and its benchmark: a real aggregator and an agent
 * with unix input → filter_level → filter_keyword.so (compiled here; trusted or in its host) →
 * log_aggregator_remote, with buffer.native as given.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { tempDir, type RunningAgent } from '../helpers/agent.ts';
import { aggregatorFixture, startAgent, type AggregatorFixture } from '../forward/helpers.ts';
import { compilePlugin } from './compile.ts';

export interface RecordsPathSetup {
  agent: RunningAgent;
  agg: AggregatorFixture;
  stop(): Promise<void>;
}

export async function startRecordsPath(o: { native: 'auto' | 'on' | 'off'; trusted: boolean; aggregator?: string; remote?: string }): Promise<RecordsPathSetup> {
  const dir = tempDir('logloom-records-path-');
  mkdirSync(`${dir}/plugins`);
  compilePlugin(`${dir}/plugins`, 'filter_keyword.so', { example: 'filter_keyword.c' });
  if (o.trusted) {
    writeFileSync(`${dir}/plugins/filter_keyword.yaml`, 'name: filter_keyword\nversion: 1.0.0\nauthor: Logloom Team\ntype: filter\nentry: { kind: native, path: filter_keyword.so, trusted: true }\n');
  }
  const agg = await aggregatorFixture(o.aggregator);
  await agg.start();
  let agent: RunningAgent;
  try {
    agent = await startAgent(`  buffer:
    native: ${o.native}
  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    dirs: [DIR/plugins]
    enabled: [filter_level, filter_keyword, log_aggregator_remote]
    config:
      filter_level: { min_level: INFO }
      filter_keyword: { keyword: heartbeat, action: drop }
      log_aggregator_remote:
        addresses: ["127.0.0.1:${agg.port}"]
${o.remote ?? ''}`, dir);
  } catch (e) {
    await agg.stop();
    throw e;
  }
  return {
    agent, agg,
    async stop() {
      await agent.stop();
      await agg.stop();
    },
  };
}
