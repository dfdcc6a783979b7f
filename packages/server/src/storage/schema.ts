import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * Database tables. Timestamps are ISO-8601 text and JSON documents are text in both dialects,
 * so every query behaves the same on SQLite and PostgreSQL; booleans are 0/1 integers.
 */
export interface Database {
  projects: ProjectsTable;
  environments: EnvironmentsTable;
  flags: FlagsTable;
  flag_environments: FlagEnvironmentsTable;
  strategies: StrategiesTable;
  flag_dependencies: FlagDependenciesTable;
  segments: SegmentsTable;
  events: EventsTable;
  api_tokens: ApiTokensTable;
  client_applications: ClientApplicationsTable;
  flag_metrics: FlagMetricsTable;
  settings: SettingsTable;
}

export interface ProjectsTable {
  id: string;
  name: string;
  description: string | null;
  created_at: string;
}

export type EnvironmentType = 'development' | 'test' | 'staging' | 'production';

export interface EnvironmentsTable {
  name: string;
  type: EnvironmentType;
  sort_order: number;
  /** Bumped by every write that changes what an SDK in this environment sees. */
  revision: number;
  created_at: string;
}

export interface FlagsTable {
  name: string;
  project: string;
  type: string;
  description: string | null;
  owner: string | null;
  tags: string; // JSON string[]
  impression_data: number;
  archived_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface FlagEnvironmentsTable {
  flag: string;
  environment: string;
  enabled: number;
  variants: string; // JSON VariantDefinition[]
}

export interface StrategiesTable {
  id: string;
  flag: string;
  environment: string;
  name: string;
  title: string | null;
  disabled: number;
  parameters: string; // JSON Record<string,string>
  constraints: string; // JSON Constraint[]
  segments: string; // JSON number[]
  variants: string; // JSON VariantDefinition[]
  sort_order: number;
}

export interface FlagDependenciesTable {
  child: string;
  parent: string;
  enabled: number;
  variants: string; // JSON string[]
}

export interface SegmentsTable {
  id: Generated<number>;
  name: string;
  description: string | null;
  project: string | null;
  constraints: string; // JSON Constraint[]
  created_at: string;
}

export interface EventsTable {
  id: Generated<number>;
  type: string;
  actor: string;
  project: string | null;
  environment: string | null;
  flag: string | null;
  before: string | null; // JSON
  after: string | null; // JSON
  created_at: string;
}

export type TokenType = 'admin' | 'backend' | 'frontend';

export interface ApiTokensTable {
  id: string;
  name: string;
  type: TokenType;
  environment: string;
  projects: string; // JSON string[]; ["*"] for all
  secret_hash: string; // hex sha256 of the whole token string
  created_at: string;
  expires_at: string | null;
  last_seen_at: string | null;
}

export interface ClientApplicationsTable {
  app_name: string;
  instance_id: string;
  environment: string;
  sdk_version: string | null;
  strategies: string; // JSON string[]
  interval: number | null;
  started_at: string | null;
  last_seen_at: string;
}

export interface FlagMetricsTable {
  flag: string;
  environment: string;
  app_name: string;
  /** Start of the hour the counts belong to (ISO). */
  bucket: string;
  yes: ColumnType<number, number, number>;
  no: ColumnType<number, number, number>;
  variants: string; // JSON Record<string, number>
  last_seen_at: string;
}

export interface SettingsTable {
  key: string;
  value: string;
}

export type ProjectRow = Selectable<ProjectsTable>;
export type EnvironmentRow = Selectable<EnvironmentsTable>;
export type FlagRow = Selectable<FlagsTable>;
export type StrategyRow = Selectable<StrategiesTable>;
export type SegmentRow = Selectable<SegmentsTable>;
export type EventRow = Selectable<EventsTable>;
export type ApiTokenRow = Selectable<ApiTokensTable>;
export type NewEvent = Insertable<EventsTable>;
export type FlagUpdate = Updateable<FlagsTable>;
