/**
 * The input kinds, one module each: `schema` (its config keys) and `create` (the input).
 * Adding an input = one file here + one line below + a section in docs/configuration.md.
 * Line inputs (lineInput below) also take the line stage's keys: parser and multiline.
 */
import { s, type ObjectSchema } from '../../lib/schema/schema.ts';
import { lineProcessingFields } from '../processing/schema.ts';
import type { Input, InputContext } from './input.ts';
import * as unix from './unix.ts';
import * as stdin from './stdin.ts';
import * as syslog from './syslog/index.ts';
import * as tcp from './tcp.ts';
import * as kmsg from './kmsg/index.ts';
import * as serial from './serial/index.ts';
import * as file from './file/index.ts';
import * as devlog from './devlog/index.ts';
import * as pstore from './pstore/index.ts';
import * as journald from './journald/index.ts';

interface InputKind {
  schema: ObjectSchema;
  create(config: any, ctx: InputContext): Input;
}

/** An input whose entries are text lines: its schema gains `parser:` and `multiline:` (agent/processing). */
function lineInput<K extends InputKind & { schema: ObjectSchema<any> }>(kind: K) {
  const fields = { ...kind.schema.fields, ...lineProcessingFields } as K['schema']['fields'] & typeof lineProcessingFields;
  return { create: kind.create as K['create'], schema: s.object(fields, { doc: kind.schema.doc }) };
}

export const INPUT_KINDS = {
  unix: lineInput(unix),
  stdin: lineInput(stdin),
  syslog: lineInput(syslog),
  tcp: lineInput(tcp),
  kmsg,
  serial: lineInput(serial),
  file: lineInput(file),
  devlog: lineInput(devlog),
  pstore,
  journald: lineInput(journald),
} satisfies Record<string, InputKind>;

export type InputType = keyof typeof INPUT_KINDS;
