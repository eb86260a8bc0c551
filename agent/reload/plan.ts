/**
 * What a configuration reload changes, worked out from the running and the new configuration
 * before anything is touched: which inputs to start, stop or restart (by name), whether the
 * routes change, which plugins to enable or disable, and which changed keys only take effect at
 * the next restart (they keep their running values). Pure: agent/reload/apply.ts carries it out.
 */
import { isDeepStrictEqual } from 'node:util';
import type { AgentConfig, InputConfig } from '../config/agent-schema.ts';
import { inputNames } from '../inputs/names.ts';

export interface ReloadPlan {
  /** Inputs by name: in the new configuration only, in the old only, in both but different. */
  addInputs: { name: string; config: InputConfig }[];
  removeInputs: string[];
  changeInputs: { name: string; config: InputConfig }[];
  routes: boolean;
  enablePlugins: string[];
  disablePlugins: string[];
  language: boolean;
  /** Dotted keys that changed but are applied only by a restart. */
  restartNeeded: string[];
}

/** Top-level keys a reload applies (everything else waits for a restart). */
const LIVE_KEYS = new Set(['inputs', 'routes', 'labels', 'plugins', 'language']);
/** Plugin keys a reload applies: which plugins run. Their configs and limits are read at their start. */
const LIVE_PLUGIN_KEYS = new Set(['enabled']);

export function planReload(old: AgentConfig, next: AgentConfig): ReloadPlan {
  const plan: ReloadPlan = { addInputs: [], removeInputs: [], changeInputs: [], routes: false, enablePlugins: [], disablePlugins: [], language: false, restartNeeded: [] };
  const oldNames = inputNames(old.inputs);
  const newNames = inputNames(next.inputs);
  const labelsChanged = !isDeepStrictEqual(old.labels, next.labels);
  newNames.forEach((name, i) => {
    const j = oldNames.indexOf(name);
    const config = next.inputs[i]!;
    if (j === -1) plan.addInputs.push({ name, config });
    // Global labels are stamped by each input's stage: a change restarts every input.
    else if (labelsChanged || !isDeepStrictEqual(old.inputs[j], config)) plan.changeInputs.push({ name, config });
  });
  for (const name of oldNames) if (!newNames.includes(name)) plan.removeInputs.push(name);
  plan.routes = !isDeepStrictEqual(old.routes, next.routes);
  plan.enablePlugins = next.plugins.enabled.filter((p) => !old.plugins.enabled.includes(p));
  plan.disablePlugins = old.plugins.enabled.filter((p) => !next.plugins.enabled.includes(p));
  plan.language = old.language !== next.language;
  for (const key of Object.keys(next) as (keyof AgentConfig)[]) {
    if (LIVE_KEYS.has(key) || isDeepStrictEqual(old[key], next[key])) continue;
    plan.restartNeeded.push(key);
  }
  for (const key of Object.keys(next.plugins) as (keyof AgentConfig['plugins'])[]) {
    if (LIVE_PLUGIN_KEYS.has(key) || isDeepStrictEqual(old.plugins[key], next.plugins[key])) continue;
    if (key === 'config' || key === 'limits') {
      // Only the plugins whose own block changed, and only if they keep running.
      const a = old.plugins[key] as Record<string, unknown>;
      const b = next.plugins[key] as Record<string, unknown>;
      for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (!isDeepStrictEqual(a[name], b[name]) && old.plugins.enabled.includes(name) && next.plugins.enabled.includes(name)) plan.restartNeeded.push(`plugins.${key}.${name}`);
      }
    } else plan.restartNeeded.push(`plugins.${key}`);
  }
  // A filter added while others run joins the end of the chain: a different order needs a restart.
  const kept = next.plugins.enabled.filter((p) => old.plugins.enabled.includes(p));
  const oldOrder = old.plugins.enabled.filter((p) => kept.includes(p));
  if (!isDeepStrictEqual(kept, oldOrder)) plan.restartNeeded.push('plugins.enabled (order)');
  return plan;
}

/** One line for the log and the reload command: what the plan does. */
export function describePlan(p: ReloadPlan): string {
  const parts: string[] = [];
  if (p.addInputs.length) parts.push(`inputs added: ${p.addInputs.map((i) => i.name).join(', ')}`);
  if (p.changeInputs.length) parts.push(`inputs restarted: ${p.changeInputs.map((i) => i.name).join(', ')}`);
  if (p.removeInputs.length) parts.push(`inputs removed: ${p.removeInputs.join(', ')}`);
  if (p.routes) parts.push('routes replaced');
  if (p.enablePlugins.length) parts.push(`plugins enabled: ${p.enablePlugins.join(', ')}`);
  if (p.disablePlugins.length) parts.push(`plugins disabled: ${p.disablePlugins.join(', ')}`);
  if (p.language) parts.push('language');
  if (p.restartNeeded.length) parts.push(`kept until a restart: ${p.restartNeeded.join(', ')}`);
  return parts.length ? parts.join('; ') : 'no change';
}
