/**
 * The repository explains itself: no code, doc or header cites a document a user who clones it
 * does not have (a design note or architecture page kept outside the repository). The product's
 * own account is docs/architecture.md.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ROOT } from '../helpers/agent.ts';

test('no file cites a document outside the repository; the README links docs/architecture.md', () => {
  const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n')
    .filter((f) => /\.(ts|md|h|c|py|sh|yaml|mk|service)$|Makefile$/.test(f) && f !== 'test/repo/self-contained.test.ts');
  const outside = /\b[Ss]eed (?:§|section)|\b[Tt]he seed's\b|ARCHITECTURE(?:\.md| §)|\.\.\/shared\//;
  const found: string[] = [];
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(`${ROOT}/${f}`, 'utf8');
    } catch {
      continue; // deleted in the working tree
    }
    text.split('\n').forEach((line, i) => {
      if (outside.test(line)) found.push(`${f}:${i + 1}: ${line.trim().slice(0, 120)}`);
    });
  }
  assert.deepEqual(found, [], 'cite docs/ instead');
  assert.match(readFileSync(`${ROOT}/README.md`, 'utf8'), /\(docs\/architecture\.md\)/);
});
