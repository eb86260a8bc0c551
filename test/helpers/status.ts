import { runCli, type RunningAgent } from './agent.ts';

/**
 * `logloom status --json` of a running agent, run as an operator runs it (the CLI over the
 * control socket). Throws with the command's stderr when it fails.
 */
export async function status(agent: Pick<RunningAgent, 'control'>): Promise<Record<string, any>> {
  const r = await runCli(['status', '--json', '--socket', agent.control]);
  if (r.code !== 0) throw new Error(`logloom status failed (exit ${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The status block of one input (the first by default). */
export async function inputStatus(agent: Pick<RunningAgent, 'control'>, index = 0): Promise<Record<string, any>> {
  return (await status(agent)).inputs[index];
}
