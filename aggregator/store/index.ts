/**
 * The store kinds, one folder each: `schema` (its section, `aggregator.<kind>:`) and `create`
 * (the Store, not yet opened). `aggregator.store` names the kind. Adding a store = a folder here
 * (config.ts, its Store, index.ts) + one line below; its section shows up in the configuration
 * (and docs/configuration.md, `make docs`) by itself. A kind loads its client library in open(),
 * so a store that is not configured costs nothing (`logloom aggregator` with NDJSON never loads
 * the NATS client).
 */
import type { ObjectSchema } from '../../lib/schema/schema.ts';
import type { AgentLog } from '../../lib/log.ts';
import type { Store } from './store.ts';
import * as ndjson from './ndjson/index.ts';
import * as nats from './nats/index.ts';

/** What a store kind gets besides its own section. */
export interface StoreContext {
  /** The aggregator's data_dir (default home of a store's files). */
  dataDir: string;
  log: AgentLog;
}

interface StoreKind {
  schema: ObjectSchema;
  create(config: any, ctx: StoreContext): Store;
}

export const STORE_KINDS = {
  ndjson,
  nats,
} satisfies Record<string, StoreKind>;

export type StoreName = keyof typeof STORE_KINDS;
export const STORE_NAMES = Object.keys(STORE_KINDS) as StoreName[];

/** The configured store: `aggregator.store` picks the kind, `aggregator.<kind>` configures it. */
export function createStore(a: { store: StoreName } & { [K in StoreName]: unknown }, ctx: StoreContext): Store {
  return (STORE_KINDS[a.store] as StoreKind).create(a[a.store], ctx);
}
