import { Agent } from '../../agent/agent.ts';
import { loadConfig } from '../../agent/config/load.ts';
import { formatIssue } from '../../lib/schema/validate.ts';
import { createLog, stderrSink } from '../../lib/log.ts';
import { configOption, parse, type Command } from './command.ts';

/** Runs the agent until SIGTERM/SIGINT; SIGHUP reopens output files. `onStarted` runs once it listens. */
export async function runAgent(configPath?: string, onStarted?: (agent: Agent) => void): Promise<number> {
  const { config, source, warnings } = loadConfig(configPath);
  const log = createLog(config.log_level, stderrSink(config.log_format));
  const agent = new Agent(config, log);
  agent.configPath = configPath;
  log.info(agent.t('agent.config_loaded', source.file));
  for (const w of warnings) log.warn(formatIssue(w));
  try {
    await agent.start();
  } catch (e) {
    // Close what did start (listening sockets, open devices) so the process can exit with the error.
    await agent.stop(0).catch(() => {});
    throw e;
  }
  onStarted?.(agent);
  return new Promise((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      void agent.stop().then((left) => resolve(left === 0 ? 0 : 1));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    // SIGHUP: reopen output files (log rotation) and reload the configuration.
    process.on('SIGHUP', () => void agent.reopen().then(() => agent.reload()).catch((e: Error) => log.error(`reload: ${e.message}`)));
  });
}

export const run: Command = {
  name: 'run',
  summary: 'run the agent',
  usage: 'logloom run [-c FILE]\n\nRuns the agent with the configuration from -c, $LOGLOOM_CONFIG, /etc/logloom/logloom.yaml or the embedded default.\nSIGTERM/SIGINT drain queued entries into sinks (shutdown_grace) and exit; SIGHUP reopens output files and reloads the configuration (as `logloom reload`).',
  async run(argv) {
    const { values } = parse(argv, configOption, false);
    return runAgent(values.config);
  },
};
