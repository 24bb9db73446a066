import { z } from 'zod';
import { credentialEndpointSchema } from '../credentialEndpoint.ts';
import { headerValueSchema } from '../headerValue.ts';
import { listedInstantSchema } from '../listingAnchor.ts';

/**
 * Alto wire shapes [A1] (`Alto.Contacts.Api.Models.*` in the Alto OpenAPI). Read schemas list only the
 * fields we use; unknown keys are stripped, so new vendor fields do not break a sync.
 */

const text = z.string().nullish();

/** `ContactInformation`: one entry per person; only the first phone and e-mail as recorded in Alto. */
export const altoContactInformationSchema = z.object({
  title: text,
  foreName: text,
  surname: text,
  phoneNumber: text,
  emailAddress: text,
});

/** `ContactListItem`, the item of `GET /contacts/all`. */
export const altoContactListItemSchema = z.object({
  id: z.string().min(1),
  contactInformation: z.array(altoContactInformationSchema).nullish(),
  isActive: z.boolean(),
  modifiedAt: z.iso.datetime({ offset: true }),
});
export type AltoContactListItem = z.infer<typeof altoContactListItemSchema>;

/**
 * The category a contact is filed under, wherever an answer states it: `contactType.category` on a list item,
 * `category` on a search item and on the full Contact [A1].
 */
export const altoFiledUnderSchema = z.object({
  contactType: z.object({ category: z.string().nullish() }).nullish(),
  category: z.string().nullish(),
});

/** Enough of a list item to place it in (modifiedAt, id) order, even when the rest is malformed. */
export const altoPositionSchema = z.object({ id: z.string().min(1), modifiedAt: listedInstantSchema });

/** `PagedResponse<T>`: `{ meta: { nextToken }, items }` [A1]. */
export const altoPageSchema = z.object({
  meta: z.object({ nextToken: z.string().nullish() }).nullish(),
  items: z.array(z.unknown()).nullish(),
});

/** `ContactSearchItemResponse`, the item of `GET /contacts/search`. */
export const altoSearchItemSchema = z.object({
  id: z.string().min(1),
  archived: z.boolean(),
  // Nullable in [A1]; a search's answer dates nothing the engine reads.
  modifiedDate: z.iso.datetime({ offset: true }).nullish(),
  people: z
    .array(
      z.object({
        personId: text,
        title: text,
        forename: text,
        surname: text,
        emails: z.array(z.object({ emailAddress: text })).nullish(),
        phoneNumbers: z.array(z.object({ phoneNumber: text })).nullish(),
      }),
    )
    .nullish(),
});
export type AltoSearchItem = z.infer<typeof altoSearchItemSchema>;

/** `Person` inside the full `Contact` (`GET /contacts/{id}`, `POST /contacts` → 201). */
export const altoPersonSchema = z.object({
  id: z.string().min(1),
  title: text,
  forename: text,
  surname: text,
  phoneNumbers: z.array(z.object({ preferenceOrder: z.number().int().nullish(), number: text })).nullish(),
  // `type` (Unknown|Personal|Business [A1]) is read only to be written back with the address it belongs to. Any
  // text is taken, a value the OpenAPI does not list among them; anything else is read as no type rather than
  // failing the contact.
  emailAddresses: z
    .array(z.object({ preferenceOrder: z.number().int().nullish(), type: text.catch(null), address: text }))
    .nullish(),
});

/** The full `Contact`: the people (ids, names, phones, e-mails) and whether it is archived. */
export const altoContactSchema = z.object({
  id: z.string().min(1),
  archived: z.boolean().nullish(),
  people: z.array(altoPersonSchema).min(1),
});
export type AltoContact = z.infer<typeof altoContactSchema>;

/** One RFC 6902 operation as Alto's JSON Patch documents take it [A1]. */
export interface AltoPatchOperation {
  op: 'replace' | 'add';
  path: string;
  value: unknown;
}

/** `PostContactRequest` [A1]. */
export interface AltoCreateContact {
  branchId: string;
  negotiatorId?: string;
  category: 'Client';
  address?: {
    nameNumber?: string;
    street?: string;
    locality?: string;
    town?: string;
    county?: string;
    postcode?: string;
    countryCode?: string;
  };
  people: Array<{
    title?: string;
    forename?: string;
    surname: string;
    phoneNumbers?: Array<{ type: 'Mobile' | 'Home' | 'Work'; number: string }>;
    emailAddresses?: Array<{ address: string }>;
  }>;
}

export const altoCredentialsSchema = z.strictObject({
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** The agency's `AgencyRef` header value, required on every contacts call [A1]. */
  agencyRef: headerValueSchema,
  /**
   * Client-credentials endpoint: `POST /token` on the API host (secondary [A2]). It is sent the client secret:
   * https, or plain http to this machine only.
   */
  tokenUrl: credentialEndpointSchema.default('https://api.alto.zoopla.co.uk/token'),
  /** Alto requires a branch on every new contact (`branchId*` [A1]); creates fail without it. */
  branchId: z.string().min(1).optional(),
  negotiatorId: z.string().min(1).optional(),
});
export type AltoCredentials = z.infer<typeof altoCredentialsSchema>;
