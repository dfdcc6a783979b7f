import { randomBytes } from 'node:crypto';
import { badRequest } from '../../http/problem.js';
import type { SinkType, SinksTable } from './tables.js';

/**
 * What each kind of sink needs: its settings (some of them secret), how they are checked, and how
 * a sink is shown. Secret settings go into the sealed `secrets` column and are never shown again;
 * a webhook secret the server generated is returned once, in the create (or rotate) response.
 */

export const SINK_TYPES = ['webhook', 'slack', 'grafana', 'datadog'] as const satisfies readonly SinkType[];

/** The settings a request may carry (every field of every type; `checkConfig` decides per type). */
export interface ConfigInput {
  url?: string;
  secret?: string;
  apiKey?: string;
  site?: string;
  dashboardUid?: string | null;
  panelId?: number | null;
  tags?: string[];
}

/** Non-secret settings, stored in `sinks.config` and shown. */
export interface PublicConfig {
  /** webhook and grafana: the URL; slack: only a hint (the URL is the secret). */
  url?: string;
  urlHint?: string;
  site?: string;
  dashboardUid?: string;
  panelId?: number;
  tags?: string[];
}

export type SecretConfig = Record<string, string>;

export const DEFAULT_DATADOG_SITE = 'https://api.datadoghq.com';

const FIELDS: Record<SinkType, { required: (keyof ConfigInput)[]; optional: (keyof ConfigInput)[]; secret: (keyof ConfigInput)[] }> = {
  webhook: { required: ['url'], optional: ['secret'], secret: ['secret'] },
  slack: { required: ['url'], optional: [], secret: ['url'] },
  grafana: { required: ['url', 'apiKey'], optional: ['dashboardUid', 'panelId', 'tags'], secret: ['apiKey'] },
  datadog: { required: ['apiKey'], optional: ['site', 'tags'], secret: ['apiKey'] },
};

export const secretFields = (type: SinkType): string[] => FIELDS[type].secret;

/** An http(s) URL without credentials in it; anything else is a 400 naming the field. */
export function httpUrl(value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw badRequest(`${field} must be an absolute http:// or https:// URL; got "${value.slice(0, 100)}".`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badRequest(`${field} must use http:// or https://, not ${url.protocol}//.`);
  if (url.username || url.password) throw badRequest(`${field} must not carry a user name or password; put credentials in the sink's secret settings.`);
  return url.toString();
}

/** `https://hooks.slack.com/services/…`: enough to recognise the target, nothing of the secret part. */
export function urlHint(value: string): string {
  const url = new URL(value);
  const first = url.pathname.split('/').filter(Boolean)[0];
  return `${url.origin}/${first ? `${first}/` : ''}…`;
}

export const generateWebhookSecret = () => `whsec_${randomBytes(32).toString('base64url')}`;

export interface CheckedConfig {
  config: PublicConfig;
  secrets: SecretConfig;
  /** A secret the server generated: returned once. */
  generated?: string;
  /** Which secret settings this write set (for the audit event; never their values). */
  secretsChanged: string[];
}

/**
 * Checks `input` for a sink of `type` and merges it over the current settings (for an update;
 * omitted fields keep their value, `null` clears an optional one).
 */
export function checkConfig(type: SinkType, input: ConfigInput, current?: { config: PublicConfig; secrets: SecretConfig }, rotateSecret = false): CheckedConfig {
  const spec = FIELDS[type];
  const allowed = new Set([...spec.required, ...spec.optional]);
  for (const key of Object.keys(input) as (keyof ConfigInput)[]) {
    if (input[key] !== undefined && !allowed.has(key)) {
      throw badRequest(`config.${key} does not apply to a ${type} sink; it takes ${[...allowed].map((k) => `config.${k}`).join(', ')}.`);
    }
  }
  const config: PublicConfig = { ...(current?.config ?? {}) };
  const secrets: SecretConfig = { ...(current?.secrets ?? {}) };
  const secretsChanged: string[] = [];
  let generated: string | undefined;

  for (const key of spec.required) {
    const has = input[key] !== undefined && input[key] !== null;
    const had = spec.secret.includes(key) ? secrets[key] !== undefined : (config as any)[key] !== undefined;
    if (!has && !had) throw badRequest(`A ${type} sink needs config.${key}.`);
  }

  if (input.url !== undefined) {
    const url = httpUrl(input.url, 'config.url');
    if (type === 'slack') {
      secrets.url = url;
      config.urlHint = urlHint(url);
      secretsChanged.push('url');
    } else config.url = url;
  }
  if (input.site !== undefined) config.site = httpUrl(input.site, 'config.site');
  if (type === 'datadog' && config.site === undefined) config.site = DEFAULT_DATADOG_SITE;
  if (input.apiKey !== undefined) {
    secrets.apiKey = input.apiKey;
    secretsChanged.push('apiKey');
  }
  if (input.dashboardUid === null) delete config.dashboardUid;
  else if (input.dashboardUid !== undefined) config.dashboardUid = input.dashboardUid;
  if (input.panelId === null) delete config.panelId;
  else if (input.panelId !== undefined) config.panelId = input.panelId;
  if (input.tags !== undefined) config.tags = [...new Set(input.tags.map((t) => t.trim()).filter(Boolean))];
  if (type === 'webhook') {
    if (input.secret !== undefined && rotateSecret) throw badRequest('Send either config.secret or rotateSecret, not both.');
    if (input.secret !== undefined) {
      secrets.secret = input.secret;
      secretsChanged.push('secret');
    } else if (rotateSecret || secrets.secret === undefined) {
      secrets.secret = generated = generateWebhookSecret();
      secretsChanged.push('secret');
    }
  } else if (rotateSecret) throw badRequest('rotateSecret applies to webhook sinks only; send the new key in config instead.');
  return { config, secrets, generated, secretsChanged };
}

export interface SinkView {
  id: string;
  project: string;
  name: string;
  type: SinkType;
  enabled: boolean;
  environments: string[];
  events: string[];
  config: PublicConfig;
  /** Names of the secret settings that are set (their values are never returned). */
  secrets: string[];
  createdAt: string;
  updatedAt: string;
}

export function sinkView(row: SinksTable): SinkView {
  return {
    id: row.id,
    project: row.project,
    name: row.name,
    type: row.type,
    enabled: !!row.enabled,
    environments: JSON.parse(row.environments) as string[],
    events: JSON.parse(row.events) as string[],
    config: JSON.parse(row.config) as PublicConfig,
    secrets: secretFields(row.type),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
