import type { Constraint, VariantDefinition } from '@switchyard/engine';
import { badRequest } from '../http/problem.js';
import { ENVIRONMENT_NAME_PATTERN, ENVIRONMENT_TYPES, FLAG_NAME_PATTERN, PROJECT_ID_PATTERN } from '../http/schemas.js';
import type { EnvironmentType } from '../storage/schema.js';

/**
 * Parsing of import files into one normalized shape. Import is faithful: it keeps what the Unleash
 * client-API format allows (unknown strategies and operators, dangling segment ids, dependencies on
 * missing parents) because SDKs define what those mean. Only the shape is checked here.
 */

export interface ImportedStrategy {
  id?: string;
  name: string;
  title: string | null;
  disabled: boolean;
  parameters: Record<string, string>;
  constraints: Constraint[];
  /** Segment ids as written in the file (remapped on import). */
  segments: number[];
  variants: VariantDefinition[];
  sortOrder: number;
}

export interface ImportedEnvironmentState {
  enabled: boolean;
  strategies: ImportedStrategy[];
  variants: VariantDefinition[];
}

export interface ImportedFlag {
  name: string;
  project: string | undefined;
  type: string;
  description: string | null;
  /** Only Switchyard exports carry these; undefined keeps what the flag has. */
  owner?: string | null;
  tags?: string[];
  impressionData: boolean;
  archived: boolean;
  dependencies: { feature: string; enabled: boolean; variants: string[] }[];
  /** Keyed by environment name as written in the file (`''` for an Unleash payload's single state). */
  environments: Record<string, ImportedEnvironmentState>;
}

export interface ImportedSegment {
  id: number;
  name: string;
  description: string | null;
  project: string | null;
  constraints: Constraint[];
}

export interface ImportFile {
  format: 'unleash' | 'switchyard';
  projects: { id: string; name: string; description: string | null }[];
  environments: { name: string; type: EnvironmentType; sortOrder?: number }[];
  segments: ImportedSegment[];
  flags: ImportedFlag[];
}

const flagNameRe = new RegExp(FLAG_NAME_PATTERN, 'u');
const projectRe = new RegExp(PROJECT_ID_PATTERN);
const envRe = new RegExp(ENVIRONMENT_NAME_PATTERN);

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

function fail(path: string, what: string): never {
  throw badRequest(`Cannot import: ${path} ${what}.`);
}

function str(v: unknown, path: string, opts: { max?: number; optional?: boolean } = {}): string | undefined {
  if (v === undefined || v === null) {
    if (opts.optional) return undefined;
    fail(path, 'is missing');
  }
  if (typeof v !== 'string') fail(path, `must be a string, not ${JSON.stringify(v)?.slice(0, 40)}`);
  if (opts.max !== undefined && v.length > opts.max) fail(path, `is longer than ${opts.max} characters`);
  return v;
}

function arr(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail(path, 'must be a list');
  return v;
}

function bool(v: unknown, path: string, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') fail(path, 'must be true or false');
  return v;
}

function scalarString(v: unknown, path: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  fail(path, 'must be a string');
}

export function parseConstraint(c: unknown, path: string): Constraint {
  if (!isObject(c)) fail(path, 'must be an object');
  const out: Constraint = {
    contextName: str(c.contextName, `${path}.contextName`, { max: 255 })!,
    operator: str(c.operator, `${path}.operator`, { max: 100 })!,
  };
  if (c.values !== undefined && c.values !== null) out.values = arr(c.values, `${path}.values`).map((v, i) => scalarString(v, `${path}.values[${i}]`));
  if (c.value !== undefined && c.value !== null) out.value = scalarString(c.value, `${path}.value`);
  if (c.inverted !== undefined && c.inverted !== null) out.inverted = bool(c.inverted, `${path}.inverted`, false);
  if (c.caseInsensitive !== undefined && c.caseInsensitive !== null) out.caseInsensitive = bool(c.caseInsensitive, `${path}.caseInsensitive`, false);
  return out;
}

function parseVariant(v: unknown, path: string): VariantDefinition {
  if (!isObject(v)) fail(path, 'must be an object');
  const weight = v.weight ?? 0;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < 0) fail(`${path}.weight`, 'must be a number from 0 to 1000');
  const out: VariantDefinition = { name: str(v.name, `${path}.name`, { max: 255 })!, weight };
  if (v.weightType !== undefined && v.weightType !== null) out.weightType = str(v.weightType, `${path}.weightType`, { max: 20 });
  if (v.stickiness !== undefined && v.stickiness !== null) out.stickiness = str(v.stickiness, `${path}.stickiness`, { max: 255 });
  if (v.payload !== undefined && v.payload !== null) {
    if (!isObject(v.payload)) fail(`${path}.payload`, 'must be an object {type, value}');
    out.payload = { type: str(v.payload.type, `${path}.payload.type`, { max: 50 })!, value: scalarString(v.payload.value ?? '', `${path}.payload.value`) };
  }
  if (v.overrides !== undefined && v.overrides !== null) {
    out.overrides = arr(v.overrides, `${path}.overrides`).map((o, i) => {
      if (!isObject(o)) fail(`${path}.overrides[${i}]`, 'must be an object');
      return {
        contextName: str(o.contextName, `${path}.overrides[${i}].contextName`, { max: 255 })!,
        values: arr(o.values, `${path}.overrides[${i}].values`).map((x, j) => scalarString(x, `${path}.overrides[${i}].values[${j}]`)),
      };
    });
  }
  return out;
}

function parseStrategy(s: unknown, path: string, index: number): ImportedStrategy {
  if (!isObject(s)) fail(path, 'must be an object');
  const parameters: Record<string, string> = {};
  if (s.parameters !== undefined && s.parameters !== null) {
    if (!isObject(s.parameters)) fail(`${path}.parameters`, 'must be an object');
    for (const [k, v] of Object.entries(s.parameters)) {
      if (v === undefined || v === null) continue;
      parameters[k] = scalarString(v, `${path}.parameters.${k}`);
    }
  }
  const segments = arr(s.segments, `${path}.segments`).map((id, i) => {
    if (typeof id !== 'number' || !Number.isInteger(id)) fail(`${path}.segments[${i}]`, 'must be a segment id (an integer)');
    return id;
  });
  const out: ImportedStrategy = {
    name: str(s.name, `${path}.name`, { max: 255 })!,
    title: str(s.title, `${path}.title`, { max: 255, optional: true }) ?? null,
    disabled: bool(s.disabled, `${path}.disabled`, false),
    parameters,
    constraints: arr(s.constraints, `${path}.constraints`).map((c, i) => parseConstraint(c, `${path}.constraints[${i}]`)),
    segments,
    variants: arr(s.variants, `${path}.variants`).map((v, i) => parseVariant(v, `${path}.variants[${i}]`)),
    sortOrder: typeof s.sortOrder === 'number' && Number.isInteger(s.sortOrder) ? s.sortOrder : index,
  };
  if (typeof s.id === 'string' && s.id.length > 0 && s.id.length <= 100) out.id = s.id;
  return out;
}

function parseDependencies(v: unknown, path: string) {
  return arr(v, path).map((d, i) => {
    if (!isObject(d)) fail(`${path}[${i}]`, 'must be an object');
    return {
      feature: str(d.feature, `${path}[${i}].feature`, { max: 255 })!,
      enabled: bool(d.enabled, `${path}[${i}].enabled`, true),
      variants: arr(d.variants, `${path}[${i}].variants`).map((x, j) => str(x, `${path}[${i}].variants[${j}]`, { max: 255 })!),
    };
  });
}

function flagName(v: unknown, path: string): string {
  const name = str(v, path, { max: 255 })!;
  if (!flagNameRe.test(name) || name === '.' || name === '..') fail(path, `"${name}" is not a valid flag name (no spaces, slashes or control characters)`);
  return name;
}

function projectId(v: unknown, path: string): string | undefined {
  const id = str(v, path, { max: 100, optional: true });
  if (id !== undefined && !projectRe.test(id)) fail(path, `"${id}" is not a valid project id (${PROJECT_ID_PATTERN})`);
  return id;
}

function parseSegment(s: unknown, path: string): ImportedSegment {
  if (!isObject(s)) fail(path, 'must be an object');
  if (typeof s.id !== 'number' || !Number.isInteger(s.id)) fail(`${path}.id`, 'must be an integer');
  return {
    id: s.id,
    name: str(s.name, `${path}.name`, { max: 255, optional: true }) ?? `segment-${s.id}`,
    description: str(s.description, `${path}.description`, { max: 2000, optional: true }) ?? null,
    project: projectId(s.project, `${path}.project`) ?? null,
    constraints: arr(s.constraints, `${path}.constraints`).map((c, i) => parseConstraint(c, `${path}.constraints[${i}]`)),
  };
}

function uniqueNames<T extends { name: string }>(items: T[], what: string): T[] {
  // A later entry with the same name wins, as it would when applying the file in order.
  const byName = new Map<string, T>();
  for (const item of items) {
    byName.delete(item.name);
    byName.set(item.name, item);
  }
  void what;
  return [...byName.values()];
}

/** Folds Unleash delta-API events (`{events: [...]}`, as in client-specification 19/20) into a full payload. */
function foldDelta(events: unknown[]): { features: unknown[]; segments: unknown[] } {
  const features = new Map<string, unknown>();
  const segments = new Map<number, unknown>();
  events.forEach((e, i) => {
    if (!isObject(e)) fail(`events[${i}]`, 'must be an object');
    switch (e.type) {
      case 'hydration':
        features.clear();
        segments.clear();
        for (const f of arr(e.features, `events[${i}].features`)) features.set(String((f as any)?.name), f);
        for (const s of arr(e.segments, `events[${i}].segments`)) segments.set(Number((s as any)?.id), s);
        break;
      case 'feature-updated':
        features.delete(String(e.feature?.name));
        features.set(String(e.feature?.name), e.feature);
        break;
      case 'feature-removed':
        features.delete(String(e.featureName));
        break;
      case 'segment-updated':
        segments.set(Number(e.segment?.id), e.segment);
        break;
      case 'segment-removed':
        segments.delete(Number(e.segmentId ?? e.id));
        break;
      default:
        fail(`events[${i}].type`, `"${e.type}" is not a delta event type this import understands`);
    }
  });
  return { features: [...features.values()], segments: [...segments.values()] };
}

export function parseImportFile(body: unknown): ImportFile {
  if (!isObject(body)) throw badRequest('Cannot import: the body must be a JSON object (an Unleash client-API payload or a Switchyard export).');
  if (body.format === 'switchyard-export') return parseSwitchyard(body);
  if (body.format !== undefined) throw badRequest(`Cannot import: unknown format "${String(body.format)}"; expected "switchyard-export" or an Unleash payload.`);
  let payload: Record<string, any> = body;
  if (!Array.isArray(body.features) && Array.isArray(body.events)) payload = foldDelta(body.events);
  if (!Array.isArray(payload.features)) {
    throw badRequest('Cannot import: expected an Unleash client-API payload {version, features[], segments[]} or a Switchyard export {format: "switchyard-export", …}.');
  }
  const flags = payload.features.map((f: unknown, i: number): ImportedFlag => {
    const path = `features[${i}]`;
    if (!isObject(f)) fail(path, 'must be an object');
    return {
      name: flagName(f.name, `${path}.name`),
      project: projectId(f.project, `${path}.project`),
      type: str(f.type, `${path}.type`, { max: 100, optional: true }) || 'release',
      description: str(f.description, `${path}.description`, { max: 2000, optional: true }) ?? null,
      impressionData: bool(f.impressionData, `${path}.impressionData`, false),
      archived: false,
      dependencies: parseDependencies(f.dependencies, `${path}.dependencies`),
      environments: {
        '': {
          enabled: bool(f.enabled, `${path}.enabled`, false),
          strategies: arr(f.strategies, `${path}.strategies`).map((s, j) => parseStrategy(s, `${path}.strategies[${j}]`, j)),
          variants: arr(f.variants, `${path}.variants`).map((v, j) => parseVariant(v, `${path}.variants[${j}]`)),
        },
      },
    };
  });
  const segments = arr(payload.segments, 'segments').map((s, i) => parseSegment(s, `segments[${i}]`));
  return { format: 'unleash', projects: [], environments: [], segments, flags: uniqueNames(flags, 'flag') };
}

function parseSwitchyard(body: Record<string, any>): ImportFile {
  if (body.version !== 1) throw badRequest(`Cannot import: Switchyard export version ${JSON.stringify(body.version)} is not supported (expected 1).`);
  const projects = arr(body.projects, 'projects').map((p, i) => {
    if (!isObject(p)) fail(`projects[${i}]`, 'must be an object');
    const id = projectId(p.id, `projects[${i}].id`);
    if (id === undefined) fail(`projects[${i}].id`, 'is missing');
    return { id, name: str(p.name, `projects[${i}].name`, { max: 255, optional: true }) || id, description: str(p.description, `projects[${i}].description`, { max: 2000, optional: true }) ?? null };
  });
  const environments = arr(body.environments, 'environments').map((e, i) => {
    if (!isObject(e)) fail(`environments[${i}]`, 'must be an object');
    const name = str(e.name, `environments[${i}].name`, { max: 100 })!;
    if (!envRe.test(name)) fail(`environments[${i}].name`, `"${name}" is not a valid environment name`);
    const type = (str(e.type, `environments[${i}].type`, { optional: true }) ?? 'development') as EnvironmentType;
    if (!ENVIRONMENT_TYPES.includes(type)) fail(`environments[${i}].type`, `must be one of ${ENVIRONMENT_TYPES.join(', ')}`);
    return { name, type, sortOrder: typeof e.sortOrder === 'number' && Number.isInteger(e.sortOrder) ? e.sortOrder : undefined };
  });
  const segments = arr(body.segments, 'segments').map((s, i) => parseSegment(s, `segments[${i}]`));
  const flags = arr(body.flags, 'flags').map((f, i): ImportedFlag => {
    const path = `flags[${i}]`;
    if (!isObject(f)) fail(path, 'must be an object');
    const envs: Record<string, ImportedEnvironmentState> = {};
    if (f.environments !== undefined && f.environments !== null) {
      if (!isObject(f.environments)) fail(`${path}.environments`, 'must be an object keyed by environment name');
      for (const [env, state] of Object.entries(f.environments)) {
        const p = `${path}.environments.${env}`;
        if (!envRe.test(env)) fail(p, `"${env}" is not a valid environment name`);
        if (!isObject(state)) fail(p, 'must be an object {enabled, strategies, variants}');
        envs[env] = {
          enabled: bool(state.enabled, `${p}.enabled`, false),
          strategies: arr(state.strategies, `${p}.strategies`).map((s, j) => parseStrategy(s, `${p}.strategies[${j}]`, j)),
          variants: arr(state.variants, `${p}.variants`).map((v, j) => parseVariant(v, `${p}.variants[${j}]`)),
        };
      }
    }
    const tags = f.tags === undefined || f.tags === null ? undefined : arr(f.tags, `${path}.tags`).map((t, j) => str(t, `${path}.tags[${j}]`, { max: 100 })!);
    return {
      name: flagName(f.name, `${path}.name`),
      project: projectId(f.project, `${path}.project`),
      type: str(f.type, `${path}.type`, { max: 100, optional: true }) || 'release',
      description: str(f.description, `${path}.description`, { max: 2000, optional: true }) ?? null,
      owner: f.owner === undefined ? undefined : (str(f.owner, `${path}.owner`, { max: 255, optional: true }) ?? null),
      tags,
      impressionData: bool(f.impressionData, `${path}.impressionData`, false),
      archived: bool(f.archived, `${path}.archived`, false),
      dependencies: parseDependencies(f.dependencies, `${path}.dependencies`),
      environments: envs,
    };
  });
  return { format: 'switchyard', projects, environments, segments, flags: uniqueNames(flags, 'flag') };
}
