import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderConfigReference } from '../../toolchain/gen-config-docs.ts';
import { agentSchema } from '../../agent/config/agent-schema.ts';
import { INPUT_KINDS } from '../../agent/inputs/index.ts';
import type { Schema } from '../../lib/schema/schema.ts';

const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

function keys(schema: Schema, path: string, out: string[]): string[] {
  if (schema.kind === 'object') {
    for (const [k, f] of Object.entries(schema.fields) as [string, Schema][]) {
      out.push(path ? `${path}.${k}` : k);
      keys(f, path ? `${path}.${k}` : k, out);
    }
  }
  return out;
}

test('docs/configuration.md lists every schema key (top level and every input type)', () => {
  const missing = keys(agentSchema, '', []).filter((k) => !committed.includes('`' + k + '`'));
  for (const [type, kind] of Object.entries(INPUT_KINDS)) {
    if (!committed.includes(`\`type: ${type}\``)) missing.push(`inputs type ${type}`);
    for (const k of keys(kind.schema, 'inputs[]', [])) if (!committed.includes('`' + k + '`')) missing.push(k);
  }
  assert.deepEqual(missing, [], 'run `make docs` to regenerate docs/configuration.md');
});

test('docs/configuration.md is exactly what the schema renders (make docs)', () => {
  assert.equal(committed, renderConfigReference(), 'docs/configuration.md is stale: run `make docs`');
});
