import { useEffect, useState, type KeyboardEvent } from 'react';
import type { Constraint } from '../api';
import {
  CASE_OPERATORS,
  CONTEXT_FIELDS,
  OPERATOR_GROUPS,
  OPERATOR_LABELS,
  SINGLE_VALUE,
  constraintErrors,
  constraintValueError,
  loadRe2,
  re2Ready,
  type Operator,
} from '../validation';
import { Field } from './ui';

export interface ConstraintDraft {
  key: string;
  contextName: string;
  operator: string;
  value: string;
  values: string[];
  inverted: boolean;
  caseInsensitive: boolean;
}

let seq = 0;
export const newKey = () => `k${++seq}`;

export function toDraft(c: Constraint): ConstraintDraft {
  return {
    key: newKey(),
    contextName: c.contextName,
    operator: c.operator,
    value: c.value ?? (SINGLE_VALUE.has(c.operator) && c.values?.length === 1 ? c.values[0] : ''),
    values: c.values ?? [],
    inverted: !!c.inverted,
    caseInsensitive: !!c.caseInsensitive,
  };
}

export function fromDraft(d: ConstraintDraft): Constraint {
  const out: Constraint = { contextName: d.contextName.trim(), operator: d.operator };
  if (SINGLE_VALUE.has(d.operator)) out.value = d.value.trim();
  else out.values = d.values;
  if (d.inverted) out.inverted = true;
  if (d.caseInsensitive && CASE_OPERATORS.has(d.operator)) out.caseInsensitive = true;
  return out;
}

export const blankConstraint = (): ConstraintDraft => ({ key: newKey(), contextName: '', operator: 'IN', value: '', values: [], inverted: false, caseInsensitive: false });

/** True when every constraint is complete and valid. */
export function constraintsValid(list: ConstraintDraft[]): boolean {
  return list.every((c) => Object.keys(errorsOf(c, true)).length === 0);
}

function errorsOf(c: ConstraintDraft, strict: boolean) {
  const e = constraintErrors(c);
  if (!strict) {
    // While typing, an empty field is not yet an error; a wrong value is.
    if (!c.contextName) delete e.contextName;
    if (SINGLE_VALUE.has(c.operator) && c.value === '') delete e.value;
  }
  if (!SINGLE_VALUE.has(c.operator) && strict && c.values.length === 0 && !e.values) e.values = 'Add at least one value (type it and press Enter).';
  return e;
}

/**
 * Edits a list of constraints: context field, every Unleash operator, NOT, ignore case, and a
 * value picker per operator that validates as you type (numbers, ISO dates, semver, RE2 regexes,
 * IPs/CIDR ranges). `showErrors` also flags missing values (after a save attempt).
 */
export function ConstraintsEditor({
  value,
  onChange,
  showErrors,
  extraContextFields = [],
}: {
  value: ConstraintDraft[];
  onChange: (next: ConstraintDraft[]) => void;
  showErrors: boolean;
  extraContextFields?: string[];
}) {
  const update = (key: string, patch: Partial<ConstraintDraft>) => onChange(value.map((c) => (c.key === key ? { ...c, ...patch } : c)));
  const fields = [...new Set([...CONTEXT_FIELDS, ...extraContextFields])];
  return (
    <div className="constraints">
      <datalist id="context-fields">
        {fields.map((f) => (
          <option key={f} value={f} />
        ))}
      </datalist>
      {value.length === 0 ? <p className="muted">No constraints: everyone the strategy reaches is included.</p> : null}
      {value.map((c, i) => (
        <ConstraintRow
          key={c.key}
          index={i}
          c={c}
          showErrors={showErrors}
          onChange={(patch) => update(c.key, patch)}
          onRemove={() => onChange(value.filter((x) => x.key !== c.key))}
        />
      ))}
      <button type="button" className="button-secondary" onClick={() => onChange([...value, blankConstraint()])}>
        + Add constraint
      </button>
    </div>
  );
}

function ConstraintRow({
  c,
  index,
  showErrors,
  onChange,
  onRemove,
}: {
  c: ConstraintDraft;
  index: number;
  showErrors: boolean;
  onChange: (patch: Partial<ConstraintDraft>) => void;
  onRemove: () => void;
}) {
  const [, setRe2] = useState(re2Ready());
  useEffect(() => {
    if (c.operator === 'REGEX' && !re2Ready()) void loadRe2().then(() => setRe2(true));
  }, [c.operator]);
  const errors = errorsOf(c, showErrors);
  const single = SINGLE_VALUE.has(c.operator);
  const setOperator = (operator: string) => {
    // Carry the value over between single and list operators.
    if (SINGLE_VALUE.has(operator) && !single) onChange({ operator, value: c.values[0] ?? c.value });
    else if (!SINGLE_VALUE.has(operator) && single) onChange({ operator, values: c.value ? [c.value] : c.values });
    else onChange({ operator });
  };
  return (
    <fieldset className="constraint">
      <legend>Constraint {index + 1}</legend>
      <div className="constraint-grid">
        <Field label="Context field" error={errors.contextName}>
          {(p) => (
            <input
              {...p}
              list="context-fields"
              value={c.contextName}
              placeholder="userId, or a property such as plan"
              onChange={(e) => onChange({ contextName: e.target.value })}
              autoComplete="off"
            />
          )}
        </Field>
        <Field label="Operator">
          {(p) => (
            <select {...p} value={c.operator} onChange={(e) => setOperator(e.target.value)}>
              {OPERATOR_GROUPS.map((g) => (
                <optgroup key={g.label} label={g.label}>
                  {g.operators.map((op) => (
                    <option key={op} value={op}>
                      {OPERATOR_LABELS[op as Operator]} — {op}
                    </option>
                  ))}
                </optgroup>
              ))}
            </select>
          )}
        </Field>
        <div className="constraint-flags">
          <label className="checkbox">
            <input type="checkbox" checked={c.inverted} onChange={(e) => onChange({ inverted: e.target.checked })} /> NOT (invert)
          </label>
          {CASE_OPERATORS.has(c.operator) ? (
            <label className="checkbox">
              <input type="checkbox" checked={c.caseInsensitive} onChange={(e) => onChange({ caseInsensitive: e.target.checked })} /> Ignore case
            </label>
          ) : null}
        </div>
        <button type="button" className="button-secondary remove" onClick={onRemove} aria-label={`Remove constraint ${index + 1}`}>
          Remove
        </button>
      </div>
      {single ? (
        <SingleValue operator={c.operator} value={c.value} error={errors.value} onChange={(value) => onChange({ value })} />
      ) : (
        <ValuesInput operator={c.operator} values={c.values} error={errors.values} caseInsensitive={c.caseInsensitive} onChange={(values) => onChange({ values })} />
      )}
    </fieldset>
  );
}

function placeholderFor(op: string): string {
  if (op.startsWith('NUM_')) return 'a number, e.g. 42 or 3.5';
  if (op.startsWith('DATE_')) return '2025-01-31T12:00:00Z';
  if (op.startsWith('SEMVER_')) return '1.2.3 or 2.0.0-beta.1';
  if (op === 'REGEX') return '^user-[0-9]+$ (RE2 syntax)';
  return '';
}

function SingleValue({ operator, value, error, onChange }: { operator: string; value: string; error?: string; onChange: (v: string) => void }) {
  const isDate = operator.startsWith('DATE_');
  const local = isDate && value && !Number.isNaN(Date.parse(value)) ? toLocalInput(value) : '';
  return (
    <div className="value-row">
      <Field label="Value" error={error} className="grow">
        {(p) => (
          <input
            {...p}
            className={operator === 'REGEX' ? 'mono' : undefined}
            inputMode={operator.startsWith('NUM_') ? 'decimal' : undefined}
            value={value}
            placeholder={placeholderFor(operator)}
            onChange={(e) => onChange(e.target.value)}
            autoComplete="off"
            spellCheck={false}
          />
        )}
      </Field>
      {isDate ? (
        <Field label="Pick (your time zone)">
          {(p) => (
            <input
              {...p}
              type="datetime-local"
              value={local}
              onChange={(e) => {
                const t = Date.parse(e.target.value);
                if (!Number.isNaN(t)) onChange(new Date(t).toISOString().replace('.000Z', 'Z'));
              }}
            />
          )}
        </Field>
      ) : null}
    </div>
  );
}

function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A list of values as chips: type and press Enter (or a comma) to add; paste a comma-separated list. */
function ValuesInput({
  operator,
  values,
  error,
  caseInsensitive,
  onChange,
}: {
  operator: string;
  values: string[];
  error?: string;
  caseInsensitive: boolean;
  onChange: (v: string[]) => void;
}) {
  const [text, setText] = useState('');
  const pendingItems = text.split(',').map((s) => (operator === 'IN_CIDR' ? s.trim() : s)).filter((s) => s.trim() !== '');
  const typingError = pendingItems.map((v) => constraintValueError(operator, v, caseInsensitive)).find(Boolean) ?? null;
  const add = () => {
    if (pendingItems.length === 0 || typingError) return false;
    onChange([...values, ...pendingItems.filter((v) => !values.includes(v))]);
    setText('');
    return true;
  };
  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      add();
    } else if (e.key === 'Backspace' && text === '' && values.length > 0) {
      onChange(values.slice(0, -1));
    }
  };
  const shownError = typingError ?? error ?? null;
  return (
    <Field
      label={operator === 'IN_CIDR' ? 'IP addresses or CIDR ranges' : 'Values'}
      error={shownError}
      help={values.length === 0 ? 'Type a value and press Enter; paste a comma-separated list to add several.' : undefined}
    >
      {(p) => (
        <div className={`chips${shownError ? ' chips-invalid' : ''}`}>
          {values.map((v) => {
            const bad = constraintValueError(operator, v, caseInsensitive);
            return (
              <span key={v} className={`chip${bad ? ' chip-invalid' : ''}`} title={bad ?? undefined}>
                {v}
                <button type="button" aria-label={`Remove ${v}`} onClick={() => onChange(values.filter((x) => x !== v))}>
                  ×
                </button>
              </span>
            );
          })}
          <input
            {...p}
            value={text}
            placeholder={operator === 'IN_CIDR' ? '10.0.0.0/8' : 'add a value'}
            onChange={(e) => {
              const next = e.target.value;
              if (next.endsWith(',') && !next.slice(0, -1).includes(',')) {
                const item = next.slice(0, -1);
                if (item.trim() && !constraintValueError(operator, item, caseInsensitive)) {
                  if (!values.includes(item)) onChange([...values, item]);
                  setText('');
                  return;
                }
              }
              setText(next);
            }}
            onKeyDown={onKey}
            onBlur={() => add()}
            autoComplete="off"
            spellCheck={false}
          />
        </div>
      )}
    </Field>
  );
}
