/**
 * The `pleo-export` command line. `buildProgram(io)` is pure wiring (tests drive it in-process);
 * `main.ts` runs it and turns every error into one line on stderr and a documented exit code.
 */
import { Command, CommanderError } from 'commander';

import { simulateCommand } from '../simulator/index.js';
import { checkCommand } from './commands/check.js';
import { configCommand } from './commands/config.js';
import { consoleCommand } from './commands/console.js';
import { connectCommand } from './commands/connect.js';
import { demoCommand } from './commands/demo.js';
import { itemsCommand, jobsCommand, showCommand } from './commands/inspect.js';
import { previewCommand } from './commands/preview.js';
import { retryCommand } from './commands/retry.js';
import { runCommand } from './commands/run.js';
import { subscribeCommand } from './commands/subscribe.js';
import { serveCommand } from './commands/serve.js';
import { triggerCommand } from './commands/trigger.js';
import { workerCommand } from './commands/worker.js';
import { describeError } from '../errors/index.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import type { Io } from './output.js';

export const VERSION = '0.1.0';

export function buildProgram(io: Io): Command {
  const program = new Command('pleo-export')
    .description(
      'Move accounting data out of Pleo’s Export API into an accounting system: exactly once, resumable.',
    )
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    .exitOverride();
  const commands = [
    demoCommand(io),
    runCommand(io),
    serveCommand(io),
    triggerCommand(io),
    workerCommand(io),
    previewCommand(io),
    checkCommand(io),
    jobsCommand(io),
    itemsCommand(io),
    showCommand(io),
    retryCommand(io),
    consoleCommand(io),
    configCommand(io),
    connectCommand(io),
    subscribeCommand(io),
    simulateCommand(),
  ];
  for (const command of commands) {
    command.exitOverride();
    command.configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) });
    program.addCommand(command);
  }
  program.addHelpText(
    'after',
    `
Exit codes: 0 ok · 1 internal error · 2 bad usage/configuration · 3 Pleo unreachable or credentials refused ·
            4 accounting system unavailable · 5 a job ended failed / not found · 130 interrupted`,
  );
  return program;
}

/** Runs the CLI; returns the exit code (never throws). */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    process.exitCode = undefined;
    await program.parseAsync([...argv], { from: 'user' });
    const code = typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
    process.exitCode = undefined;
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors were already printed.
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    io.err(`pleo-export: ${describeError(error)}`);
    return exitCodeFor(error);
  }
}
