import { Command, CommanderError } from 'commander';
import { CliError } from './http.js';
import { serveCommand } from './commands/serve.js';
import { importCommand, exportCommand } from './commands/import-export.js';
import { tokensCommand } from './commands/tokens.js';
import { environmentsCommand } from './commands/environments.js';
import { flagsCommand } from './commands/flags.js';
import { rolloutCommand } from './commands/rollout.js';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('switchyard')
    .description('Switchyard: feature flags, progressive delivery and guarded rollouts')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)');
  for (const cmd of [serveCommand(), importCommand(), exportCommand(), tokensCommand(), environmentsCommand(), flagsCommand(), rolloutCommand()]) {
    program.addCommand(cmd);
  }
  // Usage errors exit 1 with commander's message; help/version exit 0.
  const exitOverride = (c: Command) => {
    c.exitOverride();
    c.commands.forEach(exitOverride);
  };
  exitOverride(program);
  return program;
}

/** Runs the CLI; returns the exit code (the server keeps the process alive for `serve`). */
export async function main(argv: string[] = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof CliError) {
      process.stderr.write(`error: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`error: ${(err as Error)?.stack ?? String(err)}\n`);
    return 1;
  }
}
