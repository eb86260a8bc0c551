/**
 * Where an entry goes in Kafka: its topic (the configured name, or a template of node, level and
 * module) and its message key. Kept apart from the producer so that both paths (entry objects and
 * entry records) route alike and the template rules are tested on their own.
 */
import type { KafkaConfig } from './config.ts';

/** What a topic template and a key may use of an entry. */
export interface RouteFields {
  node: string;
  level: string;
  module: string;
}

/** Kafka's own rule for topic names (kafka.common.internals.Topic). */
const TOPIC_MAX = 249;
const ILLEGAL = /[^A-Za-z0-9._-]/g;

export interface Router {
  /** True when the topic or key depends on the entry's node (the records path parses then). */
  readonly usesNode: boolean;
  /** True when every entry goes to one topic. */
  readonly fixedTopic: string | undefined;
  topic(f: RouteFields): string;
  key(f: RouteFields): Buffer | undefined;
}

export function makeRouter(config: Pick<KafkaConfig, 'topic' | 'key'>): Router {
  const template = config.topic;
  const fixed = /\{/.test(template) ? undefined : template;
  if (fixed !== undefined && (fixed === '.' || fixed === '..' || fixed.length > TOPIC_MAX)) {
    throw new Error(`topic "${fixed}": not a valid Kafka topic name (at most ${TOPIC_MAX} characters of letters, digits, . _ -; not "." or "..")`);
  }
  // Templates cost a replace per entry; the few distinct topics they make are cached.
  const cache = new Map<string, string>();
  const part = (v: string) => v.toLowerCase().replace(ILLEGAL, '_');
  const topic = (f: RouteFields): string => {
    if (fixed !== undefined) return fixed;
    const k = `${f.node}\u0000${f.level}\u0000${f.module}`;
    let t = cache.get(k);
    if (t === undefined) {
      t = template.replace(/\{(node|level|module)\}/g, (_m, name: keyof RouteFields) => part(f[name]));
      // Empty values must not make "", "." or "..", and nothing may pass the length limit.
      if (t === '' || t === '.' || t === '..') t = t.replace(/\./g, '_') || '_';
      if (t.length > TOPIC_MAX) t = t.slice(0, TOPIC_MAX);
      if (cache.size > 10_000) cache.clear();
      cache.set(k, t);
    }
    return t;
  };
  const keyOf = config.key;
  const keys = new Map<string, Buffer>();
  const key = (f: RouteFields): Buffer | undefined => {
    if (keyOf === 'none') return undefined;
    const v = keyOf === 'node' ? f.node : f.module;
    let b = keys.get(v);
    if (b === undefined) {
      b = Buffer.from(v);
      if (keys.size > 10_000) keys.clear();
      keys.set(v, b);
    }
    return b;
  };
  return { usesNode: keyOf === 'node' || template.includes('{node}'), fixedTopic: fixed, topic, key };
}
