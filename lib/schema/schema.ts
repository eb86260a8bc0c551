/**
 * A small schema language for the YAML configuration. Each component declares the schema of
 * its own keys next to its code; the root schema (agent/config/agent-schema.ts) composes them. The same
 * declarations give the validated TypeScript types (Infer), the defaults, the error messages
 * with positions (validate.ts) and the reference in docs/configuration.md (docs.ts).
 */
export interface Base<T> {
  /** One-line meaning for docs/configuration.md. */
  doc: string;
  default?: T;
  /** How docs show the default when it is computed (e.g. the host name). */
  defaultDoc?: string;
  /**
   * A check beyond the shape (a regular expression that compiles, a known time zone, keys that
   * only make sense together): returns why the value is wrong, reported at its position like any
   * other issue, so check-config refuses what the component would refuse at start.
   */
  check?(value: T): string | undefined;
  /** Phantom field carrying the validated type. */
  readonly __t?: T;
}

export interface StringSchema extends Base<string> {
  kind: 'string';
  pattern?: RegExp;
  patternDoc?: string;
  minLength?: number;
  /** The value names a file the program reads at start (TLS material, keys): it must exist and be readable. */
  file?: true;
}
export interface EnumSchema<V extends string = string> extends Base<V> { kind: 'enum'; values: readonly V[] }
export interface IntSchema extends Base<number> { kind: 'int'; min: number; max: number; choices?: readonly number[] }
export interface NumberSchema extends Base<number> { kind: 'number'; min: number; max: number }
export interface BoolSchema extends Base<boolean> { kind: 'bool' }
/** Byte sizes: an integer or a string with unit, e.g. 16KiB, 64MiB, 1GB. */
export interface SizeSchema extends Base<number> { kind: 'size'; min: number; max: number }
/** Durations: milliseconds as an integer or a string with unit, e.g. 500ms, 5s, 2m, 1h. */
export interface DurationSchema extends Base<number> { kind: 'duration'; min: number; max: number }
export interface ArraySchema<I extends Schema = Schema> extends Base<Infer<I>[]> { kind: 'array'; items: I }
export interface MapSchema<V extends Schema = Schema> extends Base<Record<string, Infer<V>>> {
  kind: 'map';
  values: V;
  /** Keys with a schema of their own (e.g. the config blocks of compiled-in plugins). */
  known?: () => Record<string, Schema>;
}
export interface ObjectSchema<F extends Fields = Fields> extends Base<InferFields<F>> {
  kind: 'object';
  fields: F;
  /**
   * Rules across keys that types cannot say (`cert` required when `enabled`, names that must exist),
   * run on the validated object. Each finding is reported at its key (and list index) with the
   * position check-config prints, so that `run` and `check-config` refuse the same things.
   */
  refine?(value: InferFields<F>): Refinement[];
}

/** A finding of an object's refine rule; a warning is printed but does not stop the program. */
export interface Refinement {
  key?: string;
  index?: number;
  message: string;
  warning?: boolean;
}
/** A list item chosen by its `type:` key, e.g. inputs. */
export interface TaggedSchema<V extends Record<string, ObjectSchema> = Record<string, ObjectSchema>> extends Base<TaggedValue<V>> {
  kind: 'tagged';
  tag: string;
  variants: V;
}
/** Anything YAML can hold, passed through (per-plugin config blocks, validated by the plugin). */
export interface AnySchema extends Base<unknown> { kind: 'any' }
/** An optional value: absent or null means undefined. */
export interface OptionalSchema<S extends Schema = Schema> extends Base<Infer<S> | undefined> { kind: 'optional'; inner: S }

export type Schema =
  | StringSchema | EnumSchema | IntSchema | NumberSchema | BoolSchema | SizeSchema | DurationSchema
  | ArraySchema<any> | MapSchema<any> | ObjectSchema<any> | TaggedSchema<any> | AnySchema | OptionalSchema<any>;

export type Fields = Record<string, Schema>;
export type Infer<S> = S extends Base<infer T> ? T : never;
export type InferFields<F extends Fields> = { [K in keyof F]: Infer<F[K]> };
export type TaggedValue<V extends Record<string, ObjectSchema>> = {
  [K in keyof V]: { type: K } & Infer<V[K]>;
}[keyof V];

/** Constructors: `s.int({ min: 1, max: 10, default: 5, doc: '…' })`. */
export const s = {
  string: (o: Omit<StringSchema, 'kind'>): StringSchema => ({ kind: 'string', ...o }),
  enum: <const V extends string>(values: readonly V[], o: Omit<EnumSchema<V>, 'kind' | 'values'>): EnumSchema<V> => ({ kind: 'enum', values, ...o }),
  int: (o: Omit<IntSchema, 'kind'>): IntSchema => ({ kind: 'int', ...o }),
  number: (o: Omit<NumberSchema, 'kind'>): NumberSchema => ({ kind: 'number', ...o }),
  bool: (o: Omit<BoolSchema, 'kind'>): BoolSchema => ({ kind: 'bool', ...o }),
  size: (o: Omit<SizeSchema, 'kind'>): SizeSchema => ({ kind: 'size', ...o }),
  duration: (o: Omit<DurationSchema, 'kind'>): DurationSchema => ({ kind: 'duration', ...o }),
  array: <I extends Schema>(items: I, o: Omit<ArraySchema<I>, 'kind' | 'items'>): ArraySchema<I> => ({ kind: 'array', items, ...o }),
  map: <V extends Schema>(values: V, o: Omit<MapSchema<V>, 'kind' | 'values'>): MapSchema<V> => ({ kind: 'map', values, ...o }),
  object: <F extends Fields>(fields: F, o: Omit<ObjectSchema<F>, 'kind' | 'fields'>): ObjectSchema<F> => ({ kind: 'object', fields, ...o }),
  tagged: <V extends Record<string, ObjectSchema>>(tag: string, variants: V, o: Omit<TaggedSchema<V>, 'kind' | 'tag' | 'variants'>): TaggedSchema<V> =>
    ({ kind: 'tagged', tag, variants, ...o }),
  any: (o: Omit<AnySchema, 'kind'>): AnySchema => ({ kind: 'any', ...o }),
  optional: <S extends Schema>(inner: S, o: Omit<OptionalSchema<S>, 'kind' | 'inner'>): OptionalSchema<S> => ({ kind: 'optional', inner, ...o }),
};

const SIZE_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1024, kb: 1000, kib: 1024, m: 1024 ** 2, mb: 1000 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1000 ** 3, gib: 1024 ** 3,
};
const DURATION_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseWithUnit(text: string, units: Record<string, number>): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const mult = units[m[2]!.toLowerCase()];
  return mult === undefined ? undefined : Math.round(Number(m[1]) * mult);
}

export const parseSize = (text: string): number | undefined => parseWithUnit(text, SIZE_UNITS);
export const parseDuration = (text: string): number | undefined => parseWithUnit(text, DURATION_UNITS);

/** Human description of what a schema expects, used in error messages and docs. */
export function describe(schema: Schema): string {
  switch (schema.kind) {
    case 'string': return schema.patternDoc ?? 'a string';
    case 'enum': return `one of ${schema.values.join(', ')}`;
    case 'int':
      if (schema.choices) return `one of ${schema.choices[0]}…${schema.choices[schema.choices.length - 1]}`;
      return `an integer from ${schema.min} to ${schema.max}`;
    case 'number': return `a number from ${schema.min} to ${schema.max}`;
    case 'bool': return 'true or false';
    case 'size': return `a size from ${schema.min} to ${schema.max} bytes (e.g. 512, 16KiB, 64MiB)`;
    case 'duration': return `a duration from ${schema.min} to ${schema.max} ms (e.g. 500ms, 5s, 2m)`;
    case 'array': return 'a list';
    case 'map': return 'a mapping';
    case 'object': return 'a mapping';
    case 'tagged': return `a mapping with ${schema.tag}: one of ${Object.keys(schema.variants).join(', ')}`;
    case 'any': return 'any value';
    case 'optional': return describe(schema.inner);
  }
}
