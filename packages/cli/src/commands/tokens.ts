import { Command, Option } from 'commander';
import type { ClientOptions } from '../http.js';
import { clientCommand, clientFrom, csv } from '../options.js';
import { printJson, printLine, printTable } from '../output.js';

export function tokensCommand(): Command {
  const tokens = new Command('tokens').description('manage API tokens');

  tokens.addCommand(
    clientCommand(
      new Command('create')
        .description('create an API token and print its secret (shown only once)')
        .addOption(new Option('--type <type>', 'token type').choices(['backend', 'frontend', 'admin']).makeOptionMandatory())
        .option('-e, --environment <env>', 'environment the token reads (required for backend and frontend tokens)')
        .option('--projects <list>', 'comma-separated projects the token may see (default all)')
        .option('--name <name>', 'a name to recognise the token by'),
    ).action(async (opts: ClientOptions & { type: string; environment?: string; projects?: string; name?: string }) => {
      const client = clientFrom(opts);
      const body: Record<string, unknown> = { type: opts.type };
      if (opts.environment) body.environment = opts.environment;
      if (opts.projects) body.projects = csv(opts.projects);
      if (opts.name) body.name = opts.name;
      const res = await client.post('/api/admin/tokens', body);
      if (opts.json) return printJson(res);
      printLine(res.secret);
    }),
  );

  tokens.addCommand(
    clientCommand(new Command('list').description('list API tokens (secrets are never shown)')).action(async (opts: ClientOptions) => {
      const res = await clientFrom(opts).get('/api/admin/tokens');
      const list: any[] = res?.tokens ?? [];
      if (opts.json) return printJson(res);
      printTable(
        ['ID', 'NAME', 'TYPE', 'ENVIRONMENT', 'PROJECTS', 'CREATED'],
        list.map((t) => [t.id, t.name ?? '', t.type, t.environment, (t.projects ?? []).join(','), t.createdAt ?? '']),
        'No tokens.',
      );
    }),
  );

  tokens.addCommand(
    clientCommand(new Command('delete').description('delete an API token').argument('<id>', 'token id')).action(
      async (id: string, opts: ClientOptions) => {
        await clientFrom(opts).request('DELETE', `/api/admin/tokens/${encodeURIComponent(id)}`);
        if (opts.json) return printJson({ deleted: id });
        printLine(`Deleted token ${id}`);
      },
    ),
  );
  return tokens;
}
