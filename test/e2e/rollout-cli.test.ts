/**
 * `switchyard rollout …` against a real server: start (new plan, or a draft with --plan), status,
 * list, pause, resume, advance (safe retries with --step), rollback with a reason, decisions, and
 * watch following a plan live until it completes (exit 0) or rolls back (exit 3); --json everywhere.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ok, startServerProcess, type ServerProcess } from './server.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let server: ServerProcess;

function cli(args: string[]): { done: Promise<Run>; stdout: () => string } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['SWITCHYARD_URL', 'SWITCHYARD_TOKEN', 'SWITCHYARD_DATA_DIR', 'SWITCHYARD_ADMIN_TOKEN', 'DATABASE_URL']) delete env[k];
  const child = spawn(process.execPath, [BIN, ...args, '--url', server.url, '--token', server.adminToken!], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { done, stdout: () => stdout };
}
const run = (...args: string[]) => cli(args).done;
const json = async (...args: string[]) => {
  const r = await run(...args, '--json');
  if (r.code !== 0) throw new Error(`switchyard ${args.join(' ')} → ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};

beforeAll(async () => {
  server = await startServerProcess({ logLevel: 'warn' });
  for (const name of ['cli-a', 'cli-b']) await ok(server, 'POST', '/api/admin/flags', { name }, server.adminToken);
});
afterAll(async () => {
  await server?.stop();
});

describe('switchyard rollout', () => {
  it('starts, shows, pauses, resumes, advances (safely retried) and watches a plan to completion', async () => {
    const help = await run('rollout', '--help');
    for (const c of ['start', 'status', 'pause', 'resume', 'rollback', 'watch']) expect(help.stdout).toContain(c);

    const plan = await json('rollout', 'start', 'cli-a', '--environment', 'production', '--template', 'canary', '--bake', '1s');
    expect(plan).toMatchObject({ flag: 'cli-a', environment: 'production', state: 'running', milestone: 0, step: 1 });
    expect(plan.milestones.every((m: any) => m.bakeMs === 1000)).toBe(true);

    const status = await run('rollout', 'status', 'cli-a', '--environment', 'production');
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`Plan ${plan.id} · flag cli-a · production · template canary`);
    expect(status.stdout).toMatch(/State\s+running · milestone 1\/5 "1 %"/);
    expect(status.stdout).toContain('▶ 1 %');
    const all = await run('rollout', 'status');
    expect(all.stdout).toMatch(new RegExp(`${plan.id}\\s+cli-a\\s+production\\s+running`));
    expect((await json('rollout', 'list', '--flag', 'cli-a')).plans[0].id).toBe(plan.id);

    expect(await json('rollout', 'pause', 'cli-a', '-e', 'production', '--reason', 'coffee')).toMatchObject({ state: 'paused', reason: 'coffee', step: 2 });
    const again = await run('rollout', 'pause', plan.id);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/error: Cannot pause release plan .*: it is paused/);
    expect(await json('rollout', 'resume', plan.id)).toMatchObject({ state: 'running', step: 3 });
    expect(await json('rollout', 'advance', plan.id, '--step', '3')).toMatchObject({ milestone: 1, step: 4 });
    const retry = await run('rollout', 'advance', plan.id, '--step', '3');
    expect(retry.code).toBe(1);
    expect(retry.stderr).toMatch(/at step 4, not 3: that step already happened/);

    // watch follows the plan live (SSE) and exits 0 when it completes.
    const watcher = cli(['rollout', 'watch', plan.id, '--json']);
    await expect.poll(() => watcher.stdout().length, { timeout: 5000 }).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) {
      await ok(server, 'POST', `/api/admin/releases/${plan.id}/advance`, {}, server.adminToken);
      await new Promise((r) => setTimeout(r, 150));
    }
    const w = await watcher.done;
    expect(w.code).toBe(0);
    const updates = w.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(updates.at(-1)).toMatchObject({ state: 'completed', milestone: 4 });
    expect(updates.map((u) => u.milestone)).toEqual([1, 2, 3, 4]);

    const decisions = await json('rollout', 'decisions', plan.id);
    expect(decisions.decisions[0]).toMatchObject({ source: 'manual', action: 'complete' });
    const text = await run('rollout', 'decisions', plan.id, '--acted');
    expect(text.stdout).toMatch(/manual\s+advance\s+complete/);
  });

  it('starts a draft with --plan, and watch exits 3 when the plan is rolled back', async () => {
    const draft = await json('rollout', 'start', 'cli-b', '-e', 'production', '--draft', '--rollback', 'off', '--min-traffic', '500');
    expect(draft).toMatchObject({ state: 'draft', rollback: 'off' });
    expect(draft.milestones[0].gate).toMatchObject({ minCanaryRequests: 500, minControlRequests: 500 });
    const started = await json('rollout', 'start', '--plan', draft.id);
    expect(started).toMatchObject({ id: draft.id, state: 'running' });

    const watcher = cli(['rollout', 'watch', 'cli-b', '--environment', 'production']);
    await expect.poll(() => watcher.stdout(), { timeout: 5000 }).toContain('Plan ');
    const rb = await run('rollout', 'rollback', 'cli-b', '-e', 'production', '--reason', 'bad numbers');
    expect(rb.code).toBe(0);
    expect(rb.stdout).toContain(`Rolled back plan ${draft.id}`);
    expect(rb.stdout).toContain('Reason     bad numbers (the flag is off)');
    const w = await watcher.done;
    expect(w.code).toBe(3);
    expect(w.stderr).toContain('error: rolled back: bad numbers (the flag is off)');
    expect(w.stdout).toMatch(/State\s+rolled-back/);

    // A flag name without an environment, or a flag without plans, is a usage error with a hint.
    const noEnv = await run('rollout', 'status', 'cli-b');
    expect(noEnv.code).toBe(1);
    expect(noEnv.stderr).toContain('add --environment ENV');
    const none = await run('rollout', 'pause', 'cli-b', '-e', 'development');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('switchyard rollout start cli-b --environment development');
    const badBake = await run('rollout', 'start', 'cli-b', '-e', 'development', '--bake', 'soon');
    expect(badBake.code).toBe(1);
    expect(badBake.stderr).toContain('"soon" is not a duration');
  });
});
