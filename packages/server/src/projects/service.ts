import type { Services } from '../services.js';
import type { ProjectRow } from '../storage/schema.js';
import { badRequest, conflict, notFound } from '../http/problem.js';
import { conflictOnDuplicate } from '../flags/store.js';

export interface ProjectView {
  id: string;
  name: string;
  description: string;
  createdAt: string;
}

export const projectView = (row: ProjectRow): ProjectView => ({
  id: row.id,
  name: row.name,
  description: row.description ?? '',
  createdAt: row.created_at,
});

export class ProjectService {
  constructor(private readonly services: Services) {}

  async list(): Promise<ProjectView[]> {
    const rows = await this.services.storage.db.selectFrom('projects').selectAll().orderBy('created_at').orderBy('id').execute();
    return rows.map(projectView);
  }

  async get(id: string): Promise<ProjectView> {
    const row = await this.services.storage.db.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`No project with id "${id}".`);
    return projectView(row);
  }

  async create(actor: string, input: { id: string; name?: string; description?: string }): Promise<ProjectView> {
    return conflictOnDuplicate(this.createInner(actor, input), `A project with id "${input.id}" already exists.`);
  }

  private async createInner(actor: string, input: { id: string; name?: string; description?: string }): Promise<ProjectView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const existing = await trx.selectFrom('projects').select('id').where('id', '=', input.id).executeTakeFirst();
      if (existing) throw conflict(`A project with id "${input.id}" already exists.`);
      const row: ProjectRow = {
        id: input.id,
        name: input.name?.trim() || input.id,
        description: input.description ?? null,
        created_at: new Date().toISOString(),
      };
      await trx.insertInto('projects').values(row).execute();
      const after = projectView(row);
      change.event({ type: 'project-created', project: row.id, after });
      return after;
    });
  }

  async update(actor: string, id: string, input: { name?: string; description?: string }): Promise<ProjectView> {
    return this.services.changes.write(actor, async (trx, change) => {
      const row = await trx.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound(`No project with id "${id}".`);
      if (input.name !== undefined && !input.name.trim()) throw badRequest('A project name cannot be empty.');
      const next: ProjectRow = {
        ...row,
        name: input.name !== undefined ? input.name.trim() : row.name,
        description: input.description !== undefined ? input.description : row.description,
      };
      const before = projectView(row);
      const after = projectView(next);
      if (JSON.stringify(before) === JSON.stringify(after)) return before;
      await trx.updateTable('projects').set({ name: next.name, description: next.description }).where('id', '=', id).execute();
      change.event({ type: 'project-updated', project: id, before, after });
      return after;
    });
  }

  async delete(actor: string, id: string): Promise<void> {
    await this.services.changes.write(actor, async (trx, change) => {
      const row = await trx.selectFrom('projects').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound(`No project with id "${id}".`);
      if (id === 'default') throw conflict('The "default" project cannot be deleted.');
      const flags = await trx.selectFrom('flags').select('name').where('project', '=', id).limit(6).execute();
      if (flags.length) {
        const names = flags.slice(0, 5).map((f) => `"${f.name}"`).join(', ');
        throw conflict(`Project "${id}" still has flags (${names}${flags.length > 5 ? ', …' : ''}); move or delete them first (archived flags count too).`);
      }
      const segments = await trx.selectFrom('segments').select('name').where('project', '=', id).limit(1).execute();
      if (segments.length) throw conflict(`Project "${id}" still has segments (e.g. "${segments[0].name}"); delete them or make them global first.`);
      await trx.deleteFrom('projects').where('id', '=', id).execute();
      change.event({ type: 'project-deleted', project: id, before: projectView(row) });
    });
  }
}
