import { err, ok, type Result } from '../core/result.ts';
import type { Connection } from '../persistence/records.ts';
import { type ConnectionLimiter, createLimiter } from '../providers/limiter.ts';
import type { CrmProvider } from '../providers/provider.ts';
import { getProvider } from '../providers/registry.ts';
import type { ProviderSpec } from '../providers/spec.ts';
import type { RunError, RunnerDeps } from './connectionRunner.ts';
import { gatedWrites } from './gatedWrites.ts';
import type { WriteGate } from './keepLease.ts';

/**
 * The connection's provider, built with its stored credentials and the process's limiter and OAuth tokens; and
 * that limiter, whose daily quota the run keeps in step with the store's count. Its writes wait at `writes` too.
 */
export async function providerFor(
  deps: RunnerDeps,
  connection: Connection,
  writes: WriteGate,
): Promise<Result<{ provider: CrmProvider; limiter: ConnectionLimiter }, RunError>> {
  const entry = getProvider(connection.provider);
  if (entry === undefined)
    return err({ kind: 'provider', message: `provider ${connection.provider} is not available` });
  const credentials = await deps.store.getConnectionCredentials({
    tenantId: connection.tenantId,
    connectionId: connection.id,
  });
  if (!credentials.ok) {
    // Credentials sealed with another key stay so however often the run is retried: not a store outage.
    const kind = credentials.error.kind === 'decrypt_failed' ? 'provider' : 'store';
    return err({ kind, message: credentials.error.message });
  }
  const overrides = deps.providerOptions?.(connection) ?? {};
  const limiter = overrides.limiter ?? limiterFor(deps, connection.id, overrides.spec ?? entry.spec);
  const tokenCache = overrides.tokenCache ?? deps.tokenCache;
  const created = entry.createProvider({
    baseUrl: connection.baseUrl,
    credentials: credentials.value,
    ...overrides,
    limiter: gatedWrites(limiter, writes),
    ...(tokenCache === undefined ? {} : { tokenCache }),
  });
  if (!created.ok) return err({ kind: 'provider', message: created.error.message });
  return ok({ provider: created.value, limiter });
}

/**
 * A limiter unused this long holds nothing a new one would not: its rate windows have passed and its daily quota's
 * UTC day has turned.
 */
const LIMITER_IDLE_MS = 86_400_000;

/**
 * The connection's limiter for the life of the process, so a new cycle respects the last one's pace (without
 * `deps.limiters`, one for this run). Creating one drops those left idle for a day, so the process keeps limiters
 * for the connections it runs, not for every one it ever ran (disabled since, or of an agency that left). Its day
 * turns by the runner's clock, as the day of the store's count does.
 */
function limiterFor(deps: RunnerDeps, connectionId: string, spec: ProviderSpec): ConnectionLimiter {
  const { limiters, clock } = deps;
  const created = () => createLimiter(spec, { now: () => clock().getTime() });
  if (limiters === undefined) return created();
  const existing = limiters.get(connectionId);
  if (existing !== undefined) return existing;
  for (const [id, limiter] of limiters) if (limiter.idleFor(LIMITER_IDLE_MS)) limiters.delete(id);
  const limiter = created();
  limiters.set(connectionId, limiter);
  return limiter;
}
