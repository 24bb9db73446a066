import type { ConnectionState, ErrorReason, LastError } from '../machines/connectionContext.ts';
import type { Connection } from '../persistence/records.ts';

/**
 * Whether the machine stands in `error` because the CRM refused its credentials (`auth_failed`) and they were
 * replaced after that failure: its next run resumes it, as `credentials.updated`. The same credentials entered
 * again count too (the operator may have mended the CRM's side, e.g. re-enabled the key): one more try, and a
 * second refusal stops it again, after them. Any other `error` is left as it is.
 */
export function credentialsReplaced(
  machine: { state: ConnectionState; errorReason: ErrorReason | null; lastError: LastError | null },
  connection: Pick<Connection, 'credentialsSetAt'>,
): boolean {
  const { credentialsSetAt } = connection;
  if (machine.state !== 'error' || machine.errorReason !== 'auth_failed') return false;
  if (credentialsSetAt === null || machine.lastError === null) return false;
  return credentialsSetAt.getTime() > Date.parse(machine.lastError.at);
}
