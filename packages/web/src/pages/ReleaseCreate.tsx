import { useMemo, useState, type FormEvent } from 'react';
import { api, type Environment, type Flag, type Segment } from '../api';
import { Badge, Field } from '../components/ui';
import { FormFooter } from '../components/FormFooter';
import { SelectField, environmentChoices } from '../components/SelectField';
import { focusFirstInvalid } from '../components/useCheckedSubmit';
import { useAction } from '../hooks';
import { describeStrategy, durationError, fmtAlpha, fmtDuration, minTraffic, parseDuration, rollbackWords, type Plan, type Template } from '../components/releases';

/** Segment names a template refers to (rings name their segments: "developers", "beta"…). */
export function templateSegmentNames(t: Template): string[] {
  const names = new Set<string>();
  for (const m of t.milestones) for (const s of m.strategies) for (const x of s.segments ?? []) if (typeof x === 'string') names.add(x);
  return [...names];
}

const ALPHAS = [
  { value: '', label: 'Template default' },
  { value: '0.05', label: '5 % (roll back at e ≥ 20)' },
  { value: '0.01', label: '1 % (roll back at e ≥ 100)' },
  { value: '0.001', label: '0.1 % (roll back at e ≥ 1,000)' },
];

/** Create a release plan: a template applied to one flag in one environment, started now or kept as a draft. */
export function CreatePlanForm({
  flags,
  environments,
  templates,
  segments,
  initialFlag = '',
  initialEnvironment = '',
  onCreated,
  onCancel,
}: {
  flags: Flag[];
  environments: Environment[];
  templates: Template[];
  segments: Segment[];
  initialFlag?: string;
  initialEnvironment?: string;
  onCreated: (p: Plan) => void;
  onCancel: () => void;
}) {
  const live = flags.filter((f) => !f.archived);
  const [flag, setFlag] = useState(initialFlag);
  const [environment, setEnvironment] = useState(initialEnvironment || environments.find((e) => e.type === 'production')?.name || environments[0]?.name || '');
  const [templateId, setTemplateId] = useState(templates[0]?.id ?? '');
  const [bake, setBake] = useState('');
  const [rollback, setRollback] = useState<'' | 'previous' | 'off'>('');
  const [minRequests, setMinRequests] = useState('');
  const [alpha, setAlpha] = useState('');
  const [mapping, setMapping] = useState<Record<string, string>>({});
  const [tried, setTried] = useState(false);

  const template = templates.find((t) => t.id === templateId);
  const flagObj = live.find((f) => f.name === flag);
  const usable = segments.filter((s) => s.project === null || !flagObj || s.project === flagObj.project);
  const names = useMemo(() => (template ? templateSegmentNames(template) : []), [template]);
  const segmentFor = (name: string) => mapping[name] ?? String(usable.find((s) => s.name === name)?.id ?? '');

  const flagError = !flag.trim() ? (tried ? 'Pick the flag to release.' : null) : flagObj ? null : flags.some((f) => f.name === flag && f.archived) ? `“${flag}” is archived; revive it first.` : `No flag named “${flag}”.`;
  const envError = !environment && tried ? 'Pick an environment.' : null;
  const templateError = !template && tried ? 'Pick a template.' : null;
  const bakeError = durationError(bake);
  const minN = minRequests.trim() === '' ? null : Number(minRequests);
  const minError = minN !== null && (!Number.isInteger(minN) || minN < 0 || minN > 1e9) ? 'A whole number of requests, 0 or more.' : null;
  const segmentErrors = Object.fromEntries(names.map((n) => [n, tried && !segmentFor(n) ? `Pick the segment for “${n}”.` : null]));
  const invalid = !!(flagError || !flag || !environment || !template || bakeError || minError || names.some((n) => !segmentFor(n)));

  const create = useAction(async (start: boolean) => {
    const gate: Record<string, number> = {};
    if (minN !== null) Object.assign(gate, { minCanaryRequests: minN, minControlRequests: minN });
    if (alpha) gate.alpha = Number(alpha);
    const body = {
      flag,
      environment,
      template: templateId,
      ...(bake.trim() ? { bakeMs: parseDuration(bake)! } : {}),
      ...(rollback ? { rollback } : {}),
      ...(Object.keys(gate).length ? { gate } : {}),
      ...(names.length ? { segments: Object.fromEntries(names.map((n) => [n, Number(segmentFor(n))])) } : {}),
      start,
    };
    onCreated(await api.post<Plan>('/api/admin/releases', body));
  });

  const submit = (start: boolean) => (e?: FormEvent) => {
    e?.preventDefault();
    setTried(true);
    if (invalid) {
      focusFirstInvalid();
      return;
    }
    void create.run(start);
  };

  const defaultBake = template?.bakeMs;
  const gateMin = minTraffic(template?.gate);

  return (
    <form onSubmit={submit(true)} noValidate className="plan-form">
      <div className="grid-2">
        <Field label="Flag" error={flagError} help="The flag whose new code path goes out step by step.">
          {(p) => (
            <>
              <input {...p} name="flag" list="release-flags" value={flag} onChange={(e) => setFlag(e.target.value)} autoComplete="off" spellCheck={false} autoFocus={!initialFlag} placeholder="e.g. checkout.new-flow" />
              <datalist id="release-flags">
                {live.map((f) => (
                  <option key={f.name} value={f.name}>
                    {f.project}
                  </option>
                ))}
              </datalist>
            </>
          )}
        </Field>
        <SelectField label="Environment" error={envError} name="environment" value={environment} onChange={setEnvironment} choices={environmentChoices(environments)} />
      </div>

      <fieldset className="template-picker" aria-invalid={templateError ? true : undefined}>
        <legend>Template</legend>
        {templateError ? <p className="field-error">{templateError}</p> : null}
        {templates.map((t) => (
          <label key={t.id} className={`template-option${t.id === templateId ? ' template-option-on' : ''}`}>
            <input type="radio" name="template" value={t.id} checked={t.id === templateId} onChange={() => setTemplateId(t.id)} />
            <span className="template-body">
              <span className="template-name">
                <strong>{t.name}</strong> {t.builtin ? <Badge>built-in</Badge> : <Badge tone="info">yours</Badge>}
              </span>
              <span className="template-steps">
                {t.milestones.map((m, i) => (
                  <span key={i}>
                    {i > 0 ? <span aria-hidden="true"> → </span> : null}
                    <span className="template-step" title={m.strategies.map((s) => describeStrategy(s)).join('; ')}>
                      {m.name}
                    </span>
                  </span>
                ))}
              </span>
              <span className="muted small">
                {t.bakeMs !== undefined ? `${fmtDuration(t.bakeMs)} per step` : 'bake time per milestone'} · on a regression: {rollbackWords(t.rollback)}
                {t.description ? ` · ${t.description}` : ''}
              </span>
            </span>
          </label>
        ))}
      </fieldset>

      {names.length ? (
        <fieldset>
          <legend>Segments for the rings</legend>
          <p className="muted small">The template names its rings’ segments; pick yours.</p>
          <div className="grid-3">
            {names.map((n) => (
              <Field key={n} label={`“${n}”`} error={segmentErrors[n]}>
                {(p) => (
                  <select {...p} value={segmentFor(n)} onChange={(e) => setMapping({ ...mapping, [n]: e.target.value })}>
                    <option value="">Pick a segment…</option>
                    {usable.map((s) => (
                      <option key={s.id} value={s.id}>
                        {s.name}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
            ))}
          </div>
        </fieldset>
      ) : null}

      <div className="grid-2">
        <Field label="Bake time per milestone" error={bakeError} help={defaultBake !== undefined ? `Empty: the template’s ${fmtDuration(defaultBake)}. E.g. 90s, 5m, 1h.` : 'E.g. 90s, 5m, 1h.'}>
          {(p) => <input {...p} name="bake" value={bake} onChange={(e) => setBake(e.target.value)} placeholder={defaultBake !== undefined ? fmtDuration(defaultBake) : '5 min'} autoComplete="off" />}
        </Field>
        <Field label="Minimum requests per cohort" error={minError} help={`Before a milestone’s gate can hold. Empty: the template’s (canary ${gateMin.canary}, control ${gateMin.control}).`}>
          {(p) => <input {...p} name="minRequests" inputMode="numeric" value={minRequests} onChange={(e) => setMinRequests(e.target.value)} placeholder={String(gateMin.canary)} />}
        </Field>
        <Field label="On a regression" help="Where a rollback takes the flag.">
          {(p) => (
            <select {...p} value={rollback} onChange={(e) => setRollback(e.target.value as typeof rollback)}>
              <option value="">Template default ({template ? rollbackWords(template.rollback) : '—'})</option>
              <option value="previous">Go back to the previous milestone</option>
              <option value="off">Turn the flag off</option>
            </select>
          )}
        </Field>
        <Field label="False-rollback budget (α)" help={`The guardian rolls back when the evidence e reaches 1/α. Template: ${fmtAlpha(template?.gate?.alpha ?? 0.01)}.`}>
          {(p) => (
            <select {...p} value={alpha} onChange={(e) => setAlpha(e.target.value)}>
              {ALPHAS.map((a) => (
                <option key={a.value} value={a.value}>
                  {a.label}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>

      <FormFooter action={create} submitLabel="Create and start" pendingLabel="Creating…" onCancel={onCancel}>
        <button type="button" className="button-secondary" disabled={create.pending} onClick={() => submit(false)()}>
          Save as draft
        </button>
      </FormFooter>
    </form>
  );
}
