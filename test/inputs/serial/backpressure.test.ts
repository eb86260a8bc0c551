import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { create, schema } from '../../../agent/inputs/serial/index.ts';
import { defaultOf } from '../../../lib/schema/validate.ts';
import { createLog } from '../../../lib/log.ts';
import type { EntryDraft } from '../../../entry/build.ts';
import { tempDir } from '../../helpers/agent.ts';
import { PtyPair } from '../../helpers/pty.ts';

test('backpressure (when_full: block) over a real pty: the port is paused and resumed many times, and no line is lost or reordered', async (t) => {
  const dir = tempDir('logloom-serial-');
  const pty = await new PtyPair(dir).start();
  t.after(() => pty.kill());
  const got: string[] = [];
  let pauses = 0;
  let resumes = 0;
  let opened!: () => void;
  const isOpen = new Promise<void>((r) => (opened = r));
  let done!: () => void;
  const allIn = new Promise<void>((r) => (done = r));
  const N = 20_000;
  const input = create({ ...(defaultOf(schema) as object), type: 'serial', path: pty.device } as never, {
    name: 'serial',
    log: createLog('INFO', (l) => (/open at/.test(l) ? opened() : undefined)),
    stateDir: dir,
    // Like a full buffer every 500 lines: the entry is taken, the input is asked to pause.
    emit: (d: EntryDraft) => {
      got.push(d.message as string);
      if (got.length === N + 1) done();
      if (got.length % 500 !== 0) return true;
      pauses++;
      return false;
    },
    // The buffer drains on a later turn of the event loop, as the pipeline's does.
    drained: () => new Promise<void>((r) => setTimeout(() => (resumes++, r()), 1)),
    reject: () => {},
  });
  await input.start();
  try {
    await isOpen;
    const lines = Array.from({ length: N }, (_, i) => `line ${i} ${'y'.repeat(i % 64)}`);
    await pty.write(lines.join('\n') + '\nEND\n');
    await allIn;
    assert.equal(got.pop(), 'END');
    assert.equal(got.length, N);
    const h = (xs: string[]) => createHash('sha256').update(xs.join('\n')).digest('hex');
    assert.equal(h(got), h(lines));
    assert.equal(pauses, Math.floor((N + 1) / 500));
    // Every pause but possibly the last (whose drain may still be pending) was followed by a resume.
    assert.ok(resumes >= pauses - 1, `${resumes} resumes for ${pauses} pauses`);
  } finally {
    await input.stop();
    await pty.kill();
  }
});
