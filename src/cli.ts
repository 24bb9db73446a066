#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { CommandFailed } from './cli/commandFailed.ts';
import { showControls } from './cli/output.ts';
import { refuseUndecodedArguments, UsageError } from './cli/usageError.ts';

/** The single command-line entry. Each command lives in src/cli/<command>.ts and registers itself here. */
const program = new Command('crm-sync')
  .description('CRM Sync Orchestrator of NurtureHub')
  .exitOverride()
  // Each command parses the options after its name: `audit --tenant T` and `audit prune --tenant T` are two.
  .enablePositionalOptions()
  .configureOutput({
    outputError: (text, write) =>
      write(
        `crm-sync: ${text
          .trimEnd()
          .split('\n')[0]
          ?.replace(/^error: /, '')}\n`,
      ),
  });

// A reader that stops early (`crm-sync audit --json | head`) closes the pipe: the rest of the output is not wanted,
// which is no failure. Left unhandled, the next write's EPIPE ended the command with a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

type Register = (program: Command) => void;

/**
 * Each command's module, loaded only when it runs: all of them together are some 600 modules, two seconds of
 * start-up on a small machine before the command does anything. Help and an unknown command register them all,
 * in this order.
 */
const commands: Record<string, () => Promise<Register>> = {
  tenant: async () => (await import('./cli/tenant.ts')).registerTenant,
  connection: async () => (await import('./cli/connection.ts')).registerConnection,
  sync: async () => (await import('./cli/sync.ts')).registerSync,
  status: async () => (await import('./cli/status.ts')).registerStatus,
  audit: async () => (await import('./cli/audit.ts')).registerAudit,
  retry: async () => (await import('./cli/sync.ts')).registerRetry,
  reset: async () => (await import('./cli/reset.ts')).registerReset,
  contact: async () => (await import('./cli/contact.ts')).registerContact,
  engagement: async () => (await import('./cli/engagement.ts')).registerEngagement,
  dedupe: async () => (await import('./cli/dedupe.ts')).registerDedupe,
  demo: async () => (await import('./cli/demo.ts')).registerDemo,
  simulator: async () => (await import('./cli/simulator.ts')).registerSimulator,
  serve: async () => (await import('./cli/serve.ts')).registerServe,
  worker: async () => (await import('./cli/worker.ts')).registerWorker,
};
const named = Object.hasOwn(commands, process.argv[2] ?? '')
  ? commands[process.argv[2] as string]
  : undefined;
for (const load of named === undefined ? Object.values(commands) : [named]) (await load())(program);

/** The long options, of `command` and every command under it, that take a value (`--credentials <json>`). */
function valueFlags(command: Command): string[] {
  return [
    ...command.options.flatMap((option) => (option.required || option.optional ? (option.long ?? []) : [])),
    ...command.commands.flatMap(valueFlags),
  ];
}

/**
 * A failure's line on stderr. Its message may quote what was typed or stored (a tenant's name): control characters
 * are shown escaped, as in stdout's tables, so `ESC [ 2 J` does not clear the terminal it is read in.
 */
function errorLine(message: string): string {
  return `crm-sync: ${message.split('\n').map(showControls).join('\n')}\n`;
}

try {
  refuseUndecodedArguments(process.argv.slice(2), new Set(valueFlags(program)));
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version exit 0; every other parse failure is a usage error.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  if (error instanceof UsageError) {
    process.stderr.write(errorLine(error.message));
    process.exit(2);
  }
  if (error instanceof CommandFailed) {
    process.stderr.write(errorLine(error.message));
    process.exit(1);
  }
  throw error;
}
