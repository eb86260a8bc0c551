/** Compiles C plugins with the system gcc inside the test run (real .so files, not fixtures on disk). */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/agent.ts';

export const INCLUDE = join(ROOT, 'native/include');
export const EXAMPLES = join(ROOT, 'native/examples');

/** gcc -shared -fPIC: source is a path under native/examples or inline C code. Returns the .so path. */
export function compilePlugin(dir: string, soName: string, source: { example?: string; code?: string }): string {
  let src = source.example ? join(EXAMPLES, source.example) : join(dir, soName.replace(/\.so$/, '.c'));
  if (source.code !== undefined) writeFileSync(src, source.code);
  const out = join(dir, soName);
  execFileSync('gcc', ['-shared', '-fPIC', '-O1', '-I', INCLUDE, '-o', out, src], { stdio: ['ignore', 'ignore', 'inherit'] });
  return out;
}
