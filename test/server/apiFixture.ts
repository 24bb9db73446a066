import type { Hono } from 'hono';
import type { StoreHandle } from '../../src/persistence/store.ts';
import { getProvider } from '../../src/providers/registry.ts';
import type { RunnerDeps } from '../../src/runner/connectionRunner.ts';
import { createServerApp, type ServerDeps } from '../../src/server/app.ts';
import { createSyncHarness, type SyncHarness } from '../support/syncHarness.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';

/** A Reapit connection on an in-memory store, behind the real server app. */
export interface ApiFixture {
  h: SyncHarness;
  app: Hono;
  /** `/api/tenants/<the harness tenant>` */
  base: string;
  /** Calls the app with the admin token (or `token`, `null` for none); returns status and parsed JSON. */
  call(
    method: string,
    path: string,
    options?: { body?: unknown; rawBody?: string | Uint8Array; token?: string | null },
    // biome-ignore lint/suspicious/noExplicitAny: assertions read into arbitrary JSON responses
  ): Promise<{ status: number; json: any }>;
  /** Runs a cycle through the API ("sync now") and returns the first local contact as the API lists it. */
  // biome-ignore lint/suspicious/noExplicitAny: assertions read into arbitrary JSON responses
  syncedContact(): Promise<any>;
  close(): Promise<void>;
}

export { useSharedStore } from '../support/sharedStore.ts';

export async function createApiFixture(options: {
  store: StoreHandle;
  contacts?: number;
  seed?: number;
  /** Runner overrides (a clock that can move on, shorter provider waits). */
  runner?: Partial<RunnerDeps>;
  server?: Partial<ServerDeps>;
}): Promise<ApiFixture> {
  const h = await createSyncHarness('reapit', {
    store: options.store,
    simulator: { contacts: options.contacts ?? 30, seed: options.seed ?? 4 },
    ...(options.runner === undefined ? {} : { runner: options.runner }),
  });
  const app = createServerApp({ store: h.store, runner: h.deps, adminToken: ADMIN_TOKEN, ...options.server });
  const call: ApiFixture['call'] = async (method, path, { body, rawBody, token = ADMIN_TOKEN } = {}) => {
    const headers: Record<string, string> = {};
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const payload = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const response = await app.request(path, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: payload }),
    });
    const text = await response.text();
    return { status: response.status, json: text === '' ? null : JSON.parse(text) };
  };
  const base = `/api/tenants/${h.tenantId}`;
  const syncedContact = async () => {
    await call('POST', `${base}/connections/${h.connectionId}/sync`);
    return (await call('GET', `${base}/contacts?limit=1`)).json.contacts[0];
  };
  return { h, app, base, call, syncedContact, close: () => h.close() };
}

/**
 * Changes one field of a record in the simulated CRM through the provider's own API (with the record's
 * current ETag), as an agency user would.
 */
export async function editInCrm(
  h: SyncHarness,
  externalId: string,
  patch: Record<string, string>,
): Promise<void> {
  const records = (await h.sim.control.records()) as Array<{ id: string; _eTag?: string }>;
  const record = records.find((r) => r.id === externalId);
  if (record === undefined) throw new Error(`no CRM record ${externalId}`);
  const provider = getProvider('reapit')?.createProvider({
    baseUrl: h.sim.baseUrl,
    credentials: h.sim.credentials,
  });
  if (provider === undefined || !provider.ok) throw new Error('reapit provider unavailable');
  const updated = await provider.value.update({ externalId, patch, version: record._eTag ?? null });
  if (!updated.ok) throw new Error(`CRM edit failed: ${updated.error.message}`);
}
