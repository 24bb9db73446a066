import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { ProviderLimits } from '../spec.ts';
import type { SimDb } from './db.ts';
import {
  type Admission,
  type SimFaults,
  SimGate,
  type SimStats,
  simFaultsSchema,
  simStatsSchema,
} from './gate.ts';

export interface SimRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; `undefined` when empty, `null` when not JSON. */
  body: unknown;
}

export interface SimResponse {
  status: number;
  headers?: Record<string, string>;
  /** Sent as JSON; omitted → empty body. */
  body?: unknown;
  /** An accepted write, for `/_sim/stats`. */
  effect?: 'create' | 'update';
}

/** The provider-specific half of a simulator; the shared server supplies the rest. */
export interface SimulatorDefinition<TWire> {
  db: SimDb<TWire>;
  /** The limits to enforce (the provider's spec, possibly scaled by options). */
  limits: ProviderLimits;
  /** Routes outside the limited API (e.g. a token endpoint); `null` when the request is not one of them. */
  open?(req: SimRequest, baseUrl: string): SimResponse | null;
  /** `null` when the request carries valid credentials; otherwise the provider's 401/403. */
  authorize(req: SimRequest): SimResponse | null;
  /** The provider's 429 response. */
  rateLimited(admission: Extract<Admission, { kind: 'rate_limited' }>): SimResponse;
  /** The provider's 500 response. */
  serverError(): SimResponse;
  route(req: SimRequest, baseUrl: string): SimResponse;
  /** What `connection add --credentials` accepts for this simulator. */
  credentials(baseUrl: string): Record<string, unknown>;
  /**
   * The provider's documented answer to a write the credentials may not make while they still read (a write scope
   * the agency did not grant), served on every write while `PUT /_sim/write-access` says so; absent where the
   * provider documents none (Loop).
   */
  writeRefused?(): SimResponse;
  /** This provider's own `/_sim/` control routes (e.g. agentOS key tiers); `null` when the request is none of them. */
  control?(req: SimRequest): SimResponse | null;
}

/** Options every simulator accepts (the `simulator` command's flags). */
export interface SimulatorOptions {
  /** 0 or absent → a free port. */
  port?: number | undefined;
  /** Seeded contacts. Default 200. */
  contacts?: number | undefined;
  /** Seed of the generated data and of fault injection. Default 1. */
  seed?: number | undefined;
  /** Added to every API response, in ms. Default 0. */
  latencyMs?: number | undefined;
  /** Seeded records sharing one `modified` value (the conformance suite uses 250). */
  sameModified?: number | undefined;
  /** `false`: records sharing a `modified` value are served in an order unrelated to their ids (`SimDbOptions`). */
  tiesById?: boolean | undefined;
  /** Seeded records made malformed (the conformance suite uses 1). */
  malformed?: number | undefined;
  /** Seeded surnames holding a NUL character (see `SimDbOptions.unstorable`). */
  unstorable?: number | undefined;
  /** Replaces documented limits, e.g. to scale a per-minute window down for a fast test. */
  limits?: Partial<ProviderLimits> | undefined;
  /**
   * Where the API takes OAuth tokens (Reapit, Alto): how long one is accepted, in ms. Default its announced
   * `expires_in` (3600 s). Shorter models a token refused before its stated expiry (revoked, or a clock that jumped).
   */
  tokenTtlMs?: number | undefined;
  /**
   * How long a record created through the API stays out of listings, searches and GETs, in ms
   * (`SimDbOptions.createVisibleAfterMs`; simulators that create through `SimDb.insertCreated`: Reapit). Default 0.
   */
  createVisibleAfterMs?: number | undefined;
}

/** The `/_sim/` control API, the same for every simulator (and the in-memory fake). */
export interface SimControl {
  /** Every record held, in the provider's own wire shape (creates not shown yet included). */
  records(): Promise<unknown[]>;
  /** Applies `count` agency-style edits (one bulk save, or `apart`: one save each); returns the ids changed. */
  edits(params: { count: number; seed: number; apart?: boolean }): Promise<{ changed: string[] }>;
  /** Deletes records outright (an agency user deleting a contact); returns the ids it held. */
  remove(ids: string[]): Promise<{ removed: string[] }>;
  /** Fault injection from now on; `{}` clears. */
  faults(faults: SimFaults): Promise<void>;
  stats(): Promise<SimStats>;
  /**
   * Grants or withdraws the credentials' write access, reads kept: withdrawn, every write is answered as the provider
   * documents a write without its scope (`SimulatorDefinition.writeRefused`). `false` when it documents none.
   */
  writeAccess(granted: boolean): Promise<boolean>;
}

/** A `SimControl` over HTTP for a simulator at `baseUrl`. */
export function simControlClient(baseUrl: string): SimControl {
  const call = async (method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${baseUrl}/_sim/${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
    if (!response.ok) throw new Error(`/_sim/${path} → ${response.status} ${await response.text()}`);
    return response.json();
  };
  return {
    records: async () => z.array(z.unknown()).parse(await call('GET', 'records')),
    edits: async (params) =>
      z.object({ changed: z.array(z.string()) }).parse(await call('POST', 'edits', params)),
    remove: async (ids) =>
      z.object({ removed: z.array(z.string()) }).parse(await call('POST', 'remove', { ids })),
    faults: async (faults) => {
      await call('POST', 'faults', faults);
    },
    stats: async () => simStatsSchema.parse(await call('GET', 'stats')),
    writeAccess: async (granted) => {
      const response = await fetch(`${baseUrl}/_sim/write-access`, {
        method: 'PUT',
        body: JSON.stringify({ granted }),
        headers: { 'content-type': 'application/json' },
      });
      await response.body?.cancel();
      if (response.status === 404) return false;
      if (!response.ok) throw new Error(`/_sim/write-access → ${response.status}`);
      return true;
    },
  };
}

export interface RunningSimulator {
  provider: string;
  baseUrl: string;
  credentials: Record<string, unknown>;
  close(): Promise<void>;
}

/** Serves a simulator on 127.0.0.1 with the shared `/_sim/` control API, limits and faults. */
export async function serveSimulator<TWire>(
  provider: string,
  definition: SimulatorDefinition<TWire>,
  options: SimulatorOptions,
): Promise<RunningSimulator> {
  const gate = new SimGate(definition.limits, {
    seed: options.seed ?? 1,
    latencyMs: options.latencyMs ?? 0,
    now: Date.now,
  });
  let baseUrl = '';
  let writesGranted = true;
  const server = createServer((req, res) => {
    readBody(req)
      .then((body) => handle({ req, res, body }))
      .catch((error: unknown) => send(res, { status: 500, body: { error: String(error) } }));
  });

  async function handle({ req, res, body }: { req: IncomingMessage; res: ServerResponse; body: unknown }) {
    const url = new URL(req.url ?? '/', baseUrl);
    const simReq: SimRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body,
    };
    if (url.pathname.startsWith('/_sim/')) return send(res, control(simReq));
    const open = definition.open?.(simReq, baseUrl);
    if (open) return send(res, open);
    const denied = definition.authorize(simReq);
    if (denied) return send(res, denied);
    const admission = gate.admit(simReq.method === 'GET' ? 'read' : 'write');
    switch (admission.kind) {
      case 'rate_limited':
        return send(res, definition.rateLimited(admission));
      case 'error':
        return send(res, definition.serverError());
      case 'drop':
        req.socket.destroy();
        return;
      case 'timeout':
        // Never answered; the socket is cut when the client gives up or the server closes.
        return;
    }
    try {
      if (admission.latencyMs > 0) await new Promise((r) => setTimeout(r, admission.latencyMs));
      const refused = writesGranted || simReq.method === 'GET' ? undefined : definition.writeRefused?.();
      const response = refused ?? definition.route(simReq, baseUrl);
      if (response.effect && response.status < 300) gate.wrote(response.effect);
      // Applied, its answer lost on the way back.
      if (admission.loseAnswer) req.socket.destroy();
      else send(res, response);
    } finally {
      admission.release();
    }
  }

  function control(req: SimRequest): SimResponse {
    const key = `${req.method} ${req.path}`;
    // What the CRM holds, creates it does not show yet included: the test's view, not the API's.
    if (key === 'GET /_sim/records') return { status: 200, body: definition.db.listAll() };
    if (key === 'GET /_sim/stats') return { status: 200, body: gate.stats };
    if (key === 'POST /_sim/edits') {
      const parsed = z
        .strictObject({
          count: z.number().int().min(0),
          seed: z.number().int(),
          apart: z.boolean().optional(),
        })
        .safeParse(req.body);
      if (!parsed.success) return { status: 400, body: { error: z.prettifyError(parsed.error) } };
      return { status: 200, body: { changed: definition.db.applyEdits(parsed.data) } };
    }
    if (key === 'POST /_sim/remove') {
      const parsed = z.strictObject({ ids: z.array(z.string()) }).safeParse(req.body);
      if (!parsed.success) return { status: 400, body: { error: z.prettifyError(parsed.error) } };
      return { status: 200, body: { removed: definition.db.remove(parsed.data.ids) } };
    }
    if (key === 'POST /_sim/faults') {
      const parsed = simFaultsSchema.safeParse(req.body ?? {});
      if (!parsed.success) return { status: 400, body: { error: z.prettifyError(parsed.error) } };
      gate.faults = parsed.data;
      return { status: 200, body: gate.faults };
    }
    if (key === 'PUT /_sim/write-access' && definition.writeRefused !== undefined) {
      const parsed = z.strictObject({ granted: z.boolean() }).safeParse(req.body);
      if (!parsed.success) return { status: 400, body: { error: z.prettifyError(parsed.error) } };
      writesGranted = parsed.data.granted;
      return { status: 200, body: parsed.data };
    }
    const own = definition.control?.(req);
    if (own) return own;
    return { status: 404, body: { error: `no control route ${key}` } };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    provider,
    baseUrl,
    credentials: definition.credentials(baseUrl),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.length === 0) return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        resolve(null);
      }
    });
  });
}

function send(res: ServerResponse, response: SimResponse): void {
  if (res.writableEnded || res.destroyed) return;
  const body = response.body === undefined ? '' : JSON.stringify(response.body);
  res.writeHead(response.status, {
    // Node's own `Date` is a string cached for the second and renewed by a timer, which a busy event loop (the tests
    // run the sync in the simulator's process) fires late: a stale second made Street's window bound (the adapter reads
    // `Date`) leave out an edit just saved. A server's clock, read as it answers.
    date: new Date().toUTCString(),
    ...(body ? { 'content-type': 'application/json' } : {}),
    ...response.headers,
  });
  res.end(body);
}
