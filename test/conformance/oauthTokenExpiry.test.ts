import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../src/providers/limiter.ts';
import type { CrmProvider } from '../../src/providers/provider.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { withSpec } from '../../src/providers/spec.ts';
import { type StartedSimulator, startSimulator } from '../support/simulators.ts';

/**
 * Reapit and Alto take OAuth2 client-credentials tokens that expire (`expires_in: 3600` [R1][A2]) and answer an
 * expired or revoked one with 401. A 401 is `auth_failed`, which stops the connection until someone enters the
 * credentials again, so a token that lapsed while the client still held it must be renewed, not reported.
 * Regression: the client kept using a refused token and reported `auth_failed`. The simulator's tokens live 1 s here:
 * long enough that a renewed one reaches it before lapsing too, on a loaded machine (300 ms left a stall no room).
 */
const TOKEN_TTL_MS = 1_000;

async function withTokenProvider(
  name: 'reapit' | 'alto',
  run: (provider: CrmProvider, sim: StartedSimulator) => Promise<void>,
) {
  const sim = await startSimulator(name, { contacts: 5, tokenTtlMs: TOKEN_TTL_MS });
  try {
    const entry = getProvider(name);
    if (!entry) throw new Error(`${name} is not registered`);
    // A 429 waits longer than the token lives, so a retry can carry a token that has lapsed meanwhile.
    const spec = withSpec(entry.spec, { retry: { waitAfter429Ms: 2 * TOKEN_TTL_MS, timeoutMs: 5_000 } });
    const created = entry.createProvider({
      baseUrl: sim.baseUrl,
      credentials: sim.credentials,
      spec,
      limiter: createLimiter(spec),
    });
    if (!created.ok) throw new Error(created.error.message);
    await run(created.value, sim);
  } finally {
    await sim.close();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const window = () => ({ from: null, to: new Date(Date.now() + 1_000).toISOString() });

describe.each(['reapit', 'alto'] as const)('%s OAuth token refused before the client expected', (name) => {
  it('renews the token and goes on, instead of auth_failed', async () => {
    await withTokenProvider(name, async (provider) => {
      expect((await provider.listChanges({ window: window(), pageToken: null })).ok).toBe(true);
      // The token the client holds is now refused, though its `expires_in` says it has an hour left.
      await sleep(TOKEN_TTL_MS + 100);
      const later = await provider.listChanges({ window: window(), pageToken: null });
      expect(later).toMatchObject({ ok: true });
    });
  });

  it('renews a token that lapsed while the call waited out a 429', async () => {
    await withTokenProvider(name, async (provider, sim) => {
      await sim.control.faults({ rateLimitBurst: 1 });
      const result = await provider.listChanges({ window: window(), pageToken: null });
      expect(result).toMatchObject({ ok: true });
      expect((await sim.control.stats()).rateLimited).toBe(1);
    });
  });

  it('still reports credentials the provider refuses outright as auth_failed', async () => {
    const sim = await startSimulator(name, { contacts: 5 });
    try {
      const wrongTenant =
        name === 'reapit'
          ? { ...sim.credentials, customerId: 'NOT-OURS' }
          : { ...sim.credentials, agencyRef: 'NOT-OURS' };
      const created = getProvider(name)?.createProvider({ baseUrl: sim.baseUrl, credentials: wrongTenant });
      if (!created?.ok) throw new Error('provider');
      const result = await created.value.listChanges({ window: window(), pageToken: null });
      expect(result).toMatchObject({ ok: false, error: { kind: 'auth_failed' } });
    } finally {
      await sim.close();
    }
  });
});
