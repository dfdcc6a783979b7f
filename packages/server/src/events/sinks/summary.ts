import type { EventView } from '../service.js';

/**
 * One readable line per audit event — who did what to which flag in which environment, and for a
 * release step the reason (e.g. the guardian's rollback evidence) — in plain text or Slack mrkdwn.
 */

export type Severity = 'info' | 'success' | 'warning' | 'error';

export interface Style {
  /** A name (flag, environment, segment…). */
  name(s: string): string;
  /** Text as-is (escaped for the format). */
  text(s: string): string;
}

export const plain: Style = { name: (s) => `"${s}"`, text: (s) => s };

const slackEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
export const slack: Style = { name: (s) => `*${slackEscape(s).replace(/\*/g, '∗')}*`, text: slackEscape };

/** Rollout events that open and close a Grafana region (releases/ names them). */
export const RELEASE_START = new Set(['release-started']);
export const RELEASE_END = new Set(['release-completed', 'release-rolled-back']);

const obj = (v: unknown): Record<string, any> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, any>) : {});
const str = (...vs: unknown[]): string | undefined => vs.find((v): v is string => typeof v === 'string' && v.trim() !== '')?.trim();

/** The reason a release step gives: a transition's `reason`, or a guardian decision's `summary`. */
function releaseReason(e: EventView): string | undefined {
  const a = obj(e.after);
  return str(a.reason, a.summary);
}

/** "milestone 2 (5%)": release events carry the milestone's index and name. */
function milestone(e: EventView): string | undefined {
  const a = obj(e.after);
  if (typeof a.milestone !== 'number') return undefined;
  const name = str(a.milestoneName);
  return `milestone ${a.milestone + 1}${name ? ` (${name})` : ''}`;
}

function strategy(v: unknown): string {
  const s = obj(v);
  const name = str(s.title, s.name) ?? 'a';
  const rollout = obj(s.parameters).rollout;
  return rollout !== undefined && rollout !== '' ? `${name} (${rollout}%)` : name;
}

export function severity(e: EventView): Severity {
  if (e.type === 'release-rolled-back') return 'error';
  if (e.type === 'release-paused') return 'warning';
  if (e.type === 'release-completed') return 'success';
  return 'info';
}

/** What happened, without the actor: "enabled "checkout" in "production"". */
function action(e: EventView, s: Style): string {
  const flag = e.flag ? s.name(e.flag) : undefined;
  const env = e.environment ? ` in ${s.name(e.environment)}` : '';
  const a = obj(e.after);
  const b = obj(e.before);
  switch (e.type) {
    case 'feature-environment-enabled':
      return `enabled ${flag}${env}`;
    case 'feature-environment-disabled':
      return `disabled ${flag}${env}`;
    case 'feature-created':
      return `created flag ${flag}`;
    case 'feature-updated':
      return `updated flag ${flag}`;
    case 'feature-archived':
      return `archived flag ${flag}`;
    case 'feature-revived':
      return `revived flag ${flag}`;
    case 'feature-deleted':
      return `deleted flag ${flag}`;
    case 'feature-imported':
      return `imported flag ${flag}${env}`;
    case 'feature-strategy-added':
      return `added the ${s.text(strategy(a))} strategy to ${flag}${env}`;
    case 'feature-strategy-updated':
      return `changed the ${s.text(strategy(b))} strategy of ${flag}${env}${strategy(a) !== strategy(b) ? ` to ${s.text(strategy(a))}` : ''}`;
    case 'feature-strategy-removed':
      return `removed the ${s.text(strategy(b))} strategy from ${flag}${env}`;
    case 'feature-variants-updated':
      return `changed the variants of ${flag}${env}`;
    case 'feature-dependencies-updated':
      return `changed the dependencies of ${flag}`;
    case 'segment-created':
    case 'segment-updated':
    case 'segment-deleted':
      return `${e.type.slice(8)} segment ${s.name(str(a.name, b.name) ?? '?')}`;
    case 'sink-created':
    case 'sink-updated':
    case 'sink-deleted':
      return `${{ 'sink-created': 'added', 'sink-updated': 'changed', 'sink-deleted': 'removed' }[e.type]} the ${s.text(str(a.type, b.type) ?? '')} notification sink ${s.name(str(a.name, b.name) ?? '?')}`;
    case 'sink-test':
      return 'sent a test notification: this sink works';
  }
  const what = e.type.replace(/-/g, ' ');
  return `${s.text(what)}${flag ? ` ${flag}` : ''}${env}`;
}

const RELEASE_STEPS: Record<string, string> = {
  'release-started': 'started',
  'release-milestone-advanced': 'advanced',
  'release-paused': 'paused',
  'release-resumed': 'resumed',
  'release-rolled-back': 'ROLLED BACK',
  'release-completed': 'completed',
};

/** "Release of "checkout" in "production" ROLLED BACK at milestone 2 (5%) by guardian: <reason>". */
function release(e: EventView, s: Style): string {
  const where = `${e.flag ? ` of ${s.name(e.flag)}` : ''}${e.environment ? ` in ${s.name(e.environment)}` : ''}`;
  const m = milestone(e);
  const reason = releaseReason(e);
  const tail = `${reason ? `: ${s.text(reason)}` : ''}`;
  if (e.type === 'release-plan-created' || e.type === 'release-plan-deleted') {
    return `${s.text(e.actor)} ${e.type === 'release-plan-created' ? 'created' : 'deleted'} a release plan for ${e.flag ? s.name(e.flag) : '?'}${e.environment ? ` in ${s.name(e.environment)}` : ''}`;
  }
  const step = RELEASE_STEPS[e.type] ?? e.type.slice('release-'.length).replace(/-/g, ' ');
  const at = m ? (e.type === 'release-milestone-advanced' ? ` to ${s.text(m)}` : ` at ${s.text(m)}`) : '';
  return `Release${where} ${s.text(step)}${at} by ${s.text(e.actor)}${tail}`;
}

/** The one-line summary. */
export function summarize(e: EventView, s: Style = plain): string {
  if (e.type.startsWith('release-')) return release(e, s);
  const project = e.project && !e.type.startsWith('sink-') ? ` (project ${s.name(e.project)})` : '';
  return `${s.text(e.actor)} ${action(e, s)}${project}`;
}

/** A short title (Datadog events, Grafana text first line). */
export function title(e: EventView): string {
  const line = summarize(e, plain);
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}
