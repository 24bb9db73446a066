import { err, ok, type Result } from '../core/result.ts';
import type { Connection } from '../persistence/records.ts';
import { type ConnectionLimiter, createLimiter } from '../providers/limiter.ts';
import type { CrmProvider } from '../providers/provider.ts';
import { getProvider } from '../providers/registry.ts';
import type { ProviderSpec } from '../providers/spec.ts';
import type { RunError, RunnerDeps } from './connectionRunner.ts';

/** The connection's provider, built with its stored credentials and the process's limiter for it. */
export async function providerFor(
  deps: RunnerDeps,
  connection: Connection,
): Promise<Result<CrmProvider, RunError>> {
  const entry = getProvider(connection.provider);
  if (entry === undefined)
    return err({ kind: 'provider', message: `provider ${connection.provider} is not available` });
  const credentials = await deps.store.getConnectionCredentials({
    tenantId: connection.tenantId,
    connectionId: connection.id,
  });
  if (!credentials.ok) return err({ kind: 'store', message: credentials.error.message });
  const overrides = deps.providerOptions?.(connection) ?? {};
  const limiter = overrides.limiter ?? limiterFor(deps, connection.id, overrides.spec ?? entry.spec);
  const created = entry.createProvider({
    baseUrl: connection.baseUrl,
    credentials: credentials.value,
    ...overrides,
    ...(limiter === undefined ? {} : { limiter }),
  });
  if (!created.ok) return err({ kind: 'provider', message: created.error.message });
  return ok(created.value);
}

/** The connection's limiter for the life of the process, so a new cycle respects the last one's pace. */
function limiterFor(
  deps: RunnerDeps,
  connectionId: string,
  spec: ProviderSpec,
): ConnectionLimiter | undefined {
  if (deps.limiters === undefined) return undefined;
  const existing = deps.limiters.get(connectionId);
  if (existing !== undefined) return existing;
  const created = createLimiter(spec);
  deps.limiters.set(connectionId, created);
  return created;
}
