import { parseConfig, resolveConfigSource } from '../../agent/config/load.ts';
import { formatIssue } from '../../lib/schema/validate.ts';
import { configOption, parse, type Command } from './command.ts';

export const checkConfig: Command = {
  name: 'check-config',
  summary: 'validate a configuration file and print every problem',
  usage: 'logloom check-config [-c FILE]\n\nPrints each problem as file:line:col: path: what was expected; exits 1 when there is any.\n' +
    'It refuses what `logloom run` would refuse at start-up (unknown plugins, ports, unreadable TLS material and keys),\n' +
    'so ok means the agent starts. Warnings (e.g. a token file not provisioned yet) are printed and do not fail.',
  async run(argv) {
    const { values } = parse(argv, configOption, false);
    let source;
    try {
      source = resolveConfigSource(values.config);
    } catch (e) {
      process.stderr.write(`${values.config ?? process.env.LOGLOOM_CONFIG}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      return 1;
    }
    const { issues, warnings } = parseConfig(source);
    for (const i of [...issues, ...warnings].sort((a, b) => a.line - b.line || a.col - b.col)) process.stderr.write(formatIssue(i) + '\n');
    if (issues.length) return 1;
    process.stdout.write(`${source.file}: ok${warnings.length ? ` (${warnings.length} warning${warnings.length > 1 ? 's' : ''})` : ''}\n`);
    return 0;
  },
};
