import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, freePort, http, startServerProcess, type ServerProcess } from '../../../test/e2e/server.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `switchyard ARGS` as a child process with a clean Switchyard environment. */
function cli(args: string[], opts: { env?: Record<string, string>; cwd?: string; input?: string } = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['SWITCHYARD_URL', 'SWITCHYARD_TOKEN', 'SWITCHYARD_DATA_DIR', 'SWITCHYARD_ADMIN_TOKEN', 'PORT', 'HOST', 'DATABASE_URL']) delete env[k];
  Object.assign(env, opts.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, cwd: opts.cwd ?? scratch, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

let scratch: string;
let server: ServerProcess;
let as: (args: string[], extra?: { env?: Record<string, string>; cwd?: string; input?: string }) => Promise<Run>;

const SPEC_STATE = {
  version: 2,
  features: [
    { name: 'cli.imported.on', enabled: true, strategies: [{ name: 'default', parameters: {} }] },
    {
      name: 'cli.imported.users',
      enabled: true,
      strategies: [{ name: 'default', parameters: {}, constraints: [{ contextName: 'userId', operator: 'IN', values: ['7'] }] }],
    },
  ],
  segments: [],
};

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'switchyard-cli-'));
  server = await startServerProcess();
  as = (args, extra = {}) => cli([...args, '--url', server.url, '--token', server.adminToken!], extra);
});

afterAll(async () => {
  await server?.stop();
  rmSync(scratch, { recursive: true, force: true });
});

describe('switchyard CLI', () => {
  it('prints help and version', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const cmd of ['serve', 'import', 'export', 'tokens', 'environments', 'flags']) expect(help.stdout).toContain(cmd);
    const version = await cli(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    // the committed bin shim npm links as `switchyard` runs the same program
    const shim = await new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, [join(BIN, '../../bin/switchyard.js'), '--version'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(shim).toMatchObject({ code: 0, stdout: version.stdout });
    const flagsHelp = await cli(['flags', 'create', '--help']);
    expect(flagsHelp.stdout).toContain('--url');
    expect(flagsHelp.stdout).toContain('--token');
    expect(flagsHelp.stdout).toContain('--json');
  });

  it('rejects usage errors with exit code 1', async () => {
    const bad = await cli(['tokens', 'create', '--type', 'superuser', '--environment', 'x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/superuser/);
    const missing = await cli(['flags', 'enable', 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/--environment/);
  });

  it('creates and lists environments', async () => {
    const created = await as(['environments', 'create', 'cli-staging', '--type', 'staging']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toBe('Created environment cli-staging (staging)');

    const json = await as(['environments', 'create', 'cli-dev', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ name: 'cli-dev', type: 'development' });

    const list = await as(['environments', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+TYPE\s+REVISION$/);
    const row = lines.find((l) => l.startsWith('cli-staging '));
    expect(row).toMatch(/^cli-staging\s+staging\s+\d+$/);
    // columns are aligned: TYPE starts at the same offset on every line
    const typeAt = lines[0].indexOf('TYPE');
    for (const l of lines.slice(1)) expect(l[typeAt - 1]).toBe(' ');

    const listJson = await as(['environments', 'list', '--json']);
    const envs = JSON.parse(listJson.stdout).environments.map((e: any) => e.name);
    expect(envs).toEqual(expect.arrayContaining(['cli-staging', 'cli-dev']));
  });

  it('reports a server error as `error: <detail>` and exit code 1', async () => {
    const dup = await as(['environments', 'create', 'cli-staging']);
    expect(dup.code).toBe(1);
    expect(dup.stdout).toBe('');
    expect(dup.stderr).toMatch(/^error: \S.*\n$/);
    expect(dup.stderr).toContain('cli-staging');

    const badType = await as(['environments', 'create', 'Bad Name!']);
    expect(badType.code).toBe(1);
    expect(badType.stderr).toMatch(/^error: /);
  });

  it('creates, lists, enables and disables flags', async () => {
    const created = await as(['flags', 'create', 'cli.checkout', '--description', 'new checkout', '--type', 'release']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toBe('Created flag cli.checkout in project default');

    const createdJson = await as(['flags', 'create', 'cli.search', '--json']);
    expect(createdJson.code).toBe(0);
    expect(JSON.parse(createdJson.stdout)).toMatchObject({ name: 'cli.search', project: 'default', type: 'release' });

    const enabled = await as(['flags', 'enable', 'cli.checkout', '--environment', 'cli-staging']);
    expect(enabled.code).toBe(0);
    expect(enabled.stdout.trim()).toBe('Enabled flag cli.checkout in environment cli-staging');

    const list = await as(['flags', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+PROJECT\s+TYPE\s+ENVIRONMENTS$/);
    expect(lines.find((l) => l.startsWith('cli.checkout '))).toMatch(/^cli\.checkout\s+default\s+release\s+.*cli-staging:on/);
    expect(lines.find((l) => l.startsWith('cli.search '))).toMatch(/cli-staging:off/);

    const disabled = await as(['flags', 'disable', 'cli.checkout', '--environment', 'cli-staging', '--json']);
    expect(disabled.code).toBe(0);
    const flag = JSON.parse(disabled.stdout);
    expect(flag.name).toBe('cli.checkout');
    expect(flag.environments.find((e: any) => e.name === 'cli-staging').enabled).toBe(false);

    const listJson = JSON.parse((await as(['flags', 'list', '--project', 'default', '--json'])).stdout);
    expect(listJson.flags.map((f: any) => f.name)).toEqual(expect.arrayContaining(['cli.checkout', 'cli.search']));

    const missing = await as(['flags', 'enable', 'no.such.flag', '--environment', 'cli-staging']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: .*no\.such\.flag/);
  });

  it('creates tokens: prints the secret once, or the whole response with --json', async () => {
    const backend = await as(['tokens', 'create', '--type', 'backend', '--environment', 'cli-staging']);
    expect(backend.stderr).toBe('');
    expect(backend.code).toBe(0);
    const secret = backend.stdout.trim();
    expect(backend.stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect(secret).toMatch(/^\*:cli-staging\.\S+$/);
    const features = await http(server, 'GET', '/api/client/features', undefined, secret);
    expect(features.status).toBe(200);
    expect(features.body.features.map((f: any) => f.name)).toContain('cli.checkout');

    const frontend = await as(['tokens', 'create', '--type', 'frontend', '--environment', 'cli-staging', '--projects', 'default', '--name', 'web', '--json']);
    expect(frontend.code).toBe(0);
    const res = JSON.parse(frontend.stdout);
    expect(res.secret).toMatch(/^default:cli-staging\./);
    expect(res.token).toMatchObject({ name: 'web', type: 'frontend', environment: 'cli-staging', projects: ['default'] });

    const admin = await as(['tokens', 'create', '--type', 'admin']);
    expect(admin.code).toBe(0);
    const adminSecret = admin.stdout.trim();
    const viaNewAdmin = await cli(['environments', 'list', '--url', server.url, '--token', adminSecret]);
    expect(viaNewAdmin.code).toBe(0);

    const noEnv = await as(['tokens', 'create', '--type', 'backend', '--environment', 'nowhere']);
    expect(noEnv.code).toBe(1);
    expect(noEnv.stderr).toMatch(/^error: .*nowhere/);
  });

  it('imports a client-API payload and exports it again', async () => {
    const file = join(scratch, 'state.json');
    writeFileSync(file, JSON.stringify(SPEC_STATE));
    const imported = await as(['import', file, '--environment', 'cli-dev']);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout.trim()).toMatch(/^Imported 2 flag\(s\) and 0 segment\(s\) into environment cli-dev/);

    const fromStdin = await as(['import', '-', '--environment', 'cli-dev', '--json'], { input: JSON.stringify(SPEC_STATE) });
    expect(fromStdin.code).toBe(0);
    expect(JSON.parse(fromStdin.stdout)).toHaveProperty('revision');

    const out = join(scratch, 'export.json');
    const exported = await as(['export', '--environment', 'cli-dev', '--output', out]);
    expect(exported.code).toBe(0);
    expect(exported.stdout.trim()).toMatch(new RegExp(`^Exported \\d+ flag\\(s\\) and \\d+ segment\\(s\\) to ${out.replace(/[.]/g, '\\.')}$`));
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(doc.format).toBe('switchyard-export');
    const users = doc.flags.find((f: any) => f.name === 'cli.imported.users');
    expect(users.environments['cli-dev'].enabled).toBe(true);
    expect(users.environments['cli-dev'].strategies[0].constraints[0]).toMatchObject({ contextName: 'userId', operator: 'IN', values: ['7'] });

    const toStdout = await as(['export', '--project', 'default']);
    expect(toStdout.code).toBe(0);
    expect(JSON.parse(toStdout.stdout).format).toBe('switchyard-export');

    // the export imports back (round trip)
    const again = await as(['import', out, '--environment', 'cli-dev']);
    expect(again.code).toBe(0);

    const missingFile = await as(['import', join(scratch, 'nope.json'), '--environment', 'cli-dev']);
    expect(missingFile.code).toBe(1);
    expect(missingFile.stderr).toMatch(/^error: cannot read .*nope\.json/);
    writeFileSync(join(scratch, 'bad.json'), '{not json');
    const badJson = await as(['import', join(scratch, 'bad.json'), '--environment', 'cli-dev']);
    expect(badJson.code).toBe(1);
    expect(badJson.stderr).toMatch(/^error: .*bad\.json is not valid JSON/);
    const badEnv = await as(['import', file, '--environment', 'nowhere']);
    expect(badEnv.code).toBe(1);
    expect(badEnv.stderr).toMatch(/^error: .*nowhere/);
  });

  it('reads --url/--token from SWITCHYARD_URL/SWITCHYARD_TOKEN', async () => {
    const run = await cli(['environments', 'list', '--json'], { env: { SWITCHYARD_URL: server.url, SWITCHYARD_TOKEN: server.adminToken! } });
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).environments.length).toBeGreaterThan(0);
  });

  it('fails with exit 1 on a bad or missing token', async () => {
    const bad = await cli(['flags', 'list', '--url', server.url, '--token', 'wrong']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: .*token/i);
    const none = await cli(['flags', 'list', '--url', server.url]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/^error: .*no token given/);
  });

  it('explains a connection failure', async () => {
    const port = await freePort();
    const run = await cli(['flags', 'list', '--url', `http://127.0.0.1:${port}`, '--token', 'x']);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(new RegExp(`^error: cannot reach Switchyard at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
  });
});

describe('switchyard serve', () => {
  it('bootstraps an admin token file (0600), logs only its path, and the CLI picks it up', async () => {
    const home = mkdtempSync(join(tmpdir(), 'switchyard-boot-'));
    const dataDir = join(home, '.switchyard');
    // PORT and SWITCHYARD_DATA_DIR from the environment, no SWITCHYARD_ADMIN_TOKEN
    const boot = await startServerProcess({ adminToken: null, dataDir, viaEnv: true });
    try {
      const file = join(dataDir, 'admin-token');
      const token = readFileSync(file, 'utf8').trim();
      expect(token.length).toBeGreaterThan(20);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const logs = boot.logs();
      expect(logs).toContain(file);
      expect(logs).not.toContain(token);
      expect(logs).not.toContain(token.split('.').pop()!);

      // no --token and no SWITCHYARD_TOKEN: ./.switchyard/admin-token is used
      const run = await cli(['environments', 'list', '--url', boot.url], { cwd: home });
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      const created = await cli(['flags', 'create', 'boot.flag', '--url', boot.url], { cwd: home });
      expect(created.code).toBe(0);
      // after the CLI ran, the token still never reached the logs
      expect(boot.logs()).not.toContain(token);
    } finally {
      await boot.stop();
    }
    // a restart keeps the same token file and does not write a new one
    const before = readFileSync(join(dataDir, 'admin-token'), 'utf8');
    const again = await startServerProcess({ adminToken: null, dataDir });
    try {
      expect(readFileSync(join(dataDir, 'admin-token'), 'utf8')).toBe(before);
      expect(again.logs()).not.toContain('admin token written');
      const run = await cli(['flags', 'list', '--url', again.url], { cwd: home });
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('boot.flag');
    } finally {
      await again.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('refuses a bad port and a port in use', async () => {
    const bad = await cli(['serve', '--port', 'abc', '--data-dir', join(scratch, 'x')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: --port must be a number/m);
    const inUse = await cli(['serve', '--port', String(server.port), '--data-dir', join(scratch, 'busy')], {
      env: { SWITCHYARD_ADMIN_TOKEN: 't', LOG_LEVEL: 'silent' },
    });
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(new RegExp(`error: port ${server.port} .*already in use`));
  });
});

