import type { Constraint } from '../api';
import { OPERATOR_LABELS, SINGLE_VALUE, type Operator } from '../validation';

/** A constraint in one line of words: `plan NOT is one of [beta, free] (ignore case)`. */
export function describeConstraint(c: Constraint): string {
  const op = OPERATOR_LABELS[c.operator as Operator] ?? c.operator;
  const vals = SINGLE_VALUE.has(c.operator) ? (c.value ?? c.values?.[0] ?? '') : `[${(c.values ?? []).join(', ')}]`;
  return `${c.contextName} ${c.inverted ? 'NOT ' : ''}${op} ${vals}${c.caseInsensitive ? ' (ignore case)' : ''}`;
}
