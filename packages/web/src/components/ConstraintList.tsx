import type { Constraint } from '../api';
import { describeConstraint } from './describe';

/** Constraints, one per line, in the words of describeConstraint. */
export function ConstraintList({ constraints }: { constraints: Constraint[] }) {
  return (
    <ul className="constraint-list">
      {constraints.map((c, i) => (
        <li key={i}>
          <code>{describeConstraint(c)}</code>
        </li>
      ))}
    </ul>
  );
}
