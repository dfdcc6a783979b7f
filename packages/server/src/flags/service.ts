import { randomUUID } from 'node:crypto';
import type { VariantDefinition } from '@switchyard/engine';
import type { Services } from '../services.js';
import type { Trx } from '../events/changes.js';
import { badRequest, conflict, notFound } from '../http/problem.js';
import type { DependencyInput, StrategyInput, VariantInput } from '../http/schemas.js';
import type { FlagRow } from '../storage/schema.js';
import { conflictOnDuplicate, loadFlag, loadFlags, parseJson, strategyView, type DependencyView, type FlagFilter, type FlagView, type StrategyView } from './store.js';
import { normalizeVariants, validateConstraints, validateStrategyParameters } from './validation.js';

export const FLAG_TYPES = ['release', 'experiment', 'operational', 'kill-switch', 'permission'] as const;

export interface CreateFlagInput {
  name: string;
  project?: string;
  type?: string;
  description?: string;
  owner?: string;
  tags?: string[];
  impressionData?: boolean;
}

export type PatchFlagInput = Partial<Omit<CreateFlagInput, 'name'>>;

const now = () => new Date().toISOString();

export async function requireFlag(trx: Trx, name: string): Promise<FlagRow> {
  const row = await trx.selectFrom('flags').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row) throw notFound(`No flag named "${name}".`);
  return row;
}

export async function requireEnvironment(trx: Trx, name: string): Promise<void> {
  const row = await trx.selectFrom('environments').select('name').where('name', '=', name).executeTakeFirst();
  if (!row) throw notFound(`No environment named "${name}"; create it first (POST /api/admin/environments).`);
}

function requireActive(row: FlagRow): void {
  if (row.archived_at !== null) throw conflict(`Flag "${row.name}" is archived; revive it first (POST /api/admin/flags/${encodeURIComponent(row.name)}/revive).`);
}

function checkName(name: string): void {
  if (name === '.' || name === '..') throw badRequest(`"${name}" cannot be used as a flag name.`);
}

function uniqueTags(tags: string[] | undefined): string[] {
  return [...new Set((tags ?? []).map((t) => t.trim()).filter(Boolean))];
}

/** Checks that every segment id exists and that project-scoped segments are used only in their project. */
export async function checkSegments(trx: Trx, ids: number[], project: string, where: string): Promise<void> {
  if (ids.length === 0) return;
  const unique = [...new Set(ids)];
  if (unique.length !== ids.length) throw badRequest(`${where} lists a segment twice.`);
  const rows = await trx.selectFrom('segments').select(['id', 'name', 'project']).where('id', 'in', unique).execute();
  const missing = unique.filter((id) => !rows.some((r) => Number(r.id) === id));
  if (missing.length) throw badRequest(`${where} uses segment(s) ${missing.join(', ')} that do not exist; create them first (POST /api/admin/segments).`);
  const foreign = rows.find((r) => r.project !== null && r.project !== project);
  if (foreign) throw badRequest(`${where} uses segment "${foreign.name}" which belongs to project "${foreign.project}", not "${project}".`);
}

export class FlagService {
  constructor(private readonly services: Services) {}

  private get db() {
    return this.services.storage.db;
  }

  list(filter: FlagFilter): Promise<FlagView[]> {
    return loadFlags(this.db, filter);
  }

  async get(name: string): Promise<FlagView> {
    const flag = await loadFlag(this.db, name);
    if (!flag) throw notFound(`No flag named "${name}".`);
    return flag;
  }

  async create(actor: string, input: CreateFlagInput): Promise<FlagView> {
    checkName(input.name);
    return conflictOnDuplicate(this.createInner(actor, input), `A flag named "${input.name}" already exists.`);
  }

  private async createInner(actor: string, input: CreateFlagInput): Promise<FlagView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const project = input.project ?? 'default';
      const existing = await trx.selectFrom('flags').select(['name', 'archived_at']).where('name', '=', input.name).executeTakeFirst();
      if (existing) {
        throw conflict(
          existing.archived_at
            ? `A flag named "${input.name}" exists in the archive; revive it or delete it for good first.`
            : `A flag named "${input.name}" already exists.`,
        );
      }
      const p = await trx.selectFrom('projects').select('id').where('id', '=', project).executeTakeFirst();
      if (!p) throw badRequest(`Project "${project}" does not exist; create it first (POST /api/admin/projects).`);
      const ts = now();
      await trx
        .insertInto('flags')
        .values({
          name: input.name,
          project,
          type: input.type ?? 'release',
          description: input.description ?? null,
          owner: input.owner || null,
          tags: JSON.stringify(uniqueTags(input.tags)),
          impression_data: input.impressionData ? 1 : 0,
          archived_at: null,
          created_at: ts,
          updated_at: ts,
        })
        .execute();
      await trx
        .insertInto('flag_environments')
        .columns(['flag', 'environment', 'enabled', 'variants'])
        .expression((eb) => eb.selectFrom('environments').select((e) => [e.val(input.name).as('flag'), 'name', e.val(0).as('enabled'), e.val('[]').as('variants')]))
        .execute();
      const after = (await loadFlag(trx, input.name))!;
      change.event({ type: 'feature-created', project, flag: input.name, after });
      change.touch('*');
      return after;
    });
  }

  async patch(actor: string, name: string, input: PatchFlagInput): Promise<FlagView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const row = await requireFlag(trx, name);
      requireActive(row);
      const before = (await loadFlag(trx, name))!;
      if (input.project !== undefined && input.project !== row.project) {
        const p = await trx.selectFrom('projects').select('id').where('id', '=', input.project).executeTakeFirst();
        if (!p) throw badRequest(`Project "${input.project}" does not exist; create it first (POST /api/admin/projects).`);
        const used = await usedSegmentsOf(trx, name);
        if (used.length) await checkSegments(trx, used, input.project, `Flag "${name}" (moving to project "${input.project}")`);
      }
      const update: Record<string, unknown> = {};
      if (input.description !== undefined) update.description = input.description;
      if (input.type !== undefined) update.type = input.type;
      if (input.owner !== undefined) update.owner = input.owner || null;
      if (input.tags !== undefined) update.tags = JSON.stringify(uniqueTags(input.tags));
      if (input.impressionData !== undefined) update.impression_data = input.impressionData ? 1 : 0;
      if (input.project !== undefined) update.project = input.project;
      const payloadFields =
        (input.description !== undefined && input.description !== before.description) ||
        (input.type !== undefined && input.type !== before.type) ||
        (input.impressionData !== undefined && input.impressionData !== before.impressionData) ||
        (input.project !== undefined && input.project !== before.project);
      const otherFields =
        (input.owner !== undefined && (input.owner || null) !== before.owner) ||
        (input.tags !== undefined && JSON.stringify(uniqueTags(input.tags)) !== JSON.stringify(before.tags));
      if (!payloadFields && !otherFields) return before;
      await trx.updateTable('flags').set({ ...update, updated_at: now() }).where('name', '=', name).execute();
      const after = (await loadFlag(trx, name))!;
      change.event({ type: 'feature-updated', project: after.project, flag: name, before: metadata(before), after: metadata(after) });
      if (payloadFields) change.touch('*');
      return after;
    });
  }

  async archive(actor: string, name: string): Promise<FlagView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const row = await requireFlag(trx, name);
      if (row.archived_at !== null) return (await loadFlag(trx, name))!;
      const children = await trx
        .selectFrom('flag_dependencies')
        .innerJoin('flags', 'flags.name', 'flag_dependencies.child')
        .select('flag_dependencies.child')
        .where('flag_dependencies.parent', '=', name)
        .where('flags.archived_at', 'is', null)
        .execute();
      if (children.length) {
        throw conflict(
          `Flag "${name}" cannot be archived while other flags depend on it: ${children.map((c) => `"${c.child}"`).join(', ')}. Remove those dependencies or archive those flags first.`,
        );
      }
      const before = (await loadFlag(trx, name))!;
      const ts = now();
      await trx.updateTable('flags').set({ archived_at: ts, updated_at: ts }).where('name', '=', name).execute();
      const after = (await loadFlag(trx, name))!;
      change.event({ type: 'feature-archived', project: row.project, flag: name, before: metadata(before), after: metadata(after) });
      change.touch('*');
      return after;
    });
  }

  async revive(actor: string, name: string): Promise<FlagView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const row = await requireFlag(trx, name);
      if (row.archived_at === null) return (await loadFlag(trx, name))!;
      const before = (await loadFlag(trx, name))!;
      await trx.updateTable('flags').set({ archived_at: null, updated_at: now() }).where('name', '=', name).execute();
      const after = (await loadFlag(trx, name))!;
      change.event({ type: 'feature-revived', project: row.project, flag: name, before: metadata(before), after: metadata(after) });
      change.touch('*');
      return after;
    });
  }

  async delete(actor: string, name: string): Promise<void> {
    await this.services.changes.write(actor, async (trx, change) => {
      const row = await requireFlag(trx, name);
      if (row.archived_at === null) throw conflict(`Flag "${name}" is not archived; archive it first (POST /api/admin/flags/${encodeURIComponent(name)}/archive), then delete it.`);
      const before = (await loadFlag(trx, name))!;
      // Dependencies on this flag stay (dangling): a child of a missing parent is off, as in Unleash.
      await trx.deleteFrom('flag_dependencies').where('child', '=', name).execute();
      await trx.deleteFrom('strategies').where('flag', '=', name).execute();
      await trx.deleteFrom('flag_environments').where('flag', '=', name).execute();
      await trx.deleteFrom('flags').where('name', '=', name).execute();
      change.event({ type: 'feature-deleted', project: row.project, flag: name, before });
    });
  }

  async setEnabled(actor: string, name: string, env: string, enabled: boolean): Promise<FlagView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const row = await requireFlag(trx, name);
      await requireEnvironment(trx, env);
      requireActive(row);
      const fe = await ensureFlagEnvironment(trx, name, env);
      if (!!fe.enabled === enabled) return (await loadFlag(trx, name))!;
      await trx.updateTable('flag_environments').set({ enabled: enabled ? 1 : 0 }).where('flag', '=', name).where('environment', '=', env).execute();
      await trx.updateTable('flags').set({ updated_at: now() }).where('name', '=', name).execute();
      change.event({
        type: enabled ? 'feature-environment-enabled' : 'feature-environment-disabled',
        project: row.project,
        environment: env,
        flag: name,
        before: { enabled: !enabled },
        after: { enabled },
      });
      change.touch(env);
      return (await loadFlag(trx, name))!;
    });
  }

  async listStrategies(name: string, env: string): Promise<StrategyView[]> {
    const flag = await this.get(name);
    const e = flag.environments.find((x) => x.name === env);
    if (!e) throw notFound(`No environment named "${env}".`);
    return e.strategies;
  }

  private async prepareStrategy(trx: Trx, row: FlagRow, input: StrategyInput, where: string) {
    const parameters = validateStrategyParameters(input, row.name, where);
    const constraints = validateConstraints(input.constraints, where);
    const variants = normalizeVariants(input.variants, `${where} variants`);
    const segments = input.segments ?? [];
    await checkSegments(trx, segments, row.project, where);
    return {
      name: input.name,
      title: input.title ? input.title : null,
      disabled: input.disabled ? 1 : 0,
      parameters: JSON.stringify(parameters),
      constraints: JSON.stringify(constraints),
      segments: JSON.stringify(segments),
      variants: JSON.stringify(variants),
    };
  }

  async addStrategy(actor: string, name: string, env: string, input: StrategyInput): Promise<StrategyView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const row = await requireFlag(trx, name);
      await requireEnvironment(trx, env);
      requireActive(row);
      const values = await this.prepareStrategy(trx, row, input, `strategy "${input.name}" of flag "${name}" in "${env}"`);
      await ensureFlagEnvironment(trx, name, env);
      let sortOrder = input.sortOrder;
      if (sortOrder === undefined) {
        const max = await trx
          .selectFrom('strategies')
          .select((eb) => eb.fn.max('sort_order').as('max'))
          .where('flag', '=', name)
          .where('environment', '=', env)
          .executeTakeFirst();
        sortOrder = max?.max === null || max?.max === undefined ? 0 : Number(max.max) + 1;
      }
      const id = randomUUID();
      await trx.insertInto('strategies').values({ id, flag: name, environment: env, ...values, sort_order: sortOrder }).execute();
      await trx.updateTable('flags').set({ updated_at: now() }).where('name', '=', name).execute();
      const after = strategyView((await trx.selectFrom('strategies').selectAll().where('id', '=', id).executeTakeFirst())!);
      change.event({ type: 'feature-strategy-added', project: row.project, environment: env, flag: name, after });
      change.touch(env);
      return after;
    });
  }

  async updateStrategy(actor: string, name: string, env: string, id: string, input: StrategyInput): Promise<StrategyView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const row = await requireFlag(trx, name);
      await requireEnvironment(trx, env);
      const existing = await trx.selectFrom('strategies').selectAll().where('id', '=', id).where('flag', '=', name).where('environment', '=', env).executeTakeFirst();
      if (!existing) throw notFound(`Flag "${name}" has no strategy "${id}" in environment "${env}".`);
      requireActive(row);
      const values = await this.prepareStrategy(trx, row, input, `strategy "${input.name}" of flag "${name}" in "${env}"`);
      const before = strategyView(existing);
      await trx
        .updateTable('strategies')
        .set({ ...values, sort_order: input.sortOrder ?? existing.sort_order })
        .where('id', '=', id)
        .execute();
      const after = strategyView((await trx.selectFrom('strategies').selectAll().where('id', '=', id).executeTakeFirst())!);
      if (JSON.stringify(before) === JSON.stringify(after)) return after;
      await trx.updateTable('flags').set({ updated_at: now() }).where('name', '=', name).execute();
      change.event({ type: 'feature-strategy-updated', project: row.project, environment: env, flag: name, before, after });
      change.touch(env);
      return after;
    });
  }

  async deleteStrategy(actor: string, name: string, env: string, id: string): Promise<void> {
    await this.services.changes.write(actor, async (trx, change) => {
      const row = await requireFlag(trx, name);
      await requireEnvironment(trx, env);
      const existing = await trx.selectFrom('strategies').selectAll().where('id', '=', id).where('flag', '=', name).where('environment', '=', env).executeTakeFirst();
      if (!existing) throw notFound(`Flag "${name}" has no strategy "${id}" in environment "${env}".`);
      requireActive(row);
      await trx.deleteFrom('strategies').where('id', '=', id).execute();
      await trx.updateTable('flags').set({ updated_at: now() }).where('name', '=', name).execute();
      change.event({ type: 'feature-strategy-removed', project: row.project, environment: env, flag: name, before: strategyView(existing) });
      change.touch(env);
    });
  }

  async setVariants(actor: string, name: string, env: string, input: VariantInput[]): Promise<FlagView> {
    const variants = normalizeVariants(input, `Variants of flag "${name}" in "${env}"`);
    return this.services.changes.write(actor, async (trx, change) => {
      const row = await requireFlag(trx, name);
      await requireEnvironment(trx, env);
      requireActive(row);
      const fe = await ensureFlagEnvironment(trx, name, env);
      const before = parseJson<VariantDefinition[]>(fe.variants, []);
      if (JSON.stringify(before) !== JSON.stringify(variants)) {
        await trx.updateTable('flag_environments').set({ variants: JSON.stringify(variants) }).where('flag', '=', name).where('environment', '=', env).execute();
        await trx.updateTable('flags').set({ updated_at: now() }).where('name', '=', name).execute();
        change.event({ type: 'feature-variants-updated', project: row.project, environment: env, flag: name, before, after: variants });
        change.touch(env);
      }
      return (await loadFlag(trx, name))!;
    });
  }

  async setDependencies(actor: string, name: string, input: DependencyInput[]): Promise<FlagView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const row = await requireFlag(trx, name);
      requireActive(row);
      const deps: DependencyView[] = [];
      const seen = new Set<string>();
      for (const d of input) {
        if (d.feature === name) throw badRequest(`Flag "${name}" cannot depend on itself.`);
        if (seen.has(d.feature)) throw badRequest(`Flag "${d.feature}" is listed twice in the dependencies.`);
        seen.add(d.feature);
        const enabled = d.enabled ?? true;
        const variants = [...new Set(d.variants ?? [])];
        if (!enabled && variants.length) throw badRequest(`Dependency on "${d.feature}": variants can only be required when the parent must be enabled (enabled: true).`);
        deps.push({ feature: d.feature, enabled, variants });
      }
      if (deps.length) {
        const parents = await trx.selectFrom('flags').select(['name', 'archived_at']).where('name', 'in', deps.map((d) => d.feature)).execute();
        for (const d of deps) {
          const p = parents.find((x) => x.name === d.feature);
          if (!p) throw badRequest(`Flag "${name}" cannot depend on "${d.feature}": no such flag.`);
          if (p.archived_at !== null) throw badRequest(`Flag "${name}" cannot depend on "${d.feature}": that flag is archived.`);
        }
        const grandparents = await trx.selectFrom('flag_dependencies').select(['child', 'parent']).where('child', 'in', deps.map((d) => d.feature)).execute();
        if (grandparents.length) {
          const g = grandparents[0];
          const cycle = grandparents.some((x) => x.parent === name);
          throw badRequest(
            cycle
              ? `Flag "${name}" cannot depend on "${g.child}": "${g.child}" already depends on "${name}", which would make a cycle.`
              : `Flag "${name}" cannot depend on "${g.child}": "${g.child}" itself depends on "${g.parent}", and only one level of dependencies is allowed (a parent cannot have parents).`,
          );
        }
        const children = await trx.selectFrom('flag_dependencies').select('child').where('parent', '=', name).execute();
        if (children.length) {
          throw badRequest(
            `Flag "${name}" cannot depend on other flags because ${children.map((c) => `"${c.child}"`).join(', ')} depend(s) on it; only one level of dependencies is allowed.`,
          );
        }
      }
      const current = await trx.selectFrom('flag_dependencies').selectAll().where('child', '=', name).orderBy('parent').execute();
      const before: DependencyView[] = current.map((d) => ({ feature: d.parent, enabled: !!d.enabled, variants: parseJson(d.variants, []) }));
      const sorted = [...deps].sort((a, b) => (a.feature < b.feature ? -1 : a.feature > b.feature ? 1 : 0));
      if (JSON.stringify(before) !== JSON.stringify(sorted)) {
        await trx.deleteFrom('flag_dependencies').where('child', '=', name).execute();
        if (deps.length) {
          await trx
            .insertInto('flag_dependencies')
            .values(deps.map((d) => ({ child: name, parent: d.feature, enabled: d.enabled ? 1 : 0, variants: JSON.stringify(d.variants) })))
            .execute();
        }
        await trx.updateTable('flags').set({ updated_at: now() }).where('name', '=', name).execute();
        change.event({ type: 'feature-dependencies-updated', project: row.project, flag: name, before, after: sorted });
        change.touch('*');
      }
      return (await loadFlag(trx, name))!;
    });
  }
}

/** The flag's metadata, without per-environment configuration (for audit events). */
function metadata(f: FlagView) {
  const { environments: _e, ...rest } = f;
  return rest;
}

export async function ensureFlagEnvironment(trx: Trx, flag: string, env: string) {
  const fe = await trx.selectFrom('flag_environments').selectAll().where('flag', '=', flag).where('environment', '=', env).executeTakeFirst();
  if (fe) return fe;
  const row = { flag, environment: env, enabled: 0, variants: '[]' };
  await trx.insertInto('flag_environments').values(row).execute();
  return row;
}

async function usedSegmentsOf(trx: Trx, flag: string): Promise<number[]> {
  const rows = await trx.selectFrom('strategies').select('segments').where('flag', '=', flag).where('segments', '!=', '[]').execute();
  return [...new Set(rows.flatMap((r) => parseJson<number[]>(r.segments, [])))];
}
