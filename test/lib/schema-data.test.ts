/**
 * One validator: a plugin's JSON answer (validateData) and a YAML file (validateYamlDocument, as
 * plugin manifests are read) are checked by the same schema language with the same messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { s } from '../../lib/schema/schema.ts';
import { validateData, validateYamlDocument } from '../../lib/schema/validate.ts';

const schema = s.object({
  name: s.string({ doc: '', pattern: /^[a-z]+$/, patternDoc: 'lower-case letters' }),
  n: s.int({ doc: '', min: 1, max: 10, default: 5 }),
  tags: s.array(s.string({ doc: '' }), { doc: '', default: [] }),
}, { doc: '' });

test('a JSON value and the same value as YAML give the same value or the same problems', () => {
  assert.deepEqual(validateData({ name: 'ok', tags: ['a'] }, schema), { value: { name: 'ok', n: 5, tags: ['a'] }, issues: [] });
  const bad = { name: 'Not OK', n: 11, extra: true };
  const fromData = validateData(bad, schema).issues;
  const fromYaml = validateYamlDocument('name: Not OK\nn: 11\nextra: true\n', 'x.yaml', schema).issues;
  assert.deepEqual(fromData, fromYaml.map(({ path, message }) => ({ path, message })));
  assert.deepEqual(fromData.map((i) => i.path).sort(), ['extra', 'n', 'name']);
  // The YAML side knows where: file:line:col of each problem.
  assert.deepEqual(fromYaml.map((i) => `${i.line}:${i.col}`).sort(), ['1:7', '2:4', '3:1']);
  assert.match(validateData('a string', schema).issues[0]!.message, /^expected a mapping, got "a string"$/);
});
