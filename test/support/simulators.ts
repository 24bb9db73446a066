import type { CrmProvider, ProviderName } from '../../src/providers/provider.ts';
import { getProvider } from '../../src/providers/registry.ts';
import {
  type SimControl,
  type SimulatorOptions,
  simControlClient,
} from '../../src/providers/simulator/server.ts';

export interface StartedSimulator {
  baseUrl: string;
  /** What `connection add --credentials` accepts for this simulator. */
  credentials: Record<string, unknown>;
  /** The `/_sim/` control API over HTTP. */
  control: SimControl;
  close(): Promise<void>;
}

/** Starts a provider's simulator in-process on a free 127.0.0.1 port. */
export async function startSimulator(
  provider: ProviderName,
  options: SimulatorOptions = {},
): Promise<StartedSimulator> {
  const entry = getProvider(provider);
  if (!entry) throw new Error(`no simulator registered for ${provider}`);
  const running = await entry.startSimulator({ ...options, port: 0 });
  return {
    baseUrl: running.baseUrl,
    credentials: running.credentials,
    control: simControlClient(running.baseUrl),
    close: running.close,
  };
}

/**
 * The agency's own client of a simulator: the provider's adapter over HTTP with the simulator's credentials, through
 * which a test edits, creates or deletes records in the CRM as the agency's staff would.
 */
export function agencyClient(
  provider: ProviderName,
  sim: Pick<StartedSimulator, 'baseUrl' | 'credentials'>,
): CrmProvider {
  const created = getProvider(provider)?.createProvider({
    baseUrl: sim.baseUrl,
    credentials: sim.credentials,
  });
  if (created === undefined) throw new Error(`${provider}: no such provider`);
  if (!created.ok) throw new Error(`${provider} provider: ${created.error.message}`);
  return created.value;
}

/**
 * Requests the simulator answered so far, those answered 429 left out: a test's own agency calls share the CRM's
 * rate limit with the engine, whose request then answered 429 is sent again and counted twice in `requests`.
 */
export async function answeredRequests(sim: Pick<StartedSimulator, 'control'>): Promise<number> {
  const stats = await sim.control.stats();
  return stats.requests - stats.rateLimited;
}
