import type { Command } from 'commander';
import { err } from '../core/result.ts';
import { stateInWords } from '../machines/connectionContext.ts';
import { resetConnection } from '../runner/resetConnection.ts';
import { requireConnection, requireProvider, requireTenant, withApp } from './app.ts';
import { CommandFailed } from './commandFailed.ts';
import { type ConnectionStatus, formatStatuses, readStatus } from './connectionStatus.ts';
import { formatInstant, print, shellWord } from './output.ts';
import { UsageError } from './usageError.ts';

/**
 * `reset --tenant T --provider P`: a connection whose stored machine this crm-sync cannot restore (a snapshot of a
 * newer version after a rollback, or one that does not validate) starts again, idle, at its committed cursor.
 */
export function registerReset(program: Command): void {
  program
    .command('reset')
    .description(
      'restart a connection whose stored machine cannot be restored, idle at its committed cursor (a cycle in progress is audited as abandoned and its window fetched again)',
    )
    .requiredOption('--tenant <name>', 'tenant name')
    .requiredOption('--provider <name>', 'provider of the connection')
    .option('--json', 'print the resulting connection state as JSON')
    .action(async (flags: { tenant: string; provider: string; json?: boolean }) => {
      const entry = requireProvider(flags.provider);
      await withApp('reset', async (app) => {
        const tenant = await requireTenant(app.store, flags.tenant);
        const connection = await requireConnection(app.store, tenant, entry.name);
        const ref = { tenantId: tenant.id, connectionId: connection.id };
        const what = `the ${entry.name} connection of ${tenant.name}`;
        // Answered without the lease, as retry does; the reset decides again under it.
        const before = await readStatus(app.store, tenant, connection, app.clock());
        if (before.snapshotProblem === null) throw new UsageError(nothingToReset(what, before));
        const reset =
          app.via === 'holder'
            ? await app.runConnection(ref, 'reset')
            : await resetConnection(app.runner, ref).then((r) => (r.ok ? r : err(r.error.message)));
        if (!reset.ok) throw new CommandFailed(`${what} was not reset: ${reset.error}`);
        const status = await readStatus(app.store, tenant, connection, app.clock());
        print(flags.json, status, () => formatStatuses([status]));
      });
    });
}

/** The refusal of a reset whose machine restores: what happens next to that machine without one. */
function nothingToReset(what: string, status: ConnectionStatus): string {
  const refused = `${what} is ${stateInWords(status.state)} and its stored machine restores: nothing to reset`;
  const target = `--tenant ${shellWord(status.tenant)} --provider ${status.provider}`;
  if (!status.enabled) {
    return `${refused}; it is disabled and runs once enabled (crm-sync connection enable ${target})`;
  }
  switch (status.state) {
    case 'idle':
      return `${refused}; its next scheduled run proceeds as planned, at ${formatInstant(status.nextRunAt)}`;
    case 'backoff':
      return `${refused}; it resumes its cycle at ${formatInstant(status.resumeAt)}`;
    case 'error':
      return `${refused}; crm-sync retry ${target} leads it out of error`;
    default:
      return `${refused}; its next run goes on with its cycle, at ${formatInstant(status.nextRunAt)}`;
  }
}
