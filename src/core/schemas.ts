import { z } from 'zod';

/**
 * The canonical contact: the one shape every provider maps to and from, and the shape the store holds.
 * Every field is present; `null` means "no value" so that a CRM clearing a field is visible as a change.
 */

const text = (max: number) => z.string().trim().min(1).max(max).nullable().default(null);
const isoDateTime = z.iso.datetime({ offset: true }).nullable().default(null);

export const contactStatusSchema = z.enum(['active', 'archived']);
export type ContactStatus = z.infer<typeof contactStatusSchema>;

export const marketingConsentSchema = z.enum(['grant', 'deny', 'notAsked']);
export type MarketingConsent = z.infer<typeof marketingConsentSchema>;

export const addressSchema = z.strictObject({
  line1: text(200),
  line2: text(200),
  line3: text(200),
  line4: text(200),
  postcode: text(16),
  /** ISO 3166-1 alpha-2, e.g. `GB`. */
  countryCode: z
    .string()
    .regex(/^[A-Z]{2}$/, 'expected an ISO 3166-1 alpha-2 code such as GB')
    .nullable()
    .default(null),
});
export type Address = z.infer<typeof addressSchema>;

export const nurtureSequenceSchema = z.strictObject({
  sequenceId: z.string().min(1).max(200),
  step: z.number().int().min(0),
  state: z.enum(['active', 'paused', 'completed', 'exited']),
  enrolledAt: z.iso.datetime({ offset: true }),
});
export type NurtureSequence = z.infer<typeof nurtureSequenceSchema>;

/** Which side decides a field when both sides changed it to different values. */
export type FieldOwner = 'crm' | 'nurturehub';

/**
 * The authority table: field → owner and schema. Adding a field is one line here.
 * CRM owns the contact record; NurtureHub owns engagement.
 */
export const contactFieldTable = {
  title: { owner: 'crm', schema: text(40) },
  firstName: { owner: 'crm', schema: text(200) },
  lastName: { owner: 'crm', schema: text(200) },
  email: { owner: 'crm', schema: z.email().max(320).nullable().default(null) },
  mobilePhone: { owner: 'crm', schema: text(40) },
  homePhone: { owner: 'crm', schema: text(40) },
  workPhone: { owner: 'crm', schema: text(40) },
  address: { owner: 'crm', schema: addressSchema.nullable().default(null) },
  dateOfBirth: { owner: 'crm', schema: z.iso.date().nullable().default(null) },
  status: { owner: 'crm', schema: contactStatusSchema.default('active') },
  marketingConsent: { owner: 'crm', schema: marketingConsentSchema.default('notAsked') },
  emailOpens: { owner: 'nurturehub', schema: z.number().int().min(0).default(0) },
  emailClicks: { owner: 'nurturehub', schema: z.number().int().min(0).default(0) },
  lastOpenedAt: { owner: 'nurturehub', schema: isoDateTime },
  lastClickedAt: { owner: 'nurturehub', schema: isoDateTime },
  intentScore: { owner: 'nurturehub', schema: z.number().int().min(0).max(100).nullable().default(null) },
  nurtureSequence: { owner: 'nurturehub', schema: nurtureSequenceSchema.nullable().default(null) },
} as const satisfies Record<string, { owner: FieldOwner; schema: z.ZodType }>;

type FieldTable = typeof contactFieldTable;
export type ContactField = keyof FieldTable;

export const contactFields = Object.keys(contactFieldTable) as ContactField[];
export const fieldOwner = (field: ContactField): FieldOwner => contactFieldTable[field].owner;
export const crmOwnedFields = contactFields.filter((f) => fieldOwner(f) === 'crm');
export const engagementFields = contactFields.filter((f) => fieldOwner(f) === 'nurturehub');

const shape = Object.fromEntries(contactFields.map((f) => [f, contactFieldTable[f].schema])) as {
  [K in ContactField]: FieldTable[K]['schema'];
};

/** A full canonical contact (input may omit fields; output has every field, `null` when empty). */
export const canonicalContactSchema = z.strictObject(shape);
export type CanonicalContact = z.output<typeof canonicalContactSchema>;
export type CanonicalContactInput = z.input<typeof canonicalContactSchema>;

/** A subset of fields with new values: what a patch to either side carries. */
export type ContactPatch = Partial<CanonicalContact>;

/**
 * A patch read back from JSON. Only the fields present are kept: defaults are removed first, since a
 * default would turn "not in the patch" into "set to empty".
 */
export const contactPatchSchema = z.strictObject(
  Object.fromEntries(
    contactFields.map((f) => {
      const schema: z.ZodType = contactFieldTable[f].schema;
      const present = schema instanceof z.ZodDefault ? (schema.removeDefault() as z.ZodType) : schema;
      return [f, present.optional()];
    }),
  ),
) as unknown as z.ZodType<ContactPatch>;
