import { useState } from 'react';
import { api, seg, type Segment, type Strategy } from '../api';
import { useAction } from '../hooks';
import { isIpOrCidr, percentError, splitList } from '../validation';
import { ConstraintsEditor, constraintsValid, fromDraft, toDraft, type ConstraintDraft } from './ConstraintsEditor';
import { VariantsEditor, fromVariantDraft, toVariantDraft, variantsValid, STICKINESS, type VariantDraft } from './VariantsEditor';
import { FormFooter } from './FormFooter';
import { Field } from './ui';
import { focusFirstInvalid, useCheckedSubmit } from './useCheckedSubmit';

export const STRATEGY_LABELS: Record<string, string> = {
  flexibleRollout: 'Gradual rollout',
  default: 'On for everyone',
  userWithId: 'User IDs',
  remoteAddress: 'IP addresses',
  applicationHostname: 'Host names',
  gradualRolloutUserId: 'Gradual rollout by user id (legacy)',
  gradualRolloutSessionId: 'Gradual rollout by session id (legacy)',
  gradualRolloutRandom: 'Random percentage (legacy)',
};
const MODERN = ['flexibleRollout', 'default', 'userWithId', 'remoteAddress', 'applicationHostname'];

interface Draft {
  name: string;
  title: string;
  disabled: boolean;
  rollout: string;
  stickiness: string;
  groupId: string;
  percentage: string;
  userIds: string;
  IPs: string;
  hostNames: string;
  constraints: ConstraintDraft[];
  segments: number[];
  variants: VariantDraft[];
  /** Parameters this editor does not know, kept as they are. */
  other: Record<string, string>;
}

const KNOWN = new Set(['rollout', 'stickiness', 'groupId', 'percentage', 'userIds', 'IPs', 'hostNames']);

function toStrategyDraft(s: Strategy | undefined, flagName: string): Draft {
  const p = s?.parameters ?? {};
  return {
    name: s?.name ?? 'flexibleRollout',
    title: s?.title ?? '',
    disabled: s?.disabled ?? false,
    rollout: p.rollout ?? '100',
    stickiness: p.stickiness ?? 'default',
    groupId: p.groupId ?? flagName,
    percentage: p.percentage ?? '100',
    userIds: p.userIds ?? '',
    IPs: p.IPs ?? '',
    hostNames: p.hostNames ?? '',
    constraints: (s?.constraints ?? []).map(toDraft),
    segments: s?.segments ?? [],
    variants: (s?.variants ?? []).map(toVariantDraft),
    other: Object.fromEntries(Object.entries(p).filter(([k]) => !KNOWN.has(k))),
  };
}

function parametersOf(d: Draft): Record<string, string> {
  const p: Record<string, string> = { ...d.other };
  switch (d.name) {
    case 'flexibleRollout':
      Object.assign(p, { rollout: d.rollout.trim(), stickiness: d.stickiness.trim() || 'default', groupId: d.groupId.trim() });
      break;
    case 'gradualRolloutUserId':
    case 'gradualRolloutSessionId':
      Object.assign(p, { percentage: d.percentage.trim(), groupId: d.groupId.trim() });
      break;
    case 'gradualRolloutRandom':
      p.percentage = d.percentage.trim();
      break;
    case 'userWithId':
      p.userIds = splitList(d.userIds).join(',');
      break;
    case 'remoteAddress':
      p.IPs = splitList(d.IPs).join(',');
      break;
    case 'applicationHostname':
      p.hostNames = splitList(d.hostNames).join(',');
      break;
  }
  return p;
}

function paramErrors(d: Draft, strict: boolean) {
  const e: Partial<Record<'rollout' | 'percentage' | 'stickiness' | 'groupId' | 'userIds' | 'IPs' | 'hostNames', string>> = {};
  if (d.name === 'flexibleRollout') {
    const r = percentError(d.rollout);
    if (r && (strict || d.rollout !== '')) e.rollout = r;
    if (!d.stickiness.trim()) e.stickiness = 'Pick a stickiness (default, userId, sessionId, random or a context field).';
    if (!d.groupId.trim() && strict) e.groupId = 'A group id is required (the flag name is the usual choice).';
  }
  if (d.name.startsWith('gradualRollout')) {
    const r = percentError(d.percentage);
    if (r && (strict || d.percentage !== '')) e.percentage = r;
  }
  if (d.name === 'userWithId' && strict && splitList(d.userIds).length === 0) e.userIds = 'List at least one user id.';
  if (d.name === 'remoteAddress') {
    const bad = splitList(d.IPs).find((ip) => !isIpOrCidr(ip));
    if (bad) e.IPs = `"${bad}" is not an IP address or CIDR range (e.g. 10.0.0.0/8).`;
    else if (strict && splitList(d.IPs).length === 0) e.IPs = 'List at least one IP address or range.';
  }
  if (d.name === 'applicationHostname' && strict && splitList(d.hostNames).length === 0) e.hostNames = 'List at least one host name.';
  return e;
}

/**
 * The strategy editor: type, rollout percentage with stickiness and groupId, constraints,
 * segments and strategy variants. Saves through the admin API and shows any refusal in words.
 */
export function StrategyEditor({
  flagName,
  project,
  environment,
  strategy,
  segments,
  onSaved,
  onCancel,
}: {
  flagName: string;
  project: string;
  environment: string;
  strategy?: Strategy;
  segments: Segment[];
  onSaved: () => void;
  onCancel: () => void;
}) {
  const [d, setD] = useState<Draft>(() => toStrategyDraft(strategy, flagName));
  const set = (patch: Partial<Draft>) => setD((x) => ({ ...x, ...patch }));
  const usable = segments.filter((s) => s.project === null || s.project === project);

  const save = useAction(async () => {
    const body = {
      name: d.name,
      ...(d.title.trim() ? { title: d.title.trim() } : {}),
      disabled: d.disabled,
      parameters: parametersOf(d),
      constraints: d.constraints.map(fromDraft),
      segments: d.segments,
      variants: d.variants.map(fromVariantDraft),
    };
    const base = `/api/admin/flags/${seg(flagName)}/environments/${seg(environment)}/strategies`;
    if (strategy) await api.put(`${base}/${seg(strategy.id)}`, body);
    else await api.post(base, body);
    onSaved();
  });

  const { tried, submit } = useCheckedSubmit(
    () => Object.keys(paramErrors(d, true)).length === 0 && constraintsValid(d.constraints) && variantsValid(d.variants),
    save.run,
    focusFirstInvalid,
  );
  const errors = paramErrors(d, tried);

  const types = MODERN.includes(d.name) ? MODERN : [...MODERN, d.name];
  const stickinessChoices = [...new Set([...STICKINESS, d.stickiness])];
  const contextFields = [...new Set(d.constraints.map((c) => c.contextName).filter(Boolean))];

  return (
    <form className="strategy-editor" onSubmit={submit} noValidate>
      <div className="grid-2">
        <Field label="Strategy">
          {(p) => (
            <select {...p} value={d.name} onChange={(e) => set({ name: e.target.value })}>
              {types.map((t) => (
                <option key={t} value={t}>
                  {STRATEGY_LABELS[t] ?? t}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Title (optional)">{(p) => <input {...p} value={d.title} maxLength={255} onChange={(e) => set({ title: e.target.value })} />}</Field>
      </div>

      {d.name === 'flexibleRollout' ? (
        <section aria-label="Rollout" className="panel">
          <div className="rollout">
            <Field label="Rollout %" error={errors.rollout} help="Share of the audience (after constraints) that gets the flag, to 0.01 %.">
              {(p) => (
                <input {...p} name="rollout" inputMode="decimal" className="narrow" value={d.rollout} onChange={(e) => set({ rollout: e.target.value })} />
              )}
            </Field>
            <input
              type="range"
              min={0}
              max={100}
              step={1}
              aria-label="Rollout slider"
              value={Number.isFinite(Number(d.rollout)) ? Number(d.rollout) : 0}
              onChange={(e) => set({ rollout: e.target.value })}
            />
          </div>
          <div className="grid-2">
            <Field label="Stickiness" error={errors.stickiness} help="Which context field keeps a person in or out as the percentage changes.">
              {(p) => (
                <select {...p} value={d.stickiness} onChange={(e) => set({ stickiness: e.target.value })}>
                  {stickinessChoices.map((s) => (
                    <option key={s} value={s}>
                      {s}
                    </option>
                  ))}
                  {contextFields
                    .filter((f) => !stickinessChoices.includes(f))
                    .map((f) => (
                      <option key={f} value={f}>
                        {f} (context field)
                      </option>
                    ))}
                </select>
              )}
            </Field>
            <Field label="Group id" error={errors.groupId} help="Flags with the same group id roll out to the same people.">
              {(p) => <input {...p} value={d.groupId} onChange={(e) => set({ groupId: e.target.value })} />}
            </Field>
          </div>
        </section>
      ) : null}
      {d.name.startsWith('gradualRollout') ? (
        <Field label="Percentage" error={errors.percentage}>
          {(p) => <input {...p} inputMode="decimal" className="narrow" value={d.percentage} onChange={(e) => set({ percentage: e.target.value })} />}
        </Field>
      ) : null}
      {d.name === 'userWithId' ? (
        <Field label="User ids" error={errors.userIds} help="Comma-separated.">
          {(p) => <textarea {...p} rows={2} value={d.userIds} onChange={(e) => set({ userIds: e.target.value })} />}
        </Field>
      ) : null}
      {d.name === 'remoteAddress' ? (
        <Field label="IP addresses or CIDR ranges" error={errors.IPs} help="Comma-separated, e.g. 10.0.0.0/8, 192.168.1.7">
          {(p) => <textarea {...p} rows={2} value={d.IPs} onChange={(e) => set({ IPs: e.target.value })} />}
        </Field>
      ) : null}
      {d.name === 'applicationHostname' ? (
        <Field label="Host names" error={errors.hostNames} help="Comma-separated.">
          {(p) => <textarea {...p} rows={2} value={d.hostNames} onChange={(e) => set({ hostNames: e.target.value })} />}
        </Field>
      ) : null}

      <h3>Constraints</h3>
      <ConstraintsEditor value={d.constraints} onChange={(constraints) => set({ constraints })} showErrors={tried} />

      <h3>Segments</h3>
      {usable.length === 0 ? (
        <p className="muted">No segments yet. Segments are reusable sets of constraints (Segments page).</p>
      ) : (
        <fieldset className="segment-picks">
          <legend className="visually-hidden">Segments</legend>
          {usable.map((s) => (
            <label key={s.id} className="checkbox">
              <input
                type="checkbox"
                checked={d.segments.includes(s.id)}
                onChange={(e) => set({ segments: e.target.checked ? [...d.segments, s.id] : d.segments.filter((x) => x !== s.id) })}
              />
              {s.name} <span className="muted">({s.constraints.length} constraint{s.constraints.length === 1 ? '' : 's'})</span>
            </label>
          ))}
        </fieldset>
      )}

      <h3>Strategy variants</h3>
      <p className="muted">When this strategy matches, these variants are served instead of the flag's own.</p>
      <VariantsEditor value={d.variants} onChange={(variants) => set({ variants })} showErrors={tried} />

      <label className="checkbox">
        <input type="checkbox" checked={d.disabled} onChange={(e) => set({ disabled: e.target.checked })} /> Paused (kept, but not sent to SDKs)
      </label>

      <FormFooter action={save} submitLabel={strategy ? 'Save strategy' : 'Add strategy'} onCancel={onCancel} />
    </form>
  );
}
