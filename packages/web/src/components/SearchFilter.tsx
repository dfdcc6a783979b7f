import { setQuery } from '../router';
import { Field } from './ui';

/** A free-text filter of a list page, kept in the URL query (`q`) so that links and Back keep it. */
export function SearchFilter({ label, value }: { label: string; value: string }) {
  return <Field label={label}>{(p) => <input {...p} type="search" value={value} onChange={(e) => setQuery({ q: e.target.value })} placeholder="filter…" />}</Field>;
}
