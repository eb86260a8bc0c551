import { join } from 'node:path';
import { loadAggregatorConfig } from '../../aggregator/config/load-config.ts';
import { controlRequest } from '../../lib/control/protocol.ts';
import { addApiToken, ROLES, type Role } from '../../aggregator/api/tokens.ts';
import { randomToken } from '../../lib/random-token.ts';
import { indexPath } from '../../aggregator/fleet/fleet.ts';
import { reindexFromNdjson, resetStreamIndex } from '../../aggregator/index/reindex.ts';
import { UsageError } from './command.ts';

/** `logloom aggregator api-token NAME [--role viewer|admin]`: adds an API token and prints it once. */
export function apiToken(name: string | undefined, o: { config?: string; tokens?: string; role?: string; token?: string }): number {
  if (!name) throw new UsageError('api-token needs exactly one NAME');
  const role = (o.role ?? 'viewer') as Role;
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`--role must be viewer or admin, got '${o.role}'`);
  const file = o.tokens ?? loadAggregatorConfig(o.config).config.aggregator.api.tokens_file;
  const token = o.token ?? randomToken();
  addApiToken(file, role, name, token);
  process.stderr.write(`${role} token ${name} added to ${file}\n`);
  process.stdout.write(token + '\n');
  return 0;
}

/**
 * `logloom aggregator reindex`: rebuilds the index from the store. The aggregator must be stopped
 * (it holds the index open); with JetStream the index is dropped and the next start consumes the
 * stream from its beginning.
 */
export async function reindex(o: { config?: string }): Promise<number> {
  const { config } = loadAggregatorConfig(o.config);
  const running = await controlRequest(config.control.socket, { op: 'status' }).then(() => true, () => false);
  if (running) throw new Error(`an aggregator answers on ${config.control.socket}: stop it first (it holds the index open)`);
  const a = config.aggregator;
  const path = indexPath(config);
  if (a.store === 'nats') {
    resetStreamIndex(path);
    process.stdout.write(`index ${path} removed; the next start rebuilds it from stream ${a.nats.stream}\n`);
    return 0;
  }
  const storeDir = a.ndjson.dir ?? join(config.data_dir, 'store');
  const r = await reindexFromNdjson(storeDir, path, (m) => process.stderr.write(`reindex: ${m}\n`));
  process.stdout.write(`index ${path} rebuilt from ${storeDir}: ${r.entries} entries of ${r.nodes} nodes from ${r.files} files in ${(r.ms / 1000).toFixed(1)} s` +
    `${r.badLines ? `; ${r.badLines} lines that are not JSON objects skipped` : ''}\n`);
  return 0;
}
