/**
 * Release templates: the built-in ones (canary percentages, rings) and users' own, stored in
 * `release_templates`. A template is resolved against a flag when a plan is made from it:
 * strategies validated like the admin API's, segment names turned into ids.
 */
import { randomUUID } from 'node:crypto';
import type { Services } from '../services.js';
import type { Trx } from '../events/changes.js';
import { badRequest, conflict, notFound } from '../http/problem.js';
import { checkSegments } from '../flags/service.js';
import { normalizeVariants, validateConstraints, validateStrategyParameters } from '../flags/validation.js';
import type { StrategyInput } from '../http/schemas.js';
import { initialState } from './guardian/index.js';
import {
  canaryShareOf,
  guardianConfig,
  type HealthGate,
  type MilestoneSpec,
  type PlanSpec,
  type ResolvedMilestone,
  type ResolvedStrategy,
  type TemplateSpec,
  type TemplateView,
} from './model.js';
import { releaseDb, type ReleaseTrx } from './store.js';

const MINUTE = 60_000;

const rollout = (pct: number): MilestoneSpec['strategies'][number] => ({ name: 'flexibleRollout', parameters: { rollout: String(pct), stickiness: 'default' } });
const ring = (segment: string): MilestoneSpec['strategies'][number] => ({ name: 'flexibleRollout', title: segment, parameters: { rollout: '100', stickiness: 'default' }, segments: [segment] });

/** Built-in templates; their ids are reserved. */
export const BUILTIN_TEMPLATES: TemplateView[] = [
  {
    id: 'canary',
    name: 'Canary',
    description: 'Percentages 1 % → 5 % → 25 % → 50 % → 100 %, 5 minutes each; the guardian compares the new cohort with the rest; a regression turns the flag off.',
    builtin: true,
    rollback: 'off',
    bakeMs: 5 * MINUTE,
    milestones: [1, 5, 25, 50, 100].map((p) => ({ name: `${p} %`, strategies: [rollout(p)] })),
  },
  {
    id: 'rings',
    name: 'Rings',
    description:
      'Ring 0 developers, ring 1 employees, ring 2 beta customers (segments named "developers", "employees", "beta"), ring 3 everyone; 30 minutes each; a regression goes back one ring.',
    builtin: true,
    rollback: 'previous',
    bakeMs: 30 * MINUTE,
    gate: { minCanaryRequests: 100, minControlRequests: 100 },
    milestones: [
      { name: 'ring 0: developers', strategies: [ring('developers')] },
      { name: 'ring 1: employees', strategies: [ring('developers'), ring('employees')] },
      { name: 'ring 2: beta', strategies: [ring('developers'), ring('employees'), ring('beta')] },
      { name: 'ring 3: everyone', strategies: [rollout(100)] },
    ],
  },
];

const isBuiltin = (id: string) => BUILTIN_TEMPLATES.some((t) => t.id === id);

function parseSpec(text: string): TemplateSpec {
  return JSON.parse(text) as TemplateSpec;
}

function templateView(row: { id: string; name: string; description: string | null; spec: string; created_by: string; created_at: string; updated_at: string }): TemplateView {
  const spec = parseSpec(row.spec);
  return {
    id: row.id,
    name: row.name,
    description: row.description ?? '',
    builtin: false,
    ...spec,
    rollback: spec.rollback ?? 'previous',
    createdBy: row.created_by,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface TemplateInput extends TemplateSpec {
  id?: string;
  name: string;
  description?: string;
}

/** Checks a template's shape beyond the schema: gates the guardian accepts, at least two milestones. */
export function checkTemplate(spec: TemplateSpec, where: string): void {
  if (spec.milestones.length < 1) throw badRequest(`${where} needs at least one milestone.`);
  const names = new Set<string>();
  spec.milestones.forEach((m, i) => {
    if (names.has(m.name)) throw badRequest(`${where}: two milestones are named "${m.name}"; give each its own name.`);
    names.add(m.name);
    if (m.strategies.length === 0) throw badRequest(`${where}: milestone ${i + 1} ("${m.name}") has no strategies; a milestone says who gets the new behaviour.`);
    checkGate({ ...spec.gate, ...m.gate }, `${where}, milestone ${i + 1} ("${m.name}")`);
  });
}

export function checkGate(gate: HealthGate, where: string): void {
  try {
    const { srm, ...rest } = gate;
    initialState({ ...rest, srm: srm && srm !== 'auto' && srm.expectedShare !== undefined ? { ...srm, expectedShare: srm.expectedShare } : false });
  } catch (err) {
    if (err instanceof RangeError) throw badRequest(`${where}: health gate: ${err.message}.`);
    throw err;
  }
}

export class TemplateService {
  constructor(private readonly services: Services) {}

  private get db() {
    return releaseDb(this.services.storage.db);
  }

  async list(): Promise<TemplateView[]> {
    const rows = await this.db.selectFrom('release_templates').selectAll().orderBy('created_at').orderBy('id').execute();
    return [...BUILTIN_TEMPLATES, ...rows.map(templateView)];
  }

  async get(id: string, trx?: Trx): Promise<TemplateView> {
    const builtin = BUILTIN_TEMPLATES.find((t) => t.id === id);
    if (builtin) return builtin;
    const db = trx ? releaseDb(trx) : this.db;
    const row = await db.selectFrom('release_templates').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`No release template "${id}"; built-in templates are ${BUILTIN_TEMPLATES.map((t) => `"${t.id}"`).join(', ')} (GET /api/admin/release-templates lists all).`);
    return templateView(row);
  }

  async create(actor: string, input: TemplateInput): Promise<TemplateView> {
    const id = input.id ?? randomUUID();
    if (isBuiltin(id)) throw conflict(`"${id}" is a built-in template; choose another id.`);
    checkTemplate(input, `Template "${input.name}"`);
    return this.services.changes.write(actor, async (trx, change) => {
      const db = releaseDb(trx);
      const exists = await db.selectFrom('release_templates').select('id').where('id', '=', id).executeTakeFirst();
      if (exists) throw conflict(`A release template with id "${id}" already exists; PUT /api/admin/release-templates/${encodeURIComponent(id)} to change it.`);
      const ts = new Date().toISOString();
      await db
        .insertInto('release_templates')
        .values({ id, name: input.name, description: input.description ?? null, spec: JSON.stringify(specOf(input)), created_by: actor, created_at: ts, updated_at: ts })
        .execute();
      const view = await this.get(id, trx);
      change.event({ type: 'release-template-created', after: view });
      return view;
    });
  }

  async replace(actor: string, id: string, input: TemplateInput): Promise<TemplateView> {
    if (isBuiltin(id)) throw conflict(`"${id}" is a built-in template and cannot be changed; copy it into a template of your own (POST /api/admin/release-templates).`);
    checkTemplate(input, `Template "${input.name}"`);
    return this.services.changes.write(actor, async (trx, change) => {
      const before = await this.get(id, trx);
      await releaseDb(trx)
        .updateTable('release_templates')
        .set({ name: input.name, description: input.description ?? null, spec: JSON.stringify(specOf(input)), updated_at: new Date().toISOString() })
        .where('id', '=', id)
        .execute();
      const after = await this.get(id, trx);
      change.event({ type: 'release-template-updated', before, after });
      return after;
    });
  }

  async delete(actor: string, id: string): Promise<void> {
    if (isBuiltin(id)) throw conflict(`"${id}" is a built-in template and cannot be deleted.`);
    await this.services.changes.write(actor, async (trx, change) => {
      const before = await this.get(id, trx);
      await releaseDb(trx).deleteFrom('release_templates').where('id', '=', id).execute();
      change.event({ type: 'release-template-deleted', before });
    });
  }
}

function specOf(input: TemplateInput): TemplateSpec {
  const spec: TemplateSpec = { milestones: input.milestones };
  if (input.rollback) spec.rollback = input.rollback;
  if (input.bakeMs !== undefined) spec.bakeMs = input.bakeMs;
  if (input.gate) spec.gate = input.gate;
  if (input.onAlert) spec.onAlert = input.onAlert;
  return spec;
}

export interface ResolveOptions {
  flag: string;
  project: string;
  /** Overrides of every milestone's bake time and gate (e.g. short bakes in a test). */
  bakeMs?: number;
  gate?: HealthGate;
  rollback?: PlanSpec['rollback'];
  onAlert?: PlanSpec['onAlert'];
  cohorts?: Partial<PlanSpec['cohorts']>;
  /** Segment names used by the template → a segment id or name to use instead. */
  segments?: Record<string, number | string>;
}

/** Turns a template into a plan's spec for one flag: strategies validated, segments resolved, gates merged. */
export async function resolvePlanSpec(trx: ReleaseTrx, template: TemplateSpec, o: ResolveOptions): Promise<PlanSpec> {
  checkTemplate(template, 'The plan');
  if (o.gate) checkGate(o.gate, 'The plan');
  const segmentRows = await trx.selectFrom('segments').select(['id', 'name']).execute();
  const byName = new Map(segmentRows.map((s) => [s.name, Number(s.id)]));
  const byId = new Set(segmentRows.map((s) => Number(s.id)));
  const segmentId = (ref: number | string, where: string): number => {
    const mapped = typeof ref === 'string' && o.segments?.[ref] !== undefined ? o.segments[ref] : ref;
    if (typeof mapped === 'number') {
      if (!byId.has(mapped)) throw badRequest(`${where} uses segment ${mapped}, which does not exist; create it first (POST /api/admin/segments).`);
      return mapped;
    }
    const id = byName.get(mapped);
    if (id === undefined) {
      throw badRequest(
        `${where} uses a segment named "${mapped}", which does not exist; create it (POST /api/admin/segments) or map it to one of yours with "segments": {"${mapped}": <id or name>}.`,
      );
    }
    return id;
  };
  const milestones: ResolvedMilestone[] = [];
  for (const [i, m] of template.milestones.entries()) {
    const where = `Milestone ${i + 1} ("${m.name}")`;
    const strategies: ResolvedStrategy[] = [];
    for (const [j, s] of m.strategies.entries()) {
      const sw = `${where}, strategy ${j + 1} ("${s.name}")`;
      const input: StrategyInput = { name: s.name, parameters: s.parameters, constraints: s.constraints, variants: s.variants };
      const segments = (s.segments ?? []).map((ref) => segmentId(ref, sw));
      await checkSegments(trx as unknown as Trx, segments, o.project, sw);
      const strategy: ResolvedStrategy = {
        name: s.name,
        disabled: !!s.disabled,
        parameters: validateStrategyParameters(input, o.flag, sw),
        constraints: validateConstraints(input.constraints, sw),
        segments,
        variants: normalizeVariants(input.variants, `${sw} variants`),
      };
      if (s.title) strategy.title = s.title;
      strategies.push(strategy);
    }
    const gate: HealthGate = { ...template.gate, ...m.gate, ...o.gate };
    const resolved: ResolvedMilestone = {
      name: m.name,
      strategies,
      bakeMs: o.bakeMs ?? m.bakeMs ?? template.bakeMs ?? 0,
      gate,
      autoAdvance: m.autoAdvance ?? true,
      canaryShare: canaryShareOf(strategies),
    };
    try {
      initialState(guardianConfig(resolved));
    } catch (err) {
      if (err instanceof RangeError) throw badRequest(`${where}: health gate: ${err.message}.`);
      throw err;
    }
    milestones.push(resolved);
  }
  const cohorts = { canary: o.cohorts?.canary ?? 'on', control: o.cohorts?.control ?? 'off' };
  if (cohorts.canary === cohorts.control) throw badRequest(`The canary and control cohorts must differ; both are "${cohorts.canary}".`);
  return {
    milestones,
    rollback: o.rollback ?? template.rollback ?? 'previous',
    onAlert: o.onAlert ?? template.onAlert ?? 'rollback',
    cohorts,
  };
}
