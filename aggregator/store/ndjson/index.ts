/** The embedded store (`aggregator.store: ndjson`): per-node NDJSON files under data_dir/store. */
import { join } from 'node:path';
import type { Store } from '../store.ts';
import type { StoreContext } from '../index.ts';
import { ndjsonStoreSchema, type NdjsonStoreConfig } from './config.ts';
import { NdjsonStore } from './ndjson-store.ts';

export const schema = ndjsonStoreSchema;

export function create(config: NdjsonStoreConfig, ctx: StoreContext): Store {
  return new NdjsonStore(config.dir ?? join(ctx.dataDir, 'store'), config, ctx.log);
}
