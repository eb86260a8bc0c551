/**
 * Fuzzing configuration files: the shipped device configuration, mutated (ranges deleted, lines
 * repeated and swapped, indentation broken, YAML syntax and hostile scalars inserted, alias
 * bombs), goes through the same parser `logloom run` and `check-config` use. Every case must end
 * in a configuration or in issues that name a line and column; nothing may throw. A few cases also
 * go through `logloom check-config`, which must answer 0 or 1 with no stack trace. The seed is
 * printed; see fuzz.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../agent/config/load.ts';
import { ROOT, runCli, tempDir } from '../helpers/agent.ts';
import { fuzzer, hostileLine, withSeed, type Fuzz } from './fuzz.ts';

const SEED_CONFIGS = [
  readFileSync(join(ROOT, 'rootfs/etc/logloom/logloom.yaml'), 'utf8'),
  readFileSync(join(ROOT, 'agent/config/default-config.yaml'), 'utf8'),
  `logloom:
  node_id: gw-1
  max_message_bytes: 16KiB
  inputs:
    - { type: tcp, listen: "127.0.0.1:0", format: json }
    - type: syslog
      listen: [udp:127.0.0.1:0]
    - type: file
      path: /tmp/x.log
  plugins:
    enabled: [filter_level, sink_file]
    config:
      filter_level: { min_level: WARN }
      sink_file: { path: /tmp/out.log, format: json, max_bytes: 1MiB }
`,
];

const TOKENS = [
  ': ', '- ', '&a ', '*a', '!!binary ', '!!js/function ', '<<: *a\n', '{', '}', '[', ']', '"', "'", '\t', '%YAML 1.2\n---\n', '---\n', '...\n', '? ',
  '|\n', '>-\n', '#', ',', '~', 'null', 'true', 'yes', '0o777', '0x1F', '1e999', '-1', '99999999999999999999', '.inf', '.nan', '1KiB', '9999GiB', '5ms', 'soon',
  '__proto__: 1\n', 'constructor: {}\n', '\u0000', '\ufeff', '\u202e', '日志', 'logloom:\n', '  inputs:\n    - type: serial\n', '    - type: pigeon\n',
];

function mutateYaml(f: Fuzz, text: string): string {
  let lines = text.split('\n');
  for (let k = 1 + f.int(4); k > 0; k--) {
    switch (f.int(7)) {
      case 0: { // delete a character range
        const s = lines.join('\n');
        const a = f.int(s.length);
        lines = (s.slice(0, a) + s.slice(a + f.int(40))).split('\n');
        break;
      }
      case 1: { // repeat a line (duplicate keys)
        const i = f.int(lines.length);
        lines.splice(i, 0, lines[i]!);
        break;
      }
      case 2: { // swap two lines
        const i = f.int(lines.length), j = f.int(lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        break;
      }
      case 3: { // break the indentation
        const i = f.int(lines.length);
        lines[i] = ' '.repeat(f.int(12)) + lines[i]!.trimStart();
        break;
      }
      case 4: { // insert a YAML token or a hostile scalar
        const i = f.int(lines.length);
        const at = f.int(lines[i]!.length + 1);
        const ins = f.chance(0.7) ? f.pick(TOKENS) : hostileLine(f).toString('utf8').slice(0, 200);
        lines[i] = lines[i]!.slice(0, at) + ins + lines[i]!.slice(at);
        break;
      }
      case 5: { // replace a value
        const i = f.int(lines.length);
        const m = /^(\s*-?\s*[A-Za-z_]+:)\s*\S.*$/.exec(lines[i]!);
        if (m) lines[i] = `${m[1]} ${f.pick(TOKENS).trim() || 'x'}`;
        break;
      }
      default: // a long run of keys or a deep nesting
        lines.push(f.chance(0.5) ? '  ' + Array.from({ length: f.int(300) }, (_, n) => `{k${n}: `).join('') : `  k: ${'['.repeat(f.int(2000))}`);
    }
  }
  return lines.join('\n');
}

/** The alias bomb ("billion laughs"): nine levels of ten aliases each. */
const ALIAS_BOMB = 'logloom:\n  node_id: x\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n' +
  Array.from({ length: 8 }, (_, i) => `  a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]\n`).join('');

function checkOne(text: string): void {
  let r: ReturnType<typeof parseConfig>;
  try {
    r = parseConfig({ file: 'fuzz.yaml', text });
  } catch (e) {
    throw new Error(`parseConfig threw ${(e as Error).stack?.split('\n').slice(0, 4).join(' | ')}\n--- config ---\n${text.slice(0, 2000)}`);
  }
  if (r.config) return;
  assert.ok(r.issues.length > 0, 'no configuration and no issue');
  for (const i of r.issues) {
    assert.ok(i.line >= 1 && i.col >= 1 && i.message.length > 0, `issue without a place or a reason: ${JSON.stringify(i)}`);
  }
}

test('fuzz: mutated configuration files end in a configuration or in located issues, never an exception; check-config answers 0 or 1', async (t) => {
  const f = fuzzer(t, 6, 2);
  await withSeed(f, async () => {
    checkOne(ALIAS_BOMB);
    const deadline = Date.now() + f.budgetMs;
    const forCli: string[] = [];
    let n = 0;
    for (; Date.now() < deadline; n++) {
      const text = mutateYaml(f, f.pick(SEED_CONFIGS));
      checkOne(text);
      if (forCli.length < 3 && f.chance(0.05)) forCli.push(text);
    }
    const dir = tempDir('logloom-fuzz-cfg-');
    for (const [i, text] of [...forCli, ALIAS_BOMB].entries()) {
      const path = join(dir, `c${i}.yaml`);
      writeFileSync(path, text);
      const r = await runCli(['check-config', '-c', path]);
      assert.ok(r.code === 0 || r.code === 1, `check-config exit ${r.code}: ${r.stderr.slice(0, 500)}`);
      assert.ok(!/\n\s+at .*\.ts:\d+/.test(r.stderr), `a stack trace instead of an issue: ${r.stderr.slice(0, 500)}`);
    }
    t.diagnostic(`${n} mutated configurations parsed; ${forCli.length + 1} through check-config`);
  });
});
