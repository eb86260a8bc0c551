/**
 * The input kinds, one module each: `schema` (its config keys) and `create` (the input).
 * Adding an input = one file here + one line below + a section in docs/configuration.md.
 */
import type { ObjectSchema } from '../config/schema.ts';
import type { Input, InputContext } from './input.ts';
import * as unix from './unix.ts';
import * as stdin from './stdin.ts';
import * as syslog from './syslog/index.ts';
import * as tcp from './tcp.ts';
import * as kmsg from './kmsg/index.ts';
import * as serial from './serial/index.ts';
import * as file from './file/index.ts';

interface InputKind {
  schema: ObjectSchema;
  create(config: any, ctx: InputContext): Input;
}

export const INPUT_KINDS = {
  unix,
  stdin,
  syslog,
  tcp,
  kmsg,
  serial,
  file,
} satisfies Record<string, InputKind>;

export type InputType = keyof typeof INPUT_KINDS;
