import type { Variant } from '../api';
import { isNumber, jsonError } from '../validation';
import { newKey } from './ConstraintsEditor';
import { Field } from './ui';

export interface VariantDraft {
  key: string;
  name: string;
  weightType: 'variable' | 'fix';
  /** Percent as typed (for fixed weights), e.g. "33.3". */
  percent: string;
  stickiness: string;
  payloadType: '' | 'string' | 'json' | 'csv' | 'number';
  payloadValue: string;
  overrides: Variant['overrides'];
}

export const STICKINESS = ['default', 'userId', 'sessionId', 'random'];

export function toVariantDraft(v: Variant): VariantDraft {
  return {
    key: newKey(),
    name: v.name,
    weightType: v.weightType === 'fix' ? 'fix' : 'variable',
    percent: v.weight !== undefined ? String(v.weight / 10) : '',
    stickiness: v.stickiness ?? 'default',
    payloadType: v.payload?.type ?? '',
    payloadValue: v.payload?.value ?? '',
    overrides: v.overrides,
  };
}

export function fromVariantDraft(d: VariantDraft): Variant {
  const out: Variant = { name: d.name.trim(), weightType: d.weightType, stickiness: d.stickiness || 'default' };
  if (d.weightType === 'fix') out.weight = Math.round(Number(d.percent) * 10);
  if (d.payloadType) out.payload = { type: d.payloadType, value: d.payloadValue };
  if (d.overrides?.length) out.overrides = d.overrides;
  return out;
}

/** Unleash's weights: fixed variants keep theirs, variable ones share the rest of 100 %. */
export function shares(list: VariantDraft[]): number[] {
  const fixed = list.reduce((s, v) => s + (v.weightType === 'fix' && isNumber(v.percent) ? Math.round(Number(v.percent) * 10) : 0), 0);
  const variable = list.filter((v) => v.weightType !== 'fix').length;
  const share = variable ? Math.floor(Math.max(0, 1000 - fixed) / variable) : 0;
  let remainder = variable ? Math.max(0, 1000 - fixed) % variable : 0;
  return list.map((v) => (v.weightType === 'fix' ? Math.round(Number(v.percent) * 10) || 0 : share + (remainder-- > 0 ? 1 : 0)));
}

export interface VariantErrors {
  rows: Record<string, { name?: string; percent?: string; payload?: string }>;
  total?: string;
}

export function variantErrors(list: VariantDraft[], strict: boolean): VariantErrors {
  const rows: VariantErrors['rows'] = {};
  const seen = new Set<string>();
  for (const v of list) {
    const e: { name?: string; percent?: string; payload?: string } = {};
    const name = v.name.trim();
    if (!name) {
      if (strict) e.name = 'A name is required.';
    } else if (seen.has(name)) e.name = `"${name}" is used twice; names must be unique.`;
    seen.add(name);
    if (v.weightType === 'fix') {
      if (v.percent.trim() === '') {
        if (strict) e.percent = 'A fixed weight needs a percentage.';
      } else if (!/^\d{1,3}(\.\d)?$/.test(v.percent.trim()) || Number(v.percent) > 100) e.percent = 'A percentage from 0 to 100 with at most one decimal.';
    }
    if (v.payloadType === 'json' && v.payloadValue !== '') {
      const j = jsonError(v.payloadValue);
      if (j) e.payload = j;
    } else if (v.payloadType === 'number' && v.payloadValue !== '' && !isNumber(v.payloadValue)) e.payload = 'Not a number.';
    if (v.payloadType && v.payloadValue === '' && strict) e.payload = 'A payload value is required (or choose "no payload").';
    if (Object.keys(e).length) rows[v.key] = e;
  }
  let total: string | undefined;
  if (list.length) {
    const fixedSum = list.reduce((s, v) => s + (v.weightType === 'fix' && isNumber(v.percent) ? Math.round(Number(v.percent) * 10) : 0), 0);
    const allFixed = list.every((v) => v.weightType === 'fix');
    if (fixedSum > 1000) total = `Fixed weights add up to ${fixedSum / 10} %, more than 100 %.`;
    else if (allFixed && fixedSum !== 1000 && (strict || list.every((v) => v.percent.trim() !== ''))) total = `All weights are fixed, so they must add up to 100 %; they add up to ${fixedSum / 10} %.`;
  }
  return { rows, total };
}

export const variantsValid = (list: VariantDraft[]) => {
  const e = variantErrors(list, true);
  return !e.total && Object.keys(e.rows).length === 0;
};

/** Edits variants: names, weights (variable or fixed, in %), stickiness and payloads. */
export function VariantsEditor({
  value,
  onChange,
  showErrors,
  stickinessOptions = STICKINESS,
}: {
  value: VariantDraft[];
  onChange: (next: VariantDraft[]) => void;
  showErrors: boolean;
  stickinessOptions?: string[];
}) {
  const errors = variantErrors(value, showErrors);
  const weights = shares(value);
  const update = (key: string, patch: Partial<VariantDraft>) => onChange(value.map((v) => (v.key === key ? { ...v, ...patch } : v)));
  const add = () =>
    onChange([
      ...value,
      { key: newKey(), name: '', weightType: 'variable', percent: '', stickiness: value[0]?.stickiness ?? 'default', payloadType: '', payloadValue: '', overrides: undefined },
    ]);
  return (
    <div className="variants">
      {value.length === 0 ? <p className="muted">No variants.</p> : null}
      {value.map((v, i) => {
        const e = errors.rows[v.key] ?? {};
        return (
          <fieldset key={v.key} className="variant">
            <legend>
              Variant {i + 1} <span className="muted">· {(weights[i] / 10).toFixed(1).replace(/\.0$/, '')} %</span>
            </legend>
            <div className="variant-grid">
              <Field label="Name" error={e.name}>
                {(p) => <input {...p} value={v.name} onChange={(ev) => update(v.key, { name: ev.target.value })} autoComplete="off" />}
              </Field>
              <Field label="Weight">
                {(p) => (
                  <select {...p} value={v.weightType} onChange={(ev) => update(v.key, { weightType: ev.target.value as 'variable' | 'fix', percent: v.percent || String(weights[i] / 10) })}>
                    <option value="variable">Share the rest</option>
                    <option value="fix">Fixed</option>
                  </select>
                )}
              </Field>
              <Field label="Percent" error={e.percent}>
                {(p) =>
                  v.weightType === 'fix' ? (
                    <input {...p} inputMode="decimal" value={v.percent} onChange={(ev) => update(v.key, { percent: ev.target.value })} />
                  ) : (
                    <input {...p} value={`${(weights[i] / 10).toFixed(1).replace(/\.0$/, '')} (auto)`} readOnly />
                  )
                }
              </Field>
              <Field label="Stickiness">
                {(p) => (
                  <select {...p} value={v.stickiness} onChange={(ev) => update(v.key, { stickiness: ev.target.value })}>
                    {[...new Set([...stickinessOptions, v.stickiness])].map((s) => (
                      <option key={s} value={s}>
                        {s}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label="Payload type">
                {(p) => (
                  <select {...p} value={v.payloadType} onChange={(ev) => update(v.key, { payloadType: ev.target.value as VariantDraft['payloadType'] })}>
                    <option value="">No payload</option>
                    <option value="string">string</option>
                    <option value="json">json</option>
                    <option value="csv">csv</option>
                    <option value="number">number</option>
                  </select>
                )}
              </Field>
              <button type="button" className="button-secondary remove" aria-label={`Remove variant ${v.name || i + 1}`} onClick={() => onChange(value.filter((x) => x.key !== v.key))}>
                Remove
              </button>
            </div>
            {v.payloadType ? (
              <Field label="Payload" error={e.payload}>
                {(p) => (
                  <textarea
                    {...p}
                    className="mono"
                    rows={v.payloadType === 'json' ? 3 : 1}
                    value={v.payloadValue}
                    onChange={(ev) => update(v.key, { payloadValue: ev.target.value })}
                    spellCheck={false}
                  />
                )}
              </Field>
            ) : null}
            {v.overrides?.length ? <p className="muted">Overrides kept: {v.overrides.map((o) => `${o.contextName} ∈ [${o.values.join(', ')}]`).join('; ')}</p> : null}
          </fieldset>
        );
      })}
      {errors.total ? (
        <p className="field-error" role="alert">
          {errors.total}
        </p>
      ) : null}
      <button type="button" className="button-secondary" onClick={add}>
        + Add variant
      </button>
    </div>
  );
}
