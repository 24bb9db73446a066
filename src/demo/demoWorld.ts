import type { ProviderName } from '../providers/provider.ts';
import { getProvider, registeredProviders } from '../providers/registry.ts';
import { type SimControl, simControlClient } from '../providers/simulator/server.ts';

/** The demo's CRMs: one simulator per registered provider, seeded with messy agency data, on 127.0.0.1. */
export interface DemoSimulator {
  provider: ProviderName;
  baseUrl: string;
  credentials: Record<string, unknown>;
  control: SimControl;
  close(): Promise<void>;
}

export async function startDemoSimulators(contacts: number): Promise<DemoSimulator[]> {
  const started: DemoSimulator[] = [];
  for (const [index, entry] of registeredProviders().entries()) {
    const running = await entry.startSimulator({ port: 0, contacts, seed: 20 + index });
    started.push({
      provider: entry.name,
      baseUrl: running.baseUrl,
      credentials: running.credentials,
      control: simControlClient(running.baseUrl),
      close: running.close,
    });
  }
  return started;
}

/** Which tenant gets which CRMs: most agencies run one CRM; the first demo agency runs two. */
export const demoTenants = [
  { name: 'Harbour Lettings', interval: 900, providers: ['reapit', 'alto', 'agentos'] },
  { name: 'Northgate Estates', interval: 300, providers: ['street', 'loop'] },
] as const satisfies ReadonlyArray<{ name: string; interval: number; providers: readonly ProviderName[] }>;

export const isRegistered = (provider: ProviderName) => getProvider(provider) !== undefined;
