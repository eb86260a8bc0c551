/**
 * The root of plugins' state directories, `<data_dir>/plugins` (each plugin gets
 * `<data_dir>/plugins/<name>`). When the agent runs as root, process plugins run as another user
 * (`nobody`, or `limits.user`) and are handed the absolute path of their state directory, so
 * every directory above it must let that user pass; with a root-only 0750 parent the plugin could
 * only use its working directory, never the path it was given.
 *
 * - `<data_dir>/plugins` is the agent's own: 0711, anyone may pass, no one but root may list it.
 * - `<data_dir>` gets the search bit for others if it lacks it (the shipped rootfs used 0750); never
 *   the read bit, and the files in it keep their own modes (0600/0640).
 * - Directories above `<data_dir>` are the operator's: a missing search bit is reported, not changed.
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

export const PLUGIN_STATE_ROOT_MODE = 0o711;

export async function preparePluginStateRoot(dataDir: string, log: { info(m: string): void; warn(m: string): void }): Promise<string> {
  const root = join(dataDir, 'plugins');
  await mkdir(root, { recursive: true, mode: PLUGIN_STATE_ROOT_MODE });
  await chmod(root, PLUGIN_STATE_ROOT_MODE);
  if (process.getuid?.() !== 0) return root; // plugins run as the agent's own user
  const data = resolve(dataDir);
  const mode = (await stat(data)).mode & 0o7777;
  if (!(mode & 0o001)) {
    await chmod(data, mode | 0o001);
    log.info(`${data}: added the search bit for others (mode ${(mode | 0o001).toString(8)}) so that plugins running as another user reach their state directory`);
  }
  for (let d = dirname(data); ; d = dirname(d)) {
    const m = (await stat(d)).mode;
    if (!(m & 0o001)) log.warn(`${d} (mode ${(m & 0o777).toString(8)}) cannot be passed by other users: plugins running as nobody cannot reach their state directory under ${root}; give it the search bit (o+x)`);
    if (d === dirname(d)) break;
  }
  return root;
}
