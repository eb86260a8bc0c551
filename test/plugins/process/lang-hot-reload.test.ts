import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { controlRequest } from '../../../agent/control/protocol.ts';
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
