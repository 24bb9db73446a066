#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerAudit } from './cli/audit.ts';
import { CommandFailed } from './cli/commandFailed.ts';
import { registerConnection } from './cli/connection.ts';
import { registerContact } from './cli/contact.ts';
import { registerDedupe } from './cli/dedupe.ts';
import { registerDemo } from './cli/demo.ts';
import { registerEngagement } from './cli/engagement.ts';
import { registerReset } from './cli/reset.ts';
import { registerServe } from './cli/serve.ts';
import { registerSimulator } from './cli/simulator.ts';
import { registerStatus } from './cli/status.ts';
import { registerRetry, registerSync } from './cli/sync.ts';
import { registerTenant } from './cli/tenant.ts';
import { refuseUndecodedArguments, UsageError } from './cli/usageError.ts';
import { registerWorker } from './cli/worker.ts';

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

const commands: Array<(program: Command) => void> = [
  registerTenant,
  registerConnection,
  registerSync,
  registerStatus,
  registerAudit,
  registerRetry,
  registerReset,
  registerContact,
  registerEngagement,
  registerDedupe,
  registerDemo,
  registerSimulator,
  registerServe,
  registerWorker,
];
for (const register of commands) register(program);

try {
  refuseUndecodedArguments(process.argv.slice(2));
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version exit 0; every other parse failure is a usage error.
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  if (error instanceof UsageError) {
    process.stderr.write(`crm-sync: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof CommandFailed) {
    process.stderr.write(`crm-sync: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
