/**
 * `logloom reload` / SIGHUP: re-reads the configuration, validates it (schema, cross-checks, label
 * files), and on any problem keeps running the old configuration and says why. Otherwise it
 * carries out the plan (plan.ts) in an order that loses no accepted entry:
 *   1. inputs removed or changed stop (what they accepted stays queued and is delivered);
 *   2. plugins no longer enabled stop taking entries: a sink is detached, its queue flushed, then
 *      disabled; a filter is disabled;
 *   3. plugins newly enabled start (a filter joins the end of the chain);
 *   4. the routes are replaced (between two pipeline steps: an entry is routed by one set or the
 *      other, never half);
 *   5. inputs added or changed start with the new configuration (a changed one that cannot start
 *      is started again with its old configuration, and the failure reported).
 * Reloads run one at a time.
 */
import type { AgentConfig, InputConfig } from '../config/agent-schema.ts';
import { parseConfig, resolveConfigSource } from '../config/load.ts';
import { formatIssue } from '../../lib/schema/validate.ts';
import type { AgentLog } from '../../lib/log.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import { Router } from '../pipeline/routes/router.ts';
import type { PluginRegistry } from '../plugins/registry.ts';
import type { Input } from '../inputs/input.ts';
import { describePlan, planReload } from './plan.ts';

export interface ReloadTarget {
  config: AgentConfig;
  readonly log: AgentLog;
  readonly pipeline: Pipeline;
  readonly plugins: PluginRegistry;
  readonly catalogue: { setLanguage(lang: string): string };
  readonly inputs: { name: string; type: string; input: Input }[];
  startInput(cfg: InputConfig, name: string): Promise<void>;
  /** Forget the resolved global labels (they are resolved again for inputs started next). */
  resetLabels(): void;
}

export type ReloadOutcome =
  | { ok: true; file: string; summary: string; restart_needed: string[]; errors: string[] }
  | { ok: false; file: string; error: string };

const SINK_FLUSH_MS = 10_000;
const IDLE_WAIT_MS = 5_000;

/** Resolves when nothing is buffered or queued in a sink, or after ms (a sink may be down). */
async function pipelineIdle(p: Pipeline, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && (p.buffer.length > 0 || p.sinks.some((s) => s.queued > 0))) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function reloadAgent(t: ReloadTarget, explicitPath: string | undefined): Promise<ReloadOutcome> {
  let source;
  try {
    source = resolveConfigSource(explicitPath);
  } catch (e) {
    return refuse(t, explicitPath ?? '(configuration)', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const { config: next, issues } = parseConfig(source);
  if (!next) return refuse(t, source.file, issues.map(formatIssue).join('\n'));
  const plan = planReload(t.config, next);
  const summary = describePlan(plan);
  t.log.info(`reload ${source.file}: ${summary}`);
  const errors: string[] = [];
  const old = t.config;

  // 1. Stop inputs that go away or change.
  for (const name of [...plan.removeInputs, ...plan.changeInputs.map((c) => c.name)]) {
    const i = t.inputs.findIndex((x) => x.name === name);
    if (i === -1) continue;
    const running = t.inputs[i]!;
    await running.input.stop().catch((e: Error) => errors.push(`input ${name}: stop: ${e.message}`));
    t.inputs.splice(i, 1);
  }
  // 2. Plugins no longer enabled.
  for (const name of plan.disablePlugins) {
    const runner = t.pipeline.sinks.find((s) => s.stage.name === name);
    if (runner) {
      t.pipeline.sinks.splice(t.pipeline.sinks.indexOf(runner), 1);
      await runner.flushAll(Date.now() + SINK_FLUSH_MS);
      if (runner.queued > 0) errors.push(`sink ${name}: ${runner.queued} entries still queued after ${SINK_FLUSH_MS} ms; they stay queued in it`);
    }
    t.plugins.setEnabled(name, false);
  }
  // The new configuration from here on (only what a reload applies; the rest keeps its running value).
  t.config = {
    ...old,
    inputs: next.inputs,
    routes: next.routes,
    labels: next.labels,
    language: next.language,
    plugins: { ...old.plugins, enabled: next.plugins.enabled, config: { ...old.plugins.config, ...pick(next.plugins.config, plan.enablePlugins) } },
  };
  // 3. Plugins newly enabled.
  for (const name of plan.enablePlugins) {
    try {
      if (!(await t.plugins.enable(name))) errors.push(`plugin ${name}: not found (plugins.dirs, or not compiled in)`);
    } catch (e) {
      errors.push(`plugin ${name}: ${(e as Error).message}`);
    }
  }
  if (plan.enablePlugins.length) t.pipeline.router?.attach(t.pipeline.filters, t.pipeline.sinks);
  // 4. Routes.
  if (plan.routes) {
    const router = next.routes.length ? new Router(next.routes) : undefined;
    for (const p of router?.attach(t.pipeline.filters, t.pipeline.sinks) ?? []) errors.push(p);
    t.pipeline.router = router;
  }
  if (plan.language) t.catalogue.setLanguage(next.language);
  // 5. Inputs added or changed. A restarted input resumes from its committed position: let what
  // its old instance accepted finish first (bounded), so that little is read twice.
  if (plan.changeInputs.length) {
    t.resetLabels();
    await pipelineIdle(t.pipeline, IDLE_WAIT_MS);
  }
  for (const { name, config } of [...plan.changeInputs, ...plan.addInputs]) {
    try {
      await t.startInput(config, name);
    } catch (e) {
      errors.push(`input ${name}: ${(e as Error).message}`);
      const before = old.inputs.find((_, i) => inputNameAt(old, i) === name);
      if (before) {
        // Keep what ran before rather than nothing.
        await t.startInput(before, name).catch((e2: Error) => errors.push(`input ${name}: the old configuration did not start again either: ${e2.message}`));
      }
    }
  }
  for (const e of errors) t.log.warn(`reload: ${e}`);
  if (plan.restartNeeded.length) t.log.warn(`reload: changed but applied only at the next restart: ${plan.restartNeeded.join(', ')}`);
  return { ok: true, file: source.file, summary, restart_needed: plan.restartNeeded, errors };
}

function refuse(t: ReloadTarget, file: string, why: string): ReloadOutcome {
  t.log.error(`reload refused, still running the previous configuration: ${file}: ${why}`);
  return { ok: false, file, error: why };
}

function pick(o: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k]]));
}

function inputNameAt(c: AgentConfig, i: number): string {
  const counts = new Map<string, number>();
  let name = '';
  c.inputs.slice(0, i + 1).forEach((x) => {
    const n = (counts.get(x.type) ?? 0) + 1;
    counts.set(x.type, n);
    name = x.name ?? (n === 1 ? x.type : `${x.type}${n}`);
  });
  return name;
}
