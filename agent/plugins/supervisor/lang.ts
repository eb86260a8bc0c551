/**
 * The lang stage: a template resolver for the message catalogue (lib/i18n/catalogue.ts). Lookups
 * are synchronous (rendering cannot wait), so there is no timeout to apply; a failed or malformed
 * answer is counted like any failed call and answered as "no template", so the catalogue falls
 * back to its own text and rendering never breaks on a plugin.
 */
import type { TemplateResolver } from '../../../lib/i18n/catalogue.ts';
import { PluginCallError, type HostedPlugin, type LangHost } from '../host.ts';
import { SupervisorCore } from './core.ts';

export class LangSupervisor extends SupervisorCore<LangHost> {
  readonly type = 'lang' as const;

  protected accepts(host: HostedPlugin): host is LangHost {
    return host.type === 'lang';
  }

  /** A catalogue resolver: errors are counted and answered as "no template". */
  resolver(): TemplateResolver {
    return (key, lang) => {
      if (!this.enabled || this.state !== 'running') return null;
      try {
        const t = this.host.resolve(key, lang);
        if (t !== null && typeof t !== 'string') throw new PluginCallError('malformed answer (expected a string or null)');
        return t;
      } catch (e) {
        this.failed(e);
        return null;
      }
    };
  }
}
