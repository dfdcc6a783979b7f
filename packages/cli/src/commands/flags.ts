import { Command } from 'commander';
import type { ClientOptions } from '../http.js';
import { clientCommand, clientFrom } from '../options.js';
import { printJson, printLine, printTable } from '../output.js';

const flagPath = (name: string) => `/api/admin/flags/${encodeURIComponent(name)}`;

function envSummary(flag: any): string {
  const envs: any[] = Array.isArray(flag?.environments) ? flag.environments : [];
  return envs.map((e) => `${e.name}:${e.enabled ? 'on' : 'off'}`).join(' ');
}

export function flagsCommand(): Command {
  const flags = new Command('flags').description('manage feature flags');

  flags.addCommand(
    clientCommand(new Command('list').description('list flags').option('-p, --project <project>', 'only this project')).action(
      async (opts: ClientOptions & { project?: string }) => {
        const res = await clientFrom(opts).get('/api/admin/flags', { project: opts.project });
        if (opts.json) return printJson(res);
        const list: any[] = res?.flags ?? [];
        printTable(
          ['NAME', 'PROJECT', 'TYPE', 'ENVIRONMENTS'],
          list.map((f) => [f.name, f.project ?? '', f.type ?? '', envSummary(f)]),
          'No flags.',
        );
      },
    ),
  );

  flags.addCommand(
    clientCommand(
      new Command('create')
        .description('create a flag (off in every environment)')
        .argument('<name>', 'flag name')
        .option('-p, --project <project>', 'project (default "default")')
        .option('--type <type>', 'flag type (release, experiment, operational, kill-switch, permission)')
        .option('--description <text>', 'what the flag is for'),
    ).action(async (name: string, opts: ClientOptions & { project?: string; type?: string; description?: string }) => {
      const body: Record<string, unknown> = { name };
      if (opts.project) body.project = opts.project;
      if (opts.type) body.type = opts.type;
      if (opts.description) body.description = opts.description;
      const res = await clientFrom(opts).post('/api/admin/flags', body);
      if (opts.json) return printJson(res);
      printLine(`Created flag ${res?.name ?? name} in project ${res?.project ?? opts.project ?? 'default'}`);
    }),
  );

  for (const [verb, state] of [
    ['enable', 'on'],
    ['disable', 'off'],
  ] as const) {
    flags.addCommand(
      clientCommand(
        new Command(verb)
          .description(`turn a flag ${state} in an environment`)
          .argument('<name>', 'flag name')
          .requiredOption('-e, --environment <env>', 'environment'),
      ).action(async (name: string, opts: ClientOptions & { environment: string }) => {
        const res = await clientFrom(opts).post(`${flagPath(name)}/environments/${encodeURIComponent(opts.environment)}/${state}`);
        if (opts.json) return printJson(res);
        printLine(`${verb === 'enable' ? 'Enabled' : 'Disabled'} flag ${name} in environment ${opts.environment}`);
      }),
    );
  }
  return flags;
}
