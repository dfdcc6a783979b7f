import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTestApp, type TestApp } from './harness.js';
import { describeEachDialect } from './dialects.js';
import { migrations } from '../src/storage/migrations/index.js';
import { migrationsDone } from '../src/storage/database.js';
import { loadFlag, loadFlags } from '../src/flags/store.js';

describeEachDialect('storage', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('runs every migration', async () => {
    const db = t.services.storage.db;
    expect(await migrationsDone(t.services.storage)).toBe(true);
    const ran = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db);
    expect(ran.rows.map((r) => r.name)).toEqual(Object.keys(migrations).sort());
    const projects = await db.selectFrom('projects').select('id').execute();
    expect(projects.map((p) => p.id)).toEqual(['default']);
    const envs = await db.selectFrom('environments').select(['name', 'revision']).orderBy('sort_order').execute();
    expect(envs.map((e) => [e.name, Number(e.revision)])).toEqual([
      ['development', 1],
      ['production', 1],
    ]);
  });

  it('looks only at its own schema: another schema dropped meanwhile cannot fail migrations or /ready', async () => {
    const db = t.services.storage.db;
    const tables = await db.introspection.getTables({ withInternalKyselyTables: true });
    expect(tables.map((x) => x.name)).toEqual(expect.arrayContaining(['flags', 'kysely_migration', 'kysely_migration_lock']));
    expect((await db.introspection.getTables()).map((x) => x.name)).not.toContain('kysely_migration');
    if (dialect !== 'postgres') return;
    const own = (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0].s;
    const neighbour = `neighbour_${process.pid}`;
    await sql.raw(`create schema "${neighbour}"; create table "${neighbour}".flags (name text)`).execute(db);
    try {
      const seen = await db.introspection.getTables({ withInternalKyselyTables: true });
      expect(new Set(seen.map((x) => x.schema))).toEqual(new Set([own]));
    } finally {
      await sql.raw(`drop schema "${neighbour}" cascade`).execute(db);
    }
    // Other deployments come and go on the same database while we check that we are ready.
    const churn = (async () => {
      for (let i = 0; i < 20; i++) {
        const other = `churn_${process.pid}_${i}`;
        await sql.raw(`create schema "${other}"; create table "${other}".flags (name text); drop schema "${other}" cascade`).execute(db);
      }
    })();
    for (let i = 0; i < 20; i++) expect(await migrationsDone(t.services.storage)).toBe(true);
    await churn;
  });

  it('stores dependencies on missing parents (002) and cascades a child’s rows on delete', async () => {
    const db = t.services.storage.db;
    const ts = new Date().toISOString();
    await db.insertInto('flags').values({ name: 'child', project: 'default', type: 'release', description: null, owner: null, tags: '[]', impression_data: 0, archived_at: null, created_at: ts, updated_at: ts }).execute();
    await db.insertInto('flag_dependencies').values({ child: 'child', parent: 'does-not-exist', enabled: 1, variants: '[]' }).execute();
    await db.insertInto('flag_environments').values({ flag: 'child', environment: 'development', enabled: 1, variants: '[]' }).execute();
    await db
      .insertInto('strategies')
      .values({ id: 's1', flag: 'child', environment: 'development', name: 'default', title: null, disabled: 0, parameters: '{}', constraints: '[]', segments: '[]', variants: '[]', sort_order: 0 })
      .execute();
    const view = await loadFlag(db, 'child');
    expect(view?.dependencies).toEqual([{ feature: 'does-not-exist', enabled: true, variants: [] }]);
    expect(view?.environments.find((e) => e.name === 'development')).toMatchObject({ enabled: true, strategies: [{ id: 's1', name: 'default' }] });
    // A duplicate dependency violates the primary key.
    await expect(db.insertInto('flag_dependencies').values({ child: 'child', parent: 'does-not-exist', enabled: 1, variants: '[]' }).execute()).rejects.toThrow();
    await db.deleteFrom('flags').where('name', '=', 'child').execute();
    expect(await db.selectFrom('flag_dependencies').selectAll().execute()).toEqual([]);
    expect(await db.selectFrom('strategies').selectAll().execute()).toEqual([]);
    expect(await db.selectFrom('flag_environments').selectAll().execute()).toEqual([]);
  });

  it('writes through the change log in one transaction: all or nothing', async () => {
    const db = t.services.storage.db;
    const rev = async () => Number((await db.selectFrom('environments').select('revision').where('name', '=', 'production').executeTakeFirstOrThrow()).revision);
    const before = await rev();
    await expect(
      t.services.changes.write('tester', async (trx, change) => {
        await trx.insertInto('projects').values({ id: 'doomed', name: 'Doomed', description: null, created_at: new Date().toISOString() }).execute();
        change.event({ type: 'project-created', project: 'doomed' });
        change.touch('*');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.selectFrom('projects').select('id').where('id', '=', 'doomed').execute()).toEqual([]);
    expect(await rev()).toBe(before);
    await t.services.changes.write('tester', async (trx, change) => {
      await trx.insertInto('projects').values({ id: 'kept', name: 'Kept', description: null, created_at: new Date().toISOString() }).execute();
      change.event({ type: 'project-created', project: 'kept', after: { id: 'kept' } });
      change.touch('production');
    });
    expect(await rev()).toBe(before + 1);
    const event = await db.selectFrom('events').selectAll().where('project', '=', 'kept').executeTakeFirstOrThrow();
    expect(event).toMatchObject({ type: 'project-created', actor: 'tester', after: '{"id":"kept"}', before: null });
  });

  it('loads flags in bulk with filters', async () => {
    const db = t.services.storage.db;
    const ts = new Date().toISOString();
    const flags = Array.from({ length: 30 }, (_, i) => ({
      name: `bulk-${String(i).padStart(2, '0')}`,
      project: i % 2 ? 'kept' : 'default',
      type: 'release',
      description: null,
      owner: null,
      tags: '["t"]',
      impression_data: 0,
      archived_at: i % 5 === 0 ? ts : null,
      created_at: ts,
      updated_at: ts,
    }));
    await db.insertInto('flags').values(flags).execute();
    expect(await loadFlags(db, {})).toHaveLength(30);
    expect(await loadFlags(db, { project: 'kept' })).toHaveLength(15);
    expect(await loadFlags(db, { archived: true })).toHaveLength(6);
    expect(await loadFlags(db, { archived: false, project: 'default' })).toHaveLength(12);
    expect((await loadFlags(db, { names: ['bulk-01', 'bulk-02', 'nope'] })).map((f) => f.name)).toEqual(['bulk-01', 'bulk-02']);
    expect(await loadFlags(db, { names: [] })).toEqual([]);
    expect((await loadFlag(db, 'bulk-03'))?.tags).toEqual(['t']);
  });
});
