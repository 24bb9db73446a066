import { z } from 'zod';
import { headerValueSchema } from '../headerValue.ts';

/**
 * Loop wire shapes — ALL ASSUMPTION (no public contacts documentation [L1]); camelCase like the
 * third-party client's property fields [L1]. Read schemas list only what we use.
 */

const text = z.string().nullish();

/** ASSUMPTION: phone entries carry a type. */
export const loopPhoneTypeSchema = z.enum(['mobile', 'home', 'work', 'other']);
export type LoopPhoneType = z.infer<typeof loopPhoneTypeSchema>;

export const loopPhoneSchema = z.object({ type: loopPhoneTypeSchema, number: z.string() });
export type LoopPhone = z.infer<typeof loopPhoneSchema>;

/** ASSUMPTION: a UK postal address block. */
export const loopAddressSchema = z.object({
  line1: text,
  line2: text,
  town: text,
  county: text,
  postcode: text,
  country: text,
});
export type LoopAddress = z.infer<typeof loopAddressSchema>;

export const loopContactSchema = z.object({
  id: z.string().min(1),
  title: text,
  firstName: text,
  lastName: text,
  /** ASSUMPTION: e-mail addresses as strings, the first is the primary one. */
  emails: z.array(z.string()).default([]),
  phones: z.array(loopPhoneSchema).default([]),
  address: loopAddressSchema.nullish(),
  /** ASSUMPTION: true = granted, false = refused, null = not asked. */
  marketingConsent: z.boolean().nullable(),
  createdAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type LoopContact = z.infer<typeof loopContactSchema>;

/** Enough of a record to place it in (updatedAt, id) order, even when the rest is malformed. */
export const loopPositionSchema = z.object({ id: z.string().min(1), updatedAt: z.string().min(1) });

/** ASSUMPTION: `{ results, totalCount }` (`results` as in [L1]). */
export const loopPageSchema = z.object({
  results: z.array(z.unknown()),
  totalCount: z.number().int().min(0),
});

/** The members a POST or PUT may carry. ASSUMPTION: a PUT keeps members it does not carry. */
export interface LoopContactWrite {
  title?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  emails?: string[];
  phones?: LoopPhone[];
  address?: LoopAddress | null;
  marketingConsent?: boolean | null;
}

export const loopCredentialsSchema = z.strictObject({
  /** Sent as header `x-api-key` (the third-party client's default [L1]). */
  apiKey: headerValueSchema,
});
export type LoopCredentials = z.infer<typeof loopCredentialsSchema>;
