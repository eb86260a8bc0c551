/**
 * The plugin supervisor: wraps any hosted plugin, whatever its kind (static, python, socket,
 * native), into the pipeline stage of its type. One class per type over one shared core:
 *
 *   core.ts           start/stop/swap, run state, counters, the error line, marking failed and
 *                     restarting with backoff (lib/backoff.ts), status
 *   records-stage.ts  the records path filters and sinks share
 *   filter.ts         verdicts, fail-open (on_error), replacement copies (replacement.ts)
 *   sink.ts           flushes that reject so the SinkRunner keeps the batch
 *   ai.ts             the bounded analysis queue and its counted drops
 *   lang.ts           the catalogue resolver
 *
 * A new plugin type is a new host interface in ../host.ts (a member of HostedPlugin), a class
 * here over SupervisorCore, a case in `supervise`, and the registry hooking its stage in.
 */
import { PluginLoadError, type HostedPlugin } from '../host.ts';
import type { DiscoveredPlugin } from '../discovered.ts';
import type { SupervisorOptions } from './core.ts';
import { FilterSupervisor } from './filter.ts';
import { SinkSupervisor } from './sink.ts';
import { AiSupervisor } from './ai.ts';
import { LangSupervisor } from './lang.ts';

export type { SupervisedState, SupervisorOptions } from './core.ts';
export { FilterSupervisor, SinkSupervisor, AiSupervisor, LangSupervisor };

/** A supervised plugin, told apart by `type` like the host it wraps. */
export type Supervisor = FilterSupervisor | SinkSupervisor | AiSupervisor | LangSupervisor;

/** The supervisor of the host's type. Nothing starts until `start()`. */
export function supervise(plugin: DiscoveredPlugin, host: HostedPlugin, opts: SupervisorOptions): Supervisor {
  switch (host.type) {
    case 'filter':
      return new FilterSupervisor(plugin, host, opts);
    case 'sink':
      return new SinkSupervisor(plugin, host, opts);
    case 'ai':
      return new AiSupervisor(plugin, host, opts);
    case 'lang':
      return new LangSupervisor(plugin, host, opts);
    default:
      // Discovery and the manifest schema admit only the four types; a host typed otherwise
      // (a hand-built static module) is refused like any plugin that cannot be loaded.
      throw new PluginLoadError(plugin.origin, `unknown plugin type "${String((host as { type: unknown }).type)}"`);
  }
}
