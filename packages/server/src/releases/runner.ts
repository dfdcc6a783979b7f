/**
 * The guardian runner: every check interval (default 5 s) it loads the running plans from the
 * database, reads the cohort outcomes reported since each plan's cursor, feeds them to the pure
 * guardian (`step`) as one check, and persists the guardian's state, the cursor and the decision
 * with its evidence in the same transaction as any transition it triggers:
 *
 *   continue     state + cursor + decision
 *   advance-ok   → next milestone (or completed) once the bake time has passed and the gate holds
 *   rollback     → rolled back (previous milestone or off, as the plan says)
 *   pause        → paused (sample-ratio mismatch)
 *
 * State lives in the database, never in timers: the runner keeps nothing between ticks, so after
 * a crash, or on another replica that takes over the advisory lock, it resumes exactly where the
 * last committed check left it. Each write compares-and-sets the plan's version, so a check
 * decided from a stale read (a person paused the plan meanwhile, another runner got there first)
 * is dropped and redone from the fresh row on the next tick; a report is never counted twice.
 *
 * Inbound alerts stop a plan at once (`alert()`, called by the signals webhook), and again on the
 * next tick from the stored alerts (`AlertSource`) in case the process died in between.
 */
import type { Kysely } from 'kysely';
import type { Services } from '../services.js';
import type { Database } from '../storage/schema.js';
import { markAlertHandled } from '../signals/index.js';
import { Problem } from '../http/problem.js';
import { parseJson } from '../flags/store.js';
import { step, type CohortCounts, type GuardianState } from './guardian/index.js';
import { addCounts, emptyTotals, type MilestoneTotals } from './model.js';
import { advanceSentence, rollbackSentence, srmSentence, waitSentence } from './evidence.js';
import { releaseDb, type PlanRow } from './store.js';
import { advanceTransition, pauseTransition, rollbackTransition, specOf, StaleVersion, type DecisionInput, type ReleaseService, type Transition } from './service.js';
import type { CohortSource } from './source.js';
import type { Leadership } from './leader.js';

/** An alert that should stop plans: matched by plan id, or by flag and/or environment (none: every running plan). */
export interface PlanAlert {
  /** The stored alert's id (signals' `signal_alerts`): marked handled in the transaction that stops a plan. */
  id?: number;
  name: string;
  planId?: string;
  flag?: string;
  environment?: string;
  summary?: string;
  labels?: Record<string, string>;
  /** When the alert reached us (ISO); a stored alert only stops plans whose milestone began before it. */
  receivedAt?: string;
}

export interface AlertSource {
  /** Alerts firing now (stored by the webhook), for the crash-safe re-check on every tick. */
  firing(): Promise<PlanAlert[]>;
}

export interface RunnerOptions {
  /** Check interval in ms; 0 = no automatic loop (tests call tick()). */
  intervalMs: number;
  source: CohortSource;
  alerts?: AlertSource;
  leadership: Leadership;
  log: { info(o: object, m?: string): void; warn(o: object, m?: string): void; error(o: object, m?: string): void };
  now?: () => number;
}

export interface CheckOutcome {
  planId: string;
  result: 'idle' | 'checked' | 'advanced' | 'completed' | 'rolled-back' | 'paused' | 'stale' | 'error';
  decision?: string;
  summary?: string;
}

const ZERO: CohortCounts = { requests: 0, errors: 0, latency: null };
export const GUARDIAN_ACTOR = 'guardian';

export class GuardianRunner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<CheckOutcome[]> | null = null;
  private stopped = false;
  private readonly now: () => number;
  /** Ticks completed (for tests and /metrics). */
  ticks = 0;

  constructor(
    private readonly services: Services,
    private readonly releases: ReleaseService,
    readonly options: RunnerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.options.leadership.isLeader;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.options.leadership.start();
    if (this.options.intervalMs > 0) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
    await this.options.leadership.stop();
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.tick()
        .catch((err) => this.options.log.error({ err }, 'guardian: check failed'))
        .finally(() => this.schedule(this.options.intervalMs));
    }, ms);
    this.timer.unref();
  }

  /** Runs a check now (ticks never overlap: a call during a tick waits for it and runs again). */
  async tick(): Promise<CheckOutcome[]> {
    while (this.running) await this.running.catch(() => {});
    if (!this.isLeader || this.stopped) return [];
    this.running = this.tickOnce();
    try {
      return await this.running;
    } finally {
      this.running = null;
      this.ticks++;
    }
  }

  private async tickOnce(): Promise<CheckOutcome[]> {
    const db = releaseDb(this.services.storage.db);
    if (this.options.alerts) {
      try {
        for (const alert of await this.options.alerts.firing()) await this.alert(alert, { stored: true });
      } catch (err) {
        this.options.log.warn({ err }, 'guardian: reading stored alerts failed');
      }
    }
    const plans = await db.selectFrom('release_plans').selectAll().where('state', '=', 'running').orderBy('created_at').execute();
    const out: CheckOutcome[] = [];
    for (const plan of plans) {
      if (this.stopped || !this.isLeader) break;
      try {
        out.push(await this.check(plan));
      } catch (err) {
        this.options.log.error({ err, planId: plan.id }, 'guardian: check of a release plan failed');
        out.push({ planId: plan.id, result: 'error', summary: (err as Error).message });
      }
    }
    return out;
  }

  /** One check of one running plan. */
  async check(plan: PlanRow): Promise<CheckOutcome> {
    const spec = specOf(plan);
    const i = Number(plan.milestone);
    const milestone = spec.milestones[i];
    const state = parseJson<GuardianState | null>(plan.guardian, null);
    if (!milestone || !state) return { planId: plan.id, result: 'idle' };
    const t = this.now();
    const read = await this.options.source.read({ flag: plan.flag, environment: plan.environment, cursor: plan.cursor, since: plan.milestone_started_at ?? plan.started_at ?? new Date(t).toISOString(), now: t });
    const canary = read.cohorts[spec.cohorts.canary] ?? ZERO;
    const control = read.cohorts[spec.cohorts.control] ?? ZERO;
    if (read.batches === 0) {
      // Nothing new: only the bake time moved. Check only when that alone could advance the plan.
      const c = state.config;
      const started = state.startedAt ?? t;
      const ready = state.canary.requests >= c.minCanaryRequests && state.control.requests >= c.minControlRequests && t - started >= c.bakeMs && milestone.autoAdvance;
      if (!ready || state.srm?.flaggedAtCheck != null) return { planId: plan.id, result: 'idle' };
    }
    const result = step(state, { at: t, canary, control });
    const totals = parseJson<MilestoneTotals>(plan.cohort_totals, emptyTotals());
    addCounts(totals.canary, canary);
    addCounts(totals.control, control);
    totals.batches += read.batches;
    const extra: Transition['set'] = { guardian: JSON.stringify(result.state), cohort_totals: JSON.stringify(totals), cursor: read.cursor };
    const evidence = {
      batch: read.batches ? { canary: { requests: canary.requests, errors: canary.errors, latency: canary.latency ? [...canary.latency] : null }, control: { requests: control.requests, errors: control.errors, latency: control.latency ? [...control.latency] : null }, batches: read.batches, at: t } : null,
      milestone: totals,
      guardian: result.evidence,
      reasons: result.evidence.reasons,
    };
    const decision = (action: DecisionInput['action'], summary: string): DecisionInput => ({ source: 'guardian', decision: result.decision, action, summary, evidence });

    let build: (p: PlanRow) => Transition;
    let outcome: CheckOutcome['result'] = 'checked';
    let summary: string;
    switch (result.decision) {
      case 'rollback':
        summary = rollbackSentence(result.evidence, spec);
        build = (p) => rollbackTransition(p, summary, decision('rollback', summary), extra);
        outcome = 'rolled-back';
        break;
      case 'pause':
        summary = srmSentence(result.evidence);
        build = (p) => pauseTransition(p, summary, decision('pause', summary), extra);
        outcome = 'paused';
        break;
      case 'advance-ok':
        if (milestone.autoAdvance) {
          summary = advanceSentence(result.evidence, spec, milestone.name);
          build = (p) => advanceTransition(p, t, summary, decision('advance', summary), extra);
          outcome = i + 1 === spec.milestones.length - 1 ? 'completed' : 'advanced';
        } else {
          summary = `gate holds; "${milestone.name}" waits for a person to advance it; ${waitSentence(result.evidence, spec)}`;
          build = () => ({ set: extra, events: [], decision: decision('wait', summary) });
        }
        break;
      default:
        summary = waitSentence(result.evidence, spec);
        build = () => ({ set: extra, events: [], decision: decision(read.batches ? 'none' : 'wait', summary) });
    }
    try {
      await this.releases.transition(plan.id, GUARDIAN_ACTOR, { expectVersion: Number(plan.version) }, async (p) => build(p));
    } catch (err) {
      if (err instanceof StaleVersion) return { planId: plan.id, result: 'stale' };
      if (err instanceof Problem && outcome !== 'checked') {
        // The flag cannot be changed (archived, deleted…): stop and let a person look.
        const why = `${result.decision} could not be applied: ${err.detail}`;
        this.options.log.warn({ planId: plan.id, reason: why }, 'guardian: pausing a release plan');
        try {
          await this.releases.transition(plan.id, GUARDIAN_ACTOR, { expectVersion: Number(plan.version) }, async (p) => {
            const t2 = pauseTransition(p, why, decision('pause', why), extra);
            return t2;
          });
        } catch (e2) {
          if (!(e2 instanceof StaleVersion)) throw e2;
        }
        return { planId: plan.id, result: 'paused', decision: result.decision, summary: why };
      }
      throw err;
    }
    if (outcome !== 'checked') this.options.log.info({ planId: plan.id, flag: plan.flag, environment: plan.environment, decision: result.decision, summary }, `guardian: release plan ${outcome}`);
    return { planId: plan.id, result: outcome, decision: result.decision, summary };
  }

  /**
   * Stops the plans an alert names, at once: rolled back or paused as each plan says
   * (`onAlert`). `stored`: a re-check from the alerts table, which only stops plans whose current
   * milestone began before the alert arrived (a plan resumed after an alert is not stopped again by it).
   */
  async alert(alert: PlanAlert, o: { stored?: boolean } = {}): Promise<CheckOutcome[]> {
    const db = releaseDb(this.services.storage.db);
    let q = db.selectFrom('release_plans').selectAll().where('state', 'in', ['running', 'paused']);
    if (alert.planId) q = q.where('id', '=', alert.planId);
    if (alert.flag) q = q.where('flag', '=', alert.flag);
    if (alert.environment) q = q.where('environment', '=', alert.environment);
    const plans = await q.execute();
    const out: CheckOutcome[] = [];
    for (const plan of plans) {
      if (o.stored && alert.receivedAt && plan.milestone_started_at && alert.receivedAt < plan.milestone_started_at) continue;
      const spec = specOf(plan);
      if (spec.onAlert === 'pause' && plan.state === 'paused') continue;
      const summary = `alert "${alert.name}" is firing${alert.summary ? ` (${alert.summary})` : ''}${alert.labels ? ` [${Object.entries(alert.labels).map(([k, v]) => `${k}=${v}`).join(', ')}]` : ''}: stopped at once`;
      const decision: DecisionInput = {
        source: 'alert',
        decision: spec.onAlert,
        action: spec.onAlert,
        summary,
        evidence: { batch: null, milestone: null, guardian: null, alert, reasons: [summary] },
      };
      try {
        // Illegal by now (stopped meanwhile) → 409, skipped below.
        await this.releases.transition(plan.id, GUARDIAN_ACTOR, {}, async (p, trx) => {
          const t = spec.onAlert === 'pause' ? pauseTransition(p, summary, decision) : rollbackTransition(p, summary, decision);
          if (alert.id !== undefined) await markAlertHandled(trx as unknown as Kysely<Database>, alert.id, `release plan ${p.id} ${spec.onAlert === 'pause' ? 'paused' : 'rolled back'}`);
          return t;
        });
        out.push({ planId: plan.id, result: spec.onAlert === 'pause' ? 'paused' : 'rolled-back', decision: spec.onAlert, summary });
        this.options.log.warn({ planId: plan.id, alert: alert.name }, `guardian: release plan stopped by an alert (${spec.onAlert})`);
      } catch (err) {
        if (err instanceof Problem && err.status === 409) continue;
        throw err;
      }
    }
    return out;
  }
}
