import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { CliError, type ClientOptions } from '../http.js';
import { clientCommand, clientFrom } from '../options.js';
import { count, printJson, printLine } from '../output.js';

function readPayload(file: string): unknown {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}

export function importCommand(): Command {
  return clientCommand(
    new Command('import')
      .description('import an Unleash client-API payload or a Switchyard export into an environment')
      .argument('<file>', 'JSON file ("-" for stdin)')
      .requiredOption('-e, --environment <env>', 'environment to import into')
      .option('-p, --project <project>', 'project for imported flags'),
  ).action(async (file: string, opts: ClientOptions & { environment: string; project?: string }) => {
    const payload = readPayload(file);
    const client = clientFrom(opts);
    const res = await client.post('/api/admin/import', payload, { environment: opts.environment, project: opts.project });
    if (opts.json) return printJson(res);
    printLine(
      `Imported ${count(res?.flags)} flag(s) and ${count(res?.segments)} segment(s) into environment ${opts.environment}` +
        (res?.revision !== undefined ? ` (revision ${res.revision})` : ''),
    );
  });
}

export function exportCommand(): Command {
  return clientCommand(
    new Command('export')
      .description("export flags in Switchyard's format")
      .option('-e, --environment <env>', 'only this environment')
      .option('-p, --project <project>', 'only this project')
      .option('-o, --output <file>', 'write to a file instead of stdout'),
  ).action(async (opts: ClientOptions & { environment?: string; project?: string; output?: string }) => {
    const client = clientFrom(opts);
    const res = await client.get('/api/admin/export', { environment: opts.environment, project: opts.project });
    const text = JSON.stringify(res, null, 2) + '\n';
    if (!opts.output) {
      process.stdout.write(text);
      return;
    }
    try {
      writeFileSync(opts.output, text);
    } catch (err) {
      throw new CliError(`cannot write ${opts.output}: ${(err as Error).message}`);
    }
    if (opts.json) return printJson({ output: opts.output, flags: count(res?.flags), segments: count(res?.segments) });
    printLine(`Exported ${count(res?.flags)} flag(s) and ${count(res?.segments)} segment(s) to ${opts.output}`);
  });
}
