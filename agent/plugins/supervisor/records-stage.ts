/**
 * What the filter and sink stages share on top of the core: the records path. A host that can
 * read entry records (C plugins, process plugins, the static plugins that have
 * filterRecords/flushRecords) gets the batch's records as they are; any other gets the batch's
 * entries, decoded once for every stage that needs them.
 */
import type { FilterHost, SinkHost } from '../host.ts';
import { SupervisorCore } from './core.ts';

export abstract class RecordsStageSupervisor<H extends FilterHost | SinkHost> extends SupervisorCore<H> {
  /** Whether the host reads records now: it can, and no chain trace wants the entries as objects. */
  protected readsRecords(): boolean {
    return this.host.takesRecords() === true && !this.opts.tracer?.enabled;
  }

  /** Adds `takesRecords` (readsRecords, read when asked), for the agent's log. */
  protected withRecords<T extends object>(stage: T): T & { readonly takesRecords: boolean } {
    return Object.defineProperty(stage, 'takesRecords', {
      get: () => this.readsRecords(),
      enumerable: true,
    }) as T & { readonly takesRecords: boolean };
  }
}
