/**
 * How a plugin process is started: through logloom-launcher (native/launcher/), which joins the
 * plugin's cgroups, sets its rlimits, enters a network namespace (root, no `network`), restricts
 * writes to the state directory (Landlock, else a read-only mount namespace), drops to the plugin
 * user, sets no_new_privs and a seccomp filter, and only then execs the plugin program. It tells
 * which of those layers this kernel allowed on a status descriptor; `logloom status` shows them
 * under `sandbox`.
 *
 * Where the launcher is not built (a checkout without `make native`), a /bin/sh stand-in joins
 * the cgroups and applies rlimits only, and `sandbox.launcher` says so: the Python runner then
 * drops privileges itself and its audit hooks are the only other layer.
 */
import { chownSync, mkdirSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { nativeFile } from '../../../lib/native-runtime.ts';
import type { AppliedLimits } from '../limits/mechanism.ts';
import type { UserIds } from '../limits/user.ts';

export const LAUNCHER_ASSET = 'native/build/logloom-launcher';

/** Exit codes of the launcher (native/launcher/launcher.h) and of the sh stand-in. */
export const LAUNCH_EXIT = { cgroup: 97, setup: 96, exec: 127 } as const;

export interface LaunchSpec {
  /** Absolute path of the program to exec (python3, logloom-plugin-host). */
  program: string;
  args: readonly string[];
  /** The plugin user (root agents only). */
  user?: UserIds;
  /** The plugin has the `network` capability. */
  network: boolean;
  /** Directories the plugin may write (its state directory). */
  writeDirs: readonly string[];
  limits?: AppliedLimits;
  /** Child descriptor number the launcher reports its layers on. */
  statusFd: number;
  /** Where a bundled launcher is unpacked (<runtime_dir>/native). */
  nativeDir?: string;
}

/** What `logloom status` shows per plugin process under `sandbox`. */
export interface SandboxLayers {
  launcher: string;
  user?: string;
  no_new_privs?: boolean;
  seccomp?: string;
  landlock?: string;
  mount_ns?: string;
  net_ns?: string;
}

export interface LaunchCommand {
  command: string;
  args: string[];
  /** Set when the launcher is not available: why, for status. */
  unavailable?: string;
}

/** The command line that starts `spec.program` confined. */
export function launchCommand(spec: LaunchSpec): LaunchCommand {
  let launcher: string;
  try {
    launcher = nativeFile(LAUNCHER_ASSET, true, spec.nativeDir);
  } catch (e) {
    return { ...shellStandIn(spec), unavailable: `unavailable: ${(e as Error).message}` };
  }
  const a: string[] = [];
  if (spec.user) a.push('--uid', String(spec.user.uid), '--gid', String(spec.user.gid), '--user', spec.user.name);
  for (const f of spec.limits?.procsFiles ?? []) a.push('--cgroup-procs', f);
  const r = spec.limits?.rlimits;
  if (r?.memory_max) a.push('--rlimit-as', String(r.memory_max));
  if (r?.pids_max) a.push('--rlimit-nproc', String(r.pids_max));
  for (const d of spec.writeDirs) a.push('--write', d);
  if (spec.network) a.push('--network');
  a.push('--status-fd', String(spec.statusFd), '--', spec.program, ...spec.args);
  return { command: launcher, args: a };
}

/** Without the launcher: join the cgroups and set rlimits in sh, then exec. */
function shellStandIn(spec: LaunchSpec): LaunchCommand {
  const r = spec.limits?.rlimits;
  const script = [
    ...(spec.limits?.procsFiles ?? []).map((_, i) => `echo $$ > "$${i + 1}" || exit ${LAUNCH_EXIT.cgroup}`),
    r?.memory_max ? `ulimit -v ${Math.floor(r.memory_max / 1024)} || exit ${LAUNCH_EXIT.cgroup}` : '',
    r?.pids_max ? `ulimit -u ${r.pids_max} || exit ${LAUNCH_EXIT.cgroup}` : '',
    `shift ${spec.limits?.procsFiles.length ?? 0}`,
    'exec "$@"',
  ].filter(Boolean).join('; ');
  return { command: '/bin/sh', args: ['-c', script, 'logloom-plugin', ...(spec.limits?.procsFiles ?? []), spec.program, ...spec.args] };
}

/**
 * Creates the plugin's state directory (its only writable place) and gives it to the plugin user.
 * In a user namespace that maps only root, that user does not exist (EINVAL): the directory stays
 * root's, as the launcher then stays root of that namespace too (and says so in its status).
 */
export function prepareStateDir(dir: string, user: UserIds | undefined): void {
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  if (!user) return;
  try {
    chownSync(dir, user.uid, user.gid);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
  }
}

/** Reads the launcher's one status line; resolves at its end (or the pipe's), never rejects. */
export function readLayers(stream: Readable | null | undefined, unavailable?: string): Promise<SandboxLayers> {
  if (unavailable || !stream) {
    stream?.resume();
    return Promise.resolve({ launcher: unavailable ?? 'unavailable: no status descriptor' });
  }
  return new Promise((resolve) => {
    let text = '';
    const done = () => {
      stream.off('data', onData);
      stream.destroy();
      const line = text.split('\n')[0]!;
      try {
        const j = JSON.parse(line) as Record<string, unknown>;
        resolve({
          launcher: 'applied', user: String(j.user ?? ''), no_new_privs: j.no_new_privs === true, seccomp: String(j.seccomp ?? ''),
          landlock: String(j.landlock ?? ''), mount_ns: String(j.mount_ns ?? ''), net_ns: String(j.net_ns ?? ''),
        });
      } catch {
        resolve({ launcher: line ? `failed: unexpected status ${JSON.stringify(line.slice(0, 200))}` : 'failed: exited before reporting' });
      }
    };
    const onData = (d: Buffer) => {
      text += d.toString('utf8');
      if (text.includes('\n') || text.length > 4096) done();
    };
    stream.on('data', onData);
    stream.once('end', done);
    stream.once('error', done);
    stream.once('close', done);
  });
}

/** The exit reason for the launcher's own codes; undefined for the plugin's. */
export function launchExitReason(code: number | null): string | undefined {
  if (code === LAUNCH_EXIT.cgroup) return 'could not join its cgroup or set its limits';
  if (code === LAUNCH_EXIT.setup) return 'the sandbox launcher refused to start it (see the log for why)';
  return undefined;
}
