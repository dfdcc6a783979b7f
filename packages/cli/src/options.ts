import { Option, type Command } from 'commander';
import { ApiClient, type ClientOptions } from './http.js';

/** Adds `--url`, `--token` and `--json` to a client command. */
export function clientCommand(cmd: Command): Command {
  return cmd
    .addOption(new Option('--url <url>', 'Switchyard server URL (env SWITCHYARD_URL, default http://127.0.0.1:4242)'))
    .addOption(new Option('--token <token>', 'admin API token (env SWITCHYARD_TOKEN, else ./.switchyard/admin-token)'))
    .option('--json', 'machine-readable JSON output', false);
}

export function clientFrom(opts: ClientOptions): ApiClient {
  return new ApiClient(opts);
}

export function csv(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}
