import type { Services } from '../services.js';
import type { EnvironmentRow, EnvironmentType } from '../storage/schema.js';
import { conflict, notFound } from '../http/problem.js';
import type { Trx } from '../events/changes.js';
import { conflictOnDuplicate } from '../flags/store.js';

export interface EnvironmentView {
  name: string;
  type: EnvironmentType;
  sortOrder: number;
  revision: number;
  createdAt: string;
}

export const environmentView = (row: EnvironmentRow): EnvironmentView => ({
  name: row.name,
  type: row.type,
  sortOrder: Number(row.sort_order),
  revision: Number(row.revision),
  createdAt: row.created_at,
});

/** Creates an environment inside a write (also used by import); every existing flag gets a disabled row in it. */
export async function insertEnvironment(trx: Trx, input: { name: string; type?: EnvironmentType; sortOrder?: number }): Promise<EnvironmentRow> {
  let sortOrder = input.sortOrder;
  if (sortOrder === undefined) {
    const max = await trx.selectFrom('environments').select((eb) => eb.fn.max('sort_order').as('max')).executeTakeFirst();
    sortOrder = max?.max === null || max?.max === undefined ? 1 : Number(max.max) + 1;
  }
  const row: EnvironmentRow = { name: input.name, type: input.type ?? 'development', sort_order: sortOrder, revision: 1, created_at: new Date().toISOString() };
  await trx.insertInto('environments').values(row).execute();
  await trx
    .insertInto('flag_environments')
    .columns(['flag', 'environment', 'enabled', 'variants'])
    .expression((eb) => eb.selectFrom('flags').select((e) => ['name', e.val(input.name).as('environment'), e.val(0).as('enabled'), e.val('[]').as('variants')]))
    .execute();
  return row;
}

export class EnvironmentService {
  constructor(private readonly services: Services) {}

  async list(): Promise<EnvironmentView[]> {
    const rows = await this.services.storage.db.selectFrom('environments').selectAll().orderBy('sort_order').orderBy('name').execute();
    return rows.map(environmentView);
  }

  async get(name: string): Promise<EnvironmentView> {
    const row = await this.services.storage.db.selectFrom('environments').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw notFound(`No environment named "${name}".`);
    return environmentView(row);
  }

  async create(actor: string, input: { name: string; type?: EnvironmentType; sortOrder?: number }): Promise<EnvironmentView> {
    return conflictOnDuplicate(this.createInner(actor, input), `An environment named "${input.name}" already exists.`);
  }

  private async createInner(actor: string, input: { name: string; type?: EnvironmentType; sortOrder?: number }): Promise<EnvironmentView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const existing = await trx.selectFrom('environments').select('name').where('name', '=', input.name).executeTakeFirst();
      if (existing) throw conflict(`An environment named "${input.name}" already exists.`);
      const row = await insertEnvironment(trx, input);
      const after = environmentView(row);
      change.event({ type: 'environment-created', environment: row.name, after });
      return after;
    });
  }

  async update(actor: string, name: string, input: { type?: EnvironmentType; sortOrder?: number }): Promise<EnvironmentView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const row = await trx.selectFrom('environments').selectAll().where('name', '=', name).executeTakeFirst();
      if (!row) throw notFound(`No environment named "${name}".`);
      const next = { ...row, type: input.type ?? row.type, sort_order: input.sortOrder ?? row.sort_order };
      const before = environmentView(row);
      const after = environmentView(next);
      if (JSON.stringify(before) === JSON.stringify(after)) return before;
      await trx.updateTable('environments').set({ type: next.type, sort_order: next.sort_order }).where('name', '=', name).execute();
      change.event({ type: 'environment-updated', environment: name, before, after });
      return after;
    });
  }

  async delete(actor: string, name: string): Promise<void> {
    await this.services.changes.write(actor, async (trx, change) => {
      const row = await trx.selectFrom('environments').selectAll().where('name', '=', name).executeTakeFirst();
      if (!row) throw notFound(`No environment named "${name}".`);
      const tokens = await trx.selectFrom('api_tokens').select('name').where('environment', '=', name).execute();
      if (tokens.length) {
        throw conflict(
          `Environment "${name}" still has ${tokens.length} API token(s) (${tokens.slice(0, 3).map((t) => `"${t.name}"`).join(', ')}); delete them first (DELETE /api/admin/tokens/:id).`,
        );
      }
      const count = await trx.selectFrom('environments').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      if (Number(count.n) <= 1) throw conflict(`Environment "${name}" is the last one; create another before deleting it.`);
      await trx.deleteFrom('strategies').where('environment', '=', name).execute();
      await trx.deleteFrom('flag_environments').where('environment', '=', name).execute();
      await trx.deleteFrom('environments').where('name', '=', name).execute();
      change.event({ type: 'environment-deleted', environment: name, before: environmentView(row) });
    });
  }
}
