import { describe, expect, it } from 'vitest';
import { createLimiter } from '../limiter.ts';
import { defineSpec, withSpec } from '../spec.ts';
import { createAgentosProvider } from './adapter.ts';
import { startAgentosSimulator } from './simulator.ts';
import { agentosSpec } from './spec.ts';

const spec = withSpec(
  defineSpec({ ...agentosSpec, pagination: { ...agentosSpec.pagination, defaultPageSize: 100 } }),
  {
    limits: { requestsPerMinute: undefined, requestsPerSecond: 50 },
    retry: { waitAfter429Ms: 20, timeoutMs: 2_000 },
  },
);

/** The real simulator over HTTP; its seeded `Country: "GB"` served as `"UK"` (agentOS's country text is undocumented). */
const countryAs =
  (value: string): typeof fetch =>
  async (input, init) => {
    const response = await fetch(input, init);
    const text = await response.text();
    return new Response(text.replaceAll('"Country":"GB"', `"Country":${JSON.stringify(value)}`), {
      status: response.status,
      headers: response.headers,
    });
  };

describe('agentOS country text', () => {
  for (const country of ['UK', 'United Kingdom', 'GB']) {
    it(`maps Country "${country}" to GB`, async () => {
      const sim = await startAgentosSimulator({
        limits: { requestsPerMinute: undefined, requestsPerSecond: 50 },
        contacts: 20,
      });
      try {
        const provider = createAgentosProvider({
          baseUrl: sim.baseUrl,
          credentials: sim.credentials as { apiKey: string; shortName: string; branchId: string },
          spec,
          limiter: createLimiter(spec),
          fetch: countryAs(country),
        });
        const page = await provider.listChanges({
          window: { from: null, to: new Date().toISOString() },
          pageToken: null,
        });
        if (!page.ok) throw new Error(page.error.message);
        const withAddress = page.value.records.filter((r) => r.contact.address !== null);
        expect(withAddress.length).toBeGreaterThan(0);
        expect(new Set(withAddress.map((r) => r.contact.address?.countryCode))).toEqual(new Set(['GB']));
      } finally {
        await sim.close();
      }
    });
  }
});
