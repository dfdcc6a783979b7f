/**
 * `switchyard rollout start|status|pause|resume|advance|rollback|watch|list|decisions`: release
 * plans from the terminal (the admin API under /api/admin/releases).
 *
 * A plan is named by its id, or by its flag with `--environment` (the flag's active plan there;
 * for status and watch, its latest plan when none is active).
 */
import { Command, Option } from 'commander';
import { CliError, resolveToken, type ApiClient, type ClientOptions } from '../http.js';
import { clientCommand, clientFrom } from '../options.js';
import { printJson, printLine, printTable } from '../output.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TERMINAL = new Set(['completed', 'rolled-back']);
/** `watch` exits with this code when the plan was rolled back (0 when it completed). */
export const ROLLED_BACK_EXIT = 3;

type Opts = ClientOptions & { environment?: string; reason?: string };

/** "500ms", "2s", "5m", "1h", or plain milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!m) throw new CliError(`"${text}" is not a duration; write e.g. 500ms, 30s, 5m or 1h.`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 'ms').toLowerCase();
  return Math.round(n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[unit]);
}

function intArg(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`"${text}" is not a whole number ≥ 0.`);
  return n;
}

/** The plan a command means: an id, or the flag's plan in --environment. */
async function resolvePlan(api: ApiClient, target: string, environment: string | undefined, opts: { latest?: boolean } = {}): Promise<any> {
  if (UUID.test(target)) return api.get(`/api/admin/releases/${encodeURIComponent(target)}`);
  if (!environment) throw new CliError(`"${target}" is not a plan id; to name a plan by its flag, add --environment ENV.`);
  const active = await api.get('/api/admin/releases', { flag: target, environment, state: 'active', limit: '1' });
  if (active.plans?.length) return active.plans[0];
  if (opts.latest) {
    const any = await api.get('/api/admin/releases', { flag: target, environment, limit: '1' });
    if (any.plans?.length) return any.plans[0];
  }
  throw new CliError(`Flag "${target}" has no ${opts.latest ? '' : 'active '}release plan in "${environment}"; start one with: switchyard rollout start ${target} --environment ${environment} --template canary`);
}

// ---------------------------------------------------------------- rendering

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(x * 100 < 0.1 && x > 0 ? 2 : 1)} %`);
function fmtE(e: number | null | undefined, log10?: number): string {
  if (e === null || e === undefined) return '–';
  const l = log10 ?? Math.log10(e);
  if (!Number.isFinite(l) || l > 4) return `10^${l.toFixed(1)}`;
  return e >= 100 ? String(Math.round(e)) : String(Number(e.toPrecision(3)));
}
function dur(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? ` ${s % 60}s` : ''}`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? ` ${Math.floor((s % 3600) / 60)}m` : ''}`;
}

function cohortLine(c: any): string {
  if (!c) return '–';
  const lat = c.latency ? ` · p50 ≤ ${c.latency.p50 ?? '–'} ms · p95 ≤ ${c.latency.p95 ?? '–'} ms · p99 ≤ ${c.latency.p99 ?? '–'} ms` : '';
  return `${c.cohort}: ${count(c.requests)} req · errors ${pct(c.errorRate)}${lat}`;
}

/** The plan as lines of text (status, watch). */
export function renderPlan(plan: any, now = Date.now()): string[] {
  const n = plan.milestones?.length ?? 0;
  const lines: string[] = [];
  lines.push(`Plan ${plan.id} · flag ${plan.flag} · ${plan.environment}${plan.template ? ` · template ${plan.template}` : ''}`);
  let state = plan.state;
  if (plan.milestone >= 0) state += ` · milestone ${plan.milestone + 1}/${n} "${plan.milestoneName}"`;
  if (plan.state === 'running' && plan.milestoneStartedAt) {
    const m = plan.milestones[plan.milestone];
    const elapsed = now - Date.parse(plan.milestoneStartedAt);
    state += ` · baking ${dur(Math.min(elapsed, m?.bakeMs ?? elapsed))} / ${dur(m?.bakeMs ?? 0)}`;
  }
  lines.push(`State      ${state}`);
  if (plan.reason) lines.push(`Reason     ${plan.reason}`);
  lines.push(
    `Milestones ${(plan.milestones ?? [])
      .map((m: any, i: number) => `${i < plan.milestone || plan.state === 'completed' ? '✓' : i === plan.milestone ? (plan.state === 'rolled-back' ? '✗' : '▶') : '·'} ${m.name}`)
      .join('  ')}`,
  );
  if (plan.traffic) {
    const total = plan.traffic.canary.requests + plan.traffic.control.requests;
    const share = total > 0 ? ` (canary share ${pct(plan.traffic.canary.requests / total)})` : '';
    lines.push(`Traffic    this milestone, ${count(plan.traffic.batches)} SDK reports${share}`);
    lines.push(`  canary   ${cohortLine(plan.traffic.canary)}`);
    lines.push(`  control  ${cohortLine(plan.traffic.control)}`);
  }
  const d = plan.lastDecision;
  if (d) {
    if (d.e !== null && d.threshold !== null) {
      const metrics = (d.metrics ?? []).map((m: any) => `${m.id} ${fmtE(m.e, m.log10E)}`).join(' · ');
      lines.push(`Evidence   e = ${fmtE(d.e)} ${d.e >= d.threshold ? '≥' : '<'} ${fmtE(d.threshold)} (roll back at ≥)${metrics ? ` · ${metrics}` : ''}`);
    }
    if (d.traffic) lines.push(`Gate       canary ${count(d.traffic.canaryRequests)}/${count(d.traffic.minCanaryRequests)} · control ${count(d.traffic.controlRequests)}/${count(d.traffic.minControlRequests)} requests · bake ${dur(d.traffic.elapsedMs)}/${dur(d.traffic.bakeMs)}`);
    lines.push(`Last       ${d.source} ${d.decision} → ${d.action} (${new Date(d.at).toLocaleTimeString()}): ${d.summary}`);
  }
  return lines;
}

// ---------------------------------------------------------------- watch

/** Reads `plan` events from the plan's SSE stream; resolves when it ends. */
async function streamPlan(api: ApiClient, token: string | undefined, id: string, onPlan: (plan: any) => boolean | void, signal: AbortSignal): Promise<void> {
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (token) headers.authorization = token;
  const res = await fetch(`${api.baseUrl}/api/admin/releases/${encodeURIComponent(id)}/stream`, { headers, signal });
  if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let cut: number;
    while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + (buffer[cut] === '\r' ? 4 : 2));
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      if (event === 'plan' && data.length && onPlan(JSON.parse(data.join('\n'))) === true) {
        await reader.cancel().catch(() => {});
        return;
      }
    }
  }
}

async function watch(api: ApiClient, first: any, opts: { json?: boolean; intervalMs: number; token?: string }): Promise<any> {
  const tty = !opts.json && process.stdout.isTTY;
  let shown = -1;
  let drawn = 0;
  let last = first;
  const show = (plan: any) => {
    last = plan;
    if (opts.json) {
      if (plan.version !== shown) process.stdout.write(JSON.stringify(plan) + '\n');
    } else if (tty) {
      const lines = renderPlan(plan);
      if (drawn) process.stdout.write(`\x1b[${drawn}F\x1b[J`);
      process.stdout.write(lines.join('\n') + '\n');
      drawn = lines.length;
    } else if (plan.version !== shown) {
      printLine(renderPlan(plan).join('\n') + '\n');
    }
    shown = plan.version;
    return TERMINAL.has(plan.state);
  };
  if (show(first)) return first;
  // Live over the plan's event stream; polling when the stream is unavailable. The TTY view is
  // also redrawn every interval so the bake clock moves.
  const ac = new AbortController();
  const redraw = tty ? setInterval(() => show(last), opts.intervalMs) : null;
  try {
    let done = false;
    while (!done) {
      try {
        await streamPlan(api, opts.token, first.id, (plan) => (done = show(plan)), ac.signal);
      } catch {
        // fall back to one poll, then try the stream again
      }
      if (done) break;
      const plan = await api.get(`/api/admin/releases/${encodeURIComponent(first.id)}`);
      done = show(plan);
      if (!done) await new Promise((r) => setTimeout(r, opts.intervalMs));
    }
  } finally {
    if (redraw) clearInterval(redraw);
    ac.abort();
  }
  return last;
}

// ---------------------------------------------------------------- commands

function printPlan(plan: any, json: boolean | undefined, headline?: string) {
  if (json) return printJson(plan);
  if (headline) printLine(headline);
  printLine(renderPlan(plan).join('\n'));
}

export function rolloutCommand(): Command {
  const rollout = new Command('rollout').description('release plans: roll a flag out milestone by milestone, guarded by the cohort comparison');

  rollout.addCommand(
    clientCommand(
      new Command('start')
        .description('make a release plan for a flag in an environment and start it (or start an existing draft with --plan)')
        .argument('[flag]', 'flag name')
        .option('-e, --environment <env>', 'environment')
        .option('-t, --template <id>', 'template: canary, rings or one of yours', 'canary')
        .option('--plan <id>', 'start this existing (draft) plan instead')
        .option('--bake <duration>', 'bake time of every milestone (e.g. 30s, 5m)')
        .addOption(new Option('--rollback <to>', 'what a rollback does').choices(['previous', 'off']))
        .addOption(new Option('--on-alert <action>', 'what an inbound alert does').choices(['rollback', 'pause']))
        .option('--min-traffic <n>', 'minimum canary and control requests per milestone before it can advance')
        .option('--alpha <p>', 'false-rollback budget (default 0.01: roll back at e ≥ 100)')
        .option('--canary-cohort <name>', 'cohort with the new behaviour (default on; a variant name for variant flags)')
        .option('--control-cohort <name>', 'cohort without it (default off)')
        .option('--draft', 'create the plan but do not start it')
        .option('--watch', 'then watch it until it completes or rolls back'),
    ).action(async (flag: string | undefined, opts: Opts & Record<string, any>) => {
      const api = clientFrom(opts);
      let plan: any;
      if (opts.plan) {
        plan = await api.post(`/api/admin/releases/${encodeURIComponent(opts.plan)}/start`, {});
      } else {
        if (!flag) throw new CliError('Name the flag (switchyard rollout start FLAG --environment ENV) or give --plan ID.');
        if (!opts.environment) throw new CliError('--environment is required to start a rollout of a flag.');
        const body: Record<string, unknown> = { flag, environment: opts.environment, template: opts.template, start: !opts.draft };
        if (opts.bake !== undefined) body.bakeMs = parseDuration(opts.bake);
        if (opts.rollback) body.rollback = opts.rollback;
        if (opts.onAlert) body.onAlert = opts.onAlert;
        const gate: Record<string, unknown> = {};
        if (opts.minTraffic !== undefined) gate.minCanaryRequests = gate.minControlRequests = intArg(opts.minTraffic);
        if (opts.alpha !== undefined) gate.alpha = Number(opts.alpha);
        if (Object.keys(gate).length) body.gate = gate;
        if (opts.canaryCohort || opts.controlCohort) body.cohorts = { ...(opts.canaryCohort ? { canary: opts.canaryCohort } : {}), ...(opts.controlCohort ? { control: opts.controlCohort } : {}) };
        plan = await api.post('/api/admin/releases', body);
      }
      if (opts.watch) return finishWatch(api, plan, opts);
      printPlan(plan, opts.json, plan.state === 'draft' ? `Created draft plan ${plan.id}` : `Started plan ${plan.id}`);
    }),
  );

  rollout.addCommand(
    clientCommand(
      new Command('status')
        .description('show a plan: state, milestone, traffic per cohort, evidence (no argument: the active plans)')
        .argument('[plan]', 'plan id, or a flag name with --environment')
        .option('-e, --environment <env>', 'environment (with a flag name)'),
    ).action(async (target: string | undefined, opts: Opts) => {
      const api = clientFrom(opts);
      if (!target) {
        const res = await api.get('/api/admin/releases', { state: 'active', environment: opts.environment });
        if (opts.json) return printJson(res);
        return printTable(
          ['PLAN', 'FLAG', 'ENVIRONMENT', 'STATE', 'MILESTONE', 'LAST DECISION'],
          (res.plans ?? []).map((p: any) => [p.id, p.flag, p.environment, p.state, p.milestone >= 0 ? `${p.milestone + 1}/${p.milestones.length} ${p.milestoneName}` : '–', p.lastDecision?.summary?.slice(0, 80) ?? '']),
          'No active release plans.',
        );
      }
      printPlan(await resolvePlan(api, target, opts.environment, { latest: true }), opts.json);
    }),
  );

  rollout.addCommand(
    clientCommand(
      new Command('list')
        .description('list release plans, newest first')
        .option('--flag <flag>', 'only this flag')
        .option('-e, --environment <env>', 'only this environment')
        .option('--state <state>', 'only this state (draft, running, paused, completed, rolled-back, active)')
        .option('--limit <n>', 'at most this many', '50'),
    ).action(async (opts: Opts & { flag?: string; state?: string; limit: string }) => {
      const res = await clientFrom(opts).get('/api/admin/releases', { flag: opts.flag, environment: opts.environment, state: opts.state, limit: opts.limit });
      if (opts.json) return printJson(res);
      printTable(
        ['PLAN', 'FLAG', 'ENVIRONMENT', 'STATE', 'MILESTONE', 'CREATED'],
        (res.plans ?? []).map((p: any) => [p.id, p.flag, p.environment, p.state, p.milestone >= 0 ? `${p.milestone + 1}/${p.milestones.length} ${p.milestoneName}` : '–', p.createdAt]),
        'No release plans.',
      );
    }),
  );

  const action = (name: 'pause' | 'resume' | 'advance' | 'rollback', description: string, done: string) =>
    rollout.addCommand(
      clientCommand(
        new Command(name)
          .description(description)
          .argument('<plan>', 'plan id, or a flag name with --environment')
          .option('-e, --environment <env>', 'environment (with a flag name)')
          .option('--reason <text>', 'why (recorded with the decision and in the audit log)')
          .option('--step <n>', 'only if the plan is still at this step (safe to retry)'),
      ).action(async (target: string, opts: Opts & { step?: string }) => {
        const api = clientFrom(opts);
        const plan = await resolvePlan(api, target, opts.environment);
        const body: Record<string, unknown> = {};
        if (opts.reason) body.reason = opts.reason;
        if (opts.step !== undefined) body.expectedStep = intArg(opts.step);
        const after = await api.post(`/api/admin/releases/${encodeURIComponent(plan.id)}/${name}`, body);
        printPlan(after, opts.json, `${done} plan ${after.id} (flag ${after.flag} in ${after.environment})`);
      }),
    );
  action('pause', 'pause a running plan (the flag stays as it is; the guardian stops acting)', 'Paused');
  action('resume', 'resume a paused plan (its gate and bake time start over)', 'Resumed');
  action('advance', 'advance a plan to its next milestone now', 'Advanced');
  action('rollback', 'roll a plan back now (previous milestone or off, as the plan says)', 'Rolled back');

  rollout.addCommand(
    clientCommand(
      new Command('watch')
        .description(`live progress until the plan completes (exit 0) or rolls back (exit ${ROLLED_BACK_EXIT}); --json prints each update as a line`)
        .argument('<plan>', 'plan id, or a flag name with --environment')
        .option('-e, --environment <env>', 'environment (with a flag name)')
        .option('--interval <duration>', 'redraw / poll interval', '1s'),
    ).action(async (target: string, opts: Opts & { interval: string }) => {
      const api = clientFrom(opts);
      const plan = await resolvePlan(api, target, opts.environment, { latest: true });
      await finishWatch(api, plan, opts);
    }),
  );

  rollout.addCommand(
    clientCommand(
      new Command('decisions')
        .description('the decisions of a plan with their evidence, newest first')
        .argument('<plan>', 'plan id, or a flag name with --environment')
        .option('-e, --environment <env>', 'environment (with a flag name)')
        .option('--acted', 'only decisions that changed the plan')
        .option('--limit <n>', 'at most this many', '20'),
    ).action(async (target: string, opts: Opts & { acted?: boolean; limit: string }) => {
      const api = clientFrom(opts);
      const plan = await resolvePlan(api, target, opts.environment, { latest: true });
      const res = await api.get(`/api/admin/releases/${encodeURIComponent(plan.id)}/decisions`, { limit: opts.limit, acted: opts.acted ? 'true' : undefined });
      if (opts.json) return printJson(res);
      printTable(
        ['TIME', 'SOURCE', 'DECISION', 'ACTION', 'E', 'SUMMARY'],
        (res.decisions ?? []).map((d: any) => [d.createdAt, d.source, d.decision, d.action, d.e === null ? '' : fmtE(d.e), d.summary]),
        'No decisions yet.',
      );
    }),
  );
  return rollout;
}

async function finishWatch(api: ApiClient, plan: any, opts: Opts & { interval?: string }) {
  const last = await watch(api, plan, { json: opts.json, intervalMs: parseDuration(opts.interval ?? '1s'), token: resolveToken(opts) });
  if (last.state === 'rolled-back') throw new CliError(`rolled back: ${last.reason ?? ''}`, ROLLED_BACK_EXIT);
}
