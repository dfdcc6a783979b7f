/**
 * The constraint operators Unleash SDKs understand (SEMVER_GTE/LTE are in the client
 * specification): the one list the server's validation and the admin UI share. A module without
 * imports: with `"sideEffects": false` in package.json, a bundle that takes only this list from
 * the package index leaves the evaluation engine (re2js, semver) out.
 */
export const OPERATORS = [
  'IN',
  'NOT_IN',
  'STR_CONTAINS',
  'STR_STARTS_WITH',
  'STR_ENDS_WITH',
  'NUM_EQ',
  'NUM_GT',
  'NUM_GTE',
  'NUM_LT',
  'NUM_LTE',
  'DATE_AFTER',
  'DATE_BEFORE',
  'SEMVER_EQ',
  'SEMVER_GT',
  'SEMVER_GTE',
  'SEMVER_LT',
  'SEMVER_LTE',
  'REGEX',
  'IN_CIDR',
] as const;

export type Operator = (typeof OPERATORS)[number];
