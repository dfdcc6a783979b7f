/**
 * Release plans as a state machine persisted in the database:
 *
 *   draft ──start──▶ running(milestone i) ──advance──▶ running(i+1) … ──▶ completed
 *                      │   ▲                                   (applying the last milestone)
 *                 pause│   │resume
 *                      ▼   │
 *                     paused ──advance──▶ running(i+1)
 *   running | paused ──rollback──▶ rolled-back
 *
 * Every transition is ONE `services.changes.write` transaction that compare-and-sets the plan row
 * on its `version` (`UPDATE … WHERE id = ? AND version = ?`), writes the milestone's strategies
 * to the flag in the plan's environment (when they change), records the decision with its
 * evidence and the audit events, and bumps the environment's revision, which pushes the new
 * configuration to SDKs over the stream. A transition computed from a stale read (another
 * replica, a concurrent request, a crash and restart) finds a different version and never lands,
 * so no step happens twice.
 */
import { randomUUID } from 'node:crypto';
import type { Services } from '../services.js';
import type { ChangeEvent, ChangeRecorder } from '../events/changes.js';
import { Problem, badRequest, conflict, notFound } from '../http/problem.js';
import { parseJson, strategyView } from '../flags/store.js';
import { initialState, nextMilestone, type GuardianState } from './guardian/index.js';
import { emptyTotals, guardianConfig, type AlertAction, type FlagEnvConfig, type HealthGate, type MilestoneTotals, type PlanSpec, type PlanState, type ResolvedStrategy, type RollbackTo, type TemplateSpec } from './model.js';
import {
  decisionView,
  planView,
  releaseDb,
  type DecisionAction,
  type DecisionEvidence,
  type DecisionSource,
  type DecisionSummary,
  type DecisionView,
  type PlanRow,
  type PlanView,
  type ReleasePlansTable,
  type ReleaseTrx,
} from './store.js';
import { resolvePlanSpec, TemplateService } from './templates.js';
import type { ReleaseFeed } from './feed.js';

export interface CreatePlanInput {
  flag: string;
  environment: string;
  /** A template id (built-in "canary", "rings", or a user template)… */
  template?: string;
  /** …or milestones given inline. */
  milestones?: TemplateSpec['milestones'];
  rollback?: RollbackTo;
  onAlert?: AlertAction;
  bakeMs?: number;
  gate?: HealthGate;
  cohorts?: { canary?: string; control?: string };
  segments?: Record<string, number | string>;
  /** Start at once (one more transaction after the creation). */
  start?: boolean;
}

export interface PlanFilter {
  flag?: string;
  environment?: string;
  project?: string;
  state?: PlanState[];
  limit?: number;
  offset?: number;
}

export interface TransitionOptions {
  /** Only if the plan is still at this step (idempotent retries: the same request twice applies once). */
  expectedStep?: number;
  reason?: string;
}

/** A decision to record with a transition (or alone, for a guardian check that changes nothing). */
export interface DecisionInput {
  source: DecisionSource;
  decision: string;
  action: DecisionAction;
  summary: string;
  evidence: DecisionEvidence;
}

/** What a transition writes: plan columns, optionally the flag's configuration, events, and a decision. */
export interface Transition {
  set: Partial<Omit<ReleasePlansTable, 'id' | 'version' | 'created_at' | 'created_by'>>;
  apply?: FlagEnvConfig;
  events: Array<Omit<ChangeEvent, 'project' | 'environment' | 'flag'>>;
  decision?: DecisionInput;
}

/** The plan row was written by someone else since it was read; the caller re-reads (or gives up). */
export class StaleVersion extends Error {
  constructor(readonly planId: string) {
    super(`release plan ${planId} changed concurrently`);
  }
}

const now = () => new Date().toISOString();
/** Flag and environment names cannot contain "/" (they travel in URL paths), so this key is unambiguous. */
const activeKey = (flag: string, env: string) => `${env}/${flag}`;

/** The guardian state for milestone `i`: evidence carried over from `prev` when the gates are compatible, else fresh. */
export function milestoneGuardian(spec: PlanSpec, i: number, prev: GuardianState | null, startedAt: number, baseline: number[] | null): GuardianState {
  const config = guardianConfig(spec.milestones[i]);
  if (prev && !prev.rolledBack) {
    try {
      return nextMilestone(prev, config, { startedAt, baseline });
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
    }
  }
  return initialState(config, { startedAt, baseline });
}

export function summaryOf(id: number, at: string, d: DecisionInput & { e: number | null; threshold: number | null }): DecisionSummary {
  const g = d.evidence.guardian;
  return {
    id,
    at,
    source: d.source,
    decision: d.decision,
    action: d.action,
    summary: d.summary,
    e: d.e,
    threshold: d.threshold,
    metrics: g ? g.metrics.map((m) => ({ id: m.id, e: m.e, log10E: m.log10E, thresholdMs: m.thresholdMs })) : [],
    traffic: g?.traffic ?? null,
    srm: g?.srm ?? null,
  };
}

/** The flag's configuration in an environment, as a transition compares and writes it. */
export async function readFlagEnv(trx: ReleaseTrx, flag: string, env: string): Promise<FlagEnvConfig> {
  const fe = await trx.selectFrom('flag_environments').select('enabled').where('flag', '=', flag).where('environment', '=', env).executeTakeFirst();
  const rows = await trx.selectFrom('strategies').selectAll().where('flag', '=', flag).where('environment', '=', env).orderBy('sort_order').orderBy('id').execute();
  return {
    enabled: !!fe?.enabled,
    strategies: rows.map((r) => {
      const { id: _id, sortOrder: _s, ...rest } = strategyView(r);
      return rest;
    }),
  };
}

const canonical = (c: FlagEnvConfig) =>
  JSON.stringify({
    enabled: c.enabled,
    strategies: c.strategies.map((s) => ({ n: s.name, t: s.title ?? null, d: !!s.disabled, p: s.parameters, c: s.constraints, s: s.segments, v: s.variants })),
  });

export class ReleaseService {
  readonly templates: TemplateService;
  /** Called after every committed change of a plan in `environment` (the routes plugin tells signals' guards). */
  onChange: (environment: string) => void = () => {};

  constructor(
    private readonly services: Services,
    private readonly feed: ReleaseFeed,
  ) {
    this.templates = new TemplateService(services);
  }

  private get db() {
    return releaseDb(this.services.storage.db);
  }

  async list(filter: PlanFilter = {}): Promise<{ plans: PlanView[]; total: number }> {
    const base = this.db
      .selectFrom('release_plans')
      .$if(filter.flag !== undefined, (q) => q.where('flag', '=', filter.flag!))
      .$if(filter.environment !== undefined, (q) => q.where('environment', '=', filter.environment!))
      .$if(filter.project !== undefined, (q) => q.where('project', '=', filter.project!))
      .$if(!!filter.state?.length, (q) => q.where('state', 'in', filter.state!));
    const [rows, count] = await Promise.all([
      base
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id')
        .limit(filter.limit ?? 100)
        .offset(filter.offset ?? 0)
        .execute(),
      base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { plans: rows.map(planView), total: Number(count.n) };
  }

  async row(id: string): Promise<PlanRow> {
    const row = await this.db.selectFrom('release_plans').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`No release plan "${id}" (GET /api/admin/releases lists them).`);
    return row;
  }

  async get(id: string): Promise<PlanView> {
    return planView(await this.row(id));
  }

  async decisions(id: string, q: { limit?: number; offset?: number; source?: DecisionSource; acted?: boolean } = {}): Promise<{ decisions: DecisionView[]; total: number }> {
    await this.row(id);
    let base = this.db.selectFrom('release_decisions').where('plan_id', '=', id);
    if (q.source) base = base.where('source', '=', q.source);
    if (q.acted) base = base.where('action', 'not in', ['none', 'wait']);
    const [rows, count] = await Promise.all([
      base
        .selectAll()
        .orderBy('id', 'desc')
        .limit(q.limit ?? 100)
        .offset(q.offset ?? 0)
        .execute(),
      base.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { decisions: rows.map(decisionView), total: Number(count.n) };
  }

  async create(actor: string, input: CreatePlanInput): Promise<PlanView> {
    if (!input.template === !input.milestones) throw badRequest('Give either "template" (a template id, e.g. "canary") or "milestones", not both and not neither.');
    const id = randomUUID();
    await this.services.changes.write(actor, async (rawTrx, change) => {
      const trx = releaseDb(rawTrx);
      const flag = await trx.selectFrom('flags').select(['name', 'project', 'archived_at']).where('name', '=', input.flag).executeTakeFirst();
      if (!flag) throw notFound(`No flag named "${input.flag}".`);
      if (flag.archived_at !== null) throw conflict(`Flag "${input.flag}" is archived; revive it before releasing it.`);
      const env = await trx.selectFrom('environments').select('name').where('name', '=', input.environment).executeTakeFirst();
      if (!env) throw notFound(`No environment named "${input.environment}"; create it first (POST /api/admin/environments).`);
      const existing = await trx.selectFrom('release_plans').select(['id', 'state']).where('active_key', '=', activeKey(input.flag, input.environment)).executeTakeFirst();
      if (existing) {
        throw conflict(
          `Flag "${input.flag}" already has a ${existing.state} release plan in "${input.environment}" (${existing.id}); finish or roll it back first (one active plan per flag and environment).`,
        );
      }
      const template: TemplateSpec = input.template ? await this.templates.get(input.template, rawTrx) : { milestones: input.milestones! };
      const spec = await resolvePlanSpec(trx, template, {
        flag: input.flag,
        project: flag.project,
        bakeMs: input.bakeMs,
        gate: input.gate,
        rollback: input.rollback,
        onAlert: input.onAlert,
        cohorts: input.cohorts,
        segments: input.segments,
      });
      const ts = now();
      await trx
        .insertInto('release_plans')
        .values({
          id,
          flag: input.flag,
          environment: input.environment,
          project: flag.project,
          template: input.template ?? null,
          spec: JSON.stringify(spec),
          state: 'draft',
          milestone: -1,
          step: 0,
          version: 0,
          active_key: activeKey(input.flag, input.environment),
          reason: null,
          before_config: null,
          guardian: null,
          cohort_totals: null,
          baseline: null,
          cursor: null,
          last_decision: null,
          milestone_started_at: null,
          started_at: null,
          ended_at: null,
          created_by: actor,
          created_at: ts,
          updated_at: ts,
        })
        .execute()
        .catch((err: { code?: string }) => {
          if (err?.code === '23505' || String(err?.code).startsWith('SQLITE_CONSTRAINT')) {
            throw conflict(`Flag "${input.flag}" already has an active release plan in "${input.environment}" (one per flag and environment).`);
          }
          throw err;
        });
      change.event({
        type: 'release-plan-created',
        project: flag.project,
        environment: input.environment,
        flag: input.flag,
        after: { planId: id, template: input.template ?? null, milestones: spec.milestones.map((m) => m.name), rollback: spec.rollback },
      });
    });
    this.feed.notify(id);
    if (input.start) return this.start(actor, id);
    return this.get(id);
  }

  /** Deletes a draft (plans that ran are history and stay). */
  async delete(actor: string, id: string): Promise<void> {
    await this.services.changes.write(actor, async (rawTrx, change) => {
      const trx = releaseDb(rawTrx);
      const row = await trx.selectFrom('release_plans').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound(`No release plan "${id}".`);
      if (row.state !== 'draft') throw conflict(`Release plan ${id} is ${row.state}; only drafts can be deleted (plans that ran are kept as history).`);
      await trx.deleteFrom('release_plans').where('id', '=', id).execute();
      change.event({ type: 'release-plan-deleted', project: row.project, environment: row.environment, flag: row.flag, before: { planId: id } });
    });
    this.feed.notify(id);
  }

  start(actor: string, id: string, o: TransitionOptions = {}): Promise<PlanView> {
    return this.transition(id, actor, o, async (plan, trx) => {
      if (plan.state !== 'draft') throw illegal(plan, 'start', 'only a draft can be started');
      const spec = specOf(plan);
      const before = await readFlagEnv(trx, plan.flag, plan.environment);
      const t = Date.now();
      const ts = new Date(t).toISOString();
      const last = spec.milestones.length === 1;
      const target: FlagEnvConfig = { enabled: true, strategies: spec.milestones[0].strategies };
      const set: Transition['set'] = {
        state: last ? 'completed' : 'running',
        milestone: 0,
        step: plan.step + 1,
        reason: o.reason ?? null,
        before_config: JSON.stringify(before),
        guardian: last ? null : JSON.stringify(milestoneGuardian(spec, 0, null, t, null)),
        cohort_totals: JSON.stringify(emptyTotals()),
        baseline: null,
        cursor: null,
        milestone_started_at: ts,
        started_at: ts,
      };
      const events: Transition['events'] = [{ type: 'release-started', before, after: { ...planEvent(plan, spec, 0), startedAt: ts, strategies: target.strategies } }];
      if (last) {
        Object.assign(set, { active_key: null, ended_at: ts, reason: 'the plan has a single milestone: applied and completed' });
        events.push({ type: 'release-completed', after: { ...planEvent(plan, spec, 0), startedAt: ts } });
      }
      return {
        set,
        apply: target,
        events,
        decision: manualDecision('start', 'start', `started at milestone 1/${spec.milestones.length} ("${spec.milestones[0].name}")${o.reason ? `: ${o.reason}` : ''}`),
      };
    });
  }

  pause(actor: string, id: string, o: TransitionOptions = {}): Promise<PlanView> {
    return this.transition(id, actor, o, async (plan) => pauseTransition(plan, o.reason ?? `paused by ${actor}`, manualDecision('pause', 'pause', o.reason ?? `paused by ${actor}`)));
  }

  resume(actor: string, id: string, o: TransitionOptions = {}): Promise<PlanView> {
    return this.transition(id, actor, o, async (plan) => {
      if (plan.state !== 'paused') throw illegal(plan, 'resume', 'only a paused plan can be resumed');
      const spec = specOf(plan);
      const i = plan.milestone;
      const t = Date.now();
      const prev = parseJson<GuardianState | null>(plan.guardian, null);
      const baseline = parseJson<number[] | null>(plan.baseline, null);
      return {
        set: {
          state: 'running',
          step: plan.step + 1,
          reason: o.reason ?? null,
          // The gate starts over (bake time, minimum traffic, SRM), the e-values carry on.
          guardian: JSON.stringify(milestoneGuardian(spec, i, prev, t, baseline)),
          cohort_totals: JSON.stringify(emptyTotals()),
          milestone_started_at: new Date(t).toISOString(),
        },
        // Re-applied in case someone edited the flag while the plan was paused (no-op otherwise).
        apply: { enabled: true, strategies: spec.milestones[i].strategies },
        events: [{ type: 'release-resumed', after: { ...planEvent(plan, spec, i), reason: o.reason ?? null } }],
        decision: manualDecision('resume', 'resume', o.reason ?? `resumed by ${actor}`),
      };
    });
  }

  advance(actor: string, id: string, o: TransitionOptions = {}): Promise<PlanView> {
    return this.transition(id, actor, o, async (plan) =>
      advanceTransition(plan, Date.now(), o.reason ?? `advanced by ${actor}`, manualDecision('advance', 'advance', o.reason ?? `advanced by ${actor}`)),
    );
  }

  rollback(actor: string, id: string, o: TransitionOptions = {}): Promise<PlanView> {
    return this.transition(id, actor, o, async (plan) => {
      const reason = o.reason ?? `rolled back by ${actor}`;
      return rollbackTransition(plan, reason, manualDecision('rollback', 'rollback', reason));
    });
  }

  /**
   * Runs one transition of a plan in one `changes.write` transaction, compare-and-set on the
   * plan's version. With `expectVersion` (the guardian runner, which decided from that version)
   * a concurrent write makes it throw StaleVersion; without, the transition is recomputed from a
   * fresh read (a person's request lands unless it became illegal meanwhile).
   */
  async transition(
    id: string,
    actor: string,
    o: TransitionOptions & { expectVersion?: number },
    build: (plan: PlanRow, trx: ReleaseTrx) => Promise<Transition>,
  ): Promise<PlanView> {
    for (let attempt = 0; ; attempt++) {
      try {
        const view = await this.services.changes.write(actor, async (rawTrx, change) => {
          const trx = releaseDb(rawTrx);
          const plan = await trx.selectFrom('release_plans').selectAll().where('id', '=', id).executeTakeFirst();
          if (!plan) throw notFound(`No release plan "${id}".`);
          if (o.expectVersion !== undefined && Number(plan.version) !== o.expectVersion) throw new StaleVersion(id);
          if (o.expectedStep !== undefined && Number(plan.step) !== o.expectedStep) {
            throw new Problem(409, 'Conflict', `Release plan ${id} is at step ${plan.step}, not ${o.expectedStep}: that step already happened (or another did); read the plan and decide again.`, {
              plan: planView(plan),
            });
          }
          const t = await build(normalize(plan), trx);
          return this.commit(trx, change, normalize(plan), t);
        });
        this.feed.notify(id);
        this.onChange(view.environment);
        return view;
      } catch (err) {
        if (err instanceof StaleVersion && o.expectVersion === undefined && attempt < 5) continue;
        throw err;
      }
    }
  }

  private async commit(trx: ReleaseTrx, change: ChangeRecorder, plan: PlanRow, t: Transition): Promise<PlanView> {
    const ts = now();
    const version = plan.version + 1;
    const res = await trx
      .updateTable('release_plans')
      .set({ ...t.set, version, updated_at: ts })
      .where('id', '=', plan.id)
      .where('version', '=', plan.version)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) !== 1) throw new StaleVersion(plan.id);
    if (t.apply) await this.writeFlagEnv(trx, change, plan, t.apply);
    const where = { project: plan.project, environment: plan.environment, flag: plan.flag };
    let decision: (DecisionInput & { id: number }) | undefined;
    if (t.decision) {
      const g = t.decision.evidence.guardian;
      const e = g ? g.e : null;
      const threshold = g ? g.threshold : null;
      const inserted = await trx
        .insertInto('release_decisions')
        .values({
          plan_id: plan.id,
          version,
          step: t.set.step ?? plan.step,
          milestone: t.set.milestone ?? plan.milestone,
          source: t.decision.source,
          decision: t.decision.decision,
          action: t.decision.action,
          e,
          threshold,
          summary: t.decision.summary,
          evidence: JSON.stringify(t.decision.evidence),
          actor: change.actor,
          created_at: ts,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const summary = summaryOf(Number(inserted.id), ts, { ...t.decision, e, threshold });
      await trx.updateTable('release_plans').set({ last_decision: JSON.stringify(summary) }).where('id', '=', plan.id).execute();
      // A guardian or alert decision that changes something travels in the step's own event
      // (advanced, paused, rolled back…), evidence included: one audit event and one
      // notification per step. Checks that only wait stay in release_decisions.
      if (t.decision.action !== 'none' && t.decision.action !== 'wait' && t.decision.source !== 'manual') decision = { id: summary.id, ...t.decision };
    }
    for (const e of t.events) change.event({ ...where, ...e, ...(decision ? { after: { ...(e.after as object), decision } } : {}) });
    const row = await trx.selectFrom('release_plans').selectAll().where('id', '=', plan.id).executeTakeFirstOrThrow();
    return planView(row);
  }

  /** Replaces the flag's strategies in the plan's environment (and its on/off) when they differ. */
  private async writeFlagEnv(trx: ReleaseTrx, change: ChangeRecorder, plan: PlanRow, target: FlagEnvConfig): Promise<void> {
    const flag = await trx.selectFrom('flags').select(['archived_at']).where('name', '=', plan.flag).executeTakeFirst();
    if (!flag) throw conflict(`Flag "${plan.flag}" no longer exists; release plan ${plan.id} cannot change it.`);
    if (flag.archived_at !== null) throw conflict(`Flag "${plan.flag}" is archived; release plan ${plan.id} cannot change it until it is revived.`);
    const env = await trx.selectFrom('environments').select('name').where('name', '=', plan.environment).executeTakeFirst();
    if (!env) throw conflict(`Environment "${plan.environment}" no longer exists; release plan ${plan.id} cannot change the flag there.`);
    const current = await readFlagEnv(trx, plan.flag, plan.environment);
    if (canonical(current) === canonical(target)) return;
    await trx.deleteFrom('strategies').where('flag', '=', plan.flag).where('environment', '=', plan.environment).execute();
    if (target.strategies.length) {
      await trx
        .insertInto('strategies')
        .values(target.strategies.map((s, i) => strategyRow(plan, s, i)))
        .execute();
    }
    const fe = await trx.selectFrom('flag_environments').select('flag').where('flag', '=', plan.flag).where('environment', '=', plan.environment).executeTakeFirst();
    if (fe) {
      await trx.updateTable('flag_environments').set({ enabled: target.enabled ? 1 : 0 }).where('flag', '=', plan.flag).where('environment', '=', plan.environment).execute();
    } else {
      await trx.insertInto('flag_environments').values({ flag: plan.flag, environment: plan.environment, enabled: target.enabled ? 1 : 0, variants: '[]' }).execute();
    }
    await trx.updateTable('flags').set({ updated_at: now() }).where('name', '=', plan.flag).execute();
    change.touch(plan.environment);
  }
}

function strategyRow(plan: PlanRow, s: ResolvedStrategy, i: number) {
  return {
    id: randomUUID(),
    flag: plan.flag,
    environment: plan.environment,
    name: s.name,
    title: s.title ?? null,
    disabled: s.disabled ? 1 : 0,
    parameters: JSON.stringify(s.parameters),
    constraints: JSON.stringify(s.constraints),
    segments: JSON.stringify(s.segments),
    variants: JSON.stringify(s.variants),
    sort_order: i,
  };
}

/** Numbers from PostgreSQL's integer columns may arrive as strings in some drivers; make them numbers. */
function normalize(row: PlanRow): PlanRow {
  return { ...row, milestone: Number(row.milestone), step: Number(row.step), version: Number(row.version) };
}

export const specOf = (plan: PlanRow): PlanSpec => JSON.parse(plan.spec) as PlanSpec;

function illegal(plan: PlanRow, action: string, rule: string): Problem {
  return new Problem(409, 'Conflict', `Cannot ${action} release plan ${plan.id}: it is ${plan.state}, and ${rule}.`, { state: plan.state, step: Number(plan.step) });
}

/** What every release event carries (notification sinks read milestone, milestoneName, reason, startedAt). */
function planEvent(plan: PlanRow, spec: PlanSpec, milestone: number) {
  return { planId: plan.id, milestone, milestoneName: spec.milestones[milestone]?.name ?? null, milestones: spec.milestones.length, startedAt: plan.started_at };
}

function manualDecision(decision: string, action: DecisionAction, summary: string): DecisionInput {
  return { source: 'manual', decision, action, summary, evidence: { batch: null, milestone: null, guardian: null, reasons: [summary] } };
}

/** running → paused. */
export function pauseTransition(plan: PlanRow, reason: string, decision: DecisionInput, extra: Transition['set'] = {}): Transition {
  if (plan.state !== 'running') throw illegal(plan, 'pause', 'only a running plan can be paused');
  const spec = specOf(plan);
  return {
    set: { ...extra, state: 'paused', step: plan.step + 1, reason },
    events: [{ type: 'release-paused', after: { ...planEvent(plan, spec, plan.milestone), reason } }],
    decision,
  };
}

/** running | paused → running at the next milestone, or completed when that one is the last. */
export function advanceTransition(plan: PlanRow, t: number, reason: string, decision: DecisionInput, extra: Transition['set'] = {}): Transition {
  if (plan.state !== 'running' && plan.state !== 'paused') throw illegal(plan, 'advance', 'only a running or paused plan can advance');
  const spec = specOf(plan);
  const next = plan.milestone + 1;
  const ts = new Date(t).toISOString();
  const totals = parseJson<MilestoneTotals | null>(extra.cohort_totals ?? plan.cohort_totals, null);
  const prevBaseline = parseJson<number[] | null>(plan.baseline, null);
  // The control's latency in this milestone fixes the next milestone's latency thresholds.
  const baseline = totals?.control.latency && totals.control.latency.some((x) => x > 0) ? totals.control.latency : prevBaseline;
  const last = next === spec.milestones.length - 1;
  const guardian = parseJson<GuardianState | null>(extra.guardian ?? plan.guardian, null);
  const target: FlagEnvConfig = { enabled: true, strategies: spec.milestones[next].strategies };
  const events: Transition['events'] = [{ type: 'release-milestone-advanced', after: { ...planEvent(plan, spec, next), from: plan.milestone, reason, strategies: target.strategies } }];
  const set: Transition['set'] = {
    ...extra,
    state: last ? 'completed' : 'running',
    milestone: next,
    step: plan.step + 1,
    reason,
    guardian: last ? (extra.guardian ?? plan.guardian) : JSON.stringify(milestoneGuardian(spec, next, guardian, t, baseline)),
    cohort_totals: JSON.stringify(emptyTotals()),
    baseline: baseline ? JSON.stringify(baseline) : null,
    milestone_started_at: ts,
  };
  if (last) {
    Object.assign(set, { active_key: null, ended_at: ts, reason: `completed: ${reason}` });
    events.push({ type: 'release-completed', after: planEvent(plan, spec, next) });
  }
  return { set, apply: target, events, decision: { ...decision, action: last ? 'complete' : decision.action } };
}

/** running | paused → rolled-back: the previous milestone (before the first: the flag as it was) or off. */
export function rollbackTransition(plan: PlanRow, reason: string, decision: DecisionInput, extra: Transition['set'] = {}): Transition {
  if (plan.state !== 'running' && plan.state !== 'paused') throw illegal(plan, 'roll back', 'only a running or paused plan can be rolled back');
  const spec = specOf(plan);
  const before = parseJson<FlagEnvConfig>(plan.before_config, { enabled: false, strategies: [] });
  let target: FlagEnvConfig;
  let where: string;
  if (spec.rollback === 'off') {
    target = { enabled: false, strategies: before.strategies };
    where = 'the flag is off';
  } else if (plan.milestone > 0) {
    target = { enabled: true, strategies: spec.milestones[plan.milestone - 1].strategies };
    where = `back to milestone ${plan.milestone}/${spec.milestones.length} ("${spec.milestones[plan.milestone - 1].name}")`;
  } else {
    target = before;
    where = 'back to the flag’s configuration before the plan';
  }
  const ts = now();
  return {
    set: { ...extra, state: 'rolled-back', step: plan.step + 1, reason: `${reason} (${where})`, active_key: null, ended_at: ts },
    apply: target,
    events: [{ type: 'release-rolled-back', after: { ...planEvent(plan, spec, plan.milestone), reason, rollback: spec.rollback, to: where, strategies: target.strategies, enabled: target.enabled } }],
    decision: { ...decision, summary: decision.summary },
  };
}

