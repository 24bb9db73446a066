import type { Platform } from '@reapit/foundations-ts-definitions';
import { z } from 'zod';
import { contactFieldTable } from '../../core/schemas.ts';
import { credentialEndpointSchema } from '../credentialEndpoint.ts';
import { headerValueSchema } from '../headerValue.ts';
import { listedInstantSchema } from '../listingAnchor.ts';

/**
 * Reapit wire shapes. Read schemas list only the fields we use (`z.object` strips the rest); the
 * `satisfies` clauses keep every name a real field of Reapit's published model
 * (`@reapit/foundations-ts-definitions`, `Platform.ContactModel`).
 */

type Shape<TModel> = Partial<Record<keyof TModel, z.ZodType>>;
const text = z.string().nullish();

export const reapitAddressSchema = z.object({
  buildingName: text,
  buildingNumber: text,
  line1: text,
  line2: text,
  line3: text,
  line4: text,
  postcode: text,
  countryId: text,
} satisfies Shape<Platform.ContactAddressModel>);

/**
 * Our engagement block inside the contact's app-specific `metadata`, read leniently: a member we cannot read (a last open without a zone, a score past 100, written by another tool) is
 * read as empty, which the merge sets aside against NurtureHub's value and writes over, rather than failing the
 * record and quarantining the person's contact fields with it.
 */
export const nurtureHubMetadataSchema = z.object({
  emailOpens: contactFieldTable.emailOpens.schema.catch(0),
  emailClicks: contactFieldTable.emailClicks.schema.catch(0),
  lastOpenedAt: contactFieldTable.lastOpenedAt.schema.catch(null),
  lastClickedAt: contactFieldTable.lastClickedAt.schema.catch(null),
  intentScore: contactFieldTable.intentScore.schema.catch(null),
  nurtureSequence: contactFieldTable.nurtureSequence.schema.catch(null),
});
export type NurtureHubMetadata = z.infer<typeof nurtureHubMetadataSchema>;

export const reapitMetadataSchema = z.object({
  /** Our stable id, written on create so a create whose acknowledgement was lost can be found. */
  nurturehubId: z.string().nullish(),
  nurturehub: nurtureHubMetadataSchema.nullish().catch(null),
});

export const reapitContactSchema = z.object({
  id: z.string().min(1),
  modified: z.iso.datetime({ offset: true }),
  title: text,
  forename: text,
  surname: text,
  dateOfBirth: text,
  email: text,
  mobilePhone: text,
  homePhone: text,
  workPhone: text,
  marketingConsent: z.enum(['grant', 'deny', 'notAsked']),
  fromArchive: z.boolean().nullish(),
  primaryAddress: reapitAddressSchema.nullish(),
  metadata: reapitMetadataSchema.nullish(),
  _eTag: text,
} satisfies Shape<Platform.ContactModel>);
export type ReapitContact = z.infer<typeof reapitContactSchema>;

/** Enough of a record to place it in (modified, id) order, even when the rest is malformed. */
export const reapitPositionSchema = z.object({ id: z.string().min(1), modified: listedInstantSchema });

export const reapitContactPageSchema = z.object({
  _embedded: z.array(z.unknown()),
  pageNumber: z.number().int(),
  pageSize: z.number().int(),
  pageCount: z.number().int(),
  totalPageCount: z.number().int(),
  totalCount: z.number().int(),
} satisfies Shape<Platform.ContactModelPagedResult>);

export const reapitCredentialsSchema = z.strictObject({
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** `reapit-customer` header value; `SBOX` is Reapit's sandbox. */
  customerId: headerValueSchema,
  /** Client-credentials token endpoint; it is sent the client secret: https, or plain http to this machine only. */
  tokenUrl: credentialEndpointSchema.default('https://connect.reapit.cloud/token'),
  /** Reapit requires an office and a negotiator on every new contact [R3]. */
  officeId: z.string().min(1).optional(),
  negotiatorId: z.string().min(1).optional(),
});
export type ReapitCredentials = z.infer<typeof reapitCredentialsSchema>;

/** `api-version` header value [R1]. */
export const REAPIT_API_VERSION = '2020-01-31';
