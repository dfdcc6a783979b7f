import { randomUUID } from 'node:crypto';
import type { Services } from '../../services.js';
import type { Trx } from '../changes.js';
import type { EventView } from '../service.js';
import { badRequest, conflict, notFound } from '../../http/problem.js';
import { conflictOnDuplicate } from '../../flags/store.js';
import { checkConfig, sinkView, type ConfigInput, type PublicConfig, type SinkView } from './config.js';
import { SinkDirectory } from './directory.js';
import type { SecretBox } from './secrets.js';
import { Aborted, DeliveryError, send } from './senders.js';
import type { DeliveriesTable, DeliveryStatus, SinkType, SinksTable } from './tables.js';
import type { DeliveryWorker } from './worker.js';
import type { Selectable } from 'kysely';

export interface CreateSinkInput {
  name: string;
  type: SinkType;
  enabled?: boolean;
  environments?: string[];
  events?: string[];
  config: ConfigInput;
}

export interface UpdateSinkInput {
  name?: string;
  enabled?: boolean;
  environments?: string[];
  events?: string[];
  config?: ConfigInput;
  rotateSecret?: boolean;
}

/** A sink as returned by create and update: with the webhook secret when the server just generated it (shown this once). */
export type SinkWithSecret = SinkView & { secret?: string };

export interface DeliveryView {
  id: number;
  sinkId: string;
  eventId: number | null;
  eventType: string;
  summary?: string;
  status: DeliveryStatus;
  attempt: number;
  nextAttemptAt: string | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
}

export interface TestResult {
  delivered: boolean;
  deliveryId: number;
  /** What the receiver said (e.g. `HTTP 200`, `point 17`). */
  result?: string;
  error?: string;
  durationMs: number;
}

const now = () => new Date().toISOString();
const unique = (list: string[] | undefined) => (list === undefined ? undefined : [...new Set(list)]);

function deliveryView(row: Selectable<DeliveriesTable>): DeliveryView {
  let type = '?';
  try {
    type = (JSON.parse(row.payload) as EventView).type;
  } catch {
    /* shown as "?" */
  }
  return {
    id: Number(row.id),
    sinkId: row.sink_id,
    eventId: row.event_id === null ? null : Number(row.event_id),
    eventType: type,
    status: row.status,
    attempt: Number(row.attempt),
    nextAttemptAt: row.status === 'pending' || row.status === 'sending' ? row.next_attempt_at : null,
    lastError: row.last_error,
    createdAt: row.created_at,
    deliveredAt: row.delivered_at,
  };
}

/** Sinks of a project: CRUD (each write audited), a test send, and the delivery log. */
export class SinkService {
  constructor(
    private readonly services: Services,
    private readonly directory: SinkDirectory,
    private readonly box: SecretBox,
    private readonly worker: DeliveryWorker,
  ) {}

  private get db() {
    return this.services.storage.db;
  }

  private async requireProject(project: string): Promise<void> {
    const row = await this.db.selectFrom('projects').select('id').where('id', '=', project).executeTakeFirst();
    if (!row) throw notFound(`No project with id "${project}".`);
  }

  private async requireSink(db: Trx | Services['storage']['db'], project: string, id: string): Promise<Selectable<SinksTable>> {
    const row = await db.selectFrom('sinks').selectAll().where('id', '=', id).where('project', '=', project).executeTakeFirst();
    if (!row) throw notFound(`No sink "${id}" in project "${project}".`);
    return row;
  }

  private async checkEnvironments(trx: Trx, environments: string[] | undefined): Promise<void> {
    if (!environments?.length) return;
    const rows = await trx.selectFrom('environments').select('name').where('name', 'in', environments).execute();
    const missing = environments.filter((e) => !rows.some((r) => r.name === e));
    if (missing.length) throw badRequest(`environments lists ${missing.map((m) => `"${m}"`).join(', ')}, which do not exist; create them first or leave them out.`);
  }

  async list(project: string): Promise<SinkView[]> {
    await this.requireProject(project);
    const rows = await this.db.selectFrom('sinks').selectAll().where('project', '=', project).orderBy('created_at').orderBy('id').execute();
    return rows.map(sinkView);
  }

  async get(project: string, id: string): Promise<SinkView> {
    await this.requireProject(project);
    return sinkView(await this.requireSink(this.db, project, id));
  }

  async create(actor: string, project: string, input: CreateSinkInput): Promise<SinkWithSecret> {
    const checked = checkConfig(input.type, input.config);
    const result = await conflictOnDuplicate(
      this.services.changes.write(actor, async (trx, change) => {
        const p = await trx.selectFrom('projects').select('id').where('id', '=', project).executeTakeFirst();
        if (!p) throw notFound(`No project with id "${project}".`);
        const name = input.name.trim();
        if (!name) throw badRequest('A sink needs a name.');
        const taken = await trx.selectFrom('sinks').select('id').where('project', '=', project).where('name', '=', name).executeTakeFirst();
        if (taken) throw conflict(`Project "${project}" already has a sink named "${name}".`);
        await this.checkEnvironments(trx, input.environments);
        const ts = now();
        const row: SinksTable = {
          id: randomUUID(),
          project,
          name,
          type: input.type,
          enabled: input.enabled === false ? 0 : 1,
          environments: JSON.stringify(unique(input.environments) ?? []),
          events: JSON.stringify(unique(input.events) ?? []),
          config: JSON.stringify(checked.config),
          secrets: this.box.seal(checked.secrets),
          created_at: ts,
          updated_at: ts,
        };
        await trx.insertInto('sinks').values(row).execute();
        await SinkDirectory.bump(trx);
        const view = sinkView(row);
        change.event({ type: 'sink-created', project, after: view });
        return view;
      }),
      `Project "${project}" already has a sink named "${input.name.trim()}".`,
    ).finally(() => this.directory.invalidate());
    return checked.generated ? { ...result, secret: checked.generated } : result;
  }

  async update(actor: string, project: string, id: string, input: UpdateSinkInput): Promise<SinkWithSecret> {
    let generated: string | undefined;
    const result = await conflictOnDuplicate(
      this.services.changes.write(actor, async (trx, change) => {
        const row = await this.requireSink(trx, project, id);
        let config = row.config;
        let secrets = row.secrets;
        let secretsChanged: string[] = [];
        if (input.config !== undefined || input.rotateSecret) {
          const checked = checkConfig(row.type, input.config ?? {}, { config: JSON.parse(row.config) as PublicConfig, secrets: this.box.open(row.secrets) }, input.rotateSecret);
          config = JSON.stringify(checked.config);
          generated = checked.generated;
          secretsChanged = checked.secretsChanged;
          if (secretsChanged.length) secrets = this.box.seal(checked.secrets);
        }
        const name = input.name !== undefined ? input.name.trim() : row.name;
        if (!name) throw badRequest('A sink needs a name.');
        if (name !== row.name) {
          const taken = await trx.selectFrom('sinks').select('id').where('project', '=', project).where('name', '=', name).executeTakeFirst();
          if (taken) throw conflict(`Project "${project}" already has a sink named "${name}".`);
        }
        await this.checkEnvironments(trx, input.environments);
        const next: SinksTable = {
          ...row,
          name,
          enabled: input.enabled === undefined ? row.enabled : input.enabled ? 1 : 0,
          environments: input.environments !== undefined ? JSON.stringify(unique(input.environments)) : row.environments,
          events: input.events !== undefined ? JSON.stringify(unique(input.events)) : row.events,
          config,
          secrets,
          updated_at: now(),
        };
        const before = sinkView(row);
        const after = sinkView(next);
        const same = JSON.stringify({ ...before, updatedAt: '' }) === JSON.stringify({ ...after, updatedAt: '' });
        if (same && secretsChanged.length === 0) return before;
        await trx.updateTable('sinks').set(next).where('id', '=', id).execute();
        await SinkDirectory.bump(trx);
        change.event({ type: 'sink-updated', project, before, after: secretsChanged.length ? { ...after, secretsChanged } : after });
        return after;
      }),
      `Project "${project}" already has a sink named "${input.name?.trim()}".`,
    ).finally(() => this.directory.invalidate());
    return generated ? { ...result, secret: generated } : result;
  }

  async delete(actor: string, project: string, id: string): Promise<void> {
    await this.services.changes
      .write(actor, async (trx, change) => {
        const row = await this.requireSink(trx, project, id);
        await trx.deleteFrom('deliveries').where('sink_id', '=', id).execute();
        await trx.deleteFrom('sink_annotations').where('sink_id', '=', id).execute();
        await trx.deleteFrom('sinks').where('id', '=', id).execute();
        await SinkDirectory.bump(trx);
        change.event({ type: 'sink-deleted', project, before: sinkView(row) });
      })
      .finally(() => this.directory.invalidate());
  }

  /** Sends a `sink-test` event now (even to a disabled sink) and says what happened; recorded in the delivery log. */
  async test(actor: string, project: string, id: string): Promise<TestResult> {
    await this.requireProject(project);
    const row = await this.requireSink(this.db, project, id);
    const event: EventView = { id: 0, type: 'sink-test', actor, project, environment: null, flag: null, before: null, after: { sink: row.name }, createdAt: now() };
    const opts = this.worker.options;
    const inserted = await this.db
      .insertInto('deliveries')
      .values({
        sink_id: id,
        event_id: null,
        payload: JSON.stringify(event),
        attempt: 1,
        // Claimed by this request: the worker leaves it alone.
        next_attempt_at: new Date(Date.now() + opts.leaseMs).toISOString(),
        status: 'sending',
        last_error: null,
        created_at: event.createdAt,
        delivered_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const deliveryId = Number(inserted.id);
    const started = Date.now();
    let result: string | undefined;
    let error: string | undefined;
    try {
      const sink = { id: row.id, project: row.project, name: row.name, type: row.type, config: JSON.parse(row.config) as PublicConfig, secrets: this.box.open(row.secrets) };
      result = await send({ deliveryId, event, sink, test: true, timeoutMs: opts.timeoutMs, signal: new AbortController().signal, db: this.db });
    } catch (err) {
      error = err instanceof DeliveryError || err instanceof Aborted ? err.message : `unexpected error: ${(err as Error).message}`;
    }
    const ts = now();
    await this.db
      .updateTable('deliveries')
      .set(error === undefined ? { status: 'delivered', delivered_at: ts, next_attempt_at: ts } : { status: 'failed', last_error: `attempt 1: ${error}`.slice(0, 1000), next_attempt_at: ts })
      .where('id', '=', deliveryId)
      .execute();
    return { delivered: error === undefined, deliveryId, ...(result !== undefined ? { result } : {}), ...(error !== undefined ? { error } : {}), durationMs: Date.now() - started };
  }

  async deliveries(project: string, id: string, q: { status?: DeliveryStatus; limit?: number; before?: number }): Promise<{ deliveries: DeliveryView[] }> {
    await this.requireProject(project);
    await this.requireSink(this.db, project, id);
    let query = this.db.selectFrom('deliveries').selectAll().where('sink_id', '=', id);
    if (q.status) query = query.where('status', '=', q.status);
    if (q.before !== undefined) query = query.where('id', '<', q.before);
    const rows = await query.orderBy('id', 'desc').limit(q.limit ?? 50).execute();
    return { deliveries: rows.map(deliveryView) };
  }

  /** Queues a failed delivery again (attempts start over). */
  async retry(project: string, id: string, deliveryId: number): Promise<DeliveryView> {
    await this.requireProject(project);
    await this.requireSink(this.db, project, id);
    const row = await this.db.selectFrom('deliveries').selectAll().where('id', '=', deliveryId).where('sink_id', '=', id).executeTakeFirst();
    if (!row) throw notFound(`No delivery ${deliveryId} for sink "${id}".`);
    if (row.status !== 'failed') throw conflict(`Delivery ${deliveryId} is ${row.status}; only failed deliveries can be retried.`);
    if (row.event_id === null) throw conflict('Test deliveries are not retried; send another test.');
    const updated = await this.db
      .updateTable('deliveries')
      .set({ status: 'pending', attempt: 0, next_attempt_at: now() })
      .where('id', '=', deliveryId)
      .where('status', '=', 'failed')
      .returningAll()
      .executeTakeFirst();
    if (!updated) throw conflict(`Delivery ${deliveryId} changed meanwhile; look again.`);
    this.worker.nudge();
    return deliveryView(updated);
  }
}
