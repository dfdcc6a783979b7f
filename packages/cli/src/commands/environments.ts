import { Command, Option } from 'commander';
import type { ClientOptions } from '../http.js';
import { clientCommand, clientFrom } from '../options.js';
import { printJson, printLine, printTable } from '../output.js';

export function environmentsCommand(): Command {
  const envs = new Command('environments').alias('envs').description('manage environments');

  envs.addCommand(
    clientCommand(
      new Command('create')
        .description('create an environment')
        .argument('<name>', 'environment name')
        .addOption(new Option('--type <type>', 'environment type').choices(['development', 'test', 'staging', 'production'])),
    ).action(async (name: string, opts: ClientOptions & { type?: string }) => {
      const res = await clientFrom(opts).post('/api/admin/environments', { name, ...(opts.type ? { type: opts.type } : {}) });
      if (opts.json) return printJson(res);
      printLine(`Created environment ${res?.name ?? name} (${res?.type ?? opts.type ?? 'development'})`);
    }),
  );

  envs.addCommand(
    clientCommand(new Command('list').description('list environments')).action(async (opts: ClientOptions) => {
      const res = await clientFrom(opts).get('/api/admin/environments');
      if (opts.json) return printJson(res);
      const list: any[] = res?.environments ?? [];
      printTable(
        ['NAME', 'TYPE', 'REVISION'],
        list.map((e) => [e.name, e.type ?? '', String(e.revision ?? '')]),
        'No environments.',
      );
    }),
  );
  return envs;
}
