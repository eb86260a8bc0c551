import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlRequest } from '../../../lib/control/protocol.ts';
import { ROOT } from '../../helpers/agent.ts';
import { agentWith, pluginStatus } from './helpers.ts';

async function render(control: string, key: string, args: (string | number)[], lang?: string): Promise<string> {
  const a = await controlRequest(control, { op: 'lang.get', key, args, ...(lang ? { lang } : {}) });
  if (!a.ok) throw new Error(a.error);
  return (a.result as { text: string }).text;
}

test('lang_hot_reload: overrides built-in keys from YAML/JSON files and picks up an edited file without a restart', async () => {
  const agent = await agentWith(`    dirs: [${join(ROOT, 'python/plugins')}]
    enabled: [lang_hot_reload]
    config:
      lang_hot_reload: { dir: DIR/lang, poll_ms: 100 }
`, (dir) => {
    mkdirSync(join(dir, 'lang'));
    writeFileSync(join(dir, 'lang/en.yaml'), '# operator overrides\ndemo:\n  login: "HOT %s came in from %s"\n');
    writeFileSync(join(dir, 'lang/zh.json'), JSON.stringify({ demo: { login: '热 %s 来自 %s' } }));
  });
  try {
    assert.equal(await render(agent.control, 'demo.login', ['alice', '10.0.0.7']), 'HOT alice came in from 10.0.0.7');
    assert.equal(await render(agent.control, 'demo.login', ['alice', '10.0.0.7'], 'zh'), '热 alice 来自 10.0.0.7');
    // Keys the plugin does not have fall through to the built-in catalogue.
    assert.equal(await render(agent.control, 'demo.link_down', ['eth0', 5]), 'uplink eth0 down, retry in 5 s');

    writeFileSync(join(agent.dir, 'lang/en.yaml'), 'demo:\n  login: "EDITED %s from %s"\n  link_down: \'link %s is down (%d s)\'\n');
    await agent.stderr.waitFor(/lang_hot_reload: translations refreshed: version 2/);
    assert.equal(await render(agent.control, 'demo.login', ['bob', '10.0.0.8']), 'EDITED bob from 10.0.0.8');
    assert.equal(await render(agent.control, 'demo.link_down', ['eth0', 5]), 'link eth0 is down (5 s)');
    // A file that does not parse keeps the previous translations and says why.
    writeFileSync(join(agent.dir, 'lang/en.yaml'), 'demo:\n  login: "unterminated\n');
    await agent.stderr.waitFor(/lang_hot_reload: stderr: kept the previous en translations: \w*(Error|Exception)\b.*unterminated|kept the previous en translations: ScannerError/);
    assert.equal(await render(agent.control, 'demo.login', ['bob', '10.0.0.8']), 'EDITED bob from 10.0.0.8');

    // A language only the plugin knows becomes selectable.
    writeFileSync(join(agent.dir, 'lang/fr.yaml'), 'i18n:\n  language_name: Français\ndemo:\n  login: "%s connecté depuis %s"\n');
    await agent.stderr.waitFor(/lang_hot_reload: translations refreshed: version 3/);
    const set = await controlRequest(agent.control, { op: 'lang.set', lang: 'fr' });
    assert.deepEqual(set, { ok: true, result: { language: 'fr' } });
    assert.equal(await render(agent.control, 'demo.login', ['eve', '10.0.0.9']), 'eve connecté depuis 10.0.0.9');
    const st = await pluginStatus(agent, 'lang_hot_reload');
    assert.equal(st.lang_cache_templates, 5);
  } finally {
    await agent.stop();
  }
});

test('lang_hot_reload REST path: GET and PUT of catalogue keys on the HTTP endpoint, token-authenticated, persisted to the override file, applied without a restart', async () => {
  const agent = await agentWith(`    dirs: [${join(ROOT, 'python/plugins')}]
    enabled: [lang_hot_reload]
    config:
      lang_hot_reload: { dir: DIR/lang, poll_ms: 100, token_file: DIR/lang-token }
  control:
    socket: DIR/run/control.sock
    http: 127.0.0.1:0
`, (dir) => {
    mkdirSync(join(dir, 'lang'));
    writeFileSync(join(dir, 'lang/en.yaml'), 'demo:\n  login: "file %s from %s"\n');
    writeFileSync(join(dir, 'lang-token'), 's3cret-token\n', { mode: 0o600 });
  });
  try {
    const base = /metrics and health at (http:\/\/127\.0\.0\.1:\d+)/.exec(await agent.stderr.waitFor(/metrics and health at http:\/\/127\.0\.0\.1:\d+/))![1];
    const call = (method: string, path: string, body?: unknown, token = 's3cret-token') =>
      fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

    // Authentication first: no token, a wrong one.
    assert.equal((await fetch(`${base}/lang/en/demo.login`)).status, 401);
    assert.equal((await call('GET', '/lang/en/demo.login', undefined, 'nope')).status, 401);

    let r = await call('GET', '/lang/en/demo.login');
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { lang: 'en', key: 'demo.login', template: 'file %s from %s' });

    // PUT: persisted to the override file, applied without a restart (the answer waits for it).
    r = await call('PUT', '/lang/en/demo.login', { template: 'REST %s from %s' });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { lang: 'en', key: 'demo.login', template: 'REST %s from %s', applied: true });
    assert.equal(await render(agent.control, 'demo.login', ['ann', '10.0.0.1']), 'REST ann from 10.0.0.1');
    assert.deepEqual(JSON.parse(readFileSync(join(agent.dir, 'lang/overrides.json'), 'utf8')), { en: { 'demo.login': 'REST %s from %s' } });
    r = await call('PUT', '/lang/de/demo.login', { template: '%s angemeldet von %s' });
    assert.equal(r.status, 200);
    assert.equal(await render(agent.control, 'demo.login', ['ann', '10.0.0.1'], 'de'), 'ann angemeldet von 10.0.0.1');
    r = await call('GET', '/lang/de/demo.login');
    assert.equal((await r.json()).template, '%s angemeldet von %s');

    // The override wins over the language file, also after the file changes.
    writeFileSync(join(agent.dir, 'lang/en.yaml'), 'demo:\n  login: "edited %s from %s"\n  other: "x"\n');
    await agent.stderr.waitFor(/lang_hot_reload: stderr: loaded 2 en translations/);
    assert.equal(await render(agent.control, 'demo.login', ['ann', '10.0.0.1']), 'REST ann from 10.0.0.1');

    // Bad input is refused with the reason, and nothing is written.
    r = await call('PUT', '/lang/en/demo.login', { template: 'bad\u0007bell' });
    assert.equal(r.status, 400);
    assert.match((await r.json()).error, /control characters/);
    assert.equal((await call('PUT', '/lang/en/demo.login', 'nope')).status, 400);
    assert.equal((await call('PUT', '/lang/e!n/demo.login', { template: 'x' })).status, 400);
    assert.equal((await call('GET', '/lang/en/no.such.key')).status, 404);

    // Removing the override brings the file's text back.
    r = await call('PUT', '/lang/en/demo.login', { template: null });
    assert.equal(r.status, 200);
    await agent.stderr.waitFor(/lang_hot_reload: stderr: loaded 1 overrides from overrides.json/);
    const deadline = Date.now() + 10_000;
    while ((await render(agent.control, 'demo.login', ['ann', '1'])) !== 'edited ann from 1' && Date.now() < deadline) await new Promise((res) => setImmediate(res));
    assert.equal(await render(agent.control, 'demo.login', ['ann', '1']), 'edited ann from 1');
    assert.deepEqual(JSON.parse(readFileSync(join(agent.dir, 'lang/overrides.json'), 'utf8')), { de: { 'demo.login': '%s angemeldet von %s' } });
  } finally {
    await agent.stop();
  }
});
