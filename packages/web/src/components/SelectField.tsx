import type { ReactNode } from 'react';
import type { Environment, Project } from '../api';
import { Field } from './ui';

/** A choice of a select: its value, and what it shows (the value itself when a plain string). */
export type Choice = string | { value: string; label: ReactNode };

/** A labelled select: first, when `anyLabel` is given, a choice with the empty value ("any", "all"), then `choices`. */
export function SelectField({
  label,
  value,
  onChange,
  anyLabel,
  choices,
  help,
  error,
  name,
  disabled,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  anyLabel?: string;
  choices: readonly Choice[];
  help?: ReactNode;
  error?: string | null;
  name?: string;
  disabled?: boolean;
}) {
  return (
    <Field label={label} help={help} error={error}>
      {(p) => (
        <select {...p} name={name} value={value} disabled={disabled} onChange={(e) => onChange(e.target.value)}>
          {anyLabel !== undefined ? <option value="">{anyLabel}</option> : null}
          {choices.map((c) => {
            const { value: v, label: l } = typeof c === 'string' ? { value: c, label: c } : c;
            return (
              <option key={v} value={v}>
                {l}
              </option>
            );
          })}
        </select>
      )}
    </Field>
  );
}

/** Projects as choices, by name (their id when unnamed). */
export const projectChoices = (projects: Project[] | undefined): Choice[] => (projects ?? []).map((x) => ({ value: x.id, label: x.name || x.id }));

export const environmentChoices = (envs: Environment[] | undefined): Choice[] => (envs ?? []).map((x) => x.name);
