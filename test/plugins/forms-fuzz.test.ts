/**
 * Seeded, bounded fuzzing of the parsers this part of the plugin framework put in front of input:
 * a filter answer's verdict forms (filterVerdictsOf), the plugin host's analyze/catalogue reply
 * bodies (readItems), and the lang REST path (real HTTP requests with random paths and bodies).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { filterVerdictsOf, InvalidOutputError } from '../../agent/plugins/validate-output.ts';
import { readItems } from '../../agent/native/frames.ts';
import { LangApi } from '../../agent/control/lang-api.ts';
import { createLog } from '../../lib/log.ts';
import { tempDir } from '../helpers/agent.ts';
import { rng } from '../helpers/rng.ts';

test('fuzz filterVerdictsOf: 2000 seeded answer bodies give verdicts of the right count or InvalidOutputError, nothing else', () => {
  const random = rng(14);
  const pick = <T,>(a: readonly T[]) => a[Math.floor(random() * a.length)]!;
  const value = (d: number): unknown => {
    const r = random();
    if (d > 2 || r < 0.3) return pick([true, false, null, 0, 1, 'x', '', undefined]);
    if (r < 0.55) return Array.from({ length: Math.floor(random() * 4) }, () => value(d + 1));
    const o: Record<string, unknown> = {};
    for (let i = Math.floor(random() * 4); i > 0; i--) o[pick(['message', 'keep', 'entry', 'batch', 'node', 'timestamp', 'level', 'status', '__proto__'])] = value(d + 1);
    return o;
  };
  for (let i = 0; i < 2000; i++) {
    const body = value(0);
    const count = 1 + Math.floor(random() * 3);
    if (body === null || typeof body !== 'object' || Array.isArray(body)) continue;
    try {
      const v = filterVerdictsOf(body as Record<string, unknown>, count);
      assert.equal(v.length, count);
      for (const x of v) assert.ok(x === undefined || typeof x === 'boolean' || (typeof x === 'object' && typeof (x as { message?: unknown }).message === 'string'), JSON.stringify(body));
    } catch (e) {
      assert.ok(e instanceof InvalidOutputError, `${(e as Error).message} for ${JSON.stringify(body)}`);
      assert.ok((e as Error).message.length < 200, 'the reason stays short');
    }
  }
});

test('fuzz readItems: 2000 seeded reply bodies (valid, cut, corrupted) parse or throw, bounded by the body', () => {
  const random = rng(41);
  const str = (s: string) => {
    const b = Buffer.from(s);
    const h = Buffer.alloc(4);
    h.writeUInt32LE(b.length);
    return Buffer.concat([h, b, Buffer.from([0])]);
  };
  for (let i = 0; i < 2000; i++) {
    const n = Math.floor(random() * 4);
    const head = Buffer.alloc(8);
    head.writeInt32LE(random() < 0.2 ? -1 : 0, 0);
    head.writeUInt32LE(random() < 0.1 ? 0xffffff : n, 4);
    let body = Buffer.concat([head, ...Array.from({ length: n * 3 }, () => str('é'.repeat(Math.floor(random() * 5))))]);
    if (random() < 0.3) body = body.subarray(0, Math.floor(random() * body.length));
    if (random() < 0.3 && body.length > 0) body[Math.floor(random() * body.length)] = Math.floor(random() * 256);
    try {
      const r = readItems(body, 3);
      assert.ok(r.items.length <= body.length);
      for (const it of r.items) assert.equal(it.length, 3);
    } catch (e) {
      assert.ok(e instanceof Error);
    }
  }
});

test('fuzz the lang REST path: 400 seeded requests over HTTP never get a 500, and the override file stays valid JSON', async () => {
  const dir = tempDir('logloom-lang-fuzz-');
  writeFileSync(join(dir, 'token'), 'tok\n', { mode: 0o600 });
  const overrides = join(dir, 'overrides.json');
  const api = new LangApi({ tokenFile: join(dir, 'token'), overrideFile: overrides, template: () => undefined, log: createLog('ERROR'), applyTimeoutMs: 1 });
  const server = createServer((req, res) => {
    if (!api.handle(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  const random = rng(7);
  const pick = <T,>(a: readonly T[]) => a[Math.floor(random() * a.length)]!;
  const seg = () => pick(['en', 'zh', 'pt-BR', 'e!', '..', '%00', '%2F', 'a.b', 'x'.repeat(200), '', '%E2%82%AC', '%E2', '%zz', 'demo.login']);
  const bodies = ['{"template":"ok %s"}', '{"template":null}', '{"template":"\\u0007"}', '{"template":5}', '{}', 'null', '[]', '{"template":"' + 'y'.repeat(5000) + '"}', 'not json', '', '{"template":"a","x":1}'];
  try {
    for (let i = 0; i < 400; i++) {
      const method = pick(['GET', 'PUT', 'PUT', 'POST', 'DELETE']);
      const token = pick(['tok', 'tok', 'tok', 'nope', '']);
      const path = random() < 0.9 ? `/lang/${seg()}/${seg()}` : `/lang/${seg()}`;
      const r = await fetch(base + path, { method, headers: token ? { authorization: `Bearer ${token}` } : {}, body: method === 'PUT' || method === 'POST' ? pick(bodies) : undefined });
      await r.arrayBuffer();
      assert.ok([200, 202, 400, 401, 404, 405].includes(r.status), `${method} ${path} → ${r.status}`);
      // Unauthenticated requests under /lang/ learn nothing else (fetch normalises '..' away first).
      if (token !== 'tok' && new URL(base + path).pathname.startsWith('/lang/')) assert.equal(r.status, 401, `${method} ${path}`);
    }
    const doc = JSON.parse(readFileSync(overrides, 'utf8'));
    assert.ok(doc && typeof doc === 'object');
  } finally {
    server.close();
  }
});
