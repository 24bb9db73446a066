import type { Context } from 'hono';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { INNGEST_PATH } from '../inngest/serve.ts';
import { STORE_RPC_PATH } from '../persistence/storeRpc.ts';
import { type AdminApiDeps, createAdminApi } from './adminApi.ts';
import { adminPageRoutes } from './adminPage.ts';
import { fail } from './http.ts';
import { storeRpcRoutes } from './routes/storeRpc.ts';

export interface ServerDeps extends AdminApiDeps {
  /**
   * Inngest's serve handler (`inngest/hono`), mounted at `/api/inngest`. It is exempt from the admin token:
   * Inngest signs its own requests and the handler checks the signature.
   */
  inngestHandler?: (c: Context) => Promise<Response>;
  /** Where unexpected errors (bugs) are reported; stderr by default. The client only sees a 500. */
  reportError?: (error: unknown) => void;
}

/**
 * The HTTP surface of crm-sync: the admin API under `/api` (bearer token), the admin page at `/admin` (a shell
 * with no data; its script calls the API with the token), the store calls of other local commands under
 * `/internal/store` (bearer token, loopback only) and, when given, Inngest at `/api/inngest`.
 */
export function createServerApp(deps: ServerDeps): Hono {
  const reportError =
    deps.reportError ??
    ((error: unknown) => {
      const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
      process.stderr.write(`crm-sync: unexpected error in the admin server: ${text}\n`);
    });
  const app = new Hono();
  app.onError((error, c) => {
    reportError(error);
    return fail(c, 500, 'internal error');
  });
  app.notFound((c) => {
    if (c.req.path !== '/api' && !c.req.path.startsWith('/api/')) return c.text('not found', 404);
    const allowed = allowedMethods(app, c.req.path);
    if (allowed.length === 0) return fail(c, 404, `no route ${c.req.method} ${c.req.path}`);
    c.header('Allow', allowed.join(', '));
    return fail(c, 405, `${c.req.method} not allowed on ${c.req.path}; allowed: ${allowed.join(', ')}`);
  });
  // Registered before the admin API, whose token check would otherwise answer Inngest's requests first.
  if (deps.inngestHandler !== undefined) {
    // Hono serves HEAD with the GET route, so a probe reached the SDK as an introspection: unsigned, in cloud mode,
    // a 401 and an error in the log. Inngest sends no HEAD.
    app.use(INNGEST_PATH, async (c, next) => {
      if (c.req.raw.method !== 'HEAD') return next();
      c.header('Allow', INNGEST_METHODS.join(', '));
      return c.body(null, 405);
    });
    app.on(INNGEST_METHODS, INNGEST_PATH, limitInngestBody, deps.inngestHandler);
  }
  app.route('/api', createAdminApi(deps));
  app.route(STORE_RPC_PATH, storeRpcRoutes(deps));
  app.route('/admin', adminPageRoutes());
  app.get('/', (c) => c.redirect('/admin'));
  return app;
}

/**
 * Inngest caps a run's state (its events and step results, what a call carries) at 32 MB. The SDK reads a body
 * whole before it checks the signature, so without a limit any client could make this process hold one of any size.
 */
/** The methods Inngest calls its endpoint with: introspection, registration, function calls. */
const INNGEST_METHODS = ['GET', 'PUT', 'POST'];

const limitInngestBody = bodyLimit({
  maxSize: 32 * 1024 * 1024,
  onError: (c) => c.json({ message: 'the request body is above 32 MiB' }, 413),
});

/** The methods some route answers on `path` (none: the path is unknown). Middleware (`ALL`) does not count. */
function allowedMethods(app: Hono, path: string): string[] {
  const methods = new Set<string>();
  for (const route of app.routes) {
    if (route.method === 'ALL' || !pathPattern(route.path).test(path)) continue;
    methods.add(route.method);
    if (route.method === 'GET') methods.add('HEAD');
  }
  return [...methods].sort();
}

/**
 * A Hono route path (`/api/tenants/:tenantId`) as a regular expression over request paths. Exact, as Hono's
 * routing is (strict: `…/sync/` is not `…/sync`): a path no route serves must be a 404, not a 405 naming the
 * method that was used.
 */
function pathPattern(routePath: string): RegExp {
  const source = routePath
    .split('/')
    .map((part) => (part.startsWith(':') ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}$`);
}
