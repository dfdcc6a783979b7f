import { randomUUID } from 'node:crypto';
import type { Services } from '../services.js';
import type { ChangeRecorder, Trx } from '../events/changes.js';
import { badRequest, notFound } from '../http/problem.js';
import type { EnvironmentType } from '../storage/schema.js';
import { loadFlags, type FlagView } from '../flags/store.js';
import { insertEnvironment } from '../environments/service.js';
import { projectView } from '../projects/service.js';
import { segmentView, type SegmentView } from '../segments/service.js';
import { parseImportFile, type ImportFile, type ImportedFlag } from './format.js';

/** A flag as exported: its metadata, and its state per environment keyed by name. */
export type ExportFlag = Omit<FlagView, 'createdAt' | 'updatedAt' | 'environments'> & {
  environments: Record<string, Pick<FlagView['environments'][number], 'enabled' | 'strategies' | 'variants'>>;
};

export interface SwitchyardExport {
  format: 'switchyard-export';
  version: 1;
  exportedAt: string;
  projects: { id: string; name: string; description: string }[];
  environments: { name: string; type: EnvironmentType; sortOrder: number }[];
  segments: Omit<SegmentView, 'createdAt'>[];
  flags: ExportFlag[];
}

export interface ImportResult {
  flags: number;
  segments: number;
  /** Revision of the target environment after the import (the highest one when several). */
  revision: number;
  revisions: Record<string, number>;
}

const CHUNK = 500;
function chunks<T>(list: T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

const now = () => new Date().toISOString();

export class ImportExportService {
  constructor(private readonly services: Services) {}

  async export(filter: { environment?: string; project?: string }): Promise<SwitchyardExport> {
    const db = this.services.storage.db;
    let envQuery = db.selectFrom('environments').selectAll().orderBy('sort_order').orderBy('name');
    if (filter.environment !== undefined) envQuery = envQuery.where('name', '=', filter.environment);
    const envs = await envQuery.execute();
    if (filter.environment !== undefined && envs.length === 0) throw notFound(`No environment named "${filter.environment}".`);
    let projectQuery = db.selectFrom('projects').selectAll().orderBy('id');
    if (filter.project !== undefined) projectQuery = projectQuery.where('id', '=', filter.project);
    const projects = await projectQuery.execute();
    if (filter.project !== undefined && projects.length === 0) throw notFound(`No project with id "${filter.project}".`);
    let segmentQuery = db.selectFrom('segments').selectAll().orderBy('id');
    if (filter.project !== undefined) segmentQuery = segmentQuery.where((eb) => eb.or([eb('project', 'is', null), eb('project', '=', filter.project!)]));
    const segments = await segmentQuery.execute();
    // Sorted by name so that an export does not depend on when flags were created.
    const flags = (await loadFlags(db, { project: filter.project })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const envNames = new Set(envs.map((e) => e.name));
    return {
      format: 'switchyard-export',
      version: 1,
      exportedAt: now(),
      projects: projects.map((p) => {
        const { createdAt: _c, ...rest } = projectView(p);
        return rest;
      }),
      environments: envs.map((e) => ({ name: e.name, type: e.type, sortOrder: Number(e.sort_order) })),
      segments: segments.map((s) => {
        const { createdAt: _c, ...rest } = segmentView(s);
        return rest;
      }),
      flags: flags.map((f) => ({
        name: f.name,
        project: f.project,
        type: f.type,
        description: f.description,
        owner: f.owner,
        tags: f.tags,
        impressionData: f.impressionData,
        archived: f.archived,
        dependencies: f.dependencies,
        environments: Object.fromEntries(
          f.environments.filter((e) => envNames.has(e.name)).map((e) => [e.name, { enabled: e.enabled, strategies: e.strategies, variants: e.variants }]),
        ),
      })),
    };
  }

  async import(actor: string, body: unknown, options: { environment?: string; project?: string }): Promise<ImportResult> {
    const file = parseImportFile(body);
    const touchedEnvs = new Set<string>();
    const counts = await this.services.changes.write(actor, async (trx, change) => {
      const envMap = await this.environments(trx, file, options.environment, change);
      for (const target of envMap.values()) touchedEnvs.add(target);
      await this.projects(trx, file, options.project, change);
      const segmentIds = await this.segments(trx, file, options.project, change);
      await this.flags(trx, file, options.project, envMap, segmentIds, change);
      change.event({
        type: 'features-imported',
        project: options.project ?? null,
        environment: options.environment ?? null,
        after: { format: file.format, flags: file.flags.map((f) => f.name), segments: file.segments.map((s) => s.name), environments: [...touchedEnvs] },
      });
      change.touch('*');
      return { flags: file.flags.length, segments: new Set(file.segments.map((s) => s.name)).size };
    });
    const rows = await this.services.storage.db.selectFrom('environments').select(['name', 'revision']).execute();
    const revisions = Object.fromEntries(rows.filter((r) => touchedEnvs.size === 0 || touchedEnvs.has(r.name)).map((r) => [r.name, Number(r.revision)]));
    const revision = options.environment !== undefined ? revisions[options.environment] : Math.max(0, ...Object.values(revisions));
    return { ...counts, revision, revisions };
  }

  /** Which environment of ours each environment of the file goes to (creating missing ones for a full Switchyard import). */
  private async environments(trx: Trx, file: ImportFile, target: string | undefined, change: ChangeRecorder) {
    const existing = new Set((await trx.selectFrom('environments').select('name').execute()).map((e) => e.name));
    const map = new Map<string, string>();
    if (file.format === 'unleash') {
      if (target === undefined) throw badRequest('Importing an Unleash payload needs ?environment=ENV: the payload holds one environment’s configuration.');
      if (!existing.has(target)) throw badRequest(`Environment "${target}" does not exist; create it first (POST /api/admin/environments).`);
      map.set('', target);
      return map;
    }
    const inFile = new Set<string>(file.environments.map((e) => e.name));
    for (const f of file.flags) for (const env of Object.keys(f.environments)) inFile.add(env);
    if (target !== undefined) {
      if (!existing.has(target)) throw badRequest(`Environment "${target}" does not exist; create it first (POST /api/admin/environments).`);
      if (inFile.has(target)) map.set(target, target);
      else if (inFile.size === 1) map.set([...inFile][0], target);
      else if (inFile.size > 1) {
        throw badRequest(`The export holds environments ${[...inFile].map((e) => `"${e}"`).join(', ')} but not "${target}"; import without ?environment or pick one of those.`);
      }
      return map;
    }
    for (const name of inFile) {
      map.set(name, name);
      if (!existing.has(name)) {
        const declared = file.environments.find((e) => e.name === name);
        const row = await insertEnvironment(trx, { name, type: declared?.type ?? 'development', sortOrder: declared?.sortOrder });
        existing.add(name);
        change.event({ type: 'environment-created', environment: name, after: { name, type: row.type, sortOrder: Number(row.sort_order), revision: Number(row.revision), createdAt: row.created_at } });
      }
    }
    return map;
  }

  private async projects(trx: Trx, file: ImportFile, override: string | undefined, change: ChangeRecorder) {
    const needed = new Set<string>();
    if (override !== undefined) needed.add(override);
    else {
      for (const f of file.flags) needed.add(f.project ?? 'default');
      for (const s of file.segments) if (s.project) needed.add(s.project);
      for (const p of file.projects) needed.add(p.id);
    }
    if (needed.size === 0) return;
    const existing = new Set((await trx.selectFrom('projects').select('id').execute()).map((p) => p.id));
    for (const id of needed) {
      if (existing.has(id)) continue;
      const declared = file.projects.find((p) => p.id === id);
      const row = { id, name: declared?.name ?? id, description: declared?.description ?? null, created_at: now() };
      await trx.insertInto('projects').values(row).execute();
      change.event({ type: 'project-created', project: id, after: projectView(row) });
    }
  }

  /** Upserts the file's segments by name; returns file id → our id. */
  private async segments(trx: Trx, file: ImportFile, override: string | undefined, change: ChangeRecorder): Promise<Map<number, number>> {
    const ids = new Map<number, number>();
    if (file.segments.length === 0) return ids;
    const rows = await trx.selectFrom('segments').selectAll().execute();
    const byName = new Map(rows.map((r) => [r.name, r]));
    for (const s of file.segments) {
      const project = s.project === null ? null : (override ?? s.project);
      const current = byName.get(s.name);
      const constraints = JSON.stringify(s.constraints);
      if (current) {
        const description = s.description ?? current.description;
        const before = segmentView(current);
        if (current.constraints !== constraints || current.description !== description || current.project !== project) {
          await trx.updateTable('segments').set({ constraints, description, project }).where('id', '=', current.id).execute();
          const updated = { ...current, constraints, description, project };
          byName.set(s.name, updated);
          change.event({ type: 'segment-updated', project, before, after: segmentView(updated) });
        }
        ids.set(s.id, Number(current.id));
      } else {
        const row = { name: s.name, description: s.description, project, constraints, created_at: now() };
        const inserted = await trx.insertInto('segments').values(row).returning('id').executeTakeFirstOrThrow();
        const full = { ...row, id: Number(inserted.id) };
        byName.set(s.name, full);
        ids.set(s.id, full.id);
        change.event({ type: 'segment-created', project, after: segmentView(full) });
      }
    }
    return ids;
  }

  private async flags(
    trx: Trx,
    file: ImportFile,
    override: string | undefined,
    envMap: Map<string, string>,
    segmentIds: Map<number, number>,
    change: ChangeRecorder,
  ) {
    if (file.flags.length === 0) return;
    const names = file.flags.map((f) => f.name);
    const nameSet = new Set(names);
    const beforeViews = new Map(
      (names.length <= CHUNK ? await loadFlags(trx, { names }) : (await loadFlags(trx)).filter((f) => nameSet.has(f.name))).map((f) => [f.name, f]),
    );
    const existingRows = new Map<string, { archived_at: string | null; owner: string | null; tags: string }>();
    for (const part of chunks(names)) {
      for (const r of await trx.selectFrom('flags').select(['name', 'archived_at', 'owner', 'tags']).where('name', 'in', part).execute()) existingRows.set(r.name, r);
    }
    const ourSegments = new Set((await trx.selectFrom('segments').select('id').execute()).map((s) => Number(s.id)));
    const mapSegment = (id: number) => {
      const mapped = segmentIds.get(id);
      if (mapped !== undefined) return mapped;
      if (ourSegments.has(id)) return id;
      // A reference to a segment that exists nowhere: keep it dangling (negative ids are never
      // assigned), so the strategy never matches, as an Unleash SDK treats a missing segment.
      return -Math.abs(id);
    };
    const ts = now();
    const allEnvs = (await trx.selectFrom('environments').select('name').execute()).map((e) => e.name);

    // 1. Flag rows.
    const fresh: ImportedFlag[] = [];
    for (const f of file.flags) {
      const project = override ?? f.project ?? 'default';
      const current = existingRows.get(f.name);
      const archivedAt = f.archived ? (current?.archived_at ?? ts) : null;
      if (current) {
        await trx
          .updateTable('flags')
          .set({
            project,
            type: f.type,
            description: f.description,
            impression_data: f.impressionData ? 1 : 0,
            archived_at: archivedAt,
            updated_at: ts,
            ...(f.owner !== undefined ? { owner: f.owner || null } : {}),
            ...(f.tags !== undefined ? { tags: JSON.stringify([...new Set(f.tags)]) } : {}),
          })
          .where('name', '=', f.name)
          .execute();
      } else fresh.push(f);
    }
    for (const part of chunks(fresh, 200)) {
      await trx
        .insertInto('flags')
        .values(
          part.map((f) => ({
            name: f.name,
            project: override ?? f.project ?? 'default',
            type: f.type,
            description: f.description,
            owner: f.owner || null,
            tags: JSON.stringify([...new Set(f.tags ?? [])]),
            impression_data: f.impressionData ? 1 : 0,
            archived_at: f.archived ? ts : null,
            created_at: ts,
            updated_at: ts,
          })),
        )
        .execute();
    }
    const freshRows = fresh.flatMap((f) => allEnvs.map((environment) => ({ flag: f.name, environment, enabled: 0, variants: '[]' })));
    for (const part of chunks(freshRows)) await trx.insertInto('flag_environments').values(part).execute();

    // 2. Per-environment state: replace enabled, variants and strategies.
    const candidateIds = new Set<string>();
    for (const [fileEnv, env] of envMap) {
      const stateFlags = file.flags.filter((f) => f.environments[fileEnv]);
      for (const part of chunks(stateFlags.map((f) => f.name))) {
        await trx.deleteFrom('strategies').where('environment', '=', env).where('flag', 'in', part).execute();
        await trx.deleteFrom('flag_environments').where('environment', '=', env).where('flag', 'in', part).execute();
      }
      for (const f of stateFlags) for (const s of f.environments[fileEnv].strategies) if (s.id) candidateIds.add(s.id);
    }
    const taken = new Set<string>();
    for (const part of chunks([...candidateIds])) {
      for (const r of await trx.selectFrom('strategies').select('id').where('id', 'in', part).execute()) taken.add(r.id);
    }
    const strategyRows: any[] = [];
    const feRows: any[] = [];
    for (const [fileEnv, env] of envMap) {
      for (const f of file.flags) {
        const state = f.environments[fileEnv];
        if (!state) continue;
        feRows.push({ flag: f.name, environment: env, enabled: state.enabled ? 1 : 0, variants: JSON.stringify(state.variants) });
        for (const s of state.strategies) {
          let id = s.id;
          if (!id || taken.has(id)) id = randomUUID();
          taken.add(id);
          strategyRows.push({
            id,
            flag: f.name,
            environment: env,
            name: s.name,
            title: s.title,
            disabled: s.disabled ? 1 : 0,
            parameters: JSON.stringify(s.parameters),
            constraints: JSON.stringify(s.constraints),
            segments: JSON.stringify(s.segments.map(mapSegment)),
            variants: JSON.stringify(s.variants),
            sort_order: s.sortOrder,
          });
        }
      }
    }
    for (const part of chunks(feRows)) await trx.insertInto('flag_environments').values(part).execute();
    for (const part of chunks(strategyRows, 300)) await trx.insertInto('strategies').values(part).execute();

    // 3. Dependencies, stored as written (a missing parent keeps the child off, as in Unleash).
    for (const part of chunks(names)) await trx.deleteFrom('flag_dependencies').where('child', 'in', part).execute();
    const depRows = file.flags.flatMap((f) => {
      const seen = new Set<string>();
      return f.dependencies
        .filter((d) => !seen.has(d.feature) && seen.add(d.feature))
        .map((d) => ({ child: f.name, parent: d.feature, enabled: d.enabled ? 1 : 0, variants: JSON.stringify(d.variants) }));
    });
    for (const part of chunks(depRows)) await trx.insertInto('flag_dependencies').values(part).execute();

    // 4. Audit: one event per flag with before/after.
    const afterViews = new Map(
      (names.length <= CHUNK ? await loadFlags(trx, { names }) : (await loadFlags(trx)).filter((f) => nameSet.has(f.name))).map((f) => [f.name, f]),
    );
    const targetEnv = envMap.size === 1 ? [...envMap.values()][0] : null;
    for (const f of file.flags) {
      const after = afterViews.get(f.name)!;
      change.event({ type: 'feature-imported', project: after.project, environment: targetEnv, flag: f.name, before: beforeViews.get(f.name) ?? null, after });
    }
  }
}
