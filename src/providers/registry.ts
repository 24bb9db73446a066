import type { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import { describeIssues } from '../core/zodIssues.ts';
import { createAgentosProvider } from './agentos/adapter.ts';
import { agentosCredentialsSchema } from './agentos/schemas.ts';
import { startAgentosSimulator } from './agentos/simulator.ts';
import { agentosSpec } from './agentos/spec.ts';
import { createAltoProvider } from './alto/adapter.ts';
import { altoCredentialsSchema } from './alto/schemas.ts';
import { startAltoSimulator } from './alto/simulator.ts';
import { altoSpec } from './alto/spec.ts';
import type { ClientCredentialsTokenCache } from './clientCredentials.ts';
import type { ConnectionLimiter } from './limiter.ts';
import { createLoopProvider } from './loop/adapter.ts';
import { loopCredentialsSchema } from './loop/schemas.ts';
import { startLoopSimulator } from './loop/simulator.ts';
import { loopSpec } from './loop/spec.ts';
import type { CrmProvider, ProviderError, ProviderName } from './provider.ts';
import { createReapitProvider } from './reapit/adapter.ts';
import { reapitCredentialsSchema } from './reapit/schemas.ts';
import { startReapitSimulator } from './reapit/simulator.ts';
import { reapitSpec } from './reapit/spec.ts';
import type { RunningSimulator, SimulatorOptions } from './simulator/server.ts';
import type { ProviderSpec } from './spec.ts';
import { createStreetProvider } from './street/adapter.ts';
import { streetCredentialsSchema } from './street/schemas.ts';
import { startStreetSimulator } from './street/simulator.ts';
import { streetSpec } from './street/spec.ts';

export interface CreateProviderParams {
  baseUrl: string;
  /** Checked against the provider's `credentialsSchema`. */
  credentials: unknown;
  /** The connection's limiter; defaults to a new one from `spec`. */
  limiter?: ConnectionLimiter;
  /** Defaults to the provider's documented spec; tests pass a scaled copy (`withSpec`). */
  spec?: ProviderSpec;
  fetch?: typeof fetch;
  /** The process's OAuth client-credentials tokens (Reapit, Alto); each provider keeps its own without it. */
  tokenCache?: ClientCredentialsTokenCache;
}

/** Everything the rest of the system needs to know about one provider. */
export interface ProviderEntry {
  name: ProviderName;
  spec: ProviderSpec;
  /** What `connection add --credentials` accepts. */
  credentialsSchema: z.ZodType;
  /** A provider for one connection; `validation` when the credentials do not fit the schema. */
  createProvider(params: CreateProviderParams): Result<CrmProvider, ProviderError>;
  /** Starts the provider's HTTP simulator on 127.0.0.1. */
  startSimulator(options?: SimulatorOptions): Promise<RunningSimulator>;
}

/** Types one provider's factory against its own credentials and erases that type for the registry. */
export function defineProvider<TCredentials>(entry: {
  name: ProviderName;
  spec: ProviderSpec;
  credentialsSchema: z.ZodType<TCredentials>;
  create(params: Omit<CreateProviderParams, 'credentials'> & { credentials: TCredentials }): CrmProvider;
  startSimulator(options?: SimulatorOptions): Promise<RunningSimulator>;
}): ProviderEntry {
  return {
    name: entry.name,
    spec: entry.spec,
    credentialsSchema: entry.credentialsSchema,
    startSimulator: entry.startSimulator,
    createProvider: (params) => {
      const credentials = entry.credentialsSchema.safeParse(params.credentials);
      if (!credentials.success) {
        return err({
          kind: 'validation',
          status: null,
          message: `${entry.name} credentials: ${describeIssues(credentials.error)}`,
        });
      }
      return ok(entry.create({ ...params, credentials: credentials.data }));
    },
  };
}

/** One entry per provider; a new provider adds one line here. */
export const providerRegistry: Partial<Record<ProviderName, ProviderEntry>> = {
  reapit: defineProvider({
    name: 'reapit',
    spec: reapitSpec,
    credentialsSchema: reapitCredentialsSchema,
    create: createReapitProvider,
    startSimulator: startReapitSimulator,
  }),
  alto: defineProvider({
    name: 'alto',
    spec: altoSpec,
    credentialsSchema: altoCredentialsSchema,
    create: createAltoProvider,
    startSimulator: startAltoSimulator,
  }),
  street: defineProvider({
    name: 'street',
    spec: streetSpec,
    credentialsSchema: streetCredentialsSchema,
    create: createStreetProvider,
    startSimulator: startStreetSimulator,
  }),
  agentos: defineProvider({
    name: 'agentos',
    spec: agentosSpec,
    credentialsSchema: agentosCredentialsSchema,
    create: createAgentosProvider,
    startSimulator: startAgentosSimulator,
  }),
  loop: defineProvider({
    name: 'loop',
    spec: loopSpec,
    credentialsSchema: loopCredentialsSchema,
    create: createLoopProvider,
    startSimulator: startLoopSimulator,
  }),
};

export function getProvider(name: ProviderName): ProviderEntry | undefined {
  return providerRegistry[name];
}

export function registeredProviders(): ProviderEntry[] {
  return Object.values(providerRegistry).filter((e): e is ProviderEntry => e !== undefined);
}
