/**
 * Test helpers for release plans: apps with the guardian's loop off (tests call `tick()`), apps
 * that share one database (crash-resume, two replicas), a fake cohort source, plan helpers.
 */
import type { BuiltApp, ServerConfig } from '../src/index.js';
import { releasesOf, type Releases } from '../src/releases/routes.js';
import type { CohortQuery, CohortRead, CohortSource } from '../src/releases/source.js';
import type { CohortCounts } from '../src/releases/guardian/index.js';
import { api, openTestApp, type TestDatabase } from './harness.js';

export interface ReleaseApp extends BuiltApp {
  releases: Releases;
  source: FakeSource;
  close(): Promise<void>;
}

/** An app on `db` with the guardian loop off (unless `config.releaseCheckIntervalMs` says otherwise) and a fake cohort source. */
export async function releaseApp(db: TestDatabase, config: Partial<ServerConfig> = {}): Promise<ReleaseApp> {
  const built = await openTestApp(db, { releaseCheckIntervalMs: 0, releaseLeaderRetryMs: 200, ...config });
  const releases = releasesOf(built.services);
  const source = new FakeSource();
  releases.runner.options.source = source;
  return { ...built, releases, source, close: () => built.app.close() };
}

const zero = (): CohortCounts => ({ requests: 0, errors: 0, latency: null });

/** Cohort counts pushed by the test; each read returns (and consumes) what was pushed since the last. */
export class FakeSource implements CohortSource {
  private pending: Array<{ cohorts: Record<string, CohortCounts>; flag?: string }> = [];
  private seq = 0;
  reads: CohortQuery[] = [];

  push(cohorts: Record<string, Partial<CohortCounts>>, flag?: string): void {
    this.pending.push({ flag, cohorts: Object.fromEntries(Object.entries(cohorts).map(([k, v]) => [k, { ...zero(), ...v }])) });
  }

  async read(q: CohortQuery): Promise<CohortRead> {
    this.reads.push(q);
    const mine = this.pending.filter((p) => !p.flag || p.flag === q.flag);
    this.pending = this.pending.filter((p) => !mine.includes(p));
    const cohorts: Record<string, CohortCounts> = {};
    for (const p of mine) {
      for (const [name, c] of Object.entries(p.cohorts)) {
        const t = (cohorts[name] ??= zero());
        t.requests += c.requests;
        t.errors += c.errors;
        if (c.latency) t.latency = t.latency ? t.latency.map((x, i) => x + (c.latency![i] ?? 0)) : [...c.latency];
      }
    }
    return { cohorts, batches: mine.length, cursor: mine.length ? `fake-${++this.seq}` : q.cursor };
  }
}

export async function createFlag(t: BuiltApp, name: string, opts: { project?: string } = {}) {
  const res = await api(t, 'POST', '/api/admin/flags', { name, ...opts });
  if (res.status !== 201) throw new Error(`create flag ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function flagEnv(t: BuiltApp, name: string, env: string) {
  const flag = (await api(t, 'GET', `/api/admin/flags/${encodeURIComponent(name)}`)).body;
  return flag.environments.find((e: any) => e.name === env);
}

/** Requests that are all healthy: errors at `rate`. */
export const healthy = (requests: number, rate = 0.01): Partial<CohortCounts> => ({ requests, errors: Math.round(requests * rate) });

/** A test gate: small minimum traffic, errors only (no latency warm-up), no SRM unless asked. */
export const TEST_GATE = { minCanaryRequests: 50, minControlRequests: 50, latency: false as const, srm: false as const };

/** A streamed response body as text: `until(re)` reads on until the text so far matches (5 s at most). */
export function streamedText(res: Response) {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  return {
    get text() {
      return text;
    },
    async until(re: RegExp): Promise<boolean> {
      const deadline = Date.now() + 5000;
      while (!re.test(text) && Date.now() < deadline) {
        const { value, done } = await reader.read();
        if (done) break;
        text += decoder.decode(value);
      }
      return re.test(text);
    },
  };
}
