import { eventType, Inngest, type Logger } from 'inngest';
import { z } from 'zod';
import type { Env } from '../config/env.ts';
import { providerNameSchema } from '../core/providerName.ts';
import { err, ok, type Result } from '../core/result.ts';

/** The Inngest app id: function ids are prefixed with it (`crm-sync-sync-connection`). Never change it. */
export const INNGEST_APP_ID = 'crm-sync';

/**
 * One connection is due in one schedule slot; sent by the tick, consumed by the per-connection function. Strict, so
 * a hand-sent event with a misspelt key is refused, except for `_inngest`: Inngest's own metadata (`fn_id`,
 * `correlation_id`), which it adds to the data of every invoked run (`inngest/function.invoked`: the dashboard's
 * Invoke, `step.invoke`), and which the SDK validates with the rest.
 */
export const connectionSyncDueSchema = z.strictObject({
  tenantId: z.uuid(),
  connectionId: z.uuid(),
  provider: providerNameSchema,
  /** The schedule slot (UTC minute, `2025-06-01T12:34Z`) that selected the connection; see dueSelection.ts. */
  slot: z.string().min(1),
  _inngest: z.record(z.string(), z.unknown()).optional(),
});
export type ConnectionSyncDue = z.infer<typeof connectionSyncDueSchema>;

/** `crm/connection.sync.due`; its data is validated against the schema when a run starts. */
export const connectionSyncDue = eventType('crm/connection.sync.due', { schema: connectionSyncDueSchema });

/** What the Inngest settings of the environment resolve to. */
export interface InngestSettings {
  /** `dev`: a local Inngest dev server, no signatures. `cloud`: Inngest Cloud or self-hosted, signed requests. */
  mode: 'dev' | 'cloud';
  /** Inngest API and event API origin; `undefined` leaves the SDK's default for the mode. */
  baseUrl: string | undefined;
  signingKey: string | undefined;
  eventKey: string | undefined;
}

/**
 * Reads the Inngest variables of the environment. `INNGEST_DEV=1` or `true`, or a dev server's http(s) URL, is
 * dev mode, which needs no keys; otherwise (`0`, `false` or unset: src/config/env.ts refuses any other value) it
 * is cloud mode, which refuses to start without `INNGEST_SIGNING_KEY` (every
 * request from Inngest is signed with it) and `INNGEST_EVENT_KEY` (the tick sends its fan-out with it).
 */
export function inngestSettings(
  env: Pick<Env, 'INNGEST_DEV' | 'INNGEST_SIGNING_KEY' | 'INNGEST_EVENT_KEY' | 'INNGEST_BASE_URL'>,
): Result<InngestSettings, string> {
  const dev = env.INNGEST_DEV;
  const devUrl = dev !== undefined && URL.canParse(dev) ? dev : undefined;
  const mode = dev === '1' || dev === 'true' || devUrl !== undefined ? 'dev' : 'cloud';
  const settings: InngestSettings = {
    mode,
    baseUrl: env.INNGEST_BASE_URL ?? devUrl,
    signingKey: env.INNGEST_SIGNING_KEY,
    eventKey: env.INNGEST_EVENT_KEY,
  };
  if (mode === 'cloud') {
    const missing = (['INNGEST_SIGNING_KEY', 'INNGEST_EVENT_KEY'] as const).filter((key) => !env[key]);
    if (missing.length > 0) {
      return err(
        `Inngest cloud mode needs ${missing.join(' and ')}; set INNGEST_DEV=1 to use a local Inngest dev server`,
      );
    }
  }
  return ok(settings);
}

/**
 * The Inngest client, configured from settings only: every option is passed explicitly, so the SDK's own
 * reading of `process.env` never decides the mode, keys or URLs.
 */
export function createInngestClient(
  settings: InngestSettings,
  options: {
    /** Replaces `fetch` for calls to Inngest (tests capture sent events with it). */
    fetch?: typeof fetch;
    /** Where the SDK logs; the console by default. */
    logger?: Logger;
  } = {},
): Inngest {
  return new Inngest({
    id: INNGEST_APP_ID,
    isDev: settings.mode === 'dev',
    ...(settings.baseUrl === undefined ? {} : { baseUrl: settings.baseUrl }),
    ...(settings.signingKey === undefined ? {} : { signingKey: settings.signingKey }),
    ...(settings.eventKey === undefined ? {} : { eventKey: settings.eventKey }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
}
