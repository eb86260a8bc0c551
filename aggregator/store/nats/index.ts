/** The scale-out store (`aggregator.store: nats`): NATS JetStream. The client library loads in open(). */
import type { Store } from '../store.ts';
import type { StoreContext } from '../index.ts';
import { natsStoreSchema, type NatsStoreConfig } from './config.ts';
import { NatsStore } from './nats-store.ts';

export const schema = natsStoreSchema;

export function create(config: NatsStoreConfig, ctx: StoreContext): Store {
  return new NatsStore(config, ctx.log.child('nats'));
}
