import type { Constraint } from '@switchyard/engine';
import type { Services } from '../services.js';
import type { SegmentRow } from '../storage/schema.js';
import type { Trx } from '../events/changes.js';
import { badRequest, conflict, notFound } from '../http/problem.js';
import type { ConstraintInput } from '../http/schemas.js';
import { validateConstraints } from '../flags/validation.js';
import { conflictOnDuplicate, parseJson } from '../flags/store.js';

export interface SegmentView {
  id: number;
  name: string;
  description: string;
  project: string | null;
  constraints: Constraint[];
  createdAt: string;
}

export interface SegmentInput {
  name: string;
  description?: string;
  project?: string | null;
  constraints?: ConstraintInput[];
}

export const segmentView = (row: SegmentRow): SegmentView => ({
  id: Number(row.id),
  name: row.name,
  description: row.description ?? '',
  project: row.project,
  constraints: parseJson(row.constraints, []),
  createdAt: row.created_at,
});

/** Strategies (flag, environment) that use a segment. */
export async function segmentUsage(trx: Trx, id: number): Promise<{ flag: string; environment: string; project: string }[]> {
  const rows = await trx
    .selectFrom('strategies')
    .innerJoin('flags', 'flags.name', 'strategies.flag')
    .select(['strategies.flag', 'strategies.environment', 'strategies.segments', 'flags.project'])
    .where('strategies.segments', '!=', '[]')
    .execute();
  return rows.filter((r) => parseJson<number[]>(r.segments, []).includes(id)).map((r) => ({ flag: r.flag, environment: r.environment, project: r.project }));
}

export class SegmentService {
  constructor(private readonly services: Services) {}

  async list(project?: string): Promise<SegmentView[]> {
    let q = this.services.storage.db.selectFrom('segments').selectAll().orderBy('id');
    if (project !== undefined) q = q.where((eb) => eb.or([eb('project', '=', project), eb('project', 'is', null)]));
    return (await q.execute()).map(segmentView);
  }

  async get(id: number): Promise<SegmentView> {
    const row = await this.services.storage.db.selectFrom('segments').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`No segment with id ${id}.`);
    return segmentView(row);
  }

  private async check(trx: Trx, input: SegmentInput, selfId?: number): Promise<Constraint[]> {
    const constraints = validateConstraints(input.constraints, `segment "${input.name}"`);
    const clash = await trx.selectFrom('segments').select('id').where('name', '=', input.name).executeTakeFirst();
    if (clash && Number(clash.id) !== selfId) throw conflict(`A segment named "${input.name}" already exists (id ${clash.id}).`);
    if (input.project) {
      const p = await trx.selectFrom('projects').select('id').where('id', '=', input.project).executeTakeFirst();
      if (!p) throw badRequest(`Project "${input.project}" does not exist; create it first (POST /api/admin/projects).`);
    }
    return constraints;
  }

  async create(actor: string, input: SegmentInput): Promise<SegmentView> {
    return conflictOnDuplicate(this.createInner(actor, input), `A segment named "${input.name}" already exists.`);
  }

  private async createInner(actor: string, input: SegmentInput): Promise<SegmentView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const constraints = await this.check(trx, input);
      const inserted = await trx
        .insertInto('segments')
        .values({
          name: input.name,
          description: input.description ?? null,
          project: input.project || null,
          constraints: JSON.stringify(constraints),
          created_at: new Date().toISOString(),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      const row = (await trx.selectFrom('segments').selectAll().where('id', '=', Number(inserted.id)).executeTakeFirst())!;
      const after = segmentView(row);
      change.event({ type: 'segment-created', project: row.project, after });
      change.touch('*');
      return after;
    });
  }

  async update(actor: string, id: number, input: SegmentInput): Promise<SegmentView> {
    return conflictOnDuplicate(this.updateInner(actor, id, input), `A segment named "${input.name}" already exists.`);
  }

  private async updateInner(actor: string, id: number, input: SegmentInput): Promise<SegmentView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const row = await trx.selectFrom('segments').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound(`No segment with id ${id}.`);
      const constraints = await this.check(trx, input, id);
      const project = input.project === undefined ? row.project : input.project || null;
      if (project !== null && project !== row.project) {
        const foreign = (await segmentUsage(trx, id)).find((u) => u.project !== project);
        if (foreign) throw conflict(`Segment "${row.name}" is used by flag "${foreign.flag}" in project "${foreign.project}", so it cannot be moved to project "${project}".`);
      }
      const before = segmentView(row);
      const next: SegmentRow = {
        ...row,
        name: input.name,
        description: input.description !== undefined ? input.description : row.description,
        project,
        constraints: JSON.stringify(constraints),
      };
      const after = segmentView(next);
      if (JSON.stringify(before) === JSON.stringify(after)) return before;
      await trx
        .updateTable('segments')
        .set({ name: next.name, description: next.description, project: next.project, constraints: next.constraints })
        .where('id', '=', id)
        .execute();
      change.event({ type: 'segment-updated', project: next.project, before, after });
      change.touch('*');
      return after;
    });
  }

  async delete(actor: string, id: number): Promise<void> {
    await this.services.changes.write(actor, async (trx, change) => {
      const row = await trx.selectFrom('segments').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound(`No segment with id ${id}.`);
      const used = await segmentUsage(trx, id);
      if (used.length) {
        const list = [...new Set(used.map((u) => `"${u.flag}" (${u.environment})`))].slice(0, 5).join(', ');
        throw conflict(`Segment "${row.name}" is still used by ${used.length} strateg${used.length === 1 ? 'y' : 'ies'}: ${list}. Remove it from those strategies first.`);
      }
      await trx.deleteFrom('segments').where('id', '=', id).execute();
      change.event({ type: 'segment-deleted', project: row.project, before: segmentView(row) });
      change.touch('*');
    });
  }
}
