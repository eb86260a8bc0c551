/**
 * Chooses the ring and codec implementation from `buffer.native: auto|on|off`.
 * auto: the addon when it loads, else the JS fallback with one log line saying why;
 * on: the addon or a startup error; off: JS.
 */
import { loadAddon, NativeUnavailableError } from '../../lib/native-runtime.ts';
import { JsRing } from './js-ring.ts';
import { JsLineCodec, type CodecOptions, type LineCodec } from './line-codec.ts';
import { NativeLineCodec } from './native-codec.ts';
import { NativeRing } from './native-ring.ts';
import { createRingMemory } from './ring-layout.ts';
import type { Ring } from './ring.ts';

export type NativeMode = 'auto' | 'on' | 'off';

let saidFallback = false;

/** Whether to use the addon; under auto, logs the fallback once per process. */
export function useNative(mode: NativeMode, log: (msg: string) => void = (m) => process.stderr.write(`[INFO] ${m}\n`), runtimeDir?: string): boolean {
  if (mode === 'off') return false;
  try {
    loadAddon(runtimeDir);
    return true;
  } catch (e) {
    if (mode === 'on') throw new NativeUnavailableError('buffer.native: on', (e as Error).message);
    if (!saidFallback) {
      saidFallback = true;
      log(`native buffer unavailable, using the JS implementation (${(e as Error).message})`);
    }
    return false;
  }
}

/** `runtimeDir`: where a bundled addon is unpacked (<runtime_dir>/native). */
export function createRing(capacityBytes: number, mode: NativeMode, log?: (msg: string) => void, runtimeDir?: string): Ring {
  const mem = createRingMemory(capacityBytes);
  return useNative(mode, log, runtimeDir) ? new NativeRing(mem) : new JsRing(mem);
}

/** A ring over memory created elsewhere (e.g. received by a worker thread). */
export function attachRing(shared: SharedArrayBuffer, impl: 'native' | 'js'): Ring {
  return impl === 'native' ? new NativeRing(shared) : new JsRing(shared);
}

export function createCodec(options: CodecOptions, mode: NativeMode, log?: (msg: string) => void): LineCodec {
  return useNative(mode, log) ? new NativeLineCodec(options) : new JsLineCodec(options);
}
