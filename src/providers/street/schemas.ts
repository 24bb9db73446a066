import { z } from 'zod';
import { headerValueSchema } from '../headerValue.ts';
import { listedInstantSchema } from '../listingAnchor.ts';

/**
 * Street Open API wire shapes [S3] (JSON:API, `application/vnd.api+json`). Read schemas list only the fields
 * we use; unknown keys are stripped.
 */

/** JSON:API media type for responses and PATCH bodies [S3]. */
export const JSON_API = 'application/vnd.api+json';

const text = z.string().nullish();
const contactPoint = z.object({ value: text, notes: text.optional(), primary: z.boolean().nullish() });

export const streetPersonSchema = z.object({
  id: z.string().min(1),
  type: z.literal('person'),
  attributes: z.object({
    title: text,
    first_name: text,
    last_name: text,
    address: z
      .object({
        line_1: text,
        line_2: text,
        line_3: text,
        line_4: text,
        town: text,
        postcode: text,
        country: text,
      })
      .nullish(),
    telephone_numbers: z.array(contactPoint).nullish(),
    email_addresses: z.array(contactPoint).nullish(),
    marketing_consent: z.boolean().nullish(),
    updated_at: z.iso.datetime({ offset: true }),
  }),
});
export type StreetPerson = z.infer<typeof streetPersonSchema>;

/** Enough of a person to place it in (updated_at, id) order, even when the rest is malformed. */
export const streetPositionSchema = z.object({
  id: z.string().min(1),
  attributes: z.object({ updated_at: listedInstantSchema }),
});

/** `GET /people` [S2][S3]. */
export const streetPageSchema = z.object({
  data: z.array(z.unknown()),
  meta: z.object({
    pagination: z.object({
      total: z.number().int(),
      count: z.number().int(),
      per_page: z.number().int(),
      current_page: z.number().int(),
      total_pages: z.number().int(),
    }),
  }),
});

/** `PATCH /people/{id}` attributes [S3]: the only writable ones; only `title` may be null. */
export interface StreetPersonUpdate {
  title?: string | null;
  first_name?: string;
  last_name?: string;
  marketing_consent?: boolean;
}

export const streetCredentialsSchema = z.strictObject({
  /** Bearer token generated in the agency's Street account [S1][S5]. */
  apiToken: headerValueSchema,
});
export type StreetCredentials = z.infer<typeof streetCredentialsSchema>;
