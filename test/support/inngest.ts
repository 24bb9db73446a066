import type { Inngest, Logger } from 'inngest';
import { createInngestClient } from '../../src/inngest/client.ts';
import type { ProviderName } from '../../src/providers/provider.ts';

/** The Inngest SDK logs every failed step; the tests assert on results instead. */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };

/** An event as the Inngest event API received it. */
export interface SentEvent {
  name: string;
  id?: string;
  data: Record<string, unknown>;
}

/**
 * A dev-mode client whose calls to Inngest go to a stand-in `fetch`: events sent by `step.sendEvent` are
 * recorded (and acknowledged with their ids) instead of reaching a server.
 */
export function capturingClient(): { client: Inngest; sent: SentEvent[] } {
  const sent: SentEvent[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    if (!url.pathname.startsWith('/e/')) return new Response('not found', { status: 404 });
    const events = JSON.parse(String(init?.body)) as SentEvent[];
    sent.push(...events);
    return Response.json({ ids: events.map((e) => e.id ?? ''), status: 200 });
  };
  const client = createInngestClient(
    { mode: 'dev', baseUrl: 'http://127.0.0.1:9', signingKey: undefined, eventKey: undefined },
    { fetch, logger: silentLogger },
  );
  return { client, sent };
}

/** The data of the tick's `crm/connection.sync.due` event for a harness's connection (Reapit unless said). */
export function dueData(
  h: { tenantId: string; connectionId: string },
  provider: ProviderName = 'reapit',
): { tenantId: string; connectionId: string; provider: ProviderName; slot: string } {
  return { tenantId: h.tenantId, connectionId: h.connectionId, provider, slot: '2025-06-02T09:15Z' };
}

/** The tick's `crm/connection.sync.due` event for a harness's connection, as the per-connection function gets it. */
export function dueEvent(h: { tenantId: string; connectionId: string }, provider: ProviderName = 'reapit') {
  return { name: 'crm/connection.sync.due', data: dueData(h, provider) };
}
