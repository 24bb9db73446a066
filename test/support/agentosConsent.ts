import { expect } from 'vitest';
import type { SyncHarness } from './syncHarness.ts';

/** The agency sets the applicants' third-party-marketing consent in the agentOS simulator. */
export async function setConsent(agentos: Pick<SyncHarness, 'sim'>, ids: string[], granted: boolean) {
  const response = await fetch(`${agentos.sim.baseUrl}/_sim/third-party-marketing`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ids, granted }),
  });
  expect(await response.json()).toEqual({ changed: ids });
}
