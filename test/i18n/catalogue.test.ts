import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Catalogue, parseLocale } from '../../lib/i18n/catalogue.ts';
import { formatTemplate, FormatError } from '../../lib/i18n/format.ts';
import { runCli, startAgent } from '../helpers/agent.ts';
import { controlRequest } from '../../lib/control/protocol.ts';

test('printf conversions %s %d %u %f %x and %%', () => {
  assert.equal(formatTemplate('%s has %d items, %u free, %.2f%% used, id 0x%x', ['disk', 3, 7, 12.345, 255]), 'disk has 3 items, 7 free, 12.35% used, id 0xff');
  assert.equal(formatTemplate('%f', [1.5]), '1.500000');
  assert.equal(formatTemplate('%d', ['42']), '42', 'numeric strings are accepted for %d');
});

test('argument checks: type, count, sign', () => {
  assert.throws(() => formatTemplate('%d', ['abc']), FormatError);
  assert.throws(() => formatTemplate('%d', [1.5]), /not an integer/);
  assert.throws(() => formatTemplate('%u', [-1]), /unsigned/);
  assert.throws(() => formatTemplate('%s %s', ['a']), /missing argument 2/);
  assert.throws(() => formatTemplate('%s', ['a', 'b']), /unused argument/);
});

test('nested keys are looked up with dots; en and zh cover the same keys', () => {
  const en = parseLocale(readFileSync(new URL('../../locales/en.yaml', import.meta.url), 'utf8'));
  const zh = parseLocale(readFileSync(new URL('../../locales/zh.yaml', import.meta.url), 'utf8'));
  assert.ok(en.has('agent.started'));
  assert.deepEqual([...en.keys()].filter((k) => !zh.has(k)), [], 'keys missing from zh.yaml');
  assert.deepEqual([...zh.keys()].filter((k) => !en.has(k)), [], 'keys missing from en.yaml');
  // Every template formats with arguments of the kinds it asks for (no broken templates shipped).
  for (const [key, t] of [...en, ...zh]) {
    const args = [...t.matchAll(/%(\.\d+)?([sdufx])/g)].map((m) => (m[2] === 's' ? 'x' : 1));
    assert.doesNotThrow(() => formatTemplate(t, args), `template ${key}: ${t}`);
  }
});

test('missing key and bad format render as FORMAT ERROR, never throw', () => {
  const c = new Catalogue('en');
  assert.equal(c.render('no.such.key'), '[FORMAT ERROR: missing key] [KEY: no.such.key]');
  assert.equal(c.render('demo.crc_error', ['zz']), '[FORMAT ERROR: argument 1 for %x is not a number: "zz"] [KEY: demo.crc_error]');
  assert.equal(c.render('demo.login', ['alice']), '[FORMAT ERROR: missing argument 2 for %s] [KEY: demo.login]');
});

test('language switch, unknown language falls back with one warning, resolvers override', () => {
  const warnings: string[] = [];
  const c = new Catalogue('xx', (m) => warnings.push(m));
  assert.equal(c.language, 'en');
  assert.deepEqual(warnings, ["unknown language 'xx', using 'en'"]);
  assert.equal(c.setLanguage('zh'), 'zh');
  assert.equal(c.render('demo.login', ['alice', '10.0.0.7']), '用户 alice 从 10.0.0.7 登录');
  assert.equal(c.render('demo.login', ['alice', '10.0.0.7'], 'en'), 'user alice logged in from 10.0.0.7');
  const r = (key: string, lang: string) => (key === 'demo.login' && lang === 'zh' ? '%s 登录了（来自 %s）' : null);
  c.addResolver(r);
  assert.equal(c.render('demo.login', ['bob', 'x']), 'bob 登录了（来自 x）');
  c.removeResolver(r);
  assert.equal(c.render('demo.login', ['bob', 'x']), '用户 bob 从 x 登录');
});

test('logloom lang get renders in a chosen language', async () => {
  const zh = await runCli(['lang', 'get', 'demo.disk_low', '/data', '7', '--lang', 'zh']);
  assert.equal(zh.code, 0, zh.stderr);
  assert.equal(zh.stdout, '/data 磁盘空间不足：剩余 7%');
  const bad = await runCli(['lang', 'get', 'demo.disk_low', '/data', 'seven']);
  // A bad argument is an error for the person at the terminal: on stderr, exit 1.
  assert.equal(bad.code, 1);
  assert.equal(bad.stdout, '');
  assert.equal(bad.stderr, 'logloom lang: [FORMAT ERROR: argument 2 for %u is not a number: "seven"] [KEY: demo.disk_low]');
  const usage = await runCli(['lang', 'get']);
  assert.equal(usage.code, 2);
});

test('logloom lang set switches the running agent; entries with lang keys render in the new language', async () => {
  const agent = await startAgent(`  inputs:
    - type: unix
      path: DIR/run/ingest.sock
  plugins:
    enabled: [sink_console]
`);
  try {
    await runCli(['send', '--socket', agent.ingest, '--lang-key', 'demo.login', '--arg', 'alice', '--arg', '10.0.0.7']);
    await agent.stdout.waitFor(/\[INFO\] \[APP\] \S+ user alice logged in from 10\.0\.0\.7$/);
    const set = await runCli(['lang', 'set', 'zh', '--socket', agent.control]);
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'language: zh');
    await runCli(['send', '--socket', agent.ingest, '--lang-key', 'demo.login', '--arg', 'bob', '--arg', '10.0.0.8']);
    await agent.stdout.waitFor(/用户 bob 从 10\.0\.0\.8 登录$/);
    const unknown = await controlRequest(agent.control, { op: 'lang.set', lang: 'tlh' });
    assert.deepEqual(unknown, { ok: true, result: { language: 'en' } });
    await agent.stderr.waitFor(/\[WARN\] unknown language 'tlh', using 'en'/);
  } finally {
    await agent.stop();
  }
});
