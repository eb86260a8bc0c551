/** The `aggregator.nats:` section: the JetStream store's keys (also read by the index's stream feed, fleet/nats-feed.ts). */
import { s, type Infer } from '../../../lib/schema/schema.ts';

export const natsStoreSchema = s.object(
  {
    servers: s.array(s.string({ doc: '' }), { default: ['nats://127.0.0.1:4222'], doc: 'NATS server URLs (any members of the JetStream cluster).' }),
    stream: s.string({ default: 'LOGLOOM', doc: 'JetStream stream that holds the entries.', pattern: /^[A-Za-z0-9_-]{1,64}$/, patternDoc: 'a stream name [A-Za-z0-9_-]' }),
    subject_prefix: s.string({ default: 'logloom', doc: 'Entries are published on <prefix>.<node>.<level>.', pattern: /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, patternDoc: 'a subject prefix without wildcards' }),
    create_stream: s.bool({ default: true, doc: 'Create the stream (and the sequence bucket) when missing; false = they must exist.' }),
    replicas: s.int({ min: 1, max: 5, default: 1, doc: 'Replicas of the stream and bucket when created (3 in a 3-node cluster).' }),
    duplicate_window: s.duration({ min: 1000, max: 7 * 86_400_000, default: 120_000, doc: 'JetStream de-duplication window for re-published batches (Nats-Msg-Id).' }),
    state_bucket: s.string({ default: 'LOGLOOM_SEQ', doc: 'Key-value bucket holding each node\'s last stored sequence, shared by all aggregators.', pattern: /^[A-Za-z0-9_-]{1,64}$/, patternDoc: 'a bucket name [A-Za-z0-9_-]' }),
    timeout: s.duration({ min: 100, max: 600_000, default: 5000, doc: 'How long a publish may wait for JetStream\'s ack before the batch fails (not acknowledged to the agent).' }),
    user: s.optional(s.string({ doc: '' }), { doc: 'NATS user name.' }),
    password_file: s.optional(s.string({ doc: '', file: true }), { doc: 'File holding the NATS password.' }),
    creds_file: s.optional(s.string({ doc: '', file: true }), { doc: 'NATS credentials file (JWT + nkey seed).' }),
  },
  { doc: 'Scale-out store: NATS JetStream (see docs/scale-out.md).' },
);

export type NatsStoreConfig = Infer<typeof natsStoreSchema>;
