import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Store } from '../persistence/store.ts';
import type { RunnerDeps } from '../runner/connectionRunner.ts';
import { bearerAuth } from './auth.ts';
import { fail } from './http.ts';
import { auditRoutes } from './routes/audit.ts';
import { connectionRoutes } from './routes/connections.ts';
import { contactRoutes } from './routes/contacts.ts';
import { tenantRoutes } from './routes/tenants.ts';

/** What the admin API works on. */
export interface AdminApiDeps {
  store: Store;
  /** Runs "sync now" and "retry" in this process; its clock also stamps API writes. */
  runner: RunnerDeps;
  /** Every route requires `Authorization: Bearer <adminToken>`. */
  adminToken: string;
}

/** Larger bodies get a 413 before they are read; a thousand engagement events fit well within it. */
const MAX_BODY_BYTES = 1024 * 1024;

/** The body limit of every route that reads one. */
export const limitBody = () =>
  bodyLimit({
    maxSize: MAX_BODY_BYTES,
    onError: (c) => fail(c, 413, 'request body above 1 MiB'),
  });

/**
 * The admin API, mounted under `/api`: tenants, connections with their machine state, the audit log,
 * engagement ingest and local contacts. JSON in and out; every route is scoped by tenant and behind the
 * bearer token.
 */
export function createAdminApi(deps: AdminApiDeps): Hono {
  return new Hono()
    .use('*', bearerAuth(deps.adminToken))
    .use('*', limitBody())
    .route('/', tenantRoutes(deps))
    .route('/', connectionRoutes(deps))
    .route('/', auditRoutes(deps))
    .route('/', contactRoutes(deps));
}
