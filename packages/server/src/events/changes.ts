import { EventEmitter } from 'node:events';
import type { Transaction } from 'kysely';
import type { Database } from '../storage/schema.js';
import type { Storage } from '../storage/database.js';

export type Trx = Transaction<Database>;

export interface ChangeEvent {
  type: string;
  project?: string | null;
  environment?: string | null;
  flag?: string | null;
  before?: unknown;
  after?: unknown;
}

/** What a write does besides its own rows: audit events and which environments' revisions move. */
export interface ChangeRecorder {
  readonly actor: string;
  event(e: ChangeEvent): void;
  /** Marks environments whose SDK payload changed; `'*'` means all of them. */
  touch(environments: string | string[] | '*'): void;
}

export interface RevisionChange {
  environment: string;
  revision: number;
}

/** What one write transaction did, as seen by publishers. */
export interface CommittedChange {
  bumped: RevisionChange[];
  events: ChangeEvent[];
  /** The audit log ids of `events`, in the same order. */
  eventIds: number[];
  actor: string;
  /** When the events were recorded (their `created_at`). */
  at: string;
}

/**
 * The one way to change configuration: a transaction that also appends the audit events and bumps
 * the revision of every touched environment. Listeners hear `revision` after the commit, and
 * `committed` after every commit that recorded events or bumped revisions.
 */
export class Changes extends EventEmitter<{ revision: [RevisionChange[]]; committed: [CommittedChange] }> {
  private readonly publishers: Array<(trx: Trx, committed: CommittedChange) => Promise<void>> = [];

  constructor(private readonly storage: Storage) {
    super();
    this.setMaxListeners(0);
  }

  /**
   * Runs `publish` at the end of every write transaction that bumped revisions or recorded events:
   * a PostgreSQL NOTIFY issued there is delivered to other replicas exactly when the write commits.
   */
  addPublisher(publish: (trx: Trx, committed: CommittedChange) => Promise<void>): () => void {
    this.publishers.push(publish);
    return () => {
      const i = this.publishers.indexOf(publish);
      if (i >= 0) this.publishers.splice(i, 1);
    };
  }

  async write<T>(actor: string, work: (trx: Trx, change: ChangeRecorder) => Promise<T>): Promise<T> {
    const events: ChangeEvent[] = [];
    let touched: Set<string> | '*' = new Set();
    const recorder: ChangeRecorder = {
      actor,
      event: (e) => events.push(e),
      touch: (envs) => {
        if (touched === '*') return;
        if (envs === '*') touched = '*';
        else for (const env of Array.isArray(envs) ? envs : [envs]) (touched as Set<string>).add(env);
      },
    };
    let bumped: RevisionChange[] = [];
    let committed: CommittedChange | null = null;
    const result = await this.storage.db.transaction().execute(async (trx) => {
      const value = await work(trx, recorder);
      const now = new Date().toISOString();
      let eventIds: number[] = [];
      if (events.length > 0) {
        const rows = await trx
          .insertInto('events')
          .values(
            events.map((e) => ({
              type: e.type,
              actor,
              project: e.project ?? null,
              environment: e.environment ?? null,
              flag: e.flag ?? null,
              before: e.before === undefined ? null : JSON.stringify(e.before),
              after: e.after === undefined ? null : JSON.stringify(e.after),
              created_at: now,
            })),
          )
          .returning('id')
          .execute();
        // Identities are handed out in insertion order within one statement.
        eventIds = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
      }
      bumped = await bumpRevisions(trx, touched);
      if (bumped.length > 0 || events.length > 0) {
        committed = { bumped, events, eventIds, actor, at: now };
        for (const publish of this.publishers) await publish(trx, committed);
      }
      return value;
    });
    if (bumped.length > 0) this.emit('revision', bumped);
    if (committed) this.emit('committed', committed);
    return result;
  }
}

async function bumpRevisions(trx: Trx, touched: Set<string> | '*'): Promise<RevisionChange[]> {
  if (touched !== '*' && touched.size === 0) return [];
  let query = trx.updateTable('environments').set((eb) => ({ revision: eb('revision', '+', 1) }));
  if (touched !== '*') query = query.where('name', 'in', [...touched]);
  await query.execute();
  let select = trx.selectFrom('environments').select(['name', 'revision']);
  if (touched !== '*') select = select.where('name', 'in', [...touched]);
  const rows = await select.execute();
  return rows.map((r) => ({ environment: r.name, revision: Number(r.revision) }));
}
