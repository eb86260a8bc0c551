import type { Aggregator as AggregatorType } from '../../aggregator/aggregator.ts';
import { hashToken, writeTokenLine } from '../../aggregator/auth.ts';
import { randomToken } from '../../lib/random-token.ts';
import { loadAggregatorConfig } from '../../aggregator/config/load-config.ts';
import { formatIssue } from '../../lib/schema/validate.ts';
import { createLog, stderrSink } from '../../lib/log.ts';
import { writeFileAtomicSync } from '../../lib/atomic-file.ts';
import { configOption, parse, UsageError, type Command } from './command.ts';

/** Runs the aggregator until SIGTERM/SIGINT; SIGHUP re-reads the tokens file. */
export async function runAggregator(configPath?: string): Promise<number> {
  const { config, source, warnings } = loadAggregatorConfig(configPath);
  const log = createLog(config.log_level, stderrSink(config.log_format));
  log.info(`configuration loaded from ${source.file}`);
  for (const w of warnings) log.warn(formatIssue(w));
  // Loaded by this command only: the agent never loads the aggregator, its stores or nats; and
  // nothing here loads the agent (test/aggregator/program.test.ts).
  const { Aggregator } = await import('../../aggregator/aggregator.ts');
  const agg: AggregatorType = new Aggregator(config, log);
  await agg.start();
  return new Promise((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void agg.stop().then(() => resolve(0), (e: Error) => (log.error(e.message), resolve(1)));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => void agg.reopen());
  });
}

const USAGE = `logloom aggregator [-c FILE]
       logloom aggregator token NODE [-c FILE] [--tokens FILE] [--hash scrypt|sha256] [--token VALUE] [--out FILE]
       logloom aggregator api-token NAME [--role viewer|admin] [-c FILE] [--tokens FILE] [--token VALUE]
       logloom aggregator reindex [-c FILE]

Without a subcommand: runs the aggregator (the aggregator: section of the configuration).
SIGTERM/SIGINT: finish the batches being stored, tell agents SHUTTING_DOWN, exit; SIGHUP: re-read the tokens file.

token NODE: creates (or replaces) NODE's entry in the tokens file (--tokens, else aggregator.auth.tokens_file,
default /etc/logloom/aggregator-tokens) and prints the new token once on stdout; put it in the gateway's token file.
--out FILE writes the token to FILE instead (created with mode 0600, ready to copy to the gateway's token_file).
--token VALUE sets a chosen token instead of a random one.

api-token NAME: adds (or replaces) an API token for the query API and the dashboard (--tokens, else
aggregator.api.tokens_file) with a role, viewer (default: read) or admin (also /api/status); prints it once.

reindex: rebuilds the index (aggregator.index.path) from the NDJSON store, with the aggregator stopped;
with the JetStream store, drops it so that the next start rebuilds it from the stream.`;

export const aggregator: Command = {
  name: 'aggregator',
  summary: 'run the aggregator that agents forward to (token NODE: add a node)',
  usage: USAGE,
  async run(argv) {
    const { values, positionals } = parse(argv, {
      ...configOption,
      tokens: { type: 'string' },
      hash: { type: 'string', default: 'scrypt' },
      token: { type: 'string' },
      role: { type: 'string' },
      out: { type: 'string', short: 'o' },
    });
    if (positionals.length === 0) return runAggregator(values.config);
    if (positionals[0] === 'api-token') {
      if (positionals.length !== 2) throw new UsageError('api-token needs exactly one NAME');
      // The fleet helpers (index, sqlite, nats) load for these subcommands only, not at every start.
      return (await import('./aggregator-fleet.ts')).apiToken(positionals[1], values);
    }
    if (positionals[0] === 'reindex') {
      if (positionals.length !== 1) throw new UsageError('reindex takes no argument');
      return (await import('./aggregator-fleet.ts')).reindex(values);
    }
    if (positionals[0] !== 'token') throw new UsageError(`unknown subcommand '${positionals[0]}'`);
    if (positionals.length !== 2) throw new UsageError('token needs exactly one NODE');
    if (values.hash !== 'scrypt' && values.hash !== 'sha256') throw new UsageError(`--hash must be scrypt or sha256, got '${values.hash}'`);
    const file = values.tokens ?? loadAggregatorConfig(values.config).config.aggregator.auth.tokens_file;
    const token = values.token ?? randomToken();
    writeTokenLine(file, positionals[1]!, await hashToken(token, values.hash));
    process.stderr.write(`node ${positionals[1]} added to ${file}\n`);
    if (values.out === undefined) {
      process.stdout.write(token + '\n');
      return 0;
    }
    writeFileAtomicSync(values.out, token + '\n', 0o600);
    process.stderr.write(`token written to ${values.out} (mode 0600)\n`);
    return 0;
  },
};
