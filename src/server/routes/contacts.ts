import { Hono } from 'hono';
import { z } from 'zod';
import { matchKeys } from '../../core/dedup/blocking.ts';
import { toMatchRecord } from '../../core/dedup/matchRecord.ts';
import { ok } from '../../core/result.ts';
import {
  applyContactEdit,
  canonicalContactSchema,
  contactEditSchema,
  identifiableContactSchema,
  uuidSchema,
} from '../../core/schemas.ts';
import {
  CONFLICTING_REPEAT,
  conflictingRepeats,
  engagementEventSchema,
  FUTURE_EVENT,
  isFutureEvent,
  type Link,
  type StoredContact,
} from '../../persistence/records.ts';
import type { AdminApiDeps } from '../adminApi.ts';
import {
  contactParamsSchema,
  decimalParam,
  fail,
  readBody,
  readInput,
  readNoQuery,
  readParams,
  readQuery,
  storeFailure,
  tenantParamsSchema,
  validate,
} from '../http.ts';

/** The engagement ingest body, checked against `now`: an event dated more than a day ahead is refused. */
export const engagementBodySchema = (now: Date) =>
  z
    .strictObject({
      events: z
        .array(
          z.strictObject({
            /** Unique per tenant: an event sent again is counted once. */
            eventId: engagementEventSchema.shape.eventId,
            contactId: engagementEventSchema.shape.contactId,
            type: z.enum(['open', 'click']),
            /** ISO instant of the open or click. */
            at: engagementEventSchema.shape.occurredAt.refine((at) => !isFutureEvent(at, now), FUTURE_EVENT),
          }),
        )
        .min(1)
        .max(1000),
    })
    .superRefine((body, ctx) => {
      const events = body.events.map((e) => ({ ...e, kind: e.type, occurredAt: e.at }));
      for (const { index, firstIndex } of conflictingRepeats(events))
        ctx.addIssue({
          code: 'custom',
          path: ['events', index, 'eventId'],
          message: `${CONFLICTING_REPEAT} (events[${firstIndex}])`,
        });
    });

export const contactsQuerySchema = z.strictObject({
  /** The previous page's `nextAfterId`. */
  afterId: uuidSchema.optional(),
  limit: decimalParam(1, 500).default(50),
});

/**
 * A contact edit, checked against `now`: at least one field, and no open or click dated more than a day ahead
 * (refused on engagement ingest too: as the latest open or click it would stay the contact's for good).
 */
export const contactPatchBodySchema = (now: Date) =>
  contactEditSchema
    .refine((patch) => Object.keys(patch).length > 0, { message: 'expected at least one field' })
    .superRefine((patch, ctx) => {
      for (const field of ['lastOpenedAt', 'lastClickedAt'] as const) {
        const at = patch[field];
        if (at != null && isFutureEvent(at, now))
          ctx.addIssue({ code: 'custom', path: [field], message: FUTURE_EVENT });
      }
    });

/** Tries of an edit whose contact changed between its read and its write, before it answers the conflict. */
const EDIT_ATTEMPTS = 3;

/** A local contact as the API shows it. */
export interface ContactView {
  id: string;
  contact: StoredContact['contact'];
  /** Per field: ISO instant of the last local change. */
  fieldStamps: StoredContact['fieldStamps'];
  changeSeq: number;
  updatedAt: string;
  /** The CRM records linked to it. */
  links?: Array<{ connectionId: string; externalId: string }>;
}

const contactView = (stored: StoredContact & { links?: Link[] }): ContactView => ({
  id: stored.id,
  contact: stored.contact,
  fieldStamps: stored.fieldStamps,
  changeSeq: stored.changeSeq,
  updatedAt: stored.updatedAt.toISOString(),
  ...(stored.links === undefined
    ? {}
    : { links: stored.links.map(({ connectionId, externalId }) => ({ connectionId, externalId })) }),
});

/** The CRM records linked to one contact, over the tenant's connections (a handful). */
async function linksOf(store: AdminApiDeps['store'], tenantId: string, contactId: string) {
  const connections = await store.listConnections({ tenantId });
  if (!connections.ok) return connections;
  const links: Link[] = [];
  for (const connection of connections.value) {
    const found = await store.getLinksByContactIds({
      tenantId,
      connectionId: connection.id,
      contactIds: [contactId],
    });
    if (!found.ok) return found;
    links.push(...found.value);
  }
  return ok(links);
}

/**
 * `POST /tenants/:tenantId/engagement` (idempotent by event id), `GET /tenants/:tenantId/contacts` (paged by
 * id), `GET` and `PATCH /tenants/:tenantId/contacts/:contactId`. A patched contact gets a new change sequence
 * number, so the next cycle of each connection pushes it.
 */
export function contactRoutes({ store, runner }: AdminApiDeps): Hono {
  return new Hono()
    .post('/tenants/:tenantId/engagement', async (c) => {
      const input = readInput(c, {
        params: readParams(c, tenantParamsSchema),
        query: readNoQuery(c),
        body: await readBody(c, engagementBodySchema(runner.clock())),
      });
      if (!input.ok) return input.error;
      const { params, body } = input.value;
      const tenant = await store.getTenant(params);
      if (!tenant.ok) return storeFailure(c, tenant.error);
      const ingested = await store.ingestEngagementEvents({
        tenantId: params.tenantId,
        events: body.events.map((event) => ({
          eventId: event.eventId,
          contactId: event.contactId,
          kind: event.type === 'open' ? 'email_open' : 'email_click',
          occurredAt: event.at,
        })),
        now: runner.clock(),
      });
      if (!ingested.ok) return storeFailure(c, ingested.error);
      return c.json(ingested.value);
    })
    .get('/tenants/:tenantId/contacts', async (c) => {
      const input = readInput(c, {
        params: readParams(c, tenantParamsSchema),
        query: readQuery(c, contactsQuerySchema),
      });
      if (!input.ok) return input.error;
      const { params, query } = input.value;
      const tenant = await store.getTenant(params);
      if (!tenant.ok) return storeFailure(c, tenant.error);
      const { afterId, limit } = query;
      // One more than asked says whether a next page exists: `nextAfterId` is null on the last page, as the
      // audit's `nextBeforeId` is, not only on the empty page after it.
      const page = await store.listContacts({
        tenantId: params.tenantId,
        limit: limit + 1,
        ...(afterId === undefined ? {} : { afterId }),
      });
      if (!page.ok) return storeFailure(c, page.error);
      const contacts = page.value.slice(0, limit);
      const last = contacts.at(-1);
      return c.json({
        contacts: contacts.map(contactView),
        nextAfterId: page.value.length > limit && last !== undefined ? last.id : null,
      });
    })
    .get('/tenants/:tenantId/contacts/:contactId', async (c) => {
      const input = readInput(c, { params: readParams(c, contactParamsSchema), query: readNoQuery(c) });
      if (!input.ok) return input.error;
      const { tenantId, contactId } = input.value.params;
      const tenant = await store.getTenant({ tenantId });
      if (!tenant.ok) return storeFailure(c, tenant.error);
      const found = await store.getContacts({ tenantId, ids: [contactId] });
      if (!found.ok) return storeFailure(c, found.error);
      const [stored] = found.value;
      if (stored === undefined) return fail(c, 404, `contact ${contactId} not found`);
      const links = await linksOf(store, tenantId, contactId);
      if (!links.ok) return storeFailure(c, links.error);
      return c.json({ contact: contactView({ ...stored, links: links.value }) });
    })
    .patch('/tenants/:tenantId/contacts/:contactId', async (c) => {
      const input = readInput(c, {
        params: readParams(c, contactParamsSchema),
        query: readNoQuery(c),
        body: await readBody(c, contactPatchBodySchema(runner.clock())),
      });
      if (!input.ok) return input.error;
      const { params, body: patch } = input.value;
      const { tenantId, contactId } = params;
      const tenant = await store.getTenant({ tenantId });
      if (!tenant.ok) return storeFailure(c, tenant.error);
      // The patch is applied to the contact as read and written only if nothing changed it meanwhile (an engagement
      // event, a cycle): written over, that change was lost. A merge patch names its fields, so it is applied
      // again to what the contact then holds.
      for (let attempt = 1; ; attempt++) {
        const found = await store.getContacts({ tenantId, ids: [contactId] });
        if (!found.ok) return storeFailure(c, found.error);
        const [stored] = found.value;
        if (stored === undefined) return fail(c, 404, `contact ${contactId} not found`);
        // An edit may not leave a contact without a name, e-mail address or phone; one the CRM sent that way
        // (nothing to lose) still takes edits of its other fields, such as its intent score.
        const identifiable = identifiableContactSchema.safeParse(stored.contact).success;
        const merged = validate(
          c,
          identifiable ? identifiableContactSchema : canonicalContactSchema,
          applyContactEdit(stored.contact, patch),
          'body',
        );
        if (!merged.ok) return merged.error;
        const contact = merged.value;
        const saved = await store.transaction(async (tx) => {
          const upserted = await tx.upsertContacts({
            tenantId,
            contacts: [{ id: contactId, contact, expectedChangeSeq: stored.changeSeq }],
            now: runner.clock(),
          });
          if (!upserted.ok) return upserted;
          // Keep the dedup index in step with the new values, as the reconcile phase does for CRM changes.
          const keys = matchKeys(toMatchRecord(contactId, contact));
          const indexed = await tx.replaceMatchKeys({ tenantId, entries: [{ contactId, keys }] });
          if (!indexed.ok) return indexed;
          return ok(undefined);
        });
        if (saved.ok) break;
        if (saved.error.kind !== 'conflict' || attempt === EDIT_ATTEMPTS) return storeFailure(c, saved.error);
      }
      const reread = await store.getContacts({ tenantId, ids: [contactId] });
      if (!reread.ok) return storeFailure(c, reread.error);
      const [updated] = reread.value;
      if (updated === undefined) return fail(c, 404, `contact ${contactId} not found`);
      const links = await linksOf(store, tenantId, contactId);
      if (!links.ok) return storeFailure(c, links.error);
      return c.json({ contact: contactView({ ...updated, links: links.value }) });
    });
}
